//! Workspaces: list (what the caller may see), create, show, update, delete, verify, and
//! their access grants. Users see a workspace as `admin::workspace_view` shows it to them:
//! without its parameters; they delete only those they made from a template.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{ApiAdmin, ApiCaller, ApiUser, AppJson, AppPath, AppQuery};
use crate::access::{access, check_access, visible_workspaces};
use crate::admin::{self, workspace_view, Creation, Viewer, WorkspaceInput};
use crate::app::error::AppError;
use crate::app::Shared;
use crate::store::Access;

/// Administrators see every workspace; other users those granted to them.
pub(super) async fn list(
    State(state): State<Shared>,
    ApiUser(caller): ApiUser,
) -> Result<Json<Value>, AppError> {
    let user = caller.require_user()?;
    let visible = visible_workspaces(&state, &caller).await?;
    let views: Vec<_> = visible
        .iter()
        .map(|(ws, a)| workspace_view(&state, ws, Viewer::of(user, *a)))
        .collect();
    Ok(Json(json!({ "workspaces": views })))
}

#[derive(Deserialize)]
pub(super) struct CreateQuery {
    #[serde(default)]
    dry_run: bool,
    /// Off (`verify=false`) saves a workspace whose driver check fails.
    #[serde(default = "checked")]
    verify: bool,
}

/// Workspaces are checked by their driver before they are saved unless asked otherwise.
pub(super) fn checked() -> bool {
    true
}

pub(super) async fn create(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
    AppQuery(q): AppQuery<CreateQuery>,
    AppJson(input): AppJson<WorkspaceInput>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let how = Creation {
        dry_run: q.dry_run,
        verify: q.verify,
    };
    let created = admin::create_workspace(&state, input, how).await?;
    let id = &created.record.id;
    let (status, mut body) = match state.workspace(id).await?.filter(|_| !q.dry_run) {
        Some(ws) => (
            StatusCode::CREATED,
            json!(workspace_view(&state, &ws, Viewer::Admin)),
        ),
        None => (
            StatusCode::OK,
            json!({ "id": id, "dry_run": true, "valid": true }),
        ),
    };
    body["verified"] = json!(created.verified);
    Ok((status, Json(body)))
}

pub(super) async fn show(
    State(state): State<Shared>,
    ApiCaller(caller): ApiCaller,
    AppPath(id): AppPath<String>,
) -> Result<Json<Value>, AppError> {
    let granted = access(&state, &caller, &id).await?;
    let user = caller.require_user()?;
    let ws = state
        .workspace(&id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no workspace '{id}'")))?;
    Ok(Json(json!(workspace_view(
        &state,
        &ws,
        Viewer::of(user, granted)
    ))))
}

pub(super) async fn update(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
    AppPath(id): AppPath<String>,
    AppJson(input): AppJson<WorkspaceInput>,
) -> Result<Json<Value>, AppError> {
    admin::update_workspace(&state, &id, input).await?;
    let ws = state
        .workspace(&id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no workspace '{id}'")))?;
    Ok(Json(json!(workspace_view(&state, &ws, Viewer::Admin))))
}

/// An administrator deletes any store workspace; a user one they made from a template.
pub(super) async fn remove(
    State(state): State<Shared>,
    ApiUser(caller): ApiUser,
    AppPath(id): AppPath<String>,
) -> Result<Json<Value>, AppError> {
    admin::delete_as(&state, caller.require_user()?, &id).await?;
    Ok(Json(json!({ "deleted": id })))
}

/// Runs the driver's verify; a driver error is an answer here, not a failure of the request.
pub(super) async fn verify(
    State(state): State<Shared>,
    ApiAdmin(caller): ApiAdmin,
    AppPath(id): AppPath<String>,
) -> Result<Json<Value>, AppError> {
    let granted = check_access(&state, &caller, &id, Access::Read).await?;
    let warnings = admin::workspace_warnings(&state, &id).await?;
    match admin::verify_workspace(&state, &granted).await {
        Ok(message) => Ok(Json(
            json!({ "ok": true, "message": message, "warnings": warnings }),
        )),
        Err(AppError::Plugin(e)) => Ok(Json(json!({
            "ok": false,
            "error": { "code": e.kind.as_str(), "message": e.message, "authorize_url": e.authorize_url },
            "warnings": warnings,
        }))),
        Err(other) => Err(other),
    }
}

pub(super) async fn acl(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
    AppPath(id): AppPath<String>,
) -> Result<Json<Value>, AppError> {
    let grants: Vec<Value> = state
        .store
        .acl(&id)
        .await?
        .into_iter()
        .map(|(user, a)| json!({ "user": user, "access": a.as_str() }))
        .collect();
    Ok(Json(json!({ "workspace": id, "grants": grants })))
}

#[derive(Deserialize)]
pub(super) struct Grant {
    access: String,
}

pub(super) async fn grant(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
    AppPath((id, user)): AppPath<(String, String)>,
    AppJson(body): AppJson<Grant>,
) -> Result<Json<Value>, AppError> {
    let access = admin::grant(&state, &id, &user, &body.access).await?;
    Ok(Json(
        json!({ "workspace": id, "user": user, "access": access.as_str() }),
    ))
}

pub(super) async fn revoke(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
    AppPath((id, user)): AppPath<(String, String)>,
) -> Result<Json<Value>, AppError> {
    admin::revoke(&state, &id, &user).await?;
    Ok(Json(
        json!({ "workspace": id, "user": user, "revoked": true }),
    ))
}
