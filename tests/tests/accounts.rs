//! Users, sessions, tokens, rights and CSRF, through the real binary.

use wshost_tests::*;

fn host() -> Host {
    Host::start(HostSetup::new(
        format!(
            "{}[[workspaces]]\nid = \"faulty\"\ndriver = \"access.faulty\"\n",
            fs_config()
        ),
        vec![manifest("access.fs.toml"), manifest("access.faulty.toml")],
    ))
}

/// Every standard action and admin endpoint, for every kind of caller.
#[test]
fn authorization_matrix() {
    let h = host();
    h.post_bytes("get_action=upload&ws=files&name=a.txt", b"a".to_vec());
    h.post("get_action=mkdir&ws=files&dir=/&dirname=d");
    let reader = h.add_user("reader", false);
    let writer = h.add_user("writer", false);
    let outsider = h.add_user("outsider", false);
    h.grant("files", "reader", "r");
    h.grant("files", "writer", "rw");
    h.grant("faulty", "reader", "r");
    let anonymous = Client::new();

    // (method, query, needs write)
    let actions: &[(&str, &str, bool)] = &[
        ("GET", "get_action=ls&ws=files", false),
        ("GET", "get_action=stat&ws=files&file=a.txt", false),
        ("GET", "get_action=download&ws=files&file=a.txt", false),
        (
            "POST",
            "get_action=upload&ws=files&name=b.txt&overwrite=true",
            true,
        ),
        ("POST", "get_action=mkdir&ws=files&dir=/&dirname=new", true),
        ("POST", "get_action=copy&ws=files&file=a.txt&dest=/d", true),
        (
            "POST",
            "get_action=rename&ws=files&file=a.txt&filename_new=a.txt",
            true,
        ),
        ("POST", "get_action=move&ws=files&file=a.txt&dest=/", true),
        ("POST", "get_action=delete&ws=files&file=nothing-here", true),
        ("GET", "get_action=faulty_echo&ws=faulty", false),
    ];
    let mut cases = 0;
    for (method, query, write) in actions {
        for (who, client, want) in [
            ("anonymous", &anonymous, Some(401)),
            ("outsider", &outsider, Some(403)),
            ("reader", &reader, if *write { Some(403) } else { None }),
            ("writer", &writer, None),
            ("admin", &h.client, None),
        ] {
            // The writer has no grant on `faulty`.
            let want = if query.contains("ws=faulty") && who == "writer" {
                Some(403)
            } else {
                want
            };
            let url = h.action_url(query);
            let r = match *method {
                "GET" => client.get(&url),
                _ => client.post(&url).body("x"),
            }
            .send()
            .unwrap();
            let status = r.status().as_u16();
            match want {
                Some(code) => assert_eq!(status, code, "{who} {method} {query}"),
                None => assert!(
                    status != 401 && status != 403,
                    "{who} {method} {query} -> {status}"
                ),
            }
            cases += 1;
        }
    }

    let admin_endpoints: &[(&str, &str)] = &[
        ("GET", "plugins"),
        ("GET", "plugins/access.fs"),
        ("POST", "plugins/access.none/disable"),
        ("GET", "users"),
        ("POST", "users"),
        ("DELETE", "users/nobody"),
        ("POST", "workspaces?dry_run=true"),
        ("PUT", "workspaces/files"),
        ("DELETE", "workspaces/nothing"),
        ("POST", "workspaces/files/verify"),
        ("GET", "workspaces/files/acl"),
        ("PUT", "workspaces/files/acl/reader"),
        ("DELETE", "workspaces/files/acl/nobody"),
    ];
    for (method, path) in admin_endpoints {
        for (who, client, want) in [
            ("anonymous", &anonymous, Some(401)),
            ("reader", &reader, Some(403)),
            ("writer", &writer, Some(403)),
            ("admin", &h.client, None),
        ] {
            let url = h.api(path);
            let req = match *method {
                "GET" => client.get(&url),
                "POST" => client.post(&url),
                "PUT" => client.put(&url),
                _ => client.delete(&url),
            };
            let r = req.json(&json!({})).send().unwrap();
            let status = r.status().as_u16();
            match want {
                Some(code) => assert_eq!(status, code, "{who} {method} /api/{path}"),
                None => assert!(
                    status != 401 && status != 403,
                    "{who} {method} /api/{path} -> {status}"
                ),
            }
            cases += 1;
        }
    }
    // Endpoints for every logged-in user; a workspace's details only with a grant on it.
    for (path, outsider_status) in [
        ("me", 200),
        ("tokens", 200),
        ("workspaces", 200),
        ("workspaces/files", 403),
    ] {
        for (who, client, want) in [
            ("anonymous", &anonymous, 401),
            ("outsider", &outsider, outsider_status),
            ("reader", &reader, 200),
            ("admin", &h.client, 200),
        ] {
            let status = client.get(h.api(path)).send().unwrap().status().as_u16();
            assert_eq!(status, want, "{who} GET /api/{path}");
            cases += 1;
        }
    }
    let (_, v) = json_of(outsider.get(h.api("workspaces")).send().unwrap());
    assert_eq!(v["workspaces"], json!([]), "an outsider sees no workspace");
    eprintln!("authorization matrix: {cases} cases, 0 wrongful grants");
}

#[test]
fn csrf_is_required_for_cookie_requests_that_change_state() {
    let h = host();
    let headers = h.session_headers("admin", ADMIN_PASSWORD);
    let cookie_only = Client::builder()
        .default_headers({
            let mut m = headers.clone();
            m.remove("x-csrf-token");
            m
        })
        .build()
        .unwrap();
    let (s, v) = json_of(
        cookie_only
            .post(h.action_url("get_action=mkdir&ws=files&dir=/&dirname=x"))
            .send()
            .unwrap(),
    );
    assert_eq!((s, code(&v)), (403, "csrf_token_invalid"), "{v}");
    let (s, v) = json_of(
        cookie_only
            .post(h.api("users"))
            .json(&json!({"name": "eve", "password": "eve-password"}))
            .send()
            .unwrap(),
    );
    assert_eq!((s, code(&v)), (403, "csrf_token_invalid"), "{v}");
    // Reads need no token; Pydio's secure_token parameter is accepted instead of the header.
    let (s, _) = json_of(
        cookie_only
            .get(h.action_url("get_action=ls&ws=files"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200);
    let csrf = headers["x-csrf-token"].to_str().unwrap();
    let (s, v) = json_of(
        cookie_only
            .post(h.action_url(&format!(
                "get_action=mkdir&ws=files&dir=/&dirname=x&secure_token={csrf}"
            )))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 201, "{v}");
    // A Bearer token is not sent by browsers on their own: no CSRF token needed.
    let (s, v) = json_of(
        h.client
            .post(h.api("tokens"))
            .json(&json!({"label": "script"}))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 201, "{v}");
    let token = v["token"].as_str().unwrap().to_owned();
    let bearer = Client::new();
    let (s, v) = json_of(
        bearer
            .post(h.action_url("get_action=mkdir&ws=files&dir=/&dirname=y"))
            .bearer_auth(&token)
            .send()
            .unwrap(),
    );
    assert_eq!(s, 201, "{v}");
    // Revoked: refused.
    let (_, list) = json_of(h.client.get(h.api("tokens")).send().unwrap());
    let token_id = list["tokens"][0]["id"].as_str().unwrap().to_owned();
    let (s, _) = json_of(
        h.client
            .delete(h.api(&format!("tokens/{token_id}")))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200);
    let (s, v) = json_of(
        bearer
            .get(h.action_url("get_action=ls&ws=files"))
            .bearer_auth(&token)
            .send()
            .unwrap(),
    );
    assert_eq!((s, code(&v)), (401, "invalid_credentials"), "{v}");
}

#[test]
fn sessions_end_at_logout_and_login_attempts_are_limited() {
    let h = host();
    let headers = h.session_headers("admin", ADMIN_PASSWORD);
    let browser = Client::builder().default_headers(headers).build().unwrap();
    let (s, v) = json_of(browser.get(h.api("me")).send().unwrap());
    assert_eq!((s, v["user"]["name"].as_str()), (200, Some("admin")), "{v}");
    let (s, _) = json_of(browser.post(h.api("logout")).send().unwrap());
    assert_eq!(s, 200);
    let (s, v) = json_of(browser.get(h.api("me")).send().unwrap());
    assert_eq!(
        (s, code(&v)),
        (401, "unauthenticated"),
        "the old cookie is dead: {v}"
    );

    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = Client::new()
            .post(h.api("login"))
            .json(&json!({"username": "admin", "password": "wrong"}))
            .send()
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
        }
    }
    assert_eq!(&statuses[..5], &[401; 5]);
    assert_eq!(statuses[6], 429, "{statuses:?}");
}

#[test]
fn workspaces_are_validated_on_the_server_and_secrets_never_leak() {
    const SECRET: &str = "s3cr3t-Value-never-shown-7Q";
    let h = host();
    // Field-level errors.
    let (s, v) = json_of(
        h.client
            .post(h.api("workspaces"))
            .json(&json!({"label": "Bad", "driver": "access.fs", "params": {"CREATE": "perhaps", "NOPE": "1"}}))
            .send()
            .unwrap(),
    );
    assert_eq!((s, code(&v)), (422, "invalid_params"), "{v}");
    let fields: Vec<&str> = v["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["ROOT", "CREATE", "NOPE"], "{v}");

    let (s, v) = json_of(
        h.client
            .post(h.api("workspaces"))
            .json(&json!({"id": "sec", "label": "Secret", "driver": "access.faulty", "params": {"TOKEN": SECRET}}))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["secrets_set"], json!(["TOKEN"]));
    // Updating without the secret keeps it.
    let (s, v) = json_of(
        h.client
            .put(h.api("workspaces/sec"))
            .json(&json!({"label": "Secret 2", "driver": "access.faulty", "params": {"TOKEN": ""}}))
            .send()
            .unwrap(),
    );
    assert_eq!(
        (s, v["secrets_set"].clone()),
        (200, json!(["TOKEN"])),
        "{v}"
    );

    let mut seen = String::new();
    for path in [
        "workspaces",
        "workspaces/sec",
        "plugins",
        "workspaces/sec/acl",
    ] {
        seen += &h.client.get(h.api(path)).send().unwrap().text().unwrap();
    }
    seen += &h
        .client
        .post(h.api("workspaces/sec/verify"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    seen += &h
        .client
        .get(h.action_url("get_action=stat&ws=sec&file=error-internal"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let cli = std::process::Command::new(wshost_exe())
        .args(["workspace", "show", "sec", "--json", "--config"])
        .arg(h.dir.path().join("host.toml"))
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    seen += &String::from_utf8_lossy(&cli.stdout);
    assert!(seen.contains("Secret 2"), "the answers were read");
    assert!(!seen.contains(SECRET), "a secret leaked into an answer");
    assert!(!h.log().contains(SECRET), "a secret leaked into the log");
    assert!(
        !h.log().contains(ADMIN_PASSWORD),
        "a password leaked into the log"
    );
    let db = std::fs::read(h.dir.path().join("data/wshost.db")).unwrap();
    assert!(
        !db.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
        "the secret is stored in clear"
    );
}

#[test]
fn a_restart_keeps_everything() {
    let mut h = host();
    let bob = h.add_user("bob", false);
    h.grant("files", "bob", "rw");
    let (s, _) = json_of(
        bob.post(h.action_url("get_action=mkdir&ws=files&dir=/&dirname=kept"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 201);
    let (s, _) = json_of(
        h.client
            .post(h.api("workspaces"))
            .json(&json!({"id": "extra", "label": "Extra", "driver": "access.fs", "params": {"ROOT": format!("{}/extra", h.dir.path().display()), "CREATE": "true"}}))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 201);
    let (s, _) = json_of(
        h.client
            .post(h.api("plugins/access.faulty/disable"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200);
    h.restart();
    let (s, v) = json_of(
        bob.get(h.action_url("get_action=ls&ws=files"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "bob's session and grant survive a restart: {v}");
    let (s, _) = json_of(
        h.client
            .get(h.action_url("get_action=ls&ws=extra"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200);
    let (s, v) = h.get("get_action=ls&ws=faulty");
    assert_eq!((s, code(&v)), (409, "driver_disabled"), "{v}");
}

#[test]
fn the_first_start_creates_an_admin_with_a_one_time_password() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("host.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{}/data\"\nmanifest_dirs = [\"{}\"]\nplugin_dirs = [\"{}\"]\n",
            dir.path().display(),
            root().join("manifests").display(),
            target_dir().display()
        ),
    )
    .unwrap();
    build();
    let (mut child, log) = spawn(&config, &[("WSHOST_ADMIN_PASSWORD", "")]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let password = loop {
        let text = log.lock().unwrap().clone();
        if let Some(line) = text
            .lines()
            .skip_while(|l| !l.contains("one-time password"))
            .nth(2)
        {
            break line.trim().to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no password printed:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let url = format!("http://127.0.0.1:{port}");
    let mut ok = false;
    for _ in 0..100 {
        if let Ok(r) = Client::new()
            .post(format!("{url}/api/login"))
            .json(&json!({"username": "admin", "password": password}))
            .send()
        {
            ok = r.status() == 200;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "the printed password logs in");
}
