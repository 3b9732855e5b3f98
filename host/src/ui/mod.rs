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
//! clients), `admin_pages` (plugins and workspace administration), `template_pages` (the
//! administrator's template editor, and the form users make their own workspace from a
//! template with), `forms` (the workspace form generated from a manifest; its fields are the
//! macros of `macros.html`).

mod admin_pages;
mod app_passwords;
mod forms;
mod pages;
mod template_pages;

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
            "/ui/workspaces/{id}/delete",
            post(template_pages::delete_own),
        )
        .route(
            "/ui/templates/{id}/new",
            get(template_pages::new_own).post(template_pages::create_own),
        )
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
        .route("/ui/admin/templates", get(template_pages::list))
        .route(
            "/ui/admin/templates/new",
            get(template_pages::new_template).post(template_pages::create_template),
        )
        .route(
            "/ui/admin/templates/{id}",
            get(template_pages::edit_template).post(template_pages::update_template),
        )
        .route(
            "/ui/admin/templates/{id}/delete",
            post(template_pages::delete_template),
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

/// `text` as one query value (form-urlencoded).
pub(super) fn encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `/ui/login?next=PATH`.
fn login_url(next: &str) -> String {
    format!("/ui/login?next={}", encoded(next))
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

const TEMPLATES: [(&str, &str); 14] = [
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
    (
        "templates.html",
        include_str!("../../templates/templates.html"),
    ),
    (
        "template.html",
        include_str!("../../templates/template.html"),
    ),
    (
        "own_workspace.html",
        include_str!("../../templates/own_workspace.html"),
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

    const FS: &str = r#"
id = "access.fs"
type = "access"
label = "Local folder"
library = "access_fs"

[[params]]
name = "ROOT"
type = "string"
label = "Folder"
mandatory = true

[[params]]
name = "CREATE"
type = "boolean"
label = "Create the folder if missing"
advanced = true

[[params]]
name = "KEY"
type = "password"
label = "Key"
"#;

    fn fs_manifest() -> crate::manifest::Manifest {
        crate::manifest::parse(FS, std::path::Path::new("fs.toml")).unwrap()
    }

    fn scope() -> crate::manifest::Scope<'static> {
        crate::manifest::Scope {
            user: None,
            data_dir: std::path::Path::new("/srv"),
            public_url: "https://h.example",
        }
    }

    fn user_ctx(admin: bool, extra: Value) -> Value {
        let mut ctx = extra;
        ctx["title"] = "t".into();
        ctx["csrf"] = "tok".into();
        ctx["user"] = json!({ "name": "ann", "admin": admin });
        ctx
    }

    #[test]
    fn the_users_form_has_only_the_params_users_fill_in() {
        let m = fs_manifest();
        let spec = crate::store::TemplateSpec {
            user_params: ["CREATE".to_owned(), "KEY".to_owned()].into(),
            max_per_user: Some(2),
        };
        let form = crate::admin::user_form(&m, &spec);
        let mut data = forms::FormData::defaults(&form);
        data.errors.insert("label".into(), "required".into());
        let groups = forms::groups(&form, &scope(), &data);
        let html = render(
            "own_workspace.html",
            user_ctx(
                false,
                json!({
                    "template": { "id": "t", "label": "Mine", "driver_label": "Local folder",
                                  "max_per_user": 2, "made": 1 },
                    "action": "/ui/templates/t/new", "groups": groups,
                    "errors": data.errors, "general": [],
                    "own": { "label": "", "id": "", "verify_first": true },
                }),
            ),
        )
        .unwrap()
        .0;
        assert!(html.contains("name=\"p.CREATE\""), "{html}");
        assert!(html.contains("name=\"p.KEY\""), "{html}");
        assert!(
            !html.contains("ROOT"),
            "a fixed param is not in the page: {html}"
        );
        assert!(!html.contains("Folder<"), "{html}");
        assert!(html.contains("name=\"csrf\" value=\"tok\""), "{html}");
        assert!(
            html.contains("id=\"e-label\" role=\"alert\">required<"),
            "{html}"
        );
        assert!(html.contains("1 of at most 2"), "{html}");
        assert!(!html.contains("Each user fills this in"), "{html}");
    }

    #[test]
    fn the_template_editor_has_a_users_box_per_param_and_the_limit() {
        let m = fs_manifest();
        let mut data = forms::FormData::defaults(&m);
        data.secrets_set.insert("KEY".into());
        data.errors
            .insert("max_per_user".into(), "expected at least 1".into());
        let mut groups = forms::groups(&m, &scope(), &data);
        groups[0]["fields"][0]["user_param"] = true.into();
        let html = render(
            "template.html",
            user_ctx(
                true,
                json!({
                    "mode": "edit", "action": "/ui/admin/templates/t", "base": "/ui/admin/templates/t",
                    "driver": { "id": "access.fs", "label": "Local folder", "description": "" },
                    "groups": groups, "errors": data.errors, "general": [], "keywords": [],
                    "tpl": { "id": "t", "label": "Mine", "max_per_user": "0" },
                    "workspaces": ["ann-mine"], "problem": "template 't' is in use",
                }),
            ),
        )
        .unwrap()
        .0;
        assert_eq!(
            html.matches("id=\"u-").count(),
            3,
            "a box per param: {html}"
        );
        assert!(
            html.contains("name=\"user.ROOT\" value=\"true\" checked>"),
            "{html}"
        );
        assert!(
            html.contains("name=\"user.CREATE\" value=\"true\">"),
            "{html}"
        );
        assert!(html.contains("name=\"max_per_user\""), "{html}");
        assert!(html.contains("expected at least 1"), "{html}");
        assert!(
            html.contains("a value is set"),
            "a set password is marked: {html}"
        );
        assert!(
            html.contains("id=\"problem\">template &#x27;t&#x27; is in use<"),
            "{html}"
        );
        assert!(html.contains("templates&#x2f;t/delete\""), "{html}");
        assert!(html.contains("data-ws=\"ann-mine\""), "{html}");
    }

    #[test]
    fn the_workspace_form_shows_every_users_access() {
        let m = fs_manifest();
        let data = forms::FormData::defaults(&m);
        let html = render(
            "workspace.html",
            user_ctx(
                true,
                json!({
                    "mode": "edit", "action": "/ui/admin/workspaces/w", "base": "/ui/admin/workspaces/w",
                    "driver": { "id": "access.fs", "label": "Local folder" },
                    "groups": forms::groups(&m, &scope(), &data), "errors": {}, "general": [],
                    "keywords": [], "ws": { "id": "w", "label": "W", "all_users": "rw" },
                    "grants": [], "users": [],
                }),
            ),
        )
        .unwrap()
        .0;
        assert!(html.contains("name=\"all_users\""), "{html}");
        assert!(html.contains("<option value=\"rw\" selected>"), "{html}");
        assert!(!html.contains("<option value=\"r\" selected>"), "{html}");
        assert!(
            html.contains("id=\"f-ROOT\""),
            "the shared macro renders: {html}"
        );
    }

    #[test]
    fn lists_show_personal_shared_and_owned_workspaces() {
        let html = render(
            "workspaces.html",
            user_ctx(
                true,
                json!({ "workspaces": [
                    { "id": "my-files", "label": "My files", "driver": "access.fs",
                      "all_users": "rw", "personal": true, "made": null },
                    { "id": "ann-box", "label": "Box", "driver": "access.fs",
                      "made": { "template": "box", "owner": "ann" } },
                ] }),
            ),
        )
        .unwrap()
        .0;
        assert!(html.contains("every user: rw"), "{html}");
        assert!(html.contains("personal"), "{html}");
        assert!(html.contains("owned by ann"), "{html}");
        assert!(
            html.contains("href=\"/ui/admin/templates/box\" class=\"template\""),
            "{html}"
        );

        let html = render(
            "home.html",
            user_ctx(
                false,
                json!({
                    "workspaces": [
                        { "id": "my-files", "label": "My files", "driver_label": "Local folder",
                          "access": "rw", "personal": true, "owner": null },
                        { "id": "ann-box", "label": "Box", "driver_label": "Local folder",
                          "access": "rw", "template": "box", "owner": "ann" },
                        { "id": "bob-box", "label": "Bob's", "driver_label": "Local folder",
                          "access": "r", "template": "box", "owner": "bob" },
                    ],
                    "templates": [{ "id": "box", "label": "A box", "driver_label": "Local folder",
                                    "workspaces": ["ann-box"], "max_per_user": 3 }],
                }),
            ),
        )
        .unwrap()
        .0;
        assert!(html.contains("data-ws=\"my-files\""), "{html}");
        assert!(html.contains("a folder of your own"), "{html}");
        assert!(
            html.contains("action=\"/ui/workspaces/ann-box/delete\""),
            "{html}"
        );
        assert!(!html.contains("/ui/workspaces/bob-box/delete"), "{html}");
        assert!(!html.contains("/ui/workspaces/my-files/delete"), "{html}");
        assert!(html.contains("href=\"/ui/templates/box/new\""), "{html}");
        assert!(html.contains("1 of at most 3 made"), "{html}");
    }

    #[test]
    fn login_redirect_keeps_the_path_and_query() {
        assert_eq!(
            login_url("/ui/workspaces/a?dir=x y"),
            "/ui/login?next=%2Fui%2Fworkspaces%2Fa%3Fdir%3Dx+y"
        );
    }
}
