//! Plugins: list, show, enable, disable (administrators only).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::{ApiAdmin, AppPath};
use crate::admin::{plugin_record, plugin_view, set_plugin_enabled, PluginView};
use crate::app::error::AppError;
use crate::app::Shared;

pub(super) async fn list(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
) -> Result<Json<Value>, AppError> {
    let toggles = state.store.plugin_toggles().await?;
    let list: Vec<PluginView> = state
        .registry
        .records()
        .iter()
        .map(|r| plugin_view(&state, r, &toggles))
        .collect();
    Ok(Json(json!({ "plugins": list })))
}

pub(super) async fn show(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
    AppPath(id): AppPath<String>,
) -> Result<Json<Value>, AppError> {
    let toggles = state.store.plugin_toggles().await?;
    let record = plugin_record(&state, &id)?;
    Ok(Json(json!(plugin_view(&state, record, &toggles))))
}

pub(super) async fn enable(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
    AppPath(id): AppPath<String>,
) -> Result<Json<Value>, AppError> {
    toggle(&state, &id, true).await
}

pub(super) async fn disable(
    State(state): State<Shared>,
    ApiAdmin(_caller): ApiAdmin,
    AppPath(id): AppPath<String>,
) -> Result<Json<Value>, AppError> {
    toggle(&state, &id, false).await
}

async fn toggle(state: &Shared, id: &str, enabled: bool) -> Result<Json<Value>, AppError> {
    let (record, toggles) = set_plugin_enabled(state, id, enabled).await?;
    Ok(Json(json!(plugin_view(state, record, &toggles))))
}
