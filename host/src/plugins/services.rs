//! The host services each plugin receives (`plugin_api::HostServices`), bound to that plugin:
//! its own key-value space in the store (encrypted at rest, shared by every instance), its log
//! lines tagged with its id, the public URL, and the configuration of its own workspaces only.
//!
//! Plugins call these from the blocking threads their calls run on, so each call blocks on
//! the async store through the runtime handle.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use plugin_api::{HostServices, KvScope, LogLevel, PluginError, WorkspaceConfig};
use tokio::runtime::Handle;

use crate::manifest::Manifest;
use crate::plugins::workspaces::Workspaces;
use crate::store::{Store, StoreError};

/// The services of one plugin.
pub(crate) struct PluginServices {
    pub(crate) plugin_id: String,
    pub(crate) public_url: String,
    pub(crate) store: Store,
    pub(crate) workspaces: Arc<Workspaces>,
    /// Every plugin's manifest by id, to validate workspaces.
    pub(crate) manifests: Arc<BTreeMap<String, Manifest>>,
    pub(crate) runtime: Handle,
}

fn unavailable(e: StoreError) -> PluginError {
    if e.is_unavailable() {
        // The store logs the outage once.
        tracing::debug!("store error in a host service: {e}");
    } else {
        tracing::error!("store error in a host service: {e}");
    }
    PluginError::new(
        plugin_api::ErrorKind::Unavailable,
        "the host's store is unavailable",
    )
}

impl HostServices for PluginServices {
    fn kv_get(&self, scope: &KvScope, key: &str) -> plugin_api::Result<Option<Vec<u8>>> {
        self.runtime
            .block_on(self.store.kv_get(&self.plugin_id, scope, key))
            .map_err(unavailable)
    }

    fn kv_put(
        &self,
        scope: &KvScope,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> plugin_api::Result<()> {
        self.runtime
            .block_on(self.store.kv_put(&self.plugin_id, scope, key, value, ttl))
            .map_err(unavailable)
    }

    fn kv_take(&self, scope: &KvScope, key: &str) -> plugin_api::Result<Option<Vec<u8>>> {
        self.runtime
            .block_on(self.store.kv_take(&self.plugin_id, scope, key))
            .map_err(unavailable)
    }

    fn kv_delete(&self, scope: &KvScope, key: &str) -> plugin_api::Result<()> {
        self.runtime
            .block_on(self.store.kv_delete(&self.plugin_id, scope, key))
            .map_err(unavailable)
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

    fn extension(&self, name: &str, payload: &[u8]) -> plugin_api::Result<Vec<u8>> {
        match name {
            "metrics" => crate::telemetry::plugin_metric(&self.plugin_id, payload)
                .map(|()| Vec::new())
                .map_err(PluginError::invalid_input),
            other => Err(PluginError::unsupported(&format!("host extension {other}"))),
        }
    }

    fn workspace_config(&self, workspace: &str) -> plugin_api::Result<WorkspaceConfig> {
        let found = self
            .runtime
            .block_on(
                self.workspaces
                    .get(&self.store, workspace, |id| self.manifests.get(id)),
            )
            .map_err(unavailable)?;
        match found {
            // With its keywords expanded as for the console: no user (a plugin asks for a
            // workspace's shared settings, never for one user's folder).
            Some(ws) if ws.driver == self.plugin_id => self
                .workspaces
                .config_for(&ws, None, self.manifests.get(&ws.driver))
                .map_err(|reason| {
                    PluginError::conflict(format!(
                        "workspace '{workspace}' is misconfigured: {reason}"
                    ))
                }),
            // Another plugin's workspace is reported exactly like a missing one.
            _ => Err(PluginError::not_found(format!(
                "plugin {} has no workspace '{workspace}'",
                self.plugin_id
            ))),
        }
    }
}
