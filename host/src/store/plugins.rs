//! Run-time enable/disable overrides of plugins. They win over the deployment's config and
//! the manifest default; every instance sharing the store sees the same overrides.

use std::collections::BTreeMap;

use super::{now, Store, StoreError};

impl Store {
    /// Every override: plugin id → enabled.
    pub(crate) async fn plugin_toggles(&self) -> Result<BTreeMap<String, bool>, StoreError> {
        let snapshot = self.snapshot().await?;
        if let Some(toggles) = snapshot.as_ref().and_then(|s| s.toggles.get(&())) {
            return Ok(toggles);
        }
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT plugin, enabled FROM plugin_toggles")
            .fetch_all(&self.pool)
            .await?;
        let toggles: BTreeMap<String, bool> = rows
            .into_iter()
            .map(|(plugin, enabled)| (plugin, enabled != 0))
            .collect();
        if let Some(s) = snapshot {
            s.toggles.put((), toggles.clone());
        }
        Ok(toggles)
    }

    /// Sets the override of `plugin`, replacing any earlier one.
    pub(crate) async fn set_plugin_toggle(
        &self,
        plugin: &str,
        enabled: bool,
    ) -> Result<(), StoreError> {
        if plugin.is_empty() {
            return Err(StoreError::Invalid("a plugin id must not be empty".into()));
        }
        sqlx::query(
            "INSERT INTO plugin_toggles (plugin, enabled, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (plugin) DO UPDATE SET enabled = excluded.enabled, \
             updated_at = excluded.updated_at",
        )
        .bind(plugin)
        .bind(i64::from(enabled))
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
