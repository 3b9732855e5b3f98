//! The workspace parameters of `access.dropbox` (see `manifests/access.dropbox.toml`).

use std::fmt;
use std::time::Duration;

use plugin_api::{KvScope, PluginError, Result, WorkspaceConfig};

/// Default authorize page.
pub(crate) const DEFAULT_AUTH_URL: &str = "https://www.dropbox.com/oauth2/authorize";
/// Default token endpoint.
pub(crate) const DEFAULT_TOKEN_URL: &str = "https://api.dropboxapi.com/oauth2/token";
/// Default RPC host.
pub(crate) const DEFAULT_API_URL: &str = "https://api.dropboxapi.com";
/// Default upload/download host.
pub(crate) const DEFAULT_CONTENT_URL: &str = "https://content.dropboxapi.com";
/// Default upload chunk size: 8 MiB (two content_hash blocks).
pub(crate) const DEFAULT_CHUNK: u64 = 8 * 1024 * 1024;
/// Smallest chunk accepted.
pub(crate) const MIN_CHUNK: u64 = 1024;
/// Largest chunk Dropbox accepts in one request: 150 MiB.
pub(crate) const MAX_CHUNK: u64 = 150 * 1024 * 1024;

/// Whose tokens a workspace uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    /// Each user connects their own Dropbox account.
    User,
    /// One account, connected once, shared by everyone with access to the workspace.
    Workspace,
}

/// A workspace's configuration, parsed from its validated parameters.
#[derive(Clone, PartialEq, Eq)]
pub struct DropboxConfig {
    /// The workspace id.
    pub workspace: String,
    /// `CLIENT_ID`: the Dropbox app key.
    pub client_id: String,
    /// `CLIENT_SECRET`: the app secret (absent for a PKCE-only app). Never shown.
    pub client_secret: Option<String>,
    /// `SCOPE`: space-separated scopes to ask for; empty asks for the app's permissions.
    pub scope: Vec<String>,
    /// `AUTH_URL`: the authorize page.
    pub auth_url: String,
    /// `TOKEN_URL`: the token endpoint.
    pub token_url: String,
    /// `REDIRECT_URL`: where Dropbox sends the user back (must match the app exactly).
    pub redirect_url: String,
    /// `ROOT`: the Dropbox folder shown, `""` for the whole account, else `/a/b`.
    pub root: String,
    /// `TOKEN_SCOPE`: per user or per workspace tokens.
    pub token_scope: TokenScope,
    /// `API_URL`: base URL of RPC routes, no trailing slash.
    pub api_url: String,
    /// `CONTENT_URL`: base URL of upload and download routes, no trailing slash.
    pub content_url: String,
    /// `UPLOAD_CHUNK_SIZE`: single-upload threshold and session chunk size, in bytes.
    pub chunk_size: u64,
    /// `STATE_TTL`: how long a user has to approve on Dropbox's page.
    pub state_ttl: Duration,
    /// `REFRESH_TOKEN`: a refresh token obtained outside wshost; when set, the workspace uses
    /// that one account for every user and nobody connects. Never shown.
    pub refresh_token: Option<String>,
}

impl fmt::Debug for DropboxConfig {
    /// Written by hand: the client secret is shown only as set or not.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropboxConfig")
            .field("workspace", &self.workspace)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<hidden>"),
            )
            .field("scope", &self.scope)
            .field("auth_url", &self.auth_url)
            .field("token_url", &self.token_url)
            .field("redirect_url", &self.redirect_url)
            .field("root", &self.root)
            .field("token_scope", &self.token_scope)
            .field("api_url", &self.api_url)
            .field("content_url", &self.content_url)
            .field("chunk_size", &self.chunk_size)
            .field("state_ttl", &self.state_ttl)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<hidden>"),
            )
            .finish()
    }
}

fn bad(ws: &str, why: impl fmt::Display) -> PluginError {
    PluginError::invalid_input(format!("workspace '{ws}': {why}"))
}

/// Maps the legacy endpoints of older docs (Pydio's tutorial) to the current ones; any other
/// URL is used as given.
fn modern(url: &str) -> String {
    let url = url.trim_end_matches('/');
    match url {
        "https://www.dropbox.com/1/oauth2/authorize" => DEFAULT_AUTH_URL.to_owned(),
        "https://www.dropbox.com/1/oauth2/token" | "https://api.dropboxapi.com/1/oauth2/token" => {
            DEFAULT_TOKEN_URL.to_owned()
        }
        other => other.to_owned(),
    }
}

impl DropboxConfig {
    /// Parses and checks the parameters; `public_url` fills the default redirect URL.
    pub fn from_workspace(config: &WorkspaceConfig, public_url: &str) -> Result<Self> {
        let ws = config.id.as_str();
        let url = |name: &str, default: &str| -> Result<String> {
            let value = modern(config.get(name).unwrap_or(default));
            match url::Url::parse(&value) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(value),
                _ => Err(bad(ws, format!("{name} must be an http(s) URL"))),
            }
        };
        let root = config.get("ROOT").unwrap_or("").trim_end_matches('/');
        if !root.is_empty() && (!root.starts_with('/') || root.contains("//")) {
            return Err(bad(
                ws,
                "ROOT must be empty or a Dropbox folder like /Team/Files",
            ));
        }
        let token_scope = match config.get("TOKEN_SCOPE").unwrap_or("user") {
            "user" => TokenScope::User,
            "workspace" => TokenScope::Workspace,
            other => {
                return Err(bad(
                    ws,
                    format!("TOKEN_SCOPE must be user or workspace, got '{other}'"),
                ))
            }
        };
        let chunk_size = config.get_u64("UPLOAD_CHUNK_SIZE", DEFAULT_CHUNK)?;
        if !(MIN_CHUNK..=MAX_CHUNK).contains(&chunk_size) {
            return Err(bad(
                ws,
                format!("UPLOAD_CHUNK_SIZE must be between {MIN_CHUNK} and {MAX_CHUNK} bytes"),
            ));
        }
        let state_ttl = config.get_u64("STATE_TTL", 600)?;
        if !(1..=3600).contains(&state_ttl) {
            return Err(bad(ws, "STATE_TTL must be between 1 and 3600 seconds"));
        }
        let default_redirect = format!(
            "{}/index.php?get_action=dropbox_oauth_authorize",
            public_url.trim_end_matches('/')
        );
        Ok(DropboxConfig {
            workspace: ws.to_owned(),
            client_id: config.require("CLIENT_ID")?.to_owned(),
            client_secret: config.get("CLIENT_SECRET").map(str::to_owned),
            scope: config
                .get("SCOPE")
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            auth_url: url("AUTH_URL", DEFAULT_AUTH_URL)?,
            token_url: url("TOKEN_URL", DEFAULT_TOKEN_URL)?,
            redirect_url: config
                .get("REDIRECT_URL")
                .map(|u| u.replace("{public_url}", public_url.trim_end_matches('/')))
                .unwrap_or(default_redirect),
            root: root.to_owned(),
            token_scope,
            api_url: url("API_URL", DEFAULT_API_URL)?,
            content_url: url("CONTENT_URL", DEFAULT_CONTENT_URL)?,
            chunk_size,
            state_ttl: Duration::from_secs(state_ttl),
            refresh_token: config.get("REFRESH_TOKEN").map(str::to_owned),
        })
    }

    /// Where the tokens of `user` live for this workspace.
    pub fn token_store(&self, user: &str) -> KvScope {
        if self.refresh_token.is_some() {
            return KvScope::workspace(&self.workspace);
        }
        match self.token_scope {
            TokenScope::User => KvScope::user(&self.workspace, user),
            TokenScope::Workspace => KvScope::workspace(&self.workspace),
        }
    }

    /// The Dropbox path of a workspace path (`""` is Dropbox's root).
    pub fn dropbox_path(&self, path: &str) -> String {
        if path.is_empty() {
            self.root.clone()
        } else {
            format!("{}/{path}", self.root)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(params: &[(&str, &str)]) -> Result<DropboxConfig> {
        let config = WorkspaceConfig {
            id: "db".into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        DropboxConfig::from_workspace(&config, "https://files.example.com/")
    }

    #[test]
    fn defaults_and_legacy_urls() {
        let c = parse(&[("CLIENT_ID", "abc")]).unwrap();
        assert_eq!(c.auth_url, DEFAULT_AUTH_URL);
        assert_eq!(c.token_url, DEFAULT_TOKEN_URL);
        assert_eq!(
            c.redirect_url,
            "https://files.example.com/index.php?get_action=dropbox_oauth_authorize"
        );
        assert_eq!((c.root.as_str(), c.token_scope), ("", TokenScope::User));
        assert_eq!(c.chunk_size, DEFAULT_CHUNK);
        let c = parse(&[
            ("CLIENT_ID", "abc"),
            ("AUTH_URL", "https://www.dropbox.com/1/oauth2/authorize"),
            ("TOKEN_URL", "https://www.dropbox.com/1/oauth2/token"),
            ("ROOT", "/Team/"),
            ("TOKEN_SCOPE", "workspace"),
        ])
        .unwrap();
        assert_eq!(
            (c.auth_url.as_str(), c.token_url.as_str()),
            (DEFAULT_AUTH_URL, DEFAULT_TOKEN_URL)
        );
        assert_eq!(c.dropbox_path(""), "/Team");
        assert_eq!(c.dropbox_path("a/b"), "/Team/a/b");
        assert_eq!(c.token_store("u"), KvScope::workspace("db"));
    }

    #[test]
    fn refuses_bad_parameters() {
        let cases: [(&[(&str, &str)], &str); 5] = [
            (&[], "CLIENT_ID is required"),
            (&[("CLIENT_ID", "a"), ("ROOT", "Team")], "ROOT"),
            (&[("CLIENT_ID", "a"), ("TOKEN_SCOPE", "all")], "TOKEN_SCOPE"),
            (
                &[("CLIENT_ID", "a"), ("UPLOAD_CHUNK_SIZE", "10")],
                "UPLOAD_CHUNK_SIZE",
            ),
            (&[("CLIENT_ID", "a"), ("API_URL", "ftp://x")], "API_URL"),
        ];
        for (params, why) in cases {
            let e = parse(params).unwrap_err();
            assert!(e.message.contains(why), "{params:?}: {}", e.message);
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = parse(&[
            ("CLIENT_ID", "abc"),
            ("CLIENT_SECRET", "s3cr3t"),
            ("REFRESH_TOKEN", "r3fr3sh"),
        ])
        .unwrap();
        assert_eq!(c.token_store("ann"), KvScope::workspace("db"));
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("s3cr3t") && shown.contains("<hidden>"),
            "{shown}"
        );
    }
}
