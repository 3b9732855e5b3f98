//! The admin REST API under `/api/`, JSON in and out, described by its OpenAPI document
//! (`GET /api/openapi.json`). Every handler takes an [`ApiCaller`], which applies the CSRF
//! rule to cookie-authenticated requests that change state, and then states the rights it
//! needs (`require_user`, `require_admin`).

mod openapi;
mod plugins;
mod session;
mod templates;
mod users;
mod workspaces;

use axum::extract::FromRequestParts;
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::Method;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;

use crate::app::error::AppError;
use crate::app::Shared;
use crate::auth::Caller;

crate::app::extract::extractors!(AppError => json AppJson, path AppPath, query AppQuery);

pub(super) fn router() -> Router<Shared> {
    routes()
        .into_iter()
        .fold(Router::new(), |router, r| {
            let filter = MethodFilter::try_from(r.method).expect("the API uses standard methods");
            router.route(r.path, (r.handler)(filter))
        })
        .method_not_allowed_fallback(super::wrong_method)
        .fallback(|uri: axum::http::Uri| async move {
            AppError::NoRoute {
                path: format!("/api{}", uri.path()),
            }
        })
}

/// One route of the API: a method on a path (relative to `/api`) and its handler.
pub(super) struct ApiRoute {
    pub(super) method: Method,
    pub(super) path: &'static str,
    /// The handler, served on the method the router makes a filter of.
    handler: Box<dyn FnOnce(MethodFilter) -> MethodRouter<Shared>>,
}

/// `method path` served by `handler`.
fn at<H, T>(method: Method, path: &'static str, handler: H) -> ApiRoute
where
    H: Handler<T, Shared>,
    T: 'static,
{
    ApiRoute {
        method,
        path,
        handler: Box::new(move |filter| on(filter, handler)),
    }
}

/// Every route of the API, as a table rather than a chain of `.route` calls: the router is
/// folded from it, and the OpenAPI document's test checks its paths against it.
pub(super) fn routes() -> Vec<ApiRoute> {
    use axum::http::Method as M;
    vec![
        at(M::GET, "/openapi.json", openapi::document),
        at(M::POST, "/login", session::login),
        at(M::POST, "/logout", session::logout),
        at(M::GET, "/me", session::me),
        at(M::GET, "/plugins", plugins::list),
        at(M::GET, "/plugins/{id}", plugins::show),
        at(M::POST, "/plugins/{id}/enable", plugins::enable),
        at(M::POST, "/plugins/{id}/disable", plugins::disable),
        at(M::GET, "/workspaces", workspaces::list),
        at(M::POST, "/workspaces", workspaces::create),
        at(M::GET, "/workspaces/{id}", workspaces::show),
        at(M::PUT, "/workspaces/{id}", workspaces::update),
        at(M::DELETE, "/workspaces/{id}", workspaces::remove),
        at(M::POST, "/workspaces/{id}/verify", workspaces::verify),
        at(M::GET, "/workspaces/{id}/acl", workspaces::acl),
        at(M::PUT, "/workspaces/{id}/acl/{user}", workspaces::grant),
        at(M::DELETE, "/workspaces/{id}/acl/{user}", workspaces::revoke),
        at(M::GET, "/templates", templates::list),
        at(M::POST, "/templates", templates::create),
        at(M::GET, "/templates/{id}", templates::show),
        at(M::PUT, "/templates/{id}", templates::update),
        at(M::DELETE, "/templates/{id}", templates::remove),
        at(M::POST, "/templates/{id}/workspaces", templates::create_own),
        at(M::GET, "/users", users::list),
        at(M::POST, "/users", users::create),
        at(M::GET, "/users/{name}", users::show),
        at(M::DELETE, "/users/{name}", users::remove),
        at(M::PUT, "/users/{name}/password", users::password),
        at(M::GET, "/tokens", users::tokens),
        at(M::POST, "/tokens", users::create_token),
        at(M::DELETE, "/tokens/{id}", users::delete_token),
    ]
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
