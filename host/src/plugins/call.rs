//! The one way a plugin is called: on tokio's blocking pool (the ABI is blocking), inside the
//! request's span, within the plugin deadline (for a call that reads a request body, counted
//! from its last read); a driver that panicked is forgotten, every error is counted, and
//! every answer is checked as the untrusted input it is (`answers`) before a door sees it.
//! Loading a plugin goes through here too: on the pool, within the deadline.
//!
//! A door reaches a driver through a [`DriverTarget`], which only `access` makes (from a
//! checked grant), and gets typed, checked answers: [`Listing`], [`Entry`], [`Download`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use plugin_api::foreign::{ForeignDriver, ForeignPlugin};
use plugin_api::{
    ActionRequest, ActionResponse, ByteSource, CallContext, Capabilities, Driver, Entry, ErrorKind,
    PageRequest, PluginError, WriteOptions,
};

use crate::app::error::AppError;
use crate::app::{AppState, Shared};
use crate::plugins::answers::{self, Listing};
use crate::plugins::read::Download;
use crate::plugins::registry::{Registry, Unavailable};
use crate::plugins::stream::{BodyFailure, BodyWatch};
use crate::plugins::workspaces::{Workspace, Workspaces};
use crate::telemetry;

/// A workspace's driver as one checked caller may call it: the workspace and the context
/// (user, rights, request id) every call carries.
pub(crate) struct DriverTarget {
    ws_id: String,
    ctx: CallContext,
    /// A workspace not saved yet (an administrator creating it), whose driver is opened for
    /// each call and never cached, so nothing of it outlives the call.
    unsaved: Option<Workspace>,
}

impl DriverTarget {
    /// One page of folder `dir`, every entry checked (see [`answers::listing`]).
    pub(crate) async fn list(
        &self,
        state: &Shared,
        dir: String,
        page: PageRequest,
    ) -> Result<Listing, AppError> {
        let (dir, page) = self
            .run(state, Lane::Pool, None, move |d, ctx| {
                let page = d.list(ctx, &dir, page)?;
                Ok((dir, page))
            })
            .await?;
        answers::listing(dir, page)
    }

    /// The entry at `path` (on the quick lane, where the driver has one).
    pub(crate) async fn stat(&self, state: &Shared, path: String) -> Result<Entry, AppError> {
        let entry = self
            .run(state, Lane::Quick, None, move |d, ctx| d.stat(ctx, &path))
            .await?;
        answers::entry(entry)
    }

    /// Reads `file`, the part a Range header asks for (see [`crate::plugins::read`]).
    pub(crate) async fn read(
        &self,
        state: &Shared,
        file: String,
        range: Option<String>,
    ) -> Result<Download, AppError> {
        let outcome = self
            .run(state, Lane::Quick, None, move |d, ctx| {
                crate::plugins::read::read(d, ctx, &file, range.as_deref())
            })
            .await?;
        let (entry, content, part) =
            outcome.map_err(|size| AppError::RangeNotSatisfiable { size })?;
        if entry.is_dir {
            return Err(AppError::Plugin(PluginError::conflict(format!(
                "'{}' is a folder, not a file",
                entry.path
            ))));
        }
        let entry = answers::entry(entry)?;
        let content = content.map_err(AppError::PluginBadAnswer)?;
        Ok(Download {
            entry,
            content,
            part,
        })
    }

    /// Writes the body `reader` to `path`; `body` watches it, so the deadline counts from
    /// the driver's last read and a body over its limit is a 413.
    pub(crate) async fn write(
        &self,
        state: &Shared,
        path: String,
        reader: ByteSource,
        options: WriteOptions,
        body: &BodyWatch,
    ) -> Result<Entry, AppError> {
        let entry = self
            .run(state, Lane::Pool, Some(body), move |d, ctx| {
                d.write(ctx, &path, reader, options)
            })
            .await?;
        answers::entry(entry)
    }

    pub(crate) async fn mkdir(&self, state: &Shared, path: String) -> Result<Entry, AppError> {
        let entry = self
            .run(state, Lane::Pool, None, move |d, ctx| d.mkdir(ctx, &path))
            .await?;
        answers::entry(entry)
    }

    pub(crate) async fn delete(&self, state: &Shared, path: String) -> Result<(), AppError> {
        self.run(state, Lane::Pool, None, move |d, ctx| d.delete(ctx, &path))
            .await
    }

    /// Renames (or moves) `from` to `to`.
    pub(crate) async fn rename(
        &self,
        state: &Shared,
        from: String,
        to: String,
    ) -> Result<Entry, AppError> {
        let entry = self
            .run(state, Lane::Pool, None, move |d, ctx| {
                d.rename(ctx, &from, &to)
            })
            .await?;
        answers::entry(entry)
    }

    pub(crate) async fn copy(
        &self,
        state: &Shared,
        from: String,
        to: String,
    ) -> Result<Entry, AppError> {
        let entry = self
            .run(state, Lane::Pool, None, move |d, ctx| {
                d.copy(ctx, &from, &to)
            })
            .await?;
        answers::entry(entry)
    }

    /// What the driver implements (on the quick lane, where the driver has one).
    pub(crate) async fn capabilities(&self, state: &Shared) -> Result<Capabilities, AppError> {
        self.run(state, Lane::Quick, None, |d, _| Ok(d.capabilities()))
            .await
    }

    /// The driver's verify: its sentence, or its error.
    pub(crate) async fn verify(&self, state: &Shared) -> Result<String, AppError> {
        self.run(state, Lane::Pool, None, |d, ctx| d.verify(ctx))
            .await
    }

    /// A plugin action served by the workspace's driver; `body` watches the request body.
    pub(crate) async fn action(
        &self,
        state: &Shared,
        request: ActionRequest,
        body: &BodyWatch,
    ) -> Result<ActionResponse, AppError> {
        self.run(state, Lane::Pool, Some(body), move |d, ctx| {
            d.action(ctx, request)
        })
        .await
    }
}

/// A plugin action served by plugin `plugin` itself (not by a workspace's driver), which
/// [`load`] has loaded; `body` watches the request body.
pub(crate) async fn plugin_action(
    state: &Shared,
    plugin: &str,
    ctx: CallContext,
    request: ActionRequest,
    body: &BodyWatch,
) -> Result<ActionResponse, AppError> {
    telemetry::served_by(plugin);
    let toggles = state.store.plugin_toggles().await?;
    let limit = state.config.limits.plugin_timeout;
    let registry = state.registry.clone();
    let id = plugin.to_owned();
    let span = tracing::Span::current();
    let task = tokio::task::spawn_blocking(move || {
        let _span = span.enter();
        let plugin = registry
            .plugin(&id, &toggles)
            .map_err(|_| AppError::Internal(format!("plugin {id} vanished")))?;
        plugin.action(&ctx, request).map_err(AppError::from)
    });
    await_plugin(task, plugin, limit, Some(body)).await
}

/// Plugin `id`, loading it (dlopen, checks, `Plugin::new`) if it is enabled and not loaded
/// yet: on the blocking pool, never on an async worker, within `limit`. A load past the
/// deadline is answered as a refusal; its thread finishes on its own and a later call sees
/// its outcome.
pub(crate) async fn load(
    registry: &Arc<Registry>,
    id: &str,
    toggles: &BTreeMap<String, bool>,
    limit: Duration,
) -> Result<Arc<ForeignPlugin>, Unavailable> {
    let (registry, id_owned, toggles) = (registry.clone(), id.to_owned(), toggles.clone());
    let span = tracing::Span::current();
    let task = tokio::task::spawn_blocking(move || {
        let _span = span.enter();
        registry.plugin(&id_owned, &toggles)
    });
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(e)) => Err(Unavailable::Refused(format!("loading panicked: {e}"))),
        Err(_) => {
            tracing::error!(plugin = %id, "plugin did not load within {} s", limit.as_secs());
            Err(Unavailable::Refused(format!(
                "it did not load within {} s",
                limit.as_secs()
            )))
        }
    }
}

/// Where a driver call may run.
#[derive(PartialEq)]
enum Lane {
    /// A blocking thread, within the plugin deadline.
    Pool,
    /// The calling async thread, if the driver declares quick calls (else the pool).
    Quick,
}

impl DriverTarget {
    /// Made by `access` only, from a caller's checked access: the context carries the
    /// caller's name and rights on workspace `ws_id`.
    pub(crate) fn new(ws_id: &str, ctx: CallContext) -> DriverTarget {
        DriverTarget {
            ws_id: ws_id.to_owned(),
            ctx,
            unsaved: None,
        }
    }

    /// The same target on `ws`, a workspace not saved yet, instead of the stored one.
    pub(crate) fn unsaved(self, ws: Workspace) -> DriverTarget {
        DriverTarget {
            unsaved: Some(ws),
            ..self
        }
    }

    /// The one driver-call path: resolves the workspace to its open driver (opening it, and
    /// loading its plugin, on first use) and runs `op` on `lane`, within the deadline.
    async fn run<T, F>(
        &self,
        state: &Shared,
        lane: Lane,
        body: Option<&BodyWatch>,
        op: F,
    ) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&ForeignDriver, &CallContext) -> plugin_api::Result<T> + Send + 'static,
    {
        let ws_id = self.ws_id.as_str();
        let ws = match &self.unsaved {
            Some(ws) => ws.clone(),
            None => state
                .workspace(ws_id)
                .await?
                .ok_or_else(|| AppError::UnknownWorkspace(ws_id.to_owned()))?,
        };
        telemetry::served_by(&ws.driver);
        let toggles = state.store.plugin_toggles().await?;
        driver_ready(state, &ws, &toggles)?;
        let ctx = self.ctx.clone();
        let key = Workspaces::key(&ws, ctx.user.as_deref());
        // Only a driver already open has a quick lane: the first call of a workspace (which
        // opens its driver, maybe loading its plugin) takes the pool.
        let unsaved = self.unsaved.is_some();
        if let Some(call) = (lane == Lane::Quick && !unsaved)
            .then(|| state.workspaces.quick_call(&ws, &key))
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
            let config = || {
                let manifest = state.registry.manifest(&ws.driver);
                state
                    .workspaces
                    .config_for(&ws, ctx.user.as_deref(), manifest)
                    .map_err(|reason| not_openable(&ws, reason))
            };
            let driver = if unsaved {
                Arc::new(plugin.open(&config()?)?)
            } else {
                state.workspaces.driver(&ws, &key, &plugin, config)?
            };
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

/// Why `ws`'s driver cannot be opened for this caller (a `{user}` workspace for no user, a
/// keyword that no longer expands to a valid value), as the driver's own refusal would read.
fn not_openable(ws: &Workspace, reason: String) -> plugin_api::PluginError {
    PluginError::conflict(format!(
        "workspace '{}' cannot be opened for this caller: {reason}",
        ws.id
    ))
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
