//! Several hosts behind a load balancer share all state through PostgreSQL.

use wshost_tests::*;

fn pg_host(db: &PgDatabase, shared_root: &std::path::Path) -> Host {
    Host::start(HostSetup::new(
        format!(
            "database = \"{}\"\nsecret_key = \"{}\"\n[[workspaces]]\nid = \"files\"\ndriver = \"access.fs\"\nparams = {{ ROOT = \"{}\", CREATE = true }}\n[[workspaces]]\nid = \"faulty\"\ndriver = \"access.faulty\"\n",
            db.url,
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            shared_root.display()
        ),
        vec![manifest("access.fs.toml"), manifest("access.faulty.toml")],
    ))
}

#[test]
fn two_hosts_on_one_postgresql_share_workspaces_toggles_and_sessions() {
    let db = PgDatabase::create();
    let shared = tempfile::tempdir().unwrap();
    let a = pg_host(&db, shared.path());
    let b = pg_host(&db, shared.path());

    // A workspace created on A is usable on B.
    let root = shared.path().join("created");
    let (s, v) = json_of(
        a.client
            .post(a.api("workspaces"))
            .json(&json!({"id": "made-on-a", "label": "Made on A", "driver": "access.fs", "params": {"ROOT": root.display().to_string(), "CREATE": "true"}}))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = b.post_bytes(
        "get_action=upload&ws=made-on-a&name=x.txt",
        b"from b".to_vec(),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(std::fs::read(root.join("x.txt")).unwrap(), b"from b");

    // A session made on A is valid on B.
    let alice = a.add_user("alice", false);
    a.grant("made-on-a", "alice", "r");
    let (s, v) = json_of(
        alice
            .get(b.action_url("get_action=ls&ws=made-on-a"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "{v}");

    // A driver disabled on A is refused on B, at once.
    let (s, _) = b.get("get_action=faulty_echo&ws=faulty");
    assert_eq!(s, 202);
    let (s, _) = json_of(
        a.client
            .post(a.api("plugins/access.faulty/disable"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200);
    let (s, v) = b.get("get_action=ls&ws=faulty");
    assert_eq!((s, code(&v)), (409, "driver_disabled"), "{v}");
    let (s, v) = b.get("get_action=faulty_echo&ws=faulty");
    assert_eq!((s, code(&v)), (409, "plugin_disabled"), "{v}");
    // And enabled again from B, it serves on A.
    let (s, _) = json_of(
        b.client
            .post(b.api("plugins/access.faulty/enable"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200);
    let (s, _) = a.get("get_action=faulty_echo&ws=faulty");
    assert_eq!(s, 202);
}

#[test]
fn a_restart_on_postgresql_keeps_everything() {
    let db = PgDatabase::create();
    let shared = tempfile::tempdir().unwrap();
    let mut h = pg_host(&db, shared.path());
    let carol = h.add_user("carol", false);
    h.grant("files", "carol", "r");
    h.restart();
    let (s, v) = json_of(
        carol
            .get(h.action_url("get_action=ls&ws=files"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = json_of(
        carol
            .post(h.action_url("get_action=mkdir&ws=files&dir=/&dirname=no"))
            .send()
            .unwrap(),
    );
    assert_eq!((s, code(&v)), (403, "forbidden"), "{v}");
}
