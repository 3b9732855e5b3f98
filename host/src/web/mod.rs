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
pub(crate) mod error;
mod files;
mod headers;
pub(crate) mod params;
mod stream;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderName, Method};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use plugin_api::foreign::ForeignDriver;
use plugin_api::{CallContext, ErrorKind, WorkspaceRights};

use crate::auth::{Caller, LoginThrottle};
use crate::config::Config;
use crate::registry::{Registry, Unavailable};
use crate::store::{Access, Store};
use crate::telemetry;
use crate::workspaces::{Workspace, Workspaces};
use error::ApiError;
use params::Params;
use stream::{BodyFailure, BodyWatch};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// Everything a request handler needs; shared by all requests.
pub(crate) struct AppState {
    pub(crate) config: Config,
    pub(crate) store: Store,
    pub(crate) registry: Arc<Registry>,
    pub(crate) workspaces: Arc<Workspaces>,
    /// Failed logins per user name.
    pub(crate) login_throttle: LoginThrottle,
}

impl AppState {
    pub(crate) fn new(
        config: Config,
        store: Store,
        registry: Arc<Registry>,
        workspaces: Arc<Workspaces>,
    ) -> AppState {
        let login_throttle =
            LoginThrottle::new(config.limits.login_failures, config.limits.login_window);
        AppState {
            config,
            store,
            registry,
            workspaces,
            login_throttle,
        }
    }

    /// The workspace `id`, from the config or the store.
    pub(crate) async fn workspace(&self, id: &str) -> Result<Option<Workspace>, ApiError> {
        Ok(self
            .workspaces
            .get(&self.store, id, |d| self.registry.manifest(d))
            .await?)
    }
}

pub(crate) type Shared = Arc<AppState>;

/// The router of the whole host.
pub(crate) fn app(state: Shared) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let limits = state.config.limits;
    let max_header_bytes = limits.max_header_bytes;
    let security_headers = headers::SecurityHeaders::for_public_url(&state.config.public_url);
    Router::new()
        .route("/", get(dispatch).post(dispatch).put(dispatch))
        .route("/index.php", get(dispatch).post(dispatch).put(dispatch))
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_for_admins))
        .nest("/api", api::router())
        .merge(crate::ui::router())
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
                        // One access-log line per request, inside its span (so with its id).
                        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(x_request_id)),
        )
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
        return ApiError::HeadersTooLarge { limit: max }.into_response();
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
) -> Result<String, ApiError> {
    Caller::resolve(&state, &headers).await?.require_admin()?;
    for r in state.registry.records() {
        let loaded = matches!(r.state(), crate::registry::LoadState::Loaded { .. });
        telemetry::plugin_loaded(&r.id, loaded);
    }
    Ok(telemetry::metrics_handle().render())
}

/// Ready when the store answers; 503 with the reason otherwise.
async fn readyz(State(state): State<Shared>) -> Response {
    use axum::response::IntoResponse;
    let ping = tokio::time::timeout(std::time::Duration::from_secs(3), state.store.ping()).await;
    match ping {
        Ok(Ok(())) => Json(serde_json::json!({"status": "ready"})).into_response(),
        failed => {
            let why = match failed {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".to_owned(),
            };
            tracing::warn!("not ready: the store does not answer: {why}");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "unavailable", "reason": "the store does not answer"})),
            )
                .into_response()
        }
    }
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
    let action = Params::parse(query.as_deref().unwrap_or(""))
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
) -> Result<Response, ApiError> {
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
        return Err(ApiError::MissingAction);
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
                    .map_err(|_| ApiError::TooLarge {
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
        return Err(ApiError::UnknownAction(action));
    }
    actions::handle(state, caller, action, method, params, headers, body).await
}

/// The per-call context handed to plugins; its request id is the one in the logs and the
/// `x-request-id` response header. `access` is the caller's checked access to `workspace`;
/// the context carries it as the caller's rights (`CallContext::rights`), so that a driver
/// can tell an administrator from a reader (who may not change what other users see).
fn call_context(caller: &Caller, workspace: Option<&str>, access: Option<Access>) -> CallContext {
    let ctx = CallContext {
        user: caller.name().map(str::to_owned),
        workspace: workspace.map(str::to_owned),
        request_id: telemetry::request_id(),
        extra: Default::default(),
    };
    match rights_of(caller, access) {
        Some(rights) => ctx.with_rights(rights),
        None => ctx,
    }
}

/// The rights a plugin is told the caller has: an administrator administers every workspace
/// (with or without one named); any other user has what their grant gives, or nothing.
fn rights_of(caller: &Caller, access: Option<Access>) -> Option<WorkspaceRights> {
    let user = caller.user.as_ref()?;
    if user.admin {
        return Some(WorkspaceRights::Admin);
    }
    access.map(|a| match a {
        Access::Read => WorkspaceRights::Read,
        Access::ReadWrite => WorkspaceRights::Write,
    })
}

/// The access `caller` has to workspace `ws_id`: administrators have read-write on every
/// workspace; other users what the workspace's ACL grants them. 401 for anonymous callers,
/// 403 without a grant (whether or not the workspace exists, so ids cannot be probed).
pub(crate) async fn access(
    state: &AppState,
    caller: &Caller,
    ws_id: &str,
) -> Result<Access, ApiError> {
    let user = caller.require_user()?;
    if user.admin {
        return Ok(Access::ReadWrite);
    }
    state
        .store
        .access(ws_id, &user.name)
        .await?
        .ok_or_else(|| ApiError::Forbidden(format!("you have no access to workspace '{ws_id}'")))
}

/// Proof that a caller's access to a workspace was checked: only [`check_access`] makes one,
/// and [`call_driver`] requires one, so no driver is called unchecked — and the check is
/// made once per request.
pub(crate) struct Granted {
    ws_id: String,
    access: Access,
}

impl Granted {
    /// The access the caller has (at least what was asked).
    pub(crate) fn access(&self) -> Access {
        self.access
    }
}

/// Refuses `caller` unless they have `need` on workspace `ws_id`.
pub(crate) async fn check_access(
    state: &AppState,
    caller: &Caller,
    ws_id: &str,
    need: Access,
) -> Result<Granted, ApiError> {
    let granted = access(state, caller, ws_id).await?;
    if need == Access::ReadWrite && granted != Access::ReadWrite {
        return Err(ApiError::Forbidden(format!(
            "your access to workspace '{ws_id}' is read-only"
        )));
    }
    Ok(Granted {
        ws_id: ws_id.to_owned(),
        access: granted,
    })
}

/// Resolves the workspace `granted` was checked for to its driver and runs `op` on a
/// blocking thread, within the plugin deadline.
pub(crate) async fn call_driver<T, F>(
    state: &Shared,
    caller: &Caller,
    granted: &Granted,
    op: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&ForeignDriver, &CallContext) -> plugin_api::Result<T> + Send + 'static,
{
    call_driver_on(state, caller, granted, None, Lane::Pool, op).await
}

/// [`call_driver`] for a `stat` or a `read` (the calls [`plugin_api::Capabilities::QUICK`]
/// covers): on a driver that declares quick calls, `op` runs right here on the async
/// thread, which saves the two thread hand-offs of the blocking pool.
pub(crate) async fn call_driver_quick<T, F>(
    state: &Shared,
    caller: &Caller,
    granted: &Granted,
    op: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&ForeignDriver, &CallContext) -> plugin_api::Result<T> + Send + 'static,
{
    call_driver_on(state, caller, granted, None, Lane::Quick, op).await
}

/// [`call_driver`] for an operation that reads a request body (watched by `body`): the
/// deadline then counts from the plugin's last read, and a body over its limit is a 413.
pub(crate) async fn call_driver_reading<T, F>(
    state: &Shared,
    caller: &Caller,
    granted: &Granted,
    body: &BodyWatch,
    op: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&ForeignDriver, &CallContext) -> plugin_api::Result<T> + Send + 'static,
{
    call_driver_on(state, caller, granted, Some(body), Lane::Pool, op).await
}

/// Where a driver call may run.
#[derive(PartialEq)]
enum Lane {
    /// A blocking thread, within the plugin deadline.
    Pool,
    /// The calling async thread, if the driver declares quick calls (else the pool).
    Quick,
}

/// The one driver-call path behind [`call_driver`], [`call_driver_quick`] and
/// [`call_driver_reading`].
async fn call_driver_on<T, F>(
    state: &Shared,
    caller: &Caller,
    granted: &Granted,
    body: Option<&BodyWatch>,
    lane: Lane,
    op: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&ForeignDriver, &CallContext) -> plugin_api::Result<T> + Send + 'static,
{
    let ws_id = granted.ws_id.as_str();
    let ws = state
        .workspace(ws_id)
        .await?
        .ok_or_else(|| ApiError::UnknownWorkspace(ws_id.to_owned()))?;
    telemetry::served_by(&ws.driver);
    let toggles = state.store.plugin_toggles().await?;
    driver_ready(state, &ws, &toggles)?;
    let ctx = call_context(caller, Some(ws_id), Some(granted.access));
    // Only a driver already open has a quick lane: the first call of a workspace (which
    // opens its driver, maybe loading its plugin) takes the pool.
    if let Some(call) = (lane == Lane::Quick)
        .then(|| state.workspaces.quick_call(&ws))
        .flatten()
    {
        let result = op(call.driver(), &ctx);
        drop(call); // records how long the call took, before its answer is handled
        return driver_answered(state, &ws, result);
    }
    let driver_id = ws.driver.clone();
    let limits = state.config.limits;
    let state = state.clone();
    let span = tracing::Span::current();
    let task = tokio::task::spawn_blocking(move || {
        // Blocking threads do not inherit the request's span: enter it, so the driver's log
        // lines carry the request id.
        let _span = span.enter();
        let plugin = state
            .registry
            .plugin(&ws.driver, &toggles)
            .map_err(|u| unavailable(&ws, u))?;
        let config = ws.config().expect("checked by driver_ready");
        let driver = state.workspaces.driver(&ws, config, &plugin)?;
        driver_answered(&state, &ws, op(&driver, &ctx))
    });
    let result = await_plugin(task, &driver_id, limits.plugin_timeout, body).await;
    match (result, body.and_then(BodyWatch::failure)) {
        (Err(_), Some(BodyFailure::OverLimit)) => Err(ApiError::TooLarge {
            what: "request body",
            limit: limits.max_upload,
        }),
        (Err(_), Some(BodyFailure::Stalled)) => Err(ApiError::BodyStalled {
            after: limits.body_idle_timeout,
        }),
        (Err(_), Some(BodyFailure::ClientGone)) => Err(ApiError::ClientGone),
        (result, _) => result,
    }
}

/// A driver's answer, its error counted; a driver that panicked is forgotten, since it may
/// be in a broken state (it is reopened on next use).
fn driver_answered<T>(
    state: &AppState,
    ws: &Workspace,
    result: plugin_api::Result<T>,
) -> Result<T, ApiError> {
    if let Err(e) = &result {
        telemetry::driver_error(&ws.driver, e.kind.as_str());
        if e.kind == ErrorKind::Panicked {
            state.workspaces.forget(&ws.id);
        }
    }
    result.map_err(ApiError::from)
}

/// Waits for a plugin call running on a blocking thread. Once `limit` passes without an
/// answer (or, when the call reads a request body, without a read), the request fails with
/// 504; the thread cannot be stopped and finishes on its own, its result dropped.
pub(crate) async fn await_plugin<T>(
    task: tokio::task::JoinHandle<Result<T, ApiError>>,
    plugin: &str,
    limit: std::time::Duration,
    body: Option<&BodyWatch>,
) -> Result<T, ApiError> {
    tokio::pin!(task);
    loop {
        let wait = body.map_or(limit, |b| limit.saturating_sub(b.idle()));
        match tokio::time::timeout(wait, &mut task).await {
            Ok(joined) => {
                return joined
                    .map_err(|e| ApiError::Internal(format!("plugin task failed: {e}")))?
            }
            Err(_) if body.is_some_and(|b| b.idle() < limit) => continue,
            Err(_) => {
                return Err(ApiError::PluginTimeout {
                    plugin: plugin.to_owned(),
                    after: limit,
                })
            }
        }
    }
}

/// Refuses a workspace whose driver is disabled or whose definition was refused.
fn driver_ready(
    state: &AppState,
    ws: &Workspace,
    toggles: &BTreeMap<String, bool>,
) -> Result<(), ApiError> {
    if state.registry.manifest(&ws.driver).is_some()
        && !state.registry.is_enabled(&ws.driver, toggles)
    {
        state.workspaces.forget_plugin(&ws.driver);
        return Err(ApiError::DriverDisabled {
            workspace: ws.id.clone(),
            driver: ws.driver.clone(),
        });
    }
    if let Err(reason) = &ws.setup {
        return Err(ApiError::WorkspaceUnavailable {
            workspace: ws.id.clone(),
            reason: format!("its configuration was refused: {reason}"),
        });
    }
    Ok(())
}

fn unavailable(ws: &Workspace, why: Unavailable) -> ApiError {
    match why {
        Unavailable::Disabled => ApiError::DriverDisabled {
            workspace: ws.id.clone(),
            driver: ws.driver.clone(),
        },
        Unavailable::Unknown => ApiError::WorkspaceUnavailable {
            workspace: ws.id.clone(),
            reason: format!("its driver '{}' is not installed", ws.driver),
        },
        Unavailable::Refused(_) => ApiError::WorkspaceUnavailable {
            workspace: ws.id.clone(),
            reason: format!("its driver '{}' failed to load", ws.driver),
        },
    }
}
