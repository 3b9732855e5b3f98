//! The store: all of wshost's persistent state — users, sessions, API tokens, workspaces,
//! ACLs, plugin toggles and the plugins' key-value data — in SQLite (the embedded default)
//! or PostgreSQL (shared by several instances), through one `sqlx::AnyPool`.
//!
//! Architecture invariant: this module is the only code in wshost that speaks SQL. Every
//! query is written once for both backends, with `$1, $2…` placeholders used in ascending
//! order of first appearance, and only `i64`, `String`, `Vec<u8>` and their `Option`s as
//! column types (what the Any driver maps on both).
//!
//! Architecture invariant: secrets never reach the database in clear. Password-type
//! workspace params and plugin key-value values are sealed with the secrets key
//! ([`crypto`]); passwords are argon2id hashes; session cookies and API tokens are kept as
//! SHA-256 hashes. A key other than the store's own is refused at [`Store::open`].

mod acl;
mod crypto;
mod dav_locks;
mod dav_props;
mod error;
mod health;
mod instances;
mod kv;
mod logins;
mod passwords;
mod plugins;
mod schema;
mod sessions;
mod snapshot;
mod tokens;
mod users;
mod workspaces;

#[cfg(test)]
pub(crate) mod tests;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection as _};

// The store's interface: callers may use some of these types without naming them.
#[allow(unused_imports)]
pub(crate) use {
    acl::Access,
    crypto::{hex, random_token, SecretKey},
    dav_locks::{NewLock, StoredLock, MAX_LOCK_OWNER},
    dav_props::{
        DeadProp, PropChange, PropsAt, MAX_PROPS_PER_RESOURCE, MAX_PROP_NAME, MAX_PROP_XML,
    },
    error::StoreError,
    instances::InstanceRecord,
    schema::{location, Schema},
    sessions::{NewSession, Session},
    tokens::{NewToken, TokenInfo},
    users::{is_user_name, User, USER_NAME_RULE},
    workspaces::{TemplateSpec, WorkspaceRecord},
};

use crypto::{Aad, Cipher, Digester};

/// The known plaintext sealed into `meta.key_check` on first open.
const KEY_CHECK_PLAINTEXT: &[u8] = b"wshost secrets key check v1";
/// How long opening waits for the database's first answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a query waits for a pooled connection (`database_acquire_timeout_secs`) unless
/// the config says otherwise: past it, [`StoreError::Unavailable`].
pub(crate) const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long SQLite waits on a lock held by another connection before failing.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// An SQLite file: one instance.
    Sqlite,
    /// A PostgreSQL database: any number of instances.
    Postgres,
}

/// A handle on the store; cheap to clone (the pool and the cipher are shared).
#[derive(Clone)]
pub(crate) struct Store {
    pool: AnyPool,
    cipher: Cipher,
    digester: Digester,
    backend: Backend,
    snapshots: Arc<snapshot::Snapshots>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store, runs the migrations of its backend, and checks the secrets key.
    ///
    /// `url` is `postgres://…` (or `postgresql://…`), or the SQLite file of the embedded
    /// default: a plain path or `sqlite://PATH` (the file and its folder are created when
    /// absent), or a full `sqlite://…?mode=…` URL, used as given. A key
    /// other than the one the store was first opened with gives [`StoreError::WrongKey`].
    pub(crate) async fn open(url: &str, key: SecretKey) -> Result<Store, StoreError> {
        Store::open_with(url, key, DEFAULT_ACQUIRE_TIMEOUT).await
    }

    /// [`Store::open`], with queries that wait at most `acquire_timeout` for a connection
    /// (and the generation reads for an answer) before failing with
    /// [`StoreError::Unavailable`].
    pub(crate) async fn open_with(
        url: &str,
        key: SecretKey,
        acquire_timeout: Duration,
    ) -> Result<Store, StoreError> {
        Store::open_as(url, key, Schema::Migrate, acquire_timeout)
            .await
            .map_err(|e| match e {
                StoreError::Schema(what) => {
                    StoreError::Schema(format!("{} {what}", schema::location(url)))
                }
                other => other,
            })
    }

    /// Connects once to the PostgreSQL database `url` (waiting at most 10 s) and
    /// disconnects, reading and writing nothing: whether it answers and lets wshost in
    /// (`config check`). The error never holds the URL's password.
    pub(crate) async fn probe(url: &str) -> Result<(), StoreError> {
        sqlx::any::install_default_drivers();
        let shown = error::redact(url);
        let options = AnyConnectOptions::from_str(url).map_err(|source| StoreError::Connect {
            url: shown.clone(),
            source,
        })?;
        let conn =
            tokio::time::timeout(CONNECT_TIMEOUT, sqlx::AnyConnection::connect_with(&options))
                .await
                .unwrap_or_else(|_| {
                    Err(sqlx::Error::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
                    )))
                })
                .map_err(|source| StoreError::Connect { url: shown, source })?;
        conn.close().await.ok();
        Ok(())
    }

    /// [`Store::open_with`], with the schema treated as `schema` says.
    async fn open_as(
        url: &str,
        key: SecretKey,
        schema: Schema,
        acquire_timeout: Duration,
    ) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (url, backend) = resolve_url(url)?;
        let shown = error::redact(&url);
        let options = AnyConnectOptions::from_str(&url).map_err(|source| StoreError::Connect {
            url: shown.clone(),
            source,
        })?;
        // One direct connection first: the pool would retry a refused connection until its
        // timeout and then report only "timed out", where this reports the reason.
        let probe =
            tokio::time::timeout(CONNECT_TIMEOUT, sqlx::AnyConnection::connect_with(&options))
                .await
                .unwrap_or_else(|_| {
                    Err(sqlx::Error::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
                    )))
                })
                .map_err(|source| StoreError::Connect {
                    url: shown.clone(),
                    source,
                })?;
        probe.close().await.ok();

        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(acquire_timeout)
            // A ping before each use is a round trip to the connection's worker thread that
            // an SQLite file does not need; a PostgreSQL connection may have been cut.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _meta| Box::pin(set_up(conn, backend)))
            .connect_with(options.clone())
            .await
            .map_err(|source| StoreError::Connect { url: shown, source })?;
        let store = Store {
            pool,
            cipher: key.cipher(),
            digester: key.digester(),
            backend,
            snapshots: Arc::new(snapshot::Snapshots::new(
                options,
                backend,
                &url,
                acquire_timeout,
            )),
        };
        if let Err(e) = store.prepare(schema).await {
            store.close().await;
            return Err(e);
        }
        Ok(store)
    }

    /// Everything `open` does once connected: the schema check `schema` asks for, journal
    /// mode and migrations (none for [`Schema::Existing`]), key check, purge.
    async fn prepare(&self, schema: Schema) -> Result<(), StoreError> {
        self.check_schema(schema).await?;
        if schema != Schema::Existing {
            if self.backend == Backend::Sqlite {
                // Persistent in the file: set once, before anything else writes.
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&self.pool)
                    .await?;
            }
            schema::migrator(self.backend).run(&self.pool).await?;
        }
        self.check_key().await?;
        self.purge_expired().await?;
        Ok(())
    }

    /// Seals a known plaintext into `meta` on first open; afterwards, refuses a key that
    /// cannot open it. Two instances opening a new store at once agree on the first row.
    async fn check_key(&self) -> Result<(), StoreError> {
        let aad = Aad::new("meta", &["key_check"]);
        let sealed = self.cipher.seal(&aad, KEY_CHECK_PLAINTEXT)?;
        sqlx::query("INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind("key_check")
            .bind(sealed)
            .execute(&self.pool)
            .await?;
        let (stored,): (Vec<u8>,) = sqlx::query_as("SELECT value FROM meta WHERE name = $1")
            .bind("key_check")
            .fetch_one(&self.pool)
            .await?;
        match self.cipher.open(&aad, &stored) {
            Ok(plain) if plain == KEY_CHECK_PLAINTEXT => Ok(()),
            _ => Err(StoreError::WrongKey),
        }
    }

    /// A keyed digest of `data` under this store's secrets key, in hex: equal for equal
    /// data on every instance with the key, and telling nothing of the data to anyone
    /// without it.
    pub(crate) fn keyed_digest(&self, data: &[u8]) -> String {
        self.digester.digest(data)
    }

    /// Which database this store runs on.
    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that the database answers.
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        health::answered();
        Ok(())
    }

    /// Closes every connection; the store (and its clones) cannot be used afterwards.
    pub(crate) async fn close(&self) {
        self.snapshots.close().await;
        self.pool.close().await;
    }

    /// Deletes expired sessions, key-value entries and WebDAV locks; returns how many rows
    /// went. Reads already ignore expired rows: this only reclaims space (run at open, and
    /// whenever the caller likes).
    pub(crate) async fn purge_expired(&self) -> Result<u64, StoreError> {
        let now = now();
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let kv = sqlx::query("DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let locks = self.sweep_dav_locks().await?;
        Ok(sessions.rows_affected() + kv.rows_affected() + locks)
    }
}

/// Prepares a new connection: SQLite's per-connection settings. A new connection is also a
/// sign that the database answers.
async fn set_up(conn: &mut sqlx::AnyConnection, backend: Backend) -> Result<(), sqlx::Error> {
    health::answered();
    if backend == Backend::Sqlite {
        for pragma in [
            "PRAGMA foreign_keys = ON".to_owned(),
            format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"),
            "PRAGMA synchronous = NORMAL".to_owned(),
        ] {
            sqlx::query(&pragma).execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// The SQLite URL for the database file at `path` (made absolute), creating the file when
/// absent (`mode=rwc`).
pub(crate) fn sqlite_url(path: &Path) -> Result<String, StoreError> {
    use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
    // What the SQLite driver percent-decodes in the path, plus `%` itself.
    const PATH: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'<')
        .add(b'>')
        .add(b'?')
        .add(b'`')
        .add(b'{')
        .add(b'}');
    let absolute = std::path::absolute(path).map_err(|e| StoreError::io(path, e))?;
    let text = absolute.to_str().ok_or_else(|| {
        StoreError::Invalid(format!(
            "the database path {} is not valid UTF-8",
            absolute.display()
        ))
    })?;
    Ok(format!(
        "sqlite://{}?mode=rwc",
        utf8_percent_encode(text, PATH)
    ))
}

/// The URL to connect to and its backend. A plain path, or `sqlite://PATH` without a query
/// string, becomes an SQLite URL that creates the file (`mode=rwc`), and the file's folder is
/// created.
fn resolve_url(url: &str) -> Result<(String, Backend), StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((url.to_owned(), Backend::Postgres));
    }
    if let Some(rest) = url.strip_prefix("sqlite:") {
        if url.contains('?') {
            // A full SQLite URL: used as given.
            return Ok((url.to_owned(), Backend::Sqlite));
        }
        // `sqlite://PATH` or `sqlite:PATH` without options: the path, as written.
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() || path == ":memory:" {
            return Err(StoreError::Invalid(
                "an in-memory SQLite database cannot be the store: each connection would see \
                 its own; give a file path"
                    .into(),
            ));
        }
        return resolve_url(path).map(|(url, _)| (url, Backend::Sqlite));
    }
    if let Some((scheme, _)) = url.split_once("://") {
        return Err(StoreError::Invalid(format!(
            "unsupported database URL scheme '{scheme}': expected postgres://… or a path to an \
             SQLite file"
        )));
    }
    if url.is_empty() {
        return Err(StoreError::Invalid(
            "the database is empty: expected postgres://… or a path to an SQLite file".into(),
        ));
    }
    let path = Path::new(url);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| StoreError::io(parent, e))?;
    }
    Ok((sqlite_url(path)?, Backend::Sqlite))
}

/// Now, in unix seconds.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Now plus `ttl`, rounded up to the second (so a short positive ttl is not already over).
fn expiry(ttl: Duration) -> i64 {
    let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    now().saturating_add(i64::try_from(secs).unwrap_or(i64::MAX))
}
