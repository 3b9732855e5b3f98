//! Plugin-specific actions, routed by the names their manifests declare. Actions with
//! `read`/`write` rights run on a workspace's driver; the others on the plugin itself.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use plugin_api::{ActionRequest, ActionResponse, Driver};

use super::error::ApiError;
use super::params::Params;
use super::stream::{body_reader, response_body};
use super::{call_context, call_driver, Shared};
use crate::manifest::Rights;
use crate::registry::ActionRoute;

/// Request headers a plugin never sees: credentials stay in the host.
const PRIVATE_HEADERS: [&str; 4] = [
    "cookie",
    "authorization",
    "proxy-authorization",
    "x-csrf-token",
];

pub(crate) async fn handle(
    state: Shared,
    route: ActionRoute,
    method: Method,
    params: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let request = ActionRequest {
        name: route.decl.name.clone(),
        method: method.to_string(),
        query: params.pairs().to_vec(),
        headers: headers
            .iter()
            .filter(|(name, _)| !PRIVATE_HEADERS.contains(&name.as_str()))
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
            .collect(),
        body: body_reader(body),
    };
    let response = match route.decl.rights {
        Rights::Read | Rights::Write => {
            let ws = params
                .workspace()
                .ok_or(ApiError::MissingParam("ws"))?
                .to_owned();
            call_driver(&state, &ws, move |d, ctx| d.action(ctx, request)).await?
        }
        _ => {
            let ws = params.workspace().map(str::to_owned);
            let plugin = state
                .registry
                .get(&route.plugin)
                .and_then(|r| r.plugin())
                .cloned()
                .ok_or_else(|| ApiError::PluginDisabled {
                    action: route.decl.name.clone(),
                    plugin: route.plugin.clone(),
                })?;
            tokio::task::spawn_blocking(move || {
                plugin.action(&call_context(ws.as_deref()), request)
            })
            .await
            .map_err(|e| ApiError::Internal(format!("action task failed: {e}")))??
        }
    };
    into_http(response, &route.decl.name)
}

/// Headers that belong to the connection, not to the plugin's answer.
const HOP_BY_HOP: [&str; 5] = [
    "connection",
    "transfer-encoding",
    "keep-alive",
    "upgrade",
    "set-cookie",
];

fn into_http(resp: ActionResponse, action: &str) -> Result<Response, ApiError> {
    let status = StatusCode::from_u16(resp.status)
        .ok()
        .filter(|s| !s.is_informational())
        .ok_or_else(|| {
            ApiError::Internal(format!(
                "action {action} answered the invalid status {}",
                resp.status
            ))
        })?;
    let mut out = Response::builder().status(status);
    for (name, value) in &resp.headers {
        let lower = name.to_ascii_lowercase();
        if HOP_BY_HOP.contains(&lower.as_str()) {
            continue;
        }
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(lower.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            return Err(ApiError::Internal(format!(
                "action {action} answered a malformed header '{name}'"
            )));
        };
        out = out.header(name, value);
    }
    let body = resp.body.map(response_body).unwrap_or_else(Body::empty);
    out.body(body)
        .map_err(|e| ApiError::Internal(format!("action {action} response: {e}")))
}
