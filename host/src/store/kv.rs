//! The plugins' key-value data (OAuth tokens, pending OAuth states...). A value lives under
//! (plugin, workspace or "", user or "", key); it is sealed with the secrets key and bound
//! to exactly that place, and may expire.

use std::time::Duration;

use plugin_api::KvScope;

use super::crypto::Aad;
use super::{expiry, now, Store, StoreError};

/// The row key of a value: plugin, workspace ("" for none), user ("" for none), key.
struct Place<'a> {
    plugin: &'a str,
    workspace: &'a str,
    user: &'a str,
    key: &'a str,
}

impl<'a> Place<'a> {
    fn new(plugin: &'a str, scope: &'a KvScope, key: &'a str) -> Result<Place<'a>, StoreError> {
        if plugin.is_empty() {
            return Err(StoreError::Invalid("a plugin id must not be empty".into()));
        }
        Ok(Place {
            plugin,
            workspace: scope.workspace.as_deref().unwrap_or(""),
            user: scope.user.as_deref().unwrap_or(""),
            key,
        })
    }

    fn aad(&self) -> Aad {
        Aad::new("kv", &[self.plugin, self.workspace, self.user, self.key])
    }
}

const WHERE_PLACE: &str = "plugin = $1 AND workspace = $2 AND user_name = $3 AND kv_key = $4";

impl Store {
    /// The value under `key`, if any and not expired.
    pub(crate) async fn kv_get(
        &self,
        plugin: &str,
        scope: &KvScope,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let place = Place::new(plugin, scope, key)?;
        let row: Option<(Vec<u8>, Option<i64>)> = sqlx::query_as(&format!(
            "SELECT value, expires_at FROM kv WHERE {WHERE_PLACE}"
        ))
        .bind(place.plugin)
        .bind(place.workspace)
        .bind(place.user)
        .bind(place.key)
        .fetch_optional(&self.pool)
        .await?;
        self.open_value(&place, row)
    }

    /// Stores `value` under `key`, replacing any earlier value; it expires after `ttl` if
    /// given.
    pub(crate) async fn kv_put(
        &self,
        plugin: &str,
        scope: &KvScope,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<(), StoreError> {
        let place = Place::new(plugin, scope, key)?;
        let sealed = self.cipher.seal(&place.aad(), value)?;
        sqlx::query(
            "INSERT INTO kv (plugin, workspace, user_name, kv_key, value, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (plugin, workspace, user_name, kv_key) \
             DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
        )
        .bind(place.plugin)
        .bind(place.workspace)
        .bind(place.user)
        .bind(place.key)
        .bind(sealed)
        .bind(ttl.map(expiry))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes and returns the value under `key` in one statement (`DELETE … RETURNING`):
    /// of two concurrent takes, on any instances, at most one gets it.
    pub(crate) async fn kv_take(
        &self,
        plugin: &str,
        scope: &KvScope,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let place = Place::new(plugin, scope, key)?;
        let row: Option<(Vec<u8>, Option<i64>)> = sqlx::query_as(&format!(
            "DELETE FROM kv WHERE {WHERE_PLACE} RETURNING value, expires_at"
        ))
        .bind(place.plugin)
        .bind(place.workspace)
        .bind(place.user)
        .bind(place.key)
        .fetch_optional(&self.pool)
        .await?;
        self.open_value(&place, row)
    }

    /// Removes the value under `key`, if any.
    pub(crate) async fn kv_delete(
        &self,
        plugin: &str,
        scope: &KvScope,
        key: &str,
    ) -> Result<(), StoreError> {
        let place = Place::new(plugin, scope, key)?;
        sqlx::query(&format!("DELETE FROM kv WHERE {WHERE_PLACE}"))
            .bind(place.plugin)
            .bind(place.workspace)
            .bind(place.user)
            .bind(place.key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The plaintext of a fetched row; `None` for no row or an expired one.
    fn open_value(
        &self,
        place: &Place<'_>,
        row: Option<(Vec<u8>, Option<i64>)>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        match row {
            Some((_, Some(expires_at))) if expires_at <= now() => Ok(None),
            Some((sealed, _)) => self.cipher.open(&place.aad(), &sealed).map(Some),
            None => Ok(None),
        }
    }
}
