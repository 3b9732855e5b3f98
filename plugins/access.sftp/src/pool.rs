//! The connection pool of one workspace: at most `CONNECTIONS` SSH connections, each used by
//! one call at a time (a streamed download keeps its connection until the host drops the
//! stream), reused while they work, dropped as soon as a call finds them broken.
//!
//! Why per workspace: a slow or dead server only ever holds its own workspace's connections,
//! so another workspace's calls never wait behind it. A call that finds every connection busy
//! waits for one up to `TIMEOUT_SECS`, then answers `Unavailable`.
//!
//! Reconnecting: a reused connection may have died while idle (the server restarted, a NAT
//! forgot it). [`Pool::run`] retries a call that may be repeated once on a fresh connection
//! when it failed on a reused one because of the connection. A helper thread sends keepalives
//! on idle connections every [`KEEPALIVE_SECS`] seconds, drops those that fail, and closes
//! those idle for longer than [`IDLE_CLOSE`]; it ends when the workspace's driver is dropped.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use plugin_api::{ErrorKind, PluginError, Result};

use crate::config::SftpConfig;
use crate::core::{Conn, KEEPALIVE_SECS};

/// An idle connection is closed after this long: it costs the server a process.
const IDLE_CLOSE: Duration = Duration::from_secs(300);
/// How often the helper thread wakes.
const TICK: Duration = Duration::from_secs(1);

/// Whether a call may run twice (its first attempt may have reached the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Reads only: running it again is harmless.
    Safe,
    /// It changes the server: a failure is answered as it is.
    Never,
}

/// One workspace's connections.
pub(crate) struct Pool {
    pub(crate) cfg: SftpConfig,
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    idle: Vec<Conn>,
    /// Connections that exist: idle, leased, or being opened.
    open: usize,
}

/// A connection lent to one call; it goes back to the pool when dropped, unless broken.
pub(crate) struct Lease {
    pool: Arc<Pool>,
    conn: Option<Conn>,
    /// True when the connection came from the idle list (it may have died meanwhile).
    pub(crate) reused: bool,
}

impl std::ops::Deref for Lease {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
            .as_ref()
            .expect("a lease holds its connection until dropped")
    }
}

impl std::ops::DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until dropped")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let mut state = self.pool.lock();
        if conn.broken {
            state.open -= 1;
        } else {
            conn.idle_since = Instant::now();
            state.idle.push(conn);
        }
        drop(state);
        self.pool.freed.notify_one();
    }
}

impl Pool {
    /// A pool for `cfg`, with its keepalive thread. No connection is made yet: a workspace
    /// opens even while its server is down, and says so on its first call.
    pub(crate) fn new(cfg: SftpConfig) -> Arc<Pool> {
        let pool = Arc::new(Pool {
            cfg,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        });
        let weak = Arc::downgrade(&pool);
        // Without the thread connections are still checked by the retry in `run`.
        let _ = std::thread::Builder::new()
            .name("access.sftp keepalive".into())
            .spawn(move || keepalive(weak));
        pool
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves consistent counters: keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection: an idle one, a new one while fewer than `CONNECTIONS` exist, or the first
    /// one freed within `TIMEOUT_SECS`.
    pub(crate) fn lease(self: &Arc<Self>) -> Result<Lease> {
        let deadline = Instant::now() + self.cfg.timeout;
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(self.lent(conn, true));
            }
            if state.open < self.cfg.connections {
                state.open += 1;
                drop(state);
                // Connect outside the lock: other calls may take connections freed meanwhile.
                return match Conn::open(&self.cfg) {
                    Ok(conn) => Ok(self.lent(conn, false)),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(PluginError {
                    retry_after: Some(Duration::from_secs(1)),
                    ..PluginError::new(
                        ErrorKind::Unavailable,
                        format!(
                            "all {} connections to {} stayed busy for {} s (CONNECTIONS, TIMEOUT_SECS)",
                            self.cfg.connections,
                            self.cfg.server(),
                            self.cfg.timeout.as_secs()
                        ),
                    )
                });
            }
            state = self
                .freed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn lent(self: &Arc<Self>, conn: Conn, reused: bool) -> Lease {
        Lease {
            pool: Arc::clone(self),
            conn: Some(conn),
            reused,
        }
    }

    /// Runs `f` on a leased connection; see the module docs for when it runs twice.
    pub(crate) fn run<T>(
        self: &Arc<Self>,
        retry: Retry,
        f: impl FnMut(&mut Lease) -> Result<T>,
    ) -> Result<T> {
        self.run_leased(retry, f).map(|(value, _)| value)
    }

    /// [`Pool::run`] that keeps the connection after `f`: for a stream that goes on using it.
    pub(crate) fn run_leased<T>(
        self: &Arc<Self>,
        retry: Retry,
        mut f: impl FnMut(&mut Lease) -> Result<T>,
    ) -> Result<(T, Lease)> {
        let mut lease = self.lease()?;
        match f(&mut lease) {
            Ok(value) => Ok((value, lease)),
            Err(_) if retry == Retry::Safe && lease.broken && lease.reused => {
                drop(lease);
                let mut fresh = self.lease()?;
                let value = f(&mut fresh)?;
                Ok((value, fresh))
            }
            Err(e) => Err(e),
        }
    }
}

/// The helper thread's loop (see the module docs); `pool` is weak so the thread never keeps a
/// dropped workspace alive.
fn keepalive(pool: Weak<Pool>) {
    let every = Duration::from_secs(KEEPALIVE_SECS.into());
    loop {
        std::thread::sleep(TICK);
        let Some(pool) = pool.upgrade() else {
            return;
        };
        // Take the connections due out of the list, so that a keepalive stuck on a dead
        // connection (up to TIMEOUT_SECS) never holds the lock.
        let due: Vec<Conn> = {
            let mut state = pool.lock();
            let (due, rest) = std::mem::take(&mut state.idle)
                .into_iter()
                .partition(|c| c.keepalive_at.elapsed().min(c.idle_since.elapsed()) >= every);
            state.idle = rest;
            due
        };
        for mut conn in due {
            let keep = conn.idle_since.elapsed() < IDLE_CLOSE && conn.keepalive();
            let mut state = pool.lock();
            if keep {
                // At the bottom of the list: the most recently used are handed out first.
                state.idle.insert(0, conn);
            } else {
                state.open -= 1;
            }
            drop(state);
            pool.freed.notify_one();
        }
    }
}
