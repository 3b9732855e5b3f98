//! The user's pages: logging in and out, the list of their workspaces, and the file browser
//! of one workspace.

use axum::extract::{Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum_extra::extract::cookie::CookieJar;
use plugin_api::{ErrorKind, PageRequest};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{field, form_pairs, page, render, see_other, Session, UiPath, UiQuery, UiResult};
use crate::access::{check_access, visible_workspaces};
use crate::admin::{driver_label, templates, workspace_view, Viewer};
use crate::app::error::AppError;
use crate::app::Shared;
use crate::auth::{cleared_cookie, log_in, Caller, SESSION_COOKIE};
use crate::store::Access;

#[derive(Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

/// Only paths inside the UI are followed after login (no open redirect), and only as a
/// browser sends them: visible ASCII, so that the value fits in a `Location` header (a
/// control character, a space or a raw non-ASCII character falls back to `/ui/`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/ui/")
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n.to_owned()
        }
        _ => "/ui/".to_owned(),
    }
}

pub(super) async fn login_page(
    State(state): State<Shared>,
    headers: HeaderMap,
    UiQuery(q): UiQuery<NextQuery>,
) -> UiResult {
    let next = safe_next(q.next.as_deref());
    let caller = Caller::resolve(&state, &headers).await?;
    if caller.user.is_some() {
        return see_other(&next);
    }
    page(
        "login.html",
        json!({ "title": "Log in", "next": next, "username": "" }),
    )
}

/// Checks the password like `POST /api/login` (same throttle), sets the session cookie and
/// goes to `next`.
pub(super) async fn login(
    State(state): State<Shared>,
    headers: HeaderMap,
    jar: CookieJar,
    req: Request,
) -> UiResult {
    let pairs = form_pairs(req).await?;
    let username = field(&pairs, "username").unwrap_or("").trim().to_owned();
    let password = field(&pairs, "password").unwrap_or("");
    let next = safe_next(field(&pairs, "next"));
    let refuse = |status: StatusCode, message: String, username: &str| -> UiResult {
        let html = render(
            "login.html",
            json!({ "title": "Log in", "next": next, "username": username, "error": message }),
        )?;
        Ok((status, html).into_response())
    };
    // A refusal that ends says when, as the API's does.
    let refuse_until = |status: StatusCode, e: AppError| -> UiResult {
        let mut response = refuse(status, e.message(), &username)?;
        if let Some(value) = e.retry_after() {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        Ok(response)
    };
    match log_in(&state, &headers, jar, &username, password).await {
        Ok((jar, _, _)) => Ok((jar, see_other(&next)?).into_response()),
        Err(e @ AppError::TooManyAttempts(_)) => refuse_until(StatusCode::TOO_MANY_REQUESTS, e),
        Err(e @ AppError::Busy(_)) => refuse_until(StatusCode::SERVICE_UNAVAILABLE, e),
        Err(AppError::InvalidCredentials(why)) => {
            refuse(StatusCode::UNAUTHORIZED, why.into(), &username)
        }
        // A name that cannot exist (it may be a megabyte long) is not shown back.
        Err(e @ AppError::BadRequest(_)) => refuse(StatusCode::BAD_REQUEST, e.message(), ""),
        Err(e @ AppError::CrossSite) => refuse(StatusCode::FORBIDDEN, e.message(), ""),
        Err(other) => Err(other.into()),
    }
}

pub(super) async fn logout_page(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
) -> UiResult {
    let s = Session::of(&state, &headers, &uri).await?;
    page("logout.html", s.page("Log out", json!({})))
}

pub(super) async fn logout(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    jar: CookieJar,
    req: Request,
) -> UiResult {
    let s = Session::of(&state, &headers, &uri).await?;
    let pairs = form_pairs(req).await?;
    s.check_form(&headers, field(&pairs, "csrf"))?;
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        state.store.delete_session(cookie.value()).await?;
    }
    Ok((jar.remove(cleared_cookie()), see_other("/ui/login")?).into_response())
}

#[derive(Deserialize)]
pub(super) struct HomeNotice {
    deleted: Option<String>,
}

/// The workspaces the user may use (administrators: all of them), "My files" and their own
/// among them, and the templates they may make a workspace from.
pub(super) async fn home(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiQuery(q): UiQuery<HomeNotice>,
) -> UiResult {
    let s = Session::of(&state, &headers, &uri).await?;
    let visible = visible_workspaces(&state, &s.caller).await?;
    // The user's view for everyone: this page shows no workspace's definition.
    let list: Vec<_> = visible
        .iter()
        .map(|(ws, a)| workspace_view(&state, ws, Viewer::User(*a)))
        .collect();
    let templates = templates(&state, Some(&s.user.name)).await?;
    let notice = q.deleted.map(|id| format!("Workspace '{id}' deleted."));
    page(
        "home.html",
        s.page(
            "Workspaces",
            json!({ "workspaces": list, "templates": templates, "notice": notice }),
        ),
    )
}

/// Entries per page of the file browser unless the URL asks for another size (or the limits
/// are lower: a default page never holds more entries than one batch may name, so "select
/// all" is always an action the host accepts).
const PAGE_SIZE: u32 = 1000;

/// The column a page of the file browser is sorted by; folders always come first.
#[derive(Clone, Copy, PartialEq)]
enum SortBy {
    Name,
    Size,
    Modified,
}

impl SortBy {
    const ALL: [(SortBy, &'static str, &'static str); 3] = [
        (SortBy::Name, "name", "Name"),
        (SortBy::Size, "size", "Size"),
        (SortBy::Modified, "modified", "Modified"),
    ];

    fn key(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(s, ..)| *s == self)
            .map_or("name", |c| c.1)
    }
}

/// What the browser's URL asks for: a folder, a page of it and an order. Paging follows the
/// driver's listing cursor; `back` is the trail of the cursors of the pages before this one
/// (the first page has none), so "Previous page" needs no state on the server.
struct View {
    dir: String,
    limit: Option<u32>,
    sort: SortBy,
    descending: bool,
    cursor: Option<String>,
    back: Vec<String>,
}

impl View {
    /// Reads the query string: `dir`, `limit` (1 to `limits.max_page`), `sort`
    /// (`name`|`size`|`modified`), `order` (`asc`|`desc`), `cursor` and repeated `back`.
    fn parse(query: Option<&str>, max_page: u32) -> Result<View, AppError> {
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let bad = |name: &'static str, reason: String| AppError::InvalidParam { name, reason };
        let dir = crate::paths::normalize(field(&pairs, "dir").unwrap_or(""))
            .map_err(|err| AppError::BadPath { name: "dir", err })?;
        let limit = match field(&pairs, "limit") {
            None | Some("") => None,
            Some(n) => Some(
                n.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=max_page).contains(n))
                    .ok_or_else(|| bad("limit", format!("a number from 1 to {max_page}")))?,
            ),
        };
        let sort = match field(&pairs, "sort") {
            None | Some("") => SortBy::Name,
            Some(key) => SortBy::ALL
                .iter()
                .find(|c| c.1 == key)
                .map(|c| c.0)
                .ok_or_else(|| bad("sort", "one of name, size, modified".into()))?,
        };
        let descending = match field(&pairs, "order") {
            None | Some("") | Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(bad("order", "asc or desc".into())),
        };
        let cursor = field(&pairs, "cursor")
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let back = pairs
            .iter()
            .filter(|(k, v)| k == "back" && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect();
        Ok(View {
            dir,
            limit,
            sort,
            descending,
            cursor,
            back,
        })
    }

    /// The query string of this view, defaults left out.
    fn href(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("dir", &self.dir);
        if let Some(limit) = self.limit {
            q.append_pair("limit", &limit.to_string());
        }
        if self.sort != SortBy::Name || self.descending {
            q.append_pair("sort", self.sort.key());
            q.append_pair("order", if self.descending { "desc" } else { "asc" });
        }
        if let Some(cursor) = &self.cursor {
            q.append_pair("cursor", cursor);
        }
        for c in &self.back {
            q.append_pair("back", c);
        }
        format!("?{}", q.finish())
    }

    /// This view at another page: `cursor`, with the trail that leads to it.
    fn at(&self, cursor: Option<String>, back: Vec<String>) -> View {
        View {
            dir: self.dir.clone(),
            cursor,
            back,
            ..*self
        }
    }

    /// The page after this one, which starts at the driver's `next` cursor.
    fn next(&self, next: &str) -> View {
        let mut back = self.back.clone();
        back.extend(self.cursor.clone());
        self.at(Some(next.to_owned()), back)
    }

    /// The page before this one, when this is not the first.
    fn previous(&self) -> Option<View> {
        self.cursor.as_ref()?;
        let mut back = self.back.clone();
        let cursor = back.pop();
        Some(self.at(cursor, back))
    }

    /// The header of each column: its link (ascending first, then toggling) and `aria-sort`.
    fn columns(&self) -> Value {
        SortBy::ALL
            .iter()
            .map(|&(sort, key, label)| {
                let current = sort == self.sort;
                let descending = current && !self.descending;
                let view = View {
                    sort,
                    descending,
                    ..self.at(self.cursor.clone(), self.back.clone())
                };
                let aria = match (current, self.descending) {
                    (false, _) => "none",
                    (true, false) => "ascending",
                    (true, true) => "descending",
                };
                json!({ "key": key, "label": label, "href": view.href(), "aria_sort": aria })
            })
            .collect()
    }

    /// Folders first, then the chosen column, then names ascending. A folder's size is not
    /// shown (drivers report what their storage says), so folders never sort by it.
    fn sort(&self, entries: &mut [plugin_api::Entry]) {
        entries.sort_by(|a, b| {
            let column = match self.sort {
                SortBy::Name => a.name().cmp(b.name()),
                SortBy::Size if a.is_dir => std::cmp::Ordering::Equal,
                SortBy::Size => a.size.cmp(&b.size),
                SortBy::Modified => a.modified.cmp(&b.modified),
            };
            let column = if self.descending {
                column.reverse()
            } else {
                column
            };
            b.is_dir
                .cmp(&a.is_dir)
                .then(column)
                .then_with(|| a.name().cmp(b.name()))
        });
    }
}

/// The file browser: breadcrumbs, one page of the listing of `dir` in the order asked for,
/// links to the next and previous pages, and write controls for read-write users. A driver
/// that needs the user's authorization gets a persistent Connect button.
pub(super) async fn browser(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    UiPath(id): UiPath<String>,
) -> UiResult {
    let s = Session::of(&state, &headers, &uri).await?;
    let granted = check_access(&state, &s.caller, &id, Access::Read).await?;
    let ws = state
        .workspace(&id)
        .await?
        .ok_or_else(|| AppError::UnknownWorkspace(id.clone()))?;
    let max_page = state.config.limits.max_page;
    let view = View::parse(uri.query(), max_page)?;
    let provider = driver_label(&state, &ws.driver).to_owned();
    let page = PageRequest {
        cursor: view.cursor.clone(),
        limit: view
            .limit
            .unwrap_or(PAGE_SIZE.min(max_page).min(state.config.limits.max_batch)),
    };
    // Checked by the plugin-call layer like every listing: no entry a client could not name.
    let listed = granted.driver().list(&state, view.dir.clone(), page).await;
    let dir = &view.dir;
    let mut ctx = json!({
        "ws": { "id": ws.id, "label": ws.label },
        "dir": dir,
        "crumbs": crumbs(dir),
        "writable": granted.access() == Access::ReadWrite,
        "provider": provider,
        "columns": view.columns(),
    });
    let mut status = StatusCode::OK;
    match listed {
        Ok(mut listing) => {
            view.sort(&mut listing.entries);
            ctx["entries"] = listing
                .entries
                .iter()
                .map(|e| {
                    json!({
                        "name": e.name(),
                        "path": e.path,
                        "dir": e.is_dir,
                        "size": if e.is_dir { String::new() } else { human_size(e.size) },
                        "bytes": e.size,
                        "modified": e.modified.map(shown_time),
                    })
                })
                .collect();
            let previous = view.previous();
            ctx["pager"] = json!({
                "number": view.back.len() + usize::from(view.cursor.is_some()) + 1,
                "first": previous.as_ref().map(|_| view.at(None, Vec::new()).href()),
                "previous": previous.map(|v| v.href()),
                "next": listing.next_cursor.as_deref().map(|c| view.next(c).href()),
            });
        }
        Err(AppError::Plugin(e)) if e.kind == ErrorKind::AuthorizationRequired => {
            // Only web addresses become links (never `javascript:` and the like).
            let url = e
                .authorize_url
                .clone()
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
            ctx["authorize_url"] = url.into();
            ctx["error"] = e.message.clone().into();
        }
        Err(e) => {
            ctx["error"] = e.message().into();
            status = e.status();
        }
    }
    let html = render("browser.html", s.page(&ws.label, ctx))?;
    Ok((status, html).into_response())
}

/// The breadcrumbs of `dir`: each ancestor's name and path, root first.
fn crumbs(dir: &str) -> Vec<Value> {
    let mut out = vec![json!({ "name": "Home", "path": "" })];
    let mut path = String::new();
    for part in dir.split('/').filter(|p| !p.is_empty()) {
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(part);
        out.push(json!({ "name": part, "path": path }));
    }
    out
}

/// `2026-01-02 03:04:05 UTC`.
pub(super) fn shown_time(t: std::time::SystemTime) -> String {
    let iso = humantime::format_rfc3339_seconds(t).to_string();
    iso.replacen('T', " ", 1).replace('Z', " UTC")
}

/// `1.5 KiB`-style sizes.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_inside_the_ui() {
        let cases = [
            (None, "/ui/"),
            (Some("/ui/admin/plugins"), "/ui/admin/plugins"),
            (Some("https://evil.example/"), "/ui/"),
            (Some("//evil.example/ui/"), "/ui/"),
            (Some("/api/me"), "/ui/"),
            (Some("/ui/\n"), "/ui/"),
            (Some("/ui/a b"), "/ui/"),
            (Some("/ui/é"), "/ui/"),
            (Some("/ui/\u{7f}"), "/ui/"),
            (
                Some("/ui/workspaces/a?dir=x%20y"),
                "/ui/workspaces/a?dir=x%20y",
            ),
        ];
        for (next, want) in cases {
            assert_eq!(safe_next(next), want, "{next:?}");
        }
    }

    #[test]
    fn pages_keep_the_trail_of_cursors() {
        let first = View::parse(Some("dir=a%20b&limit=3&sort=size&order=desc"), 5).unwrap();
        assert!(first.previous().is_none());
        let second = View::parse(Some(&first.next("c 1&x").href()[1..]), 5).unwrap();
        assert_eq!(second.cursor.as_deref(), Some("c 1&x"));
        assert!(second.back.is_empty());
        let third = View::parse(Some(&second.next("c2").href()[1..]), 5).unwrap();
        assert_eq!(third.back, ["c 1&x"]);
        assert_eq!(third.previous().unwrap().href(), second.href());
        assert_eq!(
            second.previous().unwrap().href(),
            "?dir=a+b&limit=3&sort=size&order=desc"
        );
        for bad in ["limit=6", "limit=0", "sort=kind", "order=up", "dir=.."] {
            assert!(View::parse(Some(bad), 5).is_err(), "{bad}");
        }
    }

    #[test]
    fn crumbs_and_sizes() {
        let c = crumbs("a/b");
        assert_eq!(c.len(), 3);
        assert_eq!(c[2]["path"], "a/b");
        assert_eq!(crumbs("").len(), 1);
        assert_eq!(human_size(10), "10 B");
        assert_eq!(human_size(1536), "1.5 KiB");
    }
}
