//! The one place where this driver's failures become [`PluginError`]s.
//!
//! Every message names the operation and the workspace-relative path ("cannot read
//! 'docs/a.txt': ..."), never the host path of `ROOT`: clients see these messages, and where a
//! workspace lives on the server is none of their business. Keeping all wording here keeps it
//! consistent, and keeps the I/O-kind-to-error-kind decisions in one reviewable table.

use std::io;

use plugin_api::{ErrorKind, PluginError};

/// The operation that failed, as named in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Stat,
    List,
    Read,
    Write,
    Mkdir,
    Delete,
    Rename,
    Copy,
    Verify,
}

impl Op {
    fn verb(self) -> &'static str {
        match self {
            Op::Stat => "stat",
            Op::List => "list",
            Op::Read => "read",
            Op::Write => "write",
            Op::Mkdir => "create folder",
            Op::Delete => "delete",
            Op::Rename => "rename",
            Op::Copy => "copy",
            Op::Verify => "verify",
        }
    }
}

/// A workspace path as messages show it: the root is `/`; control characters are escaped so a
/// hostile name cannot forge log lines.
fn shown(path: &str) -> String {
    if path.is_empty() {
        "/".to_owned()
    } else {
        path.escape_debug().to_string()
    }
}

fn err(kind: ErrorKind, op: Op, path: &str, why: impl std::fmt::Display) -> PluginError {
    PluginError::new(
        kind,
        format!("cannot {} '{}': {why}", op.verb(), shown(path)),
    )
}

/// The error kind for an I/O failure. Deviations from [`ErrorKind::from_io`] are deliberate:
fn kind_of(e: &io::Error) -> ErrorKind {
    match e.kind() {
        // A segment of the path is a file, so nothing can exist below it: a lookup miss. Where a
        // caller wants to say "the parent is not a folder" it checks that first (see `parent`).
        io::ErrorKind::NotADirectory => ErrorKind::NotFound,
        // The admin exported a read-only mount: the caller may not write, nothing is broken.
        io::ErrorKind::ReadOnlyFilesystem => ErrorKind::PermissionDenied,
        other => ErrorKind::from_io(other),
    }
}

/// cap-std answers an escape attempt (`..`, or a symlink leading out of `ROOT`) with
/// `PermissionDenied` and this text. Only the wording depends on it, never the decision.
const CAP_STD_ESCAPE: &str = "a path led outside of the filesystem";

fn reason(e: &io::Error) -> String {
    let text = e.to_string();
    if e.kind() == io::ErrorKind::PermissionDenied && text == CAP_STD_ESCAPE {
        "the path leads outside the workspace folder".to_owned()
    } else {
        text
    }
}

/// An I/O failure of `op` on `path`.
pub(crate) fn io(op: Op, path: &str, e: &io::Error) -> PluginError {
    err(kind_of(e), op, path, reason(e))
}

/// A failure to open the folder that is to hold `path` (writes, new folders, move targets):
/// a missing parent is `NotFound`, a parent that is a file is `Conflict`.
pub(crate) fn parent(op: Op, path: &str, e: &io::Error) -> PluginError {
    match e.kind() {
        io::ErrorKind::NotFound => err(
            ErrorKind::NotFound,
            op,
            path,
            "its parent folder does not exist",
        ),
        io::ErrorKind::NotADirectory => {
            err(ErrorKind::Conflict, op, path, "its parent is not a folder")
        }
        _ => io(op, path, e),
    }
}

/// A failure reading the upload body (usually the client went away). A [`PluginError`]
/// carried through the stream by the host keeps its kind.
pub(crate) fn body(path: &str, e: io::Error) -> PluginError {
    let carried = PluginError::from_io_error("read the upload", e);
    err(
        carried.kind,
        Op::Write,
        path,
        format!(
            "the upload failed, nothing was written: {}",
            carried.message
        ),
    )
}

/// The upload ended before the size the client announced.
pub(crate) fn short_body(path: &str, got: u64, announced: u64) -> PluginError {
    err(
        ErrorKind::InvalidInput,
        Op::Write,
        path,
        format!("the upload carried {got} bytes but announced {announced}; nothing was written"),
    )
}

/// The target exists and the operation does not overwrite.
pub(crate) fn exists(op: Op, path: &str) -> PluginError {
    err(ErrorKind::AlreadyExists, op, path, "it already exists")
}

/// A file operation aimed at a folder.
pub(crate) fn is_folder(op: Op, path: &str) -> PluginError {
    err(ErrorKind::Conflict, op, path, "it is a folder")
}

/// A folder operation aimed at a file.
pub(crate) fn not_folder(op: Op, path: &str) -> PluginError {
    err(ErrorKind::Conflict, op, path, "it is not a folder")
}

/// A FIFO, socket or device: reading one could block forever or touch hardware.
pub(crate) fn not_regular(op: Op, path: &str) -> PluginError {
    err(ErrorKind::Conflict, op, path, "it is not a regular file")
}

/// An operation that would destroy or replace the workspace root itself.
pub(crate) fn root(op: Op) -> PluginError {
    err(
        ErrorKind::InvalidInput,
        op,
        "",
        "the workspace root cannot be the target",
    )
}

/// Moving or copying a folder into itself.
pub(crate) fn into_itself(op: Op, from: &str, to: &str) -> PluginError {
    err(
        ErrorKind::InvalidInput,
        op,
        from,
        format!("'{}' lies inside it", shown(to)),
    )
}

/// A range starting past the end of the file.
pub(crate) fn range(path: &str, start: u64, size: u64) -> PluginError {
    err(
        ErrorKind::InvalidRange,
        Op::Read,
        path,
        format!("the range starts at byte {start} but the file has {size} bytes"),
    )
}

/// A path the driver refuses before touching the disk.
pub(crate) fn invalid_path(path: &str, why: &str) -> PluginError {
    PluginError::invalid_input(format!("invalid path '{}': {why}", shown(path)))
}

/// A workspace parameter that cannot be used.
pub(crate) fn config(workspace: &str, why: impl std::fmt::Display) -> PluginError {
    PluginError::invalid_input(format!("workspace '{workspace}': {why}"))
}

/// `ROOT` does not exist and `CREATE` is off. The host path is left out on purpose.
pub(crate) fn root_missing(workspace: &str) -> PluginError {
    PluginError::not_found(format!(
        "workspace '{workspace}': the ROOT folder does not exist \
         (create it, or set CREATE to let the driver create it)"
    ))
}

/// `ROOT` exists but cannot be opened as a folder.
pub(crate) fn root_open(workspace: &str, e: &io::Error) -> PluginError {
    match e.kind() {
        io::ErrorKind::NotADirectory => config(workspace, "ROOT is not a folder"),
        _ => PluginError::new(
            kind_of(e),
            format!(
                "workspace '{workspace}': cannot open the ROOT folder: {}",
                reason(e)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_kinds_map_as_documented() {
        let cases = [
            (io::ErrorKind::NotFound, ErrorKind::NotFound),
            (io::ErrorKind::NotADirectory, ErrorKind::NotFound),
            (io::ErrorKind::AlreadyExists, ErrorKind::AlreadyExists),
            (io::ErrorKind::PermissionDenied, ErrorKind::PermissionDenied),
            (
                io::ErrorKind::ReadOnlyFilesystem,
                ErrorKind::PermissionDenied,
            ),
            (io::ErrorKind::IsADirectory, ErrorKind::Conflict),
            (io::ErrorKind::StorageFull, ErrorKind::InsufficientStorage),
            (io::ErrorKind::Other, ErrorKind::Internal),
        ];
        for (io_kind, want) in cases {
            let e = io(Op::Read, "a/b.txt", &io::Error::from(io_kind));
            assert_eq!(e.kind, want, "{io_kind:?}");
            assert!(
                e.message.starts_with("cannot read 'a/b.txt': "),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn messages_name_the_operation_and_the_relative_path() {
        let escape = io::Error::new(io::ErrorKind::PermissionDenied, CAP_STD_ESCAPE);
        let e = io(Op::Stat, "link/x", &escape);
        assert_eq!(e.kind, ErrorKind::PermissionDenied);
        assert_eq!(
            e.message,
            "cannot stat 'link/x': the path leads outside the workspace folder"
        );
        assert_eq!(
            root(Op::Delete).message,
            "cannot delete '/': the workspace root cannot be the target"
        );
        assert_eq!(invalid_path("a\nb", "x").message, "invalid path 'a\\nb': x");
    }

    #[test]
    fn parent_failures_say_which_is_which() {
        let missing = parent(Op::Write, "a/b", &io::Error::from(io::ErrorKind::NotFound));
        assert_eq!(missing.kind, ErrorKind::NotFound);
        let file = parent(
            Op::Mkdir,
            "a/b",
            &io::Error::from(io::ErrorKind::NotADirectory),
        );
        assert_eq!(file.kind, ErrorKind::Conflict);
        assert!(file.message.contains("not a folder"), "{}", file.message);
    }

    #[test]
    fn upload_errors_keep_the_kind_the_host_sent() {
        let carried: io::Error = PluginError::new(ErrorKind::Unavailable, "client gone").into();
        let e = body("up.bin", carried);
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert!(e.message.contains("client gone"), "{}", e.message);
    }
}
