//! The schema: the migrations of each backend, and opening a store that must exist already
//! (every command but `serve`), which creates nothing and migrates nothing.

use std::path::{Path, PathBuf};

use sqlx::migrate::Migrator;

use super::{error, Backend, SecretKey, Store, StoreError};

/// How [`Store::open`] treats the database's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Schema {
    /// Create the store when absent and run the migrations it lacks (`serve`); a schema
    /// ahead of this binary (a migration it does not know) is refused first.
    Migrate,
    /// The store must exist with wshost's schema, which may be behind this binary's: run the
    /// migrations it lacks (`wshost migrate`). A schema ahead is refused, as for `Migrate`.
    Upgrade,
    /// The store must exist with every migration of this binary applied: an absent store, a
    /// database without wshost's schema, or a schema behind or ahead of this binary is
    /// refused with [`StoreError::Schema`], and nothing is written to it first.
    Existing,
}

/// The migrations of `backend`, as this binary knows them.
pub(super) fn migrator(backend: Backend) -> Migrator {
    match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The database `url` names, for a message: `the PostgreSQL database postgres://u:***@h/db`
/// or `the SQLite file PATH`; never a password.
pub(crate) fn location(url: &str) -> String {
    if is_postgres(url) {
        format!("the PostgreSQL database {}", error::redact(url))
    } else {
        format!("the SQLite file {}", error::redact(url))
    }
}

impl Store {
    /// Opens a store that exists already, as [`Store::open`] does but creating nothing (no
    /// SQLite file, no folder) and, with [`Schema::Existing`], running no migration; with
    /// [`Schema::Upgrade`] it runs those the store lacks. `url` is what [`Store::open`] takes.
    pub(crate) async fn open_existing(
        url: &str,
        key: SecretKey,
        schema: Schema,
    ) -> Result<Store, StoreError> {
        let (url, location) = if is_postgres(url) {
            (url.to_owned(), location(url))
        } else {
            let (url, path) = existing_sqlite(url)?;
            (url, format!("the SQLite file {}", path.display()))
        };
        Store::open_as(&url, key, schema, super::DEFAULT_ACQUIRE_TIMEOUT)
            .await
            .map_err(|e| match e {
                StoreError::Schema(what) => StoreError::Schema(format!("{location} {what}")),
                other => other,
            })
    }

    /// Writes a consistent copy of the SQLite store into the new file `dest` with `VACUUM
    /// INTO`, while other connections (a running server) go on reading and writing. A
    /// PostgreSQL store is refused: `pg_dump` backs it up.
    pub(crate) async fn backup_into(&self, dest: &Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Invalid(
                "the store is PostgreSQL: back it up with pg_dump (see docs/operations.md, \
                 Backup and restore)"
                    .into(),
            ));
        }
        if dest.exists() {
            return Err(StoreError::AlreadyExists(format!("{}", dest.display())));
        }
        let dest = std::path::absolute(dest).map_err(|e| StoreError::io(dest, e))?;
        let text = dest.to_str().ok_or_else(|| {
            StoreError::Invalid(format!("{} is not a UTF-8 path", dest.display()))
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(text.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The newest migration applied to the store, and how many of this binary's migrations
    /// are applied out of how many it has.
    pub(crate) async fn schema_version(&self) -> Result<(i64, usize, usize), StoreError> {
        let applied: Vec<(i64,)> =
            sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(&self.pool)
                .await?;
        let migrator = migrator(self.backend);
        let known: Vec<i64> = migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| m.version)
            .collect();
        let newest = applied.iter().map(|(v,)| *v).max().unwrap_or(0);
        let done = known
            .iter()
            .filter(|v| applied.iter().any(|(a,)| a == *v))
            .count();
        Ok((newest, done, known.len()))
    }

    /// Refuses a schema `schema` does not accept, reading only: for [`Schema::Existing`], a
    /// database without wshost's schema, or whose migrations are not exactly this binary's;
    /// for [`Schema::Upgrade`] the same but a schema behind this binary's is accepted; for
    /// [`Schema::Migrate`] only a schema ahead of (or other than) this binary's is refused.
    /// The message continues a sentence naming the database.
    pub(super) async fn check_schema(&self, schema: Schema) -> Result<(), StoreError> {
        let tables = match self.backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' \
                 AND name = '_sqlx_migrations'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
            }
        };
        let (found,): (i64,) = sqlx::query_as(tables).fetch_one(&self.pool).await?;
        if found == 0 {
            if schema == Schema::Migrate {
                return Ok(());
            }
            return Err(StoreError::Schema(
                "has no wshost schema (no table _sqlx_migrations): it is not a wshost store, \
                 or not yet one"
                    .into(),
            ));
        }
        let (failed,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations WHERE NOT success")
                .fetch_one(&self.pool)
                .await?;
        if failed > 0 && schema == Schema::Existing {
            return Err(StoreError::Schema(
                "has a migration that failed half-way: run `wshost migrate` to retry it".into(),
            ));
        }
        let applied: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&self.pool)
                .await?;
        let migrator = migrator(self.backend);
        let known: Vec<_> = migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .collect();
        let newest = known.iter().map(|m| m.version).max().unwrap_or(0);
        if let Some((version, _)) = applied
            .iter()
            .find(|(v, _)| !known.iter().any(|m| m.version == *v))
        {
            return Err(StoreError::Schema(format!(
                "has schema version {version}, which this wshost does not know (it knows up to \
                 {newest}): the store was upgraded by a newer wshost; use that one"
            )));
        }
        if let Some((version, _)) = applied.iter().find(|(v, checksum)| {
            known
                .iter()
                .any(|m| m.version == *v && *m.checksum != checksum[..])
        }) {
            return Err(StoreError::Schema(format!(
                "has a schema version {version} other than this wshost's: it was made by \
                 another build of wshost"
            )));
        }
        let current = applied.iter().map(|(v, _)| *v).max().unwrap_or(0);
        if schema != Schema::Existing {
            return Ok(());
        }
        if let Some(missing) = known
            .iter()
            .find(|m| !applied.iter().any(|(v, _)| *v == m.version))
        {
            return Err(StoreError::Schema(format!(
                "has schema version {current}, older than this wshost's {newest} (migration \
                 {} is not applied): run `wshost migrate` to upgrade it (or `wshost serve`, \
                 which migrates at start); other commands do not migrate",
                missing.version
            )));
        }
        Ok(())
    }
}

/// The URL that opens the existing SQLite store `url` (a path, `sqlite:PATH` or a full
/// `sqlite://…?…` URL) without creating it, and its file; [`StoreError::Schema`] when the
/// file does not exist.
fn existing_sqlite(url: &str) -> Result<(String, PathBuf), StoreError> {
    let rest = url.strip_prefix("sqlite:").unwrap_or(url);
    let rest = if url.starts_with("sqlite:") {
        rest.strip_prefix("//").unwrap_or(rest)
    } else {
        rest
    };
    let (path, query) = match rest.split_once('?') {
        // Only a full URL has its path percent-encoded.
        Some((path, query)) if url.starts_with("sqlite:") => (
            percent_encoding::percent_decode_str(path)
                .decode_utf8_lossy()
                .into_owned(),
            Some(query),
        ),
        _ => (rest.to_owned(), None),
    };
    if path.is_empty() || path == ":memory:" {
        // Refused by `open`, with its reason.
        return Ok((url.to_owned(), PathBuf::from(path)));
    }
    let path = std::path::absolute(Path::new(&path)).map_err(|e| StoreError::io(&path, e))?;
    if !path.is_file() {
        return Err(StoreError::Schema(format!(
            "no store at {}: the SQLite file does not exist",
            path.display()
        )));
    }
    // `mode=rw`: SQLite itself refuses to create the file, should it go in between.
    let url = match query {
        None => super::sqlite_url(&path)?.replace("mode=rwc", "mode=rw"),
        Some(query) => {
            let mut options: Vec<&str> = query
                .split('&')
                .filter(|o| !o.starts_with("mode="))
                .collect();
            options.push("mode=rw");
            let base = url.split_once('?').map_or(url, |(base, _)| base);
            format!("{base}?{}", options.join("&"))
        }
    };
    Ok((url, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every form of SQLite location `open` takes gives `mode=rw` on an existing file, and a
    /// refusal naming the file, with nothing created, on an absent one.
    #[test]
    fn an_existing_sqlite_store_opens_read_write_and_an_absent_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a b.db");
        std::fs::write(&file, b"").unwrap();
        let full = super::super::sqlite_url(&file).unwrap();
        for url in [
            file.display().to_string(),
            format!("sqlite://{}", file.display()),
            full.clone(),
        ] {
            let (opened, path) = existing_sqlite(&url).unwrap();
            assert_eq!(path, file, "{url}");
            assert!(opened.ends_with("?mode=rw"), "{url}: {opened}");
        }
        let missing = dir.path().join("no/such/wshost.db");
        let err = existing_sqlite(&missing.display().to_string()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "no store at {}: the SQLite file does not exist",
                missing.display()
            )
        );
        assert!(!dir.path().join("no").exists());
    }
}
