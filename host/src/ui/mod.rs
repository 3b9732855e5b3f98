//! The web UI under `/ui/`: server-rendered pages for users (login, their workspaces, a file
//! browser) and administrators (plugins, workspaces generated from manifests, grants).
//!
//! **Template engine: minijinja.** Templates live in `host/templates/` and are embedded with
//! `include_str!`, so the binary is self-contained; minijinja compiles them once at first use,
//! escapes HTML by default for `.html` names, and adds no proc-macro build time (askama would
//! check templates at compile time, at the price of a derive per page and a slower build on a
//! crate that already takes the longest). Contexts are plain `serde_json` values built by the
//! handlers.
//!
//! **One way per page.** Admin pages are HTML forms that post to UI routes, which call
//! `crate::admin` (the same functions as the REST API and the CLI) and re-render the page
//! with the server's errors next to the fields. The file browser is rendered by the server
//! (listing included, so an "authorization required" answer becomes a persistent Connect
//! button), and its actions are a little JavaScript (`static/ui.js`) calling the
//! `?get_action=` API with the `X-CSRF-Token` header (a selection as the batch form,
//! `nodes[]`), then reloading; "Download as zip" is a plain GET form of the ticked boxes.
//!
//! **CSRF.** Every form carries the session's token in a hidden `csrf` field, checked with the
//! same rule as the API (`Caller::check_csrf`); scripts read it from `<meta name=csrf-token>`.
//! Anonymous visitors of any page but the login page are redirected to
//! `/ui/login?next=PATH`.
//!
//! Layout: `mod` (router, rendering, sessions, errors), `pages` (login, logout, the user's
//! workspaces, the file browser), `app_passwords` (each user's app passwords for WebDAV
//! clients), `admin_pages` (plugins and workspace administration), `forms` (the workspace
//! form generated from a manifest; its fields are the macros of `macros.html`).

mod admin_pages;
mod app_passwords;
mod forms;
mod pages;

use std::sync::OnceLock;

use axum::extract::{Path, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::Environment;
use serde_json::{json, Value};

use crate::app::error::AppError;
use crate::app::Shared;
use crate::auth::{Caller, Via};
use crate::store::User;

crate::app::extract::extractors!(UiError => path UiPath, query UiQuery);

/// The routes of the UI, merged into the host's router.
pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(pages::home))
        .route("/ui/login", get(pages::login_page).post(pages::login))
        .route("/ui/logout", get(pages::logout_page).post(pages::logout))
        .route("/ui/workspaces/{id}", get(pages::browser))
        .route(
            "/ui/app-passwords",
            get(app_passwords::list).post(app_passwords::create),
        )
        .route("/ui/app-passwords/{id}/revoke", post(app_passwords::revoke))
        .route("/ui/admin/plugins", get(admin_pages::plugins))
        .route(
            "/ui/admin/plugins/{id}/toggle",
            post(admin_pages::toggle_plugin),
        )
        .route("/ui/admin/workspaces", get(admin_pages::workspaces))
        .route(
            "/ui/admin/workspaces/new",
            get(admin_pages::new_workspace).post(admin_pages::create_workspace),
        )
        .route(
            "/ui/admin/workspaces/{id}",
            get(admin_pages::edit_workspace).post(admin_pages::update_workspace),
        )
        .route(
            "/ui/admin/workspaces/{id}/verify",
            post(admin_pages::verify),
        )
        .route("/ui/admin/workspaces/{id}/grant", post(admin_pages::grant))
        .route(
            "/ui/admin/workspaces/{id}/revoke",
            post(admin_pages::revoke),
        )
        .route(
            "/ui/admin/workspaces/{id}/delete",
            post(admin_pages::delete),
        )
        .route("/ui/static/{file}", get(static_file))
        .method_not_allowed_fallback(|method: Method, uri: Uri| async move {
            UiError::Api(AppError::WrongMethod {
                method: method.to_string(),
                path: uri.path().to_owned(),
            })
        })
}

/// The UI's page for a path under `/ui/` that no route serves.
pub(crate) fn no_route(path: String) -> UiError {
    UiError::Api(AppError::NoRoute { path })
}

/// What a UI handler fails with: a redirect to the login page, or an error page.
pub(crate) enum UiError {
    /// Not logged in: go to the login page, then back to this path.
    Login(String),
    /// Any other failure, shown as a page with the API error's status and message.
    Api(AppError),
}

impl From<AppError> for UiError {
    fn from(e: AppError) -> Self {
        UiError::Api(e)
    }
}

impl From<crate::store::StoreError> for UiError {
    fn from(e: crate::store::StoreError) -> Self {
        UiError::Api(e.into())
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::Login(next) => Redirect::to(&login_url(&next)).into_response(),
            UiError::Api(e) => {
                e.log();
                let (message, status) = (e.message(), e.status());
                let page = render(
                    "error.html",
                    json!({ "title": "Error", "status": status.as_u16(), "message": message }),
                );
                match page {
                    Ok(html) => (status, html).into_response(),
                    Err(e) => e.into_response(),
                }
            }
        }
    }
}

pub(crate) type UiResult = Result<Response, UiError>;

/// `/ui/login?next=PATH`.
fn login_url(next: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("/ui/login?next={encoded}")
}

/// A logged-in visitor of a UI page.
pub(crate) struct Session {
    pub(crate) caller: Caller,
    pub(crate) user: User,
    /// The token forms and scripts echo (empty for API-token callers, who need none).
    pub(crate) csrf: String,
}

impl Session {
    /// The visitor, or a redirect to the login page that comes back to `uri`.
    pub(crate) async fn of(
        state: &Shared,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<Session, UiError> {
        let caller = Caller::resolve(state, headers).await?;
        let Some(user) = caller.user.clone() else {
            let next = uri
                .path_and_query()
                .map_or("/ui/".to_owned(), |p| p.as_str().to_owned());
            return Err(UiError::Login(next));
        };
        let csrf = match &caller.via {
            Via::Cookie { csrf } => csrf.clone(),
            _ => String::new(),
        };
        Ok(Session { caller, user, csrf })
    }

    /// Like [`Session::of`], for administrators only (403 page for others).
    pub(crate) async fn admin(
        state: &Shared,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<Session, UiError> {
        let s = Session::of(state, headers, uri).await?;
        s.caller.require_admin()?;
        Ok(s)
    }

    /// An administrator's form post: the session, then the form's fields once its CSRF token
    /// is checked. Every admin form handler starts here.
    pub(crate) async fn admin_form(
        state: &Shared,
        headers: &HeaderMap,
        uri: &Uri,
        req: Request,
    ) -> Result<(Session, Vec<(String, String)>), UiError> {
        let s = Session::admin(state, headers, uri).await?;
        s.checked_form(headers, req).await
    }

    /// Like [`Session::admin_form`], for any logged-in user.
    pub(crate) async fn form(
        state: &Shared,
        headers: &HeaderMap,
        uri: &Uri,
        req: Request,
    ) -> Result<(Session, Vec<(String, String)>), UiError> {
        let s = Session::of(state, headers, uri).await?;
        s.checked_form(headers, req).await
    }

    /// The fields of a form post, once its CSRF token is checked.
    async fn checked_form(
        self,
        headers: &HeaderMap,
        req: Request,
    ) -> Result<(Session, Vec<(String, String)>), UiError> {
        let pairs = form_pairs(req).await?;
        self.check_form(headers, field(&pairs, "csrf"))?;
        Ok((self, pairs))
    }

    /// Refuses a form post without the session's CSRF token.
    pub(crate) fn check_form(
        &self,
        headers: &HeaderMap,
        token: Option<&str>,
    ) -> Result<(), UiError> {
        Ok(self.caller.check_csrf(&Method::POST, headers, token)?)
    }

    /// The context every page template gets: user, CSRF token, title.
    pub(crate) fn page(&self, title: &str, mut extra: Value) -> Value {
        extra["title"] = title.into();
        extra["user"] = json!({ "name": self.user.name, "admin": self.user.admin });
        extra["csrf"] = self.csrf.clone().into();
        extra
    }
}

/// The template environment, with every template embedded in the binary.
fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, text) in TEMPLATES {
            env.add_template(name, text)
                .unwrap_or_else(|e| panic!("template {name} does not compile: {e}"));
        }
        env
    })
}

const TEMPLATES: [(&str, &str); 11] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("logout.html", include_str!("../../templates/logout.html")),
    ("home.html", include_str!("../../templates/home.html")),
    ("browser.html", include_str!("../../templates/browser.html")),
    (
        "app_passwords.html",
        include_str!("../../templates/app_passwords.html"),
    ),
    ("plugins.html", include_str!("../../templates/plugins.html")),
    (
        "workspaces.html",
        include_str!("../../templates/workspaces.html"),
    ),
    (
        "workspace.html",
        include_str!("../../templates/workspace.html"),
    ),
];

/// Renders `name` with `ctx`.
pub(crate) fn render(name: &str, ctx: Value) -> Result<Html<String>, AppError> {
    env()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map(Html)
        .map_err(|e| AppError::Internal(format!("template {name}: {e:#}")))
}

/// Renders a page as a response.
pub(crate) fn page(name: &str, ctx: Value) -> UiResult {
    Ok(render(name, ctx)?.into_response())
}

/// A 303 to `to`, for answers to form posts.
pub(crate) fn see_other(to: &str) -> UiResult {
    Ok(Redirect::to(to).into_response())
}

/// The decoded pairs of a urlencoded form body, in order.
pub(crate) async fn form_pairs(req: Request) -> Result<Vec<(String, String)>, UiError> {
    let bytes = axum::body::to_bytes(req.into_body(), 256 * 1024)
        .await
        .map_err(|e| AppError::BadRequest(format!("form body unreadable or too large: {e}")))?;
    Ok(url::form_urlencoded::parse(&bytes).into_owned().collect())
}

/// The last value of `name` among `pairs`.
pub(crate) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

const STATIC: [(&str, &str, &str); 2] = [
    (
        "ui.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/ui.js"),
    ),
    (
        "ui.css",
        "text/css; charset=utf-8",
        include_str!("../../static/ui.css"),
    ),
];

async fn static_file(Path(file): Path<String>) -> Response {
    match STATIC.iter().find(|(name, _, _)| *name == file) {
        Some((_, mime, text)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            *text,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        let env = env();
        for (name, _) in TEMPLATES {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn templates_escape_html() {
        let html = render(
            "error.html",
            json!({ "title": "t", "status": 400, "message": "<script>x</script>" }),
        )
        .unwrap()
        .0;
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>x"), "{html}");
    }

    #[test]
    fn authorization_required_shows_a_connect_button_and_no_write_controls() {
        let html = render(
            "browser.html",
            json!({
                "title": "Box", "csrf": "t", "user": { "name": "u", "admin": false },
                "ws": { "id": "box", "label": "Box" }, "dir": "", "crumbs": [],
                "writable": true, "provider": "Dropbox",
                "authorize_url": "https://www.dropbox.com/oauth2/authorize?x=1",
                "error": "connect your account",
            }),
        )
        .unwrap()
        .0;
        assert!(html.contains(">Connect Dropbox</a>"), "{html}");
        assert!(
            html.contains("href=\"https:&#x2f;&#x2f;www.dropbox.com"),
            "{html}"
        );
        assert!(!html.contains("upload-input"), "{html}");
    }

    #[test]
    fn a_new_app_password_is_shown_with_what_to_paste_and_never_in_the_list() {
        let ctx = |created: Value| {
            json!({
                "title": "App passwords", "csrf": "c", "user": { "name": "ann", "admin": false },
                "label": "", "created": created,
                "tokens": [{ "id": "t1", "label": "laptop", "created": "2026-01-02 03:04:05 UTC",
                             "last_used": null }],
            })
        };
        let html = render(
            "app_passwords.html",
            ctx(
                json!({ "label": "laptop", "url": "https://files.example.com/dav/",
                        "user": "ann", "password": "wsh_secret" }),
            ),
        )
        .unwrap()
        .0;
        assert!(
            html.contains("<code id=\"new-password\">wsh_secret</code>"),
            "{html}"
        );
        assert!(
            html.contains("https:&#x2f;&#x2f;files.example.com&#x2f;dav&#x2f;"),
            "{html}"
        );
        assert!(html.contains("will not be shown again"), "{html}");
        assert_eq!(html.matches("wsh_secret").count(), 1, "{html}");
        let html = render("app_passwords.html", ctx(Value::Null)).unwrap().0;
        assert!(!html.contains("new-password"), "{html}");
        assert!(
            html.contains("action=\"/ui/app-passwords/t1/revoke\""),
            "{html}"
        );
        assert!(html.contains("<td>never</td>"), "{html}");
        assert!(html.contains("<a href=\"/ui/app-passwords\">App passwords</a>"));
    }

    #[test]
    fn login_redirect_keeps_the_path_and_query() {
        assert_eq!(
            login_url("/ui/workspaces/a?dir=x y"),
            "/ui/login?next=%2Fui%2Fworkspaces%2Fa%3Fdir%3Dx+y"
        );
    }
}
