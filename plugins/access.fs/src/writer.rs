//! Uploads: the body is streamed into a temporary file beside the target, then renamed onto
//! it, so an interrupted upload never leaves a partial file under the target's name and never
//! damages the previous version. The temporary file and its publication are `staging`'s.

use std::io;

use cap_std::fs::Dir;
use plugin_api::{ByteSource, Result, WriteOptions};

use crate::core::open_parent;
use crate::error::{self, Op};
use crate::path::RelPath;
use crate::staging::{Failure, Target};

/// Writes `body` to `path` (see the module docs).
pub(crate) fn write(
    root: &Dir,
    path: RelPath<'_>,
    mut body: ByteSource,
    options: WriteOptions,
) -> Result<()> {
    let p = path.as_str();
    if path.is_root() {
        return Err(error::root(Op::Write));
    }
    let parent = open_parent(root, path, Op::Write)?;
    let keep = match root.symlink_metadata(path.fs()) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(error::io(Op::Write, p, &e)),
        Ok(own) => {
            // A symlink to a folder counts as a folder; any other symlink is replaced by the
            // new file, never written through.
            let followed_dir = || root.metadata(path.fs()).is_ok_and(|m| m.is_dir());
            if own.is_dir() || (own.is_symlink() && followed_dir()) {
                return Err(error::is_folder(Op::Write, p));
            }
            if !options.overwrite {
                return Err(error::exists(Op::Write, p));
            }
            // A re-uploaded script stays executable.
            own.is_file().then(|| own.permissions())
        }
    };
    let target = Target {
        parent: &parent,
        name: path.name(),
        overwrite: options.overwrite,
        permissions: keep,
    };
    match target.fill(&mut body, options.size_hint) {
        Ok(()) => Ok(()),
        Err(Failure::Source(e)) => Err(error::body(p, e)),
        Err(Failure::Target(e)) => Err(error::io(Op::Write, p, &e)),
        Err(Failure::Short { got, announced }) => Err(error::short_body(p, got, announced)),
        Err(Failure::Exists) => Err(error::exists(Op::Write, p)),
    }
}
