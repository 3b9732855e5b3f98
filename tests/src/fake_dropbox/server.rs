//! The router and the shared state: OAuth pages on the www role, the token endpoint and
//! `/2/…` routes on the api and content roles (all on one port), and the `/__fake/…` control
//! routes. Every `/2/` call is counted, may meet an injected fault, then is authenticated.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use super::faults::{Answer, Counters, Fault, Faults, Pending};
use super::files::Uploads;
use super::oauth::Grants;
use super::state::Tree;
use super::wire::ApiError;
use super::{files, oauth, users, Options};

/// The fake account's id: `dbid:` and 35 characters, as Dropbox's validators require.
pub(crate) const ACCOUNT_ID: &str = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc";

/// Everything the fake knows.
pub(crate) struct App {
    pub(crate) options: Options,
    inner: Mutex<Inner>,
}

/// The mutable part, behind one lock (the fake is small and tests are short).
#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) tree: Tree,
    pub(crate) grants: Grants,
    pub(crate) uploads: Uploads,
    pub(crate) faults: Faults,
    pub(crate) counters: Counters,
}

impl App {
    pub(crate) fn new(options: Options) -> App {
        App {
            options,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn inject(&self, fault: Fault) {
        let mut inner = self.lock();
        match fault {
            Fault::RateLimit {
                times,
                retry_after,
                reason,
                route,
            } => inner.faults.pending.push(Pending {
                remaining: times,
                route,
                answer: Answer::RateLimit(reason, retry_after),
            }),
            Fault::ServerError {
                times,
                status,
                route,
            } => inner.faults.pending.push(Pending {
                remaining: times,
                route,
                answer: Answer::Status(status),
            }),
            Fault::ExpireAccessTokens => inner.grants.expire_access_tokens(),
            Fault::RevokeRefreshTokens => inner.grants.revoke_refresh_tokens(),
            Fault::IncorrectOffsetOnNextAppend => inner.faults.incorrect_offset_next_append = true,
            Fault::ResetCursors => inner.uploads.cursors.clear(),
        }
    }

    /// Counts a call of `route` and answers the injected fault it meets, if any.
    pub(crate) fn count_and_fault(&self, route: &str, api: bool) -> Result<(), ApiError> {
        let mut inner = self.lock();
        *inner.counters.requests.entry(route.to_owned()).or_default() += 1;
        match inner.faults.take(route, api) {
            None => Ok(()),
            Some(answer) => {
                inner.counters.faults_served += 1;
                Err(match answer {
                    Answer::RateLimit(reason, secs) => ApiError::RateLimit(reason.tag(), secs),
                    Answer::Status(status) => ApiError::Server(status),
                })
            }
        }
    }
}

/// The fake's routes.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            "/oauth2/authorize",
            get(oauth::authorize).post(oauth::decide),
        )
        .route(
            "/1/oauth2/authorize",
            get(oauth::authorize).post(oauth::decide),
        )
        .route("/oauth2/token", post(oauth::token))
        .route("/1/oauth2/token", post(oauth::token))
        .route("/2/{*route}", post(api))
        .route("/__fake/faults", post(control))
        .route("/__fake/counters", get(counters))
        .layer(DefaultBodyLimit::max(200 * 1024 * 1024))
        .with_state(app)
}

/// `Authorization: Bearer TOKEN`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Every `/2/…` route.
async fn api(
    State(app): State<Arc<App>>,
    Path(route): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = (|| {
        app.count_and_fault(&route, true)?;
        let Some(token) = bearer(&headers) else {
            return Err(ApiError::BadInput(
                route.clone(),
                "Must provide HTTP header \"Authorization\" or URL parameter \"authorization\"."
                    .into(),
            ));
        };
        app.lock().grants.check_access(token)?;
        let call = Call {
            app: &app,
            route: &route,
            headers: &headers,
            query: query.as_deref(),
            body: &body,
        };
        match route.as_str() {
            "auth/token/revoke" => oauth::revoke(&call, token),
            "users/get_current_account" => users::get_current_account(&call),
            "users/get_space_usage" => users::get_space_usage(&call),
            _ => files::handle(&call).unwrap_or_else(|| Err(ApiError::UnknownRoute(route.clone()))),
        }
    })();
    let response = answer.unwrap_or_else(IntoResponse::into_response);
    tracing::info!(route = %route, status = response.status().as_u16(), "fake Dropbox call");
    response
}

/// One API call as the route handlers see it.
pub(crate) struct Call<'a> {
    pub(crate) app: &'a App,
    pub(crate) route: &'a str,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) query: Option<&'a str>,
    pub(crate) body: &'a [u8],
}

/// `POST /__fake/faults` with a [`Fault`] as JSON (or a list of them).
async fn control(State(app): State<Arc<App>>, Json(faults): Json<Value>) -> Response {
    let list = match faults {
        Value::Array(list) => list,
        one => vec![one],
    };
    for fault in list {
        match serde_json::from_value::<Fault>(fault) {
            Ok(fault) => app.inject(fault),
            Err(e) => {
                return (StatusCode::BAD_REQUEST, format!("not a fault: {e}")).into_response()
            }
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /__fake/counters`.
async fn counters(State(app): State<Arc<App>>) -> Json<Counters> {
    Json(app.lock().counters.clone())
}
