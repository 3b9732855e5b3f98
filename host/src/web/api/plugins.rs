//! Plugins: list, show, enable, disable (administrators only).

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::ApiAdmin;
use crate::admin::{plugin_json, set_plugin_enabled};
use crate::app::error::AppError;
use crate::app::Shared;

pub(super) async fn list(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
) -> Result<Json<Value>, AppError> {
    let toggles = state.store.plugin_toggles().await?;
    let list: Vec<Value> = state
        .registry
        .records()
        .iter()
        .map(|r| plugin_json(&state, r, &toggles))
        .collect();
    Ok(Json(json!({ "plugins": list })))
}

pub(super) async fn show(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let toggles = state.store.plugin_toggles().await?;
    let record = state
        .registry
        .records()
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| AppError::NotFound(format!("no plugin '{id}'")))?;
    Ok(Json(plugin_json(&state, record, &toggles)))
}

pub(super) async fn enable(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(set_plugin_enabled(&state, &id, true).await?))
}

pub(super) async fn disable(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(set_plugin_enabled(&state, &id, false).await?))
}
