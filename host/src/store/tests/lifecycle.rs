//! Suite: opening, the key check, restarts; and opening errors (SQLite only).

use std::time::Duration;

use plugin_api::KvScope;

use super::TestDb;
use crate::store::{Access, Backend, SecretKey, Store, StoreError};

pub(super) async fn ping_and_backend(db: &TestDb) {
    db.ping().await.unwrap();
    let expected = if db.pg.is_some() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    assert_eq!(db.backend(), expected);
    assert!(!format!("{:?}", **db).contains("key"));
}

pub(super) async fn wrong_key_is_refused(db: &TestDb) {
    db.create_user("kim", "pw", false).await.unwrap();
    db.close().await;
    let err = db.reopen(&SecretKey::generate()).await.unwrap_err();
    assert!(matches!(err, StoreError::WrongKey), "got {err}");
    assert_eq!(
        err.to_string().split(" (").next().unwrap(),
        "the secrets key does not match the one this store was created with"
    );
    // The right key still opens it, twice in a row (migrations and key check are idempotent).
    for _ in 0..2 {
        let store = db.reopen(db.key()).await.unwrap();
        assert!(store.user("kim").await.unwrap().is_some());
        store.close().await;
    }
}

pub(super) async fn restart_keeps_everything(db: &TestDb) {
    db.create_user("ria", "pw", true).await.unwrap();
    let session = db
        .create_session("ria", Duration::from_secs(3600))
        .await
        .unwrap();
    let token = db.create_token("ria", "cli").await.unwrap();
    let mut ws = crate::store::WorkspaceRecord {
        id: "docs".into(),
        label: "Docs".into(),
        driver: "access.fs".into(),
        ..Default::default()
    };
    ws.params.insert("ROOT".into(), "/srv/docs".into());
    ws.params.insert("PASSWORD".into(), "pa55".into());
    ws.secret_params.insert("PASSWORD".into());
    db.insert_workspace(&ws).await.unwrap();
    db.update_workspace(&ws).await.unwrap();
    db.grant("docs", "ria", Access::ReadWrite).await.unwrap();
    db.set_plugin_toggle("access.dropbox", false).await.unwrap();
    let scope = KvScope::user("docs", "ria");
    db.kv_put(
        "access.fs",
        &scope,
        "k",
        b"kept",
        Some(Duration::from_secs(3600)),
    )
    .await
    .unwrap();
    let before = db.workspace("docs").await.unwrap().unwrap();
    db.close().await;

    let store: Store = db.reopen(db.key()).await.unwrap();
    assert_eq!(store.user_count().await.unwrap(), 1);
    assert!(store
        .check_password("ria", "pw")
        .await
        .unwrap()
        .is_some_and(|u| u.admin));
    let back = store
        .session(&session.token)
        .await
        .unwrap()
        .expect("session survives");
    assert_eq!(back.csrf, session.csrf);
    assert_eq!(
        store.token_user(&token.token).await.unwrap().unwrap().name,
        "ria"
    );
    let after = store.workspace("docs").await.unwrap().unwrap();
    assert_eq!(after, before);
    assert_eq!(after.version, 2);
    assert_eq!(after.params["PASSWORD"], "pa55");
    assert_eq!(
        store.access("docs", "ria").await.unwrap(),
        Some(Access::ReadWrite)
    );
    assert!(!store.plugin_toggles().await.unwrap()["access.dropbox"]);
    assert_eq!(
        store
            .kv_get("access.fs", &scope, "k")
            .await
            .unwrap()
            .unwrap(),
        b"kept"
    );
    store.close().await;
}

#[tokio::test]
async fn bad_urls_give_clear_errors_without_passwords() {
    let key = SecretKey::generate();
    let err = Store::open("mysql://u:pw@localhost/db", key.clone())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("unsupported database URL scheme 'mysql'"),
        "{err}"
    );
    assert!(matches!(
        Store::open("", key.clone()).await,
        Err(StoreError::Invalid(_))
    ));

    // Nothing listens on port 1: refused at once, and the message hides the password.
    let err = Store::open("postgres://bob:hunter2@127.0.0.1:1/db", key)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, StoreError::Connect { .. }), "{message}");
    assert!(
        message.contains("postgres://bob:***@127.0.0.1:1/db"),
        "{message}"
    );
    assert!(
        !message.contains("hunter2") && !format!("{err:?}").contains("hunter2"),
        "{message}"
    );
}

#[tokio::test]
async fn sqlite_file_is_wal_with_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = Store::open(path.to_str().unwrap(), SecretKey::generate())
        .await
        .unwrap();
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(fk, 1);
    let (busy,): (i64,) = sqlx::query_as("PRAGMA busy_timeout")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert!(busy >= 1000, "busy_timeout {busy}");
    store.close().await;
    // `sqlite://PATH` without options is a path as written: created, folder too.
    let plain = dir.path().join("sub dir/plain.db");
    let store = Store::open(
        &format!("sqlite://{}", plain.display()),
        SecretKey::generate(),
    )
    .await
    .unwrap();
    store.close().await;
    assert!(plain.is_file());
    assert!(matches!(
        Store::open("sqlite::memory:", SecretKey::generate()).await,
        Err(StoreError::Invalid(_))
    ));
    // A full sqlite: URL works as well as a path.
    let url = crate::store::sqlite_url(&path).unwrap();
    assert!(
        url.starts_with("sqlite:///") && url.ends_with("?mode=rwc"),
        "{url}"
    );
    assert!(matches!(
        Store::open(&url, SecretKey::generate()).await,
        Err(StoreError::WrongKey)
    ));
}
