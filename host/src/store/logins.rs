//! Failed logins per user name, counted in the store so that every instance on it counts
//! together: a guesser spreading attempts over the instances behind a balancer meets one
//! limit, not one per instance. Rows whose window has passed are removed as failures come.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Store, StoreError};

/// Now, in unix milliseconds (the window may be shorter than a second in tests).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The row key of `user`: names are matched without regard to case, as logins are.
fn key(user: &str) -> String {
    user.to_lowercase()
}

impl Store {
    /// The failed logins of `user` in the window that is running, and how long that window
    /// has left; `None` when there are none.
    pub(crate) async fn login_failures(
        &self,
        user: &str,
        window: Duration,
    ) -> Result<Option<(u32, Duration)>, StoreError> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT failures, since_ms FROM login_failures WHERE user_name = $1")
                .bind(key(user))
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|(failures, since)| {
            let left = since.saturating_add(millis(window)) - now_ms();
            (left > 0).then(|| {
                (
                    u32::try_from(failures).unwrap_or(u32::MAX),
                    Duration::from_millis(left.unsigned_abs()),
                )
            })
        }))
    }

    /// Counts a failed login of `user`: one more within the current window, or the first of
    /// a new one when the window has passed. One statement, so concurrent failures on any
    /// instances are all counted.
    pub(crate) async fn login_failed(
        &self,
        user: &str,
        window: Duration,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let passed = now.saturating_sub(millis(window));
        sqlx::query(
            "INSERT INTO login_failures (user_name, failures, since_ms) VALUES ($1, 1, $2) \
             ON CONFLICT (user_name) DO UPDATE SET \
             failures = CASE WHEN login_failures.since_ms <= $3 THEN 1 \
                        ELSE login_failures.failures + 1 END, \
             since_ms = CASE WHEN login_failures.since_ms <= $3 THEN $2 \
                        ELSE login_failures.since_ms END",
        )
        .bind(key(user))
        .bind(now)
        .bind(passed)
        .execute(&self.pool)
        .await?;
        // The table holds only live windows: names tried once and never again go here.
        sqlx::query("DELETE FROM login_failures WHERE since_ms <= $1")
            .bind(passed)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets the failures of `user`, who logged in.
    pub(crate) async fn login_succeeded(&self, user: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE user_name = $1")
            .bind(key(user))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
