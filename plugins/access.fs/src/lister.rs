//! Folder listings: sorted by name in byte order, cut into pages by a name cursor.
//!
//! The cursor is the name of the last entry of the previous page and the next page holds the
//! names strictly after it, so a listing resumes correctly even if that entry was deleted in
//! between. Every page re-reads and sorts the folder's names (a folder does not keep an order
//! on disk), but only the entries of the page are described: from the `DirEntry` the read
//! returned (one `fstatat` on the open folder), a symlink through `describe`.
//!
//! Reading a folder also sweeps it: the temporary files of uploads that a killed host left
//! behind (older than [`STALE_AFTER`](crate::staging::STALE_AFTER)) are removed on the way,
//! which costs nothing more than the read itself and never touches a running upload.

use cap_std::fs::{Dir, DirEntry};
use plugin_api::{Entry, ListPage, PageRequest, Result};

use crate::entry::{describe, from_metadata};
use crate::error::{self, Op};
use crate::path::RelPath;
use crate::staging::{is_temp_name, remove_if_stale};

/// The page size when the host asks for 0 entries.
const DEFAULT_LIMIT: usize = 1000;
/// The largest page served, whatever the host asks: one page is built in memory.
const MAX_LIMIT: usize = 10_000;

/// One page of `dir`'s entries.
pub(crate) fn list(root: &Dir, dir: RelPath<'_>, page: PageRequest) -> Result<ListPage> {
    let fail = |e: &std::io::Error| error::io(Op::List, dir.as_str(), e);
    if !root.metadata(dir.fs()).map_err(|e| fail(&e))?.is_dir() {
        return Err(error::not_folder(Op::List, dir.as_str()));
    }
    let mut names = Vec::new();
    let now = std::time::SystemTime::now();
    for item in root.read_dir(dir.fs()).map_err(|e| fail(&e))? {
        let item = item.map_err(|e| fail(&e))?;
        // A name that is not UTF-8 cannot be named by any workspace path, so it is left out
        // rather than shown under a lossy name that would not work for any operation.
        if let Ok(name) = item.file_name().into_string() {
            if is_temp_name(&name) {
                remove_if_stale(&item, now);
            } else {
                names.push((name, item));
            }
        }
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
    let slice = &names[start..end];

    let entries = describe_page(root, dir, slice)?;
    let next_cursor = (end < names.len())
        .then(|| slice.last().map(|(name, _)| name.clone()))
        .flatten();
    Ok(ListPage {
        entries,
        next_cursor,
    })
}

/// Pages from this many entries are described on several threads: each entry is a
/// `fstatat`, which is most of a large listing's time (and all of it on a network disk).
const PARALLEL_FROM: usize = 2048;
/// The most threads one listing uses.
const MAX_THREADS: usize = 4;

/// The entries of `page`, in order, described on up to [`MAX_THREADS`] threads.
fn describe_page(root: &Dir, dir: RelPath<'_>, page: &[(String, DirEntry)]) -> Result<Vec<Entry>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS));
    if page.len() < PARALLEL_FROM || threads < 2 {
        return describe_part(root, dir, page);
    }
    std::thread::scope(|scope| {
        let parts: Vec<_> = page
            .chunks(page.len().div_ceil(threads))
            .map(|part| {
                let thread = std::thread::Builder::new()
                    .spawn_scoped(scope, move || describe_part(root, dir, part));
                // Without a thread (out of resources), the part is described here.
                thread.map_err(|_| part)
            })
            .collect();
        let mut entries = Vec::with_capacity(page.len());
        for part in parts {
            entries.extend(match part {
                // A panic goes on to the plugin's guard, as it would on this thread.
                Ok(thread) => thread
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))?,
                Err(part) => describe_part(root, dir, part)?,
            });
        }
        Ok(entries)
    })
}

/// The entries of `part`, in order; those deleted since the folder was read are left out.
fn describe_part(root: &Dir, dir: RelPath<'_>, part: &[(String, DirEntry)]) -> Result<Vec<Entry>> {
    let mut entries = Vec::with_capacity(part.len());
    for (name, item) in part {
        let full = plugin_api::join(dir.as_str(), name);
        let Ok(path) = RelPath::parse(&full) else {
            continue; // cannot happen for a readdir name; refusing is the safe answer anyway
        };
        // The entry's own metadata is one fstatat on the folder already open; only a symlink
        // takes the path walk of `describe`, which follows it only where cap-std allows (the
        // confinement guarantee).
        let described = match item.metadata() {
            Ok(own) if !own.is_symlink() => Ok(from_metadata(path, &own)),
            Ok(_) => describe(root, path),
            Err(e) => Err(e),
        };
        match described {
            Ok(entry) => entries.push(entry),
            // Deleted since the folder was read: it is simply no longer part of the listing.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(error::io(Op::List, &full, &e)),
        }
    }
    Ok(entries)
}
