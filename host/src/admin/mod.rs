//! Administration, shared by the REST API, the UI and the CLI: creating, editing, deleting
//! and verifying workspaces, granting and revoking access to them, and enabling or disabling
//! plugins. Parameters are validated on the
//! server against the driver's manifest; password parameters are write-only.

use std::collections::{BTreeMap, BTreeSet};

use plugin_api::Driver;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::check_access;
use crate::app::error::AppError;
use crate::app::{AppState, Shared};
use crate::auth::Caller;
use crate::manifest::{Manifest, ParamType};
use crate::plugins::call::call_driver;
use crate::plugins::registry::{LoadState, Record};
use crate::plugins::workspaces::{Source, Workspace};
use crate::store::{Access, User, WorkspaceRecord};

/// What an admin submits to create or edit a workspace.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkspaceInput {
    /// Derived from the label when absent (create only).
    pub(crate) id: Option<String>,
    pub(crate) label: String,
    #[serde(default)]
    pub(crate) description: String,
    pub(crate) driver: String,
    #[serde(default)]
    pub(crate) params: BTreeMap<String, String>,
}

impl std::fmt::Debug for WorkspaceInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkspaceInput")
            .field("id", &self.id)
            .field("driver", &self.driver)
            .field("params", &self.params.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The shortest password accepted.
pub(crate) const MIN_PASSWORD: usize = 8;

/// Refuses passwords shorter than [`MIN_PASSWORD`] characters.
pub(crate) fn check_password_strength(password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(AppError::BadRequest(format!(
            "a password needs at least {MIN_PASSWORD} characters"
        )));
    }
    Ok(())
}

/// A workspace id: letters, digits, `-` and `_`, at most 64.
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn slug(label: &str) -> String {
    let s: String = label
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

fn secret_names(m: &Manifest) -> BTreeSet<String> {
    m.params
        .iter()
        .filter(|p| p.kind == ParamType::Password)
        .map(|p| p.name.clone())
        .collect()
}

/// The manifest of an existing, enabled driver.
async fn enabled_manifest<'s>(state: &'s AppState, driver: &str) -> Result<&'s Manifest, AppError> {
    let m = state
        .registry
        .manifest(driver)
        .ok_or_else(|| AppError::BadRequest(format!("no driver '{driver}' is installed")))?;
    let toggles = state.store.plugin_toggles().await?;
    if !state.registry.is_enabled(driver, &toggles) {
        return Err(AppError::Conflict(format!(
            "the driver '{driver}' is disabled"
        )));
    }
    Ok(m)
}

/// Creates a workspace in the store (or only validates it, with `dry_run`).
pub(crate) async fn create_workspace(
    state: &AppState,
    input: WorkspaceInput,
    dry_run: bool,
) -> Result<WorkspaceRecord, AppError> {
    let id = input.id.clone().unwrap_or_else(|| slug(&input.label));
    if !valid_id(&id) {
        return Err(AppError::Fields(vec![crate::manifest::FieldError::new(
            "id",
            "use 1 to 64 letters, digits, '-' or '_'",
        )]));
    }
    if input.label.trim().is_empty() {
        return Err(AppError::Fields(vec![crate::manifest::FieldError::new(
            "label", "required",
        )]));
    }
    if state.workspaces.is_declared(&id) {
        return Err(AppError::Conflict(format!(
            "workspace '{id}' is declared in the config file"
        )));
    }
    let m = enabled_manifest(state, &input.driver).await?;
    let params = m
        .validate(&input.params, &state.config.public_url)
        .map_err(AppError::Fields)?;
    let record = WorkspaceRecord {
        id,
        label: input.label.trim().to_owned(),
        description: input.description,
        driver: input.driver,
        params,
        secret_params: secret_names(m),
        version: 0,
        created_at: 0,
        updated_at: 0,
    };
    if !dry_run {
        state.store.insert_workspace(&record).await?;
        tracing::info!(workspace = %record.id, driver = %record.driver, "workspace created");
    }
    Ok(record)
}

/// Replaces a workspace's label, description and params. A password param left empty keeps
/// its stored value.
pub(crate) async fn update_workspace(
    state: &AppState,
    id: &str,
    mut input: WorkspaceInput,
) -> Result<WorkspaceRecord, AppError> {
    if state.workspaces.is_declared(id) {
        return Err(AppError::Conflict(format!(
            "workspace '{id}' is declared in the config file and read-only here"
        )));
    }
    let old = state
        .store
        .workspace(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no workspace '{id}'")))?;
    if input.driver != old.driver {
        return Err(AppError::BadRequest(format!(
            "a workspace keeps its driver ('{}'); create a new workspace instead",
            old.driver
        )));
    }
    let m = enabled_manifest(state, &input.driver).await?;
    for name in secret_names(m) {
        let untouched = input.params.get(&name).is_none_or(|v| v.is_empty());
        if untouched {
            if let Some(v) = old.params.get(&name) {
                input.params.insert(name, v.clone());
            }
        }
    }
    let params = m
        .validate(&input.params, &state.config.public_url)
        .map_err(AppError::Fields)?;
    let record = WorkspaceRecord {
        label: input.label.trim().to_owned(),
        description: input.description,
        params,
        secret_params: secret_names(m),
        ..old
    };
    state.store.update_workspace(&record).await?;
    state.workspaces.forget(id);
    Ok(record)
}

/// Deletes a store workspace, its grants and its plugin data.
pub(crate) async fn delete_workspace(state: &AppState, id: &str) -> Result<(), AppError> {
    if state.workspaces.is_declared(id) {
        return Err(AppError::Conflict(format!(
            "workspace '{id}' is declared in the config file; remove it there"
        )));
    }
    if !state.store.delete_workspace(id).await? {
        return Err(AppError::NotFound(format!("no workspace '{id}'")));
    }
    state.workspaces.forget(id);
    tracing::info!(workspace = %id, "workspace deleted");
    Ok(())
}

/// Gives `user` `access` (`r` or `rw`) on workspace `id`, replacing an earlier grant: the
/// one grant operation of the REST API, the UI and the CLI. Both must exist: a grant stored
/// for an id no workspace has yet would hand its rights to whichever workspace takes the id.
pub(crate) async fn grant(
    state: &AppState,
    id: &str,
    user: &str,
    access: &str,
) -> Result<Access, AppError> {
    let access: Access = access.parse().map_err(|_| {
        AppError::BadRequest(format!(
            "access must be 'r' (read-only) or 'rw' (read-write), not '{access}'"
        ))
    })?;
    if user.is_empty() {
        return Err(AppError::BadRequest(
            "choose a user to grant access to".into(),
        ));
    }
    if state.workspace(id).await?.is_none() {
        return Err(AppError::NotFound(format!("no workspace '{id}'")));
    }
    // The store refuses an unknown user in the same statement that inserts the grant.
    state.store.grant(id, user, access).await?;
    tracing::info!(workspace = %id, user = %user, access = access.as_str(), "access granted");
    Ok(access)
}

/// Removes `user`'s grant on workspace `id`: the one revoke operation of every door. A grant
/// left on an id without a workspace can be removed too, so the workspace need not exist.
pub(crate) async fn revoke(state: &AppState, id: &str, user: &str) -> Result<(), AppError> {
    if !state.store.revoke(id, user).await? {
        return Err(AppError::NotFound(format!(
            "user '{user}' has no grant on '{id}'"
        )));
    }
    tracing::info!(workspace = %id, user = %user, "access revoked");
    Ok(())
}

/// Runs the driver's verify: `Ok` with its sentence, or the driver's error.
pub(crate) async fn verify_workspace(
    state: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<String, AppError> {
    let granted = check_access(state, caller, id, Access::Read).await?;
    call_driver(state, caller, &granted, |d, ctx| d.verify(ctx)).await
}

/// Who a workspace's JSON is shown to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Viewer {
    /// An administrator (REST API or CLI): the definition too, secret values aside.
    Admin,
    /// A user with a grant: what the workspace is and their own access, never its
    /// parameters (host paths, provider endpoints and app ids are the administrator's).
    User(Access),
}

impl Viewer {
    /// How `user`, holding `access` on a workspace, sees it.
    pub(crate) fn of(user: &User, access: Access) -> Viewer {
        if user.admin {
            Viewer::Admin
        } else {
            Viewer::User(access)
        }
    }
}

/// The label of driver `id`'s manifest, or the id when it has none.
pub(crate) fn driver_label<'a>(state: &'a AppState, id: &'a str) -> &'a str {
    state.registry.manifest(id).map_or(id, |m| m.label.as_str())
}

/// The JSON of a workspace as `viewer` may see it: the one place that decides what a caller
/// learns of a workspace. Password values are never included, only whether they are set.
pub(crate) fn workspace_json(state: &AppState, ws: &Workspace, viewer: Viewer) -> Value {
    let identity = |access: Access| {
        json!({
            "id": ws.id,
            "label": ws.label,
            "description": ws.description,
            "driver": ws.driver,
            "driver_label": driver_label(state, &ws.driver),
            "access": access.as_str(),
        })
    };
    if let Viewer::User(access) = viewer {
        return identity(access);
    }
    let secrets = state
        .registry
        .manifest(&ws.driver)
        .map(secret_names)
        .unwrap_or_default();
    let (params, secrets_set, error) = match &ws.setup {
        Ok(cfg) => {
            let shown: BTreeMap<&String, &String> = cfg
                .params
                .iter()
                .filter(|(k, _)| !secrets.contains(*k))
                .collect();
            let set: Vec<&String> = cfg.params.keys().filter(|k| secrets.contains(*k)).collect();
            (json!(shown), json!(set), Value::Null)
        }
        Err(reason) => (json!({}), json!([]), json!(reason)),
    };
    let mut v = identity(Access::ReadWrite);
    v["source"] = json!(ws.source);
    v["read_only"] = json!(ws.source == Source::Config);
    v["params"] = params;
    v["secrets_set"] = secrets_set;
    v["error"] = error;
    v
}

/// The JSON of a plugin: manifest, enabled state, load status.
pub(crate) fn plugin_json(state: &AppState, r: &Record, toggles: &BTreeMap<String, bool>) -> Value {
    let (status, version, reason) = match r.state() {
        LoadState::Loaded { version, .. } => ("loaded", Some(version), None),
        LoadState::Refused(reason) => ("refused", None, Some(reason)),
        LoadState::Idle => ("not_loaded", None, None),
    };
    json!({
        "id": r.id,
        "enabled": state.registry.is_enabled(&r.id, toggles),
        "status": status,
        "version": version,
        "reason": reason,
        "library": r.library_path,
        "manifest_file": r.manifest_path,
        "manifest": r.manifest,
    })
}

/// Enables or disables a plugin for every instance sharing the store; enabling loads it here
/// at once, so a refusal is reported to the admin who asked.
pub(crate) async fn set_plugin_enabled(
    state: &Shared,
    id: &str,
    enabled: bool,
) -> Result<Value, AppError> {
    if state.registry.manifest(id).is_none() {
        return Err(AppError::NotFound(format!("no plugin '{id}'")));
    }
    state.store.set_plugin_toggle(id, enabled).await?;
    let toggles = state.store.plugin_toggles().await?;
    if enabled {
        let registry = state.registry.clone();
        let (id2, t2) = (id.to_owned(), toggles.clone());
        let _ = tokio::task::spawn_blocking(move || registry.plugin(&id2, &t2)).await;
    } else {
        state.workspaces.forget_plugin(id);
    }
    tracing::info!(plugin = %id, enabled, "plugin toggled");
    let record = state
        .registry
        .records()
        .iter()
        .find(|r| r.id == id && r.manifest.is_some())
        .expect("manifest checked above");
    Ok(plugin_json(state, record, &toggles))
}
