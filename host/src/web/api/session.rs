//! Logging in and out, and who am I.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use serde_json::json;

use super::{ApiCaller, AppJson};
use crate::app::error::AppError;
use crate::app::Shared;
use crate::auth::{cleared_cookie, log_in, Caller, Via, SESSION_COOKIE};

#[derive(Deserialize)]
pub(super) struct Login {
    username: String,
    password: String,
}

/// `POST /api/login {"username","password"}`: sets the session cookie and answers the CSRF
/// token that state-changing requests must echo.
pub(super) async fn login(
    State(state): State<Shared>,
    headers: HeaderMap,
    jar: CookieJar,
    AppJson(login): AppJson<Login>,
) -> Result<Response, AppError> {
    let (jar, user, csrf) = log_in(&state, &headers, jar, &login.username, &login.password).await?;
    Ok((jar, Json(json!({ "user": user, "csrf_token": csrf }))).into_response())
}

/// `POST /api/logout`: ends the session.
pub(super) async fn logout(
    State(state): State<Shared>,
    ApiCaller(_caller): ApiCaller,
    jar: CookieJar,
) -> Result<Response, AppError> {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        state.store.delete_session(cookie.value()).await?;
    }
    Ok((
        jar.remove(cleared_cookie()),
        Json(json!({ "logged_out": true })),
    )
        .into_response())
}

/// `GET /api/me`: the current user, and the session's CSRF token for browser scripts.
pub(super) async fn me(
    ApiCaller(caller): ApiCaller,
    _headers: HeaderMap,
) -> Result<Json<serde_json::Value>, AppError> {
    let Caller { user, via } = caller;
    let user = user.ok_or(AppError::Unauthenticated)?;
    let csrf = match via {
        Via::Cookie { csrf } => Some(csrf),
        _ => None,
    };
    Ok(Json(json!({ "user": user, "csrf_token": csrf })))
}
