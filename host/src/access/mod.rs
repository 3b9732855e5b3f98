//! Who may do what: the access a caller has to a workspace, checked before anything else of
//! a request runs; [`Granted`], the proof of that check, which is the only way to a
//! workspace's driver; and the workspaces a user sees.
//!
//! `Granted`'s fields are private to this module and only [`check_access`] and
//! [`operator`] make one, so no door can forge one; `host/tests/layers.rs` checks that no
//! other module makes a [`DriverTarget`] either.

use std::collections::BTreeMap;

use plugin_api::{CallContext, WorkspaceRights};

use crate::app::error::AppError;
use crate::app::AppState;
use crate::auth::Caller;
use crate::plugins::call::DriverTarget;
use crate::plugins::workspaces::Workspace;
use crate::store::Access;
use crate::telemetry;

/// Proof that a caller's access to a workspace was checked, made once per request: the
/// only way to the workspace's driver ([`Granted::driver`]).
pub(crate) struct Granted {
    ws_id: String,
    access: Access,
    ctx: CallContext,
}

impl Granted {
    /// The access the caller has (at least what was asked).
    pub(crate) fn access(&self) -> Access {
        self.access
    }

    /// The workspace's driver, called with the caller's name and rights.
    pub(crate) fn driver(&self) -> DriverTarget {
        DriverTarget::new(&self.ws_id, self.ctx.clone())
    }
}

/// The access `caller` has to workspace `ws_id`: administrators have read-write on every
/// workspace; other users the most of what the workspace's ACL grants them and what the
/// workspace gives every user ([`implicit`]). 401 for anonymous callers, 403 without either
/// (whether or not the workspace exists, so ids cannot be probed).
pub(crate) async fn access(
    state: &AppState,
    caller: &Caller,
    ws_id: &str,
) -> Result<Access, AppError> {
    let user = caller.require_user()?;
    if user.admin {
        return Ok(Access::ReadWrite);
    }
    user_access(state, ws_id, &user.name)
        .await?
        .ok_or_else(|| AppError::Forbidden(format!("you have no access to workspace '{ws_id}'")))
}

/// What user `name` (not an administrator) may do on workspace `ws_id`, if anything.
async fn user_access(
    state: &AppState,
    ws_id: &str,
    name: &str,
) -> Result<Option<Access>, AppError> {
    let grant = state.store.access(ws_id, name).await?;
    if grant == Some(Access::ReadWrite) {
        return Ok(grant);
    }
    let ws = state.workspace(ws_id).await?;
    Ok(grant.max(ws.and_then(|ws| implicit(&ws, name))))
}

/// The access a workspace itself gives user `name`, without a grant: read-write to the user
/// who made it from a template, and what it gives every signed-in user (`all_users`, as
/// "My files" does).
pub(crate) fn implicit(ws: &Workspace, name: &str) -> Option<Access> {
    let owner = ws.made.as_ref().is_some_and(|m| m.owner == name);
    let own = owner.then_some(Access::ReadWrite);
    ws.all_users.max(own)
}

/// Refuses `caller` unless they have `need` on workspace `ws_id`.
pub(crate) async fn check_access(
    state: &AppState,
    caller: &Caller,
    ws_id: &str,
    need: Access,
) -> Result<Granted, AppError> {
    let granted = access(state, caller, ws_id).await?;
    if need == Access::ReadWrite && granted != Access::ReadWrite {
        return Err(AppError::Forbidden(format!(
            "your access to workspace '{ws_id}' is read-only"
        )));
    }
    Ok(Granted {
        ws_id: ws_id.to_owned(),
        access: granted,
        ctx: call_context(caller, Some(ws_id), Some(granted)),
    })
}

/// The operator at the console (the CLI): an administrator of every workspace, with no user
/// name, since no user is logged in.
pub(crate) fn operator(ws_id: &str) -> Granted {
    let ctx = CallContext {
        user: None,
        workspace: Some(ws_id.to_owned()),
        request_id: telemetry::request_id(),
        extra: Default::default(),
    };
    Granted {
        ws_id: ws_id.to_owned(),
        access: Access::ReadWrite,
        ctx: ctx.with_rights(WorkspaceRights::Admin),
    }
}

/// The context of a plugin action that the plugin serves itself: the caller's rights on the
/// workspace named, if any, as a driver would get them (an administrator's on every
/// workspace). No access is required here; the manifest's `rights` were checked before.
pub(crate) async fn plugin_context(
    state: &AppState,
    caller: &Caller,
    ws_id: Option<&str>,
) -> Result<CallContext, AppError> {
    let access = match (ws_id, &caller.user) {
        (Some(ws), Some(user)) if !user.admin => user_access(state, ws, &user.name).await?,
        _ => None,
    };
    Ok(call_context(caller, ws_id, access))
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

/// The workspaces `caller` sees, each with their access: an administrator every workspace
/// (read-write), another user those granted to them or given to every user. The one statement of the rule, for the
/// REST API and the UI alike.
pub(crate) async fn visible_workspaces(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<(Workspace, Access)>, AppError> {
    let user = caller.require_user()?;
    let all = state.all_workspaces().await?;
    if user.admin {
        return Ok(all.into_iter().map(|ws| (ws, Access::ReadWrite)).collect());
    }
    let grants: BTreeMap<String, Access> = state
        .store
        .user_workspaces(&user.name)
        .await?
        .into_iter()
        .collect();
    Ok(all
        .into_iter()
        .filter_map(|ws| {
            let access = grants.get(&ws.id).copied().max(implicit(&ws, &user.name))?;
            Some((ws, access))
        })
        .collect())
}
