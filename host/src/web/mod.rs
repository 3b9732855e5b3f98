//! The HTTP layer: `GET|POST /?get_action=…` (also under `/index.php`), dispatched to the
//! standard file actions or to the plugin that declares the action, and the admin REST API
//! under `/api/`.
//!
//! Order of every file request: who is calling (`auth`), may they (`rights`), which
//! workspace and driver, then the driver call on a blocking thread (the ABI is blocking by
//! design). Nothing reaches a plugin before the rights check. Every answer leaves through
//! `headers`, which adds the security headers.

mod actions;
mod api;
mod archive;
mod batch;
pub(crate) mod error;
mod files;
mod headers;
pub(crate) mod params;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderName, Method};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};

use crate::app::error::AppError;
use crate::app::Shared;
use crate::auth::Caller;
use crate::store::Store;
use crate::telemetry;
use params::Params;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// The router of the whole host.
pub(crate) fn app(state: Shared) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let limits = state.config.limits;
    let max_header_bytes = limits.max_header_bytes;
    let security_headers = headers::SecurityHeaders::for_public_url(&state.config.public_url);
    let trusted_proxies = std::sync::Arc::new(state.config.trusted_proxies.clone());
    Router::new()
        .route("/", get(dispatch).post(dispatch).put(dispatch))
        .route("/index.php", get(dispatch).post(dispatch).put(dispatch))
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_for_admins))
        .method_not_allowed_fallback(wrong_method)
        .nest("/api", api::router())
        .merge(crate::ui::router())
        .merge(crate::dav::router())
        // An unknown path answers in the surface of the door it is under.
        .fallback(no_route)
        .with_state(state)
        // Bodies read whole (API JSON, UI forms); uploads are streamed and bounded apart.
        .layer(axum::extract::DefaultBodyLimit::max(limits.max_body))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            limits.body_idle_timeout,
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            refuse_large_heads(req, next, max_header_bytes)
        }))
        // Around every route and every refusal above: no answer goes without them.
        .layer(axum::middleware::from_fn(move |req, next| {
            headers::add(security_headers, req, next)
        }))
        // Outermost first: give every request an id, log it in a span, echo it back.
        .layer(
            tower::ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(
                    x_request_id.clone(),
                    MakeRequestUuid,
                ))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        // The access line is `telemetry::access_log`'s, once the body is sent.
                        .on_response(())
                        .on_failure(()),
                )
                // One access-log line per request, with its id as a field of its own.
                .layer(axum::middleware::from_fn(move |req, next| {
                    telemetry::access_log(req, next, trusted_proxies.clone())
                }))
                .layer(PropagateRequestIdLayer::new(x_request_id)),
        )
}

/// 404 for a path no route serves: the UI's error page under `/ui/`, else the JSON error.
async fn no_route(uri: axum::http::Uri) -> Response {
    use axum::response::IntoResponse;
    let path = uri.path().to_owned();
    if path.starts_with("/ui/") {
        return crate::ui::no_route(path).into_response();
    }
    AppError::NoRoute { path }.into_response()
}

/// 405 for a method a route does not answer (axum adds the `Allow` header).
pub(crate) async fn wrong_method(method: Method, uri: axum::http::Uri) -> AppError {
    AppError::WrongMethod {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

/// The router of the optional separate metrics listener (`metrics_listen`): no
/// authentication, so bind it to an address only the monitoring system reaches.
pub(crate) fn metrics_app() -> Router {
    Router::new().route(
        "/metrics",
        get(|| async { telemetry::metrics_handle().render() }),
    )
}

/// 431 for a request whose line and headers together exceed `max` bytes (hyper only bounds
/// them by its read buffer).
async fn refuse_large_heads(
    req: axum::extract::Request,
    next: axum::middleware::Next,
    max: usize,
) -> Response {
    use axum::response::IntoResponse;
    // The request line's target, measured without rendering the URI on every request.
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    let size = target
        + req
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    if size > max {
        return AppError::HeadersTooLarge { limit: max }.into_response();
    }
    next.run(req).await
}

fn request_span(req: &axum::http::Request<Body>) -> tracing::Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", id, method = %req.method(), path = %req.uri().path())
}

/// `/metrics` on the main listener: administrators only (Prometheus can send a Bearer token).
async fn metrics_for_admins(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Result<String, AppError> {
    Caller::resolve(&state, &headers).await?.require_admin()?;
    for r in state.registry.records() {
        let loaded = matches!(
            r.state(),
            crate::plugins::registry::LoadState::Loaded { .. }
        );
        telemetry::plugin_loaded(&r.id, loaded);
    }
    Ok(telemetry::metrics_handle().render())
}

/// Ready when the store answers and no shutdown is under way; 503 with the reason otherwise,
/// within 3 s. Balancers probe it every few seconds, so a failure is logged at debug level:
/// the store logs the outage itself once.
async fn readyz(State(state): State<Shared>) -> Response {
    use axum::response::IntoResponse;
    if state.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "draining", "reason": "shutting down"})),
        )
            .into_response();
    }
    let ping = tokio::time::timeout(std::time::Duration::from_secs(3), state.store.ping()).await;
    match ping {
        Ok(Ok(())) => Json(ready(&state).await).into_response(),
        failed => {
            let why = match failed {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".to_owned(),
            };
            tracing::debug!("not ready: the store does not answer: {why}");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "unavailable", "reason": "the store does not answer"})),
            )
                .into_response()
        }
    }
}

/// The body of a ready answer: with this instance's configuration fingerprint once it is
/// recorded, and the live instances on the store that serve another configuration (only
/// their names and fingerprints: the admin UI and `config check` say what differs). Drift
/// does not make an instance unready: during a rolling restart it is expected.
async fn ready(state: &Shared) -> serde_json::Value {
    let Some(served) = state.served.get() else {
        return serde_json::json!({"status": "ready"});
    };
    let disagreeing: Vec<serde_json::Value> = match served.disagreeing(&state.store).await {
        Ok(found) => found
            .iter()
            .map(|r| serde_json::json!({"instance": r.instance, "fingerprint": r.fingerprint}))
            .collect(),
        Err(e) => {
            tracing::debug!("cannot compare with the other instances: {e}");
            Vec::new()
        }
    };
    serde_json::json!({
        "status": "ready",
        "instance": served.name,
        "fingerprint": served.fingerprint,
        "disagreeing": disagreeing,
    })
}

async fn dispatch(
    State(state): State<Shared>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    use axum::response::IntoResponse;
    let started = std::time::Instant::now();
    let params = Params::parse(query.as_deref().unwrap_or(""));
    if let Some(ws) = params.workspace() {
        telemetry::note_workspace(ws);
    }
    let action = params
        .action()
        .map(|a| {
            let known = files::StdAction::from_name(a).is_some()
                || !state.registry.action_routes(a).is_empty();
            // Only known names become label values: a client cannot grow the metrics.
            if known {
                a.to_owned()
            } else {
                "unknown".to_owned()
            }
        })
        .unwrap_or_else(|| "none".to_owned());
    telemetry::note_action(&action);
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // Every store read of the request answers from one generation's snapshot.
    let work = Store::request_scope(dispatch_inner(state, method, query, headers, body));
    let (result, plugin) = telemetry::track(request_id, work).await;
    let response = result.into_response();
    telemetry::request(
        &action,
        plugin.as_deref(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

async fn dispatch_inner(
    state: Shared,
    method: Method,
    query: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let caller = Caller::resolve(&state, &headers).await?;
    let mut params = Params::parse(query.as_deref().unwrap_or(""));
    let Some(action) = params.action().map(str::to_owned) else {
        // A browser opening the host's address lands in the web UI; API clients get the error.
        let wants_html = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
        if method == Method::GET && wants_html {
            let to_ui = axum::response::Redirect::to("/ui/");
            return Ok(axum::response::IntoResponse::into_response(to_ui));
        }
        return Err(AppError::MissingAction);
    };

    if let Some(std_action) = files::StdAction::from_name(&action) {
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let body = if is_form && std_action != files::StdAction::Upload {
            let limit = state.config.limits.max_body;
            let bytes =
                axum::body::to_bytes(body, limit)
                    .await
                    .map_err(|_| AppError::TooLarge {
                        what: "form body",
                        limit: limit as u64,
                    })?;
            params.extend(Params::parse(&String::from_utf8_lossy(&bytes)));
            Body::empty()
        } else {
            body
        };
        caller.require_user()?;
        caller.check_csrf(&method, &headers, params.get("secure_token"))?;
        return files::handle(state, caller, std_action, method, params, headers, body).await;
    }
    let routes = state.registry.action_routes(&action);
    if routes.is_empty() {
        return Err(AppError::UnknownAction(action));
    }
    actions::handle(state, caller, action, method, params, headers, body).await
}
