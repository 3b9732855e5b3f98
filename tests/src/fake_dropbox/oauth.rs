//! OAuth2 as Dropbox does it: the authorize page (Approve/Deny, or auto-approve), codes bound
//! to client, redirect URI and PKCE challenge, the token endpoint (code and refresh grants,
//! client credentials in the body or as Basic, `invalid_grant`/`invalid_client`), access
//! tokens `sl.…` that expire, and `auth/token/revoke`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::server::{App, Call, ACCOUNT_ID};
use super::state::random_token;
use super::wire::{ok_json, rpc_arg, ApiError};

/// The scopes a grant has when the request names none.
const DEFAULT_SCOPE: &str = "account_info.read files.content.read files.content.write files.metadata.read files.metadata.write";

/// The numeric user id Dropbox still returns as `uid`.
const UID: &str = "12345678";

struct Code {
    client_id: String,
    redirect_uri: Option<String>,
    challenge: Option<(String, String)>,
    scope: String,
    offline: bool,
    expires: Instant,
}

struct Access {
    expires: Instant,
    refresh: Option<String>,
    revoked: bool,
}

struct Refresh {
    revoked: bool,
}

/// Codes and tokens.
#[derive(Default)]
pub(crate) struct Grants {
    codes: HashMap<String, Code>,
    access: HashMap<String, Access>,
    refresh: HashMap<String, Refresh>,
}

impl Grants {
    /// 401 unless `token` is a live access token.
    pub(crate) fn check_access(&self, token: &str) -> Result<(), ApiError> {
        match self.access.get(token) {
            Some(a) if a.revoked => Err(ApiError::Auth("invalid_access_token")),
            Some(a) if a.expires <= Instant::now() => Err(ApiError::Auth("expired_access_token")),
            Some(_) => Ok(()),
            None => Err(ApiError::Auth("invalid_access_token")),
        }
    }

    /// Every access and refresh token issued so far (tests search for them where they must
    /// not be).
    pub(crate) fn all_tokens(&self) -> Vec<String> {
        self.access
            .keys()
            .chain(self.refresh.keys())
            .cloned()
            .collect()
    }

    pub(crate) fn expire_access_tokens(&mut self) {
        let now = Instant::now();
        for a in self.access.values_mut() {
            a.expires = now;
        }
    }

    pub(crate) fn revoke_refresh_tokens(&mut self) {
        for r in self.refresh.values_mut() {
            r.revoked = true;
        }
    }
}

impl App {
    /// Issues an access token (and a refresh token when `offline`): the code grant's answer.
    pub(crate) fn issue_tokens(&self, offline: bool, scope: Option<String>) -> Value {
        let scope = scope.unwrap_or_else(|| DEFAULT_SCOPE.to_owned());
        let mut inner = self.lock();
        let refresh = offline.then(|| random_token(64));
        if let Some(r) = &refresh {
            inner
                .grants
                .refresh
                .insert(r.clone(), Refresh { revoked: false });
            inner.counters.refresh_tokens_issued += 1;
        }
        let access = self.new_access(&mut inner, refresh.clone());
        let mut answer = json!({
            "access_token": access,
            "expires_in": self.options.access_token_ttl.as_secs(),
            "token_type": "bearer",
            "scope": scope,
            "account_id": ACCOUNT_ID,
            "uid": UID,
        });
        if let Some(r) = refresh {
            answer["refresh_token"] = json!(r);
        }
        answer
    }

    fn new_access(&self, inner: &mut super::server::Inner, refresh: Option<String>) -> String {
        let token = format!("sl.{}", random_token(130));
        inner.grants.access.insert(
            token.clone(),
            Access {
                expires: Instant::now() + self.options.access_token_ttl,
                refresh,
                revoked: false,
            },
        );
        inner.counters.access_tokens_issued += 1;
        token
    }
}

/// The query or form fields as a map (the last value of a repeated name wins).
fn fields(raw: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t} - Fake Dropbox</title></head>\
         <body><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    );
    (status, Html(html)).into_response()
}

fn error_page(message: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Error (400)",
        &format!("<p id=\"error\">{}</p>", escape(message)),
    )
}

/// Checks an authorize request; the error is the message of Dropbox's 400 page.
fn check_authorize(app: &App, q: &HashMap<String, String>) -> Result<(), String> {
    let client_id = q.get("client_id").map(String::as_str).unwrap_or("");
    if client_id.is_empty() {
        return Err("Invalid client_id: missing".into());
    }
    if let Some(known) = &app.options.client_id {
        if client_id != known {
            return Err(format!("Invalid client_id: \"{client_id}\""));
        }
    }
    match q.get("response_type").map(String::as_str) {
        Some("code") => {}
        Some(other) => return Err(format!("Invalid response_type: \"{other}\"")),
        None => return Err("Missing response_type".into()),
    }
    if let Some(uri) = q.get("redirect_uri") {
        let registered = &app.options.redirect_uris;
        if !registered.is_empty() && !registered.contains(uri) {
            return Err(format!("Invalid redirect_uri. It must exactly match one of the redirect URIs you've pre-configured for your app (including the path): \"{uri}\""));
        }
        if !(uri.starts_with("https://")
            || uri.starts_with("http://127.0.0.1")
            || uri.starts_with("http://localhost")
            || uri.starts_with("http://[::1]"))
        {
            return Err(
                "Invalid redirect_uri: non-HTTPS redirect URIs are only allowed for localhost"
                    .into(),
            );
        }
    }
    if q.get("state").is_some_and(|s| s.len() > 500) {
        return Err("Invalid state: longer than 500 bytes".into());
    }
    if let Some(t) = q.get("token_access_type") {
        if !["offline", "online", "legacy"].contains(&t.as_str()) {
            return Err(format!("Invalid token_access_type: \"{t}\""));
        }
    }
    if let Some(challenge) = q.get("code_challenge") {
        if !(43..=128).contains(&challenge.len()) {
            return Err("Invalid code_challenge: must be 43 to 128 characters".into());
        }
        match q.get("code_challenge_method").map(String::as_str) {
            Some("S256") | Some("plain") => {}
            _ => return Err("Invalid code_challenge_method: use S256 or plain".into()),
        }
    }
    Ok(())
}

/// `GET /oauth2/authorize`: the approval page, or at once the redirect with a code.
pub(crate) async fn authorize(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    if let Err(e) = app.count_and_fault("oauth2/authorize", false) {
        return e.into_response();
    }
    let q = fields(query.unwrap_or_default().as_bytes());
    if let Err(message) = check_authorize(&app, &q) {
        return error_page(&message);
    }
    if app.options.auto_approve {
        return approve(&app, &q);
    }
    let hidden: String = q
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            )
        })
        .collect();
    page(
        StatusCode::OK,
        "Authorize app",
        &format!(
            "<p>The app <b>{}</b> would like access to the files of <b>{}</b> ({}).</p>\
             <form method=\"post\">{hidden}<button type=\"submit\" id=\"approve\" name=\"decision\" value=\"approve\">Allow</button> \
             <button type=\"submit\" id=\"deny\" name=\"decision\" value=\"deny\">Cancel</button></form>",
            escape(q.get("client_id").map(String::as_str).unwrap_or("")),
            escape(&app.options.display_name),
            escape(&app.options.email),
        ),
    )
}

/// `POST /oauth2/authorize`: the Approve/Deny form.
pub(crate) async fn decide(State(app): State<Arc<App>>, body: Bytes) -> Response {
    if let Err(e) = app.count_and_fault("oauth2/authorize", false) {
        return e.into_response();
    }
    let q = fields(&body);
    if let Err(message) = check_authorize(&app, &q) {
        return error_page(&message);
    }
    if q.get("decision").map(String::as_str) == Some("approve") {
        return approve(&app, &q);
    }
    let description = DENIED;
    match q.get("redirect_uri") {
        Some(uri) => redirect(
            uri,
            &[
                ("error", "access_denied"),
                ("error_description", description),
            ],
            q.get("state"),
        ),
        None => page(
            StatusCode::OK,
            "Access denied",
            &format!("<p>{description}</p>"),
        ),
    }
}

/// `uri` with `pairs` and `state` appended to its query.
fn location(uri: &str, pairs: &[(&str, &str)], state: Option<&String>) -> Result<String, String> {
    let mut url = url::Url::parse(uri).map_err(|_| "Invalid redirect_uri".to_owned())?;
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    Ok(url.to_string())
}

fn redirect(uri: &str, pairs: &[(&str, &str)], state: Option<&String>) -> Response {
    match location(uri, pairs, state) {
        Ok(to) => (StatusCode::FOUND, [(header::LOCATION, to)]).into_response(),
        Err(message) => error_page(&message),
    }
}

/// The text of the deny redirect.
const DENIED: &str = "The user chose not to give your app access to their Dropbox account.";

impl App {
    /// The user's decision on the approval page of `authorize_url` (only its query is read):
    /// the URL the browser is sent back to, or the error the page shows.
    pub(crate) fn decide_url(&self, authorize_url: &str, allow: bool) -> Result<String, String> {
        let query = authorize_url.split_once('?').map(|(_, q)| q).unwrap_or("");
        let q = fields(query.as_bytes());
        check_authorize(self, &q)?;
        let uri = q
            .get("redirect_uri")
            .ok_or("no redirect_uri: the code would be shown on a page")?;
        if allow {
            let code = issue_code(self, &q);
            location(uri, &[("code", &code)], q.get("state"))
        } else {
            location(
                uri,
                &[("error", "access_denied"), ("error_description", DENIED)],
                q.get("state"),
            )
        }
    }
}

fn issue_code(app: &App, q: &HashMap<String, String>) -> String {
    let code = random_token(43);
    let challenge = q.get("code_challenge").map(|c| {
        (
            c.clone(),
            q.get("code_challenge_method").cloned().unwrap_or_default(),
        )
    });
    app.lock().grants.codes.insert(
        code.clone(),
        Code {
            client_id: q.get("client_id").cloned().unwrap_or_default(),
            redirect_uri: q.get("redirect_uri").cloned(),
            challenge,
            scope: q
                .get("scope")
                .cloned()
                .unwrap_or_else(|| DEFAULT_SCOPE.into()),
            offline: q.get("token_access_type").map(String::as_str) == Some("offline"),
            expires: Instant::now() + app.options.code_ttl,
        },
    );
    code
}

fn approve(app: &App, q: &HashMap<String, String>) -> Response {
    let code = issue_code(app, q);
    match q.get("redirect_uri") {
        Some(uri) => redirect(uri, &[("code", &code)], q.get("state")),
        None => page(
            StatusCode::OK,
            "Enter this code into your app",
            &format!("<p>Access code: <code id=\"code\">{code}</code></p>"),
        ),
    }
}

/// Dropbox puts the description of `invalid_client` into `error` itself.
fn invalid_client(description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "error": format!("invalid_client: {description}") }).to_string(),
    )
        .into_response()
}

fn token_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "error": error, "error_description": description }).to_string(),
    )
        .into_response()
}

/// The client's credentials: HTTP Basic, else `client_id`/`client_secret` in the body.
fn credentials(
    headers: &HeaderMap,
    f: &HashMap<String, String>,
) -> (Option<String>, Option<String>) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(i, s)| (i.to_owned(), s.to_owned())));
    match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (f.get("client_id").cloned(), f.get("client_secret").cloned()),
    }
}

/// The PKCE check: `S256` is base64url(SHA-256(verifier)) without padding.
fn pkce_matches(challenge: &str, method: &str, verifier: &str) -> bool {
    if !(43..=128).contains(&verifier.len()) {
        return false;
    }
    let computed = if method == "plain" {
        verifier.to_owned()
    } else {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
    };
    computed == challenge
}

/// `POST /oauth2/token`.
pub(crate) async fn token(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(e) = app.count_and_fault("oauth2/token", false) {
        return e.into_response();
    }
    let f = fields(&body);
    let (client_id, secret) = credentials(&headers, &f);
    let Some(client_id) = client_id.filter(|c| !c.is_empty()) else {
        return token_error(
            "invalid_request",
            "No auth function available for given request",
        );
    };
    if app
        .options
        .client_id
        .as_ref()
        .is_some_and(|k| *k != client_id)
    {
        return invalid_client("Invalid client_id or client_secret");
    }
    if let (Some(known), Some(given)) = (&app.options.client_secret, &secret) {
        if known != given {
            return invalid_client("Invalid client_id or client_secret");
        }
    }
    tracing::info!(grant_type = ?f.get("grant_type"), "fake Dropbox token request");
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => code_grant(&app, &f, &client_id, secret.is_some()),
        Some("refresh_token") => refresh_grant(&app, &f),
        Some(other) => token_error(
            "unsupported_grant_type",
            &format!("unsupported grant_type \"{other}\""),
        ),
        None => token_error("invalid_request", "missing grant_type"),
    }
}

fn code_grant(
    app: &App,
    f: &HashMap<String, String>,
    client_id: &str,
    has_secret: bool,
) -> Response {
    let code = f.get("code").cloned().unwrap_or_default();
    // A code is single-use: whatever happens next, it is gone.
    let taken = app.lock().grants.codes.remove(&code);
    let Some(code) = taken.filter(|c| c.expires > Instant::now()) else {
        return token_error("invalid_grant", "code doesn't exist or has expired");
    };
    if code.client_id != client_id {
        return token_error("invalid_grant", "code was issued to another client");
    }
    if f.get("redirect_uri") != code.redirect_uri.as_ref() {
        return token_error("invalid_grant", "redirect_uri mismatch");
    }
    match &code.challenge {
        Some((challenge, method)) => {
            let verifier = f.get("code_verifier").map(String::as_str).unwrap_or("");
            if !pkce_matches(challenge, method, verifier) {
                return token_error("invalid_grant", "invalid code verifier");
            }
        }
        None if !has_secret => {
            return invalid_client("No client_secret given, and the code had no code_challenge");
        }
        None => {}
    }
    ok_json(&app.issue_tokens(code.offline, Some(code.scope)))
}

fn refresh_grant(app: &App, f: &HashMap<String, String>) -> Response {
    let given = f.get("refresh_token").cloned().unwrap_or_default();
    let mut inner = app.lock();
    if inner.grants.refresh.get(&given).is_none_or(|r| r.revoked) {
        return token_error("invalid_grant", "refresh token is invalid or revoked");
    }
    let access = app.new_access(&mut inner, Some(given));
    inner.counters.refreshes += 1;
    ok_json(&json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": app.options.access_token_ttl.as_secs(),
    }))
}

/// `auth/token/revoke`: kills the access token, its refresh token and that refresh token's
/// other access tokens.
pub(crate) fn revoke(call: &Call<'_>, token: &str) -> Result<Response, ApiError> {
    let arg = rpc_arg(call.route, call.headers, call.body)?;
    if !arg.is_null() {
        return Err(ApiError::BadInput(
            call.route.into(),
            "request body: expected null, got value".into(),
        ));
    }
    let mut inner = call.app.lock();
    let grants = &mut inner.grants;
    let refresh = grants.access.get(token).and_then(|a| a.refresh.clone());
    if let Some(r) = &refresh {
        if let Some(grant) = grants.refresh.get_mut(r) {
            grant.revoked = true;
        }
    }
    for (t, a) in grants.access.iter_mut() {
        if t == token || (refresh.is_some() && a.refresh == refresh) {
            a.revoked = true;
        }
    }
    Ok(ok_json(&Value::Null))
}
