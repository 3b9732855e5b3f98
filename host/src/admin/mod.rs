//! Administration, shared by the REST API, the UI and the CLI: creating, editing, deleting
//! and verifying workspaces, granting and revoking access to them, and enabling or disabling
//! plugins. Parameters are validated on the server against the driver's manifest; password
//! parameters are write-only. Operations take typed input and answer typed values (`views`:
//! what a viewer learns of a workspace or a plugin), which each door renders; none of them
//! stands for a caller: a door checks its caller first (the CLI is the console's operator).
//! Their log lines name the admin (`admin = …`) from the request they run in
//! (`telemetry::acting_admin`), `console` from the CLI.

use std::collections::{BTreeMap, BTreeSet};

use plugin_api::{ErrorKind, WorkspaceConfig};
use serde::Deserialize;

use crate::access::Granted;
use crate::app::error::AppError;
use crate::app::{AppState, Shared};
use crate::manifest::{FieldError, Manifest, ParamType};
use crate::plugins::call;
use crate::plugins::registry::Record;
use crate::plugins::workspaces::{Source, Workspace};
use crate::store::{Access, WorkspaceRecord};

mod templates;
mod views;

pub(crate) use templates::{
    create_own, create_template, delete_as, delete_template, stored_template, template, templates,
    update_template, user_form, OwnInput, TemplateInput, TemplateView,
};
pub(crate) use views::{
    driver_label, plugin_view, workspace_view, PluginView, Viewer, WorkspaceView,
};

/// What an admin submits to create or edit a workspace.
#[derive(Deserialize, Default, Clone)]
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
    /// The access every signed-in user has without a grant (`"r"`, `"rw"`), if any.
    #[serde(default)]
    pub(crate) all_users: Option<Access>,
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

pub(crate) fn secret_names(m: &Manifest) -> BTreeSet<String> {
    m.params
        .iter()
        .filter(|p| p.kind == ParamType::Password)
        .map(|p| p.name.clone())
        .collect()
}

/// The manifest of an installed, enabled driver: the one check of every door that offers
/// a driver's form or saves a workspace.
pub(crate) async fn enabled_manifest<'s>(
    state: &'s AppState,
    driver: &str,
) -> Result<&'s Manifest, AppError> {
    let m = state
        .registry
        .manifest(driver)
        .ok_or_else(|| AppError::BadRequest(format!("no driver '{driver}' is installed")))?;
    let toggles = state.store.plugin_toggles().await?;
    if !state.registry.is_enabled(driver, &toggles) {
        return Err(AppError::Conflict(format!(
            "the driver '{driver}' is disabled; enable it first (plugins page, or wshost plugins enable {driver})"
        )));
    }
    Ok(m)
}

/// How [`create_workspace`] treats a new workspace.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Creation {
    /// Validate (and verify, if asked) only: nothing is saved.
    pub(crate) dry_run: bool,
    /// Ask the driver to check the new workspace before it is saved, and refuse it when the
    /// check fails: a wrong path or archive is reported at once, not on the first request.
    pub(crate) verify: bool,
}

/// A workspace created (or validated) and what its driver answered to the check.
pub(crate) struct Created {
    pub(crate) record: WorkspaceRecord,
    /// The driver's sentence, when it was verified.
    pub(crate) verified: Option<String>,
}

/// Creates a workspace in the store: validated against its driver's manifest, then (unless
/// `verify` is off) checked by its driver, opened for that one call. A driver that needs
/// each user to authorize first (OAuth) cannot check anything yet: the workspace is saved,
/// and its answer says so.
pub(crate) async fn create_workspace(
    state: &Shared,
    input: WorkspaceInput,
    how: Creation,
) -> Result<Created, AppError> {
    let id = input.id.clone().unwrap_or_else(|| slug(&input.label));
    check_identity(state, &id, &input.label).await?;
    let m = enabled_manifest(state, &input.driver).await?;
    let params = m
        .validate(&input.params, &state.workspaces.scope(None))
        .map_err(AppError::Fields)?;
    let record = WorkspaceRecord {
        id,
        label: input.label.trim().to_owned(),
        description: input.description,
        driver: input.driver,
        params,
        secret_params: secret_names(m),
        all_users: input.all_users,
        ..WorkspaceRecord::default()
    };
    let verified = if how.verify {
        let operator = crate::access::operator(&record.id);
        Some(verify_new(state, &record, record.params.clone(), m, operator).await?)
    } else {
        None
    };
    if !how.dry_run {
        state.store.insert_workspace(&record).await?;
        tracing::info!(admin = %crate::telemetry::acting_admin(), workspace = %record.id, driver = %record.driver, "workspace created");
    }
    Ok(Created { record, verified })
}

/// Refuses an id or label a new workspace or template cannot take.
pub(crate) async fn check_identity(
    state: &AppState,
    id: &str,
    label: &str,
) -> Result<(), AppError> {
    if !crate::config::valid_workspace_id(id) {
        return Err(AppError::Fields(vec![FieldError::new(
            "id",
            "use 1 to 64 letters, digits, '-' or '_'",
        )]));
    }
    if label.trim().is_empty() {
        return Err(AppError::Fields(vec![FieldError::new("label", "required")]));
    }
    if state.workspaces.is_declared(id) {
        return Err(AppError::Conflict(format!(
            "workspace '{id}' is declared in the config file"
        )));
    }
    // Before the driver is asked anything: an id in use is the first thing to hear.
    if state.store.workspace(id).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "workspace '{id}' already exists; choose another id, or edit that one"
        )));
    }
    Ok(())
}

/// The driver's check of a workspace not saved yet, as `granted` would open it: its
/// sentence, or the refusal. A per-user workspace opens for each user on their first use
/// (which checks it then): the console has no folder of its own to check.
pub(crate) async fn verify_new(
    state: &Shared,
    record: &WorkspaceRecord,
    params: BTreeMap<String, String>,
    m: &Manifest,
    granted: Granted,
) -> Result<String, AppError> {
    if m.per_user(&params) {
        return Ok(
            "not checked yet: the workspace opens for each user, with their own \
                   {user}, on their first use"
                .into(),
        );
    }
    let ws = Workspace {
        id: record.id.clone(),
        label: record.label.clone(),
        description: record.description.clone(),
        driver: record.driver.clone(),
        source: Source::Store,
        version: 0,
        setup: Ok(WorkspaceConfig {
            id: record.id.clone(),
            params,
        }),
        per_user: false,
        all_users: None,
        made: None,
    };
    let target = granted.driver().unsaved(ws);
    match target.verify(state).await {
        Ok(sentence) => Ok(sentence),
        Err(AppError::Plugin(e)) if e.kind == ErrorKind::AuthorizationRequired => Ok(format!(
            "not checked yet: each user authorizes the driver on first use ({})",
            e.message
        )),
        Err(AppError::Plugin(e)) if e.kind == ErrorKind::Unsupported => {
            Ok("not checked: the driver has no check".into())
        }
        Err(AppError::Plugin(error)) => Err(AppError::VerificationFailed {
            workspace: record.id.clone(),
            error,
        }),
        Err(other) => Err(other),
    }
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
    if old.template_spec.is_some() {
        return Err(AppError::Conflict(format!(
            "'{id}' is a template; edit it as a template (/api/templates/{id})"
        )));
    }
    if let (Some(template), Some(owner)) = (&old.template, &old.owner) {
        return Err(AppError::Conflict(format!(
            "workspace '{id}' belongs to user '{owner}', who made it from template \
             '{template}'; edit the template, or delete the workspace"
        )));
    }
    if input.driver != old.driver {
        return Err(AppError::BadRequest(format!(
            "a workspace keeps its driver ('{}'); create a new workspace instead",
            old.driver
        )));
    }
    let m = enabled_manifest(state, &input.driver).await?;
    keep_untouched_secrets(m, &mut input.params, &old.params);
    let params = m
        .validate(&input.params, &state.workspaces.scope(None))
        .map_err(AppError::Fields)?;
    let record = WorkspaceRecord {
        label: input.label.trim().to_owned(),
        description: input.description,
        params,
        secret_params: secret_names(m),
        all_users: input.all_users,
        ..old
    };
    state.store.update_workspace(&record).await?;
    state.workspaces.forget(id);
    tracing::info!(admin = %crate::telemetry::acting_admin(), workspace = %id, "workspace updated");
    Ok(record)
}

/// A password param left empty on an edit keeps its stored value: passwords are never
/// shown, so an edit cannot send them back.
fn keep_untouched_secrets(
    m: &Manifest,
    params: &mut BTreeMap<String, String>,
    stored: &BTreeMap<String, String>,
) {
    for name in secret_names(m) {
        let untouched = params.get(&name).is_none_or(|v| v.is_empty());
        if untouched {
            if let Some(v) = stored.get(&name) {
                params.insert(name, v.clone());
            }
        }
    }
}

/// Deletes a store workspace, its grants and its plugin data (a template too, once no
/// workspace is made from it).
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
    tracing::info!(admin = %crate::telemetry::acting_admin(), workspace = %id, "workspace deleted");
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
    tracing::info!(admin = %crate::telemetry::acting_admin(), workspace = %id, user = %user, access = access.as_str(), "access granted");
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
    tracing::info!(admin = %crate::telemetry::acting_admin(), workspace = %id, user = %user, "access revoked");
    Ok(())
}

/// What an administrator should know of workspace `id` beyond its driver's check: its
/// redirect URLs that are not on the public URL (see `Manifest::public_url_drift`).
pub(crate) async fn workspace_warnings(
    state: &AppState,
    id: &str,
) -> Result<Vec<String>, AppError> {
    let Some(ws) = state.workspace(id).await? else {
        return Ok(Vec::new());
    };
    Ok(match (state.registry.manifest(&ws.driver), ws.config()) {
        (Some(m), Some(config)) => {
            m.public_url_drift(&config.params, &state.workspaces.scope(None))
        }
        _ => Vec::new(),
    })
}

/// Runs the driver's verify for a caller whose access was checked (or the console's
/// operator): `Ok` with its sentence, or the driver's error.
pub(crate) async fn verify_workspace(
    state: &Shared,
    granted: &Granted,
) -> Result<String, AppError> {
    granted.driver().verify(state).await
}

/// The live instances on the store that serve another configuration than this one (none
/// before `serve` has recorded this instance's fingerprint, and none outside `serve`).
pub(crate) async fn instance_drift(
    state: &AppState,
) -> Result<Vec<crate::app::instances::Disagreement>, AppError> {
    match state.served.get() {
        Some(served) => Ok(served.disagreements(&state.store).await?),
        None => Ok(Vec::new()),
    }
}

/// The record of plugin `id` (the readable manifest's, for a duplicated id).
pub(crate) fn plugin_record<'s>(state: &'s AppState, id: &str) -> Result<&'s Record, AppError> {
    let records = state.registry.records();
    records
        .iter()
        .find(|r| r.id == id && r.manifest.is_some())
        .or_else(|| records.iter().find(|r| r.id == id))
        .ok_or_else(|| AppError::NotFound(format!("no plugin '{id}'")))
}

/// Enables or disables a plugin for every instance sharing the store; enabling loads it here
/// at once (through the plugin-call layer, within the deadline), so a refusal is reported to
/// the admin who asked. Answers the plugin's record and the toggles now in force.
pub(crate) async fn set_plugin_enabled<'s>(
    state: &'s Shared,
    id: &str,
    enabled: bool,
) -> Result<(&'s Record, BTreeMap<String, bool>), AppError> {
    if state.registry.manifest(id).is_none() {
        return Err(AppError::NotFound(format!("no plugin '{id}'")));
    }
    state.store.set_plugin_toggle(id, enabled).await?;
    let toggles = state.store.plugin_toggles().await?;
    if enabled {
        let limit = state.config.limits.plugin_timeout;
        // A refusal is part of the plugin's record, which the caller shows.
        let _ = call::load(&state.registry, id, &toggles, limit).await;
    } else {
        state.workspaces.forget_plugin(id);
    }
    tracing::info!(admin = %crate::telemetry::acting_admin(), plugin = %id, enabled, "plugin toggled");
    Ok((plugin_record(state, id)?, toggles))
}
