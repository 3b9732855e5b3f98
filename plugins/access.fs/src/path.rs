//! The driver's own check of the workspace paths the host hands it.
//!
//! The host normalizes paths (see [`plugin_api::WsPath`]); this check refuses anything that is
//! not already in that form — `..`, `.`, empty segments, a leading `/`, NUL — so that a host
//! bug shows up as a clear `InvalidInput` instead of reaching the disk. It is *not* what keeps
//! the driver inside `ROOT`: cap-std does that, symlinks included. Names reserved for the
//! driver's temporary upload files are refused too, so that no client can address, overwrite
//! or hide behind them.

use std::path::Path;

use plugin_api::Result;

use crate::error;
use crate::staging::is_temp_name;

/// A workspace path that passed [`RelPath::parse`]: relative, `/`-separated, the root is "".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RelPath<'a>(&'a str);

impl<'a> RelPath<'a> {
    /// Checks `path`, or answers `InvalidInput` saying what is wrong with it.
    pub(crate) fn parse(path: &'a str) -> Result<Self> {
        let refuse = |why| Err(error::invalid_path(path, why));
        if path.is_empty() {
            return Ok(RelPath(path));
        }
        if path.contains('\0') {
            return refuse("it contains a NUL character");
        }
        if path.starts_with('/') {
            return refuse("workspace paths are relative to the workspace root");
        }
        for segment in path.split('/') {
            match segment {
                "" => return refuse("it has an empty segment"),
                "." | ".." => return refuse("'.' and '..' segments are not allowed"),
                s if is_temp_name(s) => {
                    return refuse("names of this shape are reserved for uploads in progress")
                }
                _ => {}
            }
        }
        Ok(RelPath(path))
    }

    /// True for the workspace root.
    pub(crate) fn is_root(self) -> bool {
        self.0.is_empty()
    }

    /// The path as the host wrote it.
    pub(crate) fn as_str(self) -> &'a str {
        self.0
    }

    /// The path to hand to cap-std, relative to the root handle.
    pub(crate) fn fs(self) -> &'a Path {
        Path::new(if self.is_root() { "." } else { self.0 })
    }

    /// The folder holding this path (the root's parent is the root).
    pub(crate) fn parent(self) -> RelPath<'a> {
        RelPath(plugin_api::parent(self.0))
    }

    /// The last segment; "" for the root.
    pub(crate) fn name(self) -> &'a str {
        plugin_api::file_name(self.0)
    }

    /// True when `self` lies strictly below `ancestor`.
    pub(crate) fn is_below(self, ancestor: RelPath<'_>) -> bool {
        if ancestor.is_root() {
            return !self.is_root();
        }
        self.0
            .strip_prefix(ancestor.0)
            .is_some_and(|rest| rest.starts_with('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_normalized_paths() {
        for p in [
            "",
            "a",
            "a/b.txt",
            "été/naïve file ☃.txt",
            "a b/c\\d",
            ".hidden/..x",
        ] {
            assert_eq!(RelPath::parse(p).unwrap().as_str(), p);
        }
    }

    #[test]
    fn refuses_what_the_host_should_have_normalized() {
        let cases = [
            ("/etc/passwd", "relative"),
            ("..", "'..'"),
            ("a/../../b", "'..'"),
            ("a/./b", "'.'"),
            ("a//b", "empty segment"),
            ("a/", "empty segment"),
            ("a\0b", "NUL"),
            (".wshost-upload-0123abcd.part", "reserved"),
            ("d/.wshost-upload-x.part", "reserved"),
        ];
        for (path, why) in cases {
            let err = RelPath::parse(path).unwrap_err();
            assert_eq!(err.kind, plugin_api::ErrorKind::InvalidInput, "{path:?}");
            assert!(err.message.contains(why), "{path:?}: {}", err.message);
        }
    }

    #[test]
    fn parts() {
        let p = RelPath::parse("a/b/c.txt").unwrap();
        assert_eq!(p.name(), "c.txt");
        assert_eq!(p.parent().as_str(), "a/b");
        let root = RelPath::parse("").unwrap();
        assert!(root.is_root());
        assert_eq!(root.fs(), Path::new("."));
        assert_eq!(RelPath::parse("x").unwrap().parent(), root);
    }

    #[test]
    fn below() {
        let cases = [
            ("a/b", "a", true),
            ("a/b/c", "a", true),
            ("ab", "a", false),
            ("a", "a", false),
            ("a", "", true),
            ("", "", false),
            ("b/a", "a", false),
        ];
        for (p, anc, want) in cases {
            let (p, anc) = (RelPath::parse(p).unwrap(), RelPath::parse(anc).unwrap());
            assert_eq!(p.is_below(anc), want, "{p:?} below {anc:?}");
        }
    }
}
