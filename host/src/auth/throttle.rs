//! The failed-login throttle: password guessing is limited per user name, and the throttle's
//! own memory is bounded, so a flood of logins under ever new names cannot grow it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many user names the throttle remembers at most. The names it is given are already
/// valid user names (at most 64 bytes), so this bounds its memory to about 1.5 MiB.
pub(crate) const MAX_TRACKED_NAMES: usize = 10_000;

/// Limits password guessing per user name: after `max_failures` failed logins within
/// `window` (`[limits]` `login_failures`, `login_window_secs`), every attempt is refused
/// (before the password is checked) until the window has passed. Only failures count, so
/// people who log in often are never locked out; a generic rate limiter (governor) counts
/// every attempt, which is why this is hand-written.
///
/// At most `capacity` names are remembered. When a failure comes for a new name and the
/// table is full, names whose window has passed go first; if none has, one name that is not
/// paused goes (the oldest), and only when every name is paused the oldest pause. So pushing a
/// paused name out takes `capacity` names paused after it, `capacity × max_failures` failed
/// logins that each cost a full password check, which is slower than the guessing the pause
/// allows.
pub(crate) struct LoginThrottle {
    max_failures: u32,
    window: Duration,
    capacity: usize,
    failures: Mutex<HashMap<String, Failures>>,
}

/// The failures of one name within its window.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
}

impl LoginThrottle {
    pub(crate) fn new(max_failures: u32, window: Duration) -> Self {
        Self::with_capacity(max_failures, window, MAX_TRACKED_NAMES)
    }

    pub(crate) fn with_capacity(max_failures: u32, window: Duration, capacity: usize) -> Self {
        LoginThrottle {
            max_failures,
            window,
            capacity: capacity.max(1),
            failures: Default::default(),
        }
    }

    fn key(user: &str) -> String {
        user.to_lowercase()
    }

    fn live(&self, f: &Failures, now: Instant) -> bool {
        now.duration_since(f.since) < self.window
    }

    /// `Err(wait)` while `user` is paused.
    pub(crate) fn check(&self, user: &str) -> Result<(), Duration> {
        let map = self.failures.lock().expect("throttle lock");
        let now = Instant::now();
        match map.get(&Self::key(user)) {
            Some(f) if self.live(f, now) && f.count >= self.max_failures => {
                Err(self.window.saturating_sub(now.duration_since(f.since)))
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed login.
    pub(crate) fn failed(&self, user: &str) {
        let mut map = self.failures.lock().expect("throttle lock");
        let now = Instant::now();
        let key = Self::key(user);
        if let Some(f) = map.get_mut(&key) {
            if self.live(f, now) {
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
            self.make_room(&mut map, now);
        }
        map.insert(
            key,
            Failures {
                count: 1,
                since: now,
            },
        );
    }

    /// Frees at least one place in a full table (see the type's documentation for which).
    fn make_room(&self, map: &mut HashMap<String, Failures>, now: Instant) {
        map.retain(|_, f| self.live(f, now));
        if map.len() < self.capacity {
            return;
        }
        let victim = map
            .iter()
            .min_by_key(|(_, f)| (f.count >= self.max_failures, f.since))
            .map(|(k, _)| k.clone());
        if let Some(k) = victim {
            map.remove(&k);
        }
    }

    /// Forgets the failures of a user who logged in.
    pub(crate) fn succeeded(&self, user: &str) {
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

    #[test]
    fn only_failures_count_and_success_resets() {
        let t = LoginThrottle::new(MAX_FAILURES, FAILURE_WINDOW);
        for _ in 0..MAX_FAILURES - 1 {
            t.failed("Bob");
        }
        assert!(t.check("bob").is_ok());
        t.succeeded("BOB");
        for _ in 0..MAX_FAILURES {
            assert!(t.check("bob").is_ok());
            t.failed("bob");
        }
        let wait = t.check("bob").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= FAILURE_WINDOW);
        assert!(t.check("alice").is_ok(), "per user name");
    }

    #[test]
    fn the_table_is_bounded_and_paused_names_go_last() {
        let t = LoginThrottle::with_capacity(MAX_FAILURES, FAILURE_WINDOW, 100);
        for _ in 0..MAX_FAILURES {
            t.failed("admin");
        }
        assert!(t.check("admin").is_err());
        for i in 0..10_000 {
            t.failed(&format!("junk{i}"));
        }
        assert_eq!(t.len(), 100, "never more names than the capacity");
        assert!(
            t.check("admin").is_err(),
            "a flood of new names does not free a paused one"
        );
        // Only names paused after it push a paused name out.
        for i in 0..100 {
            for _ in 0..MAX_FAILURES {
                t.failed(&format!("paused{i}"));
            }
        }
        assert_eq!(t.len(), 100);
        assert!(t.check("admin").is_ok(), "the oldest pause went first");
        assert!(t.check("paused99").is_err());
    }

    #[test]
    fn a_window_that_passed_starts_again() {
        let t = LoginThrottle::new(2, Duration::from_millis(50));
        t.failed("ann");
        t.failed("ann");
        assert!(t.check("ann").is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert!(t.check("ann").is_ok());
        t.failed("ann");
        assert!(t.check("ann").is_ok(), "a new window, one failure so far");
    }
}
