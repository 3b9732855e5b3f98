//! The HTTP layer: `GET|POST /?get_action=…` (also under `/index.php`), dispatched to the
//! standard file actions or to the plugin that declares the action, and the admin REST API
//! under `/api/`.
//!
//! Order of every file request: who is calling (`auth`), may they (`rights`), which
//! workspace and driver, then the driver call on a blocking thread (the ABI is blocking by
//! design). Nothing reaches a plugin before the rights check.

mod actions;
mod api;
pub(crate) mod error;
mod files;
mod params;
mod stream;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, Method};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use plugin_api::foreign::ForeignDriver;
use plugin_api::{CallContext, ErrorKind};

use crate::auth::{Caller, LoginThrottle};
use crate::config::Config;
use crate::registry::{Registry, Unavailable};
use crate::store::{Access, Store};
use crate::workspaces::{Workspace, Workspaces};
use error::ApiError;
use params::Params;

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
        AppState {
            config,
            store,
            registry,
            workspaces,
            login_throttle: LoginThrottle::default(),
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
    Router::new()
        .route("/", get(dispatch).post(dispatch).put(dispatch))
        .route("/index.php", get(dispatch).post(dispatch).put(dispatch))
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .nest("/api", api::router())
        .with_state(state)
}

/// Ready when the store answers; 503 with the reason otherwise.
async fn readyz(State(state): State<Shared>) -> Response {
    use axum::response::IntoResponse;
    match state.store.ping().await {
        Ok(()) => Json(serde_json::json!({"status": "ready"})).into_response(),
        Err(e) => {
            tracing::warn!("not ready: {e}");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "unavailable", "reason": "the store does not answer"})),
            )
                .into_response()
        }
    }
}

/// The largest urlencoded form body accepted for the standard actions.
const FORM_LIMIT: usize = 64 * 1024;

async fn dispatch(
    State(state): State<Shared>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let caller = Caller::resolve(&state, &headers).await?;
    let mut params = Params::parse(query.as_deref().unwrap_or(""));
    let action = params.action().ok_or(ApiError::MissingAction)?.to_owned();

    if let Some(std_action) = files::StdAction::from_name(&action) {
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let body = if is_form && std_action != files::StdAction::Upload {
            let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|e| {
                ApiError::InvalidParam {
                    name: "body",
                    reason: format!("form body unreadable or over {FORM_LIMIT} bytes: {e}"),
                }
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

/// The per-call context handed to plugins.
fn call_context(caller: &Caller, workspace: Option<&str>) -> CallContext {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    CallContext {
        user: caller.name().map(str::to_owned),
        workspace: workspace.map(str::to_owned),
        request_id: format!("r{}", NEXT.fetch_add(1, Ordering::Relaxed)),
        extra: Default::default(),
    }
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

/// Refuses `caller` unless they have `need` on workspace `ws_id`.
pub(crate) async fn check_access(
    state: &AppState,
    caller: &Caller,
    ws_id: &str,
    need: Access,
) -> Result<(), ApiError> {
    let granted = access(state, caller, ws_id).await?;
    if need == Access::ReadWrite && granted != Access::ReadWrite {
        return Err(ApiError::Forbidden(format!(
            "your access to workspace '{ws_id}' is read-only"
        )));
    }
    Ok(())
}

/// Checks that `caller` may `need` on workspace `ws_id`, resolves it to its driver and runs
/// `op` on a blocking thread.
pub(crate) async fn call_driver<T, F>(
    state: &Shared,
    caller: &Caller,
    ws_id: &str,
    need: Access,
    op: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&ForeignDriver, &CallContext) -> plugin_api::Result<T> + Send + 'static,
{
    check_access(state, caller, ws_id, need).await?;
    let ws = state
        .workspace(ws_id)
        .await?
        .ok_or_else(|| ApiError::UnknownWorkspace(ws_id.to_owned()))?;
    let toggles = state.store.plugin_toggles().await?;
    driver_ready(state, &ws, &toggles)?;
    let state = state.clone();
    let ctx = call_context(caller, Some(ws_id));
    tokio::task::spawn_blocking(move || {
        let plugin = state
            .registry
            .plugin(&ws.driver, &toggles)
            .map_err(|u| unavailable(&ws, u))?;
        let config = ws.config().expect("checked by driver_ready");
        let driver = state.workspaces.driver(&ws, config, &plugin)?;
        let result = op(&driver, &ctx);
        if matches!(&result, Err(e) if e.kind == ErrorKind::Panicked) {
            // A driver that panicked may be in a broken state: reopen it on next use.
            state.workspaces.forget(&ws.id);
        }
        result.map_err(ApiError::from)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("driver task failed: {e}")))?
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
