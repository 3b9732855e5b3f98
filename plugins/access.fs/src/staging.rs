//! A new file staged under a temporary name beside its target, then published under the
//! target's name: what uploads (`writer`) and file copies (`copier`) share, and the temporary
//! names that listings (`lister`) sweep and workspace paths (`path`) may not name.
//!
//! The temporary file is `.wshost-upload-<16 hex>.part` in the target's own folder (a rename
//! only stays atomic within one filesystem). Listings hide such names and paths may not name
//! them. It is created with `create_new` (`O_EXCL`), which also refuses to follow a symlink
//! planted under that name. The data is flushed to disk (`sync_data`) before the rename: a
//! rename that reaches the disk before the data would otherwise replace a good file by an
//! empty one after a power cut. So that this last flush does not start from a whole file's
//! worth of dirty pages, a helper thread flushes what was written every [`FLUSH_EVERY`] bytes
//! while the upload goes on ([`WriteBehind`]).
//!
//! Without overwrite, the file is published with a hard link, which fails atomically if the
//! name was taken while the upload was running; a filesystem without hard links falls back to
//! a rename, which is only guarded by the check made before the upload started.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cap_std::fs::{Dir, File, OpenOptions, Permissions};
use plugin_api::Result;

const TEMP_PREFIX: &str = ".wshost-upload-";
const TEMP_SUFFIX: &str = ".part";
/// A temporary upload file not written to for this long belongs to no running upload (a
/// live one writes as its body arrives, and the host cuts a stalled body long before): it
/// was left by a host that was killed mid-upload, and a listing of its folder removes it.
/// Generous, because several hosts may share a folder and their limits are not known here.
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(24 * 60 * 60);
/// The copy buffer: large enough for few system calls, small enough to keep many concurrent
/// uploads cheap.
const BUFFER_SIZE: usize = 256 * 1024;

/// How much an upload writes between two flushes started behind it.
const FLUSH_EVERY: u64 = 32 * 1024 * 1024;

/// True for the names of this driver's temporary upload files.
pub(crate) fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)
}

/// Removes the temporary upload file `entry` if it is stale (see [`STALE_AFTER`]); answers
/// whether it did. Best effort: a failure leaves a file that listings hide anyway.
pub(crate) fn remove_if_stale(entry: &cap_std::fs::DirEntry, now: SystemTime) -> bool {
    let Ok(meta) = entry.metadata() else {
        return false;
    };
    let age = meta
        .modified()
        .ok()
        .and_then(|m| now.duration_since(m.into_std()).ok());
    meta.is_file() && age.is_some_and(|age| age > STALE_AFTER) && entry.remove_file().is_ok()
}

/// Where a streamed copy failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Reading the source (the upload body, or the file being copied).
    Source(io::Error),
    /// Writing or publishing the new file.
    Target(io::Error),
    /// The source ended before the announced size.
    Short { got: u64, announced: u64 },
    /// The name was taken while the data was being written.
    Exists,
}

/// A file about to be (re)placed: `name` in the already opened folder `parent`.
pub(crate) struct Target<'a> {
    pub(crate) parent: &'a Dir,
    pub(crate) name: &'a str,
    pub(crate) overwrite: bool,
    pub(crate) permissions: Option<Permissions>,
}

impl Target<'_> {
    /// Streams `source` into a temporary file and publishes it under the target name; on any
    /// failure the temporary file is removed and the target is untouched.
    pub(crate) fn fill(
        &self,
        source: &mut dyn Read,
        announced: Option<u64>,
    ) -> Result<(), Failure> {
        let (temp, mut file) = create_temp(self.parent).map_err(Failure::Target)?;
        let outcome = (|| {
            let got =
                std::thread::scope(|scope| pump(source, &mut WriteBehind::new(&mut file, scope)))?;
            if let Some(announced) = announced.filter(|&n| n != got) {
                return Err(Failure::Short { got, announced });
            }
            if let Some(permissions) = &self.permissions {
                // Best effort: the content matters more than the mode bits.
                let _ = file.set_permissions(permissions.clone());
            }
            file.sync_data().map_err(Failure::Target)?;
            drop(file);
            self.publish(&temp)
        })();
        if outcome.is_err() {
            // Best effort: if even this fails the leftover is hidden from listings.
            let _ = self.parent.remove_file(&temp);
        }
        outcome
    }

    fn publish(&self, temp: &str) -> Result<(), Failure> {
        let (dir, name) = (self.parent, self.name);
        if !self.overwrite {
            match dir.hard_link(temp, dir, name) {
                Ok(()) => {
                    let _ = dir.remove_file(temp);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(Failure::Exists),
                Err(_) => {} // no hard links here: fall back to the rename below
            }
        }
        dir.rename(temp, dir, name).map_err(Failure::Target)
    }
}

/// A file being written, flushed to disk behind the writer: every [`FLUSH_EVERY`] bytes a
/// helper thread is asked to `sync_data` a clone of it, unless it is still busy with the
/// last one. Each flush only starts the disk earlier; the final `sync_data` is what counts.
struct WriteBehind<'f> {
    file: &'f mut File,
    unflushed: u64,
    /// Wakes the helper; `None` when it could not be started (then nothing is flushed early).
    flush: Option<std::sync::mpsc::SyncSender<()>>,
}

impl<'f> WriteBehind<'f> {
    /// Starts the helper in `scope`; it ends when the writer is dropped.
    fn new<'s>(file: &'f mut File, scope: &'s std::thread::Scope<'s, '_>) -> Self {
        let flush = file.try_clone().ok().and_then(|clone| {
            let (flush, requests) = std::sync::mpsc::sync_channel::<()>(1);
            std::thread::Builder::new()
                .name("access.fs flush".into())
                .spawn_scoped(scope, move || {
                    for () in requests {
                        // A failure here shows again in the final flush, which is checked.
                        let _ = clone.sync_data();
                    }
                })
                .ok()
                .map(|_| flush)
        });
        WriteBehind {
            file,
            unflushed: 0,
            flush,
        }
    }
}

impl Write for WriteBehind<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.unflushed += n as u64;
        if self.unflushed >= FLUSH_EVERY
            && self.flush.as_ref().is_some_and(|f| f.try_send(()).is_ok())
        {
            self.unflushed = 0;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Copies `source` into `sink` through one fixed buffer; answers the number of bytes copied.
pub(crate) fn pump(source: &mut dyn Read, sink: &mut impl Write) -> Result<u64, Failure> {
    let mut buffer = vec![0u8; BUFFER_SIZE];
    let mut total = 0u64;
    loop {
        let n = match source.read(&mut buffer) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::Source(e)),
        };
        sink.write_all(&buffer[..n]).map_err(Failure::Target)?;
        total += n as u64;
    }
}

/// Creates a new, empty temporary file in `dir`.
pub(crate) fn create_temp(dir: &Dir) -> io::Result<(String, File)> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    let mut attempts = 0;
    loop {
        let name = format!("{TEMP_PREFIX}{:016x}{TEMP_SUFFIX}", random_u64());
        match dir.open_with(&name, &options) {
            Ok(file) => return Ok((name, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 8 => attempts += 1,
            Err(e) => return Err(e),
        }
    }
}

/// A name suffix that no two uploads share. It need not be secret: `create_new` already
/// refuses any name that exists. `RandomState` is randomly seeded per process and per call,
/// which spares a dependency; the counter and clock make repeats still less likely.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let now = SystemTime::now().duration_since(UNIX_EPOCH);
    hasher.write_u128(now.map_or(0, |d| d.as_nanos()));
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_recognized_and_distinct() {
        let dir = tempfile::tempdir().unwrap();
        let root = Dir::open_ambient_dir(dir.path(), cap_std::ambient_authority()).unwrap();
        let (a, _) = create_temp(&root).unwrap();
        let (b, _) = create_temp(&root).unwrap();
        assert_ne!(a, b);
        for name in [&a, &b] {
            assert!(is_temp_name(name), "{name}");
            assert_eq!(name.len(), TEMP_PREFIX.len() + 16 + TEMP_SUFFIX.len());
        }
        for name in ["a.part", ".wshost-upload-", "x.wshost-upload-1.part"] {
            assert!(!is_temp_name(name), "{name}");
        }
    }

    #[test]
    fn flushing_behind_the_writer_keeps_every_byte_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = Dir::open_ambient_dir(dir.path(), cap_std::ambient_authority()).unwrap();
        let (name, mut file) = create_temp(&root).unwrap();
        // Past two flush points, in odd-sized pieces.
        let data: Vec<u8> = (0..FLUSH_EVERY * 2 + 12_345)
            .map(|i| (i % 251) as u8)
            .collect();
        let got = std::thread::scope(|scope| {
            pump(&mut &data[..], &mut WriteBehind::new(&mut file, scope))
        });
        assert_eq!(got.unwrap(), data.len() as u64);
        drop(file);
        assert!(std::fs::read(dir.path().join(name)).unwrap() == data);
    }

    #[test]
    fn only_stale_temp_files_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let root = Dir::open_ambient_dir(dir.path(), cap_std::ambient_authority()).unwrap();
        let (fresh, _) = create_temp(&root).unwrap();
        let (old, _) = create_temp(&root).unwrap();
        let long_ago = SystemTime::now() - STALE_AFTER - Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(dir.path().join(&old))
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        let now = SystemTime::now();
        let swept: Vec<String> = root
            .entries()
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| remove_if_stale(e, now))
            .map(|e| e.file_name().into_string().unwrap())
            .collect();
        assert_eq!(swept, std::slice::from_ref(&old));
        assert!(root.exists(&fresh) && !root.exists(&old));
    }

    #[test]
    fn pump_tells_source_from_target_failures() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::ErrorKind::ConnectionReset.into())
            }
        }
        assert!(matches!(
            pump(&mut Broken, &mut Vec::new()),
            Err(Failure::Source(_))
        ));
        let mut full = [0u8; 4];
        let mut sink = &mut full[..];
        let got = pump(&mut &b"too long"[..], &mut sink);
        assert!(matches!(got, Err(Failure::Target(_))));
        let mut out = Vec::new();
        let data = vec![7u8; BUFFER_SIZE * 2 + 3];
        assert_eq!(pump(&mut &data[..], &mut out).unwrap(), data.len() as u64);
        assert_eq!(out, data);
    }
}
