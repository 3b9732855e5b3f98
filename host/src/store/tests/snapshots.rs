//! Suite: request scopes answer from the snapshot of one store generation, and a change
//! made by another instance (a second `Store` on the same database) holds from the next
//! request on.

use std::time::Duration;

use super::TestDb;
use crate::store::{Access, Backend, Store, WorkspaceRecord};

/// What a file request by `token` on workspace `ws` reads, inside one request scope.
async fn request(
    store: &Store,
    token: &str,
    ws: &str,
) -> (Option<String>, Option<Access>, Option<bool>, Option<i64>) {
    Store::request_scope(async {
        let user = store.token_user(token).await.unwrap().map(|u| u.name);
        let access = store.access(ws, "una").await.unwrap();
        let toggle = store
            .plugin_toggles()
            .await
            .unwrap()
            .get("access.x")
            .copied();
        let version = store.workspace(ws).await.unwrap().map(|w| w.version);
        (user, access, toggle, version)
    })
    .await
}

pub(super) async fn every_change_holds_on_the_next_request(db: &TestDb) {
    let other = db.reopen(db.key()).await.unwrap();
    db.create_user("una", "pw", false).await.unwrap();
    let token = db.create_token("una", "cli").await.unwrap();
    let ws = WorkspaceRecord {
        id: "w".into(),
        label: "W".into(),
        driver: "access.x".into(),
        ..WorkspaceRecord::default()
    };
    db.insert_workspace(&ws).await.unwrap();
    db.grant("w", "una", Access::Read).await.unwrap();
    let first = (Some("una".to_owned()), Some(Access::Read), None, Some(1));
    assert_eq!(request(db, &token.token, "w").await, first);
    assert_eq!(
        request(db, &token.token, "w").await,
        first,
        "from the snapshot"
    );

    other.grant("w", "una", Access::ReadWrite).await.unwrap();
    let granted = (
        Some("una".to_owned()),
        Some(Access::ReadWrite),
        None,
        Some(1),
    );
    assert_eq!(request(db, &token.token, "w").await, granted);
    other.set_plugin_toggle("access.x", false).await.unwrap();
    assert_eq!(request(db, &token.token, "w").await.2, Some(false));
    other.update_workspace(&ws).await.unwrap();
    assert_eq!(request(db, &token.token, "w").await.3, Some(2));
    other.revoke("w", "una").await.unwrap();
    assert_eq!(request(db, &token.token, "w").await.1, None);
    other.delete_token(&token.id, None).await.unwrap();
    assert_eq!(request(db, &token.token, "w").await.0, None);

    // Sessions: ended on the other instance, gone on the next request.
    let session = other
        .create_session("una", Duration::from_secs(60))
        .await
        .unwrap();
    let user = |s: Option<crate::store::Session>| s.map(|s| s.user.name);
    let scoped = || Store::request_scope(db.session(&session.token));
    assert_eq!(user(scoped().await.unwrap()), Some("una".to_owned()));
    other.delete_session(&session.token).await.unwrap();
    assert_eq!(user(scoped().await.unwrap()), None);
    other.close().await;
}

pub(super) async fn one_request_reads_one_generation(db: &TestDb) {
    db.set_plugin_toggle("access.x", true).await.unwrap();
    Store::request_scope(async {
        assert_eq!(
            db.plugin_toggles().await.unwrap().get("access.x"),
            Some(&true)
        );
        // A change during the request is not half-seen by it: the request reads the store
        // as of its first read.
        let other = db.reopen(db.key()).await.unwrap();
        other.set_plugin_toggle("access.x", false).await.unwrap();
        other.close().await;
        assert_eq!(
            db.plugin_toggles().await.unwrap().get("access.x"),
            Some(&true)
        );
    })
    .await;
    assert_eq!(
        db.plugin_toggles().await.unwrap().get("access.x"),
        Some(&false)
    );
}

pub(super) async fn a_cached_token_still_records_its_use(db: &TestDb) {
    db.create_user("una", "pw", false).await.unwrap();
    let token = db.create_token("una", "cli").await.unwrap();
    let last_used = || async { db.tokens(Some("una")).await.unwrap()[0].last_used_at };
    assert_eq!(last_used().await, None);
    for _ in 0..2 {
        Store::request_scope(db.token_user(&token.token))
            .await
            .unwrap();
    }
    assert!(last_used().await.is_some());
}

pub(super) async fn sqlite_reads_the_generation_on_the_calling_thread(db: &TestDb) {
    let pooled = || async {
        let (generation,): (i64,) = sqlx::query_as("SELECT value FROM generation WHERE id = 1")
            .fetch_one(&db.pool)
            .await
            .expect("generation");
        generation
    };
    let direct = db.snapshots.read_directly();
    match db.backend() {
        // The direct read sees what the pool sees, and a change by another instance at once.
        Backend::Sqlite => {
            assert_eq!(direct, Some(pooled().await));
            let other = db.reopen(db.key()).await.unwrap();
            other.set_plugin_toggle("access.x", false).await.unwrap();
            other.close().await;
            let after = db.snapshots.read_directly();
            assert_eq!(after, Some(pooled().await));
            assert!(after > direct, "{after:?} after {direct:?}");
        }
        Backend::Postgres => assert_eq!(direct, None),
    }
}
