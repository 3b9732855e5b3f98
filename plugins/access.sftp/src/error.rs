//! The one place where SSH and SFTP failures become plugin errors.
//!
//! Three families, told apart by the libssh2 error code:
//! - SFTP status codes (`ErrorCode::SFTP`): the server answered about the path. OpenSSH speaks
//!   protocol version 3, which has no "already exists", "not a folder" or "not empty" status:
//!   it answers a plain `FAILURE` for all of them, so the operations look at the path before
//!   (or after) a failure to choose the kind, and only what is left is mapped here.
//! - Session codes (`ErrorCode::Session`): the connection itself failed (socket, timeout,
//!   channel, protocol). They answer `Unavailable`, and [`is_transport`] tells the pool to
//!   throw that connection away instead of reusing it.
//! - Failures before the SFTP session exists: connect, handshake, host key, login; their
//!   messages name the server and, for a login, the method tried.
//!
//! Messages name the workspace path, never the server's absolute path, and never a secret.

use std::io;

use plugin_api::{ErrorKind, PluginError};
use ssh2::ErrorCode;

use crate::config::SftpConfig;
use crate::hostkey::Fingerprint;

/// What a failed call was doing, for the message.
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
            Op::Rename => "move",
            Op::Copy => "copy",
        }
    }
}

/// A workspace path as messages show it (`/` for the root).
pub(crate) fn shown(path: &str) -> String {
    format!("/{path}")
}

fn cannot(op: Op, path: &str, why: impl std::fmt::Display) -> String {
    format!("cannot {} '{}': {why}", op.verb(), shown(path))
}

// SFTP status codes (draft-ietf-secsh-filexfer; OpenSSH sends only 0-8).
const FX_EOF: i32 = 1;
const FX_NO_SUCH_FILE: i32 = 2;
const FX_PERMISSION_DENIED: i32 = 3;
const FX_FAILURE: i32 = 4;
const FX_NO_CONNECTION: i32 = 6;
const FX_CONNECTION_LOST: i32 = 7;
const FX_OP_UNSUPPORTED: i32 = 8;
const FX_NO_SUCH_PATH: i32 = 10;
const FX_FILE_ALREADY_EXISTS: i32 = 11;
const FX_WRITE_PROTECT: i32 = 12;
const FX_NO_SPACE: i32 = 14;
const FX_QUOTA_EXCEEDED: i32 = 15;
const FX_DIR_NOT_EMPTY: i32 = 18;
const FX_NOT_A_DIRECTORY: i32 = 19;
const FX_FILE_IS_A_DIRECTORY: i32 = 24;

/// The plugin error for `err`, met while doing `op` on workspace path `path`.
pub(crate) fn sftp(op: Op, path: &str, err: &ssh2::Error) -> PluginError {
    let (kind, why) = match err.code() {
        ErrorCode::SFTP(code) => match code {
            FX_NO_SUCH_FILE | FX_NO_SUCH_PATH => (ErrorKind::NotFound, "not found"),
            FX_PERMISSION_DENIED | FX_WRITE_PROTECT => (
                ErrorKind::PermissionDenied,
                "the server denies it to this account",
            ),
            FX_FILE_ALREADY_EXISTS => (ErrorKind::AlreadyExists, "it already exists"),
            FX_NO_SPACE | FX_QUOTA_EXCEEDED => (
                ErrorKind::InsufficientStorage,
                "no space left on the server",
            ),
            FX_NOT_A_DIRECTORY => (ErrorKind::Conflict, "a file is in the way of a folder"),
            FX_FILE_IS_A_DIRECTORY => (ErrorKind::Conflict, "it is a folder"),
            FX_DIR_NOT_EMPTY => (ErrorKind::Conflict, "the folder is not empty"),
            FX_OP_UNSUPPORTED => (
                ErrorKind::Unsupported,
                "the server does not support this operation",
            ),
            FX_NO_CONNECTION | FX_CONNECTION_LOST => (
                ErrorKind::Unavailable,
                "the connection to the server was lost",
            ),
            FX_EOF => (ErrorKind::Internal, "the server ended the answer early"),
            FX_FAILURE => (ErrorKind::Internal, "the server refused it (SFTP failure)"),
            _ => (
                ErrorKind::Internal,
                "the server answered an unexpected status",
            ),
        },
        ErrorCode::Session(_) => return transport(&cannot(op, path, ""), err),
    };
    PluginError::new(kind, cannot(op, path, why))
}

/// Whether `err` means the connection is no longer usable (not a status about a path).
pub(crate) fn is_transport(err: &ssh2::Error) -> bool {
    match err.code() {
        ErrorCode::Session(_) => true,
        ErrorCode::SFTP(code) => matches!(code, FX_NO_CONNECTION | FX_CONNECTION_LOST),
    }
}

/// `Unavailable` for a broken or timed-out connection; `context` is "cannot … : ".
pub(crate) fn transport(context: &str, err: &ssh2::Error) -> PluginError {
    let why = match err.code() {
        ErrorCode::Session(-9) | ErrorCode::Session(-30) => {
            "the server did not answer in time (TIMEOUT_SECS)".to_owned()
        }
        ErrorCode::Session(-13) | ErrorCode::Session(-43) | ErrorCode::Session(-7) => {
            "the connection to the server was lost".to_owned()
        }
        _ => format!("the SSH connection failed ({})", err.message()),
    };
    unavailable(format!("{context}{why}"))
}

/// An interrupted transfer's `io::Error` (libssh2's reads and writes lose the code on the way
/// through `std::io`): a timeout or any other failure of the stream is the connection's.
pub(crate) fn stream(op: Op, path: &str, err: &io::Error) -> PluginError {
    let why = match err.kind() {
        io::ErrorKind::TimedOut => "the server did not answer in time (TIMEOUT_SECS)",
        io::ErrorKind::NotFound => return PluginError::not_found(cannot(op, path, "not found")),
        _ => "the connection to the server was lost mid-transfer",
    };
    unavailable(cannot(op, path, why))
}

fn unavailable(message: String) -> PluginError {
    PluginError {
        retry_after: Some(std::time::Duration::from_secs(5)),
        ..PluginError::new(ErrorKind::Unavailable, message)
    }
}

/// The path does not exist.
pub(crate) fn missing(op: Op, path: &str) -> PluginError {
    PluginError::not_found(cannot(op, path, "not found"))
}

/// The parent folder of `path` does not exist.
pub(crate) fn parent_missing(op: Op, path: &str) -> PluginError {
    let parent = plugin_api::parent(path);
    PluginError::not_found(cannot(
        op,
        path,
        format!("the folder '{}' does not exist", shown(parent)),
    ))
}

/// Something already occupies the target name.
pub(crate) fn exists(op: Op, path: &str) -> PluginError {
    PluginError::already_exists(cannot(op, path, "it already exists"))
}

/// A folder where a file is needed.
pub(crate) fn is_folder(op: Op, path: &str) -> PluginError {
    PluginError::conflict(cannot(op, path, "it is a folder"))
}

/// A file where a folder is needed (`what` is that path).
pub(crate) fn not_folder(op: Op, path: &str, what: &str) -> PluginError {
    PluginError::conflict(cannot(op, path, format!("'{}' is a file", shown(what))))
}

/// The operation would act outside `ROOT` (through a symlink on the server).
pub(crate) fn escape(op: Op, path: &str) -> PluginError {
    PluginError::new(
        ErrorKind::PermissionDenied,
        cannot(
            op,
            path,
            "it leads outside the workspace's folder on the server",
        ),
    )
}

/// The root cannot be written, deleted or moved.
pub(crate) fn root(op: Op) -> PluginError {
    PluginError::invalid_input(format!("cannot {} the workspace root", op.verb()))
}

/// A control character in a name.
pub(crate) fn control(op: Op, path: &str) -> PluginError {
    PluginError::invalid_input(cannot(op, path, "names cannot hold control characters"))
}

/// A name reserved for this driver's temporary upload files.
pub(crate) fn reserved(op: Op, path: &str) -> PluginError {
    PluginError::invalid_input(cannot(
        op,
        path,
        "names starting with .wshost-upload- are reserved for uploads in progress",
    ))
}

/// The body ended before its announced length.
pub(crate) fn short_body(path: &str, got: u64, announced: u64) -> PluginError {
    PluginError::invalid_input(cannot(
        Op::Write,
        path,
        format!("the body has {got} bytes, {announced} were announced"),
    ))
}

/// The upload body failed to arrive (the client went away).
pub(crate) fn body(path: &str, err: io::Error) -> PluginError {
    PluginError::from_io_error(&format!("write '{}': reading the upload", shown(path)), err)
}

/// The TCP connection could not be made.
pub(crate) fn connect(cfg: &SftpConfig, err: &io::Error) -> PluginError {
    let why = match err.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            format!(
                "no answer within {} s (TIMEOUT_SECS)",
                cfg.timeout.as_secs()
            )
        }
        io::ErrorKind::ConnectionRefused => {
            "connection refused (is sshd listening on PORT?)".into()
        }
        _ => err.to_string(),
    };
    unavailable(format!(
        "cannot connect to the SSH server {}:{}: {why}",
        cfg.host, cfg.port
    ))
}

/// The SSH handshake failed (not an SSH server, or no common algorithm).
pub(crate) fn handshake(cfg: &SftpConfig, err: &ssh2::Error) -> PluginError {
    transport(
        &format!(
            "cannot start an SSH session with {}:{}: ",
            cfg.host, cfg.port
        ),
        err,
    )
}

/// The server's key is not the pinned one: the message shows the offered fingerprint, so an
/// admin can compare it out of band, and never suggests accepting it blindly.
pub(crate) fn host_key_mismatch(
    cfg: &SftpConfig,
    offered: Option<Fingerprint>,
    key_type: &str,
) -> PluginError {
    let offered = offered.map_or("no usable host key".to_owned(), |f| {
        format!("host key {f} ({key_type})")
    });
    PluginError::new(
        ErrorKind::PermissionDenied,
        format!(
            "refused the SSH server {}:{}: it offered {offered}, but HOST_KEY pins {}. \
             Compare with `ssh-keygen -lf` on the server's host key; change HOST_KEY only if the \
             server's key really changed",
            cfg.host, cfg.port, cfg.host_key
        ),
    )
}

/// The server refused the login.
pub(crate) fn login(cfg: &SftpConfig, offered: &str, err: &ssh2::Error) -> PluginError {
    if is_transport(err)
        && !matches!(
            err.code(),
            ErrorCode::Session(-18)
                | ErrorCode::Session(-19)
                | ErrorCode::Session(-16)
                | ErrorCode::Session(-48)
        )
    {
        return transport(&format!("cannot log in to {}: ", cfg.server()), err);
    }
    let method = cfg.auth.method();
    let why = match err.code() {
        // A key libssh2 cannot read (wrong passphrase, unsupported format).
        ErrorCode::Session(-16) | ErrorCode::Session(-48) => format!(
            "the PRIVATE_KEY could not be used ({}); check the key and PRIVATE_KEY_PASSPHRASE",
            err.message()
        ),
        _ => format!("the server refused the {method}"),
    };
    let offered = if offered.is_empty() {
        String::new()
    } else {
        format!(" (the server accepts: {offered})")
    };
    PluginError::new(
        ErrorKind::PermissionDenied,
        format!(
            "cannot log in to {} by {method}: {why}{offered}",
            cfg.server()
        ),
    )
}

/// `ROOT` does not name a folder the account can use.
pub(crate) fn bad_root(cfg: &SftpConfig, why: &str) -> PluginError {
    PluginError::not_found(format!(
        "workspace '{}': ROOT '{}' on {}: {why}",
        cfg.workspace,
        cfg.root,
        cfg.server()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sftp_statuses_map_to_kinds() {
        let cases = [
            (ErrorCode::SFTP(FX_NO_SUCH_FILE), ErrorKind::NotFound),
            (
                ErrorCode::SFTP(FX_PERMISSION_DENIED),
                ErrorKind::PermissionDenied,
            ),
            (ErrorCode::SFTP(FX_NO_SPACE), ErrorKind::InsufficientStorage),
            (ErrorCode::SFTP(FX_OP_UNSUPPORTED), ErrorKind::Unsupported),
            (ErrorCode::SFTP(FX_CONNECTION_LOST), ErrorKind::Unavailable),
            (ErrorCode::SFTP(FX_FAILURE), ErrorKind::Internal),
            (ErrorCode::Session(-9), ErrorKind::Unavailable),
            (ErrorCode::Session(-13), ErrorKind::Unavailable),
        ];
        for (code, kind) in cases {
            let e = sftp(Op::Read, "a/b.txt", &ssh2::Error::new(code, "x"));
            assert_eq!(e.kind, kind, "{code:?}: {e}");
            assert!(e.message.starts_with("cannot read '/a/b.txt'"), "{e}");
        }
        assert!(is_transport(&ssh2::Error::new(
            ErrorCode::Session(-43),
            "x"
        )));
        assert!(!is_transport(&ssh2::Error::new(ErrorCode::SFTP(2), "x")));
    }

    #[test]
    fn a_broken_stream_is_unavailable() {
        let e = stream(Op::Read, "f", &io::Error::other("socket"));
        assert_eq!(e.kind, ErrorKind::Unavailable);
        let e = stream(Op::Read, "f", &io::ErrorKind::TimedOut.into());
        assert!(e.message.contains("TIMEOUT_SECS"), "{e}");
    }
}
