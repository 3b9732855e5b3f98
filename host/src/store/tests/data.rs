//! Suite: workspaces, grants, plugin toggles and the plugins' key-value data.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use plugin_api::KvScope;

use super::{contains, count, raw_table, TestDb};
use crate::store::{Access, StoreError, WorkspaceRecord};

const SECRET: &str = "s3cr3t-client-secret";

fn dropbox(id: &str) -> WorkspaceRecord {
    WorkspaceRecord {
        id: id.into(),
        label: format!("Dropbox {id}"),
        description: "team files".into(),
        driver: "access.dropbox".into(),
        params: BTreeMap::from([
            ("CLIENT_ID".into(), "app-key-123".into()),
            ("CLIENT_SECRET".into(), SECRET.into()),
        ]),
        secret_params: BTreeSet::from(["CLIENT_SECRET".into()]),
        ..WorkspaceRecord::default()
    }
}

/// `stored` with the fields the store sets taken from `stored` itself.
fn same_content(stored: &WorkspaceRecord, expected: &WorkspaceRecord) {
    let comparable = WorkspaceRecord {
        version: stored.version,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
        ..expected.clone()
    };
    assert_eq!(stored, &comparable);
}

pub(super) async fn workspaces(db: &TestDb) {
    let team = dropbox("team");
    db.insert_workspace(&team).await.unwrap();
    let stored = db.workspace("team").await.unwrap().expect("stored");
    same_content(&stored, &team);
    assert_eq!(stored.version, 1);
    assert!(stored.created_at > 0 && stored.updated_at == stored.created_at);
    assert_eq!(stored.params["CLIENT_SECRET"], SECRET, "decrypted on read");
    assert!(!format!("{stored:?}").contains(SECRET));
    assert!(!format!("{stored:?}").contains("app-key-123"));

    // The secret is sealed in the raw column; the other params are plain.
    let raw = raw_table(db, "workspaces").await;
    assert!(!contains(&raw, SECRET));
    assert!(contains(&raw, "app-key-123"));

    let err = db.insert_workspace(&team).await.unwrap_err();
    assert!(matches!(&err, StoreError::AlreadyExists(what) if what == "workspace 'team'"));
    assert!(matches!(
        db.insert_workspace(&WorkspaceRecord::default()).await,
        Err(StoreError::Invalid(_))
    ));

    let mut changed = team.clone();
    changed.label = "Team Dropbox".into();
    changed
        .params
        .insert("CLIENT_SECRET".into(), "rotated".into());
    changed.params.insert("ROOT".into(), "/shared".into());
    db.update_workspace(&changed).await.unwrap();
    let updated = db.workspace("team").await.unwrap().unwrap();
    same_content(&updated, &changed);
    assert_eq!(updated.version, 2);
    assert_eq!(updated.created_at, stored.created_at);
    assert!(updated.updated_at >= stored.updated_at);
    db.update_workspace(&changed).await.unwrap();
    assert_eq!(db.workspace("team").await.unwrap().unwrap().version, 3);

    let err = db.update_workspace(&dropbox("ghost")).await.unwrap_err();
    assert!(matches!(&err, StoreError::NotFound(what) if what == "workspace 'ghost'"));
    assert_eq!(db.workspace("ghost").await.unwrap(), None);

    let mut local = dropbox("alpha");
    local.driver = "access.fs".into();
    local.secret_params.clear();
    db.insert_workspace(&local).await.unwrap();
    let ids: Vec<String> = db
        .workspaces()
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.id)
        .collect();
    assert_eq!(ids, ["alpha", "team"]);
    let all = db.workspaces().await.unwrap();
    assert_eq!(all[1].params["CLIENT_SECRET"], "rotated");
}

pub(super) async fn workspace_delete_cascades(db: &TestDb) {
    db.create_user("wes", "pw", false).await.unwrap();
    for id in ["doomed", "kept"] {
        db.insert_workspace(&dropbox(id)).await.unwrap();
        db.grant(id, "wes", Access::Read).await.unwrap();
        for scope in [KvScope::workspace(id), KvScope::user(id, "wes")] {
            db.kv_put("access.dropbox", &scope, "k", b"v", None)
                .await
                .unwrap();
        }
        let prop = crate::store::DeadProp {
            namespace: Some("urn:x".into()),
            prefix: None,
            name: "p".into(),
            xml: None,
        };
        db.dav_patch_props(id, "a", vec![crate::store::PropChange::Set(prop)])
            .await
            .unwrap();
    }
    // A config-declared workspace: grants but no row.
    db.grant("from-config", "wes", Access::ReadWrite)
        .await
        .unwrap();

    assert!(db.delete_workspace("doomed").await.unwrap());
    assert!(!db.delete_workspace("doomed").await.unwrap());
    assert!(db.workspace("doomed").await.unwrap().is_none());
    assert_eq!(db.access("doomed", "wes").await.unwrap(), None);
    for table in ["acl", "kv", "dav_props"] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE workspace = $1");
        assert_eq!(count(db, &sql, "doomed").await, 0, "rows left in {table}");
    }
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM kv WHERE workspace = $1", "kept").await,
        2
    );
    assert_eq!(db.access("kept", "wes").await.unwrap(), Some(Access::Read));
    assert!(db.dav_has_props("kept", "a").await.unwrap());

    // Deleting an id that has no row leaves its grants alone.
    assert!(!db.delete_workspace("from-config").await.unwrap());
    assert_eq!(
        db.access("from-config", "wes").await.unwrap(),
        Some(Access::ReadWrite)
    );
    // A workspace created in the store under that id starts with no grant and no data.
    db.kv_put(
        "access.dropbox",
        &KvScope::workspace("from-config"),
        "k",
        b"v",
        None,
    )
    .await
    .unwrap();
    db.insert_workspace(&dropbox("from-config")).await.unwrap();
    assert_eq!(db.access("from-config", "wes").await.unwrap(), None);
    for table in ["acl", "kv"] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE workspace = $1");
        assert_eq!(
            count(db, &sql, "from-config").await,
            0,
            "rows left in {table}"
        );
    }
    assert_eq!(db.access("kept", "wes").await.unwrap(), Some(Access::Read));
}

pub(super) async fn secrets_are_bound_to_their_row(db: &TestDb) {
    db.insert_workspace(&dropbox("a")).await.unwrap();
    let mut b = dropbox("b");
    b.params.insert("CLIENT_SECRET".into(), "another".into());
    db.insert_workspace(&b).await.unwrap();
    // Copy a's sealed params into b's row: b no longer decrypts.
    let (params_a,): (String,) = sqlx::query_as("SELECT params FROM workspaces WHERE id = $1")
        .bind("a")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE workspaces SET params = $1 WHERE id = $2")
        .bind(&params_a)
        .bind("b")
        .execute(&db.pool)
        .await
        .unwrap();
    let err = db.workspace("b").await.unwrap_err();
    assert!(matches!(err, StoreError::Crypto));
    assert!(!err.to_string().contains(SECRET));
    assert!(db.workspace("a").await.unwrap().is_some());

    // The same for a key-value entry moved to another key.
    let scope = KvScope::plugin();
    db.kv_put("p", &scope, "one", b"first value", None)
        .await
        .unwrap();
    db.kv_put("p", &scope, "two", b"second value", None)
        .await
        .unwrap();
    sqlx::query("UPDATE kv SET value = (SELECT value FROM kv WHERE kv_key = $1) WHERE kv_key = $2")
        .bind("one")
        .bind("two")
        .execute(&db.pool)
        .await
        .unwrap();
    assert!(matches!(
        db.kv_get("p", &scope, "two").await,
        Err(StoreError::Crypto)
    ));
    assert_eq!(
        db.kv_get("p", &scope, "one").await.unwrap().unwrap(),
        b"first value"
    );
}

pub(super) async fn acl(db: &TestDb) {
    for name in ["zoe", "al"] {
        db.create_user(name, "pw", false).await.unwrap();
    }
    assert_eq!(db.access("ws", "zoe").await.unwrap(), None);
    db.grant("ws", "zoe", Access::Read).await.unwrap();
    assert_eq!(db.access("ws", "zoe").await.unwrap(), Some(Access::Read));
    db.grant("ws", "zoe", Access::ReadWrite).await.unwrap();
    assert_eq!(
        db.access("ws", "zoe").await.unwrap(),
        Some(Access::ReadWrite)
    );
    db.grant("ws", "al", Access::Read).await.unwrap();
    db.grant("other", "zoe", Access::Read).await.unwrap();
    db.grant("alpha", "zoe", Access::ReadWrite).await.unwrap();

    assert_eq!(
        db.acl("ws").await.unwrap(),
        [
            ("al".to_owned(), Access::Read),
            ("zoe".to_owned(), Access::ReadWrite)
        ]
    );
    assert_eq!(
        db.user_workspaces("zoe").await.unwrap(),
        [
            ("alpha".to_owned(), Access::ReadWrite),
            ("other".to_owned(), Access::Read),
            ("ws".to_owned(), Access::ReadWrite)
        ]
    );
    assert!(db.acl("nothing").await.unwrap().is_empty());

    let err = db.grant("ws", "nobody", Access::Read).await.unwrap_err();
    assert!(matches!(&err, StoreError::NotFound(what) if what == "user 'nobody'"));
    assert_eq!(db.access("ws", "nobody").await.unwrap(), None);

    assert!(db.revoke("ws", "zoe").await.unwrap());
    assert!(!db.revoke("ws", "zoe").await.unwrap());
    assert_eq!(db.access("ws", "zoe").await.unwrap(), None);
    assert_eq!(db.access("other", "zoe").await.unwrap(), Some(Access::Read));

    // The wire form.
    for (access, text) in [(Access::Read, "r"), (Access::ReadWrite, "rw")] {
        assert_eq!(access.as_str(), text);
        assert_eq!(text.parse::<Access>().unwrap(), access);
        assert_eq!(
            serde_json::to_string(&access).unwrap(),
            format!("\"{text}\"")
        );
        assert_eq!(
            serde_json::from_str::<Access>(&format!("\"{text}\"")).unwrap(),
            access
        );
    }
    assert!(matches!("w".parse::<Access>(), Err(StoreError::Invalid(_))));
}

pub(super) async fn plugin_toggles(db: &TestDb) {
    assert!(db.plugin_toggles().await.unwrap().is_empty());
    db.set_plugin_toggle("access.dropbox", false).await.unwrap();
    db.set_plugin_toggle("access.fs", true).await.unwrap();
    db.set_plugin_toggle("access.dropbox", true).await.unwrap();
    db.set_plugin_toggle("access.fs", false).await.unwrap();
    let expected = BTreeMap::from([
        ("access.dropbox".to_owned(), true),
        ("access.fs".to_owned(), false),
    ]);
    assert_eq!(db.plugin_toggles().await.unwrap(), expected);
}

pub(super) async fn kv(db: &TestDb) {
    let plugin = "access.dropbox";
    let scopes = [
        KvScope::plugin(),
        KvScope::workspace("ws"),
        KvScope::user("ws", "u"),
        KvScope::user("ws2", "u"),
    ];
    // Each scope, and each plugin, is its own space.
    for (i, scope) in scopes.iter().enumerate() {
        db.kv_put(plugin, scope, "k", format!("value {i}").as_bytes(), None)
            .await
            .unwrap();
    }
    db.kv_put("access.other", &scopes[0], "k", b"other plugin", None)
        .await
        .unwrap();
    for (i, scope) in scopes.iter().enumerate() {
        let value = db.kv_get(plugin, scope, "k").await.unwrap();
        assert_eq!(value.as_deref(), Some(format!("value {i}").as_bytes()));
    }
    assert_eq!(
        db.kv_get(plugin, &scopes[0], "missing").await.unwrap(),
        None
    );

    // Overwrite, binary values, delete.
    let binary: Vec<u8> = (0..=255).collect();
    db.kv_put(plugin, &scopes[1], "k", &binary, None)
        .await
        .unwrap();
    assert_eq!(
        db.kv_get(plugin, &scopes[1], "k").await.unwrap(),
        Some(binary)
    );
    db.kv_delete(plugin, &scopes[1], "k").await.unwrap();
    assert_eq!(db.kv_get(plugin, &scopes[1], "k").await.unwrap(), None);
    db.kv_delete(plugin, &scopes[1], "k").await.unwrap();
    assert!(matches!(
        db.kv_put("", &scopes[0], "k", b"v", None).await,
        Err(StoreError::Invalid(_))
    ));

    // Values are sealed.
    db.kv_put(plugin, &scopes[2], "token", b"oauth-access-token-xyz", None)
        .await
        .unwrap();
    let raw = raw_table(db, "kv").await;
    assert!(!contains(&raw, "oauth-access-token-xyz") && !contains(&raw, "value 0"));

    // Expiry: an elapsed ttl hides the value from get and take; a long one does not.
    let hour = Some(Duration::from_secs(3600));
    db.kv_put(
        plugin,
        &scopes[0],
        "state",
        b"pending",
        Some(Duration::ZERO),
    )
    .await
    .unwrap();
    assert_eq!(db.kv_get(plugin, &scopes[0], "state").await.unwrap(), None);
    assert_eq!(db.kv_take(plugin, &scopes[0], "state").await.unwrap(), None);
    db.kv_put(plugin, &scopes[0], "state", b"pending", hour)
        .await
        .unwrap();
    assert_eq!(
        db.kv_get(plugin, &scopes[0], "state")
            .await
            .unwrap()
            .unwrap(),
        b"pending"
    );
    // Putting again without ttl removes the expiry.
    db.kv_put(plugin, &scopes[0], "state", b"kept", Some(Duration::ZERO))
        .await
        .unwrap();
    db.kv_put(plugin, &scopes[0], "state", b"kept", None)
        .await
        .unwrap();
    assert_eq!(
        db.kv_get(plugin, &scopes[0], "state")
            .await
            .unwrap()
            .unwrap(),
        b"kept"
    );

    // Expired rows are purged.
    db.kv_put(plugin, &scopes[0], "old", b"x", Some(Duration::ZERO))
        .await
        .unwrap();
    assert!(db.purge_expired().await.unwrap() >= 1);
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM kv WHERE kv_key = $1", "old").await,
        0
    );
}

pub(super) async fn kv_take_is_single_use(db: &TestDb) {
    let scope = KvScope::plugin();
    db.kv_put("p", &scope, "state", b"once", None)
        .await
        .unwrap();
    assert_eq!(
        db.kv_take("p", &scope, "state").await.unwrap().unwrap(),
        b"once"
    );
    assert_eq!(db.kv_take("p", &scope, "state").await.unwrap(), None);
    assert_eq!(db.kv_get("p", &scope, "state").await.unwrap(), None);

    // Twenty concurrent takes of one value: exactly one gets it.
    for round in 0..3 {
        let key = format!("race {round}");
        db.kv_put("p", &scope, &key, b"prize", Some(Duration::from_secs(600)))
            .await
            .unwrap();
        let takers: Vec<_> = (0..20)
            .map(|_| {
                let store = (**db).clone();
                let (scope, key) = (scope.clone(), key.clone());
                tokio::spawn(async move { store.kv_take("p", &scope, &key).await })
            })
            .collect();
        let mut winners = 0;
        for taker in takers {
            if let Some(value) = taker.await.unwrap().unwrap() {
                assert_eq!(value, b"prize");
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
}
