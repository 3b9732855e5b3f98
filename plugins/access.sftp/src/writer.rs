//! Uploads in bounded memory: the body is streamed into a temporary file beside the target,
//! flushed (`fsync@openssh.com` where the server has it), then renamed onto the target, so an
//! interrupted upload leaves the previous version and no partial file under the target's name.
//!
//! The temporary file is `.wshost-upload-<16 hex>.part` in the target's own (real, confined)
//! folder, created with `O_EXCL`, which also refuses to follow a symlink planted under that
//! name. Listings hide such names, paths may not name them, and a listing removes those older
//! than [`STALE_AFTER`] (left by a host killed mid-upload).
//!
//! Publishing: without overwrite, SFTP's own RENAME, which never replaces an existing name
//! (OpenSSH links then unlinks), so a name taken during the upload is refused atomically. With
//! overwrite, `posix-rename@openssh.com` (see `ext`), which replaces the target atomically; a
//! server without it gets remove-then-rename, where the target is briefly absent.
//!
//! Renaming over a symlink replaces the link itself: an upload never writes through a link.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plugin_api::{ByteSource, Entry, Result, WriteOptions};
use ssh2::{OpenFlags, OpenType};

use crate::core::{Conn, NEW_FILE_MODE};
use crate::entry::from_stat;
use crate::error::{self, Op};
use crate::remote::{Named, TEMP_PREFIX};

const TEMP_SUFFIX: &str = ".part";
/// A temporary upload file not written to for this long belongs to no running upload: a
/// live one writes as its body arrives, and the host cuts a stalled body long before. It was
/// left by a host killed mid-upload, and a listing of its folder removes it (as access.fs).
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(24 * 60 * 60);
/// The copy buffer: libssh2 sends a write of this size as pipelined 30 KB pieces, so it is
/// also how much is in flight; bounded, so many uploads at once stay cheap.
pub(crate) const BUFFER_SIZE: usize = 1024 * 1024;

/// Writes `body` to `path` (see the module docs).
pub(crate) fn write(
    conn: &mut Conn,
    path: &str,
    mut body: ByteSource,
    options: WriteOptions,
) -> Result<Entry> {
    let named = conn.name(Op::Write, path)?;
    let mode = match conn.lstat(Op::Write, path, &named.full)? {
        None => NEW_FILE_MODE,
        Some(own) if own.is_dir() => return Err(error::is_folder(Op::Write, path)),
        Some(_) if !options.overwrite => return Err(error::exists(Op::Write, path)),
        // A re-uploaded script stays executable; a symlink is replaced by a plain file.
        Some(own) if own.is_file() => own.perm.map_or(NEW_FILE_MODE, |p| (p & 0o7777) as i32),
        Some(_) => NEW_FILE_MODE,
    };
    let temp = Conn::below(&named.dir, &temp_name());
    let mut file = match conn.try_call(Op::Write, path, |s| {
        s.open_mode(
            Path::new(&temp),
            OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::EXCLUSIVE,
            mode,
            OpenType::File,
        )
    })? {
        Ok(file) => file,
        Err(e) => return Err(conn.diagnose(Op::Write, path, &named, &e)),
    };
    let outcome = (|| {
        let got = pump(&mut body, &mut file).map_err(|f| {
            // The body failing is the client's; the server failing is the connection's.
            conn.broken |= matches!(f, Failure::Target(_));
            f.into_error(path)
        })?;
        if let Some(announced) = options.size_hint.filter(|&n| n != got) {
            return Err(error::short_body(path, got, announced));
        }
        // Not every server has fsync@openssh.com; the data is then as safe as the server
        // keeps it.
        let _ = file.fsync();
        file.close().map_err(|e| conn.failed(Op::Write, path, &e))?;
        drop(file);
        publish(conn, path, &temp, &named, options.overwrite)
    })();
    if outcome.is_err() && !conn.broken {
        // Best effort: a leftover is hidden from listings and swept later.
        let _ = conn.call(Op::Write, path, |s| s.unlink(Path::new(&temp)));
    }
    outcome?;
    let stat = conn.call(Op::Write, path, |s| s.stat(Path::new(&named.full)))?;
    Ok(from_stat(path, &stat))
}

/// Moves the finished temporary file `temp` to its target name.
pub(crate) fn publish(
    conn: &mut Conn,
    path: &str,
    temp: &str,
    named: &Named,
    overwrite: bool,
) -> Result<()> {
    if overwrite && conn.posix_rename(path, temp, &named.full)? {
        return Ok(());
    }
    if overwrite {
        // No atomic replace on this server: remove, then rename (documented above).
        if let Some(own) = conn.lstat(Op::Write, path, &named.full)? {
            if own.is_dir() {
                return Err(error::is_folder(Op::Write, path));
            }
            conn.call(Op::Write, path, |s| s.unlink(Path::new(&named.full)))?;
        }
    }
    match conn.try_call(Op::Write, path, |s| {
        s.rename(Path::new(temp), Path::new(&named.full), None)
    })? {
        Ok(()) => Ok(()),
        Err(e) => Err(conn.diagnose(Op::Write, path, named, &e)),
    }
}

/// Where a streamed copy failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Reading the source (the upload body, or the file being copied).
    Source(io::Error),
    /// Writing to the server.
    Target(io::Error),
}

impl Failure {
    /// The plugin error of an upload of `path` that failed this way.
    fn into_error(self, path: &str) -> plugin_api::PluginError {
        match self {
            Failure::Source(e) => error::body(path, e),
            Failure::Target(e) => error::stream(Op::Write, path, &e),
        }
    }
}

/// Copies `source` into `sink` through one [`BUFFER_SIZE`] buffer; answers the bytes copied.
pub(crate) fn pump(source: &mut dyn Read, sink: &mut impl Write) -> Result<u64, Failure> {
    let mut buffer = vec![0u8; BUFFER_SIZE];
    let mut total = 0u64;
    loop {
        // Fill the buffer before writing: small reads from the host become large writes,
        // which is what keeps libssh2's pipeline full.
        let mut filled = 0;
        while filled < buffer.len() {
            match source.read(&mut buffer[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Failure::Source(e)),
            }
        }
        if filled == 0 {
            return Ok(total);
        }
        sink.write_all(&buffer[..filled]).map_err(Failure::Target)?;
        total += filled as u64;
    }
}

/// A fresh temporary name. It need not be secret: `O_EXCL` already refuses any name that
/// exists. `RandomState` is randomly seeded per process and per call, which spares a
/// dependency; the counter and clock make repeats still less likely.
pub(crate) fn temp_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let now = SystemTime::now().duration_since(UNIX_EPOCH);
    hasher.write_u128(now.map_or(0, |d| d.as_nanos()));
    format!("{TEMP_PREFIX}{:016x}{TEMP_SUFFIX}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::is_temp_name;

    #[test]
    fn temporary_names_are_hidden_and_distinct() {
        let (a, b) = (temp_name(), temp_name());
        assert_ne!(a, b);
        assert!(is_temp_name(&a) && a.ends_with(TEMP_SUFFIX), "{a}");
    }

    #[test]
    fn pump_tells_source_from_target_failures_and_keeps_every_byte() {
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
        let got = pump(&mut &b"too long"[..], &mut &mut full[..]);
        assert!(matches!(got, Err(Failure::Target(_))));
        let data: Vec<u8> = (0..BUFFER_SIZE * 2 + 7).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        assert_eq!(pump(&mut &data[..], &mut out).unwrap(), data.len() as u64);
        assert!(out == data);
    }
}
