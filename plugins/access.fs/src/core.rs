//! What the operations share on the workspace's root handle: opening the folder that is to
//! hold a path, and whether a path is taken.

use std::io;

use cap_std::fs::Dir;
use plugin_api::Result;

use crate::error::{self, Op};
use crate::path::RelPath;

/// Opens the folder that is to hold `path`: `NotFound` if it is missing, `Conflict` if it is a
/// file, `PermissionDenied` if it lies outside `ROOT` (through a symlink).
pub(crate) fn open_parent(root: &Dir, path: RelPath<'_>, op: Op) -> Result<Dir> {
    root.open_dir(path.parent().fs())
        .map_err(|e| error::parent(op, path.as_str(), &e))
}

/// Whether anything, even a dangling symlink, occupies `path`.
pub(crate) fn occupied(root: &Dir, path: RelPath<'_>, op: Op) -> Result<bool> {
    match root.symlink_metadata(path.fs()) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(error::io(op, path.as_str(), &e)),
    }
}
