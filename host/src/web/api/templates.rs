//! Templates: administrators publish them (`POST`, `PUT`, `DELETE`); every signed-in user
//! lists them, sees the params they fill in (never the fixed ones), and makes their own
//! workspaces from them (`POST /api/templates/{id}/workspaces`), which they delete with
//! `DELETE /api/workspaces/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{ApiAdmin, ApiUser, AppJson, AppPath, AppQuery};
use crate::admin::{self, workspace_view, OwnInput, TemplateInput, Viewer};
use crate::app::error::AppError;
use crate::app::Shared;
use crate::auth::Caller;

/// Whose view a caller gets: `None` for an administrator (every workspace made from a
/// template, and its fixed params), else the user's name.
fn viewer(caller: &Caller) -> Result<Option<&str>, AppError> {
    let user = caller.require_user()?;
    Ok((!user.admin).then_some(user.name.as_str()))
}

pub(super) async fn list(
    State(state): State<Shared>,
    ApiUser(caller): ApiUser,
) -> Result<Json<Value>, AppError> {
    let templates = admin::templates(&state, viewer(&caller)?).await?;
    Ok(Json(json!({ "templates": templates })))
}

pub(super) async fn show(
    State(state): State<Shared>,
    ApiUser(caller): ApiUser,
    AppPath(id): AppPath<String>,
) -> Result<Json<Value>, AppError> {
    let template = admin::template(&state, &id, viewer(&caller)?).await?;
    Ok(Json(json!(template)))
}

pub(super) async fn create(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
    AppJson(input): AppJson<TemplateInput>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let record = admin::create_template(&state, input).await?;
    let template = admin::template(&state, &record.id, None).await?;
    Ok((StatusCode::CREATED, Json(json!(template))))
}

pub(super) async fn update(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
    AppPath(id): AppPath<String>,
    AppJson(input): AppJson<TemplateInput>,
) -> Result<Json<Value>, AppError> {
    admin::update_template(&state, &id, input).await?;
    Ok(Json(json!(admin::template(&state, &id, None).await?)))
}

pub(super) async fn remove(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
    AppPath(id): AppPath<String>,
) -> Result<Json<Value>, AppError> {
    admin::delete_template(&state, &id).await?;
    Ok(Json(json!({ "deleted": id })))
}

#[derive(Deserialize)]
pub(super) struct OwnQuery {
    /// Off (`verify=false`) saves a workspace whose driver check fails.
    #[serde(default = "super::workspaces::checked")]
    verify: bool,
}

/// Makes the caller's own workspace from template `id`.
pub(super) async fn create_own(
    State(state): State<Shared>,
    ApiUser(caller): ApiUser,
    AppPath(id): AppPath<String>,
    AppQuery(q): AppQuery<OwnQuery>,
    AppJson(input): AppJson<OwnInput>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let user = caller.require_user()?;
    let created = admin::create_own(&state, user, &id, input, q.verify).await?;
    let ws = state
        .workspace(&created.record.id)
        .await?
        .ok_or_else(|| AppError::Internal("a workspace just made is gone".into()))?;
    let viewer = Viewer::of(user, crate::store::Access::ReadWrite);
    let mut body = json!(workspace_view(&state, &ws, viewer));
    body["verified"] = json!(created.verified);
    Ok((StatusCode::CREATED, Json(body)))
}
