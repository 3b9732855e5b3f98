//! The domain error: everything a request (or a command) can fail with, each with a stable
//! `code`, a client-facing message and its HTTP status. Plugin error kinds map to statuses
//! here and nowhere else; each door turns an error into its own surface (the JSON error of
//! `web/error.rs`, the UI's error page, a CLI message). Messages are meant for clients: they
//! never carry secrets or host paths.

use axum::http::{HeaderValue, StatusCode};
use plugin_api::{ErrorKind, PluginError};

use crate::manifest::FieldError;
use crate::paths::PathError;
use crate::store::StoreError;

#[cfg(test)]
pub(crate) mod examples;

/// Everything a request can fail with.
#[derive(Debug)]
pub(crate) enum AppError {
    /// No `get_action` (or `action`) parameter.
    MissingAction,
    /// No enabled plugin provides this action.
    UnknownAction(String),
    /// The action belongs to a plugin that is disabled or failed to load.
    PluginDisabled { action: String, plugin: String },
    /// No workspace has this id.
    UnknownWorkspace(String),
    /// The workspace's driver is disabled.
    DriverDisabled { workspace: String, driver: String },
    /// The workspace's driver failed to load, or its declaration was refused.
    WorkspaceUnavailable { workspace: String, reason: String },
    /// A required query parameter is absent.
    MissingParam(&'static str),
    /// A parameter is present but malformed.
    InvalidParam { name: &'static str, reason: String },
    /// A path parameter was refused by the normalizer.
    BadPath { name: &'static str, err: PathError },
    /// A batch (`nodes[]`) with a refused node, refused whole before any node was touched:
    /// each node as the client sent it, with its refusal (`None`: it passed the checks).
    BatchRefused {
        results: Vec<(String, Option<AppError>)>,
    },
    /// The action exists but not with this HTTP method (405, with an `Allow` header).
    MethodNotAllowed {
        action: String,
        /// The methods the action answers, in the order the `Allow` header lists them.
        allowed: Vec<&'static str>,
    },
    /// The framework refused a request's body, path or query before a handler ran; its
    /// status is kept (400, 413, 415, 422).
    Rejected { status: StatusCode, message: String },
    /// No route has this path (404), for the API and the UI's fallbacks.
    NoRoute { path: String },
    /// A route exists at this path, not with this method (405; the router adds `Allow`).
    WrongMethod { method: String, path: String },
    /// The action's plugin is enabled but failed to load.
    PluginUnavailable { action: String, plugin: String },
    /// No valid credentials: log in or send a token (401).
    Unauthenticated,
    /// Credentials were sent but are not valid (401).
    InvalidCredentials(&'static str),
    /// HTTP Basic credentials sent in clear over the network: refused (403) unless the
    /// transport is secure (`public_url` https, a loopback peer) or `[dav]
    /// allow_basic_over_http` allows it. 403, not 401: a 401 would make clients ask for the
    /// password again and send it in clear once more.
    BasicOverHttp,
    /// Logged in, but not allowed (403).
    Forbidden(String),
    /// A cookie-authenticated request that changes state came without the CSRF token (403).
    CsrfRejected,
    /// A login sent by a browser on behalf of another site (login CSRF) (403).
    CrossSite,
    /// Every password check slot is taken; retry after this long (503).
    Busy(std::time::Duration),
    /// The store's database cannot be reached (503, with `Retry-After`); the outage is logged
    /// once by the store, not by each request.
    StoreUnavailable,
    /// Too many login attempts; retry after this long (429).
    TooManyAttempts(std::time::Duration),
    /// An API object does not exist (404).
    NotFound(String),
    /// An API object already exists or is in use (409).
    Conflict(String),
    /// Creating one more would pass a limit, such as the workspaces a user may make from a
    /// template (409); the message says whose, how many and the limit.
    LimitReached(String),
    /// A malformed API request (400).
    BadRequest(String),
    /// Submitted workspace parameters failed the manifest's validation (422), per field.
    Fields(Vec<FieldError>),
    /// A new workspace's driver check failed, so it was not saved (422).
    VerificationFailed {
        workspace: String,
        error: PluginError,
    },
    /// The driver answered an error.
    Plugin(PluginError),
    /// No range a Range header asks lies inside the file of `size` bytes (416).
    RangeNotSatisfiable { size: u64 },
    /// A plugin answered something no plugin may answer (502).
    PluginBadAnswer(String),
    /// A plugin did not answer within `limits.plugin_timeout_secs` (504).
    PluginTimeout {
        plugin: String,
        after: std::time::Duration,
    },
    /// A body over `limits.max_upload` or `limits.max_body` (413).
    TooLarge { what: &'static str, limit: u64 },
    /// The client went away before the end of its body (499, as nginx logs it; nobody reads
    /// the answer, but the metrics count a client's doing, not a server error).
    ClientGone,
    /// The client paused sending its body longer than `limits.body_idle_timeout_secs` (408).
    BodyStalled { after: std::time::Duration },
    /// A request head over `limits.max_header_bytes` (431).
    HeadersTooLarge { limit: usize },
    /// A host-side failure (logged with detail, answered without).
    Internal(String),
}

/// The `Retry-After` of a 503 `store_unavailable`: a database restart or fail-over takes
/// seconds.
pub(crate) const STORE_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

impl AppError {
    /// The `Retry-After` value of a refusal that ends (whole seconds, at least one).
    pub(crate) fn retry_after(&self) -> Option<HeaderValue> {
        let wait = match self {
            AppError::Plugin(e) => e.retry_after?,
            AppError::TooManyAttempts(wait) | AppError::Busy(wait) => *wait,
            AppError::StoreUnavailable => STORE_RETRY_AFTER,
            _ => return None,
        };
        Some(HeaderValue::from(wait.as_secs().max(1)))
    }

    /// The client-facing message.
    pub(crate) fn message(&self) -> String {
        self.parts().2
    }

    /// The HTTP status of this error: the one mapping, for every HTTP door.
    pub(crate) fn status(&self) -> StatusCode {
        self.parts().0
    }

    /// Logs the error as its kind deserves: host-side failures and misbehaving plugins as
    /// errors (with the detail an answer leaves out), refusals at debug level. Every door
    /// calls it once, when it answers.
    pub(crate) fn log(&self) {
        let (status, code, message) = self.parts();
        match self {
            AppError::Internal(detail) => tracing::error!("internal error: {detail}"),
            AppError::PluginTimeout { .. } | AppError::PluginBadAnswer(_) => {
                tracing::error!("{message}")
            }
            AppError::Plugin(e) if status.is_server_error() => {
                tracing::error!(kind = %e.kind, "driver error: {}", e.message)
            }
            _ => tracing::debug!(code, "request refused: {message}"),
        }
    }

    pub(crate) fn parts(&self) -> (StatusCode, &'static str, String) {
        use AppError::*;
        match self {
            MissingAction => (
                StatusCode::BAD_REQUEST,
                "missing_action",
                "the request names no action: add ?get_action=NAME".into(),
            ),
            UnknownAction(a) => (
                StatusCode::NOT_FOUND,
                "unknown_action",
                format!("no enabled plugin provides the action '{a}'"),
            ),
            PluginDisabled { action, plugin } => (
                StatusCode::CONFLICT,
                "plugin_disabled",
                format!("the action '{action}' belongs to plugin '{plugin}', which is disabled or failed to load"),
            ),
            UnknownWorkspace(ws) => (
                StatusCode::NOT_FOUND,
                "unknown_workspace",
                format!("no workspace '{ws}'"),
            ),
            DriverDisabled { workspace, driver } => (
                StatusCode::CONFLICT,
                "driver_disabled",
                format!("workspace '{workspace}' uses driver '{driver}', which is disabled"),
            ),
            WorkspaceUnavailable { workspace, reason } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "workspace_unavailable",
                format!("workspace '{workspace}' is unavailable: {reason}"),
            ),
            MissingParam(name) => (
                StatusCode::BAD_REQUEST,
                "missing_parameter",
                format!("the parameter '{name}' is required"),
            ),
            InvalidParam { name, reason } => (
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
                format!("the parameter '{name}' is invalid: {reason}"),
            ),
            BatchRefused { results } => {
                let refused = results.iter().filter(|(_, e)| e.is_some()).count();
                (
                    StatusCode::BAD_REQUEST,
                    "batch_refused",
                    format!(
                        "{refused} of the {} nodes were refused; nothing was done",
                        results.len()
                    ),
                )
            }
            BadPath { name, err } => (
                StatusCode::BAD_REQUEST,
                "invalid_path",
                format!("the parameter '{name}' is not an acceptable path: {err}"),
            ),
            MethodNotAllowed { action, allowed } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!(
                    "the action '{action}' must be sent with {}",
                    either(allowed)
                ),
            ),
            Rejected { status, message } => (
                *status,
                match status.as_u16() {
                    413 => "too_large",
                    415 => "unsupported_media_type",
                    422 => "invalid_body",
                    _ => "bad_request",
                },
                message.clone(),
            ),
            NoRoute { path } => (
                StatusCode::NOT_FOUND,
                "not_found",
                format!("nothing is served at {path}"),
            ),
            WrongMethod { method, path } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{path} does not answer {method}"),
            ),
            PluginUnavailable { action, plugin } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "plugin_unavailable",
                format!("the action '{action}' belongs to plugin '{plugin}', which failed to load"),
            ),
            Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "log in, or send an API token as 'Authorization: Bearer TOKEN'".into(),
            ),
            InvalidCredentials(why) => (StatusCode::UNAUTHORIZED, "invalid_credentials", (*why).into()),
            BasicOverHttp => (
                StatusCode::FORBIDDEN,
                "basic_over_http",
                "HTTP Basic credentials are accepted only over https or from this machine, since \
                 the password crosses the network in clear with every request: use the host's \
                 https address (or a Bearer token); the operator may allow it with \
                 `allow_basic_over_http = true` in the [dav] section of host.toml"
                    .into(),
            ),
            Forbidden(why) => (StatusCode::FORBIDDEN, "forbidden", why.clone()),
            CsrfRejected => (
                StatusCode::FORBIDDEN,
                "csrf_token_invalid",
                "this request changes state and needs the session's CSRF token in the X-CSRF-Token header".into(),
            ),
            CrossSite => (
                StatusCode::FORBIDDEN,
                "cross_site_request",
                "logins are accepted only from this host's own pages; this one was sent by another site".into(),
            ),
            StoreUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                format!(
                    "the host's database does not answer; try again in {} s",
                    STORE_RETRY_AFTER.as_secs()
                ),
            ),
            Busy(wait) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                format!("too many logins at once; try again in {} s", wait.as_secs().max(1)),
            ),
            TooManyAttempts(wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many login attempts; try again in {} s", wait.as_secs().max(1)),
            ),
            NotFound(what) => (StatusCode::NOT_FOUND, "not_found", what.clone()),
            Conflict(what) => (StatusCode::CONFLICT, "conflict", what.clone()),
            LimitReached(what) => (StatusCode::CONFLICT, "limit_reached", what.clone()),
            BadRequest(what) => (StatusCode::BAD_REQUEST, "bad_request", what.clone()),
            Fields(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_params",
                format!("{} parameter(s) are invalid", errors.len()),
            ),
            VerificationFailed { workspace, error } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "verification_failed",
                format!(
                    "workspace '{workspace}' was not saved: its driver's check failed ({}: {}); \
                     correct the parameters, or save it without the check (API: verify=false, \
                     CLI: --no-verify, form: untick \"Verify before saving\")",
                    error.kind, error.message
                ),
            ),
            Plugin(e) => (status_of(e.kind), e.kind.as_str(), e.message.clone()),
            RangeNotSatisfiable { size } => (
                StatusCode::RANGE_NOT_SATISFIABLE,
                ErrorKind::InvalidRange.as_str(),
                format!("the requested range lies outside the file ({size} bytes)"),
            ),
            PluginBadAnswer(what) => (StatusCode::BAD_GATEWAY, "plugin_bad_answer", what.clone()),
            PluginTimeout { plugin, after } => (
                StatusCode::GATEWAY_TIMEOUT,
                "plugin_timeout",
                format!("plugin '{plugin}' did not answer within {} s", after.as_secs()),
            ),
            TooLarge { what, limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the {what} is larger than the limit of {limit} bytes"),
            ),
            ClientGone => (
                StatusCode::from_u16(499).expect("499 is a valid status"),
                "client_closed_request",
                "the client closed the connection before the end of its request body".into(),
            ),
            BodyStalled { after } => (
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!("the request body stalled for more than {} s", after.as_secs()),
            ),
            HeadersTooLarge { limit } => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                format!("the request headers are larger than the limit of {limit} bytes"),
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; the server log has the details".into(),
            ),
        }
    }
}

/// The HTTP status of each plugin error kind: the one mapping of the host.
pub(crate) fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::AlreadyExists | ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorKind::InvalidRange => StatusCode::RANGE_NOT_SATISFIABLE,
        ErrorKind::AuthorizationRequired => StatusCode::UNAUTHORIZED,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unsupported => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
        ErrorKind::Panicked | ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::AlreadyExists(what) => AppError::Conflict(format!("{what} already exists")),
            StoreError::NotFound(what) => AppError::NotFound(what),
            StoreError::InUse(what) => AppError::Conflict(what),
            StoreError::Limit(what) => AppError::LimitReached(what),
            StoreError::Invalid(what) => AppError::BadRequest(what),
            StoreError::Busy(wait) => AppError::Busy(wait),
            other if other.is_unavailable() => AppError::StoreUnavailable,
            other => AppError::Internal(format!("store: {other}")),
        }
    }
}

impl From<PluginError> for AppError {
    fn from(e: PluginError) -> Self {
        AppError::Plugin(e)
    }
}

/// `["GET", "HEAD", "POST"]` as "GET, HEAD or POST".
fn either(methods: &[&str]) -> String {
    match methods {
        [] => "no method".to_owned(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_deliberate_status() {
        for kind in ErrorKind::ALL {
            let status = status_of(kind);
            let server_side = matches!(kind, ErrorKind::Panicked | ErrorKind::Internal);
            assert_eq!(
                status == StatusCode::INTERNAL_SERVER_ERROR,
                server_side,
                "{kind}"
            );
        }
    }
}
