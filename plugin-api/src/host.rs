//! Host services: what the host offers every plugin — a scoped key-value store whose values
//! the host encrypts at rest, logging into the host's log, the deployment's public URL, and
//! the configuration of the plugin's own workspaces.
//!
//! The host implements [`HostServices`]; a plugin receives a [`Host`] handle bound to its own
//! plugin id, so one plugin can never read another plugin's data.

use std::sync::Arc;
use std::time::Duration;

use crate::error::Result;
use crate::types::WorkspaceConfig;

/// The part of the key-value space a value lives in, inside the calling plugin's space.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct KvScope {
    /// Restrict to one workspace (`None`: plugin-wide).
    pub workspace: Option<String>,
    /// Restrict to one user (`None`: shared by all users).
    pub user: Option<String>,
}

impl KvScope {
    /// Plugin-wide values (for example pending OAuth states).
    pub fn plugin() -> Self {
        KvScope::default()
    }

    /// Values of one workspace, shared by its users.
    pub fn workspace(ws: &str) -> Self {
        KvScope {
            workspace: Some(ws.to_owned()),
            user: None,
        }
    }

    /// Values of one user in one workspace (for example that user's OAuth tokens).
    pub fn user(ws: &str, user: &str) -> Self {
        KvScope {
            workspace: Some(ws.to_owned()),
            user: Some(user.to_owned()),
        }
    }
}

/// Severity of a plugin's log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Very detailed diagnostics.
    Trace = 0,
    /// Diagnostics.
    Debug = 1,
    /// Normal operation.
    Info = 2,
    /// Something unexpected that the plugin handled.
    Warn = 3,
    /// Something failed.
    Error = 4,
}

impl LogLevel {
    pub(crate) fn from_u8(v: u8) -> LogLevel {
        match v {
            0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            _ => LogLevel::Error,
        }
    }
}

/// The services a host provides to one plugin. Implemented by the host (and by
/// `testing::MemoryHost`); plugins use it through [`Host`].
pub trait HostServices: Send + Sync + 'static {
    /// The value stored under `key`, if any and not expired.
    fn kv_get(&self, scope: &KvScope, key: &str) -> Result<Option<Vec<u8>>>;
    /// Stores `value` under `key`, replacing any previous one; it expires after `ttl` if given.
    fn kv_put(&self, scope: &KvScope, key: &str, value: &[u8], ttl: Option<Duration>)
        -> Result<()>;
    /// Removes and returns the value under `key` atomically: two concurrent takes never both
    /// get it (this is what makes an OAuth `state` single-use across host instances).
    fn kv_take(&self, scope: &KvScope, key: &str) -> Result<Option<Vec<u8>>>;
    /// Removes the value under `key`, if any.
    fn kv_delete(&self, scope: &KvScope, key: &str) -> Result<()>;
    /// Writes a line to the host's log, tagged with the plugin id. Never log secrets.
    fn log(&self, level: LogLevel, message: &str);
    /// The deployment's public base URL, without a trailing slash (`https://files.example.com`).
    fn public_url(&self) -> String;
    /// The configuration of one of this plugin's workspaces (`NotFound` for others).
    fn workspace_config(&self, workspace: &str) -> Result<WorkspaceConfig>;

    /// A named, negotiated addition to the services (see `docs/plugin-abi.md`, "room to
    /// grow"); `Unsupported` when the host does not know `name`. Known names: `metrics`.
    fn extension(&self, name: &str, payload: &[u8]) -> Result<Vec<u8>> {
        let _ = payload;
        Err(crate::error::PluginError::unsupported(&format!(
            "host extension {name}"
        )))
    }
}

fn escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c if c.is_control() => Vec::new(),
            c => vec![c],
        })
        .collect()
}

/// A plugin's handle on its host services; cheap to clone.
#[derive(Clone)]
pub struct Host(Arc<dyn HostServices>);

impl Host {
    /// Wraps a host implementation.
    pub fn new(services: Arc<dyn HostServices>) -> Self {
        Host(services)
    }

    /// Logs at info level.
    pub fn info(&self, message: &str) {
        self.0.log(LogLevel::Info, message)
    }

    /// Logs at warn level.
    pub fn warn(&self, message: &str) {
        self.0.log(LogLevel::Warn, message)
    }

    /// Adds `value` to the host's counter `wshost_plugin_<name>` (names and label names
    /// `[a-z0-9_]`, at most 4 labels). Best effort: a host without metrics ignores it.
    pub fn count(&self, name: &str, labels: &[(&str, &str)], value: u64) {
        self.metric("counter", name, labels, value as f64)
    }

    /// Records `value` (seconds, bytes…) in the host's histogram `wshost_plugin_<name>`.
    pub fn observe(&self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.metric("histogram", name, labels, value)
    }

    fn metric(&self, kind: &str, name: &str, labels: &[(&str, &str)], value: f64) {
        // Hand-built JSON: plugin-api stays free of serde; names are [a-z0-9_] by contract.
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("\"{}\":\"{}\"", escape(k), escape(v)))
            .collect();
        let payload = format!(
            "{{\"kind\":\"{kind}\",\"name\":\"{}\",\"labels\":{{{}}},\"value\":{value}}}",
            escape(name),
            labels.join(",")
        );
        let _ = self.0.extension("metrics", payload.as_bytes());
    }
}

impl std::ops::Deref for Host {
    type Target = dyn HostServices;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Host")
    }
}
