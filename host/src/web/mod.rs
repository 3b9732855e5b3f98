//! The HTTP layer: `GET|POST /?get_action=…` (also under `/index.php`), dispatched to the
//! standard file actions or to the plugin that declares the action.
//!
//! Every driver call runs on a blocking thread (the plugin ABI is blocking by design) through
//! [`call_driver`], which also resolves the workspace and its driver's state first.

mod actions;
pub(crate) mod error;
mod files;
mod params;
mod stream;

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

use crate::config::Config;
use crate::registry::{Registry, Status};
use crate::workspaces::Workspaces;
use error::ApiError;
use params::Params;

/// Everything a request handler needs; shared by all requests.
pub(crate) struct AppState {
    pub(crate) config: Config,
    pub(crate) registry: Registry,
    pub(crate) workspaces: Arc<Workspaces>,
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
        .with_state(state)
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
        return files::handle(state, std_action, method, params, headers, body).await;
    }
    if let Some(route) = state.registry.action(&action).cloned() {
        return actions::handle(state, route, method, params, headers, body).await;
    }
    if let Some(plugin) = state.registry.unavailable_action(&action) {
        return Err(ApiError::PluginDisabled {
            action,
            plugin: plugin.to_owned(),
        });
    }
    Err(ApiError::UnknownAction(action))
}

/// The per-call context handed to plugins.
fn call_context(workspace: Option<&str>) -> CallContext {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    CallContext {
        // No authentication yet: every request acts as the local operator.
        user: None,
        workspace: workspace.map(str::to_owned),
        request_id: format!("r{}", NEXT.fetch_add(1, Ordering::Relaxed)),
        extra: Default::default(),
    }
}

/// Resolves workspace `ws_id` to its driver and runs `op` on it on a blocking thread.
async fn call_driver<T, F>(state: &Shared, ws_id: &str, op: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&ForeignDriver, &CallContext) -> plugin_api::Result<T> + Send + 'static,
{
    let ws = state
        .workspaces
        .get(ws_id)
        .ok_or_else(|| ApiError::UnknownWorkspace(ws_id.to_owned()))?;
    let unavailable = |reason: String| ApiError::WorkspaceUnavailable {
        workspace: ws_id.to_owned(),
        reason,
    };
    match state.registry.get(&ws.driver).map(|r| &r.status) {
        None => {
            return Err(unavailable(format!(
                "its driver '{}' is not installed",
                ws.driver
            )))
        }
        Some(Status::Disabled) => {
            return Err(ApiError::DriverDisabled {
                workspace: ws_id.to_owned(),
                driver: ws.driver.clone(),
            })
        }
        Some(Status::Refused(_)) => {
            return Err(unavailable(format!(
                "its driver '{}' failed to load",
                ws.driver
            )))
        }
        Some(Status::Loaded(_)) => {}
    }
    if let Err(reason) = &ws.setup {
        return Err(unavailable(format!(
            "its configuration was refused: {reason}"
        )));
    }
    let state = state.clone();
    let ws_id = ws_id.to_owned();
    tokio::task::spawn_blocking(move || {
        let ws = state.workspaces.get(&ws_id).expect("checked above");
        let plugin = state
            .registry
            .get(&ws.driver)
            .and_then(|r| r.plugin())
            .expect("checked above");
        let config = ws.config().expect("checked above");
        let driver = state.workspaces.driver(ws, config, plugin)?;
        let ctx = call_context(Some(&ws_id));
        let result = op(&driver, &ctx);
        if matches!(&result, Err(e) if e.kind == ErrorKind::Panicked) {
            // A driver that panicked may be in a broken state: reopen it on next use.
            state.workspaces.forget(&ws_id);
        }
        result
    })
    .await
    .map_err(|e| ApiError::Internal(format!("driver task failed: {e}")))?
    .map_err(ApiError::from)
}
