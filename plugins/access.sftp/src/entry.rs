//! Describing what the server says about a path (`FileStat`) as an [`Entry`]: kind, size,
//! modification time, an etag from both, and the media type from the name. `stat` and `list`
//! share it, so a name looks the same in both.

use std::time::{Duration, UNIX_EPOCH};

use plugin_api::Entry;
use ssh2::FileStat;

use crate::remote::Found;

/// The entry of workspace path `path` whose (followed) attributes are `stat`.
pub(crate) fn from_stat(path: &str, stat: &FileStat) -> Entry {
    let is_dir = stat.is_dir();
    let size = if is_dir { 0 } else { stat.size.unwrap_or(0) };
    let mut entry = if is_dir {
        Entry::dir(path)
    } else {
        Entry::file(path, size)
    };
    if let Some(secs) = stat.mtime {
        entry.modified = Some(UNIX_EPOCH + Duration::from_secs(secs));
        // SFTP v3 times are whole seconds: two writes in one second of the same size share an
        // etag, as they would on any server that keeps no finer time.
        entry.etag = Some(format!("{secs:x}-{size:x}"));
    }
    if !is_dir {
        entry.mime = mime_guess::from_path(plugin_api::file_name(path))
            .first_raw()
            .map(str::to_owned);
    }
    entry
}

/// The entry for what a followed path found; `None` when nothing is there.
pub(crate) fn from_found(path: &str, found: &Found) -> Option<Entry> {
    match found {
        Found::Missing => None,
        Found::Inside { stat, .. } => Some(from_stat(path, stat)),
        // The link itself: a zero-byte file, with the link's own time (it says nothing about
        // its target, which may lie outside ROOT).
        Found::Link { stat } => {
            let mut entry = Entry::file(path, 0);
            entry.modified = stat.mtime.map(|s| UNIX_EPOCH + Duration::from_secs(s));
            Some(entry)
        }
    }
}
