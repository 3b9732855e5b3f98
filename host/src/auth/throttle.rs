//! The failed-login throttle: password guessing is limited per user name. With a store
//! shared by several instances (PostgreSQL) the failures are counted in the store, so every
//! instance behind a balancer applies one limit; with a store of one instance (SQLite) they
//! are counted in memory, which costs no query on every Basic-authenticated request, and
//! that memory is bounded, so a flood of logins under ever new names cannot grow it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::{Backend, Store, StoreError};

/// How many user names the in-memory throttle remembers at most. The names it is given are
/// already valid user names (at most 64 bytes), so this bounds its memory to about 1.5 MiB.
pub(crate) const MAX_TRACKED_NAMES: usize = 10_000;

/// Limits password guessing per user name: after `max_failures` failed logins within
/// `window` (`[limits]` `login_failures`, `login_window_secs`), every attempt is refused
/// (before the password is checked) until the window has passed. Only failures count, so
/// people who log in often are never locked out; a generic rate limiter (governor) counts
/// every attempt, which is why this is hand-written.
pub(crate) struct LoginThrottle {
    max_failures: u32,
    window: Duration,
    counts: Counts,
}

/// Where the failures are counted.
enum Counts {
    /// In the store, shared by every instance on it.
    Shared(Store),
    /// In this process: see [`Local`].
    Local(Local),
}

/// Where a user name stands before an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// No failure in the running window.
    Clean,
    /// Failures, fewer than the limit: a success forgets them.
    Failed,
    /// Refused until the window has passed, in this long.
    Paused(Duration),
}

impl LoginThrottle {
    /// The throttle of an application on `store`: shared through a PostgreSQL store.
    pub(crate) fn for_store(store: &Store, max_failures: u32, window: Duration) -> Self {
        let counts = match store.backend() {
            Backend::Postgres => Counts::Shared(store.clone()),
            Backend::Sqlite => Counts::Local(Local::new(MAX_TRACKED_NAMES)),
        };
        LoginThrottle {
            max_failures,
            window,
            counts,
        }
    }

    /// Where `user` stands.
    pub(crate) async fn check(&self, user: &str) -> Result<Standing, StoreError> {
        let found = match &self.counts {
            Counts::Shared(store) => store.login_failures(user, self.window).await?,
            Counts::Local(local) => local.failures(user, self.window),
        };
        Ok(match found {
            None => Standing::Clean,
            Some((count, left)) if count >= self.max_failures => Standing::Paused(left),
            Some(_) => Standing::Failed,
        })
    }

    /// Counts a failed login.
    pub(crate) async fn failed(&self, user: &str) -> Result<(), StoreError> {
        match &self.counts {
            Counts::Shared(store) => store.login_failed(user, self.window).await,
            Counts::Local(local) => {
                local.failed(user, self.max_failures, self.window);
                Ok(())
            }
        }
    }

    /// Forgets the failures of a user who logged in, who stood as `before` says (so that a
    /// clean name, the usual case, costs the shared store no write).
    pub(crate) async fn succeeded(&self, user: &str, before: Standing) -> Result<(), StoreError> {
        if before == Standing::Clean {
            return Ok(());
        }
        match &self.counts {
            Counts::Shared(store) => store.login_succeeded(user).await,
            Counts::Local(local) => {
                local.forget(user);
                Ok(())
            }
        }
    }
}

/// The failures of one process, at most `capacity` names. When a failure comes for a new
/// name and the table is full, names whose window has passed go first; if none has, one name
/// that is not paused goes (the oldest), and only when every name is paused the oldest pause.
/// So pushing a paused name out takes `capacity` names paused after it, `capacity ×
/// max_failures` failed logins that each cost a full password check, which is slower than
/// the guessing the pause allows.
struct Local {
    capacity: usize,
    failures: Mutex<HashMap<String, Failures>>,
}

/// The failures of one name within its window.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
}

impl Local {
    fn new(capacity: usize) -> Self {
        Local {
            capacity: capacity.max(1),
            failures: Default::default(),
        }
    }

    fn key(user: &str) -> String {
        user.to_lowercase()
    }

    /// The failures of `user` in its running window and the time that window has left.
    fn failures(&self, user: &str, window: Duration) -> Option<(u32, Duration)> {
        let map = self.failures.lock().expect("throttle lock");
        let f = map.get(&Self::key(user))?;
        let left = window.checked_sub(f.since.elapsed())?;
        (!left.is_zero()).then_some((f.count, left))
    }

    fn failed(&self, user: &str, max_failures: u32, window: Duration) {
        let mut map = self.failures.lock().expect("throttle lock");
        let now = Instant::now();
        let live = |f: &Failures| now.duration_since(f.since) < window;
        let key = Self::key(user);
        if let Some(f) = map.get_mut(&key) {
            if live(f) {
                f.count = f.count.saturating_add(1);
            } else {
                *f = Failures {
                    count: 1,
                    since: now,
                };
            }
            return;
        }
        if map.len() >= self.capacity {
            // Frees at least one place (see the type's documentation for which).
            map.retain(|_, f| live(f));
            if map.len() >= self.capacity {
                let victim = map
                    .iter()
                    .min_by_key(|(_, f)| (f.count >= max_failures, f.since))
                    .map(|(k, _)| k.clone());
                if let Some(k) = victim {
                    map.remove(&k);
                }
            }
        }
        map.insert(
            key,
            Failures {
                count: 1,
                since: now,
            },
        );
    }

    fn forget(&self, user: &str) {
        self.failures
            .lock()
            .expect("throttle lock")
            .remove(&Self::key(user));
    }

    /// How many names are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.failures.lock().expect("throttle lock").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_FAILURES: u32 = 5;
    const FAILURE_WINDOW: Duration = Duration::from_secs(60);

    fn local(max_failures: u32, window: Duration, capacity: usize) -> LoginThrottle {
        LoginThrottle {
            max_failures,
            window,
            counts: Counts::Local(Local::new(capacity)),
        }
    }

    fn shared(store: &Store, max_failures: u32, window: Duration) -> LoginThrottle {
        LoginThrottle {
            max_failures,
            window,
            counts: Counts::Shared(store.clone()),
        }
    }

    /// The same rules, counted in memory and in the store (SQLite and PostgreSQL).
    async fn only_failures_count_and_success_resets(t: &LoginThrottle) {
        for _ in 0..MAX_FAILURES - 1 {
            t.failed("Bob").await.unwrap();
        }
        let before = t.check("bob").await.unwrap();
        assert_eq!(before, Standing::Failed);
        t.succeeded("BOB", before).await.unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(!matches!(
                t.check("bob").await.unwrap(),
                Standing::Paused(_)
            ));
            t.failed("bob").await.unwrap();
        }
        let Standing::Paused(wait) = t.check("bob").await.unwrap() else {
            panic!("bob is paused after {MAX_FAILURES} failures");
        };
        assert!(wait > Duration::ZERO && wait <= FAILURE_WINDOW);
        assert_eq!(
            t.check("alice").await.unwrap(),
            Standing::Clean,
            "per user name"
        );
    }

    async fn a_window_that_passed_starts_again(t: &LoginThrottle) {
        t.failed("ann").await.unwrap();
        t.failed("ann").await.unwrap();
        assert!(matches!(t.check("ann").await.unwrap(), Standing::Paused(_)));
        tokio::time::sleep(t.window + Duration::from_millis(10)).await;
        assert_eq!(t.check("ann").await.unwrap(), Standing::Clean);
        t.failed("ann").await.unwrap();
        assert_eq!(
            t.check("ann").await.unwrap(),
            Standing::Failed,
            "a new window, one failure so far"
        );
    }

    #[tokio::test]
    async fn in_memory_only_failures_count_and_success_resets() {
        only_failures_count_and_success_resets(&local(MAX_FAILURES, FAILURE_WINDOW, 100)).await;
    }

    #[tokio::test]
    async fn in_memory_a_window_that_passed_starts_again() {
        a_window_that_passed_starts_again(&local(2, Duration::from_millis(50), 100)).await;
    }

    use crate::store::tests::{run, TestDb};

    async fn in_store(db: &TestDb) {
        only_failures_count_and_success_resets(&shared(db, MAX_FAILURES, FAILURE_WINDOW)).await;
        a_window_that_passed_starts_again(&shared(db, 2, Duration::from_millis(300))).await;
        // Two instances on one store count together.
        let (a, b) = (shared(db, 4, FAILURE_WINDOW), shared(db, 4, FAILURE_WINDOW));
        for t in [&a, &b, &a, &b] {
            t.failed("carol").await.unwrap();
        }
        assert!(matches!(
            b.check("carol").await.unwrap(),
            Standing::Paused(_)
        ));
        assert!(matches!(
            a.check("carol").await.unwrap(),
            Standing::Paused(_)
        ));
    }

    #[tokio::test]
    async fn in_an_sqlite_store() {
        run(TestDb::sqlite().await, |db| Box::pin(in_store(db))).await;
    }

    #[tokio::test]
    async fn in_a_postgresql_store() {
        run(TestDb::postgres().await, |db| Box::pin(in_store(db))).await;
    }

    #[tokio::test]
    async fn the_table_is_bounded_and_paused_names_go_last() {
        let t = local(MAX_FAILURES, FAILURE_WINDOW, 100);
        let Counts::Local(table) = &t.counts else {
            unreachable!()
        };
        for _ in 0..MAX_FAILURES {
            t.failed("admin").await.unwrap();
        }
        assert!(matches!(
            t.check("admin").await.unwrap(),
            Standing::Paused(_)
        ));
        for i in 0..10_000 {
            t.failed(&format!("junk{i}")).await.unwrap();
        }
        assert_eq!(table.len(), 100, "never more names than the capacity");
        assert!(
            matches!(t.check("admin").await.unwrap(), Standing::Paused(_)),
            "a flood of new names does not free a paused one"
        );
        // Only names paused after it push a paused name out.
        for i in 0..100 {
            for _ in 0..MAX_FAILURES {
                t.failed(&format!("paused{i}")).await.unwrap();
            }
        }
        assert_eq!(table.len(), 100);
        assert_eq!(
            t.check("admin").await.unwrap(),
            Standing::Clean,
            "the oldest pause went first"
        );
        assert!(matches!(
            t.check("paused99").await.unwrap(),
            Standing::Paused(_)
        ));
    }
}
