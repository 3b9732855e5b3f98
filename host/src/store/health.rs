//! Whether the database answers, as this process last saw it, so that an outage is logged
//! once when it starts (with its cause) and once when it ends, not once per failed request.
//!
//! Every driver error that says the database cannot be reached passes through
//! [`failed`] (the conversion into [`super::StoreError::Unavailable`], and the generation
//! reads' own connection); the reads every request makes first, the pool's new connections
//! and `/readyz`'s ping report [`answered`]. The state is the process's: one process serves
//! one store (tests that open several stores share it, which only affects these two log
//! lines).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// The state of one database as seen by its users.
pub(super) struct Health {
    /// Fast path of [`Health::answered`], read on every request.
    down: AtomicBool,
    /// Since when it does not answer (set with `down`).
    since: Mutex<Option<Instant>>,
}

/// This process's view of its database.
static HEALTH: Health = Health::new();

/// Records that the database could not be reached because of `cause` (the driver's message,
/// already scrubbed of passwords); logs it if it was reachable until now.
pub(super) fn failed(cause: &str) {
    if HEALTH.failed() {
        tracing::error!(
            "the database does not answer: {cause}; requests answer 503 store_unavailable \
             until it does (this is logged once per outage)"
        );
    }
}

/// Records that the database answered; logs the end of an outage.
pub(super) fn answered() {
    if let Some(since) = HEALTH.answered() {
        tracing::warn!(
            "the database answers again, after {} s",
            since.elapsed().as_secs()
        );
    }
}

impl Health {
    const fn new() -> Health {
        Health {
            down: AtomicBool::new(false),
            since: Mutex::new(None),
        }
    }

    /// Marks it down; `true` if it was up (the one caller that logs the outage).
    fn failed(&self) -> bool {
        let mut since = self.since.lock().expect("store health");
        if since.is_some() {
            return false;
        }
        *since = Some(Instant::now());
        self.down.store(true, Ordering::Release);
        true
    }

    /// Marks it up; since when it was down if it was (the one caller that logs the end).
    fn answered(&self) -> Option<Instant> {
        if !self.down.load(Ordering::Acquire) {
            return None;
        }
        let mut since = self.since.lock().expect("store health");
        self.down.store(false, Ordering::Release);
        since.take()
    }
}

#[cfg(test)]
mod tests {
    use super::Health;

    #[test]
    fn an_outage_is_reported_once_at_each_end() {
        let health = Health::new();
        assert!(
            health.answered().is_none(),
            "up at first: nothing to report"
        );
        assert!(health.failed(), "the first failure starts the outage");
        assert!(!health.failed(), "later failures are the same outage");
        assert!(!health.failed());
        assert!(health.answered().is_some(), "the first answer ends it");
        assert!(health.answered().is_none(), "later answers report nothing");
        assert!(health.failed(), "a new outage is reported again");
    }
}
