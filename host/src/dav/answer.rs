//! The WebDAV door's surface for errors: dav-server only knows a handful of filesystem error
//! kinds ([`FsError`]), so each failure of a driver or store call is also recorded whole
//! ([`Failure`]), and an answer that failed on one is rewritten with the error's own status
//! and message (a deadline is a 504, a refused driver a 503, a driver that needs its user to
//! connect a 403 naming the page to connect from).

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::response::Response;
use dav_server::fs::FsError;
use http::{header, HeaderValue, StatusCode};
use plugin_api::ErrorKind;

use crate::app::error::AppError;

/// The last failure of a request's driver and store calls that dav-server's error kinds
/// cannot carry, shared by the request's clones of its filesystem.
#[derive(Clone, Default)]
pub(super) struct Failure(Arc<Mutex<Option<AppError>>>);

impl Failure {
    /// Records `e` and gives dav-server its kind. "Not found" and "exists" are not kept:
    /// dav-server asks them on purpose (does the target exist?) and answers them itself.
    pub(super) fn record(&self, e: AppError) -> FsError {
        let kind = fs_error(&e);
        if !matches!(kind, FsError::NotFound | FsError::Exists) {
            *self.0.lock().expect("failure slot") = Some(e);
        }
        kind
    }

    fn take(&self) -> Option<AppError> {
        self.0.lock().expect("failure slot").take()
    }
}

/// The filesystem error kind of a host error, as dav-server turns kinds into statuses.
fn fs_error(e: &AppError) -> FsError {
    match e {
        AppError::Plugin(p) => match p.kind {
            ErrorKind::NotFound => FsError::NotFound,
            ErrorKind::AlreadyExists => FsError::Exists,
            ErrorKind::PermissionDenied
            | ErrorKind::AuthorizationRequired
            | ErrorKind::Unsupported => FsError::Forbidden,
            ErrorKind::InsufficientStorage => FsError::InsufficientStorage,
            _ => FsError::GeneralFailure,
        },
        AppError::UnknownWorkspace(_) | AppError::NotFound(_) => FsError::NotFound,
        AppError::Forbidden(_) => FsError::Forbidden,
        AppError::TooLarge { .. } => FsError::TooLarge,
        _ => FsError::GeneralFailure,
    }
}

/// dav-server's answer, or, when it failed on a recorded error, that error's answer.
pub(super) fn answer(
    response: Response<dav_server::body::Body>,
    failure: &Failure,
    public_url: &str,
    workspace: Option<&str>,
) -> Response {
    let response = response.map(Body::new);
    let status = response.status();
    match failure.take() {
        Some(e) if status.is_client_error() || status.is_server_error() => {
            error_answer(e, public_url, workspace)
        }
        _ => response,
    }
}

/// The WebDAV form of an error: its status and its message as plain text (WebDAV clients show
/// at most a status line; a person with curl reads the text). A driver that needs its user to
/// connect an account answers 403, not 401, which would make the client ask for its
/// password again: the body names the UI page to connect from, since a WebDAV client
/// cannot run OAuth.
pub(super) fn error_answer(e: AppError, public_url: &str, workspace: Option<&str>) -> Response {
    e.log();
    let needs_connect =
        matches!(&e, AppError::Plugin(p) if p.kind == ErrorKind::AuthorizationRequired);
    let (status, message) = match (&e, workspace) {
        (_, Some(ws)) if needs_connect => (
            StatusCode::FORBIDDEN,
            format!(
                "workspace '{ws}' needs you to connect your account first: open {}/ui/workspaces/{ws} in a browser and connect, then retry",
                public_url.trim_end_matches('/')
            ),
        ),
        _ => (e.status(), e.message()),
    };
    let mut response = Response::new(Body::from(format!("{message}\n")));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Some(wait) = e.retry_after() {
        headers.insert(header::RETRY_AFTER, wait);
    }
    response
}
