//! Suite: workspaces open to every user, templates, and the workspaces users make from them.

use std::collections::{BTreeMap, BTreeSet};

use super::{contains, raw_table, TestDb};
use crate::store::{Access, TemplateSpec, WorkspaceRecord};

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
    db.insert_workspace(&own).await.unwrap();

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
    db.insert_workspace(&own).await.unwrap();

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
