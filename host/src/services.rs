//! The host services each plugin receives (`plugin_api::HostServices`), bound to that plugin:
//! its own key-value space, its log lines tagged with its id, the public URL, and the
//! configuration of its own workspaces only.
//!
//! The key-value data lives in memory in this version: it does not survive a restart and is
//! not shared between instances; the persistent, encrypted store replaces [`MemoryKv`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plugin_api::{HostServices, KvScope, LogLevel, PluginError, WorkspaceConfig};

use crate::workspaces::Workspaces;

/// Plugin id, scope, key.
type KvKey = (String, KvScope, String);
/// A value and when it expires.
type KvValue = (Vec<u8>, Option<Instant>);

/// Key-value data of all plugins, keyed by plugin id first.
#[derive(Default)]
pub(crate) struct MemoryKv {
    values: Mutex<HashMap<KvKey, KvValue>>,
}

impl MemoryKv {
    fn live(entry: &KvValue) -> bool {
        entry.1.is_none_or(|t| t > Instant::now())
    }
}

/// The services of one plugin.
pub(crate) struct PluginServices {
    pub(crate) plugin_id: String,
    pub(crate) public_url: String,
    pub(crate) kv: Arc<MemoryKv>,
    pub(crate) workspaces: Arc<Workspaces>,
}

impl PluginServices {
    fn key(&self, scope: &KvScope, key: &str) -> KvKey {
        (self.plugin_id.clone(), scope.clone(), key.to_owned())
    }
}

impl HostServices for PluginServices {
    fn kv_get(&self, scope: &KvScope, key: &str) -> plugin_api::Result<Option<Vec<u8>>> {
        let values = self.kv.values.lock().expect("kv lock");
        Ok(values
            .get(&self.key(scope, key))
            .filter(|e| MemoryKv::live(e))
            .map(|e| e.0.clone()))
    }

    fn kv_put(
        &self,
        scope: &KvScope,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> plugin_api::Result<()> {
        let expires = ttl.map(|d| Instant::now() + d);
        let mut values = self.kv.values.lock().expect("kv lock");
        values.retain(|_, e| MemoryKv::live(e));
        values.insert(self.key(scope, key), (value.to_vec(), expires));
        Ok(())
    }

    fn kv_take(&self, scope: &KvScope, key: &str) -> plugin_api::Result<Option<Vec<u8>>> {
        let mut values = self.kv.values.lock().expect("kv lock");
        Ok(values
            .remove(&self.key(scope, key))
            .filter(MemoryKv::live)
            .map(|e| e.0))
    }

    fn kv_delete(&self, scope: &KvScope, key: &str) -> plugin_api::Result<()> {
        self.kv
            .values
            .lock()
            .expect("kv lock")
            .remove(&self.key(scope, key));
        Ok(())
    }

    fn log(&self, level: LogLevel, message: &str) {
        let plugin = self.plugin_id.as_str();
        match level {
            LogLevel::Trace => tracing::trace!(plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin, "{message}"),
            LogLevel::Info => tracing::info!(plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin, "{message}"),
            LogLevel::Error => tracing::error!(plugin, "{message}"),
        }
    }

    fn public_url(&self) -> String {
        self.public_url.clone()
    }

    fn workspace_config(&self, workspace: &str) -> plugin_api::Result<WorkspaceConfig> {
        match self.workspaces.get(workspace) {
            Some(ws) if ws.driver == self.plugin_id => ws.config().cloned().ok_or_else(|| {
                PluginError::conflict(format!("workspace '{workspace}' is misconfigured"))
            }),
            // Another plugin's workspace is reported exactly like a missing one.
            _ => Err(PluginError::not_found(format!(
                "plugin {} has no workspace '{workspace}'",
                self.plugin_id
            ))),
        }
    }
}
