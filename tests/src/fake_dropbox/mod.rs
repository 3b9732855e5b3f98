//! A fake Dropbox that speaks Dropbox API v2's wire format (see
//! `../shared/reference/dropbox-api.md`): the OAuth2 authorize page and token endpoint, the
//! files and users routes the `access.dropbox` driver uses, `auth/token/revoke`, and faults a
//! test switches on. One port serves the www, api and content roles.
//!
//! ```no_run
//! use wshost_tests::fake_dropbox::{FakeDropbox, Fault, Options};
//! let fake = FakeDropbox::start(Options { auto_approve: true, ..Options::default() });
//! fake.put_file("/Docs/a.txt", b"hello");
//! fake.inject(Fault::ExpireAccessTokens);
//! assert_eq!(fake.counters().refreshes, 0);
//! ```

mod faults;
mod files;
mod oauth;
mod server;
mod state;
mod users;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub use faults::{Counters, Fault, RateLimitReason};
pub use state::content_hash;
pub use wire::header_safe_json;

/// How a fake Dropbox behaves.
#[derive(Clone)]
pub struct Options {
    /// The one registered app key; `None` accepts any.
    pub client_id: Option<String>,
    /// The app secret; `None` accepts any (a given client_id is still required).
    pub client_secret: Option<String>,
    /// Registered redirect URIs, matched exactly; empty accepts any.
    pub redirect_uris: Vec<String>,
    /// Approve at once: the authorize URL redirects with `code` and `state` (or shows the
    /// code when there is no redirect URI) instead of showing the Approve/Deny page.
    pub auto_approve: bool,
    /// Lifetime of access tokens (`expires_in`), 4 hours like Dropbox.
    pub access_token_ttl: Duration,
    /// Lifetime of authorization codes.
    pub code_ttl: Duration,
    /// The most entries one list_folder page holds, whatever `limit` says (Dropbox may
    /// answer fewer than `limit`): set it low to make a driver page.
    pub page_size: usize,
    /// The account's display name (`users/get_current_account`).
    pub display_name: String,
    /// The account's email.
    pub email: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            client_id: None,
            client_secret: None,
            redirect_uris: Vec::new(),
            auto_approve: false,
            access_token_ttl: Duration::from_secs(14_400),
            code_ttl: Duration::from_secs(600),
            page_size: 2000,
            display_name: "Franz Ferdinand".into(),
            email: "franz@example.com".into(),
        }
    }
}

/// A fake Dropbox running on a background thread with its own tokio runtime; stopped when
/// dropped.
pub struct FakeDropbox {
    /// The base URL, `http://127.0.0.1:PORT` (www, api and content hosts at once).
    pub url: String,
    app: Arc<server::App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// The Dropbox app (client id, client secret) of the suites' workspaces at a fake started
/// by [`FakeDropbox::for_host`].
pub const TEST_APP: (&str, &str) = ("wshostTestApp", "test-app-secret");

impl FakeDropbox {
    /// Starts a fake that knows the test app ([`TEST_APP`]) and the OAuth callback of the host
    /// at `host_url`, and approves every authorization at once.
    pub fn for_host(host_url: &str) -> FakeDropbox {
        Self::start(Options {
            client_id: Some(TEST_APP.0.into()),
            client_secret: Some(TEST_APP.1.into()),
            redirect_uris: vec![format!(
                "{host_url}/index.php?get_action=dropbox_oauth_authorize"
            )],
            auto_approve: true,
            ..Options::default()
        })
    }

    /// The parameters of a Dropbox workspace of the test app at this fake.
    pub fn workspace_params(&self) -> serde_json::Value {
        serde_json::json!({
            "CLIENT_ID": TEST_APP.0, "CLIENT_SECRET": TEST_APP.1,
            "AUTH_URL": self.authorize_url(), "TOKEN_URL": self.token_url(),
            "API_URL": self.url, "CONTENT_URL": self.url,
        })
    }

    /// Starts a fake on a free loopback port.
    pub fn start(options: Options) -> FakeDropbox {
        Self::start_on("127.0.0.1:0".parse().expect("address"), options)
            .expect("bind the fake Dropbox to a loopback port")
    }

    /// Starts a fake on `listen` (the `fake-dropbox` binary).
    pub fn start_on(listen: SocketAddr, options: Options) -> std::io::Result<FakeDropbox> {
        let listener = std::net::TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = Arc::new(server::App::new(options));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = server::router(app.clone());
        let thread = std::thread::Builder::new()
            .name("fake-dropbox".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("tokio runtime for the fake Dropbox");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    tokio::select! {
                        r = axum::serve(listener, router) => {
                            if let Err(e) = r { tracing::error!("fake Dropbox stopped: {e}"); }
                        }
                        _ = stopped => {}
                    }
                });
                rt.shutdown_background();
            })?;
        Ok(FakeDropbox {
            url,
            app,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `{url}/oauth2/authorize`.
    pub fn authorize_url(&self) -> String {
        format!("{}/oauth2/authorize", self.url)
    }

    /// `{url}/oauth2/token`.
    pub fn token_url(&self) -> String {
        format!("{}/oauth2/token", self.url)
    }

    /// Switches a fault on.
    pub fn inject(&self, fault: Fault) {
        self.app.inject(fault);
    }

    /// Request counts and tokens issued so far.
    pub fn counters(&self) -> Counters {
        self.app.lock().counters.clone()
    }

    /// Requests to `route` so far (`files/upload`, `oauth2/token`, …).
    pub fn requests(&self, route: &str) -> u64 {
        self.counters().requests.get(route).copied().unwrap_or(0)
    }

    /// Writes a file (parents created), as if uploaded.
    pub fn put_file(&self, path: &str, content: &[u8]) {
        let mut inner = self.app.lock();
        let display = inner
            .tree
            .place(path, false)
            .unwrap_or_else(|_| path.to_owned());
        inner.tree.write_file(&display, content.to_vec(), None);
    }

    /// Creates a folder (parents created); an existing one is kept.
    pub fn create_folder(&self, path: &str) {
        let _ = self.app.lock().tree.create_folder(path, false);
    }

    /// The content of the file at `path` (case-insensitive), if there is one.
    pub fn file(&self, path: &str) -> Option<Vec<u8>> {
        match &self.app.lock().tree.get(path)?.kind {
            state::Kind::File(f) => Some(f.content.to_vec()),
            state::Kind::Folder => None,
        }
    }

    /// Whether a file or folder is at `path`.
    pub fn exists(&self, path: &str) -> bool {
        self.app.lock().tree.get(path).is_some()
    }

    /// The metadata JSON of `path` as `files/get_metadata` answers it.
    pub fn metadata(&self, path: &str) -> Option<serde_json::Value> {
        Some(self.app.lock().tree.get(path)?.metadata(true))
    }

    /// Issues tokens without the browser flow: `(access_token, refresh_token)`.
    pub fn issue_tokens(&self) -> (String, String) {
        let answer = self.app.issue_tokens(true, None);
        (
            answer["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            answer["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    }

    /// Acts as the user on the approval page of `authorize_url` (whatever its host; only its
    /// query is read): `allow` clicks Allow, else Cancel. Answers the URL the browser is sent
    /// back to (`redirect_uri?code=…&state=…` or `?error=access_denied&…`), or the error
    /// Dropbox's page would show (unknown client, unregistered redirect URI, …).
    pub fn decide(&self, authorize_url: &str, allow: bool) -> Result<String, String> {
        self.app.decide_url(authorize_url, allow)
    }

    /// Every access and refresh token issued so far, by any grant.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.app.lock().grants.all_tokens()
    }

    /// The account id (`dbid:…`) of the fake's one account.
    pub fn account_id(&self) -> String {
        server::ACCOUNT_ID.to_owned()
    }
}

impl Drop for FakeDropbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
