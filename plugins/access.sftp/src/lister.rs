//! Folder listings: sorted by name in byte order, cut into pages by a name cursor.
//!
//! The cursor is the name of the last entry of the previous page and the next page holds the
//! names strictly after it, so a listing resumes correctly even if that entry was deleted in
//! between. SFTP returns a folder in the server's order and has no way to start in the middle,
//! so each page reads the whole folder (READDIR answers carry the attributes, so that is all
//! it costs), sorts the names and describes one page. Only a symlink costs more: it is
//! followed through [`Conn::follow`], the confinement check.
//!
//! Reading a folder also sweeps it: temporary upload files older than
//! [`STALE_AFTER`](crate::writer::STALE_AFTER), left by a host killed mid-upload, are removed.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plugin_api::{join, ListPage, PageRequest, Result};
use ssh2::FileStat;

use crate::core::Conn;
use crate::entry::{from_found, from_stat};
use crate::error::{self, Op};
use crate::remote::{is_temp_name, Found};
use crate::writer::STALE_AFTER;

/// The page size when the host asks for 0 entries.
const DEFAULT_LIMIT: usize = 1000;
/// The largest page served, whatever the host asks: one page is built in memory.
const MAX_LIMIT: usize = 10_000;

/// One page of `dir`'s entries.
pub(crate) fn list(conn: &mut Conn, dir: &str, page: PageRequest) -> Result<ListPage> {
    let real = match conn.follow(Op::List, dir)? {
        Found::Inside { real, stat } if stat.is_dir() => real,
        Found::Inside { .. } => return Err(error::not_folder(Op::List, dir, dir)),
        Found::Link { .. } => return Err(error::escape(Op::List, dir)),
        Found::Missing => return Err(error::missing(Op::List, dir)),
    };
    let items = conn.call(Op::List, dir, |s| s.readdir(Path::new(&real)))?;
    let now = SystemTime::now();
    let mut names: Vec<(String, FileStat)> = Vec::with_capacity(items.len());
    for (path, stat) in items {
        // A name that is not UTF-8 cannot be named by any workspace path: left out rather
        // than shown under a lossy name no operation would find.
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if is_temp_name(name) {
            if is_stale(&stat, now) {
                // Best effort: a leftover that stays is hidden anyway.
                let _ = conn.call(Op::List, dir, |s| s.unlink(&path));
            }
            continue;
        }
        names.push((name.to_owned(), stat));
    }
    names.sort_unstable_by(|a, b| a.0.cmp(&b.0));

    let start = match &page.cursor {
        Some(cursor) => names.partition_point(|(n, _)| n.as_str() <= cursor.as_str()),
        None => 0,
    };
    let limit = match page.limit as usize {
        0 => DEFAULT_LIMIT,
        n => n.min(MAX_LIMIT),
    };
    let end = names.len().min(start + limit);
    let mut entries = Vec::with_capacity(end - start);
    for (name, stat) in &names[start..end] {
        let path = join(dir, name);
        if stat.file_type().is_symlink() {
            // Deleted since the folder was read: no longer part of the listing.
            if let Some(entry) = from_found(&path, &conn.follow(Op::List, &path)?) {
                entries.push(entry);
            }
        } else {
            entries.push(from_stat(&path, stat));
        }
    }
    let next_cursor = (end < names.len())
        .then(|| names[..end].last().map(|(name, _)| name.clone()))
        .flatten();
    Ok(ListPage {
        entries,
        next_cursor,
    })
}

/// Whether a temporary upload file was last written longer ago than [`STALE_AFTER`].
fn is_stale(stat: &FileStat, now: SystemTime) -> bool {
    let Some(mtime) = stat.mtime else {
        return false;
    };
    let written = UNIX_EPOCH + Duration::from_secs(mtime);
    stat.is_file()
        && now
            .duration_since(written)
            .is_ok_and(|age| age > STALE_AFTER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(mtime: u64) -> FileStat {
        FileStat {
            size: Some(1),
            uid: None,
            gid: None,
            perm: Some(0o100644),
            atime: None,
            mtime: Some(mtime),
        }
    }

    #[test]
    fn only_old_temporary_files_are_stale() {
        let now = UNIX_EPOCH + Duration::from_secs(10 * 24 * 3600);
        let now_secs = 10 * 24 * 3600;
        assert!(is_stale(&file(now_secs - STALE_AFTER.as_secs() - 1), now));
        assert!(!is_stale(&file(now_secs - 60), now));
        let mut dir = file(0);
        dir.perm = Some(0o040755);
        assert!(!is_stale(&dir, now), "a folder is never swept");
    }
}
