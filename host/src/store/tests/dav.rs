//! Suite: WebDAV dead properties and lock rows (the lock rules are `dav::locks`'s, tested
//! there over this suite's databases).

use std::time::Duration;

use super::TestDb;
use crate::store::{
    DeadProp, NewLock, PropChange, PropsAt, StoreError, MAX_PROPS_PER_RESOURCE, MAX_PROP_XML,
};

fn prop(namespace: Option<&str>, name: &str, value: &str) -> DeadProp {
    DeadProp {
        namespace: namespace.map(str::to_owned),
        prefix: namespace.map(|_| "x".to_owned()),
        name: name.to_owned(),
        xml: Some(format!("<x:{name} xmlns:x=\"urn:t\">{value}</x:{name}>").into_bytes()),
    }
}

fn set(p: DeadProp) -> PropChange {
    PropChange::Set(p)
}

fn remove(namespace: Option<&str>, name: &str) -> PropChange {
    PropChange::Remove(namespace.map(str::to_owned), name.to_owned())
}

/// The names of the properties at `path` in `ws`.
async fn names(db: &TestDb, ws: &str, path: &str) -> Vec<String> {
    db.dav_props(ws, path)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect()
}

fn at<'a>(workspace: &'a str, path: &'a str) -> PropsAt<'a> {
    PropsAt { workspace, path }
}

pub(super) async fn props_set_get_remove(db: &TestDb) {
    assert!(db.dav_props("ws", "a.txt").await.unwrap().is_empty());
    assert!(!db.dav_has_props("ws", "a.txt").await.unwrap());

    let high = prop(Some("urn:t"), "h\u{1F600}gh", "\u{10FFFF}\u{1F600} é");
    let nullns = prop(None, "plain", "no namespace");
    db.dav_patch_props(
        "ws",
        "a.txt",
        vec![
            set(prop(Some("urn:t"), "b", "1")),
            set(high.clone()),
            set(nullns.clone()),
        ],
    )
    .await
    .unwrap();
    assert!(db.dav_has_props("ws", "a.txt").await.unwrap());
    let got = db.dav_props("ws", "a.txt").await.unwrap();
    // Sorted by namespace (none first), then name; everything as it was given.
    assert_eq!(
        got,
        vec![nullns.clone(), prop(Some("urn:t"), "b", "1"), high.clone()]
    );
    // Same name, other namespace: another property.
    db.dav_patch_props("ws", "a.txt", vec![set(prop(Some("urn:u"), "b", "2"))])
        .await
        .unwrap();
    assert_eq!(db.dav_props("ws", "a.txt").await.unwrap().len(), 4);

    // Replacing keeps one row with the new value.
    db.dav_patch_props("ws", "a.txt", vec![set(prop(Some("urn:t"), "b", "new"))])
        .await
        .unwrap();
    let got = db.dav_props("ws", "a.txt").await.unwrap();
    assert_eq!(got.len(), 4);
    assert!(got.contains(&prop(Some("urn:t"), "b", "new")));

    // In order: set then remove leaves it absent; remove then set leaves it present; removing
    // an absent one is fine.
    db.dav_patch_props(
        "ws",
        "a.txt",
        vec![
            set(prop(Some("urn:t"), "gone", "x")),
            remove(Some("urn:t"), "gone"),
            remove(None, "plain"),
            set(prop(None, "plain", "back")),
            remove(Some("urn:t"), "never"),
            remove(Some("urn:u"), "b"),
        ],
    )
    .await
    .unwrap();
    let got = db.dav_props("ws", "a.txt").await.unwrap();
    assert_eq!(
        got,
        vec![
            prop(None, "plain", "back"),
            prop(Some("urn:t"), "b", "new"),
            high
        ]
    );
    // Other resources and workspaces are untouched.
    assert!(db.dav_props("ws", "").await.unwrap().is_empty());
    assert!(db.dav_props("other", "a.txt").await.unwrap().is_empty());
    // The workspace root holds properties too.
    db.dav_patch_props("ws", "", vec![set(prop(None, "root", "r"))])
        .await
        .unwrap();
    assert_eq!(names(db, "ws", "").await, ["root"]);
}

pub(super) async fn props_patch_is_all_or_nothing(db: &TestDb) {
    db.dav_patch_props("ws", "f", vec![set(prop(None, "kept", "1"))])
        .await
        .unwrap();

    // One property over the size bound: refused before anything is written.
    let mut huge = prop(None, "huge", "");
    huge.xml = Some(vec![b'a'; MAX_PROP_XML + 1]);
    let err = db
        .dav_patch_props(
            "ws",
            "f",
            vec![set(prop(None, "new", "1")), remove(None, "kept"), set(huge)],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::PropTooLarge { ref name, size, max } if name == "huge" && size == MAX_PROP_XML + 1 && max == MAX_PROP_XML),
        "{err:?}"
    );
    let mut exact = prop(None, "exact", "");
    exact.xml = Some(vec![b'a'; MAX_PROP_XML]);
    db.dav_patch_props("ws", "g", vec![set(exact)])
        .await
        .unwrap();
    let long_name = prop(None, &"n".repeat(2000), "");
    assert!(matches!(
        db.dav_patch_props("ws", "g", vec![set(long_name)]).await,
        Err(StoreError::PropTooLarge { .. })
    ));
    assert_eq!(names(db, "ws", "f").await, ["kept"]);

    // Up to the count bound, then a patch that would pass it is rolled back whole.
    let fill: Vec<PropChange> = (1..MAX_PROPS_PER_RESOURCE)
        .map(|i| set(prop(Some("urn:fill"), &format!("p{i:03}"), "v")))
        .collect();
    db.dav_patch_props("ws", "f", fill).await.unwrap();
    assert_eq!(names(db, "ws", "f").await.len(), MAX_PROPS_PER_RESOURCE);
    let err = db
        .dav_patch_props(
            "ws",
            "f",
            vec![
                remove(None, "kept"),
                set(prop(None, "a", "1")),
                set(prop(None, "b", "1")),
            ],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::TooManyProps { count, max, .. } if count == MAX_PROPS_PER_RESOURCE + 1 && max == MAX_PROPS_PER_RESOURCE),
        "{err:?}"
    );
    let after = names(db, "ws", "f").await;
    assert_eq!(after.len(), MAX_PROPS_PER_RESOURCE);
    assert!(
        after.contains(&"kept".to_owned()),
        "the remove was rolled back"
    );
    // Replacing one at the bound is no new property.
    db.dav_patch_props("ws", "f", vec![set(prop(None, "kept", "2"))])
        .await
        .unwrap();
    // Removing then adding at the bound is fine.
    db.dav_patch_props(
        "ws",
        "f",
        vec![remove(None, "kept"), set(prop(None, "a", "1"))],
    )
    .await
    .unwrap();
}

pub(super) async fn props_follow_move_copy_delete(db: &TestDb) {
    // `d` and things under it, and neighbours whose names start with `d` — with the
    // characters LIKE would treat as wildcards.
    for path in ["d", "d/x", "d/y/z", "dx", "d_", "d%", "d0", "e0"] {
        db.dav_patch_props("ws", path, vec![set(prop(None, "p", path))])
            .await
            .unwrap();
    }
    // A MOVE onto `e` replaces what `e` and its children had.
    for path in ["e", "e/old"] {
        db.dav_patch_props("ws", path, vec![set(prop(None, "stale", path))])
            .await
            .unwrap();
    }
    db.dav_props_moved(at("ws", "d"), at("ws", "e"))
        .await
        .unwrap();
    for (path, from) in [("e", "d"), ("e/x", "d/x"), ("e/y/z", "d/y/z")] {
        assert_eq!(
            db.dav_props("ws", path).await.unwrap(),
            vec![prop(None, "p", from)],
            "{path}"
        );
    }
    assert!(!db.dav_has_props("ws", "e/old").await.unwrap());
    for path in ["d", "d/x", "d/y/z"] {
        assert!(!db.dav_has_props("ws", path).await.unwrap(), "{path} moved");
    }
    for path in ["dx", "d_", "d%", "d0", "e0"] {
        assert_eq!(
            names(db, "ws", path).await,
            ["p"],
            "{path} is not under d or e"
        );
    }

    // COPY keeps the source.
    db.dav_props_copied(at("ws", "e"), at("ws", "f/g"))
        .await
        .unwrap();
    for (path, from) in [
        ("f/g", "d"),
        ("f/g/x", "d/x"),
        ("f/g/y/z", "d/y/z"),
        ("e/x", "d/x"),
    ] {
        assert_eq!(
            db.dav_props("ws", path).await.unwrap(),
            vec![prop(None, "p", from)],
            "{path}"
        );
    }
    // A single file.
    db.dav_props_copied(at("ws", "e/x"), at("ws", "single"))
        .await
        .unwrap();
    assert_eq!(names(db, "ws", "single").await, ["p"]);

    // DELETE takes the subtree, and only it.
    db.dav_props_deleted("ws", "e").await.unwrap();
    for path in ["e", "e/x", "e/y/z"] {
        assert!(
            !db.dav_has_props("ws", path).await.unwrap(),
            "{path} deleted"
        );
    }
    for path in ["e0", "f/g", "f/g/y/z", "single"] {
        assert!(db.dav_has_props("ws", path).await.unwrap(), "{path} kept");
    }

    // Moving to itself is nothing; into itself (or onto an ancestor) is refused.
    db.dav_props_moved(at("ws", "f"), at("ws", "f"))
        .await
        .unwrap();
    assert!(db.dav_has_props("ws", "f/g").await.unwrap());
    for (from, to) in [("f", "f/g/h"), ("f/g", "f"), ("f", "")] {
        assert!(
            matches!(
                db.dav_props_copied(at("ws", from), at("ws", to)).await,
                Err(StoreError::Invalid(_))
            ),
            "{from} -> {to}"
        );
    }
    assert!(db.dav_has_props("ws", "f/g").await.unwrap());
    // But `f` to `fg` is a sibling.
    db.dav_props_moved(at("ws", "f"), at("ws", "fg"))
        .await
        .unwrap();
    assert!(db.dav_has_props("ws", "fg/g/y/z").await.unwrap());

    // Deleting the root empties the workspace.
    db.dav_props_deleted("ws", "").await.unwrap();
    for path in ["d_", "dx", "fg/g", "single"] {
        assert!(!db.dav_has_props("ws", path).await.unwrap(), "{path}");
    }
}

pub(super) async fn props_across_workspaces(db: &TestDb) {
    for path in ["", "a", "a/b"] {
        db.dav_patch_props("one", path, vec![set(prop(None, "p", path))])
            .await
            .unwrap();
    }
    db.dav_patch_props("two", "dest/old", vec![set(prop(None, "stale", ""))])
        .await
        .unwrap();
    db.dav_props_copied(at("one", "a"), at("two", "dest"))
        .await
        .unwrap();
    assert_eq!(names(db, "two", "dest").await, ["p"]);
    assert_eq!(names(db, "two", "dest/b").await, ["p"]);
    assert!(!db.dav_has_props("two", "dest/old").await.unwrap());
    // The same path in another workspace is not "inside itself".
    db.dav_props_moved(at("one", "a"), at("two", "a"))
        .await
        .unwrap();
    assert!(!db.dav_has_props("one", "a/b").await.unwrap());
    assert_eq!(
        db.dav_props("two", "a/b").await.unwrap(),
        vec![prop(None, "p", "a/b")]
    );
    // A whole workspace root, into a folder of another, and back to a root.
    db.dav_props_copied(at("two", ""), at("three", "sub"))
        .await
        .unwrap();
    assert_eq!(names(db, "three", "sub/a/b").await, ["p"]);
    assert_eq!(names(db, "three", "sub/dest/b").await, ["p"]);
    db.dav_props_moved(at("three", "sub"), at("four", ""))
        .await
        .unwrap();
    assert_eq!(names(db, "four", "a/b").await, ["p"]);
    assert!(!db.dav_has_props("three", "sub/a/b").await.unwrap());
    db.dav_props_moved(at("four", ""), at("five", ""))
        .await
        .unwrap();
    assert_eq!(names(db, "five", "dest/b").await, ["p"]);
    assert!(!db.dav_has_props("four", "a/b").await.unwrap());
    // The one root property of `one` stayed.
    assert_eq!(names(db, "one", "").await, ["p"]);
}

pub(super) async fn props_refuse_bad_paths(db: &TestDb) {
    for bad in ["/a", "a/", "a//b", "./a", "a/../b", "a\0b"] {
        assert!(
            matches!(db.dav_props("ws", bad).await, Err(StoreError::Invalid(_))),
            "{bad:?}"
        );
        assert!(matches!(
            db.dav_patch_props("ws", bad, vec![set(prop(None, "p", ""))])
                .await,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            db.dav_props_moved(at("ws", "ok"), at("ws", bad)).await,
            Err(StoreError::Invalid(_))
        ));
    }
}

fn new_lock(token: &str, path: &str) -> NewLock {
    NewLock {
        token: token.to_owned(),
        path: path.to_owned(),
        href: format!("{path}/"),
        principal: Some("alice".into()),
        owner: Some(b"<D:owner xmlns:D=\"DAV:\">alice</D:owner>".to_vec()),
        shared: true,
        deep: false,
        timeout: Duration::from_secs(60),
    }
}

/// The rows of locks as the store keeps them; the conflict rules are the door's.
pub(super) async fn locks_rows(db: &TestDb) {
    let no_conflict = |_: &[_], _: &[_]| Ok(());
    for (token, path) in [
        ("t-root", ""),
        ("t-ws", "/ws"),
        ("t-a", "/ws/a"),
        ("t-ab", "/ws/a/b"),
        ("t-a_", "/ws/a_"),
        ("t-a%", "/ws/a%25"),
        ("t-other", "/other/a"),
    ] {
        db.dav_lock_if(new_lock(token, path), no_conflict)
            .await
            .unwrap()
            .unwrap();
    }
    let tokens = |locks: Vec<crate::store::StoredLock>| -> Vec<String> {
        locks.into_iter().map(|l| l.token).collect()
    };
    // Covering: the path and its ancestors, root first.
    assert_eq!(
        tokens(db.dav_locks_covering("/ws/a/b/c").await.unwrap()),
        ["t-root", "t-ws", "t-a", "t-ab"]
    );
    // Within: the path and under it, not `/ws/a_` or `/ws/a%25`.
    assert_eq!(
        tokens(db.dav_locks_within("/ws/a").await.unwrap()),
        ["t-a", "t-ab"]
    );
    assert_eq!(db.dav_locks_within("").await.unwrap().len(), 7);

    // Everything is kept as given.
    let stored = db.dav_locks_covering("/ws/a").await.unwrap().pop().unwrap();
    let wanted = new_lock("t-a", "/ws/a");
    assert_eq!(
        (
            stored.href.as_str(),
            stored.principal.as_deref(),
            &stored.owner,
            stored.shared,
            stored.deep
        ),
        ("/ws/a/", Some("alice"), &wanted.owner, true, false)
    );
    assert_eq!(stored.timeout, Duration::from_secs(60));
    let left = stored
        .expires_at()
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(
        left > Duration::from_secs(55) && left <= Duration::from_secs(60),
        "{left:?}"
    );

    // A refused lock writes nothing; the conflict given back is the rule's.
    let refused = db
        .dav_lock_if(new_lock("t-new", "/ws/a"), |on_path, under| {
            assert_eq!(on_path.len(), 3, "root, /ws, /ws/a");
            assert_eq!(under.len(), 2, "/ws/a, /ws/a/b");
            Err(Box::new(under[1].clone()))
        })
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(refused.token, "t-ab");
    assert_eq!(db.dav_locks_within("").await.unwrap().len(), 7);

    // A duplicate token is an error, not a second row.
    assert!(db
        .dav_lock_if(new_lock("t-a", "/ws/z"), no_conflict)
        .await
        .is_err());
    // Too large an owner is refused.
    let mut big = new_lock("t-big", "/ws/big");
    big.owner = Some(vec![b'a'; crate::store::MAX_LOCK_OWNER + 1]);
    assert!(matches!(
        db.dav_lock_if(big, no_conflict).await,
        Err(StoreError::LockOwnerTooLarge { .. })
    ));
    // Not a lock path.
    assert!(matches!(
        db.dav_lock_if(new_lock("t-bad", "/ws/"), no_conflict).await,
        Err(StoreError::Invalid(_))
    ));

    // Unlock and refresh find a lock on the path or an ancestor, with its token only.
    assert!(
        !db.dav_unlock("/ws/a", "t-ab").await.unwrap(),
        "a child's lock"
    );
    assert!(!db.dav_unlock("/ws/a", "nope").await.unwrap());
    assert!(db
        .dav_refresh_lock("/ws/a/b", "t-other", Duration::from_secs(5))
        .await
        .unwrap()
        .is_none());
    let refreshed = db
        .dav_refresh_lock("/ws/a/b", "t-ws", Duration::from_secs(3600))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refreshed.timeout, Duration::from_secs(3600));
    assert!(refreshed.expires_at() > stored.expires_at());
    assert!(db.dav_unlock("/ws/a/b", "t-ws").await.unwrap());
    assert!(
        !db.dav_unlock("/ws/a/b", "t-ws").await.unwrap(),
        "already gone"
    );

    // Expired: ignored by every query, refreshed or unlocked by none, then swept.
    db.dav_expire_lock("t-a").await.unwrap();
    assert_eq!(
        tokens(db.dav_locks_covering("/ws/a/b").await.unwrap()),
        ["t-root", "t-ab"]
    );
    assert_eq!(
        tokens(db.dav_locks_within("/ws/a").await.unwrap()),
        ["t-ab"]
    );
    assert!(db
        .dav_refresh_lock("/ws/a", "t-a", Duration::from_secs(60))
        .await
        .unwrap()
        .is_none());
    assert!(!db.dav_unlock("/ws/a", "t-a").await.unwrap());
    assert_eq!(db.sweep_dav_locks().await.unwrap(), 1);
    assert_eq!(db.sweep_dav_locks().await.unwrap(), 0);
    db.dav_expire_lock("t-a_").await.unwrap();
    assert_eq!(
        db.purge_expired().await.unwrap(),
        1,
        "purge sweeps locks too"
    );

    // Delete: the path and under it.
    assert_eq!(db.dav_delete_locks("/ws/a").await.unwrap(), 1);
    assert_eq!(tokens(db.dav_locks_within("/ws").await.unwrap()), ["t-a%"]);
    assert_eq!(db.dav_delete_locks("").await.unwrap(), 3);
    assert!(db.dav_locks_within("").await.unwrap().is_empty());
}
