//! The admin REST API under `/api/`, JSON in and out. Every handler takes an [`ApiCaller`],
//! which applies the CSRF rule to cookie-authenticated requests that change state, and then
//! states the rights it needs (`require_user`, `require_admin`).

mod plugins;
mod session;
mod users;
mod workspaces;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{delete, get, post, put};
use axum::Router;

use crate::app::error::AppError;
use crate::app::Shared;
use crate::auth::Caller;

crate::app::extract::extractors!(AppError => json AppJson, path AppPath, query AppQuery);

pub(super) fn router() -> Router<Shared> {
    let guarded = Router::new()
        .route("/logout", post(session::logout))
        .route("/me", get(session::me))
        .route("/plugins", get(plugins::list))
        .route("/plugins/{id}", get(plugins::show))
        .route("/plugins/{id}/enable", post(plugins::enable))
        .route("/plugins/{id}/disable", post(plugins::disable))
        .route(
            "/workspaces",
            get(workspaces::list).post(workspaces::create),
        )
        .route(
            "/workspaces/{id}",
            get(workspaces::show)
                .put(workspaces::update)
                .delete(workspaces::remove),
        )
        .route("/workspaces/{id}/verify", post(workspaces::verify))
        .route("/workspaces/{id}/acl", get(workspaces::acl))
        .route(
            "/workspaces/{id}/acl/{user}",
            put(workspaces::grant).delete(workspaces::revoke),
        )
        .route("/users", get(users::list).post(users::create))
        .route("/users/{name}", get(users::show).delete(users::remove))
        .route("/users/{name}/password", put(users::password))
        .route("/tokens", get(users::tokens).post(users::create_token))
        .route("/tokens/{id}", delete(users::delete_token));
    Router::new()
        .route("/login", post(session::login))
        .merge(guarded)
        .method_not_allowed_fallback(super::wrong_method)
        .fallback(|uri: axum::http::Uri| async move {
            AppError::NoRoute {
                path: format!("/api{}", uri.path()),
            }
        })
}

/// The caller of an API request, with the CSRF rule applied: every handler that takes it
/// refuses a cookie-authenticated request that changes state without the session's token.
pub(super) struct ApiCaller(pub(super) Caller);

impl FromRequestParts<Shared> for ApiCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, AppError> {
        let caller = Caller::resolve(state, &parts.headers).await?;
        caller.check_csrf(&parts.method, &parts.headers, None)?;
        Ok(ApiCaller(caller))
    }
}

/// An [`ApiCaller`] who must be an administrator; checked before the body is read, so a
/// caller without the right learns nothing from validation.
pub(super) struct ApiAdmin(pub(super) Caller);

impl FromRequestParts<Shared> for ApiAdmin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, AppError> {
        let ApiCaller(caller) = ApiCaller::from_request_parts(parts, state).await?;
        caller.require_admin()?;
        Ok(ApiAdmin(caller))
    }
}

/// An [`ApiCaller`] who must be logged in.
pub(super) struct ApiUser(pub(super) Caller);

impl FromRequestParts<Shared> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, AppError> {
        let ApiCaller(caller) = ApiCaller::from_request_parts(parts, state).await?;
        caller.require_user()?;
        Ok(ApiUser(caller))
    }
}
