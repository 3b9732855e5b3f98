//! The one way a plugin is called: on tokio's blocking pool (the ABI is blocking), inside the
//! request's span, within the plugin deadline; a panic forgets the driver, and every error is
//! counted.

use std::collections::BTreeMap;

use plugin_api::foreign::ForeignDriver;
use plugin_api::{CallContext, ErrorKind, WorkspaceRights};

use crate::access::Granted;
use crate::app::error::AppError;
use crate::app::{AppState, Shared};
use crate::auth::Caller;
use crate::plugins::registry::Unavailable;
use crate::plugins::stream::{BodyFailure, BodyWatch};
use crate::plugins::workspaces::Workspace;
use crate::store::Access;
use crate::telemetry;

/// The per-call context handed to plugins; its request id is the one in the logs and the
/// `x-request-id` response header. `access` is the caller's checked access to `workspace`;
/// the context carries it as the caller's rights (`CallContext::rights`), so that a driver
/// can tell an administrator from a reader (who may not change what other users see).
pub(crate) fn call_context(
    caller: &Caller,
    workspace: Option<&str>,
    access: Option<Access>,
) -> CallContext {
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

/// Resolves the workspace `granted` was checked for to its driver and runs `op` on a
/// blocking thread, within the plugin deadline.
pub(crate) async fn call_driver<T, F>(
    state: &Shared,
    caller: &Caller,
    granted: &Granted,
    op: F,
) -> Result<T, AppError>
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
) -> Result<T, AppError>
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
) -> Result<T, AppError>
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
) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&ForeignDriver, &CallContext) -> plugin_api::Result<T> + Send + 'static,
{
    let ws_id = granted.workspace();
    let ws = state
        .workspace(ws_id)
        .await?
        .ok_or_else(|| AppError::UnknownWorkspace(ws_id.to_owned()))?;
    telemetry::served_by(&ws.driver);
    let toggles = state.store.plugin_toggles().await?;
    driver_ready(state, &ws, &toggles)?;
    let ctx = call_context(caller, Some(ws_id), Some(granted.access()));
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
        (Err(_), Some(BodyFailure::OverLimit)) => Err(AppError::TooLarge {
            what: "request body",
            limit: limits.max_upload,
        }),
        (Err(_), Some(BodyFailure::Stalled)) => Err(AppError::BodyStalled {
            after: limits.body_idle_timeout,
        }),
        (Err(_), Some(BodyFailure::ClientGone)) => Err(AppError::ClientGone),
        (result, _) => result,
    }
}

/// A driver's answer, its error counted; a driver that panicked is forgotten, since it may
/// be in a broken state (it is reopened on next use).
fn driver_answered<T>(
    state: &AppState,
    ws: &Workspace,
    result: plugin_api::Result<T>,
) -> Result<T, AppError> {
    if let Err(e) = &result {
        telemetry::driver_error(&ws.driver, e.kind.as_str());
        if e.kind == ErrorKind::Panicked {
            state.workspaces.forget(&ws.id);
        }
    }
    result.map_err(AppError::from)
}

/// Waits for a plugin call running on a blocking thread. Once `limit` passes without an
/// answer (or, when the call reads a request body, without a read), the request fails with
/// 504; the thread cannot be stopped and finishes on its own, its result dropped.
pub(crate) async fn await_plugin<T>(
    task: tokio::task::JoinHandle<Result<T, AppError>>,
    plugin: &str,
    limit: std::time::Duration,
    body: Option<&BodyWatch>,
) -> Result<T, AppError> {
    tokio::pin!(task);
    loop {
        let wait = body.map_or(limit, |b| limit.saturating_sub(b.idle()));
        match tokio::time::timeout(wait, &mut task).await {
            Ok(joined) => {
                return joined
                    .map_err(|e| AppError::Internal(format!("plugin task failed: {e}")))?
            }
            Err(_) if body.is_some_and(|b| b.idle() < limit) => continue,
            Err(_) => {
                return Err(AppError::PluginTimeout {
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
) -> Result<(), AppError> {
    if state.registry.manifest(&ws.driver).is_some()
        && !state.registry.is_enabled(&ws.driver, toggles)
    {
        state.workspaces.forget_plugin(&ws.driver);
        return Err(AppError::DriverDisabled {
            workspace: ws.id.clone(),
            driver: ws.driver.clone(),
        });
    }
    if let Err(reason) = &ws.setup {
        return Err(AppError::WorkspaceUnavailable {
            workspace: ws.id.clone(),
            reason: format!("its configuration was refused: {reason}"),
        });
    }
    Ok(())
}

fn unavailable(ws: &Workspace, why: Unavailable) -> AppError {
    match why {
        Unavailable::Disabled => AppError::DriverDisabled {
            workspace: ws.id.clone(),
            driver: ws.driver.clone(),
        },
        Unavailable::Unknown => AppError::WorkspaceUnavailable {
            workspace: ws.id.clone(),
            reason: format!("its driver '{}' is not installed", ws.driver),
        },
        Unavailable::Refused(_) => AppError::WorkspaceUnavailable {
            workspace: ws.id.clone(),
            reason: format!("its driver '{}' failed to load", ws.driver),
        },
    }
}
