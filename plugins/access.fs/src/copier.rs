//! Copies: a file is streamed into a new file published like an upload (temporary name, then
//! link or rename); a folder is copied recursively.
//!
//! Inside a copied folder, symlinks are recreated as symlinks with the same target text, as
//! `cp -R` does, and never followed: following them could loop forever (a link to an
//! ancestor) or copy data from elsewhere. A recreated link is no more powerful than the
//! original, since the driver only ever follows links inside `ROOT`. FIFOs, sockets and
//! devices are skipped. A folder copy that fails part-way is removed again.

use std::io;
use std::path::{Component, PathBuf};

use cap_std::fs::{Dir, OpenOptions};
use plugin_api::Result;

use crate::core::{occupied, open_parent};
use crate::error::{self, Op};
use crate::path::RelPath;
use crate::staging::{is_temp_name, pump, Failure, Target};

/// Copies `from` to the new path `to`.
pub(crate) fn copy(root: &Dir, from: RelPath<'_>, to: RelPath<'_>) -> Result<()> {
    if from.is_root() || to.is_root() {
        return Err(error::root(Op::Copy));
    }
    if to.is_below(from) {
        return Err(error::into_itself(Op::Copy, from.as_str(), to.as_str()));
    }
    let meta = root
        .metadata(from.fs())
        .map_err(|e| error::io(Op::Copy, from.as_str(), &e))?;
    let parent = open_parent(root, to, Op::Copy)?;
    if occupied(root, to, Op::Copy)? {
        return Err(error::exists(Op::Copy, to.as_str()));
    }
    if meta.is_dir() {
        // The check above only sees the names; through a symlinked folder, `to` can still
        // lie inside `from`, and the copy would then feed on itself.
        let inside = canonical(root, to.parent())?.starts_with(canonical(root, from)?);
        if inside {
            return Err(error::into_itself(Op::Copy, from.as_str(), to.as_str()));
        }
        copy_folder(root, from, &parent, to)
    } else if meta.is_file() {
        let mut source = root
            .open(from.fs())
            .map_err(|e| error::io(Op::Copy, from.as_str(), &e))?;
        let target = Target {
            parent: &parent,
            name: to.name(),
            overwrite: false,
            permissions: Some(meta.permissions()),
        };
        target.fill(&mut source, None).map_err(|f| match f {
            Failure::Source(e) => error::io(Op::Copy, from.as_str(), &e),
            Failure::Target(e) => error::io(Op::Copy, to.as_str(), &e),
            Failure::Exists => error::exists(Op::Copy, to.as_str()),
            // No size is announced for a copy, so this cannot happen; answered sensibly anyway.
            Failure::Short { .. } => {
                let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
                error::io(Op::Copy, from.as_str(), &eof)
            }
        })
    } else {
        Err(error::not_regular(Op::Copy, from.as_str()))
    }
}

/// `path` with symlinks resolved (inside `ROOT` only), without `.` components, so that two
/// canonical paths can be compared with `starts_with`.
fn canonical(root: &Dir, path: RelPath<'_>) -> Result<PathBuf> {
    let resolved = root
        .canonicalize(path.fs())
        .map_err(|e| error::io(Op::Copy, path.as_str(), &e))?;
    Ok(resolved
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect())
}

fn copy_folder(root: &Dir, from: RelPath<'_>, parent: &Dir, to: RelPath<'_>) -> Result<()> {
    parent
        .create_dir(to.name())
        .map_err(|e| error::io(Op::Copy, to.as_str(), &e))?;
    let copied = root
        .open_dir(from.fs())
        .and_then(|src| copy_tree(&src, &parent.open_dir(to.name())?));
    copied.map_err(|e| {
        // Best effort: a half copy is worse than none, but the error is what matters.
        let _ = parent.remove_dir_all(to.name());
        error::io(Op::Copy, from.as_str(), &e)
    })
}

fn copy_tree(src: &Dir, dst: &Dir) -> io::Result<()> {
    for item in src.entries()? {
        let item = item?;
        let name = item.file_name();
        if name.to_str().is_some_and(is_temp_name) {
            continue; // an upload in progress is not part of the folder yet
        }
        let kind = item.file_type()?; // of the entry itself, never of a link's target
        if kind.is_dir() {
            dst.create_dir(&name)?;
            copy_tree(&item.open_dir()?, &dst.open_dir(&name)?)?;
        } else if kind.is_file() {
            let mut source = item.open()?;
            let mut options = OpenOptions::new();
            let mut sink = dst.open_with(&name, options.write(true).create_new(true))?;
            pump(&mut source, &mut sink).map_err(|f| match f {
                Failure::Source(e) | Failure::Target(e) => e,
                other => io::Error::other(format!("{other:?}")),
            })?;
            let _ = sink.set_permissions(item.metadata()?.permissions());
        } else if kind.is_symlink() {
            copy_link(src, dst, &name)?;
        }
    }
    Ok(())
}

#[cfg(not(windows))]
fn copy_link(src: &Dir, dst: &Dir, name: &std::ffi::OsStr) -> io::Result<()> {
    dst.symlink_contents(src.read_link_contents(name)?, name)
}

#[cfg(windows)]
fn copy_link(_: &Dir, _: &Dir, _: &std::ffi::OsStr) -> io::Result<()> {
    Ok(()) // Windows links need to know their target's kind; not worth it for this driver
}
