//! No secret ever leaves the host where it should not: after full flows (workspaces with
//! secret parameters, the Dropbox OAuth2 flow against the fake, refreshes, and errors made on
//! purpose — wrong client secret, bad parameters, a failing token endpoint, wrong passwords),
//! every secret value is searched for in the host's log (text and JSON formats), every API
//! answer, every HTML page of the UI and its static files, every error message, the CLI's
//! output and the database files.

use std::collections::BTreeMap;

use wshost_tests::fake_dropbox::{FakeDropbox, Fault, Options};
use wshost_tests::*;

const CLIENT_ID: &str = "wshostLeakApp";
const DBX_SECRET: &str = "dbx-client-secret-Qm9vLk7";
const WRONG_SECRET: &str = "wrong-client-secret-Zx81pL";
const FAULTY_TOKEN: &str = "faulty-token-Hk2Lq9-never-shown";
const FAULTY_TOKEN_2: &str = "faulty-token-in-bad-params-Rr5";
const BAD_PARAMS_SECRET: &str = "dbx-secret-in-bad-params-Uu3";
const EVE_PASSWORD: &str = "eve-password-Tt6Yy8";
const EVE_NEW_PASSWORD: &str = "eve-new-password-Pp0Oo9";
const GUESSED_PASSWORD: &str = "eve-guessed-password-Ww4";

/// Where a secret may legitimately appear, and so is not searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Searched everywhere: answers, pages, log, CLI output, database files.
    Everywhere,
    /// Searched everywhere but in the database (hashed passwords never match anyway).
    NotDatabase,
    /// A CSRF token: shown to its own session in answers and pages, kept in clear in the
    /// store; it must never reach the log.
    LogOnly,
    /// A workspace parameter that is not a secret (a host path, a provider endpoint): the
    /// administrator's to see, searched in every answer and page a user who is not an
    /// administrator got.
    AdminOnly,
}

struct Collector {
    docs: BTreeMap<String, Vec<u8>>,
    /// The names of the documents a user who is not an administrator fetched.
    users: std::collections::BTreeSet<String>,
}

impl Collector {
    /// Keeps a document under `name` (made unique); answers the name it got.
    fn add(&mut self, name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> String {
        let mut name = name.into();
        while self.docs.contains_key(&name) {
            name.push('\'');
        }
        self.docs.insert(name.clone(), bytes.into());
        name
    }

    /// [`Collector::fetch`] by a user who is not an administrator.
    fn fetch_user(&mut self, name: &str, req: reqwest::blocking::RequestBuilder) -> (u16, String) {
        let before: std::collections::BTreeSet<String> = self.docs.keys().cloned().collect();
        let answer = self.fetch(name, req);
        let added = self.docs.keys().find(|k| !before.contains(*k)).cloned();
        self.users.extend(added);
        answer
    }

    /// Sends `req`, keeps its body (and Location header) as a document, answers status and body.
    fn fetch(&mut self, name: &str, req: reqwest::blocking::RequestBuilder) -> (u16, String) {
        let r = req.send().unwrap();
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        let body = r.text().unwrap_or_default();
        self.add(format!("{name} -> {status}"), format!("{location}\n{body}"));
        (status, body)
    }
}

fn browser_client(headers: reqwest::header::HeaderMap) -> Client {
    Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn cookie_value(headers: &reqwest::header::HeaderMap) -> String {
    let c = headers["cookie"].to_str().unwrap();
    c.split_once('=').unwrap().1.to_owned()
}

fn query_param(url: &str, name: &str) -> String {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The whole run for one log format: answers the documents, the secrets and the leaks.
fn run(format: &str) -> (usize, usize, Vec<String>) {
    let h = Host::start(HostSetup {
        env: vec![
            ("WSHOST_LOG_FORMAT".into(), format.into()),
            ("WSHOST_LOG".into(), "debug".into()),
        ],
        ..HostSetup::new(
            format!(
                "{}[[workspaces]]\nid = \"faulty\"\ndriver = \"access.faulty\"\n[plugins]\nenabled = [\"access.dropbox\"]\n",
                fs_config()
            ),
            vec![
                manifest("access.fs.toml"),
                manifest("access.faulty.toml"),
                manifest("access.dropbox.toml"),
            ],
        )
    });
    let callback_url = format!("{}/index.php?get_action=dropbox_oauth_authorize", h.url);
    let fake = FakeDropbox::start(Options {
        client_id: Some(CLIENT_ID.into()),
        client_secret: Some(DBX_SECRET.into()),
        redirect_uris: vec![callback_url],
        auto_approve: true,
        ..Options::default()
    });
    let mut c = Collector {
        docs: BTreeMap::new(),
        users: Default::default(),
    };
    let mut secrets: Vec<(String, Scope)> = [
        (DBX_SECRET, Scope::Everywhere),
        (WRONG_SECRET, Scope::Everywhere),
        (FAULTY_TOKEN, Scope::Everywhere),
        (FAULTY_TOKEN_2, Scope::Everywhere),
        (BAD_PARAMS_SECRET, Scope::Everywhere),
        (ADMIN_PASSWORD, Scope::NotDatabase),
        (EVE_PASSWORD, Scope::NotDatabase),
        (EVE_NEW_PASSWORD, Scope::NotDatabase),
        (GUESSED_PASSWORD, Scope::NotDatabase),
    ]
    .iter()
    .map(|(s, w)| (s.to_string(), *w))
    .collect();

    // Sessions whose cookie and CSRF token the test knows.
    let admin_headers = h.session_headers("admin", ADMIN_PASSWORD);
    secrets.push((cookie_value(&admin_headers), Scope::Everywhere));
    secrets.push((
        admin_headers["x-csrf-token"].to_str().unwrap().into(),
        Scope::LogOnly,
    ));
    let admin = browser_client(admin_headers);
    let (s, v) = c.fetch(
        "create user eve",
        admin
            .post(h.api("users"))
            .json(&json!({"name": "eve", "password": EVE_PASSWORD, "admin": false})),
    );
    assert_eq!(s, 201, "{v}");
    let eve_headers = h.session_headers("eve", EVE_PASSWORD);
    secrets.push((cookie_value(&eve_headers), Scope::Everywhere));
    secrets.push((
        eve_headers["x-csrf-token"].to_str().unwrap().into(),
        Scope::LogOnly,
    ));
    let eve = browser_client(eve_headers.clone());
    let eve_browser = {
        let mut m = eve_headers;
        m.remove("x-csrf-token");
        browser_client(m)
    };

    // An API token, used once; its creation answer is the one place it may appear.
    let r = admin
        .post(h.api("tokens"))
        .json(&json!({"label": "leak test"}))
        .send()
        .unwrap();
    let token: Value = r.json().unwrap();
    let api_token = token["token"].as_str().unwrap().to_owned();
    secrets.push((api_token.clone(), Scope::Everywhere));
    c.fetch(
        "ls with the API token",
        Client::new()
            .get(h.action_url("get_action=ls&ws=files"))
            .bearer_auth(&api_token),
    );

    // Wrong passwords: refused, and the guess is never written down.
    for (user, password) in [("eve", GUESSED_PASSWORD), ("nobody", GUESSED_PASSWORD)] {
        c.fetch(
            "failed login",
            Client::new()
                .post(h.api("login"))
                .json(&json!({"username": user, "password": password})),
        );
    }
    c.fetch(
        "failed UI login",
        browser_client(Default::default())
            .post(format!("{}/ui/login", h.url))
            .form(&[("username", "eve"), ("password", GUESSED_PASSWORD)]),
    );

    // A workspace with a secret parameter: created, updated without it, verified, failing.
    let (s, v) = c.fetch(
        "create sec",
        admin.post(h.api("workspaces")).json(&json!({"id": "sec", "label": "Secret", "driver": "access.faulty", "params": {"TOKEN": FAULTY_TOKEN}})),
    );
    assert_eq!(s, 201, "{v}");
    c.fetch(
        "update sec",
        admin.put(h.api("workspaces/sec")).json(
            &json!({"label": "Secret 2", "driver": "access.faulty", "params": {"TOKEN": ""}}),
        ),
    );
    c.fetch("verify sec", admin.post(h.api("workspaces/sec/verify")));
    for file in ["error-internal", "error-denied", "panic", "missing"] {
        c.fetch(
            "faulty stat",
            admin.get(h.action_url(&format!("get_action=stat&ws=sec&file={file}"))),
        );
    }
    c.fetch(
        "faulty echo",
        admin.get(h.action_url("get_action=faulty_echo&ws=sec&x=1")),
    );
    // Bad parameters that carry secrets: refused field by field, without echoing them.
    c.fetch(
        "bad params faulty",
        admin.post(h.api("workspaces")).json(&json!({"id": "bad", "label": "Bad", "driver": "access.faulty", "params": {"TOKEN": FAULTY_TOKEN_2, "NOPE": FAULTY_TOKEN_2}})),
    );
    c.fetch(
        "bad params dropbox",
        admin.post(h.api("workspaces")).json(&json!({"id": "bad2", "label": "Bad", "driver": "access.dropbox", "params": {"CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": BAD_PARAMS_SECRET, "UPLOAD_CHUNK_SIZE": "lots", "TOKEN_URL": "not a url"}})),
    );
    c.fetch(
        "bad params UI",
        admin
            .post(format!("{}/ui/admin/workspaces/new", h.url))
            .form(&[
                ("id", "bad3"),
                ("label", "Bad"),
                ("driver", "access.faulty"),
                ("TOKEN", FAULTY_TOKEN_2),
                ("csrf", "wrong-token"),
            ]),
    );

    // Dropbox: one workspace with the right client secret, one with a wrong one.
    let fake_params = |secret: &str| {
        json!({
            "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": secret,
            "AUTH_URL": fake.authorize_url(), "TOKEN_URL": fake.token_url(),
            "API_URL": fake.url, "CONTENT_URL": fake.url,
        })
    };
    for (id, secret) in [("dbx", DBX_SECRET), ("dbxwrong", WRONG_SECRET)] {
        let (s, v) = c.fetch(
            "create dropbox workspace",
            admin.post(h.api("workspaces")).json(
                &json!({"id": id, "label": id, "driver": "access.dropbox", "params": fake_params(secret)}),
            ),
        );
        assert_eq!(s, 201, "{v}");
        h.grant(id, "eve", "rw");
    }
    // Parameters eve must not see on workspaces she may use: a host path and a provider
    // endpoint (the app id and the authorize URL reach her in the Connect link, by design).
    h.grant("files", "eve", "r");
    secrets.push((format!("{}/root", h.dir.path().display()), Scope::AdminOnly));
    secrets.push((fake.token_url(), Scope::AdminOnly));
    // A service-account workspace with a refresh token as parameter.
    let (_, service_refresh) = fake.issue_tokens();
    let mut params = fake_params(DBX_SECRET);
    params["REFRESH_TOKEN"] = json!(service_refresh);
    let (s, v) = c.fetch(
        "create service workspace",
        admin.post(h.api("workspaces")).json(
            &json!({"id": "dbxsa", "label": "Service", "driver": "access.dropbox", "params": params}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    c.fetch("verify dbxsa", admin.post(h.api("workspaces/dbxsa/verify")));
    c.fetch(
        "ls dbxsa",
        admin.get(h.action_url("get_action=ls&ws=dbxsa")),
    );

    // Eve connects through the browser flow.
    let connect = |c: &mut Collector, ws: &str| -> (u16, String) {
        let (s, body) = c.fetch_user(
            "ls before connecting",
            eve.get(h.action_url(&format!("get_action=ls&ws={ws}"))),
        );
        assert_eq!(s, 401, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let authorize = v["error"]["authorize_url"].as_str().unwrap();
        let back = fake.decide(authorize, true).unwrap();
        (
            c.fetch_user("OAuth callback", eve_browser.get(&back)).0,
            query_param(&back, "code"),
        )
    };
    let (s, code) = connect(&mut c, "dbx");
    assert_eq!(s, 303, "eve is connected");
    secrets.push((code, Scope::Everywhere));
    let (s, body) = c.fetch_user("ls dbx", eve.get(h.action_url("get_action=ls&ws=dbx")));
    assert_eq!(s, 200, "{body}");
    c.fetch_user(
        "upload dbx",
        eve.post(h.action_url("get_action=upload&ws=dbx&name=a.txt"))
            .body("hello"),
    );
    c.fetch_user(
        "download dbx",
        eve.get(h.action_url("get_action=download&ws=dbx&file=a.txt")),
    );
    fake.inject(Fault::ExpireAccessTokens);
    let (s, body) = c.fetch_user(
        "ls dbx after a refresh",
        eve.get(h.action_url("get_action=ls&ws=dbx")),
    );
    assert_eq!(s, 200, "{body}");
    // The wrong client secret: the token endpoint refuses the code.
    let (s, code) = connect(&mut c, "dbxwrong");
    assert!(s >= 400, "a wrong client secret is refused: {s}");
    secrets.push((code, Scope::Everywhere));

    // Every page of the UI, for the admin and for Eve, and the static files they link to.
    let mut pages = vec![
        "/ui/".to_owned(),
        "/ui/login".into(),
        "/ui/logout".into(),
        "/ui/admin/plugins".into(),
        "/ui/admin/workspaces".into(),
        "/ui/admin/workspaces/new".into(),
    ];
    for ws in ["files", "faulty", "sec", "dbx", "dbxwrong", "dbxsa"] {
        pages.push(format!("/ui/admin/workspaces/{ws}"));
        pages.push(format!("/ui/workspaces/{ws}"));
    }
    let mut statics = std::collections::BTreeSet::new();
    for page in &pages {
        for (who, client) in [("admin", &admin), ("eve", &eve)] {
            let name = format!("{who} GET {page}");
            let req = client.get(format!("{}{page}", h.url));
            let (_, body) = if who == "eve" {
                c.fetch_user(&name, req)
            } else {
                c.fetch(&name, req)
            };
            for part in body.split("/ui/static/").skip(1) {
                let file: String = part
                    .chars()
                    .take_while(|ch| ch.is_alphanumeric() || matches!(ch, '.' | '-' | '_'))
                    .collect();
                statics.insert(file);
            }
        }
    }
    for file in &statics {
        c.fetch(
            &format!("static {file}"),
            admin.get(format!("{}/ui/static/{file}", h.url)),
        );
    }

    // Every API answer a reader of the admin API can get.
    let mut api = vec![
        "me".to_owned(),
        "users".into(),
        "users/eve".into(),
        "users/admin".into(),
        "tokens".into(),
        "plugins".into(),
        "workspaces".into(),
    ];
    for id in ["access.fs", "access.faulty", "access.dropbox"] {
        api.push(format!("plugins/{id}"));
    }
    for ws in ["files", "faulty", "sec", "dbx", "dbxwrong", "dbxsa"] {
        api.push(format!("workspaces/{ws}"));
        api.push(format!("workspaces/{ws}/acl"));
    }
    for path in &api {
        c.fetch(&format!("admin GET /api/{path}"), admin.get(h.api(path)));
        c.fetch_user(&format!("eve GET /api/{path}"), eve.get(h.api(path)));
    }
    for ws in ["files", "faulty", "sec", "dbx", "dbxwrong", "dbxsa"] {
        c.fetch(
            &format!("verify {ws}"),
            admin.post(h.api(&format!("workspaces/{ws}/verify"))),
        );
    }
    for path in ["/metrics", "/healthz", "/readyz"] {
        c.fetch(path, admin.get(format!("{}{path}", h.url)));
    }

    // Failures on purpose at the end: a token endpoint that fails, for a new connection and
    // for a refresh.
    fake.inject(Fault::ServerError {
        times: 1000,
        status: 500,
        route: Some("oauth2/token".into()),
    });
    fake.inject(Fault::ExpireAccessTokens);
    c.fetch_user(
        "ls with a failing refresh",
        eve.get(h.action_url("get_action=ls&ws=dbx")),
    );
    c.fetch(
        "ls dbxsa with a failing refresh",
        admin.get(h.action_url("get_action=ls&ws=dbxsa")),
    );
    c.fetch(
        "verify with a failing refresh",
        admin.post(h.api("workspaces/dbxsa/verify")),
    );
    let (_, body) = c.fetch(
        "admin ls before connecting",
        admin.get(h.action_url("get_action=ls&ws=dbx")),
    );
    if let Some(authorize) = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["error"]["authorize_url"].as_str().map(str::to_owned))
    {
        let back = fake.decide(&authorize, true).unwrap();
        secrets.push((query_param(&back, "code"), Scope::Everywhere));
        let mut m = h.session_headers("admin", ADMIN_PASSWORD);
        secrets.push((cookie_value(&m), Scope::Everywhere));
        m.remove("x-csrf-token");
        let (s, _) = c.fetch(
            "callback with a failing token endpoint",
            browser_client(m).get(&back),
        );
        assert_eq!(s, 502, "Dropbox's token endpoint failed: a bad gateway");
    }
    c.fetch_user(
        "disconnect",
        eve.post(h.action_url("get_action=dropbox_oauth_disconnect&ws=dbx")),
    );

    // Eve changes her password (last: it may end her sessions).
    c.fetch(
        "change password",
        eve.put(h.api("users/eve/password"))
            .json(&json!({"password": EVE_NEW_PASSWORD})),
    );

    // The CLI's views of the workspaces.
    for args in [
        vec!["workspace", "show", "sec", "--json"],
        vec!["workspace", "show", "dbx", "--json"],
        vec!["workspace", "show", "dbxsa"],
        vec!["workspace", "list"],
        vec!["config", "check"],
    ] {
        let out = std::process::Command::new(wshost_exe())
            .args(&args)
            .arg("--config")
            .arg(h.dir.path().join("host.toml"))
            .output()
            .unwrap();
        c.add(
            format!("cli {}", args.join(" ")),
            [out.stdout, out.stderr].concat(),
        );
    }

    // Every token Dropbox issued to the host is a secret too.
    for t in fake.issued_tokens() {
        secrets.push((t, Scope::Everywhere));
    }
    // The secrets key the store generated (base64 in DATA_DIR/secret.key).
    let key = std::fs::read_to_string(h.dir.path().join("data/secret.key")).unwrap_or_default();
    if !key.trim().is_empty() {
        secrets.push((key.trim().to_owned(), Scope::NotDatabase));
    }
    let log = h.log();
    assert!(log.contains("logged in"), "the log was captured");
    let mut db = Vec::new();
    for name in ["wshost.db", "wshost.db-wal", "wshost.db-journal"] {
        if let Ok(bytes) = std::fs::read(h.dir.path().join("data").join(name)) {
            db.extend(bytes);
        }
    }
    assert!(!db.is_empty());

    let mut leaks = Vec::new();
    // Eve's views of workspaces carry no parameters at all, secret or not.
    for name in c.users.iter().filter(|n| n.contains("/api/workspaces")) {
        if String::from_utf8_lossy(&c.docs[name]).contains("\"params\"") {
            leaks.push(format!("{format} log run: workspace parameters in {name}"));
        }
    }
    let mut searched = 0;
    for (secret, scope) in &secrets {
        assert!(
            secret.len() >= 8,
            "a secret too short to search for: {secret:?}"
        );
        let needle = secret.as_bytes();
        let mut look = |name: &str, hay: &[u8]| {
            searched += 1;
            if hay.windows(needle.len()).any(|w| w == needle) {
                leaks.push(format!("{format} log run: {secret:?} found in {name}"));
            }
        };
        if *scope == Scope::AdminOnly {
            for name in &c.users {
                look(name.as_str(), &c.docs[name]);
            }
            continue;
        }
        look(&format!("the {format} log"), log.as_bytes());
        if *scope == Scope::LogOnly {
            continue;
        }
        for (name, doc) in &c.docs {
            look(name.as_str(), doc);
        }
        if *scope == Scope::Everywhere {
            look("the database files", &db);
        }
    }
    println!(
        "secret leakage ({format} log): {} documents searched for {} secrets, {searched} searches, {} occurrences",
        c.docs.len() + 2,
        secrets.len(),
        leaks.len()
    );
    (c.docs.len() + 2, secrets.len(), leaks)
}

#[test]
fn no_secret_reaches_logs_answers_pages_or_errors() {
    let mut all = Vec::new();
    let (mut docs, mut secrets) = (0, 0);
    for format in ["text", "json"] {
        let (d, s, leaks) = run(format);
        docs += d;
        secrets += s;
        all.extend(leaks);
    }
    println!(
        "secret leakage: {docs} documents searched for {secrets} secret values (2 runs), {} occurrences",
        all.len()
    );
    assert!(all.is_empty(), "{}", all.join("\n"));
}
