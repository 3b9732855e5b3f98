//! `/ui/app-passwords`: every logged-in user makes, for each device, an API token that the
//! device's WebDAV client uses as its password, sees it once with the URL and user name to
//! paste, lists their own (never the secret again) and revokes them. The store's token
//! functions do the work, as for the REST API (`/api/tokens`) and the CLI.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{json, Value};

use super::pages::shown_time;
use super::{field, render, see_other, Session, UiPath, UiQuery, UiResult};
use crate::app::error::AppError;
use crate::app::Shared;

const PATH: &str = "/ui/app-passwords";

#[derive(Deserialize)]
pub(super) struct Notice {
    revoked: Option<String>,
}

/// The user's app passwords and the form to make one.
pub(super) async fn list(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiQuery(q): UiQuery<Notice>,
) -> UiResult {
    let s = Session::of(&state, &headers, &uri).await?;
    let notice = q
        .revoked
        .is_some()
        .then_some("The app password was revoked: the device using it is logged out.");
    let ctx = json!({ "notice": notice, "label": "" });
    show(&state, &s, ctx, StatusCode::OK).await
}

/// Makes an app password for the visitor themselves and shows it, this once.
pub(super) async fn create(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    req: Request,
) -> UiResult {
    let (s, pairs) = Session::form(&state, &headers, &uri, req).await?;
    let label = field(&pairs, "label").unwrap_or("").trim().to_owned();
    if label.is_empty() {
        let ctx = json!({ "label": "", "error": "Name the device this password is for." });
        return show(&state, &s, ctx, StatusCode::BAD_REQUEST).await;
    }
    let new = match state.store.create_token(&s.user.name, &label).await {
        Ok(new) => new,
        // A label that is too long: said next to the field, the label kept for editing.
        Err(e @ crate::store::StoreError::Invalid(_)) => {
            let e = AppError::from(e);
            let ctx = json!({ "label": label, "error": e.message() });
            return show(&state, &s, ctx, e.status()).await;
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(user = %s.user.name, token = %new.id, "app password created");
    let ctx = json!({
        "label": "",
        "created": {
            "label": label,
            "url": format!("{}/dav/", state.config.public_url),
            "user": s.user.name,
            "password": new.token,
        },
    });
    let mut response = show(&state, &s, ctx, StatusCode::CREATED).await?;
    // The page holds a secret: no cache keeps it, so Back or a reload never shows it again.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Revokes one of the visitor's own app passwords; another user's is "not found".
pub(super) async fn revoke(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiPath(id): UiPath<String>,
    req: Request,
) -> UiResult {
    let (s, _) = Session::form(&state, &headers, &uri, req).await?;
    if !state.store.delete_token(&id, Some(&s.user.name)).await? {
        return Err(AppError::NotFound(format!("you have no app password '{id}'")).into());
    }
    tracing::info!(user = %s.user.name, token = %id, "app password revoked");
    see_other(&format!("{PATH}?revoked=1"))
}

/// The page with the user's tokens added to `ctx`.
async fn show(state: &Shared, s: &Session, mut ctx: Value, status: StatusCode) -> UiResult {
    let time = |secs: i64| {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
        shown_time(at)
    };
    ctx["tokens"] = state
        .store
        .tokens(Some(&s.user.name))
        .await?
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "label": t.label,
                "created": time(t.created_at),
                "last_used": t.last_used_at.map(time),
            })
        })
        .collect();
    let html = render("app_passwords.html", s.page("App passwords", ctx))?;
    Ok((status, html).into_response())
}
