//! The one error vocabulary shared by every plugin and the host.
//!
//! A driver answers a [`PluginError`] whose [`ErrorKind`] the host maps to an HTTP status in one
//! place. Kinds cross the ABI as stable numeric codes: a code an older host does not know is
//! read as [`ErrorKind::Internal`], so new kinds can be added without changing any layout.

use std::fmt;
use std::time::Duration;

/// What went wrong, in terms the host can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file, folder or object does not exist (404).
    NotFound,
    /// The target already exists and the operation does not overwrite (409).
    AlreadyExists,
    /// The backend refused the operation for this caller (403).
    PermissionDenied,
    /// A parameter or path is malformed or not allowed by the backend (400).
    InvalidInput,
    /// A requested byte range lies outside the file (416).
    InvalidRange,
    /// The caller must authorize with the provider first; carries the URL to send them to (401).
    AuthorizationRequired,
    /// The backend asked us to slow down; may carry a retry-after delay (429).
    RateLimited,
    /// The operation conflicts with the current state, e.g. a file where a folder is needed (409).
    Conflict,
    /// The driver does not implement this operation (501).
    Unsupported,
    /// The backend is unreachable or failing; retrying later may help (503).
    Unavailable,
    /// The backend has no room left for the write (507).
    InsufficientStorage,
    /// The plugin panicked; the panic was caught at the ABI boundary (500).
    Panicked,
    /// Anything else: a bug or an unexpected backend answer (500).
    Internal,
}

impl ErrorKind {
    /// Every kind, in code order.
    pub const ALL: [ErrorKind; 13] = [
        ErrorKind::NotFound,
        ErrorKind::AlreadyExists,
        ErrorKind::PermissionDenied,
        ErrorKind::InvalidInput,
        ErrorKind::InvalidRange,
        ErrorKind::AuthorizationRequired,
        ErrorKind::RateLimited,
        ErrorKind::Conflict,
        ErrorKind::Unsupported,
        ErrorKind::Unavailable,
        ErrorKind::InsufficientStorage,
        ErrorKind::Panicked,
        ErrorKind::Internal,
    ];

    /// The stable code this kind has on the wire. Codes are never reused.
    pub fn code(self) -> u32 {
        match self {
            ErrorKind::NotFound => 1,
            ErrorKind::AlreadyExists => 2,
            ErrorKind::PermissionDenied => 3,
            ErrorKind::InvalidInput => 4,
            ErrorKind::InvalidRange => 5,
            ErrorKind::AuthorizationRequired => 6,
            ErrorKind::RateLimited => 7,
            ErrorKind::Conflict => 8,
            ErrorKind::Unsupported => 9,
            ErrorKind::Unavailable => 10,
            ErrorKind::InsufficientStorage => 11,
            ErrorKind::Panicked => 12,
            ErrorKind::Internal => 13,
        }
    }

    /// The kind for a wire code; unknown codes (from a newer plugin) read as `Internal`.
    pub fn from_code(code: u32) -> ErrorKind {
        Self::ALL
            .into_iter()
            .find(|k| k.code() == code)
            .unwrap_or(ErrorKind::Internal)
    }

    /// The snake_case name used in JSON error bodies and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::InvalidRange => "invalid_range",
            ErrorKind::AuthorizationRequired => "authorization_required",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::InsufficientStorage => "insufficient_storage",
            ErrorKind::Panicked => "plugin_panicked",
            ErrorKind::Internal => "internal",
        }
    }

    /// The kind closest to an I/O error, for drivers built on `std::io`.
    pub fn from_io(kind: std::io::ErrorKind) -> ErrorKind {
        use std::io::ErrorKind as Io;
        match kind {
            Io::NotFound => ErrorKind::NotFound,
            Io::AlreadyExists => ErrorKind::AlreadyExists,
            Io::PermissionDenied | Io::ReadOnlyFilesystem => ErrorKind::PermissionDenied,
            Io::InvalidInput | Io::InvalidFilename => ErrorKind::InvalidInput,
            Io::NotADirectory | Io::IsADirectory | Io::DirectoryNotEmpty => ErrorKind::Conflict,
            Io::StorageFull | Io::QuotaExceeded | Io::FileTooLarge => {
                ErrorKind::InsufficientStorage
            }
            Io::TimedOut | Io::ConnectionRefused | Io::ConnectionReset | Io::Interrupted => {
                ErrorKind::Unavailable
            }
            Io::Unsupported => ErrorKind::Unsupported,
            _ => ErrorKind::Internal,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error answered by a plugin: a kind, a message for people, and the details some kinds need.
///
/// Messages must never contain secrets (tokens, passwords): the host shows them to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// A sentence saying what failed and what was expected.
    pub message: String,
    /// For [`ErrorKind::AuthorizationRequired`]: where to send the user.
    pub authorize_url: Option<String>,
    /// For [`ErrorKind::RateLimited`] and [`ErrorKind::Unavailable`]: when to try again.
    pub retry_after: Option<Duration>,
}

impl PluginError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PluginError {
            kind,
            message: message.into(),
            authorize_url: None,
            retry_after: None,
        }
    }

    /// [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// [`ErrorKind::AlreadyExists`].
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::AlreadyExists, message)
    }

    /// [`ErrorKind::InvalidInput`].
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// [`ErrorKind::Conflict`].
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// [`ErrorKind::Unsupported`] for the named operation.
    pub fn unsupported(operation: &str) -> Self {
        Self::new(
            ErrorKind::Unsupported,
            format!("this driver does not support {operation}"),
        )
    }

    /// [`ErrorKind::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// [`ErrorKind::AuthorizationRequired`], sending the user to `url`.
    pub fn authorization_required(message: impl Into<String>, url: impl Into<String>) -> Self {
        PluginError {
            authorize_url: Some(url.into()),
            ..Self::new(ErrorKind::AuthorizationRequired, message)
        }
    }

    /// [`ErrorKind::RateLimited`], optionally saying when to retry.
    pub fn rate_limited(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        PluginError {
            retry_after,
            ..Self::new(ErrorKind::RateLimited, message)
        }
    }

    /// The error for an I/O failure while doing `context` (e.g. "open a/b.txt").
    pub fn io(context: &str, err: &std::io::Error) -> Self {
        Self::new(
            ErrorKind::from_io(err.kind()),
            format!("cannot {context}: {err}"),
        )
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for PluginError {}

impl From<PluginError> for std::io::Error {
    /// Lets a plugin error travel through `std::io::Read`; [`PluginError::from_io_error`] gets it back.
    fn from(err: PluginError) -> Self {
        std::io::Error::other(err)
    }
}

impl PluginError {
    /// Recovers the plugin error carried by an I/O error, or maps its kind.
    pub fn from_io_error(context: &str, err: std::io::Error) -> Self {
        match err.get_ref().and_then(|e| e.downcast_ref::<PluginError>()) {
            Some(inner) => inner.clone(),
            None => Self::io(context, &err),
        }
    }
}

/// The result type of every driver operation.
pub type Result<T, E = PluginError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_are_internal() {
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(kind.code()), kind);
        }
        assert_eq!(ErrorKind::from_code(999), ErrorKind::Internal);
        assert_eq!(ErrorKind::from_code(0), ErrorKind::Internal);
    }

    #[test]
    fn plugin_errors_survive_a_trip_through_io() {
        let err = PluginError::rate_limited("slow down", Some(Duration::from_secs(3)));
        let io: std::io::Error = err.clone().into();
        assert_eq!(PluginError::from_io_error("read", io), err);
        let plain = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(
            PluginError::from_io_error("read x", plain).kind,
            ErrorKind::NotFound
        );
    }
}
