//! The host's parsers of untrusted input, callable from outside the crate by the fuzz targets
//! (`fuzz/`) and the benchmarks (`bench/`). Each returns what the host decided, as plain
//! strings, so that callers depend on no internal type. Not a stable API.

use std::path::Path;

use crate::web::params::Params;

/// Parses and checks manifest text as the host does at start-up: the plugin id, or the error
/// a user would read.
pub fn parse_manifest(text: &str) -> Result<String, String> {
    crate::manifest::parse(text, Path::new("input.toml"))
        .map(|m| m.id)
        .map_err(|e| e.to_string())
}

/// What the host reads from a `?get_action=` query before routing it.
#[derive(Debug, PartialEq, Eq)]
pub struct Query {
    /// `get_action` (or Pydio's `action`).
    pub action: Option<String>,
    /// `ws` (or Pydio's `tmp_repository_id`).
    pub workspace: Option<String>,
    /// `file`, normalized, or why it was refused; `Ok("")` (the root) when absent.
    pub file: Result<String, String>,
}

/// Parses a query string the way the dispatcher does.
pub fn parse_query(raw: &str) -> Query {
    let params = Params::parse(raw);
    Query {
        action: params.action().map(str::to_owned),
        workspace: params.workspace().map(str::to_owned),
        file: params.path_or_root("file").map_err(|e| e.message()),
    }
}

/// Normalizes a client path (see `paths::normalize`).
pub fn normalize_path(raw: &str) -> Result<String, String> {
    crate::paths::normalize(raw).map_err(|e| e.to_string())
}

/// The store side of one authenticated file request, for the benchmarks (`host/benches/`):
/// a SQLite store with one non-admin user granted `rw` on workspace `files`, and that user's
/// API token. [`RequestChecks::check`] asks the store what the host asks it per request.
pub struct RequestChecks {
    runtime: tokio::runtime::Runtime,
    store: crate::store::Store,
    token: String,
}

impl RequestChecks {
    /// Creates the store as `dir/wshost.db` (`dir` must not hold one already).
    pub fn open(dir: &Path) -> Result<RequestChecks, String> {
        use crate::store::{sqlite_url, Access, SecretKey, Store};
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let (store, token) = runtime.block_on(async {
            let fail = |e: crate::store::StoreError| e.to_string();
            let url = sqlite_url(&dir.join("wshost.db")).map_err(fail)?;
            let store = Store::open(&url, SecretKey::generate())
                .await
                .map_err(fail)?;
            store
                .create_user("bench", "bench-password-for-checks", false)
                .await
                .map_err(fail)?;
            store
                .grant("files", "bench", Access::ReadWrite)
                .await
                .map_err(fail)?;
            let token = store.create_token("bench", "bench").await.map_err(fail)?;
            Ok::<_, String>((store, token.token))
        })?;
        Ok(RequestChecks {
            runtime,
            store,
            token,
        })
    }

    /// Who the Bearer token belongs to, their access to the workspace, and the plugin
    /// toggles: the store reads of a file request by a non-admin token caller, each a query
    /// or, `in_request_scope`, answered from the store generation's snapshot as for a
    /// `?get_action=` request. True when read-write access was found.
    pub fn check(&self, in_request_scope: bool) -> Result<bool, String> {
        use crate::store::{Access, Store};
        let reads = async {
            let fail = |e: crate::store::StoreError| e.to_string();
            let user = self
                .store
                .token_user(&self.token)
                .await
                .map_err(fail)?
                .ok_or("the token is unknown")?;
            let access = self.store.access("files", &user.name).await.map_err(fail)?;
            self.store.plugin_toggles().await.map_err(fail)?;
            Ok(access == Some(Access::ReadWrite))
        };
        if in_request_scope {
            self.runtime.block_on(Store::request_scope(reads))
        } else {
            self.runtime.block_on(reads)
        }
    }
}
