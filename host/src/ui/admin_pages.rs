//! The administrator's pages: plugins with their toggles, the workspace list, the new and
//! edit forms generated from the driver's manifest, verify, grants and delete. Every form
//! posts here and is answered with a redirect (303) or the page re-rendered with the errors;
//! the work itself is done by `crate::admin`, shared with the REST API and the CLI.

use std::collections::BTreeMap;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{json, Value};

use super::forms::{self, FormData};
use super::{encoded, field, page, render, see_other, Session, UiError, UiPath, UiQuery, UiResult};
use crate::access::check_access;
use crate::admin::{self as ops, Creation, WorkspaceInput};
use crate::app::error::AppError;
use crate::app::Shared;
use crate::manifest::Manifest;
use crate::plugins::workspaces::Source;
use crate::store::Access;

/// Every discovered plugin with its state and a toggle.
pub(super) async fn plugins(State(state): State<Shared>, headers: HeaderMap, uri: Uri) -> UiResult {
    let s = Session::admin(&state, &headers, &uri).await?;
    let toggles = state.store.plugin_toggles().await?;
    let list: Vec<Value> = state
        .registry
        .records()
        .iter()
        .map(|r| {
            let v = ops::plugin_view(&state, r, &toggles);
            json!({
                "id": v.id,
                "label": v.manifest.map_or(v.id, |m| m.label.as_str()),
                "description": v.manifest.map(|m| m.description.as_str()),
                "has_manifest": v.manifest.is_some(),
                "version": v.version,
                "enabled": v.enabled,
                "status": v.status,
                "reason": v.reason,
            })
        })
        .collect();
    page(
        "plugins.html",
        s.page("Plugins", json!({ "plugins": list })),
    )
}

pub(super) async fn toggle_plugin(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiPath(id): UiPath<String>,
    req: Request,
) -> UiResult {
    let (_, pairs) = Session::admin_form(&state, &headers, &uri, req).await?;
    let enable = field(&pairs, "enabled") == Some("true");
    ops::set_plugin_enabled(&state, &id, enable).await?;
    see_other("/ui/admin/plugins")
}

#[derive(Deserialize)]
pub(super) struct Notice {
    deleted: Option<String>,
}

/// Every workspace, with links to edit them.
pub(super) async fn workspaces(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiQuery(q): UiQuery<Notice>,
) -> UiResult {
    let s = Session::admin(&state, &headers, &uri).await?;
    let all = state.all_workspaces().await?;
    let embedded = |id: &str| {
        let decls = &state.config.workspaces;
        decls.iter().any(|d| d.id == id && d.implicit)
    };
    let list: Vec<Value> = all
        .iter()
        .map(|ws| {
            json!({
                "id": ws.id,
                "label": ws.label,
                "driver": ws.driver,
                "config": ws.source == Source::Config,
                "embedded": embedded(&ws.id),
                "error": ws.setup.as_ref().err(),
                "all_users": ws.all_users.map(Access::as_str),
                "personal": ws.per_user,
                "made": ws.made.as_ref().map(|m| json!({ "template": m.template, "owner": m.owner })),
            })
        })
        .collect();
    let notice = q.deleted.map(|id| format!("Workspace '{id}' deleted."));
    page(
        "workspaces.html",
        s.page(
            "Workspaces",
            json!({
                "workspaces": list,
                "notice": notice,
                "local_defaults": state.config.local_defaults_warning(),
                "drift": ops::instance_drift(&state).await?,
            }),
        ),
    )
}

#[derive(Deserialize)]
pub(super) struct DriverQuery {
    driver: Option<String>,
}

/// The enabled access drivers, as `(id, label, description)` JSON.
pub(super) async fn enabled_drivers(state: &Shared) -> Result<Vec<Value>, UiError> {
    let toggles = state.store.plugin_toggles().await?;
    Ok(state
        .registry
        .records()
        .iter()
        .filter_map(|r| r.manifest.as_ref())
        .filter(|m| m.kind == "access" && state.registry.is_enabled(&m.id, &toggles))
        .map(|m| json!({ "id": m.id, "label": m.label, "description": m.description }))
        .collect())
}

/// Without `?driver=`: the enabled drivers to choose from; with it: the form.
pub(super) async fn new_workspace(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiQuery(q): UiQuery<DriverQuery>,
) -> UiResult {
    let s = Session::admin(&state, &headers, &uri).await?;
    let Some(driver) = q.driver else {
        let drivers = enabled_drivers(&state).await?;
        return page(
            "workspace.html",
            s.page(
                "New workspace",
                json!({ "mode": "choose", "drivers": drivers }),
            ),
        );
    };
    let m = ops::enabled_manifest(&state, &driver).await?;
    let data = FormData::defaults(m);
    let ctx = form_context(
        &state,
        m,
        &data,
        json!({ "id": "", "label": "", "description": "", "all_users": "", "verify_first": true }),
    );
    page(
        "workspace.html",
        s.page("New workspace", with_mode(ctx, "new", &driver)),
    )
}

fn with_mode(mut ctx: Value, mode: &str, driver: &str) -> Value {
    ctx["mode"] = mode.into();
    if mode == "new" {
        ctx["action"] = format!("/ui/admin/workspaces/new?driver={}", encoded(driver)).into();
    }
    ctx
}

/// The context of the workspace form for manifest `m`.
fn form_context(state: &Shared, m: &Manifest, data: &FormData, ws: Value) -> Value {
    let public_url = state.config.public_url.trim_end_matches('/');
    let groups = forms::groups(m, &state.workspaces.scope(None), data);
    // The OAuth helper's check on submit: a redirect URL that does not start with the public
    // URL is kept (the admin may know better) but flagged.
    let warnings: Vec<String> = groups
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| {
            let plain = g["fields"].as_array().cloned().unwrap_or_default();
            let adv = g["advanced"].as_array().cloned().unwrap_or_default();
            plain.into_iter().chain(adv)
        })
        .filter(|f| f["redirect_mismatch"] == true)
        .map(|f| {
            format!(
                "{}: the value does not start with this host's public URL {public_url}; \
                 the provider will redirect users elsewhere",
                f["label"].as_str().unwrap_or("")
            )
        })
        .collect();
    json!({
        "driver": { "id": m.id, "label": m.label, "description": m.description },
        "groups": groups,
        "errors": data.errors,
        "general": data.general,
        "warnings": warnings,
        "keywords": keywords(),
        "ws": ws,
    })
}

/// The keywords a text param may hold, for the forms' hint.
pub(super) fn keywords() -> Vec<Value> {
    crate::manifest::KEYWORDS
        .iter()
        .map(|(k, what)| json!({ "keyword": k, "means": what }))
        .collect()
}

/// The identity fields and params of a submitted workspace form.
fn input_of(m: &Manifest, pairs: &[(String, String)]) -> WorkspaceInput {
    let id = field(pairs, "id").map(str::trim).filter(|s| !s.is_empty());
    WorkspaceInput {
        id: id.map(str::to_owned),
        label: field(pairs, "label").unwrap_or("").to_owned(),
        description: field(pairs, "description").unwrap_or("").to_owned(),
        driver: m.id.clone(),
        params: forms::submitted_params(m, pairs),
        all_users: field(pairs, "all_users").and_then(|a| a.parse().ok()),
    }
}

/// The form re-rendered with what was typed (`params`) and why the server refused it.
pub(super) fn refused(
    m: &Manifest,
    params: &BTreeMap<String, String>,
    err: AppError,
    data: &mut FormData,
) -> StatusCode {
    data.values = params
        .iter()
        .filter_map(|(k, v)| Some((m.param(k)?.name.clone(), v.clone())))
        .collect();
    let message = err.message();
    match err {
        AppError::Fields(errors) => {
            data.place_errors(m, errors);
            StatusCode::UNPROCESSABLE_ENTITY
        }
        other => {
            data.general.push(message);
            other.into_response().status()
        }
    }
}

pub(super) async fn create_workspace(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiQuery(q): UiQuery<DriverQuery>,
    req: Request,
) -> UiResult {
    let (s, pairs) = Session::admin_form(&state, &headers, &uri, req).await?;
    let driver = q.driver.unwrap_or_default();
    let m = ops::enabled_manifest(&state, &driver).await?;
    let input = input_of(m, &pairs);
    // An unticked checkbox is not sent at all.
    let verify = field(&pairs, "verify_first").is_some();
    let ws = json!({
        "id": input.id, "label": input.label, "description": input.description,
        "all_users": input.all_users.map(Access::as_str), "verify_first": verify,
    });
    let again = input.clone();
    let how = Creation {
        dry_run: false,
        verify,
    };
    match ops::create_workspace(&state, input, how).await {
        Ok(created) => {
            let checked = if created.verified.is_some() {
                "checked"
            } else {
                "1"
            };
            see_other(&format!(
                "/ui/admin/workspaces/{}?created={checked}",
                created.record.id
            ))
        }
        Err(err) => {
            let mut data = FormData::default();
            let status = refused(m, &again.params, err, &mut data);
            let ctx = form_context(&state, m, &data, ws);
            let html = render(
                "workspace.html",
                s.page("New workspace", with_mode(ctx, "new", &driver)),
            )?;
            Ok((status, html).into_response())
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct EditNotice {
    created: Option<String>,
    saved: Option<String>,
}

/// What the edit page shows besides the workspace.
#[derive(Default)]
struct Extras {
    data: Option<FormData>,
    typed: Option<Value>,
    verify: Option<Value>,
    notice: Option<String>,
    problem: Option<String>,
    status: Option<StatusCode>,
}

/// The edit page: the form (store workspaces), verify, grants, delete.
async fn edit_page(state: &Shared, s: &Session, id: &str, extras: Extras) -> UiResult {
    let ws = state
        .workspace(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no workspace '{id}'")))?;
    let manifest = state.registry.manifest(&ws.driver);
    let declared = ws.source == Source::Config;
    let mut data = match extras.data {
        Some(d) => d,
        None => {
            let mut d = FormData::default();
            if let Some(rec) = state.store.workspace(id).await? {
                for (k, v) in rec.params {
                    if rec.secret_params.contains(&k) {
                        d.secrets_set.insert(k);
                    } else {
                        d.values.insert(k, v);
                    }
                }
            } else if let Some(cfg) = ws.config() {
                d.values = cfg.params.clone();
            }
            d
        }
    };
    if let Ok(Some(rec)) = state.store.workspace(id).await {
        for k in rec.params.keys().filter(|k| rec.secret_params.contains(*k)) {
            data.secrets_set.insert(k.clone());
        }
    }
    let ws_json = extras.typed.unwrap_or_else(|| {
        json!({
            "id": ws.id, "label": ws.label, "description": ws.description,
            "all_users": ws.all_users.map(Access::as_str),
        })
    });
    let mut ctx = match manifest {
        Some(m) => form_context(state, m, &data, ws_json),
        None => {
            json!({ "driver": { "id": ws.driver, "label": ws.driver }, "ws": ws_json, "groups": [] })
        }
    };
    ctx["mode"] = "edit".into();
    ctx["action"] = format!("/ui/admin/workspaces/{}", ws.id).into();
    ctx["base"] = format!("/ui/admin/workspaces/{}", ws.id).into();
    ctx["ws"]["id"] = ws.id.clone().into();
    ctx["declared"] = declared.into();
    ctx["made"] = ws
        .made
        .as_ref()
        .map(|m| json!({ "template": m.template, "owner": m.owner }))
        .into();
    ctx["setup_error"] = ws.setup.as_ref().err().cloned().into();
    ctx["verify"] = extras.verify.unwrap_or(Value::Null);
    ctx["notice"] = extras.notice.into();
    ctx["problem"] = extras.problem.into();
    let grants: Vec<Value> = state
        .store
        .acl(id)
        .await?
        .into_iter()
        .map(|(user, a)| json!({ "user": user, "access": if a == Access::ReadWrite { "rw" } else { "r" } }))
        .collect();
    let users: Vec<String> = state
        .store
        .users()
        .await?
        .into_iter()
        .filter(|u| !u.admin)
        .map(|u| u.name)
        .collect();
    ctx["grants"] = grants.into();
    ctx["users"] = users.into();
    let html = render(
        "workspace.html",
        s.page(&format!("Workspace {}", ws.label), ctx),
    )?;
    Ok((extras.status.unwrap_or(StatusCode::OK), html).into_response())
}

pub(super) async fn edit_workspace(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiPath(id): UiPath<String>,
    UiQuery(q): UiQuery<EditNotice>,
) -> UiResult {
    let s = Session::admin(&state, &headers, &uri).await?;
    let notice = if let Some(created) = q.created {
        Some(match created.as_str() {
            "checked" => format!(
                "Workspace '{id}' created and checked by its driver (Verify below shows its answer)."
            ),
            _ => format!("Workspace '{id}' created without a check; Verify below runs it."),
        })
    } else {
        q.saved.map(|_| "Changes saved.".to_owned())
    };
    let extras = Extras {
        notice,
        ..Extras::default()
    };
    edit_page(&state, &s, &id, extras).await
}

pub(super) async fn update_workspace(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiPath(id): UiPath<String>,
    req: Request,
) -> UiResult {
    let (s, pairs) = Session::admin_form(&state, &headers, &uri, req).await?;
    let ws = state
        .workspace(&id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no workspace '{id}'")))?;
    let m = ops::enabled_manifest(&state, &ws.driver).await?;
    let mut input = input_of(m, &pairs);
    input.id = None;
    let typed = json!({
        "id": id, "label": input.label, "description": input.description,
        "all_users": input.all_users.map(Access::as_str),
    });
    let again = input.clone();
    match ops::update_workspace(&state, &id, input).await {
        Ok(_) => see_other(&format!("/ui/admin/workspaces/{id}?saved=1")),
        Err(err) => {
            let mut data = FormData::default();
            let status = refused(m, &again.params, err, &mut data);
            let extras = Extras {
                data: Some(data),
                typed: Some(typed),
                status: Some(status),
                ..Extras::default()
            };
            edit_page(&state, &s, &id, extras).await
        }
    }
}

/// Runs the driver's verify and shows its answer on the edit page.
pub(super) async fn verify(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiPath(id): UiPath<String>,
    req: Request,
) -> UiResult {
    let (s, _) = Session::admin_form(&state, &headers, &uri, req).await?;
    let granted = check_access(&state, &s.caller, &id, Access::Read).await?;
    let verify = match ops::verify_workspace(&state, &granted).await {
        Ok(message) => json!({ "ok": true, "message": message }),
        Err(AppError::Plugin(e)) => json!({
            "ok": false,
            "message": format!("{}: {}", e.kind.as_str(), e.message),
            "authorize_url": e.authorize_url,
        }),
        Err(other) => json!({ "ok": false, "message": other.message() }),
    };
    let extras = Extras {
        verify: Some(verify),
        ..Extras::default()
    };
    edit_page(&state, &s, &id, extras).await
}

/// Grants through [`ops::grant`], like the REST API and the CLI: a refusal (no such user or
/// workspace, bad access) stores nothing and is shown on the page with its status.
pub(super) async fn grant(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiPath(id): UiPath<String>,
    req: Request,
) -> UiResult {
    let (s, pairs) = Session::admin_form(&state, &headers, &uri, req).await?;
    let user = field(&pairs, "user").unwrap_or("").trim().to_owned();
    let access = field(&pairs, "access").unwrap_or("");
    let extras = match ops::grant(&state, &id, &user, access).await {
        Ok(a) => Extras {
            notice: Some(format!(
                "{user} now has {} access.",
                if a == Access::ReadWrite {
                    "read-write"
                } else {
                    "read-only"
                }
            )),
            ..Extras::default()
        },
        Err(e) => refusal(e),
    };
    edit_page(&state, &s, &id, extras).await
}

pub(super) async fn revoke(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiPath(id): UiPath<String>,
    req: Request,
) -> UiResult {
    let (s, pairs) = Session::admin_form(&state, &headers, &uri, req).await?;
    let user = field(&pairs, "user").unwrap_or("");
    let extras = match ops::revoke(&state, &id, user).await {
        Ok(()) => Extras {
            notice: Some(format!("{user} no longer has access.")),
            ..Extras::default()
        },
        Err(e) => refusal(e),
    };
    edit_page(&state, &s, &id, extras).await
}

/// The edit page's extras for a refused grant or revoke: the message, with the status the
/// REST API answers for the same refusal.
fn refusal(e: AppError) -> Extras {
    let message = e.message();
    Extras {
        problem: Some(message),
        status: Some(e.into_response().status()),
        ..Extras::default()
    }
}

pub(super) async fn delete(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiPath(id): UiPath<String>,
    req: Request,
) -> UiResult {
    let _ = Session::admin_form(&state, &headers, &uri, req).await?;
    ops::delete_workspace(&state, &id).await?;
    see_other(&format!("/ui/admin/workspaces?deleted={}", encoded(&id)))
}
