//! WebDAV locks (RFC 4918 section 6), in the store so that a lock taken through one instance
//! holds on every instance sharing the database. The store keeps the rows and takes the
//! conflict check and the insert of a new lock in one serialized transaction; the conflict
//! rules themselves (exclusive and shared, depth) are the WebDAV door's (`dav::locks`), which
//! it passes to [`Store::dav_lock_if`].
//!
//! A lock's `path` is a key: the request path below the WebDAV prefix, percent-encoded,
//! without the trailing slash of a collection (`/ws/dir`), `""` for the root. Its ancestors are
//! its prefixes ending before a `/`; what lies under it is `path/…`. Expired locks are ignored
//! by every query, swept by [`Store::sweep_dav_locks`] (at open, and by the door now and then).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest as _, Sha256};

use super::dav_props::{subtree, subtree_sql};
use super::{Backend, Store, StoreError};

/// The largest lock owner XML kept, in bytes.
pub(crate) const MAX_LOCK_OWNER: usize = 64 * 1024;

/// PostgreSQL advisory-lock classes (the first key of the two-key form, its own key space):
/// taking a lock on anything holds `ROOT_CLASS` shared, and a lock on the root holds it
/// exclusive; a lock under a top-level collection also holds `TOP_CLASS` on that collection's
/// name. Arbitrary constants, "wsd" and a number.
const ROOT_CLASS: i64 = 0x7773_6401;
const TOP_CLASS: i64 = 0x7773_6402;

const COLUMNS: &str =
    "token, path, href, principal, owner, shared, deep, timeout_secs, expires_ms, created_ms";
type Row = (
    String,
    String,
    String,
    Option<String>,
    Option<Vec<u8>>,
    i64,
    i64,
    i64,
    i64,
    i64,
);

/// A lock to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewLock {
    /// Its token, a URI (`urn:uuid:…`), unique.
    pub(crate) token: String,
    /// The key of the locked resource (see the module's doc).
    pub(crate) path: String,
    /// The path as it was locked, percent-encoded, without the WebDAV prefix.
    pub(crate) href: String,
    /// The user who takes it.
    pub(crate) principal: Option<String>,
    /// The client's `<D:owner>` element, serialized.
    pub(crate) owner: Option<Vec<u8>>,
    /// Shared rather than exclusive.
    pub(crate) shared: bool,
    /// Depth infinity rather than 0.
    pub(crate) deep: bool,
    /// How long it lasts unless refreshed (whole seconds count).
    pub(crate) timeout: Duration,
}

/// A live lock as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredLock {
    /// Its token.
    pub(crate) token: String,
    /// The key of the locked resource.
    pub(crate) path: String,
    /// The path as it was locked, percent-encoded, without the WebDAV prefix.
    pub(crate) href: String,
    /// Who took it.
    pub(crate) principal: Option<String>,
    /// The client's `<D:owner>` element, serialized.
    pub(crate) owner: Option<Vec<u8>>,
    /// Shared rather than exclusive.
    pub(crate) shared: bool,
    /// Depth infinity rather than 0.
    pub(crate) deep: bool,
    /// The timeout last granted.
    pub(crate) timeout: Duration,
    /// When it expires, in unix milliseconds.
    pub(crate) expires_ms: i64,
    /// When it was taken, in unix milliseconds (orders locks on one path).
    pub(crate) created_ms: i64,
}

impl StoredLock {
    fn from_row(row: Row) -> StoredLock {
        let (token, path, href, principal, owner, shared, deep, timeout, expires_ms, created_ms) =
            row;
        StoredLock {
            token,
            path,
            href,
            principal,
            owner,
            shared: shared != 0,
            deep: deep != 0,
            timeout: Duration::from_secs(u64::try_from(timeout).unwrap_or(0)),
            expires_ms,
            created_ms,
        }
    }

    /// When it expires.
    pub(crate) fn expires_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(u64::try_from(self.expires_ms).unwrap_or(0))
    }
}

/// Refuses what is not a lock key: `""`, or `/`-separated non-empty segments after a `/`.
fn check_key(path: &str) -> Result<(), StoreError> {
    let ok = path.is_empty()
        || path
            .strip_prefix('/')
            .is_some_and(|rest| rest.split('/').all(|s| !s.is_empty()));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "'{path}' is not a lock path: expected '' or '/a/b' (no trailing slash)"
        )))
    }
}

/// `path` and its ancestors, the root first: `/ws/a` → `["", "/ws", "/ws/a"]`.
fn self_and_ancestors(path: &str) -> Vec<&str> {
    let mut out = vec![""];
    out.extend(
        path.match_indices('/')
            .skip(1)
            .map(|(i, _)| &path[..i])
            .chain((!path.is_empty()).then_some(path)),
    );
    out
}

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn expires_ms(now: i64, timeout: Duration) -> i64 {
    now.saturating_add(i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX))
}

fn secs(timeout: Duration) -> i64 {
    i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX)
}

/// The live locks on `path` and on each of its ancestors, the root's first, then in the order
/// they were taken.
async fn covering(
    conn: &mut sqlx::AnyConnection,
    path: &str,
    now: i64,
) -> Result<Vec<StoredLock>, StoreError> {
    let paths = self_and_ancestors(path);
    let sql = format!(
        "SELECT {COLUMNS} FROM dav_locks WHERE expires_ms > $1 AND path IN ({})",
        placeholders(2, paths.len())
    );
    let mut query = sqlx::query_as::<_, Row>(&sql).bind(now);
    for p in &paths {
        query = query.bind(*p);
    }
    let mut locks: Vec<StoredLock> = query
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(StoredLock::from_row)
        .collect();
    locks.sort_by(|a, b| {
        (a.path.len(), a.created_ms, &a.token).cmp(&(b.path.len(), b.created_ms, &b.token))
    });
    Ok(locks)
}

/// The live locks on `path` and under it, by path, then in the order they were taken.
async fn within(
    conn: &mut sqlx::AnyConnection,
    path: &str,
    now: i64,
) -> Result<Vec<StoredLock>, StoreError> {
    let range = subtree(path);
    let mut sql = format!("SELECT {COLUMNS} FROM dav_locks WHERE expires_ms > $1");
    if range.is_some() {
        sql.push_str(" AND ");
        sql.push_str(&subtree_sql(2));
    }
    let mut query = sqlx::query_as::<_, Row>(&sql).bind(now);
    for value in range.into_iter().flatten() {
        query = query.bind(value);
    }
    let mut locks: Vec<StoredLock> = query
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(StoredLock::from_row)
        .collect();
    // Byte order, as the key's ranges: a parent sorts before its children.
    locks.sort_by(|a, b| (&a.path, a.created_ms, &a.token).cmp(&(&b.path, b.created_ms, &b.token)));
    Ok(locks)
}

/// A 32-bit key for the top-level collection `name` (SHA-256, so every instance agrees;
/// a collision only serializes two collections' LOCKs together).
fn top_key(name: &str) -> i64 {
    let digest = Sha256::digest(name.as_bytes());
    i64::from(i32::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ]))
}

/// Takes the PostgreSQL advisory locks (held until the transaction ends) that serialize
/// the LOCKs whose conflict checks could see each other: two LOCKs can conflict only if one
/// path is the other or an ancestor of it, so both lie under the same top-level collection, or
/// one is the root.
async fn serialize_postgres(conn: &mut sqlx::AnyConnection, path: &str) -> Result<(), StoreError> {
    // `CAST(… AS TEXT)`: the functions return `void`, which the Any driver cannot decode.
    let advisory = |function: &str| {
        format!("SELECT CAST({function}(CAST($1 AS INTEGER), CAST($2 AS INTEGER)) AS TEXT)")
    };
    let top = path
        .strip_prefix('/')
        .map(|rest| rest.split('/').next().unwrap_or(rest));
    let root_function = if top.is_some() {
        "pg_advisory_xact_lock_shared"
    } else {
        "pg_advisory_xact_lock"
    };
    sqlx::query_as::<_, (String,)>(&advisory(root_function))
        .bind(ROOT_CLASS)
        .bind(0_i64)
        .fetch_one(&mut *conn)
        .await?;
    if let Some(top) = top {
        sqlx::query_as::<_, (String,)>(&advisory("pg_advisory_xact_lock"))
            .bind(TOP_CLASS)
            .bind(top_key(top))
            .fetch_one(&mut *conn)
            .await?;
    }
    Ok(())
}

impl Store {
    /// Takes `lock` unless `conflict` (given the live locks on its path and its ancestors,
    /// root first, and those on its path and under it) names a conflicting one: then
    /// `Ok(Err(that lock))` and nothing is written.
    ///
    /// The check and the insert are one transaction that no other LOCK whose check could see
    /// this one runs beside, on any instance: on SQLite, `BEGIN IMMEDIATE` takes the file's
    /// single write lock before the reads; on PostgreSQL, transaction-scoped advisory locks on
    /// the path's top-level collection (and the root, shared) are taken before the reads.
    /// `SELECT … FOR UPDATE` would not do there: it locks rows that exist, and the conflict is
    /// with a row that does not exist yet. A serializable transaction would, but fails one of
    /// two racers for the caller to retry, where the advisory lock makes the second wait a
    /// few milliseconds and then see the first's lock.
    pub(crate) async fn dav_lock_if(
        &self,
        lock: NewLock,
        conflict: impl FnOnce(&[StoredLock], &[StoredLock]) -> Result<(), Box<StoredLock>>,
    ) -> Result<Result<StoredLock, StoredLock>, StoreError> {
        check_key(&lock.path)?;
        if let Some(size) = lock.owner.as_ref().map(Vec::len) {
            if size > MAX_LOCK_OWNER {
                return Err(StoreError::LockOwnerTooLarge {
                    size,
                    max: MAX_LOCK_OWNER,
                });
            }
        }
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                serialize_postgres(&mut tx, &lock.path).await?;
                tx
            }
        };
        let now = now_ms();
        let on_path = covering(&mut tx, &lock.path, now).await?;
        let under = within(&mut tx, &lock.path, now).await?;
        if let Err(found) = conflict(&on_path, &under) {
            return Ok(Err(*found));
        }
        let stored = StoredLock {
            token: lock.token,
            path: lock.path,
            href: lock.href,
            principal: lock.principal,
            owner: lock.owner,
            shared: lock.shared,
            deep: lock.deep,
            timeout: Duration::from_secs(lock.timeout.as_secs()),
            expires_ms: expires_ms(now, lock.timeout),
            created_ms: now,
        };
        sqlx::query(&format!(
            "INSERT INTO dav_locks ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&stored.token)
        .bind(&stored.path)
        .bind(&stored.href)
        .bind(&stored.principal)
        .bind(&stored.owner)
        .bind(i64::from(stored.shared))
        .bind(i64::from(stored.deep))
        .bind(secs(lock.timeout))
        .bind(stored.expires_ms)
        .bind(stored.created_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(stored))
    }

    /// The live locks on `path` and on each of its ancestors (deep or not), the root's first,
    /// then in the order they were taken.
    pub(crate) async fn dav_locks_covering(
        &self,
        path: &str,
    ) -> Result<Vec<StoredLock>, StoreError> {
        check_key(path)?;
        let mut conn = self.pool.acquire().await?;
        covering(&mut conn, path, now_ms()).await
    }

    /// The live locks on `path` and under it, by path, then in the order they were taken.
    pub(crate) async fn dav_locks_within(&self, path: &str) -> Result<Vec<StoredLock>, StoreError> {
        check_key(path)?;
        let mut conn = self.pool.acquire().await?;
        within(&mut conn, path, now_ms()).await
    }

    /// Removes the live lock `token` if it is on `path` or on an ancestor of it; `false` if
    /// there is no such lock.
    pub(crate) async fn dav_unlock(&self, path: &str, token: &str) -> Result<bool, StoreError> {
        check_key(path)?;
        let paths = self_and_ancestors(path);
        let sql = format!(
            "DELETE FROM dav_locks WHERE token = $1 AND expires_ms > $2 AND path IN ({})",
            placeholders(3, paths.len())
        );
        let mut query = sqlx::query(&sql).bind(token).bind(now_ms());
        for p in &paths {
            query = query.bind(*p);
        }
        Ok(query.execute(&self.pool).await?.rows_affected() > 0)
    }

    /// Gives the live lock `token`, on `path` or an ancestor of it, `timeout` from now; the
    /// refreshed lock, or `None` if there is no such lock.
    pub(crate) async fn dav_refresh_lock(
        &self,
        path: &str,
        token: &str,
        timeout: Duration,
    ) -> Result<Option<StoredLock>, StoreError> {
        check_key(path)?;
        let now = now_ms();
        let paths = self_and_ancestors(path);
        let sql = format!(
            "UPDATE dav_locks SET timeout_secs = $1, expires_ms = $2 \
             WHERE token = $3 AND expires_ms > $4 AND path IN ({})",
            placeholders(5, paths.len())
        );
        let mut query = sqlx::query(&sql)
            .bind(secs(timeout))
            .bind(expires_ms(now, timeout))
            .bind(token)
            .bind(now);
        for p in &paths {
            query = query.bind(*p);
        }
        if query.execute(&self.pool).await?.rows_affected() == 0 {
            return Ok(None);
        }
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM dav_locks WHERE token = $1 AND expires_ms > $2"
        ))
        .bind(token)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(StoredLock::from_row))
    }

    /// Removes every lock on `path` and under it (after a MOVE or DELETE); how many went.
    pub(crate) async fn dav_delete_locks(&self, path: &str) -> Result<u64, StoreError> {
        check_key(path)?;
        let range = subtree(path);
        let mut sql = "DELETE FROM dav_locks".to_owned();
        if range.is_some() {
            sql.push_str(" WHERE ");
            sql.push_str(&subtree_sql(1));
        }
        let mut query = sqlx::query(&sql);
        for value in range.into_iter().flatten() {
            query = query.bind(value);
        }
        Ok(query.execute(&self.pool).await?.rows_affected())
    }

    /// Deletes the expired locks; how many went. Queries ignore them already: this reclaims
    /// the rows.
    pub(crate) async fn sweep_dav_locks(&self) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM dav_locks WHERE expires_ms <= $1")
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Makes the lock `token` expired (tests: a lock past its time without waiting for it).
    #[cfg(test)]
    pub(crate) async fn dav_expire_lock(&self, token: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE dav_locks SET expires_ms = $1 WHERE token = $2")
            .bind(now_ms() - 1)
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{check_key, self_and_ancestors};

    #[test]
    fn ancestors_root_first() {
        assert_eq!(self_and_ancestors(""), [""]);
        assert_eq!(self_and_ancestors("/ws"), ["", "/ws"]);
        assert_eq!(
            self_and_ancestors("/ws/a/b"),
            ["", "/ws", "/ws/a", "/ws/a/b"]
        );
    }

    #[test]
    fn lock_keys() {
        for ok in ["", "/ws", "/ws/a%20b/c"] {
            assert!(check_key(ok).is_ok(), "{ok}");
        }
        for bad in ["/", "ws", "/ws/", "/ws//a"] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }
}
