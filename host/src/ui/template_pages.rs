//! Templates in the UI. The administrator's editor under `/ui/admin/templates`: the list, a
//! new template (the driver chosen first, then the form generated from its manifest, where
//! each param has a box "Each user fills this in"), the edit form (passwords write-only) and
//! delete. The user's side: the form `/ui/templates/{id}/new`, generated from the template's
//! manifest limited to the params users fill in (`admin::user_form`: the fixed params are
//! not in the page at all), which makes the user's own workspace; and the delete of a
//! workspace the user made. The work is `crate::admin`'s, shared with the REST API and the
//! CLI.

use std::collections::BTreeSet;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{json, Value};

use super::admin_pages::{enabled_drivers, keywords, refused};
use super::forms::{self, FormData};
use super::{encoded, field, page, render, see_other, Session, UiPath, UiQuery, UiResult};
use crate::admin::{self as ops, OwnInput, TemplateInput};
use crate::app::error::AppError;
use crate::app::Shared;
use crate::manifest::{FieldError, Manifest};
use crate::store::WorkspaceRecord;

/// The input prefix of the "Each user fills this in" boxes.
const USER_PREFIX: &str = "user.";

#[derive(Deserialize)]
pub(super) struct ListNotice {
    deleted: Option<String>,
}

/// Every template: what users fill in and the workspaces made from it.
pub(super) async fn list(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiQuery(q): UiQuery<ListNotice>,
) -> UiResult {
    let s = Session::admin(&state, &headers, &uri).await?;
    let list: Vec<Value> = ops::templates(&state, None)
        .await?
        .into_iter()
        .map(|t| {
            json!({
                "id": t.id,
                "label": t.label,
                "driver": t.driver,
                "driver_label": t.driver_label,
                "user_params": t.user_params.iter().map(|p| &p.label).collect::<Vec<_>>(),
                "max_per_user": t.max_per_user,
                "workspaces": t.workspaces,
            })
        })
        .collect();
    let notice = q.deleted.map(|id| format!("Template '{id}' deleted."));
    page(
        "templates.html",
        s.page("Templates", json!({ "templates": list, "notice": notice })),
    )
}

#[derive(Deserialize)]
pub(super) struct DriverQuery {
    driver: Option<String>,
}

/// The context of the template form for manifest `m`: the generated fields, each marked
/// when its param is one users fill in.
fn form_context(
    state: &Shared,
    m: &Manifest,
    data: &FormData,
    user_params: &BTreeSet<String>,
    tpl: Value,
) -> Value {
    let mut groups = forms::groups(m, &state.workspaces.scope(None), data);
    for g in groups.as_array_mut().into_iter().flatten() {
        for key in ["fields", "advanced"] {
            for f in g[key].as_array_mut().into_iter().flatten() {
                let name = f["name"].as_str().unwrap_or("");
                f["user_param"] = user_params.contains(name).into();
            }
        }
    }
    json!({
        "driver": { "id": m.id, "label": m.label, "description": m.description },
        "groups": groups,
        "errors": data.errors,
        "general": data.general,
        "keywords": keywords(),
        "tpl": tpl,
    })
}

/// A submitted template form: the input, or (with it) the message for a `max_per_user` that
/// is not a number.
fn input_of(m: &Manifest, pairs: &[(String, String)]) -> (TemplateInput, Option<String>) {
    let id = field(pairs, "id").map(str::trim).filter(|s| !s.is_empty());
    let user_params: BTreeSet<String> = pairs
        .iter()
        .filter(|(_, v)| v == "true")
        .filter_map(|(k, _)| k.strip_prefix(USER_PREFIX))
        .map(str::to_owned)
        .collect();
    let max = field(pairs, "max_per_user").unwrap_or("").trim();
    let (max_per_user, bad_max) = match max {
        "" => (None, None),
        n => match n.parse::<u32>() {
            Ok(n) => (Some(n), None),
            Err(_) => (
                None,
                Some("a whole number of at least 1, or empty for no limit".to_owned()),
            ),
        },
    };
    let input = TemplateInput {
        id: id.map(str::to_owned),
        label: field(pairs, "label").unwrap_or("").to_owned(),
        description: field(pairs, "description").unwrap_or("").to_owned(),
        driver: m.id.clone(),
        params: forms::submitted_params(m, pairs),
        user_params,
        max_per_user,
    };
    (input, bad_max)
}

/// What was typed in the identity fields, for the form shown again.
fn typed(input: &TemplateInput, pairs: &[(String, String)]) -> Value {
    json!({
        "id": input.id, "label": input.label, "description": input.description,
        "max_per_user": field(pairs, "max_per_user").unwrap_or(""),
    })
}

/// Without `?driver=`: the enabled drivers to choose from; with it: the form.
pub(super) async fn new_template(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiQuery(q): UiQuery<DriverQuery>,
) -> UiResult {
    let s = Session::admin(&state, &headers, &uri).await?;
    let Some(driver) = q.driver else {
        let drivers = enabled_drivers(&state).await?;
        return page(
            "template.html",
            s.page(
                "New template",
                json!({ "mode": "choose", "drivers": drivers }),
            ),
        );
    };
    let m = ops::enabled_manifest(&state, &driver).await?;
    let data = FormData::defaults(m);
    let tpl = json!({ "id": "", "label": "", "description": "", "max_per_user": "" });
    let ctx = form_context(&state, m, &data, &BTreeSet::new(), tpl);
    page(
        "template.html",
        s.page("New template", new_mode(ctx, &driver)),
    )
}

fn new_mode(mut ctx: Value, driver: &str) -> Value {
    ctx["mode"] = "new".into();
    ctx["action"] = format!("/ui/admin/templates/new?driver={}", encoded(driver)).into();
    ctx
}

pub(super) async fn create_template(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiQuery(q): UiQuery<DriverQuery>,
    req: Request,
) -> UiResult {
    let (s, pairs) = Session::admin_form(&state, &headers, &uri, req).await?;
    let driver = q.driver.unwrap_or_default();
    let m = ops::enabled_manifest(&state, &driver).await?;
    let (input, bad_max) = input_of(m, &pairs);
    let tpl = typed(&input, &pairs);
    let (params, user_params) = (input.params.clone(), input.user_params.clone());
    let result = match bad_max {
        Some(why) => Err(AppError::Fields(vec![FieldError::new("max_per_user", why)])),
        None => ops::create_template(&state, input).await,
    };
    match result {
        Ok(rec) => see_other(&format!(
            "/ui/admin/templates/{}?created=1",
            encoded(&rec.id)
        )),
        Err(err) => {
            let mut data = FormData::default();
            let status = refused(m, &params, err, &mut data);
            let ctx = form_context(&state, m, &data, &user_params, tpl);
            let html = render(
                "template.html",
                s.page("New template", new_mode(ctx, &driver)),
            )?;
            Ok((status, html).into_response())
        }
    }
}

/// What the edit page shows besides the stored template.
#[derive(Default)]
struct Extras {
    /// What was typed: form data, identity fields, the users' params.
    typed: Option<(FormData, Value, BTreeSet<String>)>,
    notice: Option<String>,
    problem: Option<String>,
    status: Option<StatusCode>,
}

/// The form values of a stored template: its params, passwords only marked as set.
fn stored_data(rec: &WorkspaceRecord) -> FormData {
    let mut d = FormData::default();
    for (k, v) in &rec.params {
        if rec.secret_params.contains(k) {
            d.secrets_set.insert(k.clone());
        } else {
            d.values.insert(k.clone(), v.clone());
        }
    }
    d
}

async fn edit_page(state: &Shared, s: &Session, id: &str, extras: Extras) -> UiResult {
    let rec = ops::stored_template(state, id).await?;
    let view = ops::template(state, id, None).await?;
    let m = state
        .registry
        .manifest(&rec.driver)
        .ok_or_else(|| AppError::NotFound(format!("no manifest for driver '{}'", rec.driver)))?;
    let spec = rec.template_spec.clone().unwrap_or_default();
    let (mut data, tpl, user_params) = extras.typed.unwrap_or_else(|| {
        let tpl = json!({
            "label": rec.label, "description": rec.description,
            "max_per_user": spec.max_per_user.map_or(String::new(), |n| n.to_string()),
        });
        (stored_data(&rec), tpl, spec.user_params.clone())
    });
    data.secrets_set.extend(stored_data(&rec).secrets_set);
    let mut ctx = form_context(state, m, &data, &user_params, tpl);
    ctx["mode"] = "edit".into();
    ctx["tpl"]["id"] = rec.id.clone().into();
    ctx["action"] = format!("/ui/admin/templates/{}", encoded(&rec.id)).into();
    ctx["base"] = ctx["action"].clone();
    ctx["workspaces"] = json!(view.workspaces);
    ctx["notice"] = extras.notice.into();
    ctx["problem"] = extras.problem.into();
    let html = render(
        "template.html",
        s.page(&format!("Template {}", rec.label), ctx),
    )?;
    Ok((extras.status.unwrap_or(StatusCode::OK), html).into_response())
}

#[derive(Deserialize)]
pub(super) struct EditNotice {
    created: Option<String>,
    saved: Option<String>,
}

pub(super) async fn edit_template(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiPath(id): UiPath<String>,
    UiQuery(q): UiQuery<EditNotice>,
) -> UiResult {
    let s = Session::admin(&state, &headers, &uri).await?;
    let notice = match (q.created, q.saved) {
        (Some(_), _) => Some(format!(
            "Template '{id}' created: users find it on their workspaces page."
        )),
        (None, Some(_)) => Some("Changes saved.".to_owned()),
        (None, None) => None,
    };
    let extras = Extras {
        notice,
        ..Extras::default()
    };
    edit_page(&state, &s, &id, extras).await
}

pub(super) async fn update_template(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiPath(id): UiPath<String>,
    req: Request,
) -> UiResult {
    let (s, pairs) = Session::admin_form(&state, &headers, &uri, req).await?;
    let rec = ops::stored_template(&state, &id).await?;
    let m = ops::enabled_manifest(&state, &rec.driver).await?;
    let (mut input, bad_max) = input_of(m, &pairs);
    input.id = None;
    let tpl = typed(&input, &pairs);
    let (params, user_params) = (input.params.clone(), input.user_params.clone());
    let result = match bad_max {
        Some(why) => Err(AppError::Fields(vec![FieldError::new("max_per_user", why)])),
        None => ops::update_template(&state, &id, input).await,
    };
    match result {
        Ok(_) => see_other(&format!("/ui/admin/templates/{}?saved=1", encoded(&id))),
        Err(err) => {
            let mut data = FormData::default();
            let status = refused(m, &params, err, &mut data);
            let extras = Extras {
                typed: Some((data, tpl, user_params)),
                status: Some(status),
                ..Extras::default()
            };
            edit_page(&state, &s, &id, extras).await
        }
    }
}

/// Deletes a template; one that workspaces are made from is refused (409), and the refusal
/// is shown on its page.
pub(super) async fn delete_template(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiPath(id): UiPath<String>,
    req: Request,
) -> UiResult {
    let (s, _) = Session::admin_form(&state, &headers, &uri, req).await?;
    match ops::delete_template(&state, &id).await {
        Ok(()) => see_other(&format!("/ui/admin/templates?deleted={}", encoded(&id))),
        Err(e) => {
            let problem = e.message();
            let extras = Extras {
                problem: Some(problem),
                status: Some(e.into_response().status()),
                ..Extras::default()
            };
            edit_page(&state, &s, &id, extras).await
        }
    }
}

/// The template `id` and the manifest of the user's form: only the params users fill in.
async fn own_form(state: &Shared, id: &str) -> Result<(WorkspaceRecord, Manifest), AppError> {
    let rec = ops::stored_template(state, id).await?;
    let m = ops::enabled_manifest(state, &rec.driver).await?;
    let spec = rec.template_spec.clone().unwrap_or_default();
    Ok((rec, ops::user_form(m, &spec)))
}

/// The user's form page: the template's own fields (label, id, description), then the
/// generated fields of the user's params; `own` is what was typed.
async fn own_page(
    state: &Shared,
    s: &Session,
    rec: &WorkspaceRecord,
    form: &Manifest,
    data: &FormData,
    own: Value,
    status: StatusCode,
) -> UiResult {
    let view = ops::template(state, &rec.id, Some(&s.user.name)).await?;
    let groups = forms::groups(form, &state.workspaces.scope(None), data);
    let ctx = json!({
        "template": {
            "id": view.id, "label": view.label, "description": view.description,
            "driver_label": view.driver_label, "max_per_user": view.max_per_user,
            "made": view.workspaces.len(),
        },
        "action": format!("/ui/templates/{}/new", encoded(&rec.id)),
        "groups": groups,
        "errors": data.errors,
        "general": data.general,
        "own": own,
    });
    let html = render(
        "own_workspace.html",
        s.page(&format!("New workspace from {}", view.label), ctx),
    )?;
    Ok((status, html).into_response())
}

/// The form a user makes their own workspace from template `id` with.
pub(super) async fn new_own(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiPath(id): UiPath<String>,
) -> UiResult {
    let s = Session::of(&state, &headers, &uri).await?;
    let (rec, form) = own_form(&state, &id).await?;
    // The users' params start at the template's values (its defaults for them); a password
    // is never shown.
    let mut data = FormData::defaults(&form);
    for p in &form.params {
        if let Some(v) = rec.params.get(&p.name) {
            if !rec.secret_params.contains(&p.name) {
                data.values.insert(p.name.clone(), v.clone());
            }
        }
    }
    let own = json!({ "id": "", "label": "", "description": "", "verify_first": true });
    own_page(&state, &s, &rec, &form, &data, own, StatusCode::OK).await
}

/// Makes the user's workspace and opens it; a refusal shows the form again, each error next
/// to its field (an id already taken next to the id).
pub(super) async fn create_own(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiPath(id): UiPath<String>,
    req: Request,
) -> UiResult {
    let (s, pairs) = Session::form(&state, &headers, &uri, req).await?;
    let (rec, form) = own_form(&state, &id).await?;
    let own_id = field(&pairs, "id").map(str::trim).filter(|s| !s.is_empty());
    let verify = field(&pairs, "verify_first").is_some();
    let input = OwnInput {
        id: own_id.map(str::to_owned),
        label: field(&pairs, "label").unwrap_or("").to_owned(),
        description: field(&pairs, "description").unwrap_or("").to_owned(),
        params: forms::submitted_params(&form, &pairs),
    };
    let own = json!({
        "id": input.id, "label": input.label, "description": input.description,
        "verify_first": verify,
    });
    let params = input.params.clone();
    match ops::create_own(&state, &s.user, &id, input, verify).await {
        Ok(created) => see_other(&format!("/ui/workspaces/{}", encoded(&created.record.id))),
        Err(err) => {
            let mut data = FormData::default();
            let status = match err {
                AppError::Conflict(why) if own_id.is_some() => {
                    data.values = params;
                    data.errors.insert("id".into(), why);
                    StatusCode::CONFLICT
                }
                other => refused(&form, &params, other, &mut data),
            };
            own_page(&state, &s, &rec, &form, &data, own, status).await
        }
    }
}

/// A user deletes a workspace they made from a template (its files stay where they are).
pub(super) async fn delete_own(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiPath(id): UiPath<String>,
    req: Request,
) -> UiResult {
    let (s, _) = Session::form(&state, &headers, &uri, req).await?;
    ops::delete_as(&state, &s.user, &id).await?;
    see_other(&format!("/ui/?deleted={}", encoded(&id)))
}
