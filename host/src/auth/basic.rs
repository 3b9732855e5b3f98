//! The caller of a WebDAV request. WebDAV clients (Finder, Windows, rclone, davfs2) cannot
//! follow the host's login page; they send HTTP Basic with the user name and an *app
//! password*, which is an API token of that user, or a Bearer token. Cookies are never read:
//! the WebDAV door has no CSRF protection (its clients send no CSRF token), so a browser's
//! session cookie, which other sites can make the browser attach, must not authenticate there.
//!
//! Basic sends the password with every request, readable by anyone on the path unless the
//! transport is encrypted, so it is accepted only when `public_url` is https, the TCP peer is
//! this machine, or the operator allowed it (`[dav] allow_basic_over_http`). Failed attempts
//! count in the failed-login throttle under the user name, as `log_in`'s do.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use super::{Caller, Standing, Via};
use crate::app::error::AppError;
use crate::app::Shared;

/// The one refusal of wrong Basic credentials, whatever was wrong (unknown user, a revoked
/// token, another user's token, the login password instead of an app password), so that an
/// answer tells nothing about which.
const WRONG: &str = "wrong user name or app password (WebDAV clients log in with an app \
                     password made on the page /ui/app-passwords, not the login password)";

/// Standard base64; padding optional, since some clients leave it out.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The credentials an `Authorization` header carries.
#[derive(PartialEq, Eq)]
enum Credentials<'a> {
    Basic { user: String, password: String },
    Bearer(&'a str),
}

impl std::fmt::Debug for Credentials<'_> {
    /// Secrets left out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { user, .. } => write!(f, "Basic({user})"),
            Credentials::Bearer(_) => f.write_str("Bearer(…)"),
        }
    }
}

/// Why an `Authorization` header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderError {
    /// Neither `Basic …` nor `Bearer …`, or not visible ASCII.
    Scheme,
    /// The Basic credentials are not base64.
    Base64,
    /// The decoded Basic credentials are not UTF-8.
    Utf8,
    /// The decoded Basic credentials have no `:` between user and password.
    NoColon,
    /// The Basic credentials' user name is empty.
    EmptyUser,
}

impl HeaderError {
    /// The client-facing message; never quotes what was sent (it may hold a password).
    fn message(self) -> &'static str {
        match self {
            HeaderError::Scheme => {
                "the Authorization header must be 'Basic BASE64(user:password)' or 'Bearer TOKEN'"
            }
            HeaderError::Base64 => "the Basic credentials are not valid base64",
            HeaderError::Utf8 => "the Basic credentials are not UTF-8 text",
            HeaderError::NoColon => {
                "the Basic credentials must be 'user:password' (no ':' was found)"
            }
            HeaderError::EmptyUser => "the Basic credentials name no user",
        }
    }
}

/// Reads an `Authorization` header. Scheme names are case-insensitive (RFC 9110 §11.1).
fn parse(value: &HeaderValue) -> Result<Credentials<'_>, HeaderError> {
    let text = value.to_str().map_err(|_| HeaderError::Scheme)?.trim();
    let (scheme, rest) = text.split_once(' ').ok_or(HeaderError::Scheme)?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        return Ok(Credentials::Bearer(rest));
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(HeaderError::Scheme);
    }
    let bytes = BASE64.decode(rest).map_err(|_| HeaderError::Base64)?;
    let text = String::from_utf8(bytes).map_err(|_| HeaderError::Utf8)?;
    // User names cannot hold ':', passwords may: the first colon separates them.
    let (user, password) = text.split_once(':').ok_or(HeaderError::NoColon)?;
    if user.is_empty() {
        return Err(HeaderError::EmptyUser);
    }
    Ok(Credentials::Basic {
        user: user.to_owned(),
        password: password.to_owned(),
    })
}

/// Whether Basic credentials may be accepted: `public_url` is https (clients reach the host
/// through TLS, maybe a proxy's), the TCP peer is this machine (nothing crossed a network),
/// or the operator allowed plain http.
fn basic_allowed(public_url: &str, allow_over_http: bool, peer: Option<SocketAddr>) -> bool {
    let https = public_url
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
    // `to_canonical`: an IPv4 peer on a dual-stack socket shows as ::ffff:127.0.0.1.
    let loopback = peer.is_some_and(|p| p.ip().to_canonical().is_loopback());
    allow_over_http || https || loopback
}

/// The caller of a WebDAV request: `Authorization: Basic` with a user name and one of that
/// user's API tokens, `Authorization: Bearer TOKEN`, or nobody (no header: anonymous, so
/// that the door can answer 401 with [`basic_challenge`]). Cookies are never read.
///
/// Errors: 401 `invalid_credentials` for an unreadable header or wrong credentials; 403
/// `basic_over_http` for Basic over an insecure transport (checked before the credentials
/// are looked at, and not counted as a failure); 429 `too_many_attempts` while the user name
/// is paused by the failed-login throttle (checked before the token is looked up).
pub(crate) async fn resolve_client(state: &Shared, parts: &Parts) -> Result<Caller, AppError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(Caller::anonymous());
    };
    match parse(value).map_err(|e| AppError::InvalidCredentials(e.message()))? {
        Credentials::Bearer(token) => Caller::of_token(state, token).await,
        Credentials::Basic { user, password } => {
            let peer = parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0);
            let dav = &state.config.dav;
            if !basic_allowed(&state.config.public_url, dav.allow_basic_over_http, peer) {
                return Err(AppError::BasicOverHttp);
            }
            basic_caller(state, &user, &password).await
        }
    }
}

/// Checks Basic credentials with the semantics of `log_in`: a name no user can have is
/// refused at once (so the throttle and the log hold only valid names), a paused name before
/// the token is looked up; a failure counts, a success resets the count.
async fn basic_caller(state: &Shared, user: &str, password: &str) -> Result<Caller, AppError> {
    if !crate::store::is_user_name(user) {
        return Err(AppError::InvalidCredentials(WRONG));
    }
    let standing = state.login_throttle.check(user).await?;
    if let Standing::Paused(wait) = standing {
        tracing::warn!(user = %user, "WebDAV login refused: too many failures");
        return Err(AppError::TooManyAttempts(wait));
    }
    match state.store.token_user(password).await? {
        // A token of another user is refused exactly like a wrong one.
        Some(owner) if owner.name == user => {
            state.login_throttle.succeeded(user, standing).await?;
            crate::telemetry::note_user(&owner.name);
            Ok(Caller {
                user: Some(owner),
                via: Via::Token,
            })
        }
        _ => {
            state.login_throttle.failed(user).await?;
            tracing::info!(user = %user, "WebDAV login refused");
            Err(AppError::InvalidCredentials(WRONG))
        }
    }
}

/// The `WWW-Authenticate` value of a 401 on the WebDAV door:
/// `Basic realm="REALM", charset="UTF-8"` (RFC 7617). The realm is a quoted string: `"` and
/// `\` are escaped, and characters a header cannot carry reliably (controls, non-ASCII) are
/// left out (`[dav] realm` admits none of them anyway).
pub(crate) fn basic_challenge(realm: &str) -> HeaderValue {
    let mut quoted = String::with_capacity(realm.len() + 8);
    for c in realm.chars() {
        match c {
            '"' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            ' ' => quoted.push(c),
            c if c.is_ascii_graphic() => quoted.push(c),
            _ => {}
        }
    }
    HeaderValue::try_from(format!("Basic realm=\"{quoted}\", charset=\"UTF-8\""))
        .expect("a challenge of visible ASCII is a valid header value")
}

#[cfg(test)]
mod tests;
