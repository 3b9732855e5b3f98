//! The HTTP side of Dropbox: one blocking client, the three request styles (RPC, upload,
//! download), the `Dropbox-API-Arg` header encoding, bounded retries, and the wire structs.
//!
//! Retries: a 429 (or a 409 `too_many_write_operations`) waits for `Retry-After` (1 s when
//! absent); a 5xx or a broken connection waits 250 ms, 500 ms, 1 s. At most [`ATTEMPTS`]
//! requests are sent, each retry is logged, and the last failure is answered.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use plugin_api::{
    ByteRange, CallContext, Entry, ErrorKind, Host, LogLevel, PluginError, Result, WsPath,
};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::{DropboxConfig, TokenScope};
use crate::connection::Connection;
use crate::error::{self, shown, ApiError};
use crate::oauth::{self, GrantError};

/// The most requests sent for one call.
pub(crate) const ATTEMPTS: u32 = 4;
/// The longest `Retry-After` waited for inside a call; longer ones are answered to the client.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// The HTTP client shared by every workspace of the plugin, and the host to log retries to.
pub(crate) struct Core {
    pub(crate) http: Client,
    pub(crate) host: Host,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Core")
    }
}

/// Encodes a `Dropbox-API-Arg` value: JSON with every non-ASCII character and DEL escaped as
/// `\uXXXX` (surrogate pairs above the BMP), so the header is plain ASCII.
pub(crate) fn header_json(arg: &Value) -> String {
    let text = arg.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() && c != '\x7f' {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

fn retry_after(resp: &Response) -> Option<Duration> {
    resp.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250 << (attempt - 1).min(4))
}

impl Core {
    /// A client that never follows redirects (the OAuth2 token endpoint must not either).
    pub(crate) fn new(host: Host) -> Result<Self> {
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(20))
            .timeout(None)
            .user_agent(concat!("wshost-access-dropbox/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                plugin_api::PluginError::internal(format!("cannot build the HTTP client: {e}"))
            })?;
        Ok(Core { http, host })
    }

    /// Sends the request `build` makes, retrying as the module doc says.
    fn send(
        &self,
        route: &str,
        what: &str,
        build: &dyn Fn() -> RequestBuilder,
    ) -> Result<Response, ApiError> {
        let mut attempt = 1;
        loop {
            // Reported to the host's /metrics as wshost_plugin_dropbox_*.
            self.host
                .count("dropbox_api_calls_total", &[("route", route)], 1);
            let (failure, wait) = match build().send() {
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let after = retry_after(&resp);
                    let body = resp.text().unwrap_or_default();
                    let failure = error::from_status(what, status, after, &body);
                    let wait = match &failure {
                        ApiError::Failed(e) if e.kind == ErrorKind::RateLimited => {
                            let body_after = serde_json::from_str::<Value>(&body)
                                .ok()
                                .and_then(|j| j["error"]["retry_after"].as_u64())
                                .map(Duration::from_secs);
                            Some(after.or(body_after).unwrap_or(Duration::from_secs(1)))
                                .filter(|w| *w <= MAX_WAIT)
                        }
                        _ if status >= 500 => Some(backoff(attempt)),
                        _ => None,
                    };
                    (failure, wait)
                }
                Err(e) => (
                    ApiError::Failed(error::transport(what, &e)),
                    Some(backoff(attempt)),
                ),
            };
            match wait {
                Some(wait) if attempt < ATTEMPTS => {
                    let why = match &failure {
                        ApiError::Failed(e) => e.kind.as_str(),
                        _ => "unauthorized",
                    };
                    self.host.log(
                        LogLevel::Warn,
                        &format!(
                            "{route}: {why}, retry {attempt} of {} in {} ms",
                            ATTEMPTS - 1,
                            wait.as_millis()
                        ),
                    );
                    self.host.count(
                        "dropbox_retries_total",
                        &[("route", route), ("reason", why)],
                        1,
                    );
                    if why == ErrorKind::RateLimited.as_str() {
                        self.host.observe(
                            "dropbox_rate_limit_wait_seconds",
                            &[],
                            wait.as_secs_f64(),
                        );
                    }
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                _ => return Err(failure),
            }
        }
    }

    /// An RPC call: JSON argument (`Value::Null` for none), JSON result.
    pub(crate) fn rpc(
        &self,
        cfg: &DropboxConfig,
        token: &str,
        route: &str,
        arg: &Value,
        what: &str,
    ) -> Result<Value, ApiError> {
        let url = format!("{}/2/{route}", cfg.api_url);
        let body = arg.to_string();
        let resp = self.send(route, what, &|| {
            self.http
                .post(&url)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body.clone())
        })?;
        let text = resp
            .text()
            .map_err(|e| ApiError::Failed(error::transport(what, &e)))?;
        serde_json::from_str(&text).map_err(|e| ApiError::Failed(error::bad_answer(what, e)))
    }

    /// An upload-style call: argument in `Dropbox-API-Arg`, bytes as body, JSON result.
    pub(crate) fn upload(
        &self,
        cfg: &DropboxConfig,
        token: &str,
        route: &str,
        arg: &Value,
        bytes: &Bytes,
        what: &str,
    ) -> Result<Value, ApiError> {
        let url = format!("{}/2/{route}", cfg.content_url);
        let header = header_json(arg);
        let resp = self.send(route, what, &|| {
            self.http
                .post(&url)
                .bearer_auth(token)
                .header("content-type", "application/octet-stream")
                .header("dropbox-api-arg", header.as_str())
                .body(bytes.clone()) // a reference count, not a copy
        })?;
        let text = resp
            .text()
            .map_err(|e| ApiError::Failed(error::transport(what, &e)))?;
        serde_json::from_str(&text).map_err(|e| ApiError::Failed(error::bad_answer(what, e)))
    }

    /// A download-style call: the response whose body streams the bytes, and its metadata.
    pub(crate) fn download(
        &self,
        cfg: &DropboxConfig,
        token: &str,
        arg: &Value,
        range: Option<ByteRange>,
        what: &str,
    ) -> Result<(Response, Metadata), ApiError> {
        let url = format!("{}/2/files/download", cfg.content_url);
        let header = header_json(arg);
        let range = range.map(|r| match r.len {
            Some(len) => format!("bytes={}-{}", r.start, r.start + len.max(1) - 1),
            None => format!("bytes={}-", r.start),
        });
        let resp = self.send("files/download", what, &|| {
            let req = self
                .http
                .post(&url)
                .bearer_auth(token)
                .header("dropbox-api-arg", header.as_str());
            match &range {
                Some(r) => req.header("range", r.as_str()),
                None => req,
            }
        })?;
        let meta = resp
            .headers()
            .get("dropbox-api-result")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| error::bad_answer(what, "no Dropbox-API-Result header"))
            .and_then(|v| {
                serde_json::from_str::<Metadata>(v).map_err(|e| error::bad_answer(what, e))
            })?;
        Ok((resp, meta))
    }
}

/// One workspace's side of the core: the client the plugin shares, the workspace's
/// configuration, and the token handling every call goes through ([`Workspace::call`]). The
/// operation modules (`backend`, `lister`, `reader`, `writer`) reach Dropbox through it.
pub(crate) struct Workspace {
    core: Arc<Core>,
    cfg: DropboxConfig,
}

impl Workspace {
    pub(crate) fn new(core: Arc<Core>, cfg: DropboxConfig) -> Self {
        Workspace { core, cfg }
    }

    pub(crate) fn cfg(&self) -> &DropboxConfig {
        &self.cfg
    }

    pub(crate) fn core(&self) -> &Core {
        &self.core
    }

    /// Whose tokens this call uses.
    pub(crate) fn owner<'a>(&self, ctx: &'a CallContext) -> Result<&'a str> {
        if self.cfg.refresh_token.is_some() {
            return Ok("");
        }
        match (self.cfg.token_scope, ctx.user.as_deref()) {
            (_, Some(user)) => Ok(user),
            (TokenScope::Workspace, None) => Ok(""),
            (TokenScope::User, None) => Err(PluginError::new(
                ErrorKind::PermissionDenied,
                "this Dropbox workspace needs a logged-in user",
            )),
        }
    }

    /// The error that sends `user` to Dropbox's page — if they may connect this workspace
    /// (`connection`'s rule); else why not, without starting an authorization.
    fn authorization_required(&self, ctx: &CallContext, user: &str, why: &str) -> PluginError {
        if let Err(e) = Connection::of(&self.cfg).may_connect(ctx, &self.cfg.workspace) {
            return PluginError::new(e.kind, format!("{why}: {}", e.message));
        }
        match oauth::authorize_url(&self.core.host, &self.cfg, user, self.cfg.state_ttl) {
            Ok(url) => PluginError::authorization_required(
                format!(
                    "{why}: connect your Dropbox account to workspace '{}'",
                    self.cfg.workspace
                ),
                url,
            ),
            Err(e) => e,
        }
    }

    fn refreshed(
        &self,
        ctx: &CallContext,
        user: &str,
        tokens: &oauth::Tokens,
    ) -> Result<oauth::Tokens> {
        match oauth::refresh(&self.core.http, &self.cfg, tokens) {
            Ok(fresh) => {
                oauth::store(&self.core.host, &self.cfg, user, &fresh)?;
                Ok(fresh)
            }
            Err(GrantError::InvalidGrant) => {
                oauth::forget(&self.core.host, &self.cfg, user)?;
                Err(self.authorization_required(
                    ctx,
                    user,
                    "Dropbox no longer accepts this connection",
                ))
            }
            Err(GrantError::Other(e)) => Err(e),
        }
    }

    /// Runs `f` with the caller's access token: refreshes it when it is about to expire, and
    /// once more when Dropbox says `expired_access_token`; answers `authorization_required`
    /// when there is no usable grant.
    pub(crate) fn call<T>(
        &self,
        ctx: &CallContext,
        f: &mut dyn FnMut(&str) -> Result<T, ApiError>,
    ) -> Result<T> {
        let user = self.owner(ctx)?;
        let mut tokens = match (
            oauth::load(&self.core.host, &self.cfg, user)?,
            &self.cfg.refresh_token,
        ) {
            (Some(t), _) => t,
            // A configured refresh token: get a first access token with it.
            (None, Some(refresh)) => oauth::Tokens {
                access_token: String::new(),
                refresh_token: Some(refresh.clone()),
                expires_at: Some(0),
                account_id: None,
            },
            (None, None) => {
                return Err(self.authorization_required(ctx, user, "not connected to Dropbox"))
            }
        };
        if tokens.expires_soon() {
            tokens = self.refreshed(ctx, user, &tokens)?;
        }
        let mut refreshed = false;
        loop {
            match f(&tokens.access_token) {
                Ok(v) => return Ok(v),
                Err(ApiError::Failed(e)) => return Err(e),
                Err(ApiError::IncorrectOffset(n)) => {
                    return Err(PluginError::internal(format!(
                        "the Dropbox upload session is at byte {n}, not where this upload is"
                    )))
                }
                Err(ApiError::Expired) if !refreshed => {
                    refreshed = true;
                    tokens = self.refreshed(ctx, user, &tokens)?;
                }
                Err(ApiError::Expired | ApiError::Unauthorized(_)) => {
                    oauth::forget(&self.core.host, &self.cfg, user)?;
                    return Err(self.authorization_required(
                        ctx,
                        user,
                        "Dropbox refused the stored access",
                    ));
                }
            }
        }
    }

    /// An RPC call with the caller's token.
    pub(crate) fn rpc(
        &self,
        ctx: &CallContext,
        route: &str,
        arg: Value,
        what: &str,
    ) -> Result<Value> {
        self.call(ctx, &mut |token| {
            self.core.rpc(&self.cfg, token, route, &arg, what)
        })
    }

    /// The entry at `path` (`files/get_metadata`; the root has none, so its token is checked).
    pub(crate) fn stat(&self, ctx: &CallContext, path: &WsPath) -> Result<Entry> {
        let what = format!("stat '{}'", shown(path));
        if self.cfg.dropbox_path(path).is_empty() {
            // Dropbox has no metadata for its root; checking the token keeps the answer honest.
            self.call(ctx, &mut |_| Ok(()))?;
            return Ok(Entry::dir(""));
        }
        let arg = json!({ "path": self.cfg.dropbox_path(path) });
        let answer = self.rpc(ctx, "files/get_metadata", arg, &what)?;
        let meta = Metadata::parse(&answer, &what)?;
        if meta.is("deleted") {
            return Err(PluginError::not_found(format!("cannot {what}: not found")));
        }
        Ok(meta.entry(path.to_owned()))
    }
}

/// Dropbox's `Metadata` union (file, folder or deleted), the fields the driver uses.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub(crate) struct Metadata {
    /// `file`, `folder` or `deleted`; absent where the route answers a `FileMetadata` or
    /// `FolderMetadata` struct rather than the `Metadata` union (upload, download,
    /// create_folder_v2).
    #[serde(rename = ".tag", default)]
    pub(crate) tag: Option<String>,
    /// The last path component, as the user typed it.
    pub(crate) name: String,
    /// Bytes (files only).
    #[serde(default)]
    pub(crate) size: u64,
    /// `%Y-%m-%dT%H:%M:%SZ` (files only).
    #[serde(default)]
    pub(crate) server_modified: Option<String>,
    /// The revision (files only).
    #[serde(default)]
    pub(crate) rev: Option<String>,
    /// Dropbox's content hash (files only).
    #[serde(default)]
    pub(crate) content_hash: Option<String>,
}

impl Metadata {
    /// The entry for this metadata at workspace path `path`.
    pub(crate) fn entry(&self, path: String) -> Entry {
        if self.is("folder") {
            return Entry::dir(path);
        }
        let mut entry = Entry::file(path, self.size);
        entry.modified = self.server_modified.as_deref().and_then(parse_time);
        entry.etag = self.rev.clone();
        entry
    }

    /// True when the union tag is `tag`.
    pub(crate) fn is(&self, tag: &str) -> bool {
        self.tag.as_deref() == Some(tag)
    }

    /// Parses one `Metadata` value.
    pub(crate) fn parse(value: &Value, what: &str) -> Result<Metadata> {
        serde_json::from_value(value.clone()).map_err(|e| error::bad_answer(what, e))
    }
}

/// `2024-05-01T12:34:56Z` as a time (Dropbox's only timestamp format).
pub(crate) fn parse_time(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    u64::try_from(secs)
        .ok()
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn header_json_escapes_non_ascii() {
        let arg = json!({"path": "/café/😀\u{7f}"});
        assert_eq!(
            header_json(&arg),
            r#"{"path":"/caf\u00e9/\ud83d\ude00\u007f"}"#
        );
        let back: Value = serde_json::from_str(&header_json(&arg)).unwrap();
        assert_eq!(back, arg);
    }

    #[test]
    fn times_and_entries() {
        let t = parse_time("2024-05-01T12:34:56Z").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_714_566_896
        );
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(UNIX_EPOCH));
        assert_eq!(parse_time("2024-05-01 12:34:56"), None);
        let file = json!({".tag":"file","name":"a.txt","id":"id:x","size":5,
            "server_modified":"2024-05-01T12:34:56Z","client_modified":"2024-05-01T12:34:56Z",
            "rev":"0123456789a","path_lower":"/a.txt","path_display":"/a.txt",
            "content_hash":"00"});
        let m = Metadata::parse(&file, "x").unwrap();
        let e = m.entry("docs/a.txt".into());
        assert_eq!(
            (e.is_dir, e.size, e.etag.as_deref()),
            (false, 5, Some("0123456789a"))
        );
        assert_eq!(e.modified, Some(t));
        let untagged = json!({"name":"a.txt","id":"id:x","size":5,"rev":"0123456789a"});
        assert!(
            !Metadata::parse(&untagged, "x")
                .unwrap()
                .entry("a".into())
                .is_dir
        );
        let folder = json!({".tag":"folder","name":"d","id":"id:y","path_lower":"/d"});
        assert!(
            Metadata::parse(&folder, "x")
                .unwrap()
                .entry("d".into())
                .is_dir
        );
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        let waits: Vec<_> = (1..ATTEMPTS).map(|a| backoff(a).as_millis()).collect();
        assert_eq!(waits, vec![250, 500, 1000]);
    }
}
