//! The store's behaviour suite, written once and run against both backends: an SQLite file
//! in a temporary folder, and a fresh PostgreSQL database per test on the server at
//! 127.0.0.1:5432 (another with `WSHOST_TEST_POSTGRES=postgres://user@host:port`).
//!
//! When PostgreSQL is unreachable its tests fail, naming the server and `tests/setup.sh`, which
//! starts it: a test never reports ok without having run.
//!
//! `TestDb` and `run` serve the WebDAV lock system's tests too (`dav::locks`), which need the
//! store's databases but may not speak SQL.

mod accounts;
mod data;
mod dav;
mod instances;
mod lifecycle;
mod personal;
mod snapshots;

use std::ops::Deref;

use sqlx::{Column as _, Connection as _, Executor as _, Row as _};

use super::{SecretKey, Store};

/// The PostgreSQL server of the tests, without a database name.
const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432";

/// A store on a database of its own, and what it takes to reopen it.
pub(crate) struct TestDb {
    store: Store,
    url: String,
    key: SecretKey,
    /// The PostgreSQL server and database name, to drop it afterwards.
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Deref for TestDb {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl TestDb {
    pub(crate) async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary folder");
        // A path that needs escaping in a URL, in a folder that does not exist yet.
        let path = dir.path().join("data dir/wshost #1%.db");
        let url = path.to_str().expect("UTF-8 temporary path").to_owned();
        let key = SecretKey::generate();
        let store = Store::open(&url, key.clone())
            .await
            .expect("open SQLite store");
        assert!(
            path.is_file(),
            "the SQLite file is created at {}",
            path.display()
        );
        TestDb {
            store,
            url,
            key,
            pg: None,
            _dir: Some(dir),
        }
    }

    /// A store on a new database; panics, saying why, when PostgreSQL is not reachable.
    pub(crate) async fn postgres() -> TestDb {
        sqlx::any::install_default_drivers();
        let server = std::env::var("WSHOST_TEST_POSTGRES")
            .unwrap_or_else(|_| DEFAULT_PG.to_owned())
            .trim_end_matches('/')
            .to_owned();
        let mut admin = match tokio::time::timeout(
            std::time::Duration::from_secs(5),
            sqlx::AnyConnection::connect(&format!("{server}/postgres")),
        )
        .await
        {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => unreachable_server(&format!("cannot connect to {server}/postgres: {e}")),
            Err(_) => unreachable_server(&format!("{server}/postgres did not answer within 5 s")),
        };
        let name = format!(
            "wshost_test_{}",
            super::crypto::random_token(9).to_lowercase()
        )
        .replace('-', "_");
        admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .expect("create the test database");
        admin.close().await.ok();
        let url = format!("{server}/{name}");
        let key = SecretKey::generate();
        let store = Store::open(&url, key.clone())
            .await
            .expect("open PostgreSQL store");
        TestDb {
            store,
            url,
            key,
            pg: Some((server, name)),
            _dir: None,
        }
    }

    /// Opens the same database again, with `key`.
    pub(crate) async fn reopen(&self, key: &SecretKey) -> Result<Store, super::StoreError> {
        Store::open(&self.url, key.clone()).await
    }

    /// The key the store was created with.
    pub(crate) fn key(&self) -> &SecretKey {
        &self.key
    }

    /// Closes the store and drops its PostgreSQL database (best effort).
    async fn cleanup(self) {
        self.store.close().await;
        if let Some((server, name)) = &self.pg {
            let dropped = async {
                let mut admin = sqlx::AnyConnection::connect(&format!("{server}/postgres")).await?;
                admin
                    .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                    .await?;
                admin.close().await
            };
            if let Err(e) = dropped.await {
                eprintln!("warning: could not drop the test database {name}: {e}");
            }
        }
    }
}

fn unreachable_server(reason: &str) -> ! {
    panic!(
        "the PostgreSQL store tests need a server: {reason}. Run tests/setup.sh \
         (the README's test command does), which installs and starts it at 127.0.0.1:5432 with \
         trust auth for user postgres, or set WSHOST_TEST_POSTGRES to another server."
    )
}

/// Every text and byte value of `table`, concatenated: to prove a secret is not in it.
pub(super) async fn raw_table(store: &Store, table: &str) -> Vec<u8> {
    let rows = sqlx::query(&format!("SELECT * FROM {table}"))
        .fetch_all(&store.pool)
        .await
        .expect("read raw table");
    let mut out = Vec::new();
    for row in rows {
        for column in row.columns() {
            let i = column.ordinal();
            if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                out.extend_from_slice(text.as_bytes());
            } else if let Ok(Some(bytes)) = row.try_get::<Option<Vec<u8>>, _>(i) {
                out.extend_from_slice(&bytes);
            }
            out.push(b'\n');
        }
    }
    out
}

/// Whether `needle` occurs in `haystack`.
pub(super) fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// How many rows `sql` (a `SELECT COUNT(*)` with one text parameter) counts.
pub(super) async fn count(store: &Store, sql: &str, param: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(param)
        .fetch_one(&store.pool)
        .await
        .expect("count rows");
    n
}

/// Runs each listed suite function (`module::name`, taking `&TestDb`) once per backend, as
/// `sqlite::name` and `postgres::name`.
macro_rules! store_suite {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::TestDb::sqlite().await;
                    super::run(db, |db| Box::pin(super::$module::$name(db))).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::TestDb::postgres().await;
                    super::run(db, |db| Box::pin(super::$module::$name(db))).await;
                }
            )*
        }
    };
}

pub(crate) type SuiteFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

/// Runs one suite function on `db`, then cleans up whether it passed or panicked.
pub(crate) async fn run(db: TestDb, test: for<'a> fn(&'a TestDb) -> SuiteFuture<'a>) {
    use futures_util::FutureExt as _;
    let outcome = std::panic::AssertUnwindSafe(test(&db)).catch_unwind().await;
    db.cleanup().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

store_suite! {
    accounts::users,
    accounts::set_password_ends_sessions,
    accounts::delete_user_cascades,
    accounts::sessions,
    accounts::tokens,
    dav::props_set_get_remove,
    dav::props_patch_is_all_or_nothing,
    dav::props_follow_move_copy_delete,
    dav::props_across_workspaces,
    dav::props_refuse_bad_paths,
    dav::locks_rows,
    data::workspaces,
    data::workspace_delete_cascades,
    data::secrets_are_bound_to_their_row,
    data::acl,
    data::plugin_toggles,
    data::kv,
    data::kv_take_is_single_use,
    instances::instances_are_listed_while_they_refresh,
    lifecycle::ping_and_backend,
    lifecycle::wrong_key_is_refused,
    lifecycle::restart_keeps_everything,
    personal::new_fields_round_trip,
    personal::update_changes_access_and_spec_not_origin,
    personal::owned_workspaces_are_limited_per_user_and_template,
    personal::racing_inserts_respect_the_limit,
    personal::made_from_lists_by_template_and_owner,
    personal::a_template_in_use_cannot_be_deleted,
    personal::deleting_the_owner_deletes_their_workspaces,
    snapshots::every_change_holds_on_the_next_request,
    snapshots::one_request_reads_one_generation,
    snapshots::a_cached_token_still_records_its_use,
    snapshots::sqlite_reads_the_generation_on_the_calling_thread,
}
