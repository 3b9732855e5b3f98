//! Whether a workspace's folder is on a local filesystem: only then does the driver declare
//! `Capabilities::QUICK`, under which the host makes `stat` and `read` calls on its async
//! threads, where a network filesystem's wait on its server would hold them up.

use cap_std::fs::Dir;

/// `statfs` magic numbers (`linux/magic.h`) of filesystems whose calls wait on a server or on
/// a userspace process.
const REMOTE: &[u32] = &[
    0x0000_6969, // NFS
    0x0000_517B, // SMB
    0xFF53_4D42, // CIFS
    0xFE53_4D42, // SMB2
    0x6573_5546, // FUSE (sshfs, rclone mount, …)
    0x00C3_6400, // Ceph
    0x5346_414F, // AFS
    0x7375_7245, // Coda
    0x0102_1997, // 9P
    0x0116_1970, // GFS2
    0x7461_636F, // OCFS2
    0x0BD0_0BD0, // Lustre
    0x4750_4653, // GPFS
];

/// True unless the folder's filesystem is one of [`REMOTE`] (or cannot be told).
pub(crate) fn is_local(root: &Dir) -> bool {
    rustix::fs::fstatfs(root).is_ok_and(|fs| {
        // The magic is 32 bits; `f_type` is a signed word on some targets.
        let magic = (fs.f_type as u64 & 0xFFFF_FFFF) as u32;
        !REMOTE.contains(&magic)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_local_folder_is_local() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let root = cap_std::fs::Dir::open_ambient_dir(dir.path(), cap_std::ambient_authority())
            .expect("open it");
        assert!(super::is_local(&root));
    }
}
