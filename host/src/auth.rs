//! Who is calling. A request carries a Bearer API token, a session cookie, or nothing; the
//! caller is resolved against the store before anything else happens. WebDAV clients are
//! resolved apart (`basic`): Basic with an app password, or Bearer, and never a cookie. Also the CSRF rule: a
//! state-changing request authenticated by cookie must echo the session's token, because a
//! browser attaches cookies to requests that other sites make it send. `log_in`, the one
//! login path, refuses what comes from another site (`origin`), a user name that cannot
//! exist, and names paused by the failed-login throttle (`throttle`), before a password is
//! checked.

mod basic;
mod origin;
mod throttle;

pub(crate) use basic::{basic_challenge, resolve_client};
pub(crate) use throttle::{LoginThrottle, Standing};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use crate::app::error::AppError;
use crate::app::Shared;
use crate::store::User;

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "wshost_session";
/// The header that carries the CSRF token (Pydio's `secure_token` parameter works too).
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub(crate) enum Via {
    /// Nothing: an anonymous request.
    Anonymous,
    /// A browser session; requests that change state must echo `csrf`.
    Cookie { csrf: String },
    /// An API token (not sent by browsers on their own, so no CSRF risk).
    Token,
}

/// The caller of one request.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) user: Option<User>,
    pub(crate) via: Via,
}

impl Caller {
    /// Resolves the caller from the request headers.
    pub(crate) async fn resolve(state: &Shared, headers: &HeaderMap) -> Result<Caller, AppError> {
        let caller = Self::resolve_unlogged(state, headers).await?;
        if let Some(user) = &caller.user {
            crate::telemetry::note_user(&user.name);
        }
        Ok(caller)
    }

    /// [`Caller::resolve`], without noting the user for the access log.
    async fn resolve_unlogged(state: &Shared, headers: &HeaderMap) -> Result<Caller, AppError> {
        if let Some(auth) = headers.get(header::AUTHORIZATION) {
            let token = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer ").map(str::trim))
                .ok_or(AppError::InvalidCredentials(
                    "the Authorization header must be 'Bearer TOKEN'",
                ))?;
            return Caller::of_token(state, token).await;
        }
        let jar = CookieJar::from_headers(headers);
        if let Some(cookie) = jar.get(SESSION_COOKIE) {
            // A stale cookie is not an error: the caller is simply anonymous.
            if let Some(session) = state.store.session(cookie.value()).await? {
                return Ok(Caller {
                    user: Some(session.user),
                    via: Via::Cookie { csrf: session.csrf },
                });
            }
        }
        Ok(Caller::anonymous())
    }

    /// Nobody.
    pub(crate) fn anonymous() -> Caller {
        Caller {
            user: None,
            via: Via::Anonymous,
        }
    }

    /// The owner of the API token `token`, or 401.
    pub(crate) async fn of_token(state: &Shared, token: &str) -> Result<Caller, AppError> {
        let user = state
            .store
            .token_user(token)
            .await?
            .ok_or(AppError::InvalidCredentials("unknown or revoked API token"))?;
        Ok(Caller {
            user: Some(user),
            via: Via::Token,
        })
    }

    /// The user's name, if logged in.
    pub(crate) fn name(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.name.as_str())
    }

    /// A logged-in user, or 401.
    pub(crate) fn require_user(&self) -> Result<&User, AppError> {
        self.user.as_ref().ok_or(AppError::Unauthenticated)
    }

    /// An administrator, or 401/403.
    pub(crate) fn require_admin(&self) -> Result<&User, AppError> {
        let user = self.require_user()?;
        if user.admin {
            Ok(user)
        } else {
            Err(AppError::Forbidden("this needs an administrator".into()))
        }
    }

    /// Refuses a state-changing, cookie-authenticated request without the session's CSRF
    /// token (in the `X-CSRF-Token` header or the `secure_token` parameter).
    pub(crate) fn check_csrf(
        &self,
        method: &Method,
        headers: &HeaderMap,
        secure_token: Option<&str>,
    ) -> Result<(), AppError> {
        let Via::Cookie { csrf } = &self.via else {
            return Ok(());
        };
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .or(secure_token);
        match sent {
            Some(token) if constant_time_eq(token.as_bytes(), csrf.as_bytes()) => Ok(()),
            _ => Err(AppError::CsrfRejected),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, AppError> {
        Caller::resolve(state, &parts.headers).await
    }
}

/// Logs `username` in: where the request comes from, the user name's shape, the failed-login
/// throttle, the password check (bounded in concurrency by the store), a new session, and its
/// cookie added to `jar`. The one login path of the REST API and the web UI.
pub(crate) async fn log_in(
    state: &Shared,
    headers: &HeaderMap,
    jar: CookieJar,
    username: &str,
    password: &str,
) -> Result<(CookieJar, User, String), AppError> {
    origin::check_same_origin(&state.config.public_url, headers)?;
    // Before anything keeps or logs the name: a name that no user can have is answered at
    // once, so neither the throttle nor the log ever holds more than a valid name.
    if !crate::store::is_user_name(username) {
        return Err(AppError::BadRequest(crate::store::USER_NAME_RULE.into()));
    }
    let standing = state.login_throttle.check(username).await?;
    if let Standing::Paused(wait) = standing {
        tracing::warn!(user = %username, "login refused: too many failures");
        return Err(AppError::TooManyAttempts(wait));
    }
    let Some(user) = state.store.check_password(username, password).await? else {
        state.login_throttle.failed(username).await?;
        tracing::info!(user = %username, "login refused");
        return Err(AppError::InvalidCredentials("wrong user name or password"));
    };
    state.login_throttle.succeeded(username, standing).await?;
    let ttl = state.config.session_ttl;
    let session = state.store.create_session(&user.name, ttl).await?;
    let secure = state.config.public_url.starts_with("https://");
    tracing::info!(user = %user.name, "logged in");
    Ok((
        jar.add(session_cookie(session.token, secure, ttl)),
        user,
        session.csrf,
    ))
}

/// The session cookie for `token`: HttpOnly, SameSite=Lax, Secure behind https.
pub(crate) fn session_cookie(
    token: String,
    secure: bool,
    ttl: std::time::Duration,
) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .expires(expiry(ttl))
        .build()
}

/// A cookie that removes the session cookie.
pub(crate) fn cleared_cookie() -> Cookie<'static> {
    let mut c = Cookie::build((SESSION_COOKIE, "")).path("/").build();
    c.make_removal();
    c
}

fn expiry(d: std::time::Duration) -> axum_extra::extract::cookie::Expiration {
    let at = std::time::SystemTime::now() + d;
    axum_extra::extract::cookie::Expiration::DateTime(at.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_compare_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
