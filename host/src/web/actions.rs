//! Plugin-specific actions, routed by the names their manifests declare. The host answers
//! 405 to a method the manifest does not declare, then checks the declared `rights` and the
//! CSRF token; actions with `read`/`write` rights run on a workspace's driver, the others on
//! the plugin itself. Either way the plugin's `CallContext` carries the caller's rights.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use std::collections::BTreeMap;

use plugin_api::{ActionRequest, ActionResponse};

use super::params::Params;
use crate::access::{check_access, plugin_context};
use crate::app::error::AppError;
use crate::app::Shared;
use crate::auth::Caller;
use crate::manifest::Rights;
use crate::plugins::call;
use crate::plugins::registry::ActionRoute;
use crate::plugins::stream::{body_reader, response_body};
use crate::store::Access;

/// Request headers a plugin never sees: credentials stay in the host.
const PRIVATE_HEADERS: [&str; 4] = [
    "cookie",
    "authorization",
    "proxy-authorization",
    "x-csrf-token",
];

pub(crate) async fn handle(
    state: Shared,
    caller: Caller,
    action: String,
    method: Method,
    params: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let toggles = state.store.plugin_toggles().await?;
    let route = choose_route(&state, &action, &toggles).await?;
    let decl = &route.decl;
    // The manifest's methods, before anything else runs: a state-changing action declared
    // POST-only can never be reached by a link, a redirect or an image tag, where the CSRF
    // rule (which lets GET through) would not stop it.
    if !decl.allows(&method) {
        return Err(AppError::MethodNotAllowed {
            action: decl.name.clone(),
            allowed: decl.allowed().map(|m| m.as_str()).collect(),
        });
    }
    match decl.rights {
        Rights::Public => {}
        Rights::User | Rights::Read | Rights::Write => {
            caller.require_user()?;
        }
        Rights::Admin => {
            caller.require_admin()?;
        }
    }
    if decl.csrf {
        caller.check_csrf(&method, &headers, params.get("secure_token"))?;
    }
    let limits = &state.config.limits;
    let (reader, watch) = body_reader(body, limits.max_upload, None);
    let stall_limit = limits.plugin_timeout;
    let request = ActionRequest {
        name: decl.name.clone(),
        method: method.to_string(),
        query: params.pairs().to_vec(),
        headers: headers
            .iter()
            .filter(|(name, _)| !PRIVATE_HEADERS.contains(&name.as_str()))
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
            .collect(),
        body: reader,
    };
    let response = match decl.rights {
        Rights::Read | Rights::Write => {
            let ws = params
                .workspace()
                .ok_or(AppError::MissingParam("ws"))?
                .to_owned();
            let need = if decl.rights == Rights::Write {
                Access::ReadWrite
            } else {
                Access::Read
            };
            let granted = check_access(&state, &caller, &ws, need).await?;
            granted.driver().action(&state, request, &watch).await?
        }
        _ => {
            let ctx = plugin_context(&state, &caller, params.workspace()).await?;
            call::plugin_action(&state, &route.plugin, ctx, request, &watch).await?
        }
    };
    into_http(response, &decl.name, stall_limit)
}

/// The plugin that serves `action`: the first, in id order, that is enabled and loads
/// (loading it through the plugin-call layer, within the deadline, off the async workers).
async fn choose_route(
    state: &Shared,
    action: &str,
    toggles: &BTreeMap<String, bool>,
) -> Result<ActionRoute, AppError> {
    let routes = state.registry.action_routes(action);
    let mut refused = None;
    let limit = state.config.limits.plugin_timeout;
    for route in routes {
        if !state.registry.is_enabled(&route.plugin, toggles) {
            continue;
        }
        match call::load(&state.registry, &route.plugin, toggles, limit).await {
            Ok(_) => return Ok(route.clone()),
            Err(_) => refused = refused.or(Some(route.plugin.clone())),
        }
    }
    match (refused, routes.first()) {
        (Some(plugin), _) => Err(AppError::PluginUnavailable {
            action: action.to_owned(),
            plugin,
        }),
        (None, Some(first)) => Err(AppError::PluginDisabled {
            action: action.to_owned(),
            plugin: first.plugin.clone(),
        }),
        (None, None) => Err(AppError::UnknownAction(action.to_owned())),
    }
}

/// Headers that belong to the connection, not to the plugin's answer.
const HOP_BY_HOP: [&str; 5] = [
    "connection",
    "transfer-encoding",
    "keep-alive",
    "upgrade",
    "set-cookie",
];

fn into_http(
    resp: ActionResponse,
    action: &str,
    stall_limit: std::time::Duration,
) -> Result<Response, AppError> {
    let status = StatusCode::from_u16(resp.status)
        .ok()
        .filter(|s| !s.is_informational())
        .ok_or_else(|| {
            AppError::Internal(format!(
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
            return Err(AppError::Internal(format!(
                "action {action} answered a malformed header '{name}'"
            )));
        };
        out = out.header(name, value);
    }
    let body = resp
        .body
        .map(|b| response_body(b, None, stall_limit, None))
        .unwrap_or_else(Body::empty);
    out.body(body)
        .map_err(|e| AppError::Internal(format!("action {action} response: {e}")))
}
