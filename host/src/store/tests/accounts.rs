//! Suite: users, sessions and API tokens.

use std::time::Duration;

use plugin_api::KvScope;

use super::{contains, count, raw_table, TestDb};
use crate::store::{Access, StoreError};

const HOUR: Duration = Duration::from_secs(3600);

pub(super) async fn users(db: &TestDb) {
    assert_eq!(db.user_count().await.unwrap(), 0);
    let admin = db.create_user("root", "correct horse", true).await.unwrap();
    assert!(admin.admin && admin.name == "root" && admin.created_at > 0);
    let bob = db.create_user("bob.B-2_x", "hunter2", false).await.unwrap();
    assert!(!bob.admin);

    let duplicate = db.create_user("root", "other", false).await.unwrap_err();
    assert!(matches!(&duplicate, StoreError::AlreadyExists(what) if what == "user 'root'"));

    let long = "x".repeat(65);
    for bad in [
        "",
        "with space",
        "slash/",
        "é",
        "semi;colon",
        "quote'",
        long.as_str(),
    ] {
        let err = db.create_user(bad, "pw", false).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Invalid(_)),
            "{bad:?} must be refused, got {err}"
        );
    }
    assert!(db.create_user(&"x".repeat(64), "pw", false).await.is_ok());
    assert!(matches!(
        db.create_user("nopass", "", false).await,
        Err(StoreError::Invalid(_))
    ));

    assert_eq!(db.user("root").await.unwrap(), Some(admin.clone()));
    assert_eq!(db.user("nobody").await.unwrap(), None);
    let names: Vec<String> = db
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["bob.B-2_x", "root", &"x".repeat(64)]);
    assert_eq!(db.user_count().await.unwrap(), 3);

    assert_eq!(
        db.check_password("root", "correct horse").await.unwrap(),
        Some(admin)
    );
    assert_eq!(db.check_password("root", "wrong").await.unwrap(), None);
    assert_eq!(
        db.check_password("nobody", "correct horse").await.unwrap(),
        None
    );

    // Only an argon2id hash is stored.
    let raw = raw_table(db, "users").await;
    assert!(!contains(&raw, "correct horse") && !contains(&raw, "hunter2"));
    assert!(contains(&raw, "$argon2id$"));
}

pub(super) async fn set_password_ends_sessions(db: &TestDb) {
    db.create_user("ann", "old password", false).await.unwrap();
    let first = db.create_session("ann", HOUR).await.unwrap();
    let second = db.create_session("ann", HOUR).await.unwrap();
    let token = db.create_token("ann", "script").await.unwrap();

    db.set_password("ann", "new password").await.unwrap();
    assert!(db.session(&first.token).await.unwrap().is_none());
    assert!(db.session(&second.token).await.unwrap().is_none());
    assert!(
        db.token_user(&token.token).await.unwrap().is_some(),
        "tokens survive"
    );
    assert!(db
        .check_password("ann", "old password")
        .await
        .unwrap()
        .is_none());
    assert!(db
        .check_password("ann", "new password")
        .await
        .unwrap()
        .is_some());

    let err = db.set_password("nobody", "x").await.unwrap_err();
    assert!(matches!(&err, StoreError::NotFound(what) if what == "user 'nobody'"));
}

pub(super) async fn delete_user_cascades(db: &TestDb) {
    for name in ["gone", "kept"] {
        db.create_user(name, "pw", false).await.unwrap();
    }
    let mut sessions = Vec::new();
    let mut tokens = Vec::new();
    for name in ["gone", "kept"] {
        sessions.push(db.create_session(name, HOUR).await.unwrap());
        tokens.push(db.create_token(name, "t").await.unwrap());
        db.grant("ws1", name, Access::ReadWrite).await.unwrap();
        let scope = KvScope::user("ws1", name);
        db.kv_put("access.dropbox", &scope, "oauth", b"tok", None)
            .await
            .unwrap();
    }

    assert!(db.delete_user("gone").await.unwrap());
    assert!(!db.delete_user("gone").await.unwrap());
    assert!(db.user("gone").await.unwrap().is_none());
    assert!(db.session(&sessions[0].token).await.unwrap().is_none());
    assert!(db.token_user(&tokens[0].token).await.unwrap().is_none());
    assert_eq!(db.access("ws1", "gone").await.unwrap(), None);
    let gone = KvScope::user("ws1", "gone");
    assert_eq!(
        db.kv_get("access.dropbox", &gone, "oauth").await.unwrap(),
        None
    );
    for table in ["sessions", "tokens", "acl", "kv"] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE user_name = $1");
        assert_eq!(
            count(db, &sql, "gone").await,
            0,
            "rows of 'gone' left in {table}"
        );
        assert_eq!(
            count(db, &sql, "kept").await,
            1,
            "rows of 'kept' lost from {table}"
        );
    }
    // The other user is untouched.
    assert!(db.session(&sessions[1].token).await.unwrap().is_some());
    assert!(db.token_user(&tokens[1].token).await.unwrap().is_some());
}

pub(super) async fn sessions(db: &TestDb) {
    db.create_user("sam", "pw", true).await.unwrap();
    let new = db.create_session("sam", HOUR).await.unwrap();
    assert_eq!(new.token.len(), 43, "32 random bytes in base64url");
    assert_eq!(new.csrf.len(), 43);
    assert_ne!(new.token, new.csrf);
    assert!(!format!("{new:?}").contains(&new.token));

    let session = db.session(&new.token).await.unwrap().expect("live session");
    assert_eq!(session.user.name, "sam");
    assert!(session.user.admin);
    assert_eq!(session.csrf, new.csrf);
    assert_eq!(session.expires_at, new.expires_at);
    assert!(!format!("{session:?}").contains(&new.csrf));

    // Only the hash is stored.
    let raw = raw_table(db, "sessions").await;
    assert!(!contains(&raw, &new.token));

    // Unknown tokens and users.
    assert!(db.session("not a token").await.unwrap().is_none());
    assert!(db.session("").await.unwrap().is_none());
    assert!(matches!(
        db.create_session("nobody", HOUR).await,
        Err(StoreError::NotFound(_))
    ));

    // Expiry: an expired session is refused and deleted.
    let expired = db.create_session("sam", Duration::ZERO).await.unwrap();
    let hash = crate::store::crypto::token_hash(&expired.token);
    let sql = "SELECT COUNT(*) FROM sessions WHERE token_hash = $1";
    assert_eq!(count(db, sql, &hash).await, 1);
    assert!(db.session(&expired.token).await.unwrap().is_none());
    assert_eq!(count(db, sql, &hash).await, 0);

    // Logout.
    db.delete_session(&new.token).await.unwrap();
    assert!(db.session(&new.token).await.unwrap().is_none());
    db.delete_session(&new.token).await.unwrap();
}

pub(super) async fn tokens(db: &TestDb) {
    for name in ["tia", "abe"] {
        db.create_user(name, "pw", false).await.unwrap();
    }
    let first = db.create_token("tia", "backup script").await.unwrap();
    let second = db.create_token("tia", "").await.unwrap();
    let other = db.create_token("abe", "ci").await.unwrap();
    assert!(first.token.starts_with("wsh_") && first.token.len() == 4 + 43);
    assert_ne!(first.token, second.token);
    assert!(!format!("{first:?}").contains(&first.token));

    // Only the hash is stored.
    let raw = raw_table(db, "tokens").await;
    for token in [&first, &second, &other] {
        assert!(!contains(&raw, &token.token));
        assert!(!contains(&raw, token.token.trim_start_matches("wsh_")));
    }

    let listed = db.tokens(Some("tia")).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed
        .iter()
        .all(|t| t.user == "tia" && t.last_used_at.is_none()));
    let labels: Vec<&str> = listed.iter().map(|t| t.label.as_str()).collect();
    assert!(labels.contains(&"backup script") && labels.contains(&""));
    let all = db.tokens(None).await.unwrap();
    let users: Vec<&str> = all.iter().map(|t| t.user.as_str()).collect();
    assert_eq!(users, ["abe", "tia", "tia"]);
    assert!(format!("{all:?}").find("wsh_").is_none());

    let user = db
        .token_user(&first.token)
        .await
        .unwrap()
        .expect("valid token");
    assert_eq!(user.name, "tia");
    let used = db.tokens(Some("tia")).await.unwrap();
    let used = used.iter().find(|t| t.id == first.id).unwrap();
    assert!(used.last_used_at.is_some_and(|t| t >= used.created_at));

    for bad in [
        "",
        "wsh_",
        "wsh_nope",
        first.token.trim_start_matches("wsh_"),
        &first.id,
    ] {
        assert!(
            db.token_user(bad).await.unwrap().is_none(),
            "{bad:?} is not a token"
        );
    }
    assert!(matches!(
        db.create_token("nobody", "x").await,
        Err(StoreError::NotFound(_))
    ));

    assert!(
        !db.delete_token(&first.id, Some("abe")).await.unwrap(),
        "not abe's token"
    );
    assert!(db.token_user(&first.token).await.unwrap().is_some());
    assert!(db.delete_token(&first.id, Some("tia")).await.unwrap());
    assert!(!db.delete_token(&first.id, None).await.unwrap());
    assert!(db.delete_token(&other.id, None).await.unwrap(), "anyone's");
    assert!(db.token_user(&first.token).await.unwrap().is_none());
    assert!(db.token_user(&second.token).await.unwrap().is_some());
}
