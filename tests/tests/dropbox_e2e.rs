//! access.dropbox end to end: the real `wshost`, the real `libaccess_dropbox.so`, and (for
//! the flows that reach Dropbox) the fake Dropbox server. The OAuth2 callback is driven the
//! way a browser would: with the user's session cookie and no CSRF header.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use wshost_tests::fake_dropbox::{FakeDropbox, Fault, Options, RateLimitReason};
use wshost_tests::*;

const WS: &str = "dbx";

/// A host with access.dropbox enabled.
fn host() -> Host {
    Host::start(HostSetup::new(
        "[plugins]\nenabled = [\"access.dropbox\"]\n".into(),
        vec![manifest("access.dropbox.toml")],
    ))
}

/// Creates workspace `dbx` through the admin API with `params` over the required ones.
fn create_workspace(h: &Host, params: &[(&str, &str)]) {
    create_workspace_with(h, params.iter().map(|(k, v)| (*k, v.to_string())).collect());
}

fn create_workspace_with(h: &Host, params: Vec<(&str, String)>) {
    let mut all = json!({ "CLIENT_ID": "wshostTestApp", "CLIENT_SECRET": "test-app-secret" });
    for (k, v) in params {
        all[k] = json!(v);
    }
    let (s, v) = json_of(
        h.client
            .post(h.api("workspaces"))
            .json(
                &json!({ "id": WS, "label": "Dropbox", "driver": "access.dropbox", "params": all }),
            )
            .send()
            .unwrap(),
    );
    assert_eq!(s, 201, "create the Dropbox workspace: {v}");
}

/// A browser-like client of `user` (cookie only, no CSRF header) that does not follow redirects.
fn browser(h: &Host, user: &str) -> Client {
    let password = if user == "admin" {
        ADMIN_PASSWORD.to_owned()
    } else {
        format!("{user}-password")
    };
    let mut headers = h.session_headers(user, &password);
    headers.remove("x-csrf-token");
    Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A user `name` with read-write access to the workspace.
fn user(h: &Host, name: &str) -> Client {
    let c = h.add_user(name, false);
    h.grant(WS, name, "rw");
    c
}

/// `ls` of the root must ask `client`'s user to authorize: the authorize URL's query.
fn must_authorize(h: &Host, client: &Client) -> HashMap<String, String> {
    let (s, v) = json_of(
        client
            .get(h.action_url(&format!("get_action=ls&ws={WS}&dir=/")))
            .send()
            .unwrap(),
    );
    assert_eq!((s, code(&v)), (401, "authorization_required"), "{v}");
    let url = url_of(v["error"]["authorize_url"].as_str().expect("authorize_url"));
    url.query_pairs().into_owned().collect()
}

fn url_of(s: &str) -> reqwest::Url {
    reqwest::Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// GET the OAuth2 callback with `query` as `client`: status, Location, body.
fn callback(h: &Host, client: &Client, query: &[(&str, &str)]) -> (u16, String, String) {
    let mut url = url_of(&format!(
        "{}/index.php?get_action=dropbox_oauth_authorize",
        h.url
    ));
    url.query_pairs_mut().extend_pairs(query);
    let r = client.get(url).send().unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location, r.text().unwrap_or_default())
}

#[test]
fn an_unconnected_user_is_sent_to_dropbox_with_state_and_pkce() {
    let h = host();
    create_workspace(&h, &[]);
    let ann = user(&h, "ann");
    let q = must_authorize(&h, &ann);
    for (k, v) in [
        ("response_type", "code"),
        ("client_id", "wshostTestApp"),
        ("token_access_type", "offline"),
        ("code_challenge_method", "S256"),
    ] {
        assert_eq!(q.get(k).map(String::as_str), Some(v), "{k} in {q:?}");
    }
    assert_eq!(
        q["redirect_uri"],
        format!("{}/index.php?get_action=dropbox_oauth_authorize", h.url)
    );
    assert_eq!(q["code_challenge"].len(), 43, "base64url of a SHA-256");
    assert!(q["state"].len() >= 16, "{q:?}");
    assert!(!q.contains_key("scope"), "no scope unless SCOPE is set");
    // Every attempt gets its own state.
    assert_ne!(must_authorize(&h, &ann)["state"], q["state"]);
}

#[test]
fn bad_callbacks_answer_a_clear_page_and_store_nothing() {
    let h = host();
    create_workspace(&h, &[("STATE_TTL", "2")]);
    let ann = user(&h, "ann");
    let _bob = user(&h, "bob");
    let (ann_b, bob_b) = (browser(&h, "ann"), browser(&h, "bob"));

    // A user has one pending authorization per workspace, so each state is started just
    // before its cases (a new prompt replaces the previous one).
    type Case<'a> = (&'a Client, Vec<(&'a str, &'a str)>, &'a str);
    let check = |cases: Vec<Case>| {
        for (client, query, why) in cases {
            let (s, location, body) = callback(&h, client, &query);
            assert_eq!((s, location.as_str()), (400, ""), "{query:?}: {body}");
            assert!(
                body.contains(why) && body.contains("<h1>"),
                "{query:?}: {body}"
            );
        }
    };
    let denied = must_authorize(&h, &ann)["state"].clone();
    check(vec![
        (&ann_b, vec![("code", "x")], "no valid state"),
        (
            &ann_b,
            vec![("code", "x"), ("state", "forged-state-value")],
            "expired or was already used",
        ),
        (
            &ann_b,
            vec![
                ("error", "access_denied"),
                (
                    "error_description",
                    "The user chose not to give your app access",
                ),
                ("state", &denied),
            ],
            "did not allow access",
        ),
        (
            &ann_b,
            vec![("code", "x"), ("state", &denied)],
            "expired or was already used",
        ),
    ]);
    let replaced = must_authorize(&h, &ann)["state"].clone();
    let foreign = must_authorize(&h, &ann)["state"].clone();
    check(vec![
        (
            &ann_b,
            vec![("code", "x"), ("state", &replaced)],
            "expired or was already used",
        ),
        (
            &bob_b,
            vec![("code", "x"), ("state", &foreign)],
            "another user",
        ),
        // Bob's try did not consume Ann's state: it is still hers, once.
        (
            &ann_b,
            vec![("error", "access_denied"), ("state", &foreign)],
            "did not allow access",
        ),
        (
            &ann_b,
            vec![("code", "x"), ("state", &foreign)],
            "expired or was already used",
        ),
    ]);
    let expired = must_authorize(&h, &ann)["state"].clone();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let (s, _, body) = callback(&h, &ann_b, &[("code", "x"), ("state", &expired)]);
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("expired or was already used"), "{body}");
    // Nothing was stored: still not connected.
    must_authorize(&h, &ann);
    // Not logged in: the host refuses before the plugin runs.
    let (s, _, _) = callback(&h, &Client::new(), &[("code", "x"), ("state", &expired)]);
    assert_eq!(s, 401);
}

// ---- against the fake Dropbox ----

/// The parameters that point a workspace at `fake`, plus `extra`.
fn at_fake<'a>(fake: &FakeDropbox, extra: &[(&'a str, &str)]) -> Vec<(&'a str, String)> {
    let mut params = vec![
        ("AUTH_URL", fake.authorize_url()),
        ("TOKEN_URL", fake.token_url()),
        ("API_URL", fake.url.clone()),
        ("CONTENT_URL", fake.url.clone()),
    ];
    params.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    params
}

/// The authorize URL `client`'s `ls` answers.
fn authorize_url(h: &Host, client: &Client) -> String {
    let (s, v) = json_of(
        client
            .get(h.action_url(&format!("get_action=ls&ws={WS}&dir=/")))
            .send()
            .unwrap(),
    );
    assert_eq!((s, code(&v)), (401, "authorization_required"), "{v}");
    v["error"]["authorize_url"].as_str().unwrap().to_owned()
}

/// Follows an authorize URL at the (auto-approving) fake: where it sends the browser back.
fn approve(authorize: &str) -> String {
    let r = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(authorize)
        .send()
        .unwrap();
    assert_eq!(r.status(), 302, "the fake approves at once");
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// The whole browser flow for `name`: ls → Dropbox → callback → back in the workspace.
fn connect(h: &Host, api: &Client, name: &str) {
    let back = approve(&authorize_url(h, api));
    let prefix = format!("{}/index.php?get_action=dropbox_oauth_authorize&", h.url);
    assert!(back.starts_with(&prefix), "{back}");
    let r = browser(h, name).get(&back).send().unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().unwrap_or_default());
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("{}/ui/workspaces/{WS}", h.url)
    );
}

fn ls(h: &Host, client: &Client, dir: &str) -> (u16, Value) {
    json_of(
        client
            .get(h.action_url(&format!("get_action=ls&ws={WS}&dir={dir}")))
            .send()
            .unwrap(),
    )
}

fn post(h: &Host, client: &Client, query: &str, body: Vec<u8>) -> (u16, Value) {
    json_of(
        client
            .post(h.action_url(&format!("{query}&ws={WS}")))
            .body(body)
            .send()
            .unwrap(),
    )
}

/// Every byte of the host's database files.
fn database_bytes(h: &Host) -> Vec<u8> {
    let data = h.dir.path().join("data");
    let mut all = Vec::new();
    for name in ["wshost.db", "wshost.db-wal", "wshost.db-journal"] {
        if let Ok(bytes) = std::fs::read(data.join(name)) {
            all.extend(bytes);
        }
    }
    assert!(!all.is_empty(), "no database in {}", data.display());
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn connected_user_lists_uploads_downloads_and_rearranges_files() {
    let h = host();
    let fake = FakeDropbox::for_host(&h.url);
    fake.create_folder("/Team");
    create_workspace_with(
        &h,
        at_fake(&fake, &[("ROOT", "/Team"), ("UPLOAD_CHUNK_SIZE", "65536")]),
    );
    let ann = user(&h, "ann");
    connect(&h, &ann, "ann");
    assert_eq!(fake.counters().refresh_tokens_issued, 1);

    // Tokens are stored encrypted: nothing token-like is readable in the database.
    let db = database_bytes(&h);
    for needle in [&b"sl."[..], b"access_token", b"refresh_token"] {
        assert!(
            !contains(&db, needle),
            "{} in the database",
            String::from_utf8_lossy(needle)
        );
    }

    let (s, v) = ls(&h, &ann, "/");
    assert_eq!((s, listed_names(&v)), (200, Vec::<String>::new()), "{v}");

    // Small upload: one files/upload.
    let (s, v) = post(
        &h,
        &ann,
        "get_action=upload&dir=/&name=hello.txt",
        b"hello world".to_vec(),
    );
    assert!(matches!(s, 200 | 201), "{s} {v}");
    assert_eq!(
        fake.file("/Team/hello.txt").as_deref(),
        Some(&b"hello world"[..])
    );
    assert_eq!(fake.requests("files/upload"), 1);

    // Large upload: a session of several chunks.
    let big: Vec<u8> = (0..5).flat_map(|i| pattern_chunk(7, i, 60_001)).collect();
    let (s, v) = post(
        &h,
        &ann,
        "get_action=upload&dir=/&name=big.bin",
        big.clone(),
    );
    assert!(matches!(s, 200 | 201), "{s} {v}");
    assert_eq!(fake.requests("files/upload_session/start"), 1);
    assert!(fake.requests("files/upload_session/append_v2") >= 2);
    assert_eq!(fake.requests("files/upload_session/finish"), 1);
    assert_eq!(fake.file("/Team/big.bin").as_deref(), Some(&big[..]));

    // Download whole and ranged.
    let r = ann
        .get(h.action_url(&format!("get_action=download&ws={WS}&file=big.bin")))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().unwrap()[..] == big[..], "download differs");
    let r = ann
        .get(h.action_url(&format!("get_action=download&ws={WS}&file=big.bin")))
        .header("range", "bytes=100000-100099")
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(&r.bytes().unwrap()[..], &big[100_000..100_100]);

    // mkdir, rename, move, copy, delete.
    let (s, v) = post(&h, &ann, "get_action=mkdir&dir=/&dirname=docs", vec![]);
    assert!(matches!(s, 200 | 201), "{s} {v}");
    assert!(fake.exists("/Team/docs"));
    let (s, v) = post(
        &h,
        &ann,
        "get_action=rename&file=/hello.txt&filename_new=renamed.txt",
        vec![],
    );
    assert!(matches!(s, 200 | 201), "{s} {v}");
    let (s, v) = post(
        &h,
        &ann,
        "get_action=move&file=/renamed.txt&dest=/docs",
        vec![],
    );
    assert!(matches!(s, 200 | 201), "{s} {v}");
    assert_eq!(
        fake.file("/Team/docs/renamed.txt").as_deref(),
        Some(&b"hello world"[..])
    );
    let (s, v) = post(&h, &ann, "get_action=copy&file=/big.bin&dest=/docs", vec![]);
    assert!(matches!(s, 200 | 201), "{s} {v}");
    let (s, v) = post(&h, &ann, "get_action=delete&file=/big.bin", vec![]);
    assert!(matches!(s, 200 | 201), "{s} {v}");
    assert!(!fake.exists("/Team/big.bin"));
    let (s, v) = ls(&h, &ann, "/");
    assert_eq!((s, listed_names(&v)), (200, vec!["docs".to_owned()]), "{v}");
    let (s, v) = ls(&h, &ann, "/docs");
    assert_eq!(
        (s, listed_names(&v)),
        (200, vec!["big.bin".to_owned(), "renamed.txt".to_owned()]),
        "{v}"
    );
    assert_eq!(fake.file("/Team/docs/big.bin").as_deref(), Some(&big[..]));

    // Dropbox errors arrive as their kinds.
    let (s, v) = post(&h, &ann, "get_action=mkdir&dir=/&dirname=docs", vec![]);
    assert_eq!((s, code(&v)), (409, "already_exists"), "{v}");
    let (s, v) = ls(&h, &ann, "/nowhere");
    assert_eq!((s, code(&v)), (404, "not_found"), "{v}");

    // Another user is not connected by ann's tokens.
    let bob = user(&h, "bob");
    must_authorize(&h, &bob);
}

#[test]
fn expired_tokens_refresh_and_revoked_grants_ask_again() {
    let h = host();
    let fake = FakeDropbox::for_host(&h.url);
    create_workspace_with(&h, at_fake(&fake, &[]));
    let ann = user(&h, "ann");
    connect(&h, &ann, "ann");
    assert_eq!(ls(&h, &ann, "/").0, 200);

    fake.inject(Fault::ExpireAccessTokens);
    let (s, v) = ls(&h, &ann, "/");
    assert_eq!(s, 200, "refreshed transparently: {v}");
    assert_eq!(fake.counters().refreshes, 1);
    assert_eq!(ls(&h, &ann, "/").0, 200, "the new token is kept");
    assert_eq!(fake.counters().refreshes, 1);

    fake.inject(Fault::ExpireAccessTokens);
    fake.inject(Fault::RevokeRefreshTokens);
    let (s, v) = ls(&h, &ann, "/");
    assert_eq!((s, code(&v)), (401, "authorization_required"), "{v}");

    // Connect again, then disconnect: revoked at Dropbox and forgotten here.
    connect(&h, &ann, "ann");
    assert_eq!(ls(&h, &ann, "/").0, 200);
    let (s, v) = post(&h, &ann, "get_action=dropbox_oauth_disconnect", vec![]);
    assert_eq!((s, &v["disconnected"]), (200, &json!(true)), "{v}");
    assert_eq!(fake.requests("auth/token/revoke"), 1);
    must_authorize(&h, &ann);

    // Through all of it, no secret reached the host's log.
    let log = h.log();
    for secret in ["test-app-secret", "sl.", "code_verifier"] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

#[test]
fn rate_limits_wait_and_failures_stop_after_bounded_retries() {
    let h = host();
    let fake = FakeDropbox::for_host(&h.url);
    create_workspace_with(&h, at_fake(&fake, &[("UPLOAD_CHUNK_SIZE", "4096")]));
    let ann = user(&h, "ann");
    connect(&h, &ann, "ann");

    fake.inject(Fault::RateLimit {
        times: 1,
        retry_after: 1,
        reason: RateLimitReason::TooManyRequests,
        route: Some("files/list_folder".into()),
    });
    let before = fake.requests("files/list_folder");
    let started = Instant::now();
    let (s, v) = ls(&h, &ann, "/");
    assert!(matches!(s, 200 | 201), "{s} {v}");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After honoured"
    );
    assert_eq!(fake.requests("files/list_folder") - before, 2);

    fake.inject(Fault::RateLimit {
        times: 1,
        retry_after: 1,
        reason: RateLimitReason::TooManyWriteOperations,
        route: Some("files/create_folder_v2".into()),
    });
    let (s, v) = post(&h, &ann, "get_action=mkdir&dir=/&dirname=a", vec![]);
    assert!(matches!(s, 200 | 201), "{s} {v}");

    // An append whose answer was lost: Dropbox has the bytes and says incorrect_offset.
    fake.inject(Fault::IncorrectOffsetOnNextAppend);
    let data: Vec<u8> = (0..4).flat_map(|i| pattern_chunk(3, i, 3000)).collect();
    let (s, v) = post(
        &h,
        &ann,
        "get_action=upload&dir=/&name=resumed.bin",
        data.clone(),
    );
    assert!(matches!(s, 200 | 201), "{s} {v}");
    assert_eq!(fake.file("/resumed.bin").as_deref(), Some(&data[..]));

    fake.inject(Fault::ServerError {
        times: 100,
        status: 503,
        route: Some("files/list_folder".into()),
    });
    let before = fake.requests("files/list_folder");
    let (s, v) = ls(&h, &ann, "/");
    assert_eq!((s, code(&v)), (503, "unavailable"), "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("HTTP 503"),
        "{v}"
    );
    assert_eq!(
        fake.requests("files/list_folder") - before,
        4,
        "bounded: 4 attempts"
    );
    assert!(h.logged("retry 3 of 3"), "retries are logged");

    // The driver's API calls, retries and rate-limit waits reach the host's /metrics.
    let metrics = h.metrics();
    for series in [
        "wshost_plugin_dropbox_api_calls_total{",
        "wshost_plugin_dropbox_retries_total{",
        "wshost_plugin_dropbox_rate_limit_wait_seconds_count{",
    ] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with(series) && l.contains("plugin=\"access.dropbox\"")),
            "{series} missing from /metrics:\n{metrics}"
        );
    }
}

#[test]
fn a_code_exchanged_with_the_wrong_verifier_is_refused() {
    let h = host();
    let fake = FakeDropbox::for_host(&h.url);
    create_workspace_with(&h, at_fake(&fake, &[]));
    let ann = user(&h, "ann");
    // Two attempts: the code of the first comes back with the state (and verifier) of the second.
    let first = approve(&authorize_url(&h, &ann));
    let second = authorize_url(&h, &ann);
    let code_of_first = url_of(&first)
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let state_of_second = url_of(&second)
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let (s, _, body) = callback(
        &h,
        &browser(&h, "ann"),
        &[("code", &code_of_first), ("state", &state_of_second)],
    );
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("refused the authorization code"), "{body}");
    must_authorize(&h, &ann);
}

#[test]
fn the_conformance_suite_passes_against_the_fake() {
    let h = host(); // only for its build of wshost and the plugin
    let fake = FakeDropbox::for_host(&h.url);
    let (_, refresh) = fake.issue_tokens();
    let lib = build().join("libaccess_dropbox.so");
    let manifest = root().join("manifests/access.dropbox.toml");
    let mut args = vec![
        "plugins".to_owned(),
        "test".into(),
        lib.display().to_string(),
        "--manifest".into(),
        manifest.display().to_string(),
        "--skip".into(),
        "write.names_astral".into(),
    ];
    for (k, v) in at_fake(
        &fake,
        &[
            ("CLIENT_ID", "wshostTestApp"),
            ("CLIENT_SECRET", "test-app-secret"),
            ("REFRESH_TOKEN", &refresh),
            ("UPLOAD_CHUNK_SIZE", "1048576"),
        ],
    ) {
        args.push("--param".into());
        args.push(format!("{k}={v}"));
    }
    let out = std::process::Command::new(wshost_exe())
        .args(&args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("conformance of access.dropbox"), "{text}");
    // Dropbox refuses names with characters outside the BMP (emoji): a documented
    // limitation, skipped by name; every other case passes.
    assert!(out.status.success(), "{text}");
    assert!(text.contains("39 passed, 0 failed, 1 skipped"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("SKIP write.names_astral")),
        "{text}"
    );
    assert!(!text.contains(&refresh), "no secret in the report");
}

#[test]
fn an_authorization_started_on_one_host_completes_on_another() {
    let db = PgDatabase::create();
    let pg_host = || {
        Host::start(HostSetup::new(
            format!(
                "database = \"{}\"\nsecret_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n[plugins]\nenabled = [\"access.dropbox\"]\n",
                db.url
            ),
            vec![manifest("access.dropbox.toml")],
        ))
    };
    let (a, b) = (pg_host(), pg_host());
    // Dropbox sends the browser back to B (behind a load balancer, any instance may get it).
    let redirect = format!("{}/index.php?get_action=dropbox_oauth_authorize", b.url);
    let fake = FakeDropbox::start(Options {
        client_id: Some("wshostTestApp".into()),
        client_secret: Some("test-app-secret".into()),
        redirect_uris: vec![redirect.clone()],
        auto_approve: true,
        ..Options::default()
    });
    create_workspace_with(&a, at_fake(&fake, &[("REDIRECT_URL", &redirect)]));
    let ann = user(&a, "ann");

    let back = approve(&authorize_url(&a, &ann));
    assert!(back.starts_with(&redirect), "{back}");
    let r = browser(&a, "ann").get(&back).send().unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().unwrap_or_default());
    // The tokens stored through B serve on A, and the state was consumed for both.
    let (s, v) = ls(&a, &ann, "/");
    assert_eq!(s, 200, "{v}");
    let r = browser(&a, "ann").get(&back).send().unwrap();
    assert_eq!(r.status(), 400, "a replay on A is refused too");
}

#[test]
fn verify_asks_the_admin_to_connect_then_names_the_account() {
    let h = host();
    let fake = FakeDropbox::for_host(&h.url);
    create_workspace_with(&h, at_fake(&fake, &[]));
    let verify = || {
        json_of(
            h.client
                .post(h.api(&format!("workspaces/{WS}/verify")))
                .send()
                .unwrap(),
        )
    };
    let (s, v) = verify();
    assert_eq!(
        (s, &v["ok"], code(&v)),
        (200, &json!(false), "authorization_required"),
        "{v}"
    );
    let back = approve(v["error"]["authorize_url"].as_str().unwrap());
    assert_eq!(
        browser(&h, "admin").get(&back).send().unwrap().status(),
        303
    );
    let (s, v) = verify();
    assert_eq!((s, &v["ok"]), (200, &json!(true)), "{v}");
    let message = v["message"].as_str().unwrap();
    assert!(
        message.contains("Franz Ferdinand <franz@example.com>"),
        "{message}"
    );
}

/// Every way to abuse the OAuth2 callback, against the real flow with the fake Dropbox: forged,
/// replayed, expired and cross-user state, a wrong PKCE verifier, a code issued for another
/// redirect URI, a code used twice. None may connect anyone, and the ones the state already
/// condemns must not even reach Dropbox's token endpoint.
#[test]
fn oauth_abuse_is_never_accepted() {
    const EVIL: &str = "http://127.0.0.1:9/evil-callback";
    let h = host();
    let fake = FakeDropbox::start(Options {
        client_id: Some("wshostTestApp".into()),
        client_secret: Some("test-app-secret".into()),
        redirect_uris: vec![
            format!("{}/index.php?get_action=dropbox_oauth_authorize", h.url),
            EVIL.into(),
        ],
        auto_approve: true,
        ..Options::default()
    });
    create_workspace_with(&h, at_fake(&fake, &[("STATE_TTL", "4")]));
    let (ann, bob, carol) = (user(&h, "ann"), user(&h, "bob"), user(&h, "carol"));
    let (ann_b, bob_b, carol_b) = (browser(&h, "ann"), browser(&h, "bob"), browser(&h, "carol"));
    let param = |url: &str, name: &str| -> String {
        url_of(url)
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let token_calls = || fake.requests("oauth2/token");

    // Carol connects once, legitimately: her callback URL and code are replayed below.
    let carol_back = approve(&authorize_url(&h, &carol));
    let r = carol_b.get(&carol_back).send().unwrap();
    assert_eq!(r.status(), 303, "the legitimate connection works");
    let (s, v) = post(&h, &carol, "get_action=dropbox_oauth_disconnect", vec![]);
    assert_eq!(s, 200, "{v}");
    let carol_code = param(&carol_back, "code");

    let mut attempts: Vec<(&str, u16, String, bool)> = Vec::new();
    // (what, client, query, whether the host must reach the token endpoint: only when the
    // state is valid, so that Dropbox's refusal of the code is what is tested)
    let mut attempt =
        |what: &'static str, client: &Client, query: Vec<(&str, String)>, exchange: bool| {
            let before = token_calls();
            let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (s, location, body) = callback(&h, client, &pairs);
            let exchanged = token_calls() > before;
            let accepted = !matches!(s, 400 | 401 | 403) || !location.is_empty();
            assert_eq!(
                exchanged, exchange,
                "{what}: token endpoint called: {exchanged}, expected {exchange} ({s} {body})"
            );
            attempts.push((what, s, body, accepted));
        };

    // Forged states, each with a real, fresh code.
    let ann_back = approve(&authorize_url(&h, &ann));
    let (ann_code, ann_state) = (param(&ann_back, "code"), param(&ann_back, "state"));
    let mut tampered = ann_state.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for forged in [
        "forged-state-value".to_owned(),
        String::new(),
        tampered,
        format!("{ann_state}{ann_state}"),
        "x".repeat(600),
        ann_state.to_uppercase(),
    ] {
        attempt(
            "forged state",
            &ann_b,
            vec![("code", ann_code.clone()), ("state", forged)],
            false,
        );
    }
    attempt("no state", &ann_b, vec![("code", ann_code.clone())], false);
    // Cross-user: Ann's state and code, brought back by Bob, then by nobody.
    attempt(
        "cross-user state",
        &bob_b,
        vec![("code", ann_code.clone()), ("state", ann_state.clone())],
        false,
    );
    let ann_back2 = approve(&authorize_url(&h, &ann));
    attempt(
        "anonymous callback",
        &Client::new(),
        vec![
            ("code", param(&ann_back2, "code")),
            ("state", param(&ann_back2, "state")),
        ],
        false,
    );
    // Replayed: the callback Carol already completed, and Ann's state that her next prompt
    // replaced (Bob's try above left it alone: only its owner's callback consumes a state).
    attempt(
        "replayed state",
        &carol_b,
        vec![
            ("code", carol_code.clone()),
            ("state", param(&carol_back, "state")),
        ],
        false,
    );
    attempt(
        "replayed state",
        &ann_b,
        vec![("code", ann_code.clone()), ("state", ann_state.clone())],
        false,
    );
    // A denial carries the state too: it consumes it.
    let denied = authorize_url(&h, &ann);
    let denied_state = param(&denied, "state");
    attempt(
        "denied then replayed",
        &ann_b,
        vec![
            ("error", "access_denied".into()),
            ("state", denied_state.clone()),
        ],
        false,
    );
    attempt(
        "denied then replayed",
        &ann_b,
        vec![("code", ann_code.clone()), ("state", denied_state)],
        false,
    );
    // Wrong PKCE verifier: the code of one attempt with the state (and verifier) of another,
    // of the same user and of another user.
    let first = approve(&authorize_url(&h, &ann));
    let second = authorize_url(&h, &ann);
    attempt(
        "wrong PKCE verifier",
        &ann_b,
        vec![
            ("code", param(&first, "code")),
            ("state", param(&second, "state")),
        ],
        true,
    );
    let bobs = authorize_url(&h, &bob);
    let anns = approve(&authorize_url(&h, &ann));
    attempt(
        "code of another user",
        &bob_b,
        vec![
            ("code", param(&anns, "code")),
            ("state", param(&bobs, "state")),
        ],
        true,
    );
    // Mismatched redirect: the authorize request was altered to send the code elsewhere.
    let mut altered = url_of(&authorize_url(&h, &ann));
    let pairs: Vec<(String, String)> = altered
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "redirect_uri" {
                EVIL.into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    altered.query_pairs_mut().clear().extend_pairs(pairs);
    let evil_back = approve(altered.as_str());
    assert!(evil_back.starts_with(EVIL), "{evil_back}");
    attempt(
        "mismatched redirect",
        &ann_b,
        vec![
            ("code", param(&evil_back, "code")),
            ("state", param(&evil_back, "state")),
        ],
        true,
    );
    // Code reuse: Carol's first code, already exchanged, with a fresh state of hers.
    let fresh = authorize_url(&h, &carol);
    attempt(
        "code reuse",
        &carol_b,
        vec![("code", carol_code), ("state", param(&fresh, "state"))],
        true,
    );
    // Expired: a real code and a state past STATE_TTL.
    let late = approve(&authorize_url(&h, &ann));
    std::thread::sleep(Duration::from_millis(4500));
    attempt(
        "expired state",
        &ann_b,
        vec![
            ("code", param(&late, "code")),
            ("state", param(&late, "state")),
        ],
        false,
    );

    // Nobody got connected, and Dropbox issued tokens only for Carol's legitimate connection.
    for client in [&ann, &bob, &carol] {
        must_authorize(&h, client);
    }
    assert_eq!(fake.counters().refresh_tokens_issued, 1);
    let accepted: Vec<_> = attempts.iter().filter(|a| a.3).collect();
    let kinds: std::collections::BTreeSet<&str> = attempts.iter().map(|a| a.0).collect();
    println!(
        "oauth abuse: {} attempts ({} kinds), {} accepted",
        attempts.len(),
        kinds.len(),
        accepted.len()
    );
    assert!(accepted.is_empty(), "accepted: {accepted:?}");
    for (what, status, body, _) in &attempts {
        assert!(
            body.contains("<h1>") || *status == 401,
            "{what}: a clear page, got {status} {body}"
        );
    }
}

// ---- who may change a connection (per-user, shared, service account) ----

/// Creates Dropbox workspace `id` at `fake` with `extra` parameters.
fn create_at(h: &Host, fake: &FakeDropbox, id: &str, extra: &[(&str, &str)]) {
    let mut params = fake.workspace_params();
    for (k, v) in extra {
        params[*k] = json!(v);
    }
    let (s, v) = json_of(
        h.client
            .post(h.api("workspaces"))
            .json(&json!({ "id": id, "label": id, "driver": "access.dropbox", "params": params }))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 201, "create workspace {id}: {v}");
}

fn ls_of(h: &Host, client: &Client, ws: &str) -> (u16, Value) {
    json_of(
        client
            .get(h.action_url(&format!("get_action=ls&ws={ws}&dir=/")))
            .send()
            .unwrap(),
    )
}

/// `POST dropbox_oauth_disconnect` on `ws` as `client` (session cookie and CSRF token).
fn disconnect(h: &Host, client: &Client, ws: &str) -> (u16, Value) {
    json_of(
        client
            .post(h.action_url(&format!("get_action=dropbox_oauth_disconnect&ws={ws}")))
            .send()
            .unwrap(),
    )
}

/// Connects `name` (whose API client is `api`) to `ws` through the fake's approval.
fn connect_to(h: &Host, api: &Client, name: &str, ws: &str) {
    let (s, v) = ls_of(h, api, ws);
    assert_eq!((s, code(&v)), (401, "authorization_required"), "{v}");
    let back = approve(v["error"]["authorize_url"].as_str().unwrap());
    let r = browser(h, name).get(&back).send().unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().unwrap_or_default());
}

/// The pending OAuth states in the host's SQLite store.
fn pending_states(h: &Host) -> i64 {
    use sqlx::Connection;
    let db = h.dir.path().join("data/wshost.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .read_only(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .expect("open the host's database");
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM kv WHERE plugin = 'access.dropbox' AND kv_key LIKE 'state:%'",
        )
        .fetch_one(&mut conn)
        .await
        .expect("count the pending states");
        conn.close().await.unwrap();
        n
    })
}

/// A shared connection (`TOKEN_SCOPE = workspace`) is what every user of the workspace
/// sees: a reader can neither start it, nor complete it, nor disconnect it; the admin can.
#[test]
fn a_shared_connection_is_connected_and_disconnected_only_by_an_admin() {
    let h = host();
    let fake = FakeDropbox::for_host(&h.url);
    create_at(&h, &fake, "shared", &[("TOKEN_SCOPE", "workspace")]);
    let carol = h.add_user("carol", false);
    h.grant("shared", "carol", "r");
    let alice = h.add_user("alice", false);
    h.grant("shared", "alice", "rw");

    // Unconnected: a reader or a writer is told an admin connects it, and gets no prompt.
    for (who, client) in [("carol", &carol), ("alice", &alice)] {
        let (s, v) = ls_of(&h, client, "shared");
        assert_eq!((s, code(&v)), (403, "permission_denied"), "{who}: {v}");
        assert!(v["error"].get("authorize_url").is_none(), "{who}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("an administrator connects it"),
            "{v}"
        );
    }
    assert_eq!(pending_states(&h), 0, "no prompt was started for them");

    // The admin connects it; then everyone sees it.
    connect_to(&h, &h.client, "admin", "shared");
    for client in [&carol, &alice] {
        assert_eq!(ls_of(&h, client, "shared").0, 200);
    }
    // The reader (and the writer) cannot disconnect it: nothing revoked, still connected.
    for (who, client) in [("carol", &carol), ("alice", &alice)] {
        let (s, v) = disconnect(&h, client, "shared");
        assert_eq!((s, code(&v)), (403, "permission_denied"), "{who}: {v}");
    }
    assert_eq!(fake.requests("auth/token/revoke"), 0);
    assert_eq!(ls_of(&h, &carol, "shared").0, 200, "still connected");
    // The admin can.
    let (s, v) = disconnect(&h, &h.client, "shared");
    assert_eq!((s, &v["disconnected"]), (200, &json!(true)), "{v}");
    assert_eq!(fake.requests("auth/token/revoke"), 1);
    assert_eq!(ls_of(&h, &carol, "shared").0, 403, "disconnected for all");
}

/// An authorization started while the workspace was per-user cannot complete once the
/// admin made it shared: the rule is applied when the connection is made, too.
#[test]
fn a_reader_s_pending_authorization_cannot_become_a_shared_connection() {
    let h = host();
    let fake = FakeDropbox::for_host(&h.url);
    create_at(&h, &fake, "flip", &[]);
    let carol = h.add_user("carol", false);
    h.grant("flip", "carol", "r");
    let (s, v) = ls_of(&h, &carol, "flip");
    assert_eq!((s, code(&v)), (401, "authorization_required"), "{v}");
    let back = approve(v["error"]["authorize_url"].as_str().unwrap());

    let mut params = json!({ "CLIENT_ID": "wshostTestApp", "CLIENT_SECRET": "test-app-secret",
        "TOKEN_SCOPE": "workspace" });
    for (k, v) in at_fake(&fake, &[]) {
        params[k] = json!(v);
    }
    let (s, v) = json_of(
        h.client
            .put(h.api("workspaces/flip"))
            .json(&json!({ "label": "flip", "driver": "access.dropbox", "params": params }))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "make it shared: {v}");

    let before = fake.requests("oauth2/token");
    let r = browser(&h, "carol").get(&back).send().unwrap();
    let (s, body) = (r.status().as_u16(), r.text().unwrap_or_default());
    assert_eq!(s, 403, "{body}");
    assert!(body.contains("an administrator connects it"), "{body}");
    assert_eq!(
        fake.requests("oauth2/token"),
        before,
        "no code was exchanged"
    );
    let (s, v) = ls_of(&h, &h.client, "flip");
    assert_eq!(
        (s, code(&v)),
        (401, "authorization_required"),
        "nobody connected: {v}"
    );
}

/// A service account (`REFRESH_TOKEN` set by the admin) serves everyone and is never
/// revoked by a request: not by a reader, not by the admin's disconnect.
#[test]
fn a_service_account_is_never_revoked_by_a_request() {
    let h = host();
    let fake = FakeDropbox::for_host(&h.url);
    let (_, refresh) = fake.issue_tokens();
    create_at(&h, &fake, "svc", &[("REFRESH_TOKEN", &refresh)]);
    let carol = h.add_user("carol", false);
    h.grant("svc", "carol", "r");
    assert_eq!(ls_of(&h, &carol, "svc").0, 200);

    let (s, v) = disconnect(&h, &carol, "svc");
    assert_eq!((s, code(&v)), (403, "permission_denied"), "{v}");
    let (s, v) = disconnect(&h, &h.client, "svc");
    assert_eq!((s, code(&v)), (409, "conflict"), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("REFRESH_TOKEN"),
        "{v}"
    );
    assert_eq!(fake.requests("auth/token/revoke"), 0, "nothing revoked");
    assert_eq!(
        ls_of(&h, &carol, "svc").0,
        200,
        "the service account still works"
    );
}

/// A per-user connection is its user's: a reader connects and disconnects their own, and
/// nobody else's is touched.
#[test]
fn a_per_user_connection_is_its_user_s_to_disconnect() {
    let h = host();
    let fake = FakeDropbox::for_host(&h.url);
    create_at(&h, &fake, "own", &[]);
    let carol = h.add_user("carol", false);
    h.grant("own", "carol", "r");
    let alice = h.add_user("alice", false);
    h.grant("own", "alice", "rw");
    connect_to(&h, &carol, "carol", "own");
    connect_to(&h, &alice, "alice", "own");

    let (s, v) = disconnect(&h, &carol, "own");
    assert_eq!((s, &v["disconnected"]), (200, &json!(true)), "{v}");
    assert_eq!(fake.requests("auth/token/revoke"), 1);
    assert_eq!(ls_of(&h, &carol, "own").0, 401, "carol must connect again");
    assert_eq!(
        ls_of(&h, &alice, "own").0,
        200,
        "alice's connection is hers"
    );
}

/// However often an unconnected workspace is listed, a user has one pending authorization
/// on it: each prompt replaces the previous one.
#[test]
fn repeated_prompts_keep_one_pending_state_per_user_and_workspace() {
    let h = host();
    let fake = FakeDropbox::for_host(&h.url);
    create_at(&h, &fake, "one", &[]);
    create_at(&h, &fake, "two", &[]);
    let ann = h.add_user("ann", false);
    let bob = h.add_user("bob", false);
    for ws in ["one", "two"] {
        h.grant(ws, "ann", "rw");
        h.grant(ws, "bob", "r");
    }
    let mut states = Vec::new();
    for _ in 0..50 {
        let (s, v) = ls_of(&h, &ann, "one");
        assert_eq!(s, 401, "{v}");
        states.push(v["error"]["authorize_url"].as_str().unwrap().to_owned());
    }
    assert_eq!(pending_states(&h), 1, "50 prompts, one pending state");
    ls_of(&h, &ann, "two");
    ls_of(&h, &bob, "one");
    assert_eq!(pending_states(&h), 3, "one per (user, workspace)");
    // Only the newest prompt completes.
    let old = approve(&states[0]);
    assert_eq!(browser(&h, "ann").get(&old).send().unwrap().status(), 400);
    let newest = approve(states.last().unwrap());
    assert_eq!(
        browser(&h, "ann").get(&newest).send().unwrap().status(),
        303
    );
    assert_eq!(ls_of(&h, &ann, "one").0, 200);
}

/// Another user who learns Ann's state (and code) cannot spoil her callback: the host
/// checks whose state it is before consuming it.
#[test]
fn a_callback_by_another_user_does_not_spoil_the_state() {
    let h = host();
    let fake = FakeDropbox::for_host(&h.url);
    create_workspace_with(&h, at_fake(&fake, &[]));
    let ann = user(&h, "ann");
    let _bob = user(&h, "bob");
    let back = approve(&authorize_url(&h, &ann));
    let before = fake.requests("oauth2/token");
    let r = browser(&h, "bob").get(&back).send().unwrap();
    let (s, body) = (r.status().as_u16(), r.text().unwrap_or_default());
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("another user"), "{body}");
    assert_eq!(fake.requests("oauth2/token"), before, "no exchange for bob");
    let r = browser(&h, "ann").get(&back).send().unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().unwrap_or_default());
    assert_eq!(ls(&h, &ann, "/").0, 200, "ann is connected");
}

/// Disconnecting changes state: the host answers 405 (with `Allow: POST`) to a GET before
/// the plugin runs, so a link or a redirect cannot disconnect anyone.
#[test]
fn disconnect_by_get_is_refused_before_the_plugin_runs() {
    let h = host();
    let fake = FakeDropbox::for_host(&h.url);
    create_workspace_with(&h, at_fake(&fake, &[]));
    let ann = user(&h, "ann");
    connect(&h, &ann, "ann");
    for client in [&ann, &browser(&h, "ann")] {
        let r = client
            .get(h.action_url(&format!("get_action=dropbox_oauth_disconnect&ws={WS}")))
            .send()
            .unwrap();
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "POST");
        let v: Value = r.json().unwrap();
        assert_eq!(code(&v), "method_not_allowed", "{v}");
    }
    assert_eq!(fake.requests("auth/token/revoke"), 0);
    assert_eq!(ls(&h, &ann, "/").0, 200, "still connected");
    // A POST from the browser without the CSRF token is refused too.
    let r = browser(&h, "ann")
        .post(h.action_url(&format!("get_action=dropbox_oauth_disconnect&ws={WS}")))
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(ls(&h, &ann, "/").0, 200, "still connected");
}

/// A redirect URL left at its default is the default of every instance, not the URL of the
/// one it was created on (issue 22, trap 3): two instances on one store with different public
/// URLs each send users back to themselves; one set by hand off the public URL is flagged.
#[test]
fn a_default_redirect_url_follows_each_instances_public_url() {
    let db = PgDatabase::create();
    let pg_host = |public_url: &str| {
        Host::start(HostSetup::new(
            format!(
                "{public_url}database = \"{}\"\nsecret_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\npersonal_workspace = false\n[plugins]\nenabled = [\"access.dropbox\"]\n",
                db.url
            ),
            vec![manifest("access.dropbox.toml")],
        ))
    };
    let a = pg_host("");
    let b = pg_host("public_url = \"https://files.example\"\n");
    create_workspace(&a, &[]);
    let (_, v) = json_of(
        a.client
            .get(a.api(&format!("workspaces/{WS}")))
            .send()
            .unwrap(),
    );
    assert_eq!(
        v["params"]["REDIRECT_URL"], "{public_url}/index.php?get_action=dropbox_oauth_authorize",
        "stored as the default, not expanded: {v}"
    );
    let ann = user(&a, "ann");
    let on_b = b.login("ann", "ann-password");
    assert_eq!(
        must_authorize(&a, &ann)["redirect_uri"],
        format!("{}/index.php?get_action=dropbox_oauth_authorize", a.url)
    );
    assert_eq!(
        must_authorize(&b, &on_b)["redirect_uri"],
        "https://files.example/index.php?get_action=dropbox_oauth_authorize"
    );
    let verify = |h: &Host| {
        let (s, v) = json_of(
            h.client
                .post(h.api(&format!("workspaces/{WS}/verify")))
                .send()
                .unwrap(),
        );
        assert_eq!(s, 200, "{v}");
        v["warnings"].clone()
    };
    assert_eq!(verify(&b), json!([]));

    // Set by hand to the old address: flagged by verify on the instance it no longer fits.
    let old = format!("{}/index.php?get_action=dropbox_oauth_authorize", a.url);
    let (s, v) = json_of(
        a.client
            .put(a.api(&format!("workspaces/{WS}")))
            .json(&json!({
                "label": "Dropbox", "driver": "access.dropbox",
                "params": { "CLIENT_ID": "wshostTestApp", "REDIRECT_URL": old },
            }))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(verify(&a), json!([]));
    let warnings = verify(&b);
    let text = warnings[0].as_str().unwrap_or_default();
    assert!(
        text.starts_with(&format!("REDIRECT_URL is {old}"))
            && text.contains("public URL https://files.example"),
        "{warnings}"
    );
}

/// The fake Dropbox guide's `workspace create` command, run as written (dry run): its example
/// values pass the manifest's own rules (issue 22, trap 11: its client id once did not).
#[test]
fn the_fake_dropbox_guides_workspace_command_is_valid_as_written() {
    let h = host();
    let guide = std::fs::read_to_string(root().join("docs/drivers/dropbox-fake.md")).unwrap();
    let start = guide
        .find("wshost workspace create --driver access.dropbox")
        .expect("the guide's workspace command");
    let end = guide[start..]
        .find("\n```")
        .expect("the end of its code block")
        + start;
    let command = guide[start..end].replace("\\\n", " ");
    let path = format!(
        "{}:{}",
        target_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{command} --dry-run --no-verify --config \"$0\""))
        .arg(h.dir.path().join("host.toml"))
        .env("PATH", path)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{command}\n{text}");
    assert!(text.contains("would be created (dry run)"), "{text}");
}
