//! The fake Dropbox on its own: OAuth2 with PKCE, refresh and revoke, the files routes and
//! their error unions, and the faults a test switches on. The official SDK's view of the same
//! server is in `dropbox_fidelity.rs`.

use base64::Engine;
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::redirect::Policy;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wshost_tests::fake_dropbox::{content_hash, FakeDropbox, Fault, Options, RateLimitReason};

const REDIRECT: &str = "http://127.0.0.1:9/cb?get_action=dropbox_oauth_authorize";
const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";

fn options() -> Options {
    Options {
        client_id: Some("app-key".into()),
        client_secret: Some("app-secret".into()),
        redirect_uris: vec![REDIRECT.into()],
        auto_approve: true,
        ..Options::default()
    }
}

fn client() -> Client {
    Client::builder().redirect(Policy::none()).build().unwrap()
}

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn answer(r: RequestBuilder) -> (u16, Value, reqwest::header::HeaderMap) {
    let r = r.send().expect("the fake answers");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body, headers)
}

/// Approves an authorization with PKCE and answers the code from the redirect.
fn authorize(fake: &FakeDropbox, state: &str) -> String {
    let url = format!(
        "{}?response_type=code&client_id=app-key&redirect_uri={}&state={state}&token_access_type=offline&code_challenge={}&code_challenge_method=S256",
        fake.authorize_url(),
        url_encode(REDIRECT),
        challenge(VERIFIER)
    );
    let r = client().get(url).send().unwrap();
    assert_eq!(r.status().as_u16(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let url = url::Url::parse(&location).unwrap();
    assert!(location.starts_with("http://127.0.0.1:9/cb?get_action=dropbox_oauth_authorize&"));
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["state"], state);
    q["code"].clone()
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn exchange(fake: &FakeDropbox, fields: &[(&str, &str)]) -> (u16, Value) {
    let (status, body, headers) = answer(client().post(fake.token_url()).form(fields));
    assert_eq!(headers["content-type"], "application/json");
    (status, body)
}

fn rpc(fake: &FakeDropbox, token: &str, route: &str, arg: Value) -> (u16, Value) {
    let (status, body, _) = answer(
        client()
            .post(format!("{}/2/{route}", fake.url))
            .bearer_auth(token)
            .header("Content-Type", "application/json")
            .body(arg.to_string()),
    );
    (status, body)
}

fn upload(fake: &FakeDropbox, token: &str, route: &str, arg: Value, bytes: &[u8]) -> (u16, Value) {
    let (status, body, _) = answer(
        client()
            .post(format!("{}/2/{route}", fake.url))
            .bearer_auth(token)
            .header("Content-Type", "application/octet-stream")
            .header("Dropbox-API-Arg", arg.to_string())
            .body(bytes.to_vec()),
    );
    (status, body)
}

fn ready() -> (FakeDropbox, String) {
    let fake = FakeDropbox::start(options());
    let (access, _) = fake.issue_tokens();
    (fake, access)
}

#[test]
fn oauth_code_with_pkce_then_refresh_then_revoke() {
    let fake = FakeDropbox::start(options());
    let code = authorize(&fake, "s1");
    let (status, tokens) = exchange(
        &fake,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "app-key"),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["access_token"].as_str().unwrap().starts_with("sl."));
    assert_eq!(tokens["expires_in"], 14_400);
    assert_eq!(tokens["token_type"], "bearer");
    assert!(tokens["scope"]
        .as_str()
        .unwrap()
        .contains("files.content.read"));
    assert_eq!(tokens["account_id"].as_str().unwrap().len(), 40);
    assert!(tokens["uid"].is_string());
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, account) = rpc(&fake, &access, "users/get_current_account", Value::Null);
    assert_eq!(status, 200);
    assert_eq!(account["account_id"], tokens["account_id"]);

    // Refresh with the client credentials as HTTP Basic: no new refresh token.
    let (status, body, _) = answer(
        client()
            .post(format!("{}/1/oauth2/token", fake.url))
            .basic_auth("app-key", Some("app-secret"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none());
    let fresh = body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(fresh, access);
    assert_eq!(
        rpc(&fake, &fresh, "users/get_current_account", Value::Null).0,
        200
    );
    assert_eq!(fake.counters().refreshes, 1);
    assert_eq!(fake.counters().access_tokens_issued, 2);

    // Revoke kills the access tokens of the grant and its refresh token.
    assert_eq!(
        rpc(&fake, &fresh, "auth/token/revoke", Value::Null),
        (200, Value::Null)
    );
    let (status, body) = rpc(&fake, &access, "users/get_current_account", Value::Null);
    assert_eq!(
        (status, &body["error"][".tag"]),
        (401, &json!("invalid_access_token"))
    );
    let (status, body) = exchange(
        &fake,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "app-key"),
            ("client_secret", "app-secret"),
        ],
    );
    assert_eq!((status, &body["error"]), (400, &json!("invalid_grant")));
}

#[test]
fn codes_are_single_use_and_bound_to_verifier_redirect_and_client() {
    let fake = FakeDropbox::start(options());
    let base = |code: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("client_id", "app-key".to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", VERIFIER.to_owned()),
        ]
    };
    type Tweak = Box<dyn Fn(&mut Vec<(&'static str, String)>)>;
    let cases: Vec<(&str, Tweak, &str)> = vec![
        (
            "wrong verifier",
            Box::new(|f| f[4].1 = format!("{VERIFIER}x")),
            "invalid_grant",
        ),
        (
            "no verifier",
            Box::new(|f| {
                f.remove(4);
                f.push(("client_secret", "app-secret".into()));
            }),
            "invalid_grant",
        ),
        (
            "other redirect",
            Box::new(|f| f[3].1 = "http://127.0.0.1:9/other".into()),
            "invalid_grant",
        ),
        (
            "unknown client",
            Box::new(|f| f[2].1 = "other-app".into()),
            "invalid_client",
        ),
        (
            "unknown code",
            Box::new(|f| f[1].1 = "nope".into()),
            "invalid_grant",
        ),
    ];
    for (case, tweak, error) in cases {
        let code = authorize(&fake, case);
        let mut fields = base(&code);
        tweak(&mut fields);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = exchange(&fake, &fields);
        // invalid_grant has an error_description; Dropbox writes invalid_client's into `error`.
        let tag = body["error"].as_str().unwrap_or("").split(':').next();
        assert_eq!((status, tag), (400, Some(error)), "{case}: {body}");
        if error == "invalid_grant" {
            assert!(body["error_description"].is_string(), "{case}");
        }
    }
    // A good exchange works once; the same code again is invalid_grant.
    let code = authorize(&fake, "reuse");
    let fields = base(&code);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(exchange(&fake, &fields).0, 200);
    let (status, body) = exchange(&fake, &fields);
    assert_eq!((status, &body["error"]), (400, &json!("invalid_grant")));
}

#[test]
fn the_authorize_page_checks_the_client_and_the_redirect_and_can_deny() {
    let fake = FakeDropbox::start(Options {
        auto_approve: false,
        ..options()
    });
    let page = |query: &str| {
        let r = client()
            .get(format!("{}?{query}", fake.authorize_url()))
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let redirect = url_encode(REDIRECT);
    let (status, html) = page(&format!(
        "response_type=code&client_id=app-key&redirect_uri={redirect}&state=s"
    ));
    assert_eq!(status, 200);
    assert!(html.contains("id=\"approve\"") && html.contains("id=\"deny\""));
    for (query, what) in [
        (
            format!("response_type=code&client_id=other&redirect_uri={redirect}"),
            "client_id",
        ),
        (
            "response_type=code&client_id=app-key&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Felse"
                .to_owned(),
            "redirect_uri",
        ),
        (
            format!("response_type=token&client_id=app-key&redirect_uri={redirect}"),
            "response_type",
        ),
    ] {
        let (status, html) = page(&query);
        assert_eq!(status, 400, "{what}");
        assert!(html.contains(what), "{what}: {html}");
    }
    let r = client()
        .post(fake.authorize_url())
        .form(&[
            ("response_type", "code"),
            ("client_id", "app-key"),
            ("redirect_uri", REDIRECT),
            ("state", "st"),
            ("decision", "deny"),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 302);
    let location = r.headers()["location"].to_str().unwrap();
    assert!(
        location.contains("error=access_denied&error_description="),
        "{location}"
    );
    assert!(location.ends_with("&state=st"), "{location}");
}

#[test]
fn expired_and_unknown_tokens_answer_401_as_dropbox_does() {
    let (fake, access) = ready();
    fake.inject(Fault::ExpireAccessTokens);
    let (status, body, headers) = answer(
        client()
            .post(format!("{}/2/users/get_current_account", fake.url))
            .bearer_auth(&access),
    );
    assert_eq!(status, 401);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body["error"], json!({".tag": "expired_access_token"}));
    assert!(body["error_summary"]
        .as_str()
        .unwrap()
        .starts_with("expired_access_token/"));
    let (status, body) = rpc(
        &fake,
        "sl.unknown",
        "users/get_current_account",
        Value::Null,
    );
    assert_eq!(
        (status, &body["error"][".tag"]),
        (401, &json!("invalid_access_token"))
    );
}

#[test]
fn listing_pages_follow_the_limit_and_cursors() {
    let (fake, token) = ready();
    for i in 0..5 {
        fake.put_file(&format!("/Dir/f{i}.txt"), b"x");
    }
    let (status, page) = rpc(
        &fake,
        &token,
        "files/list_folder",
        json!({"path": "/dir", "limit": 2}),
    );
    assert_eq!(status, 200, "{page}");
    let mut names: Vec<String> = Vec::new();
    let mut page = page;
    let mut pages = 1;
    loop {
        for e in page["entries"].as_array().unwrap() {
            assert_eq!(e[".tag"], "file");
            names.push(e["name"].as_str().unwrap().to_owned());
        }
        if page["has_more"] == json!(false) {
            break;
        }
        let cursor = page["cursor"].clone();
        page = rpc(
            &fake,
            &token,
            "files/list_folder/continue",
            json!({ "cursor": cursor }),
        )
        .1;
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["f0.txt", "f1.txt", "f2.txt", "f3.txt", "f4.txt"]);
    let (status, body) = rpc(&fake, &token, "files/list_folder", json!({"path": ""}));
    assert_eq!(status, 200);
    assert_eq!(body["has_more"], false);
    assert_eq!(
        body["entries"][0],
        json!({".tag": "folder", "name": "Dir", "path_lower": "/dir", "path_display": "/Dir", "id": body["entries"][0]["id"]})
    );
    let (status, body) = rpc(
        &fake,
        &token,
        "files/list_folder/continue",
        json!({"cursor": "forged"}),
    );
    assert_eq!((status, &body["error"]), (409, &json!({".tag": "reset"})));
    let (status, body) = rpc(&fake, &token, "files/list_folder", json!({"path": "/"}));
    assert_eq!(status, 400);
    assert!(body.as_str().unwrap().starts_with("Error in call to API function \"files/list_folder\": request body: path: Specify the root folder as an empty string"));
}

#[test]
fn page_size_caps_the_limit() {
    let fake = FakeDropbox::start(Options {
        page_size: 3,
        ..options()
    });
    let (token, _) = fake.issue_tokens();
    for i in 0..4 {
        fake.put_file(&format!("/f{i}"), b"");
    }
    for arg in [json!({"path": ""}), json!({"path": "", "limit": 2000})] {
        let (status, page) = rpc(&fake, &token, "files/list_folder", arg);
        assert_eq!(status, 200);
        assert_eq!(page["entries"].as_array().unwrap().len(), 3);
        assert_eq!(page["has_more"], true);
    }
}

#[test]
fn upload_sessions_check_offsets() {
    let (fake, token) = ready();
    let (status, start) = upload(
        &fake,
        &token,
        "files/upload_session/start",
        json!({"close": false}),
        b"abc",
    );
    assert_eq!(status, 200);
    let id = start["session_id"].as_str().unwrap();
    let append = |offset: u64, bytes: &[u8]| {
        upload(
            &fake,
            &token,
            "files/upload_session/append_v2",
            json!({"cursor": {"session_id": id, "offset": offset}, "close": false}),
            bytes,
        )
    };
    let (status, body) = append(2, b"def");
    assert_eq!(status, 409);
    assert_eq!(
        body["error"],
        json!({".tag": "incorrect_offset", "correct_offset": 3})
    );
    assert!(body["error_summary"]
        .as_str()
        .unwrap()
        .starts_with("incorrect_offset/"));
    assert_eq!(append(3, b"def"), (200, Value::Null));
    // The forced fault keeps the bytes and answers as when a first answer was lost.
    fake.inject(Fault::IncorrectOffsetOnNextAppend);
    let (status, body) = append(6, b"ghi");
    assert_eq!((status, &body["error"]["correct_offset"]), (409, &json!(9)));
    let (status, body) = upload(
        &fake,
        &token,
        "files/upload_session/finish",
        json!({"cursor": {"session_id": id, "offset": 5}, "commit": {"path": "/big.bin"}}),
        b"",
    );
    assert_eq!(status, 409);
    assert_eq!(
        body["error"],
        json!({".tag": "lookup_failed", "lookup_failed": {".tag": "incorrect_offset", "correct_offset": 9}})
    );
    let (status, meta) = upload(
        &fake,
        &token,
        "files/upload_session/finish",
        json!({"cursor": {"session_id": id, "offset": 9}, "commit": {"path": "/Big.bin", "mode": "add"}}),
        b"j",
    );
    assert_eq!(status, 200, "{meta}");
    assert_eq!(meta["size"], 10);
    assert!(meta.get(".tag").is_none());
    assert_eq!(meta["content_hash"], content_hash(b"abcdefghij"));
    assert_eq!(fake.file("/big.bin").unwrap(), b"abcdefghij");
}

#[test]
fn content_hash_matches_dropbox_vectors() {
    let (fake, token) = ready();
    let (status, meta) = upload(
        &fake,
        &token,
        "files/upload",
        json!({"path": "/hw.txt"}),
        b"hello world",
    );
    assert_eq!(status, 200);
    assert_eq!(
        meta["content_hash"],
        "bc62d4b80d9e36da29c16c5d4d9f11731f36052c72401a76c23c0fb5a9b74423"
    );
    let zeros = vec![0u8; 4 * 1024 * 1024 + 1];
    assert_eq!(
        content_hash(&zeros[..4 * 1024 * 1024]),
        "c7e946d101855255d919ef0c70718633adf77d3dfb3adeeecf5d0cb4e951be58"
    );
    assert_eq!(
        content_hash(&zeros),
        "14a4d47f23a30177885d9820122f17d2d3a55fe63f7f5c27b95f689e0b2accd6"
    );
    let (status, body) = upload(
        &fake,
        &token,
        "files/upload",
        json!({"path": "/bad.txt", "content_hash": content_hash(b"other")}),
        b"hello",
    );
    assert_eq!(
        (status, &body["error"]),
        (409, &json!({".tag": "content_hash_mismatch"}))
    );
}

#[test]
fn paths_are_case_insensitive_and_case_preserving() {
    let (fake, token) = ready();
    fake.put_file("/Docs/Report.TXT", b"0123456789");
    let (status, meta) = rpc(
        &fake,
        &token,
        "files/get_metadata",
        json!({"path": "/DOCS/report.txt"}),
    );
    assert_eq!(status, 200);
    assert_eq!(meta[".tag"], "file");
    assert_eq!(meta["path_display"], "/Docs/Report.TXT");
    assert_eq!(meta["path_lower"], "/docs/report.txt");
    assert!(meta["id"].as_str().unwrap().starts_with("id:"));
    assert!(meta["rev"].as_str().unwrap().len() >= 9);
    let modified = meta["server_modified"].as_str().unwrap();
    assert_eq!(
        (modified.len(), &modified[10..11], &modified[19..]),
        (20, "T", "Z")
    );
    let (status, meta_by_id) = rpc(
        &fake,
        &token,
        "files/get_metadata",
        json!({"path": meta["id"]}),
    );
    assert_eq!((status, &meta_by_id), (200, &meta));
    let (status, body) = rpc(
        &fake,
        &token,
        "files/create_folder_v2",
        json!({"path": "/docs"}),
    );
    assert_eq!(
        (status, &body["error"]),
        (
            409,
            &json!({".tag": "path", "path": {".tag": "conflict", "conflict": {".tag": "folder"}}})
        )
    );
    // A Range download of the file, under another case.
    let (status, body, headers) = answer(
        client()
            .post(format!("{}/2/files/download", fake.url))
            .bearer_auth(&token)
            .header("Dropbox-API-Arg", r#"{"path": "/docs/REPORT.txt"}"#)
            .header("Range", "bytes=2-4"),
    );
    assert_eq!((status, body), (206, json!(234)));
    assert_eq!(headers["content-range"], "bytes 2-4/10");
    let result: Value =
        serde_json::from_str(headers["dropbox-api-result"].to_str().unwrap()).unwrap();
    assert_eq!(result["name"], "Report.TXT");
}

#[test]
fn route_errors_carry_the_unions_of_their_routes() {
    let (fake, token) = ready();
    fake.put_file("/a.txt", b"a");
    fake.create_folder("/folder");
    let not_found = json!({".tag": "not_found"});
    let cases = [
        (
            "files/get_metadata",
            json!({"path": "/missing"}),
            json!({".tag": "path", "path": not_found}),
        ),
        (
            "files/list_folder",
            json!({"path": "/a.txt"}),
            json!({".tag": "path", "path": {".tag": "not_folder"}}),
        ),
        (
            "files/delete_v2",
            json!({"path": "/missing"}),
            json!({".tag": "path_lookup", "path_lookup": not_found}),
        ),
        (
            "files/move_v2",
            json!({"from_path": "/missing", "to_path": "/b"}),
            json!({".tag": "from_lookup", "from_lookup": not_found}),
        ),
        (
            "files/copy_v2",
            json!({"from_path": "/a.txt", "to_path": "/folder"}),
            json!({".tag": "to", "to": {".tag": "conflict", "conflict": {".tag": "folder"}}}),
        ),
        (
            "files/move_v2",
            json!({"from_path": "/folder", "to_path": "/folder/in"}),
            json!({".tag": "cant_move_folder_into_itself"}),
        ),
        (
            "files/create_folder_v2",
            json!({"path": "/a.txt/sub"}),
            json!({".tag": "path", "path": {".tag": "conflict", "conflict": {".tag": "file_ancestor"}}}),
        ),
        (
            "files/create_folder_v2",
            json!({"path": "/x/Thumbs.db"}),
            json!({".tag": "path", "path": {".tag": "disallowed_name"}}),
        ),
        (
            "files/get_metadata",
            json!({"path": "/trailing/"}),
            json!({".tag": "path", "path": {".tag": "malformed_path"}}),
        ),
    ];
    for (route, arg, error) in cases {
        let (status, body) = rpc(&fake, &token, route, arg.clone());
        assert_eq!(
            (status, &body["error"]),
            (409, &error),
            "{route} {arg}: {body}"
        );
    }
    let (status, body) = upload(
        &fake,
        &token,
        "files/upload",
        json!({"path": "/A.TXT", "mode": "add"}),
        b"other",
    );
    assert_eq!(status, 409);
    assert_eq!(
        body["error"]["reason"],
        json!({".tag": "conflict", "conflict": {".tag": "file"}})
    );
    assert_eq!(
        body["error_summary"].as_str().unwrap().split("/.").next(),
        Some("path/conflict/file")
    );
    let (status, meta) = upload(
        &fake,
        &token,
        "files/upload",
        json!({"path": "/A.TXT", "mode": {".tag": "overwrite"}}),
        b"other",
    );
    assert_eq!((status, &meta["path_display"]), (200, &json!("/a.txt")));
    let (status, moved) = rpc(
        &fake,
        &token,
        "files/move_v2",
        json!({"from_path": "/a.txt", "to_path": "/folder/B.txt"}),
    );
    assert_eq!((status, &moved["metadata"][".tag"]), (200, &json!("file")));
    assert_eq!(moved["metadata"]["id"], meta["id"]);
    assert_eq!(fake.file("/folder/b.txt").unwrap(), b"other");
    let (status, body) = rpc(&fake, &token, "files/get_metadata", json!({"path": ""}));
    assert_eq!(status, 400, "{body}");
}

#[test]
fn injected_429_and_5xx_answer_as_dropbox_then_stop() {
    let (fake, token) = ready();
    fake.inject(Fault::RateLimit {
        times: 2,
        retry_after: 3,
        reason: RateLimitReason::TooManyWriteOperations,
        route: Some("files/create_folder_v2".into()),
    });
    for _ in 0..2 {
        let (status, body, headers) = answer(
            client()
                .post(format!("{}/2/files/create_folder_v2", fake.url))
                .bearer_auth(&token)
                .header("Content-Type", "application/json")
                .body(r#"{"path": "/d"}"#),
        );
        assert_eq!(status, 429);
        assert_eq!(headers["retry-after"], "3");
        assert_eq!(
            body["error"],
            json!({"reason": {".tag": "too_many_write_operations"}, "retry_after": 3})
        );
    }
    assert_eq!(
        rpc(&fake, &token, "users/get_current_account", Value::Null).0,
        200
    );
    assert_eq!(
        rpc(
            &fake,
            &token,
            "files/create_folder_v2",
            json!({"path": "/d"})
        )
        .0,
        200
    );
    assert_eq!(fake.requests("files/create_folder_v2"), 3);
    // The control route of the binary does the same.
    let r = client()
        .post(format!("{}/__fake/faults", fake.url))
        .json(&json!({"fault": "server_error", "times": 1, "status": 503}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(
        rpc(&fake, &token, "users/get_current_account", Value::Null).0,
        503
    );
    assert_eq!(
        rpc(&fake, &token, "users/get_current_account", Value::Null).0,
        200
    );
    assert_eq!(fake.counters().faults_served, 3);
}

#[test]
fn decide_acts_as_the_user_on_the_approval_page() {
    let fake = FakeDropbox::start(Options {
        auto_approve: false,
        ..options()
    });
    let url = format!(
        "https://www.dropbox.com/oauth2/authorize?response_type=code&client_id=app-key&redirect_uri={}&state=xyz&token_access_type=offline&code_challenge={}&code_challenge_method=S256",
        url_encode(REDIRECT),
        challenge(VERIFIER)
    );
    let back = fake.decide(&url, true).unwrap();
    let q: std::collections::HashMap<_, _> = url::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(q["state"], "xyz");
    let (status, tokens) = exchange(
        &fake,
        &[
            ("grant_type", "authorization_code"),
            ("code", &q["code"]),
            ("client_id", "app-key"),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_eq!(status, 200, "{tokens}");
    let denied = fake.decide(&url, false).unwrap();
    assert!(denied.contains("error=access_denied") && denied.ends_with("state=xyz"));
    let wrong = url.replace("client_id=app-key", "client_id=other");
    assert!(fake.decide(&wrong, true).unwrap_err().contains("client_id"));
}

#[test]
fn the_binary_serves_the_same_fake() {
    let port = wshost_tests::free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fake-dropbox"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--auto-approve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start fake-dropbox");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let counters = loop {
        match client().get(format!("{url}/__fake/counters")).send() {
            Ok(r) => break r.json::<Value>().unwrap(),
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50))
            }
            Err(e) => panic!("fake-dropbox does not answer: {e}"),
        }
    };
    let authorize = format!("{url}/oauth2/authorize?response_type=code&client_id=any&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&state=s");
    let r = client().get(authorize).send().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(counters["access_tokens_issued"], 0);
    assert_eq!(r.status().as_u16(), 302);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("http://localhost/cb?code="));
}

#[test]
fn non_ascii_arguments_must_be_escaped_and_results_are() {
    let (fake, token) = ready();
    fake.put_file("/Été ☃.txt", b"x");
    let send = |arg: &[u8]| {
        let r = client()
            .post(format!("{}/2/files/download", fake.url))
            .bearer_auth(&token)
            .header(
                "Dropbox-API-Arg",
                reqwest::header::HeaderValue::from_bytes(arg).unwrap(),
            )
            .send()
            .unwrap();
        let result = r.headers().get("dropbox-api-result").cloned();
        (r.status().as_u16(), result, r.text().unwrap())
    };
    let escaped = wshost_tests::fake_dropbox::header_safe_json(&json!({"path": "/été ☃.TXT"}));
    assert_eq!(escaped, r#"{"path":"/\u00e9t\u00e9 \u2603.TXT"}"#);
    let (status, result, body) = send(escaped.as_bytes());
    assert_eq!((status, body.as_str()), (200, "x"));
    let result = result.unwrap();
    assert!(
        result
            .to_str()
            .unwrap()
            .contains(r"\u00c9t\u00e9 \u2603.txt"),
        "{result:?}"
    );
    let (status, _, body) = send(r#"{"path": "/Été ☃.txt"}"#.as_bytes());
    assert_eq!(
        status, 400,
        "raw UTF-8 in Dropbox-API-Arg is refused: {body}"
    );
    // Characters outside the BMP are refused as a malformed path (observed).
    let (status, _, body) = send(br#"{"path": "/\ud83d\ude00.txt"}"#);
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("malformed_path"), "{body}");
}
