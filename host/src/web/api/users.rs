//! Users and API tokens.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{ApiAdmin, ApiUser, AppJson, AppPath};
use crate::admin::check_password_strength;
use crate::app::error::AppError;
use crate::app::Shared;

#[derive(Deserialize)]
pub(super) struct NewUser {
    name: String,
    password: String,
    #[serde(default)]
    admin: bool,
}

pub(super) async fn list(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "users": state.store.users().await? })))
}

pub(super) async fn show(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
    AppPath(name): AppPath<String>,
) -> Result<Json<Value>, AppError> {
    let user = state
        .store
        .user(&name)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no user '{name}'")))?;
    let grants = state.store.user_workspaces(&name).await?;
    let grants: Vec<Value> = grants
        .into_iter()
        .map(|(ws, a)| json!({ "workspace": ws, "access": a.as_str() }))
        .collect();
    Ok(Json(json!({ "user": user, "grants": grants })))
}

pub(super) async fn create(
    State(state): State<Shared>,
    ApiAdmin(caller): ApiAdmin,
    AppJson(new): AppJson<NewUser>,
) -> Result<(axum::http::StatusCode, Json<Value>), AppError> {
    check_password_strength(&new.password)?;
    let user = state
        .store
        .create_user(&new.name, &new.password, new.admin)
        .await?;
    tracing::info!(user = %user.name, admin = user.admin, by = ?caller.name(), "user created");
    Ok((
        axum::http::StatusCode::CREATED,
        Json(json!({ "user": user })),
    ))
}

pub(super) async fn remove(
    State(state): State<Shared>,
    ApiAdmin(caller): ApiAdmin,
    AppPath(name): AppPath<String>,
) -> Result<Json<Value>, AppError> {
    let me = caller.require_admin()?;
    if me.name == name {
        return Err(AppError::Conflict("you cannot delete yourself".into()));
    }
    if !state.store.delete_user(&name).await? {
        return Err(AppError::NotFound(format!("no user '{name}'")));
    }
    Ok(Json(json!({ "deleted": name })))
}

#[derive(Deserialize)]
pub(super) struct NewPassword {
    password: String,
}

/// Administrators set anyone's password; users their own. The body is parsed only after that
/// check: a caller without the right learns nothing from validation.
pub(super) async fn password(
    State(state): State<Shared>,
    ApiUser(caller): ApiUser,
    AppPath(name): AppPath<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    let me = caller.require_user()?;
    if !me.admin && me.name != name {
        return Err(AppError::Forbidden(
            "you may only change your own password".into(),
        ));
    }
    let body: NewPassword = serde_json::from_slice(&body)
        .map_err(|e| AppError::BadRequest(format!("expected {{\"password\": \"…\"}}: {e}")))?;
    check_password_strength(&body.password)?;
    state.store.set_password(&name, &body.password).await?;
    Ok(Json(json!({ "updated": name })))
}

#[derive(Deserialize)]
pub(super) struct NewToken {
    #[serde(default)]
    label: String,
    /// Administrators may create tokens for another user.
    user: Option<String>,
}

pub(super) async fn tokens(
    State(state): State<Shared>,
    ApiUser(caller): ApiUser,
) -> Result<Json<Value>, AppError> {
    let me = caller.require_user()?;
    let owner = if me.admin {
        None
    } else {
        Some(me.name.as_str())
    };
    Ok(Json(json!({ "tokens": state.store.tokens(owner).await? })))
}

/// Answers the token once; only its hash is kept.
pub(super) async fn create_token(
    State(state): State<Shared>,
    ApiUser(caller): ApiUser,
    AppJson(body): AppJson<NewToken>,
) -> Result<(axum::http::StatusCode, Json<Value>), AppError> {
    let me = caller.require_user()?;
    let owner = match body.user {
        Some(u) if u != me.name => {
            caller.require_admin()?;
            u
        }
        _ => me.name.clone(),
    };
    let new = state.store.create_token(&owner, &body.label).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(json!({ "id": new.id, "user": owner, "token": new.token })),
    ))
}

pub(super) async fn delete_token(
    State(state): State<Shared>,
    ApiUser(caller): ApiUser,
    AppPath(id): AppPath<String>,
) -> Result<Json<Value>, AppError> {
    let me = caller.require_user()?;
    // Administrators revoke anyone's token; others only their own, and another user's
    // token is as unknown to them as one that does not exist.
    let owner = (!me.admin).then_some(me.name.as_str());
    if !state.store.delete_token(&id, owner).await? {
        return Err(AppError::NotFound(format!("no token '{id}'")));
    }
    Ok(Json(json!({ "deleted": id })))
}
