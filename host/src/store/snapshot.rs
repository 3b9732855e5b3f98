//! What the request path reads on every request — the caller behind a token or a session,
//! their grant on a workspace, the plugin toggles, a stored workspace — remembered per store
//! *generation*: a counter that triggers bump in the same transaction as any change to those
//! tables (`migrations/*/0002_generation.sql`), whoever makes it (this host, another instance
//! on the same PostgreSQL, the CLI on the same SQLite file).
//!
//! Inside [`Store::request_scope`], the first such read learns the current generation and
//! every read of the request is then answered from the snapshot of that generation, going to
//! the store only for what no request of that generation has read yet. Outside a scope (admin
//! API, web UI, CLI) every read goes to the store.
//!
//! Learning the generation is itself batched ([`Generations`]): one query at a time, on a
//! connection of its own (a pooled one costs two more hand-offs: sqlx pings it when it is
//! returned), shared by every request that arrived before it started. Each request still
//! sees a generation read after it arrived, so a change holds from the next request on, on
//! every instance, exactly as without the cache; under load the store answers one query for
//! many requests instead of two to four queries per request (each a hand-off to a database
//! worker thread).
//!
//! On SQLite the generation is read on the calling thread instead ([`Direct`]): through a
//! read-only connection of its own (rusqlite), one row from the page cache costs a few
//! microseconds, less than a single hand-off to sqlx's worker thread, so every request reads
//! it itself. The batched read remains the fallback (and PostgreSQL's way, a network round
//! trip away).
//!
//! Only hits are remembered for tokens and sessions (unknown credentials cannot fill memory),
//! and each table of a snapshot holds at most [`MAX_ENTRIES`]; a full table stops
//! remembering until the next generation.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, Connection as _};

use super::{Access, Backend, Session, Store, StoreError, User, WorkspaceRecord};

/// The most entries one table of a snapshot remembers.
pub(super) const MAX_ENTRIES: usize = 10_000;

tokio::task_local! {
    /// The snapshot of the current request, once its first read has fetched it.
    static SCOPE: RefCell<Option<Arc<Snapshot>>>;
}

/// A token's owner, with what is needed to keep `last_used_at` up to date.
#[derive(Clone)]
pub(super) struct TokenOwner {
    pub(super) id: String,
    pub(super) last_used_at: Option<i64>,
    pub(super) user: User,
}

/// The reads of one generation.
#[derive(Default)]
pub(super) struct Snapshot {
    generation: i64,
    pub(super) tokens: Table<String, TokenOwner>,
    pub(super) sessions: Table<String, Session>,
    pub(super) grants: Table<(String, String), Option<Access>>,
    pub(super) toggles: Table<(), BTreeMap<String, bool>>,
    pub(super) workspaces: Table<String, Option<WorkspaceRecord>>,
}

/// One table of a snapshot.
pub(super) struct Table<K, V>(Mutex<HashMap<K, V>>);

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Table(Mutex::default())
    }
}

impl<K: Eq + Hash, V: Clone> Table<K, V> {
    pub(super) fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.0.lock().expect("snapshot table").get(key).cloned()
    }

    pub(super) fn put(&self, key: K, value: V) {
        let mut map = self.0.lock().expect("snapshot table");
        if map.len() < MAX_ENTRIES || map.contains_key(&key) {
            map.insert(key, value);
        }
    }
}

/// The snapshot of the newest generation seen, and the generation checks; shared by the
/// clones of a store.
pub(super) struct Snapshots {
    newest: Mutex<Option<Arc<Snapshot>>>,
    direct: Option<Direct>,
    generations: Arc<Generations>,
}

impl Snapshots {
    /// Snapshots of the database `options` connects to.
    /// A generation read that has no answer within `timeout` fails.
    pub(super) fn new(
        options: AnyConnectOptions,
        backend: Backend,
        url: &str,
        timeout: std::time::Duration,
    ) -> Snapshots {
        Snapshots {
            newest: Mutex::default(),
            direct: match backend {
                Backend::Sqlite => Direct::open(url),
                Backend::Postgres => None,
            },
            generations: Arc::new(Generations {
                options,
                backend,
                timeout,
                connection: Mutex::default(),
                reads: Mutex::default(),
                done: tokio::sync::watch::Sender::default(),
            }),
        }
    }

    /// The generation as the direct read finds it (`None`: no direct read, or it failed).
    #[cfg(test)]
    pub(super) fn read_directly(&self) -> Option<i64> {
        self.direct.as_ref().and_then(Direct::read)
    }

    /// Closes the connection of the generation reads.
    pub(super) async fn close(&self) {
        self.generations.close().await;
    }

    /// The snapshot of `generation`: the newest one if it is that generation, a new one
    /// (which becomes the newest) for a newer generation, and a throwaway one for an older
    /// generation (a request that read it just before a change must not pollute the
    /// newer snapshot).
    fn at(&self, generation: i64) -> Arc<Snapshot> {
        let mut newest = self.newest.lock().expect("snapshots");
        match newest.as_ref() {
            Some(s) if s.generation == generation => s.clone(),
            Some(s) if s.generation > generation => Arc::new(Snapshot {
                generation,
                ..Snapshot::default()
            }),
            _ => {
                let fresh = Arc::new(Snapshot {
                    generation,
                    ..Snapshot::default()
                });
                *newest = Some(fresh.clone());
                fresh
            }
        }
    }
}

impl Store {
    /// Runs `request` with its reads of the request path answered from the snapshot of
    /// the store generation its first read finds (see the module's documentation).
    pub(crate) async fn request_scope<F: std::future::Future>(request: F) -> F::Output {
        SCOPE.scope(RefCell::new(None), request).await
    }

    /// The snapshot of the current request: `None` outside [`Store::request_scope`].
    pub(super) async fn snapshot(&self) -> Result<Option<Arc<Snapshot>>, StoreError> {
        let Ok(held) = SCOPE.try_with(|s| s.borrow().clone()) else {
            return Ok(None);
        };
        if held.is_some() {
            return Ok(held);
        }
        let direct = self.snapshots.direct.as_ref().and_then(Direct::read);
        let generation = match direct {
            Some(generation) => generation,
            None => match self.snapshots.generations.current().await {
                Some(generation) => generation,
                // The shared read failed: read again alone, for the error to tell why.
                None => read_generation(&self.pool).await?,
            },
        };
        let snapshot = self.snapshots.at(generation);
        SCOPE.with(|s| *s.borrow_mut() = Some(snapshot.clone()));
        Ok(Some(snapshot))
    }
}

async fn read_generation<'c, E: sqlx::any::AnyExecutor<'c>>(db: E) -> Result<i64, sqlx::Error> {
    let (generation,) = sqlx::query_as("SELECT value FROM generation WHERE id = 1")
        .fetch_one(db)
        .await?;
    super::health::answered();
    Ok(generation)
}

/// A generation read that could not reach the database tells the outage's cause (the
/// pool's retries would end in a mere "timed out").
fn note_unreachable(e: &sqlx::Error) {
    if super::error::unreachable(e) {
        super::health::failed(&super::error::redact(&e.to_string()));
    }
}

/// The generation read of an SQLite store on the calling thread, through a read-only
/// connection of its own. In WAL mode a reader never waits for a writer, so the read does
/// not hold up the async worker calling it; a failed read (the file is gone, or busy in a
/// rare recovery) answers `None` and the request takes the batched read, which waits and
/// reports.
pub(super) struct Direct(Mutex<rusqlite::Connection>);

impl Direct {
    /// A connection to the SQLite file of the sqlx `url`; `None` (and the batched read) if
    /// it cannot be opened.
    fn open(url: &str) -> Option<Direct> {
        use std::str::FromStr;
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = rusqlite::Connection::open_with_flags(options.get_filename(), flags)
            .inspect_err(|e| tracing::debug!("store generation read: no direct connection: {e}"))
            .ok()?;
        // Never wait on the calling thread: a busy database falls back to the batched read.
        connection.busy_timeout(std::time::Duration::ZERO).ok()?;
        Some(Direct(Mutex::new(connection)))
    }

    fn read(&self) -> Option<i64> {
        let connection = self.0.lock().expect("direct generation read");
        connection
            .prepare_cached("SELECT value FROM generation WHERE id = 1")
            .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
            .ok()
    }
}

/// Reads of the generation, one at a time, each shared by every request that arrived before
/// it started (like a group commit, for reads): a request waits for the first read that
/// starts after it arrived, and starts one itself if none is running.
pub(super) struct Generations {
    options: AnyConnectOptions,
    backend: Backend,
    /// How long a read may take (the pool's acquire timeout).
    timeout: std::time::Duration,
    /// The reads' own connection, while no read holds it; opened on first use, and again
    /// after a failure.
    connection: Mutex<Option<AnyConnection>>,
    reads: Mutex<Reads>,
    /// The number of the last read done and what it found (`None`: it failed).
    done: tokio::sync::watch::Sender<(u64, Option<i64>)>,
}

#[derive(Default)]
struct Reads {
    /// How many reads were started.
    started: u64,
    running: bool,
    /// A request arrived while a read was running: it needs the next one.
    wanted: bool,
}

impl Generations {
    /// The generation as read after this call began; `None` if reading it failed.
    async fn current(self: &Arc<Self>) -> Option<i64> {
        let mut done = self.done.subscribe();
        let needed = {
            let mut reads = self.reads.lock().expect("generation reads");
            if reads.running {
                reads.wanted = true;
            } else {
                reads.running = true;
                reads.started += 1;
                // A task of its own, so a request that is dropped mid-read strands nobody.
                tokio::spawn(self.clone().read());
            }
            reads.started + u64::from(reads.wanted)
        };
        let done = done.wait_for(|(number, _)| *number >= needed).await.ok()?;
        done.1
    }

    /// Reads the generation, then again as long as requests arrived during the last read.
    async fn read(self: Arc<Self>) {
        let mut connection = self
            .connection
            .lock()
            .expect("generation connection")
            .take();
        loop {
            // A database that does not answer fails the read (and the requests fall back to
            // the pool, which reports why) rather than holding every request.
            let found = tokio::time::timeout(self.timeout, self.read_on(&mut connection))
                .await
                .ok()
                .flatten();
            if found.is_none() {
                connection = None;
            }
            let mut reads = self.reads.lock().expect("generation reads");
            self.done.send_replace((reads.started, found));
            if !reads.wanted {
                reads.running = false;
                *self.connection.lock().expect("generation connection") = connection;
                return;
            }
            reads.wanted = false;
            reads.started += 1;
        }
    }

    /// Closes the reads' connection (one that a read holds right now is closed when the
    /// last clone of the store is dropped).
    async fn close(&self) {
        let idle = self
            .connection
            .lock()
            .expect("generation connection")
            .take();
        if let Some(connection) = idle {
            connection.close().await.ok();
        }
    }

    /// One read, on `connection` (opened first if it is not).
    async fn read_on(&self, connection: &mut Option<AnyConnection>) -> Option<i64> {
        if connection.is_none() {
            let mut new = AnyConnection::connect_with(&self.options)
                .await
                .inspect_err(note_unreachable)
                .ok()?;
            super::set_up(&mut new, self.backend).await.ok()?;
            *connection = Some(new);
        }
        read_generation(connection.as_mut()?)
            .await
            .inspect_err(note_unreachable)
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_generation_never_replaces_or_fills_the_newest() {
        let options = "sqlite://unused.db".parse().expect("options");
        let snapshots = Snapshots::new(
            options,
            Backend::Postgres,
            "",
            std::time::Duration::from_secs(1),
        );
        let five = snapshots.at(5);
        assert!(Arc::ptr_eq(&five, &snapshots.at(5)));
        let four = snapshots.at(4);
        four.toggles.put((), BTreeMap::new());
        assert!(snapshots.at(5).toggles.get(&()).is_none());
        let six = snapshots.at(6);
        assert!(!Arc::ptr_eq(&five, &six));
        assert!(Arc::ptr_eq(&six, &snapshots.at(6)));
    }

    #[test]
    fn a_full_table_stops_remembering_but_updates_what_it_holds() {
        let table: Table<usize, usize> = Table::default();
        for i in 0..MAX_ENTRIES + 10 {
            table.put(i, i);
        }
        assert_eq!(table.get(&(MAX_ENTRIES - 1)), Some(MAX_ENTRIES - 1));
        assert_eq!(table.get(&MAX_ENTRIES), None);
        table.put(0, 42);
        assert_eq!(table.get(&0), Some(42));
    }
}
