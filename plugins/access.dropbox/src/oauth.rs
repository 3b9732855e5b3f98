//! OAuth2 with Dropbox (the oauth2 crate over reqwest): authorize URLs, the callback action,
//! code exchange with the PKCE verifier, refresh, revoke, and the stored tokens.
//!
//! - A pending authorization is `state:<state>` in the plugin-wide store, holding the
//!   workspace, the user and the PKCE verifier; it expires after `STATE_TTL` seconds and is
//!   consumed with `kv_take`, so it is single-use even across host instances. The callback
//!   reads it first and consumes it only when it belongs to the caller: another user who
//!   learns a state cannot spoil it.
//! - A user has at most one pending authorization per workspace: `pending_state` in the
//!   (workspace, user) scope names it, and a new one deletes the one it replaces, so repeated
//!   `ls` calls on an unconnected workspace keep one row, not one each.
//! - Tokens are JSON under `tokens`, in the user's scope of the workspace (or the workspace's
//!   scope when `TOKEN_SCOPE = workspace`); the host encrypts them at rest.
//! - A refresh answer has no refresh token: the old one is kept. `invalid_grant` on refresh
//!   means the grant is gone: the tokens are deleted and the user must authorize again.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse,
    TokenUrl,
};
use plugin_api::{
    ActionRequest, ActionResponse, CallContext, ErrorKind, Host, KvScope, LogLevel, PluginError,
    Result,
};
use reqwest::blocking::Client;
use serde::{Deserialize, Serialize};

use crate::config::DropboxConfig;
use crate::connection::Connection;

/// The key of a workspace's (or user's) tokens.
const TOKENS_KEY: &str = "tokens";
/// Refresh when the access token has less than this left.
const REFRESH_MARGIN: u64 = 120;

/// The tokens of one connection, as stored (encrypted by the host).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// The bearer token of API calls.
    pub access_token: String,
    /// The long-lived token that gets new access tokens (offline access).
    pub refresh_token: Option<String>,
    /// When the access token expires, in seconds since the Unix epoch.
    pub expires_at: Option<u64>,
    /// The Dropbox account (`dbid:…`).
    pub account_id: Option<String>,
}

impl std::fmt::Debug for Tokens {
    /// Tokens are never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_at", &self.expires_at)
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Tokens {
    /// True when the access token is expired or about to be.
    pub fn expires_soon(&self) -> bool {
        self.expires_at
            .is_some_and(|at| at <= now() + REFRESH_MARGIN)
    }
}

/// A pending authorization, stored under its `state`.
#[derive(Serialize, Deserialize)]
struct Pending {
    ws: String,
    user: String,
    verifier: String,
}

/// The extra fields of Dropbox's token answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DropboxFields {
    #[serde(default)]
    account_id: Option<String>,
}
impl ExtraTokenFields for DropboxFields {}

type TokenAnswer = StandardTokenResponse<DropboxFields, BasicTokenType>;
type OauthClient = oauth2::Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

fn client(cfg: &DropboxConfig) -> Result<OauthClient> {
    let bad = |name: &str| {
        PluginError::invalid_input(format!(
            "workspace '{}': {name} is not a valid URL",
            cfg.workspace
        ))
    };
    let client = oauth2::Client::new(ClientId::new(cfg.client_id.clone()))
        .set_auth_uri(AuthUrl::new(cfg.auth_url.clone()).map_err(|_| bad("AUTH_URL"))?)
        .set_token_uri(TokenUrl::new(cfg.token_url.clone()).map_err(|_| bad("TOKEN_URL"))?)
        .set_redirect_uri(
            RedirectUrl::new(cfg.redirect_url.clone()).map_err(|_| bad("REDIRECT_URL"))?,
        )
        .set_auth_type(AuthType::RequestBody);
    Ok(match &cfg.client_secret {
        Some(secret) => client.set_client_secret(ClientSecret::new(secret.clone())),
        None => client,
    })
}

fn state_key(state: &str) -> String {
    format!("state:{state}")
}

/// The key, in the (workspace, user) scope, of the state of the user's pending authorization.
const PENDING_KEY: &str = "pending_state";

/// Starts an authorization for `user` on the workspace: stores a fresh state and verifier and
/// answers the URL to send the user to.
pub(crate) fn authorize_url(
    host: &Host,
    cfg: &DropboxConfig,
    user: &str,
    ttl: Duration,
) -> Result<String> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client(cfg)?
        .authorize_url(CsrfToken::new_random)
        .add_scopes(cfg.scope.iter().cloned().map(Scope::new))
        .add_extra_param("token_access_type", "offline")
        .set_pkce_challenge(challenge)
        .url();
    let pending = Pending {
        ws: cfg.workspace.clone(),
        user: user.to_owned(),
        verifier: verifier.secret().clone(),
    };
    let value = serde_json::to_vec(&pending).map_err(|e| PluginError::internal(e.to_string()))?;
    // The new prompt replaces the user's previous one on this workspace: at most one pending
    // state per (user, workspace), however often an unconnected workspace is listed.
    let mine = KvScope::user(&cfg.workspace, user);
    if let Some(old) = host.kv_take(&mine, PENDING_KEY)? {
        host.kv_delete(
            &KvScope::plugin(),
            &state_key(&String::from_utf8_lossy(&old)),
        )?;
    }
    host.kv_put(
        &KvScope::plugin(),
        &state_key(state.secret()),
        &value,
        Some(ttl),
    )?;
    host.kv_put(&mine, PENDING_KEY, state.secret().as_bytes(), Some(ttl))?;
    Ok(url.to_string())
}

/// The tokens of `user` for the workspace, if connected.
pub(crate) fn load(host: &Host, cfg: &DropboxConfig, user: &str) -> Result<Option<Tokens>> {
    match host.kv_get(&cfg.token_store(user), TOKENS_KEY)? {
        None => Ok(None),
        Some(bytes) => match serde_json::from_slice(&bytes) {
            Ok(tokens) => Ok(Some(tokens)),
            Err(_) => {
                host.log(
                    LogLevel::Warn,
                    "stored Dropbox tokens are unreadable; forgetting them",
                );
                forget(host, cfg, user)?;
                Ok(None)
            }
        },
    }
}

/// Stores `tokens` for `user` on the workspace.
pub(crate) fn store(host: &Host, cfg: &DropboxConfig, user: &str, tokens: &Tokens) -> Result<()> {
    let value = serde_json::to_vec(tokens).map_err(|e| PluginError::internal(e.to_string()))?;
    host.kv_put(&cfg.token_store(user), TOKENS_KEY, &value, None)
}

/// Forgets the tokens of `user` on the workspace.
pub(crate) fn forget(host: &Host, cfg: &DropboxConfig, user: &str) -> Result<()> {
    host.kv_delete(&cfg.token_store(user), TOKENS_KEY)
}

fn from_answer(answer: &TokenAnswer, old_refresh: Option<String>) -> Tokens {
    Tokens {
        access_token: answer.access_token().secret().clone(),
        refresh_token: answer
            .refresh_token()
            .map(|t| t.secret().clone())
            .or(old_refresh),
        expires_at: answer.expires_in().map(|d| now() + d.as_secs()),
        account_id: answer.extra_fields().account_id.clone(),
    }
}

/// Why a token request failed, for the caller to decide.
pub(crate) enum GrantError {
    /// `invalid_grant`: the code or refresh token is used, expired or revoked.
    InvalidGrant,
    /// Anything else, as a plugin error.
    Other(PluginError),
}

fn grant_error<RE: std::error::Error + 'static>(
    what: &str,
    err: RequestTokenError<RE, BasicErrorResponse>,
) -> GrantError {
    match err {
        RequestTokenError::ServerResponse(r)
            if *r.error() == BasicErrorResponseType::InvalidGrant =>
        {
            GrantError::InvalidGrant
        }
        RequestTokenError::ServerResponse(r) => GrantError::Other(PluginError::new(
            ErrorKind::PermissionDenied,
            format!("cannot {what}: Dropbox answered {}", r.error()),
        )),
        RequestTokenError::Request(_) => GrantError::Other(PluginError::new(
            ErrorKind::Unavailable,
            format!("cannot {what}: the Dropbox token endpoint cannot be reached"),
        )),
        RequestTokenError::Parse(..) | RequestTokenError::Other(_) => {
            GrantError::Other(PluginError::internal(format!(
                "cannot {what}: unexpected answer from the Dropbox token endpoint"
            )))
        }
    }
}

/// Gets new tokens with the refresh token, keeping the refresh token.
pub(crate) fn refresh(
    http: &Client,
    cfg: &DropboxConfig,
    tokens: &Tokens,
) -> Result<Tokens, GrantError> {
    let Some(refresh) = tokens.refresh_token.clone() else {
        return Err(GrantError::InvalidGrant);
    };
    let answer = client(cfg)
        .map_err(GrantError::Other)?
        .exchange_refresh_token(&RefreshToken::new(refresh.clone()))
        .request(http)
        .map_err(|e| grant_error("refresh the Dropbox access token", e))?;
    let mut fresh = from_answer(&answer, Some(refresh));
    fresh.account_id = fresh.account_id.or_else(|| tokens.account_id.clone());
    Ok(fresh)
}

/// Revokes an access token (and with it the refresh token); failures are only logged.
pub(crate) fn revoke(host: &Host, http: &Client, cfg: &DropboxConfig, tokens: &Tokens) {
    let result = http
        .post(format!("{}/2/auth/token/revoke", cfg.api_url))
        .bearer_auth(&tokens.access_token)
        .header("content-type", "application/json")
        .body("null")
        .send();
    match result {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => host.log(
            LogLevel::Warn,
            &format!("Dropbox token revoke answered HTTP {}", r.status().as_u16()),
        ),
        Err(_) => host.log(
            LogLevel::Warn,
            "Dropbox token revoke failed: cannot reach Dropbox",
        ),
    }
}

// ---- the callback action ----

/// A page for the person in the browser: status, title and a sentence.
struct Page(u16, &'static str, String);

fn html_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn page(Page(status, title, text): Page, public_url: &str) -> ActionResponse {
    let html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{}</p><p><a href=\"{}/\">Back to your workspaces</a></p></body></html>\n",
        html_escape(&text),
        html_escape(public_url),
    );
    ActionResponse::bytes("text/html; charset=utf-8", html.into_bytes()).with_status(status)
}

/// Serves `dropbox_oauth_authorize`: Dropbox's redirect back after the user decided.
pub(crate) fn callback(
    host: &Host,
    http: &Client,
    ctx: &CallContext,
    req: &ActionRequest,
) -> ActionResponse {
    let public_url = host.public_url();
    match complete(host, http, ctx, req) {
        Ok(ws) => ActionResponse::redirect(format!(
            "{public_url}/ui/workspaces/{}",
            url::form_urlencoded::byte_serialize(ws.as_bytes()).collect::<String>()
        )),
        Err(p) => {
            host.log(
                LogLevel::Info,
                &format!("Dropbox authorization not completed: {}", p.2),
            );
            page(p, &public_url)
        }
    }
}

const REFUSED: &str = "Dropbox connection refused";

fn complete(
    host: &Host,
    http: &Client,
    ctx: &CallContext,
    req: &ActionRequest,
) -> Result<String, Page> {
    let fail = |text: &str| Page(400, REFUSED, text.to_owned());
    let state = req.query_param("state").unwrap_or("");
    if state.is_empty()
        || state.len() > 200
        || !state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(fail(
            "The answer from Dropbox carries no valid state. Start again from the workspace.",
        ));
    }
    let internal = |e: PluginError| {
        Page(
            500,
            "Dropbox connection failed",
            format!("The host could not complete the connection: {}", e.message),
        )
    };
    const GONE: &str = "This authorization has expired or was already used. Go back to the workspace and connect again.";
    let key = state_key(state);
    // Read, check whose it is, and only then consume: a state brought back by someone else
    // is refused and left for its owner.
    let Some(raw) = host.kv_get(&KvScope::plugin(), &key).map_err(internal)? else {
        return Err(fail(GONE));
    };
    let pending: Pending = serde_json::from_slice(&raw)
        .map_err(|_| fail("The pending authorization is unreadable. Connect again."))?;
    if ctx.user.as_deref() != Some(pending.user.as_str()) {
        return Err(fail(
            "This authorization was started by another user. Connect again from your own session.",
        ));
    }
    if ctx.workspace.as_deref().is_some_and(|ws| ws != pending.ws) {
        return Err(fail("This authorization belongs to another workspace."));
    }
    // Single use: of two callbacks racing with the same state, one takes it.
    match host.kv_take(&KvScope::plugin(), &key).map_err(internal)? {
        Some(taken) if taken == raw => {}
        _ => return Err(fail(GONE)),
    }
    if let Some(error) = req.query_param("error") {
        let why = req.query_param("error_description").unwrap_or("");
        let text = if error == "access_denied" {
            "You did not allow access to your Dropbox, so this workspace cannot show your files. Connect again from the workspace if you change your mind.".to_owned()
        } else {
            format!("Dropbox answered {error}: {why}")
        };
        return Err(Page(400, REFUSED, text));
    }
    let Some(code) = req.query_param("code").filter(|c| !c.is_empty()) else {
        return Err(fail(
            "The answer from Dropbox carries no authorization code.",
        ));
    };
    let config = host
        .workspace_config(&pending.ws)
        .map_err(|_| fail("The workspace of this authorization no longer exists."))?;
    let cfg = DropboxConfig::from_workspace(&config, &host.public_url()).map_err(internal)?;
    // The workspace may have become shared since the authorization started, or the user may
    // no longer be an administrator: the rule holds when the connection is made.
    Connection::of(&cfg)
        .may_connect(ctx, &pending.ws)
        .map_err(|e| Page(403, REFUSED, e.message))?;
    let answer = client(&cfg)
        .map_err(internal)?
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
        .request(http)
        .map_err(|e| match grant_error("exchange the authorization code", e) {
            GrantError::InvalidGrant => fail("Dropbox refused the authorization code (expired, already used, or not issued for this request). Connect again."),
            GrantError::Other(e) => Page(502, "Dropbox connection failed", e.message),
        })?;
    let tokens = from_answer(&answer, None);
    store(host, &cfg, &pending.user, &tokens).map_err(internal)?;
    host.log(
        LogLevel::Info,
        &format!(
            "user '{}' connected Dropbox on workspace '{}'",
            pending.user, pending.ws
        ),
    );
    Ok(pending.ws)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::testing::MemoryHost;
    use plugin_api::WorkspaceConfig;

    fn setup() -> (Host, DropboxConfig) {
        let mem = MemoryHost::new("https://files.example.com");
        let config = WorkspaceConfig {
            id: "db".into(),
            params: [
                ("CLIENT_ID", "appkey"),
                ("SCOPE", "files.content.read account_info.read"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        };
        mem.add_workspace(config.clone());
        let cfg = DropboxConfig::from_workspace(&config, "https://files.example.com").unwrap();
        (Host::new(mem), cfg)
    }

    #[test]
    fn authorize_url_carries_everything_and_stores_the_state() {
        let (host, cfg) = setup();
        let url =
            url::Url::parse(&authorize_url(&host, &cfg, "ann", Duration::from_secs(600)).unwrap())
                .unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(
            url.as_str().split('?').next(),
            Some("https://www.dropbox.com/oauth2/authorize")
        );
        for (k, v) in [
            ("response_type", "code"),
            ("client_id", "appkey"),
            ("token_access_type", "offline"),
            ("code_challenge_method", "S256"),
            (
                "redirect_uri",
                "https://files.example.com/index.php?get_action=dropbox_oauth_authorize",
            ),
            ("scope", "files.content.read account_info.read"),
        ] {
            assert_eq!(q.get(k).map(String::as_str), Some(v), "{k}");
        }
        assert_eq!(q["code_challenge"].len(), 43);
        let pending = host
            .kv_take(&KvScope::plugin(), &state_key(&q["state"]))
            .unwrap()
            .unwrap();
        let pending: Pending = serde_json::from_slice(&pending).unwrap();
        assert_eq!((pending.ws.as_str(), pending.user.as_str()), ("db", "ann"));
        assert!(pending.verifier.len() >= 43);
    }

    fn request(query: &[(&str, &str)]) -> ActionRequest {
        ActionRequest {
            name: "dropbox_oauth_authorize".into(),
            method: "GET".into(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            headers: Vec::new(),
            body: Box::new(std::io::empty()),
        }
    }

    #[test]
    fn bad_states_and_denials_answer_a_page_not_a_token() {
        let (host, cfg) = setup();
        let http = Client::new();
        let ctx = |user: &str| CallContext {
            user: Some(user.into()),
            ..CallContext::default()
        };
        let state_of = |url: String| {
            url::Url::parse(&url)
                .unwrap()
                .query_pairs()
                .find(|(k, _)| k == "state")
                .unwrap()
                .1
                .into_owned()
        };
        let ttl = Duration::from_secs(600);
        let start = || state_of(authorize_url(&host, &cfg, "ann", ttl).unwrap());
        let replaced = start();
        let foreign = start();
        // (user, query, what the page says); in order: the states are used up as they go.
        type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
        let cases: Vec<Case> = vec![
            ("ann", vec![("code", "c")], "no valid state"),
            (
                "ann",
                vec![("code", "c"), ("state", "forged")],
                "expired or was already used",
            ),
            (
                "ann",
                vec![("code", "c"), ("state", "a b")],
                "no valid state",
            ),
            // A newer prompt of the same user on the same workspace replaced this one.
            (
                "ann",
                vec![("code", "c"), ("state", &replaced)],
                "expired or was already used",
            ),
            (
                "bob",
                vec![("code", "c"), ("state", &foreign)],
                "another user",
            ),
            // Bob's try left Ann's state alone: it is still hers to use, once.
            (
                "ann",
                vec![("error", "access_denied"), ("state", &foreign)],
                "did not allow access",
            ),
            (
                "ann",
                vec![("code", "c"), ("state", &foreign)],
                "expired or was already used",
            ),
        ];
        for (user, query, why) in cases {
            let resp = callback(&host, &http, &ctx(user), &request(&query));
            assert_eq!(resp.status, 400, "{query:?}");
            let mut body = String::new();
            std::io::Read::read_to_string(&mut resp.body.unwrap(), &mut body).unwrap();
            assert!(body.contains(why), "{query:?}: {body}");
        }
        assert!(load(&host, &cfg, "ann").unwrap().is_none());
    }

    #[test]
    fn one_pending_state_per_user_and_workspace() {
        let (host, cfg) = setup();
        let ttl = Duration::from_secs(600);
        let state = |user: &str| {
            let url = url::Url::parse(&authorize_url(&host, &cfg, user, ttl).unwrap()).unwrap();
            let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
            q["state"].clone()
        };
        let pending = |s: &str| {
            host.kv_get(&KvScope::plugin(), &state_key(s))
                .unwrap()
                .is_some()
        };
        let anns: Vec<String> = (0..5).map(|_| state("ann")).collect();
        let bobs = state("bob");
        let live: Vec<bool> = anns.iter().map(|s| pending(s)).collect();
        assert_eq!(live, [false, false, false, false, true], "only the newest");
        assert!(pending(&bobs), "another user's prompt is their own");
    }

    #[test]
    fn tokens_round_trip_and_never_show() {
        let (host, cfg) = setup();
        let t = Tokens {
            access_token: "sl.secret".into(),
            refresh_token: Some("refresh-secret".into()),
            expires_at: Some(now() + 60),
            account_id: Some("dbid:x".into()),
        };
        store(&host, &cfg, "ann", &t).unwrap();
        assert_eq!(load(&host, &cfg, "ann").unwrap(), Some(t.clone()));
        assert!(load(&host, &cfg, "bob").unwrap().is_none());
        assert!(t.expires_soon());
        assert!(!format!("{t:?}").contains("secret"));
        forget(&host, &cfg, "ann").unwrap();
        assert!(load(&host, &cfg, "ann").unwrap().is_none());
    }
}
