//! Confinement: from a workspace path to a path on the server that lies inside `ROOT`.
//!
//! SFTP has no `openat`: a path is a string the server resolves, and a symlink anywhere in it
//! can lead anywhere the account may go. So the driver asks the server: `ROOT` is resolved by
//! the server's realpath when a connection opens, and
//! - a call that *follows* a path (stat, list, read, the source of a copy) resolves the whole
//!   path with realpath and proceeds only if the result is `ROOT` or below it;
//! - a call that *names* a path (write, mkdir, delete, the source and target of a move, the
//!   target of a copy) resolves the path's parent folder the same way and acts on the final
//!   name inside that real folder. Acting on a name never follows it: an upload renames its
//!   temporary file over a symlink (replacing the link, not writing through it), a delete
//!   unlinks the link, a recursive delete or copy reads `lstat` attributes and never descends
//!   into a link.
//!
//! What realpath cannot close: a component swapped for a symlink between the check and the
//! use, by someone with other access to the server. The checks use the path realpath
//! answered (every symlink already resolved), which leaves only that race.
//!
//! A symlink that leads outside `ROOT`, or nowhere, is shown as itself: a zero-byte file that
//! can be deleted or replaced but not read or listed (as access.fs does).

use std::path::Path;

use plugin_api::{file_name, parent, Result};
use ssh2::FileStat;

use crate::core::{is_missing, Conn};
use crate::error::{self, Op};

/// The prefix of this driver's temporary upload files.
pub(crate) const TEMP_PREFIX: &str = ".wshost-upload-";

/// True for the names of this driver's temporary upload files.
pub(crate) fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX)
}

/// The driver's own check of a host-normalized path: the host already refuses `..`, `.` and
/// empty segments, but confinement must not rest on the caller.
pub(crate) fn check(op: Op, path: &str) -> Result<()> {
    if path.is_empty() {
        return Ok(());
    }
    for segment in path.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(error::escape(op, path));
        }
        if segment.chars().any(char::is_control) {
            return Err(error::control(op, path));
        }
        if is_temp_name(segment) {
            return Err(error::reserved(op, path));
        }
    }
    Ok(())
}

/// Whether the real server path `real` is `root` or below it (compared by whole segments:
/// `/srv/ab` is not below `/srv/a`).
pub(crate) fn inside(root: &str, real: &str) -> bool {
    real == root
        || (root == "/" && real.starts_with('/'))
        || real
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// What a followed path leads to.
pub(crate) enum Found {
    /// Nothing.
    Missing,
    /// A file or folder inside `ROOT`: its real path and attributes.
    Inside { real: String, stat: FileStat },
    /// A symlink that leads outside `ROOT` or nowhere: its own attributes.
    Link { stat: FileStat },
}

impl Conn {
    /// `path` below `base` (a real server path).
    pub(crate) fn below(base: &str, name: &str) -> String {
        if base.ends_with('/') {
            format!("{base}{name}")
        } else {
            format!("{base}/{name}")
        }
    }

    /// The server path of a workspace path, before any resolution.
    fn literal(&self, path: &str) -> String {
        if path.is_empty() {
            self.root().to_owned()
        } else {
            Self::below(self.root(), path)
        }
    }

    /// Whether a real (resolved) server path is `ROOT` or below it.
    pub(crate) fn inside(&self, real: &str) -> bool {
        inside(self.root(), real)
    }

    /// The server's realpath of `remote`: `None` when something on the way is missing.
    fn realpath(&mut self, op: Op, path: &str, remote: &str) -> Result<Option<String>> {
        match self.try_call(op, path, |s| s.realpath(Path::new(remote)))? {
            Ok(real) => Ok(real.to_str().map(str::to_owned)),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(error::sftp(op, path, &e)),
        }
    }

    /// Follows `path` (see the module docs).
    pub(crate) fn follow(&mut self, op: Op, path: &str) -> Result<Found> {
        check(op, path)?;
        let literal = self.literal(path);
        if let Some(real) = self.realpath(op, path, &literal)? {
            if self.inside(&real) {
                match self.try_call(op, path, |s| s.stat(Path::new(&real)))? {
                    Ok(stat) => return Ok(Found::Inside { real, stat }),
                    Err(e) if is_missing(&e) => {} // a dangling link: see below
                    Err(e) => return Err(error::sftp(op, path, &e)),
                }
            }
        }
        // Missing, dangling, or resolved outside ROOT: what is the name itself? Only asked
        // inside a confined parent, so nothing is revealed about what lies outside.
        if path.is_empty() {
            return Ok(Found::Missing);
        }
        let Some(dir) = self.confined_parent(op, path)? else {
            return Ok(Found::Missing);
        };
        let name = Self::below(&dir, file_name(path));
        match self.lstat(op, path, &name)? {
            Some(stat) if stat.file_type().is_symlink() => Ok(Found::Link { stat }),
            Some(_) => Err(error::escape(op, path)), // changed under us: refuse
            None => Ok(Found::Missing),
        }
    }

    /// The real folder holding `path`, confined to `ROOT`; `None` when it is missing.
    fn confined_parent(&mut self, op: Op, path: &str) -> Result<Option<String>> {
        let up = parent(path);
        if up.is_empty() {
            return Ok(Some(self.root().to_owned()));
        }
        let literal = self.literal(up);
        match self.realpath(op, path, &literal)? {
            None => Ok(None),
            Some(real) if self.inside(&real) => Ok(Some(real)),
            Some(_) => Err(error::escape(op, path)),
        }
    }

    /// The server path that *names* `path` (see the module docs): its real parent folder and
    /// its own name. `NotFound` when the parent is missing, `PermissionDenied` when it lies
    /// outside `ROOT`.
    pub(crate) fn name(&mut self, op: Op, path: &str) -> Result<Named> {
        check(op, path)?;
        if path.is_empty() {
            return Err(error::root(op));
        }
        let dir = self
            .confined_parent(op, path)?
            .ok_or_else(|| error::parent_missing(op, path))?;
        Ok(Named {
            full: Self::below(&dir, file_name(path)),
            dir,
        })
    }

    /// Why an operation on `named` failed with a plain SFTP failure: the parent is a file, or
    /// something occupies the name, else `fallback`.
    pub(crate) fn diagnose(
        &mut self,
        op: Op,
        path: &str,
        named: &Named,
        fallback: &ssh2::Error,
    ) -> plugin_api::PluginError {
        match self.try_call(op, path, |s| s.stat(Path::new(&named.dir))) {
            Ok(Ok(st)) if !st.is_dir() => return error::not_folder(op, path, parent(path)),
            Ok(Err(e)) if is_missing(&e) => return error::parent_missing(op, path),
            Err(e) => return e,
            _ => {}
        }
        match self.lstat(op, path, &named.full) {
            Ok(Some(_)) => error::exists(op, path),
            Ok(None) => self.failed(op, path, fallback),
            Err(e) => e,
        }
    }
}

/// A server path that names a workspace path: `full` = `dir` + `/` + its name.
pub(crate) struct Named {
    /// The real (resolved, confined) parent folder.
    pub(crate) dir: String,
    /// The path of the name inside it (not resolved: it may be a symlink).
    pub(crate) full: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_driver_refuses_what_the_host_should_have_refused() {
        for bad in ["..", "a/../b", "a//b", "./a", "a/.", "/a", "a/"] {
            assert!(check(Op::Read, bad).is_err(), "{bad}");
        }
        let e = check(Op::Write, "d/.wshost-upload-0123.part").unwrap_err();
        assert!(e.message.contains("reserved"), "{e}");
        for good in ["", "a", "a/b c/ünï.txt", "..a", "a..", ".hidden"] {
            assert!(check(Op::Read, good).is_ok(), "{good}");
        }
    }

    #[test]
    fn inside_compares_whole_segments() {
        let cases = [
            ("/srv/a", "/srv/a", true),
            ("/srv/a", "/srv/a/b", true),
            ("/srv/a", "/srv/ab", false),
            ("/srv/a", "/srv", false),
            ("/srv/a", "/etc/passwd", false),
            ("/", "/etc", true),
        ];
        for (root, real, want) in cases {
            assert_eq!(inside(root, real), want, "{root} {real}");
        }
    }
}
