//! Describing what lies at a path as an [`Entry`]: kind, size, time, etag and media type.
//!
//! `stat` and `list` share [`describe`], so a name looks the same in both. A symlink is
//! described by its target when cap-std can follow it inside `ROOT`; a symlink that leads
//! outside `ROOT` or nowhere is described as itself: a zero-byte file. That keeps such names
//! visible (they occupy the name, so an upload without overwrite answers `AlreadyExists`, and
//! the user can delete them) without revealing anything about what lies outside.

use std::io;
use std::time::UNIX_EPOCH;

use cap_std::fs::{Dir, Metadata};
use plugin_api::Entry;

use crate::path::RelPath;

/// Describes `path`, following a symlink only where cap-std allows it.
pub(crate) fn describe(root: &Dir, path: RelPath<'_>) -> io::Result<Entry> {
    if path.is_root() {
        return Ok(from_metadata(path, &root.dir_metadata()?));
    }
    let own = root.symlink_metadata(path.fs())?;
    if !own.is_symlink() {
        return Ok(from_metadata(path, &own));
    }
    match root.metadata(path.fs()) {
        Ok(target) => Ok(from_metadata(path, &target)),
        // Escaping (PermissionDenied from cap-std), dangling, or a loop: the link itself.
        Err(_) => Ok(unresolved_link(path, &own)),
    }
}

/// The entry for `path` whose (followed) metadata is `meta`.
pub(crate) fn from_metadata(path: RelPath<'_>, meta: &Metadata) -> Entry {
    let modified = meta.modified().ok().map(|t| t.into_std());
    let is_dir = meta.is_dir();
    let size = if is_dir { 0 } else { meta.len() };
    let mut entry = if is_dir {
        Entry::dir(path.as_str())
    } else {
        Entry::file(path.as_str(), size)
    };
    entry.modified = modified;
    if let Some(t) = modified {
        let nanos = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        entry.etag = Some(format!("{nanos:x}-{size:x}"));
    }
    if !is_dir {
        entry.mime = mime_guess::from_path(path.name())
            .first_raw()
            .map(str::to_owned);
    }
    entry
}

fn unresolved_link(path: RelPath<'_>, own: &Metadata) -> Entry {
    let mut entry = Entry::file(path.as_str(), 0);
    // The link's own time says nothing about its target.
    entry.modified = own.modified().ok().map(|t| t.into_std());
    entry
}
