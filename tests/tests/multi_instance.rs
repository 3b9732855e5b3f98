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

/// WebDAV locks are kept in the shared database: an exclusive lock taken through one host
/// holds on the other (a PUT without its token is 423 Locked, with it succeeds), is released
/// there, and the other host can then lock the file itself.
#[test]
fn a_webdav_lock_taken_on_one_host_holds_on_the_other() {
    use wshost_tests::webdav::*;
    let db = PgDatabase::create();
    let shared = tempfile::tempdir().unwrap();
    let a = pg_host(&db, shared.path());
    let b = pg_host(&db, shared.path());
    let doc = shared.path().join("doc.txt");
    std::fs::write(&doc, b"v1").unwrap();
    let writer = a.add_user("writer", false);
    a.grant("files", "writer", "rw");
    let token = app_password(&a, &writer);
    let (on_a, on_b) = (
        Dav::basic(&a, "writer", &token),
        Dav::basic(&b, "writer", &token),
    );
    let lock = |dav: &Dav| {
        dav.send(
            "LOCK",
            "/dav/files/doc.txt",
            &[
                ("Timeout", "Second-600"),
                ("Content-Type", "application/xml"),
            ],
            LOCK_EXCLUSIVE.as_bytes(),
        )
    };

    let locked = lock(&on_a);
    assert_eq!(locked.status, 200, "LOCK through A: {}", locked.text());
    let held = locked.lock_token();

    let r = on_b.send("PUT", "/dav/files/doc.txt", &[], b"v2 without the token");
    assert_eq!(
        r.status,
        423,
        "PUT through B without the token: {}",
        r.text()
    );
    assert_eq!(std::fs::read(&doc).unwrap(), b"v1");
    let r = lock(&on_b);
    assert_eq!(
        r.status,
        423,
        "a second exclusive LOCK through B: {}",
        r.text()
    );

    let condition = format!("(<{held}>)");
    let r = on_b.send(
        "PUT",
        "/dav/files/doc.txt",
        &[("If", condition.as_str())],
        b"v2",
    );
    assert!(
        (200..300).contains(&r.status),
        "PUT through B with the token: {} {}",
        r.status,
        r.text()
    );
    assert_eq!(std::fs::read(&doc).unwrap(), b"v2");

    let r = on_b.send(
        "UNLOCK",
        "/dav/files/doc.txt",
        &[("Lock-Token", format!("<{held}>").as_str())],
        b"",
    );
    assert_eq!(r.status, 204, "UNLOCK through B: {}", r.text());
    let relocked = lock(&on_b);
    assert_eq!(
        relocked.status,
        200,
        "LOCK through B after the UNLOCK: {}",
        relocked.text()
    );
    // And B's lock holds on A.
    let r = on_a.send("PUT", "/dav/files/doc.txt", &[], b"v3");
    assert_eq!(r.status, 423, "PUT through A under B's lock: {}", r.text());
    assert_eq!(std::fs::read(&doc).unwrap(), b"v2");
}

/// A plugin enabled through A is enabled on B too, and B's admin page says so: it loads on
/// its first use there, rather than reading "not loaded" (issue 22, trap 11).
#[test]
fn a_plugin_enabled_on_one_instance_reads_enabled_on_the_others() {
    let db = PgDatabase::create();
    let shared = tempfile::tempdir().unwrap();
    let host = || {
        Host::start(HostSetup::new(
            format!(
                "database = \"{}\"\nsecret_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n[[workspaces]]\nid = \"files\"\ndriver = \"access.fs\"\nparams = {{ ROOT = \"{}\", CREATE = true }}\n",
                db.url,
                shared.path().display()
            ),
            vec![manifest("access.fs.toml"), manifest("access.dropbox.toml")],
        ))
    };
    let (a, b) = (host(), host());
    let row = |h: &Host| {
        let page = h
            .client
            .get(format!("{}/ui/admin/plugins", h.url))
            .send()
            .unwrap()
            .text()
            .unwrap();
        let start = page
            .find("data-plugin=\"access.dropbox\"")
            .expect("the Dropbox row");
        let end = page[start..].find("</tr>").unwrap() + start;
        page[start..end].to_owned()
    };
    assert!(row(&b).contains("not loaded"), "{}", row(&b));
    let (s, v) = json_of(
        a.client
            .post(a.api("plugins/access.dropbox/enable"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "{v}");
    let on_b = row(&b);
    assert!(
        on_b.contains("enabled, loads on first use") && !on_b.contains("not loaded"),
        "{on_b}"
    );
}

/// Two instances on one PostgreSQL with no declared workspace each serve the embedded `files`
/// and "My files" from their own data folder: they say so at start-up and on the admin's
/// workspaces page, which names them as the embedded defaults rather than host.toml (issue
/// 22, trap 1).
#[test]
fn embedded_workspaces_on_a_shared_store_are_flagged_on_every_instance() {
    let db = PgDatabase::create();
    let host = || {
        Host::start(HostSetup::new(
            format!(
                "database = \"{}\"\nsecret_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n",
                db.url
            ),
            vec![manifest("access.fs.toml")],
        ))
    };
    let (a, b) = (host(), host());
    for h in [&a, &b] {
        assert!(
            h.log().contains(
                "the embedded workspaces files and my-files are on this instance's data folder"
            ),
            "{}",
            h.log()
        );
        let page = h
            .client
            .get(format!("{}/ui/admin/workspaces", h.url))
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(page.contains("id=\"local-defaults\""), "{page}");
        assert!(
            page.contains("the embedded defaults (this instance&#x27;s data folder)")
                || page.contains("the embedded defaults (this instance's data folder)"),
            "{page}"
        );
        assert!(!page.contains("host.toml (read-only)"), "{page}");
    }
}

/// The instances of one store record what they serve; two whose `files` point at different
/// folders (a rolling restart half done) are named on each other's `/readyz`, on the admin's
/// workspaces page with what differs, and by `config check` of either config. Instances that
/// serve the same configuration (behind one public URL, as behind a balancer) agree, and one
/// that stops cleanly is no longer compared (issue 22, trap 7).
#[test]
fn instances_serving_different_configurations_are_named_everywhere() {
    let db = PgDatabase::create();
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let host = |root: &std::path::Path| {
        Host::start(HostSetup::new(
            format!(
                "public_url = \"http://files.example.test\"\ndatabase = \"{}\"\nsecret_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n[[workspaces]]\nid = \"files\"\ndriver = \"access.fs\"\nparams = {{ ROOT = \"{}\", CREATE = true }}\n",
                db.url,
                root.display()
            ),
            vec![manifest("access.fs.toml")],
        ))
    };
    let readyz = |h: &Host| {
        let (s, v) = json_of(h.client.get(format!("{}/readyz", h.url)).send().unwrap());
        assert_eq!(s, 200, "{v}");
        v
    };
    // Each records itself in the background, just after it starts.
    let recorded = |h: &Host, others: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let v = readyz(h);
            if v["fingerprint"].is_string() && v["disagreeing"].as_array().unwrap().len() == others
            {
                return v;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} disagreeing instance(s) expected on /readyz: {v}",
                others
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let a = host(one.path());
    let same = host(one.path());
    let on_a = recorded(&a, 0);
    let on_same = recorded(&same, 0);
    assert_eq!(
        on_a["fingerprint"], on_same["fingerprint"],
        "{on_a} {on_same}"
    );
    assert_ne!(on_a["instance"], on_same["instance"]);

    let mut b = host(two.path());
    let on_b = recorded(&b, 2);
    let on_a = recorded(&a, 1);
    assert_eq!(
        on_a["disagreeing"][0]["instance"], on_b["instance"],
        "{on_a}"
    );
    assert_eq!(
        on_a["disagreeing"][0]["fingerprint"], on_b["fingerprint"],
        "{on_a}"
    );
    let names: Vec<&Value> = on_b["disagreeing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["instance"])
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&&on_a["instance"]) && names.contains(&&on_same["instance"]));
    // Nothing of the configuration on the unauthenticated probe.
    assert!(!on_a.to_string().contains("files"), "{on_a}");

    let page = a
        .client
        .get(format!("{}/ui/admin/workspaces", a.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let b_name = on_b["instance"].as_str().unwrap();
    assert!(page.contains("id=\"config-drift\""), "{page}");
    assert!(
        page.contains(&format!("data-instance=\"{b_name}\""))
            && (page.contains("workspace &#x27;files&#x27; differs")
                || page.contains("workspace 'files' differs")),
        "{page}"
    );

    let check = |h: &Host| {
        let out = std::process::Command::new(wshost_exe())
            .args(["config", "check", "--config"])
            .arg(h.dir.path().join("host.toml"))
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "drift is a warning, not a problem:\n{said}"
        );
        said
    };
    let said = check(&a);
    // B's line, whatever the seconds since its last refresh.
    let line = said
        .lines()
        .find(|l| l.starts_with(&format!("warning: instance {b_name} (seen ")))
        .unwrap_or_else(|| panic!("no warning names {b_name}:\n{said}"));
    assert!(
        line.ends_with(
            " s ago) serves another configuration than this config: workspace 'files' differs"
        ),
        "{said}"
    );
    assert_eq!(
        said.matches("serves another configuration").count(),
        1,
        "{said}"
    );
    assert_eq!(check(&b).matches("serves another configuration").count(), 2);

    // B stops cleanly: it is no longer compared, at once.
    std::process::Command::new("kill")
        .args(["-TERM", &b.pid().to_string()])
        .status()
        .unwrap();
    assert!(b.wait_exit(std::time::Duration::from_secs(20)).is_some());
    recorded(&a, 0);
    assert!(!check(&a).contains("serves another configuration"));
}

/// The failed-login counter is shared through the store: failures spread over two instances
/// add up to one limit, which then holds on both, for the password login and WebDAV's Basic
/// alike (issue 22, trap 11).
#[test]
fn failed_logins_on_two_instances_count_together() {
    let db = PgDatabase::create();
    let shared = tempfile::tempdir().unwrap();
    let host = || {
        Host::start(HostSetup::new(
            format!(
                "database = \"{}\"\nsecret_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n[limits]\nlogin_failures = 3\n[[workspaces]]\nid = \"files\"\ndriver = \"access.fs\"\nparams = {{ ROOT = \"{}\", CREATE = true }}\n",
                db.url,
                shared.path().display()
            ),
            vec![manifest("access.fs.toml")],
        ))
    };
    let (a, b) = (host(), host());
    a.add_user("dana", false);
    let login = |h: &Host, password: &str| {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/api/login", h.url))
            .json(&json!({"username": "dana", "password": password}))
            .send()
            .unwrap();
        r.status().as_u16()
    };
    assert_eq!(login(&a, "wrong"), 401);
    assert_eq!(login(&b, "wrong"), 401);
    assert_eq!(
        login(&a, "dana-password"),
        200,
        "two failures: not paused, and reset"
    );
    for h in [&a, &b, &a] {
        assert_eq!(login(h, "wrong"), 401);
    }
    // Three failures over two instances: paused on both, even with the right password.
    assert_eq!(login(&b, "dana-password"), 429);
    assert_eq!(login(&a, "dana-password"), 429);
    let dav = reqwest::blocking::Client::new()
        .request(
            reqwest::Method::from_bytes(b"PROPFIND").unwrap(),
            format!("{}/dav/files/", b.url),
        )
        .basic_auth("dana", Some("not-a-token"))
        .header("depth", "0")
        .send()
        .unwrap();
    assert_eq!(dav.status(), 429);
    // Another name is not paused.
    b.login("admin", ADMIN_PASSWORD);
}
