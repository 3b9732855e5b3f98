//! Suite: workspaces open to every user, templates, and the workspaces users make from them
//! (their limit, their listing, and what goes when their template or their owner does).

use std::collections::{BTreeMap, BTreeSet};

use plugin_api::KvScope;

use super::{contains, count, raw_table, TestDb};
use crate::store::{
    Access, Backend, DeadProp, PropChange, Store, StoreError, TemplateSpec, WorkspaceRecord,
};

const SECRET: &str = "users-own-app-secret";

/// A Dropbox template: the admin fixes the root, the user gives the app's key and secret.
fn template(id: &str, max_per_user: Option<u32>) -> WorkspaceRecord {
    WorkspaceRecord {
        id: id.into(),
        label: "Your Dropbox".into(),
        driver: "access.dropbox".into(),
        params: BTreeMap::from([("ROOT".into(), "/apps/wshost".into())]),
        template_spec: Some(TemplateSpec {
            user_params: BTreeSet::from(["CLIENT_ID".into(), "CLIENT_SECRET".into()]),
            max_per_user,
        }),
        ..WorkspaceRecord::default()
    }
}

/// What `owner` makes from `template`: the template's fixed params and their own, the
/// secret one sealed like any other.
fn made(id: &str, template: &str, owner: &str) -> WorkspaceRecord {
    WorkspaceRecord {
        id: id.into(),
        label: format!("{owner}'s Dropbox"),
        driver: "access.dropbox".into(),
        params: BTreeMap::from([
            ("ROOT".into(), "/apps/wshost".into()),
            ("CLIENT_ID".into(), format!("key-of-{owner}")),
            ("CLIENT_SECRET".into(), SECRET.into()),
        ]),
        secret_params: BTreeSet::from(["CLIENT_SECRET".into()]),
        template: Some(template.into()),
        owner: Some(owner.into()),
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

fn ids(records: &[WorkspaceRecord]) -> Vec<&str> {
    records.iter().map(|w| w.id.as_str()).collect()
}

/// The store's generation, as the request snapshots learn it.
async fn generation(store: &Store) -> i64 {
    let (value,): (i64,) = sqlx::query_as("SELECT value FROM generation WHERE id = 1")
        .fetch_one(&store.pool)
        .await
        .expect("generation");
    value
}

pub(super) async fn new_fields_round_trip(db: &TestDb) {
    db.create_user("bob", "pw", false).await.unwrap();
    let mine = WorkspaceRecord {
        id: "mine".into(),
        label: "My files".into(),
        driver: "access.fs".into(),
        params: BTreeMap::from([("ROOT".into(), "{data_dir}/personal/{user}".into())]),
        all_users: Some(Access::ReadWrite),
        ..WorkspaceRecord::default()
    };
    let tpl = template("dropbox-own", Some(3));
    let own = made("bob-box", "dropbox-own", "bob");
    db.insert_workspace(&mine).await.unwrap();
    db.insert_workspace(&tpl).await.unwrap();
    db.insert_owned_workspace(&own, Some(3)).await.unwrap();

    for expected in [&mine, &tpl, &own] {
        let stored = db.workspace(&expected.id).await.unwrap().expect("stored");
        same_content(&stored, expected);
    }
    let all = db.workspaces().await.unwrap();
    assert_eq!(ids(&all), ["bob-box", "dropbox-own", "mine"]);
    same_content(&all[0], &own);
    same_content(&all[1], &tpl);
    same_content(&all[2], &mine);

    // A template's spec is the documented JSON; the user's secret is sealed like any other.
    let raw = raw_table(db, "workspaces").await;
    assert!(contains(
        &raw,
        r#"{"user_params":["CLIENT_ID","CLIENT_SECRET"],"max_per_user":3}"#
    ));
    assert!(!contains(&raw, SECRET));
    let unlimited = template("open", None);
    db.insert_workspace(&unlimited).await.unwrap();
    assert!(contains(
        &raw_table(db, "workspaces").await,
        r#""max_per_user":null"#
    ));
    let shown = format!("{:?}", db.workspace("bob-box").await.unwrap().unwrap());
    assert!(
        !shown.contains(SECRET) && !shown.contains("key-of-bob"),
        "{shown}"
    );
    assert!(shown.contains("owner: Some(\"bob\")"), "{shown}");
}

pub(super) async fn update_changes_access_and_spec_not_origin(db: &TestDb) {
    for name in ["bob", "eve"] {
        db.create_user(name, "pw", false).await.unwrap();
    }
    db.insert_workspace(&template("dropbox-own", Some(3)))
        .await
        .unwrap();
    db.insert_workspace(&template("other", None)).await.unwrap();
    let own = made("bob-box", "dropbox-own", "bob");
    db.insert_owned_workspace(&own, Some(3)).await.unwrap();

    let mut changed = own.clone();
    changed.all_users = Some(Access::Read);
    changed.template_spec = Some(TemplateSpec {
        user_params: BTreeSet::from(["CLIENT_ID".into()]),
        max_per_user: Some(1),
    });
    // Where it comes from and whose it is are not the update's to change.
    changed.template = Some("other".into());
    changed.owner = Some("eve".into());
    db.update_workspace(&changed).await.unwrap();
    let stored = db.workspace("bob-box").await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.all_users, Some(Access::Read));
    assert_eq!(stored.template_spec, changed.template_spec);
    assert_eq!(stored.template.as_deref(), Some("dropbox-own"));
    assert_eq!(stored.owner.as_deref(), Some("bob"));

    // And back to neither.
    changed.all_users = None;
    changed.template_spec = None;
    db.update_workspace(&changed).await.unwrap();
    let stored = db.workspace("bob-box").await.unwrap().unwrap();
    assert_eq!((stored.all_users, stored.template_spec), (None, None));
    assert_eq!(stored.owner.as_deref(), Some("bob"));
}

pub(super) async fn owned_workspaces_are_limited_per_user_and_template(db: &TestDb) {
    for name in ["bob", "eve"] {
        db.create_user(name, "pw", false).await.unwrap();
    }
    db.insert_workspace(&template("dropbox-own", Some(2)))
        .await
        .unwrap();
    db.insert_workspace(&template("open", None)).await.unwrap();

    // Up to the limit, then no more: nothing of the refused one is stored.
    for id in ["bob-1", "bob-2"] {
        db.insert_owned_workspace(&made(id, "dropbox-own", "bob"), Some(2))
            .await
            .unwrap();
    }
    let err = db
        .insert_owned_workspace(&made("bob-3", "dropbox-own", "bob"), Some(2))
        .await
        .unwrap_err();
    match &err {
        StoreError::Limit(message) => assert_eq!(
            message,
            "user 'bob' already has 2 workspaces from template 'dropbox-own'; the template \
             allows 2"
        ),
        other => panic!("expected a limit, got {other:?}"),
    }
    assert_eq!(db.workspace("bob-3").await.unwrap(), None);
    // The limit counts one user's workspaces from one template.
    db.insert_owned_workspace(&made("eve-1", "dropbox-own", "eve"), Some(2))
        .await
        .unwrap();
    let err = db
        .insert_owned_workspace(&made("eve-2", "dropbox-own", "eve"), Some(1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Limit(m) if m.contains("already has 1 workspace from")),
        "{err:?}"
    );
    // No limit: as many as the user likes.
    for i in 0..5 {
        db.insert_owned_workspace(&made(&format!("bob-open-{i}"), "open", "bob"), None)
            .await
            .unwrap();
    }
    assert_eq!(db.made_from("open", Some("bob")).await.unwrap().len(), 5);

    // What an owned insert needs.
    let mut orphan = made("orphan", "open", "bob");
    orphan.owner = None;
    let err = db.insert_owned_workspace(&orphan, None).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let mut untemplated = made("untemplated", "open", "bob");
    untemplated.template = None;
    let err = db
        .insert_owned_workspace(&untemplated, None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let err = db
        .insert_owned_workspace(&made("x", "open", "ghost"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound(w) if w == "user 'ghost'"),
        "{err:?}"
    );
    let err = db
        .insert_owned_workspace(&made("x", "nowhere", "bob"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound(w) if w == "template 'nowhere'"),
        "{err:?}"
    );
    // A plain workspace is no template to make workspaces from.
    db.insert_workspace(&made("plain", "open", "bob"))
        .await
        .unwrap();
    let err = db
        .insert_owned_workspace(&made("x", "plain", "bob"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    // An id in use is still refused as one.
    let err = db
        .insert_owned_workspace(&made("bob-open-0", "open", "bob"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists(_)), "{err:?}");
}

pub(super) async fn racing_inserts_respect_the_limit(db: &TestDb) {
    db.create_user("bob", "pw", false).await.unwrap();
    db.insert_workspace(&template("dropbox-own", Some(2)))
        .await
        .unwrap();
    // Two instances, eight requests at once: the count and the insert of each are one step.
    let other = db.reopen(db.key()).await.unwrap();
    let attempts = (0..8).map(|i| {
        let store: Store = if i % 2 == 0 {
            (**db).clone()
        } else {
            other.clone()
        };
        async move {
            store
                .insert_owned_workspace(&made(&format!("bob-{i}"), "dropbox-own", "bob"), Some(2))
                .await
        }
    });
    let outcomes = futures_util::future::join_all(attempts).await;
    let stored = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(stored, 2, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(()) | Err(StoreError::Limit(_)))),
        "{outcomes:?}"
    );
    assert_eq!(db.made_from("dropbox-own", None).await.unwrap().len(), 2);
    other.close().await;
}

pub(super) async fn made_from_lists_by_template_and_owner(db: &TestDb) {
    for name in ["bob", "eve"] {
        db.create_user(name, "pw", false).await.unwrap();
    }
    for id in ["dropbox-own", "other"] {
        db.insert_workspace(&template(id, None)).await.unwrap();
    }
    // Inserted out of order: the listing sorts by id.
    for (id, tpl, owner) in [
        ("eve-b", "dropbox-own", "eve"),
        ("bob-z", "dropbox-own", "bob"),
        ("bob-a", "dropbox-own", "bob"),
        ("bob-other", "other", "bob"),
    ] {
        db.insert_owned_workspace(&made(id, tpl, owner), None)
            .await
            .unwrap();
    }
    let bob = db.made_from("dropbox-own", Some("bob")).await.unwrap();
    assert_eq!(ids(&bob), ["bob-a", "bob-z"]);
    assert_eq!(bob[0].params["CLIENT_SECRET"], SECRET, "decrypted on read");
    let all = db.made_from("dropbox-own", None).await.unwrap();
    assert_eq!(ids(&all), ["bob-a", "bob-z", "eve-b"]);
    assert_eq!(
        ids(&db.made_from("other", None).await.unwrap()),
        ["bob-other"]
    );
    assert!(db
        .made_from("dropbox-own", Some("ghost"))
        .await
        .unwrap()
        .is_empty());
    assert!(db.made_from("nowhere", None).await.unwrap().is_empty());
}

pub(super) async fn a_template_in_use_cannot_be_deleted(db: &TestDb) {
    db.create_user("bob", "pw", false).await.unwrap();
    db.insert_workspace(&template("dropbox-own", None))
        .await
        .unwrap();
    db.insert_owned_workspace(&made("bob-box", "dropbox-own", "bob"), None)
        .await
        .unwrap();

    let err = db.delete_workspace("dropbox-own").await.unwrap_err();
    assert!(
        matches!(&err, StoreError::InUse(m) if m.contains("template 'dropbox-own'")),
        "{err:?}"
    );
    assert!(db.workspace("dropbox-own").await.unwrap().is_some());
    // The foreign key holds the same rule for whatever bypasses the store's check.
    let raw = sqlx::query("DELETE FROM workspaces WHERE id = $1")
        .bind("dropbox-own")
        .execute(&db.pool)
        .await;
    assert!(raw.is_err(), "the foreign key let the template go");
    assert!(db.workspace("dropbox-own").await.unwrap().is_some());

    // Once its workspaces are gone, so can it be.
    assert!(db.delete_workspace("bob-box").await.unwrap());
    assert!(db.delete_workspace("dropbox-own").await.unwrap());
    assert_eq!(db.workspace("dropbox-own").await.unwrap(), None);
}

pub(super) async fn deleting_the_owner_deletes_their_workspaces(db: &TestDb) {
    for name in ["bob", "eve", "cat"] {
        db.create_user(name, "pw", false).await.unwrap();
    }
    db.insert_workspace(&template("dropbox-own", None))
        .await
        .unwrap();
    for (id, owner) in [("bob-box", "bob"), ("eve-box", "eve"), ("cat-box", "cat")] {
        db.insert_owned_workspace(&made(id, "dropbox-own", owner), None)
            .await
            .unwrap();
        // Rows under the workspace: plugin data (its own, and another user's), a dead
        // property, a grant to another user.
        for scope in [KvScope::workspace(id), KvScope::user(id, "cat")] {
            db.kv_put("access.dropbox", &scope, "k", b"v", None)
                .await
                .unwrap();
        }
        let prop = DeadProp {
            namespace: Some("urn:x".into()),
            prefix: None,
            name: "p".into(),
            xml: None,
        };
        db.dav_patch_props(id, "a", vec![PropChange::Set(prop)])
            .await
            .unwrap();
        db.grant(id, "cat", Access::Read).await.unwrap();
    }
    let request = || {
        Store::request_scope(async {
            (
                db.workspace("bob-box").await.unwrap().map(|w| w.id),
                db.workspace("eve-box").await.unwrap().map(|w| w.id),
            )
        })
    };
    assert_eq!(
        request().await,
        (Some("bob-box".into()), Some("eve-box".into()))
    );
    let before = generation(db).await;

    assert!(db.delete_user("bob").await.unwrap());
    assert!(generation(db).await > before, "the generation did not move");
    assert_eq!(
        request().await,
        (None, Some("eve-box".into())),
        "the next request still saw the owner's workspace"
    );
    assert!(db
        .made_from("dropbox-own", Some("bob"))
        .await
        .unwrap()
        .is_empty());
    for table in ["acl", "kv", "dav_props"] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE workspace = $1");
        assert_eq!(count(db, &sql, "bob-box").await, 0, "rows left in {table}");
        assert!(
            count(db, &sql, "eve-box").await > 0,
            "rows lost from {table}"
        );
    }

    // The foreign key alone does it too, in the same statement as the user's deletion, and
    // the workspaces' delete trigger (0002) counts what it cascades to.
    let raw_delete = |name: &'static str| async move {
        let before = generation(db).await;
        sqlx::query("DELETE FROM users WHERE name = $1")
            .bind(name)
            .execute(&db.pool)
            .await
            .unwrap();
        generation(db).await - before
    };
    let with_workspace = raw_delete("eve").await;
    assert_eq!(request().await, (None, None));
    db.create_user("zed", "pw", false).await.unwrap();
    let without = raw_delete("zed").await;
    match db.backend() {
        // Row triggers: one more for the cascaded workspace row.
        Backend::Sqlite => assert_eq!(with_workspace, without + 1),
        // Statement triggers fire for each cascade's statement, whether it deletes rows or
        // not, so the workspaces' one counts in both.
        Backend::Postgres => assert!(with_workspace >= without && without > 1),
    }
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM workspaces WHERE owner = $1",
            "eve"
        )
        .await,
        0
    );
    // The template and the third user's workspace stay.
    assert!(db.workspace("dropbox-own").await.unwrap().is_some());
    assert!(db.workspace("cat-box").await.unwrap().is_some());
}
