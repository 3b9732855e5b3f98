//! The running instances of one store and the fingerprint of the configuration each serves
//! (`app::instances` computes and compares them): one row per instance, written at start,
//! refreshed while it runs, removed at a clean stop.

use std::time::Duration;

use super::{now, Store, StoreError};

/// How long the row of an instance that stopped refreshing it is kept (then it is removed
/// by the next instance that writes its own).
const FORGOTTEN_AFTER: Duration = Duration::from_secs(24 * 3600);

/// One instance, as it recorded itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InstanceRecord {
    /// `host name:port`.
    pub(crate) instance: String,
    pub(crate) fingerprint: String,
    /// JSON, as `app::instances` wrote it.
    pub(crate) details: String,
    /// Unix seconds.
    pub(crate) started_at: i64,
    pub(crate) seen_at: i64,
}

impl Store {
    /// Records (or refreshes) `record`, with `seen_at` now; removes the rows of instances
    /// gone for a day.
    pub(crate) async fn instance_seen(&self, record: &InstanceRecord) -> Result<(), StoreError> {
        let now = now();
        sqlx::query(
            "INSERT INTO instances (instance, fingerprint, details, started_at, seen_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (instance) DO UPDATE SET fingerprint = excluded.fingerprint, \
             details = excluded.details, started_at = excluded.started_at, \
             seen_at = excluded.seen_at",
        )
        .bind(&record.instance)
        .bind(&record.fingerprint)
        .bind(&record.details)
        .bind(record.started_at)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let forgotten = i64::try_from(FORGOTTEN_AFTER.as_secs()).unwrap_or(i64::MAX);
        sqlx::query("DELETE FROM instances WHERE seen_at < $1")
            .bind(now.saturating_sub(forgotten))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes the row of `instance` (a clean stop).
    pub(crate) async fn instance_gone(&self, instance: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM instances WHERE instance = $1")
            .bind(instance)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The instances seen within `within`, by name.
    pub(crate) async fn live_instances(
        &self,
        within: Duration,
    ) -> Result<Vec<InstanceRecord>, StoreError> {
        let since = now().saturating_sub(i64::try_from(within.as_secs()).unwrap_or(i64::MAX));
        let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT instance, fingerprint, details, started_at, seen_at FROM instances \
             WHERE seen_at >= $1 ORDER BY instance",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(instance, fingerprint, details, started_at, seen_at)| InstanceRecord {
                    instance,
                    fingerprint,
                    details,
                    started_at,
                    seen_at,
                },
            )
            .collect())
    }
}
