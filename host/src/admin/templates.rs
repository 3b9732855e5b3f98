//! Templates, as Pydio has them: workspace definitions an administrator publishes, fixing
//! some params and leaving the others to users, each of whom makes their own workspaces from
//! them (their own Dropbox app, their own SFTP server). A template is a store workspace with
//! a [`TemplateSpec`]; nobody opens it. A workspace made from one stores only its user's
//! params, takes the fixed ones from the template at every read (`plugins::workspaces`), and
//! belongs to its user: read-write for them, invisible to other users, listed for
//! administrators, deleted by either.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::app::error::AppError;
use crate::app::{AppState, Shared};
use crate::manifest::{FieldError, Manifest, Param};
use crate::store::{TemplateSpec, User, WorkspaceRecord};

use super::{
    check_identity, driver_label, enabled_manifest, keep_untouched_secrets, secret_names, slug,
    verify_new, Created,
};

/// What an administrator submits to create or edit a template.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct TemplateInput {
    /// Derived from the label when absent (create only).
    pub(crate) id: Option<String>,
    pub(crate) label: String,
    #[serde(default)]
    pub(crate) description: String,
    pub(crate) driver: String,
    /// The fixed params (and defaults of the users' params).
    #[serde(default)]
    pub(crate) params: BTreeMap<String, String>,
    /// The names of the params each user fills in.
    #[serde(default)]
    pub(crate) user_params: BTreeSet<String>,
    /// How many workspaces one user may make from it; none: no limit.
    #[serde(default)]
    pub(crate) max_per_user: Option<u32>,
}

/// What a user submits to make their own workspace from a template.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct OwnInput {
    /// Derived from the user's name and the label when absent.
    pub(crate) id: Option<String>,
    pub(crate) label: String,
    #[serde(default)]
    pub(crate) description: String,
    /// Values of the template's user params only.
    #[serde(default)]
    pub(crate) params: BTreeMap<String, String>,
}

/// A template as one viewer sees it.
#[derive(Debug, Serialize)]
pub(crate) struct TemplateView<'a> {
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) description: String,
    pub(crate) driver: String,
    pub(crate) driver_label: String,
    /// The params a user fills in, as the driver's manifest declares them.
    pub(crate) user_params: Vec<&'a Param>,
    pub(crate) max_per_user: Option<u32>,
    /// The workspaces made from it: the viewer's own, or every one for an administrator.
    pub(crate) workspaces: Vec<String>,
    /// The fixed params (password values left out) and the passwords set: administrators
    /// only, since a template's fixed params are exactly what its users are not shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fixed: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) secrets_set: Option<Vec<String>>,
}

/// The template `rec` as `viewer` sees it (`None`: an administrator). `made` is every
/// workspace of the store, to find those made from it.
fn view<'a>(
    state: &'a AppState,
    rec: WorkspaceRecord,
    viewer: Option<&str>,
    made: &[WorkspaceRecord],
) -> TemplateView<'a> {
    let spec = rec.template_spec.clone().unwrap_or_default();
    let m = state.registry.manifest(&rec.driver);
    let user_params = m.map_or(Vec::new(), |m| {
        let user_params = m
            .params
            .iter()
            .filter(|p| spec.user_params.contains(&p.name));
        user_params.collect()
    });
    let workspaces = made
        .iter()
        .filter(|w| w.template.as_deref() == Some(rec.id.as_str()))
        .filter(|w| viewer.is_none_or(|v| w.owner.as_deref() == Some(v)))
        .map(|w| w.id.clone())
        .collect();
    let (fixed, secrets_set) = match viewer {
        Some(_) => (None, None),
        None => {
            let secrets = m.map(secret_names).unwrap_or_default();
            let (set, shown): (BTreeMap<_, _>, BTreeMap<_, _>) = rec
                .params
                .into_iter()
                .partition(|(k, _)| secrets.contains(k));
            (Some(shown), Some(set.into_keys().collect()))
        }
    };
    TemplateView {
        driver_label: driver_label(state, &rec.driver).to_owned(),
        id: rec.id,
        label: rec.label,
        description: rec.description,
        driver: rec.driver,
        user_params,
        max_per_user: spec.max_per_user,
        workspaces,
        fixed,
        secrets_set,
    }
}

/// Every template, as `viewer` sees it (`None`: an administrator).
pub(crate) async fn templates<'a>(
    state: &'a AppState,
    viewer: Option<&str>,
) -> Result<Vec<TemplateView<'a>>, AppError> {
    let all = state.store.workspaces().await?;
    let templates = all.iter().filter(|w| w.template_spec.is_some()).cloned();
    Ok(templates.map(|t| view(state, t, viewer, &all)).collect())
}

/// Template `id`, as `viewer` sees it.
pub(crate) async fn template<'a>(
    state: &'a AppState,
    id: &str,
    viewer: Option<&str>,
) -> Result<TemplateView<'a>, AppError> {
    let rec = stored_template(state, id).await?;
    let made = state.store.made_from(id, viewer).await?;
    Ok(view(state, rec, viewer, &made))
}

/// The stored template `id`, or 404.
pub(crate) async fn stored_template(
    state: &AppState,
    id: &str,
) -> Result<WorkspaceRecord, AppError> {
    state
        .store
        .workspace(id)
        .await?
        .filter(|w| w.template_spec.is_some())
        .ok_or_else(|| AppError::NotFound(format!("no template '{id}'")))
}

/// The manifest a user's form is generated from: `m` with only the template's user params.
pub(crate) fn user_form(m: &Manifest, spec: &TemplateSpec) -> Manifest {
    let mut form = m.clone();
    form.params.retain(|p| spec.user_params.contains(&p.name));
    form
}

/// The template's fixed params validated, and its spec: every user param must be the
/// driver's, and only user params may be left without a required value.
fn checked_template(
    state: &AppState,
    m: &Manifest,
    input: &TemplateInput,
) -> Result<(BTreeMap<String, String>, TemplateSpec), AppError> {
    let mut errors = Vec::new();
    let mut user_params = BTreeSet::new();
    for name in &input.user_params {
        match m.param(name) {
            Some(p) => {
                user_params.insert(p.name.clone());
            }
            None => errors.push(FieldError::new(
                "user_params",
                format!("{name} is not a parameter of {}", m.id),
            )),
        }
    }
    if input.max_per_user == Some(0) {
        errors.push(FieldError::new(
            "max_per_user",
            "expected at least 1 (leave it out for no limit)",
        ));
    }
    // A value the users fill in may be missing from the template: validated as if optional.
    let mut lenient = m.clone();
    for p in lenient
        .params
        .iter_mut()
        .filter(|p| user_params.contains(&p.name))
    {
        p.mandatory = false;
    }
    let params = lenient
        .validate(&input.params, &state.workspaces.scope(None))
        .unwrap_or_else(|found| {
            errors.extend(found);
            BTreeMap::new()
        });
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    let spec = TemplateSpec {
        user_params,
        max_per_user: input.max_per_user,
    };
    Ok((params, spec))
}

/// Creates a template: nothing is opened, since its users have yet to fill in their part.
pub(crate) async fn create_template(
    state: &Shared,
    input: TemplateInput,
) -> Result<WorkspaceRecord, AppError> {
    let id = input.id.clone().unwrap_or_else(|| slug(&input.label));
    check_identity(state, &id, &input.label).await?;
    let m = enabled_manifest(state, &input.driver).await?;
    let (params, spec) = checked_template(state, m, &input)?;
    let record = WorkspaceRecord {
        id,
        label: input.label.trim().to_owned(),
        description: input.description,
        driver: input.driver,
        params,
        secret_params: secret_names(m),
        template_spec: Some(spec),
        ..WorkspaceRecord::default()
    };
    state.store.insert_workspace(&record).await?;
    tracing::info!(admin = %crate::telemetry::acting_admin(), template = %record.id, driver = %record.driver, "template created");
    Ok(record)
}

/// Replaces a template's label, description, fixed params and spec; the workspaces made
/// from it follow at once (their drivers reopen). A password left empty keeps its value.
pub(crate) async fn update_template(
    state: &AppState,
    id: &str,
    mut input: TemplateInput,
) -> Result<WorkspaceRecord, AppError> {
    let old = stored_template(state, id).await?;
    if input.driver != old.driver {
        return Err(AppError::BadRequest(format!(
            "a template keeps its driver ('{}'); create a new template instead",
            old.driver
        )));
    }
    let m = enabled_manifest(state, &input.driver).await?;
    keep_untouched_secrets(m, &mut input.params, &old.params);
    let (params, spec) = checked_template(state, m, &input)?;
    let record = WorkspaceRecord {
        label: input.label.trim().to_owned(),
        description: input.description,
        params,
        secret_params: secret_names(m),
        template_spec: Some(spec),
        ..old
    };
    state.store.update_workspace(&record).await?;
    for made in state.store.made_from(id, None).await? {
        state.workspaces.forget(&made.id);
    }
    tracing::info!(admin = %crate::telemetry::acting_admin(), template = %id, "template updated");
    Ok(record)
}

/// Deletes template `id` (404 for anything else), refused while workspaces are made from it.
pub(crate) async fn delete_template(state: &AppState, id: &str) -> Result<(), AppError> {
    stored_template(state, id).await?;
    super::delete_workspace(state, id).await
}

/// Makes `user`'s own workspace from template `template_id`: the user's params validated
/// with the template's fixed ones, checked by the driver (unless `verify` is off), and
/// saved as theirs, within the template's limit per user.
pub(crate) async fn create_own(
    state: &Shared,
    user: &User,
    template_id: &str,
    input: OwnInput,
    verify: bool,
) -> Result<Created, AppError> {
    let template = stored_template(state, template_id).await?;
    let spec = template.template_spec.clone().unwrap_or_default();
    let m = enabled_manifest(state, &template.driver).await?;
    let fixed: Vec<FieldError> = input
        .params
        .keys()
        .filter(|k| {
            m.param(k)
                .is_some_and(|p| !spec.user_params.contains(&p.name))
        })
        .map(|k| FieldError::new(k, format!("set by the template '{template_id}'")))
        .collect();
    if !fixed.is_empty() {
        return Err(AppError::Fields(fixed));
    }
    let id = input
        .id
        .clone()
        .unwrap_or_else(|| slug(&format!("{}-{}", user.name, input.label)));
    check_identity(state, &id, &input.label).await?;
    let mut merged = template.params.clone();
    merged.extend(input.params);
    let merged = m
        .validate(&merged, &state.workspaces.scope(None))
        .map_err(AppError::Fields)?;
    let mut own = merged.clone();
    own.retain(|name, _| spec.user_params.contains(name));
    let record = WorkspaceRecord {
        id,
        label: input.label.trim().to_owned(),
        description: input.description,
        driver: template.driver.clone(),
        params: own,
        secret_params: secret_names(m),
        template: Some(template.id.clone()),
        owner: Some(user.name.clone()),
        ..WorkspaceRecord::default()
    };
    let verified = if verify {
        let operator = crate::access::operator(&record.id);
        Some(verify_new(state, &record, merged, m, operator).await?)
    } else {
        None
    };
    state
        .store
        .insert_owned_workspace(&record, spec.max_per_user)
        .await?;
    tracing::info!(workspace = %record.id, template = %template_id, owner = %user.name, "workspace made from a template");
    Ok(Created { record, verified })
}

/// Deletes workspace `id` for `user`: an administrator any store workspace, another user
/// only one they made from a template.
pub(crate) async fn delete_as(state: &AppState, user: &User, id: &str) -> Result<(), AppError> {
    if user.admin {
        return super::delete_workspace(state, id).await;
    }
    let owned = state
        .workspace(id)
        .await?
        .is_some_and(|ws| ws.made.as_ref().is_some_and(|m| m.owner == user.name));
    if !owned {
        return Err(AppError::Forbidden(format!(
            "you may delete only the workspaces you made from a template; '{id}' is not one"
        )));
    }
    super::delete_workspace(state, id).await
}
