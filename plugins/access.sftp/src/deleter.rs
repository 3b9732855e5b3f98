//! Deletes: a file or symlink is unlinked (a link, never what it points to), a folder is
//! emptied depth first and removed. The walk reads READDIR's attributes, which are `lstat`'s:
//! it never descends into a symlinked folder, so it cannot delete anything outside `ROOT`.

use std::path::Path;

use plugin_api::Result;

use crate::core::Conn;
use crate::error::{self, Op};

/// Deletes `path`, folders recursively.
pub(crate) fn delete(conn: &mut Conn, path: &str) -> Result<()> {
    let named = conn.name(Op::Delete, path)?;
    match conn.lstat(Op::Delete, path, &named.full)? {
        None => Err(error::missing(Op::Delete, path)),
        Some(own) if own.is_dir() => remove_tree(conn, path, &named.full),
        Some(_) => conn.call(Op::Delete, path, |s| s.unlink(Path::new(&named.full))),
    }
}

/// Removes the folder `remote` (the server path of workspace path `path`) and all it holds.
fn remove_tree(conn: &mut Conn, path: &str, remote: &str) -> Result<()> {
    let items = conn.call(Op::Delete, path, |s| s.readdir(Path::new(remote)))?;
    for (child, stat) in items {
        if stat.is_dir() {
            let child = child.to_string_lossy().into_owned();
            remove_tree(conn, path, &child)?;
        } else {
            conn.call(Op::Delete, path, |s| s.unlink(&child))?;
        }
    }
    conn.call(Op::Delete, path, |s| s.rmdir(Path::new(remote)))
}
