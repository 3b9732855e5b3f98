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

/// The kinds of caller of the authorization matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// Logged in, no grant on any workspace.
    Outsider,
    /// Read-only on `files` and `faulty`.
    Reader,
    /// Read-write on `files`.
    Writer,
    Admin,
    /// The writer's API token (Bearer).
    WriterToken,
    /// The writer's session cookie with the reader's CSRF token: another user's session.
    CrossSession,
    /// An administrator's session past its end.
    ExpiredSession,
    /// An administrator's API token, revoked.
    RevokedToken,
}

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Read,
    Write,
    /// Read on `faulty` (the plugin action).
    ReadFaulty,
    Admin,
    /// Any logged-in user.
    User,
}

/// True when `who` holds what `need` asks for (the CSRF mix-up aside).
fn holds(who: Who, need: Need) -> bool {
    use Who::*;
    match (who, need) {
        (Anonymous | ExpiredSession | RevokedToken, _) => false,
        (Admin, _) => true,
        (_, Need::Admin) => false,
        (_, Need::User) => true,
        (Outsider, _) => false,
        (Reader, Need::Read | Need::ReadFaulty) => true,
        (Reader, Need::Write) => false,
        (Writer | WriterToken | CrossSession, Need::Read | Need::Write) => true,
        (Writer | WriterToken | CrossSession, Need::ReadFaulty) => false,
    }
}

/// A client that does not follow redirects (a refusal of a UI page is a redirect to login).
fn client_with(headers: reqwest::header::HeaderMap) -> Client {
    Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Sets every session of `user` in the SQLite store as ended: the host then treats the cookie
/// as it treats a session past its lifetime (the lifetime is configured in hours).
fn expire_sessions(h: &Host, user: &str) {
    use sqlx::Connection;
    let db = h.dir.path().join("data/wshost.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .expect("open the host's database");
        let done = sqlx::query("UPDATE sessions SET expires_at = 1 WHERE user_name = ?")
            .bind(user)
            .execute(&mut conn)
            .await
            .expect("expire the sessions");
        assert!(done.rows_affected() >= 1, "no session of {user}");
        conn.close().await.unwrap();
    });
}

/// Every standard action, plugin action, admin endpoint and admin page, for every kind of
/// caller. A wrongful grant is an answer that is not a refusal where the caller lacks the
/// right; a caller with the right must not be refused either.
#[test]
fn authorization_matrix() {
    let h = host();
    h.post_bytes("get_action=upload&ws=files&name=a.txt", b"a".to_vec());
    h.post("get_action=mkdir&ws=files&dir=/&dirname=d");
    for (name, admin) in [
        ("reader", false),
        ("writer", false),
        ("outsider", false),
        ("lapsed", true),
    ] {
        h.add_user(name, admin);
    }
    h.grant("files", "reader", "r");
    h.grant("files", "writer", "rw");
    h.grant("faulty", "reader", "r");
    let session = |name: &str| h.session_headers(name, &format!("{name}-password"));
    let bearer = |token: &str| {
        let mut m = reqwest::header::HeaderMap::new();
        m.insert("authorization", format!("Bearer {token}").parse().unwrap());
        m
    };
    let (_, v) = json_of(
        h.login("writer", "writer-password")
            .post(h.api("tokens"))
            .json(&json!({"label": "matrix"}))
            .send()
            .unwrap(),
    );
    let writer_token = v["token"].as_str().expect("writer token").to_owned();
    let (_, v) = json_of(
        h.client
            .post(h.api("tokens"))
            .json(&json!({"label": "to revoke"}))
            .send()
            .unwrap(),
    );
    let revoked_token = v["token"].as_str().expect("admin token").to_owned();
    let (s, _) = json_of(
        h.client
            .delete(h.api(&format!("tokens/{}", v["id"].as_str().unwrap())))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "revoke the token");
    let mut cross = session("writer");
    cross.insert("x-csrf-token", session("reader")["x-csrf-token"].clone());
    let lapsed = session("lapsed");
    expire_sessions(&h, "lapsed");

    let whos: Vec<(Who, Client)> = vec![
        (Who::Anonymous, client_with(Default::default())),
        (Who::Outsider, client_with(session("outsider"))),
        (Who::Reader, client_with(session("reader"))),
        (Who::Writer, client_with(session("writer"))),
        (
            Who::Admin,
            client_with(h.session_headers("admin", ADMIN_PASSWORD)),
        ),
        (Who::WriterToken, client_with(bearer(&writer_token))),
        (Who::CrossSession, client_with(cross)),
        (Who::ExpiredSession, client_with(lapsed)),
        (Who::RevokedToken, client_with(bearer(&revoked_token))),
    ];

    // (method, URL path and query, what it needs). File actions are written so that they can
    // run again and again (a rename onto itself, a move to where the file is).
    let file_actions: &[(&str, &str, Need)] = &[
        ("GET", "/?get_action=ls&ws=files", Need::Read),
        ("GET", "/?get_action=stat&ws=files&file=a.txt", Need::Read),
        (
            "GET",
            "/?get_action=download&ws=files&file=a.txt",
            Need::Read,
        ),
        (
            "GET",
            "/index.php?get_action=download&ws=files&file=a.txt",
            Need::Read,
        ),
        (
            "POST",
            "/?get_action=upload&ws=files&name=b.txt&overwrite=true",
            Need::Write,
        ),
        (
            "PUT",
            "/?get_action=upload&ws=files&name=b.txt&overwrite=true",
            Need::Write,
        ),
        (
            "POST",
            "/?get_action=mkdir&ws=files&dir=/&dirname=new",
            Need::Write,
        ),
        (
            "POST",
            "/?get_action=copy&ws=files&file=a.txt&dest=/d",
            Need::Write,
        ),
        (
            "POST",
            "/?get_action=rename&ws=files&file=a.txt&filename_new=a.txt",
            Need::Write,
        ),
        (
            "POST",
            "/?get_action=move&ws=files&file=a.txt&dest=/",
            Need::Write,
        ),
        (
            "POST",
            "/?get_action=delete&ws=files&file=nothing-here",
            Need::Write,
        ),
        (
            "GET",
            "/?get_action=faulty_echo&ws=faulty",
            Need::ReadFaulty,
        ),
        (
            "POST",
            "/?get_action=faulty_echo&ws=faulty",
            Need::ReadFaulty,
        ),
    ];
    let api: &[(&str, &str, Need)] = &[
        ("GET", "/api/plugins", Need::Admin),
        ("GET", "/api/plugins/access.fs", Need::Admin),
        ("POST", "/api/plugins/access.none/enable", Need::Admin),
        ("POST", "/api/plugins/access.none/disable", Need::Admin),
        ("GET", "/api/users", Need::Admin),
        ("POST", "/api/users", Need::Admin),
        ("GET", "/api/users/reader", Need::Admin),
        ("DELETE", "/api/users/nobody", Need::Admin),
        ("PUT", "/api/users/nobody/password", Need::Admin),
        ("POST", "/api/workspaces?dry_run=true", Need::Admin),
        ("PUT", "/api/workspaces/files", Need::Admin),
        ("DELETE", "/api/workspaces/nothing", Need::Admin),
        ("POST", "/api/workspaces/files/verify", Need::Admin),
        ("GET", "/api/workspaces/files/acl", Need::Admin),
        ("PUT", "/api/workspaces/files/acl/reader", Need::Admin),
        ("DELETE", "/api/workspaces/files/acl/nobody", Need::Admin),
        ("GET", "/metrics", Need::Admin),
        ("GET", "/api/me", Need::User),
        ("GET", "/api/tokens", Need::User),
        ("GET", "/api/workspaces", Need::User),
        ("GET", "/api/workspaces/files", Need::Read),
        ("DELETE", "/api/tokens/no-such-token", Need::User),
    ];
    let ui: &[(&str, &str, Need)] = &[
        ("GET", "/ui/", Need::User),
        ("GET", "/ui/workspaces/files", Need::Read),
        ("GET", "/ui/admin/plugins", Need::Admin),
        ("GET", "/ui/admin/workspaces", Need::Admin),
        ("GET", "/ui/admin/workspaces/new", Need::Admin),
        ("GET", "/ui/admin/workspaces/files", Need::Admin),
        ("POST", "/ui/admin/plugins/access.none/toggle", Need::Admin),
        ("POST", "/ui/admin/workspaces/new", Need::Admin),
        ("POST", "/ui/admin/workspaces/nothing", Need::Admin),
        ("POST", "/ui/admin/workspaces/nothing/verify", Need::Admin),
        ("POST", "/ui/admin/workspaces/nothing/grant", Need::Admin),
        ("POST", "/ui/admin/workspaces/nothing/revoke", Need::Admin),
        ("POST", "/ui/admin/workspaces/nothing/delete", Need::Admin),
        ("GET", "/ui/app-passwords", Need::User),
        ("POST", "/ui/app-passwords", Need::User),
        ("POST", "/ui/app-passwords/no-such-token/revoke", Need::User),
    ];

    let (mut cells, mut failures) = (0, Vec::new());
    for (method, path, need) in file_actions.iter().chain(api).chain(ui) {
        for (who, client) in &whos {
            let url = format!("{}{path}", h.url);
            let req = match *method {
                "GET" => client.get(&url),
                "POST" => client.post(&url),
                "PUT" => client.put(&url),
                _ => client.delete(&url),
            };
            let req = if path.starts_with("/ui/") {
                req.form(&[("label", "x")])
            } else if path.starts_with("/api/") {
                // A valid password, so that the password endpoint reaches its rights check (with
                // `{}` it answers 422 before looking at who asks: validation before rights).
                req.json(&json!({"password": "matrix-password-0123456789"}))
            } else {
                req.body("x")
            };
            let r = req.send().unwrap();
            let status = r.status().as_u16();
            let to_login = r
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .is_some_and(|l| l.starts_with("/ui/login"));
            let state_changing = *method != "GET";
            let allowed = holds(*who, *need) && !(*who == Who::CrossSession && state_changing);
            let refused = matches!(status, 401 | 403) || to_login;
            // Who the caller is and what it may do decide the refusal's status.
            let right_refusal = match who {
                Who::Anonymous | Who::ExpiredSession => {
                    if path.starts_with("/ui/") && !state_changing {
                        to_login
                    } else {
                        status == 401 || to_login
                    }
                }
                Who::RevokedToken => status == 401,
                _ => status == 403,
            };
            cells += 1;
            if allowed && refused {
                failures.push(format!(
                    "wrongly refused: {who:?} {method} {path} -> {status}"
                ));
            } else if !allowed && (!refused || !right_refusal) {
                failures.push(format!(
                    "WRONGFUL GRANT: {who:?} {method} {path} -> {status}"
                ));
            }
        }
    }

    // Another user's things: a user reaches only their own password and tokens.
    let reader = client_with(session("reader"));
    let (_, mine) = json_of(
        client_with(session("writer"))
            .get(h.api("tokens"))
            .send()
            .unwrap(),
    );
    let writer_token_id = mine["tokens"][0]["id"].as_str().unwrap().to_owned();
    let others: Vec<(&str, String, Value, &[u16])> = vec![
        (
            "PUT",
            h.api("users/writer/password"),
            json!({"password": "a-brand-new-password-42"}),
            &[403][..],
        ),
        ("GET", h.api("users/writer"), json!({}), &[403][..]),
        (
            "DELETE",
            h.api(&format!("tokens/{writer_token_id}")),
            json!({}),
            &[404][..],
        ),
        (
            "POST",
            h.api("tokens"),
            json!({"label": "stolen", "user": "writer"}),
            &[403][..],
        ),
        (
            "PUT",
            h.api("workspaces/files/acl/reader"),
            json!({"access": "rw"}),
            &[403][..],
        ),
    ];
    for (method, url, body, want) in others {
        let req = match method {
            "GET" => reader.get(&url),
            "POST" => reader.post(&url),
            "PUT" => reader.put(&url),
            _ => reader.delete(&url),
        };
        let status = req.json(&body).send().unwrap().status().as_u16();
        cells += 1;
        if !want.contains(&status) {
            failures.push(format!(
                "WRONGFUL GRANT: reader {method} {url} -> {status}, want {want:?}"
            ));
        }
    }
    // The reader's own tokens only (the matrix made one on the app passwords page).
    let (_, listed) = json_of(reader.get(h.api("tokens")).send().unwrap());
    let owners: Vec<&str> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["user"].as_str().unwrap())
        .collect();
    assert_eq!(owners, ["reader"], "the reader sees no other token");
    let (s, _) = json_of(
        client_with(bearer(&writer_token))
            .get(h.action_url("get_action=ls&ws=files"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "the writer's token still works");
    h.login("writer", "writer-password"); // the writer's password is unchanged
    let (_, v) = json_of(
        client_with(session("outsider"))
            .get(h.api("workspaces"))
            .send()
            .unwrap(),
    );
    assert_eq!(v["workspaces"], json!([]), "an outsider sees no workspace");

    let grants = failures
        .iter()
        .filter(|f| f.starts_with("WRONGFUL"))
        .count();
    println!(
        "authorization matrix: {cells} cells ({} principals), {grants} wrongful grants, {} wrongful refusals",
        whos.len(),
        failures.len() - grants
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
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
    // The UI's login form is paused too, and says for how long.
    let r = Client::new()
        .post(format!("{}/ui/login", h.url))
        .form(&[
            ("username", "admin"),
            ("password", "wrong"),
            ("next", "/ui/"),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"), "{:?}", r.headers());
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
fn the_first_start_creates_an_admin_with_a_one_time_password_in_a_private_file() {
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
    let file = dir.path().join("data/initial-admin-password");
    let text = loop {
        let text = log.lock().unwrap().clone();
        if text.contains("one-time password") {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no password announced:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    // The log names the file, never the password; the file is the owner's alone.
    assert!(text.contains(&file.display().to_string()), "{text}");
    let password = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert!(password.len() >= 18, "{password}");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
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
    assert!(ok, "the file's password logs in");
    let text = log.lock().unwrap().clone();
    assert!(
        !text.contains(&password),
        "the password is in the log:\n{text}"
    );
}

/// The host answers 405 with `Allow` to a method an action's manifest does not declare,
/// before rights, CSRF or the plugin: here `faulty_panic`, which panics whenever it runs,
/// declared POST-only. A GET or HEAD never reaches it, whoever sends it; a POST does.
#[test]
fn a_post_only_plugin_action_answers_405_to_get_before_the_plugin_runs() {
    let (name, text) = manifest("access.faulty.toml");
    let post_only = text.replacen(
        "name = \"faulty_panic\"\nrights = \"public\"\nmethods = [\"GET\", \"POST\"]\n",
        "name = \"faulty_panic\"\nrights = \"public\"\nmethods = [\"POST\"]\n",
        1,
    );
    assert_ne!(post_only, text, "the test manifest changed shape");
    let h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml"), (name, post_only)],
    ));
    let anonymous = Client::new();
    for (who, client) in [("admin", &h.client), ("anonymous", &anonymous)] {
        for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
            let r = client
                .request(method.clone(), h.action_url("get_action=faulty_panic"))
                .send()
                .unwrap();
            assert_eq!(r.status(), 405, "{who} {method}");
            assert_eq!(r.headers()["allow"], "POST", "{who} {method}");
        }
    }
    assert!(
        !h.log().contains("faulty_panic was called"),
        "the plugin ran:\n{}",
        h.log()
    );
    // The declared method reaches the plugin (which panics, as it does).
    let (s, v) = h.post("get_action=faulty_panic");
    assert_eq!((s, code(&v)), (500, "plugin_panicked"), "{v}");
}

/// Rights of a plugin action per caller and per token scope, on the Dropbox driver's
/// disconnect: whoever cannot administer a workspace cannot change what its other users
/// see. Read-only carol cannot disconnect a shared (`TOKEN_SCOPE = workspace`) or a service
/// account (`REFRESH_TOKEN`) connection, nor can read-write alice; carol's own per-user
/// connection is hers to disconnect; the admin disconnects the shared one and is told a
/// service account is changed through its parameter. Nothing but the allowed disconnects
/// reaches the provider's revoke endpoint.
#[test]
fn plugin_action_rights_per_caller_and_token_scope() {
    use wshost_tests::fake_dropbox::FakeDropbox;
    let h = Host::start(HostSetup::new(
        "[plugins]\nenabled = [\"access.dropbox\"]\n".into(),
        vec![manifest("access.dropbox.toml")],
    ));
    let fake = FakeDropbox::for_host(&h.url);
    let (_, refresh) = fake.issue_tokens();
    for (id, extra) in [
        ("dbx", ("TOKEN_SCOPE", "workspace")),
        ("dbxsvc", ("REFRESH_TOKEN", refresh.as_str())),
        ("mine", ("TOKEN_SCOPE", "user")),
    ] {
        let mut params = fake.workspace_params();
        params[extra.0] = json!(extra.1);
        let r = h
            .client
            .post(h.api("workspaces"))
            .json(&json!({ "id": id, "label": id, "driver": "access.dropbox", "params": params }))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "{id}: {}", r.text().unwrap_or_default());
    }
    let carol = h.add_user("carol", false);
    let alice = h.add_user("alice", false);
    let bob = h.add_user("bob", false);
    for ws in ["dbx", "dbxsvc", "mine"] {
        h.grant(ws, "carol", "r");
        h.grant(ws, "alice", "rw");
    }
    let ls = |client: &Client, ws: &str| {
        json_of(
            client
                .get(h.action_url(&format!("get_action=ls&ws={ws}&dir=/")))
                .send()
                .unwrap(),
        )
    };
    // The admin connects the shared workspace, carol her own: each through the fake.
    let no_redirects = |headers| {
        Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    };
    for (client, name, password, ws) in [
        (&h.client, "admin", ADMIN_PASSWORD.to_owned(), "dbx"),
        (&carol, "carol", "carol-password".to_owned(), "mine"),
    ] {
        let (s, v) = ls(client, ws);
        assert_eq!((s, code(&v)), (401, "authorization_required"), "{v}");
        let back = no_redirects(reqwest::header::HeaderMap::new())
            .get(v["error"]["authorize_url"].as_str().unwrap())
            .send()
            .unwrap()
            .headers()["location"]
            .to_str()
            .unwrap()
            .to_owned();
        let r = no_redirects(h.session_headers(name, &password))
            .get(&back)
            .send()
            .unwrap();
        assert_eq!(r.status(), 303, "{name} connects {ws}");
    }
    let revokes = || fake.requests("auth/token/revoke");
    let disconnect = |client: &Client, ws: &str| {
        json_of(
            client
                .post(h.action_url(&format!("get_action=dropbox_oauth_disconnect&ws={ws}")))
                .send()
                .unwrap(),
        )
    };
    let anonymous = Client::new();
    // (caller, workspace, status, error code, revokes after)
    let cases: [(&str, &Client, &str, u16, &str, u64); 9] = [
        ("anonymous", &anonymous, "dbx", 401, "unauthenticated", 0),
        ("bob (no grant)", &bob, "dbx", 403, "forbidden", 0),
        ("carol (r)", &carol, "dbx", 403, "permission_denied", 0),
        ("alice (rw)", &alice, "dbx", 403, "permission_denied", 0),
        ("carol (r)", &carol, "dbxsvc", 403, "permission_denied", 0),
        ("alice (rw)", &alice, "dbxsvc", 403, "permission_denied", 0),
        ("admin", &h.client, "dbxsvc", 409, "conflict", 0),
        ("carol (r), her own", &carol, "mine", 200, "", 1),
        ("admin", &h.client, "dbx", 200, "", 2),
    ];
    for (who, client, ws, status, error, after) in cases {
        if ws == "dbx" && status != 200 {
            assert_eq!(ls(&carol, "dbx").0, 200, "dbx is connected before {who}");
        }
        let (s, v) = disconnect(client, ws);
        assert_eq!((s, code(&v)), (status, error), "{who} on {ws}: {v}");
        if status == 200 {
            assert_eq!(v["disconnected"], json!(true), "{who} on {ws}: {v}");
        }
        assert_eq!(
            revokes(),
            after,
            "revokes at the provider after {who} on {ws}"
        );
    }
    assert_eq!(
        ls(&carol, "dbxsvc").0,
        200,
        "the service account still serves"
    );
    assert_eq!(
        ls(&alice, "dbx").0,
        403,
        "shared: disconnected, an admin connects it"
    );
    assert_eq!(ls(&carol, "mine").0, 401, "carol's own: she connects again");
}

/// Issue 15, finding 3 (login CSRF): a login that a browser sends on behalf of another site
/// (`Origin` of another origin, `Sec-Fetch-Site: cross-site`/`same-site`) is refused by the API
/// and the UI alike, without a session cookie; one without either header (curl, scripts) and
/// one from the host's own pages log in.
#[test]
fn logins_sent_by_another_site_are_refused() {
    let h = host();
    h.add_user("bob", false);
    let client = client_with(reqwest::header::HeaderMap::new());
    let sets_session = |r: &reqwest::blocking::Response| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap_or("").starts_with("wshost_session="))
    };
    let api_login = |headers: &[(&str, &str)]| {
        let mut req = client
            .post(h.api("login"))
            .json(&json!({"username": "bob", "password": "bob-password"}));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.send().unwrap()
    };
    let ui_login = |headers: &[(&str, &str)]| {
        let mut req = client.post(format!("{}/ui/login", h.url)).form(&[
            ("username", "bob"),
            ("password", "bob-password"),
            ("next", "/ui/"),
        ]);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.send().unwrap()
    };
    let own = h.url.clone();
    let foreign: [&[(&str, &str)]; 5] = [
        &[("origin", "http://evil.example")],
        &[("origin", "null")],
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site")],
        &[("sec-fetch-site", "cross-site"), ("origin", own.as_str())],
    ];
    for headers in foreign {
        let r = api_login(headers);
        assert!(
            !sets_session(&r),
            "API login with {headers:?} set a session"
        );
        let (s, v) = json_of(r);
        assert_eq!(
            (s, code(&v)),
            (403, "cross_site_request"),
            "{headers:?}: {v}"
        );
        let r = ui_login(headers);
        assert!(!sets_session(&r), "UI login with {headers:?} set a session");
        assert_eq!(r.status(), 403, "UI login with {headers:?}");
        let page = r.text().unwrap();
        assert!(page.contains("another site"), "the page says why: {page}");
    }
    let accepted: [&[(&str, &str)]; 4] = [
        &[],
        &[("origin", own.as_str())],
        &[("sec-fetch-site", "same-origin"), ("origin", own.as_str())],
        &[("sec-fetch-site", "none")],
    ];
    for headers in accepted {
        let r = api_login(headers);
        assert!(sets_session(&r), "API login with {headers:?}");
        assert_eq!(r.status(), 200, "API login with {headers:?}");
        let r = ui_login(headers);
        assert!(sets_session(&r), "UI login with {headers:?}");
        assert_eq!(r.status(), 303, "UI login with {headers:?}");
    }
}

/// A grant names a user and a workspace that both exist, whichever door it comes through:
/// the UI's grant on a workspace not created yet is refused and stores nothing, so a
/// workspace created later under that id gives its would-be grantee no right. A grant row
/// left in the database from before that rule is dropped when the workspace is created.
#[test]
fn a_grant_on_a_missing_workspace_stores_nothing_through_any_door() {
    let h = host();
    h.add_user("carol", false);
    h.add_user("dave", false);
    // A browser's admin session: the token goes in the form's field, not in a header.
    let mut headers = h.session_headers("admin", ADMIN_PASSWORD);
    let form_csrf = headers
        .remove("x-csrf-token")
        .expect("the session's CSRF token")
        .to_str()
        .unwrap()
        .to_owned();
    let admin_form = client_with(headers);
    let r = admin_form
        .post(format!("{}/ui/admin/workspaces/future/grant", h.url))
        .form(&[
            ("user", "carol"),
            ("access", "rw"),
            ("csrf", form_csrf.as_str()),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 404, "the UI grant names a missing workspace");
    // The REST API and the CLI refuse it the same way.
    let (s, v) = json_of(
        h.client
            .put(h.api("workspaces/future/acl/carol"))
            .json(&json!({"access": "rw"}))
            .send()
            .unwrap(),
    );
    assert_eq!((s, code(&v)), (404, "not_found"), "{v}");
    let cli = std::process::Command::new(wshost_exe())
        .args(["workspace", "grant", "future", "carol", "rw", "--config"])
        .arg(h.dir.path().join("host.toml"))
        .output()
        .unwrap();
    assert!(!cli.status.success(), "the CLI refuses the grant too");
    // A grant stored before the rule held, written straight into the database.
    {
        use sqlx::Connection;
        let db = h.dir.path().join("data/wshost.db");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO acl (workspace, user_name, access) VALUES ('future', 'dave', 'rw')",
            )
            .execute(&mut conn)
            .await
            .expect("store a stale grant");
            conn.close().await.unwrap();
        });
    }

    let root = h.dir.path().join("future-root");
    let (s, v) = json_of(
        h.client
            .post(h.api("workspaces"))
            .json(
                &json!({"id": "future", "label": "Future", "driver": "access.fs",
                "params": {"ROOT": root.display().to_string(), "CREATE": "true"}}),
            )
            .send()
            .unwrap(),
    );
    assert_eq!(s, 201, "{v}");
    let (_, acl) = json_of(h.client.get(h.api("workspaces/future/acl")).send().unwrap());
    assert_eq!(acl["grants"], json!([]), "the new workspace has no grant");
    for user in ["carol", "dave"] {
        let c = client_with(h.session_headers(user, &format!("{user}-password")));
        let (s, v) = json_of(
            c.get(h.action_url("get_action=ls&ws=future"))
                .send()
                .unwrap(),
        );
        assert_eq!(s, 403, "{user} has no right on the new workspace: {v}");
        let (_, v) = json_of(c.get(h.api("workspaces")).send().unwrap());
        assert_eq!(v["workspaces"], json!([]), "{user} sees no workspace");
    }
    // Granting once the workspace exists works through the UI, and so does revoking.
    let post = |path: &str, pairs: &[(&str, &str)]| {
        let mut form: Vec<(&str, &str)> = pairs.to_vec();
        form.push(("csrf", form_csrf.as_str()));
        admin_form
            .post(format!("{}/ui/admin/workspaces/future/{path}", h.url))
            .form(&form)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(post("grant", &[("user", "carol"), ("access", "r")]), 200);
    assert_eq!(post("grant", &[("user", "nobody"), ("access", "r")]), 404);
    assert_eq!(post("grant", &[("user", "carol"), ("access", "all")]), 400);
    let (_, acl) = json_of(h.client.get(h.api("workspaces/future/acl")).send().unwrap());
    assert_eq!(acl["grants"], json!([{"user": "carol", "access": "r"}]));
    assert_eq!(post("revoke", &[("user", "carol")]), 200);
    assert_eq!(
        post("revoke", &[("user", "carol")]),
        404,
        "nothing left to revoke"
    );
}

/// A user sees what a workspace is (id, label, description, driver and its label) and their
/// own access, never its parameters: not through the API's list or show, nor on a UI page.
/// Administrators still see the parameters.
#[test]
fn users_never_see_workspace_parameters() {
    let h = host();
    h.add_user("carol", false);
    h.grant("files", "carol", "r");
    let root = format!("{}/root", h.dir.path().display());
    let carol = client_with(h.session_headers("carol", "carol-password"));

    let (s, list) = json_of(carol.get(h.api("workspaces")).send().unwrap());
    assert_eq!(s, 200, "{list}");
    let (s, shown) = json_of(carol.get(h.api("workspaces/files")).send().unwrap());
    assert_eq!(s, 200, "{shown}");
    assert_eq!(
        list["workspaces"].as_array().map(Vec::len),
        Some(1),
        "{list}"
    );
    for ws in [&list["workspaces"][0], &shown] {
        let mut keys: Vec<&str> = ws
            .as_object()
            .expect("a workspace object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "access",
                "description",
                "driver",
                "driver_label",
                "id",
                "label",
                "owner",
                "personal",
                "template"
            ],
            "{ws}"
        );
        assert_eq!(ws["access"], "r", "{ws}");
        assert_eq!(ws["driver_label"], "Local folder", "{ws}");
    }
    let mut seen = list.to_string() + &shown.to_string();
    for page in ["/ui/", "/ui/workspaces/files"] {
        let r = carol.get(format!("{}{page}", h.url)).send().unwrap();
        assert_eq!(r.status(), 200, "{page}");
        seen += &r.text().unwrap();
    }
    assert!(seen.contains("Local folder"), "the answers were read");
    assert!(
        !seen.contains(&root),
        "carol saw the ROOT parameter: {seen}"
    );

    let (_, admin_view) = json_of(h.client.get(h.api("workspaces/files")).send().unwrap());
    assert_eq!(admin_view["params"]["ROOT"], json!(root), "{admin_view}");
}

/// A `next` the login page cannot send back as a `Location` (a control character) falls
/// back to the UI's home, before and after logging in; it never fails the request.
#[test]
fn a_control_character_in_next_falls_back_to_the_home_page() {
    let h = host();
    h.add_user("carol", false);
    let anonymous = client_with(Default::default());
    let r = anonymous
        .get(format!("{}/ui/login?next=/ui/%0a", h.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "the login page is shown");
    let page = r.text().unwrap();
    assert!(
        page.contains("name=\"next\" value=\"&#x2f;ui&#x2f;\""),
        "the page posts back the home page: {page}"
    );
    let r = anonymous
        .post(format!("{}/ui/login", h.url))
        .form(&[
            ("username", "carol"),
            ("password", "carol-password"),
            ("next", "/ui/\n"),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303, "logged in");
    assert_eq!(r.headers()["location"], "/ui/");
    let carol = client_with(h.session_headers("carol", "carol-password"));
    for next in ["/ui/%0a", "/ui/%0d%0aSet-Cookie:x=1", "/ui/%7f"] {
        let r = carol
            .get(format!("{}/ui/login?next={next}", h.url))
            .send()
            .unwrap();
        assert_eq!(r.status(), 303, "{next}");
        assert_eq!(r.headers()["location"], "/ui/", "{next}");
    }
}
