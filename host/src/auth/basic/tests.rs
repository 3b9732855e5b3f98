//! The Authorization header's parsing, the transport rule, the challenge, and
//! `resolve_client` on a real store (SQLite) with the real throttle.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{header, Request, StatusCode};
use base64::Engine as _;

use super::*;
use crate::app::boot::{boot, Open, Plugins};
use crate::config::{Config, Settings};

fn basic(text: &[u8]) -> HeaderValue {
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    HeaderValue::try_from(format!("Basic {encoded}")).unwrap()
}

fn user_and_password(c: Credentials<'_>) -> (String, String) {
    match c {
        Credentials::Basic { user, password } => (user, password),
        other => panic!("expected Basic credentials, got {other:?}"),
    }
}

#[test]
fn basic_credentials_are_parsed() {
    let (user, password) = user_and_password(parse(&basic(b"ann:wsh_secret")).unwrap());
    assert_eq!((user.as_str(), password.as_str()), ("ann", "wsh_secret"));
    // The first colon separates: passwords may hold colons.
    let (_, password) = user_and_password(parse(&basic(b"ann:a:b:")).unwrap());
    assert_eq!(password, "a:b:");
    // Scheme in any case, padding optional, blanks around.
    let (user, _) = user_and_password(parse(&HeaderValue::from_static("bAsIc  YW5uOng ")).unwrap());
    assert_eq!(user, "ann");
    let (_, password) = user_and_password(parse(&basic(b"ann:")).unwrap());
    assert_eq!(
        password, "",
        "an empty password is a wrong one, not a malformed header"
    );
}

#[test]
fn malformed_basic_credentials_are_refused_with_a_reason() {
    let bad = |v: HeaderValue| parse(&v).unwrap_err();
    assert_eq!(
        bad(HeaderValue::from_static("Basic %%%")),
        HeaderError::Base64
    );
    assert_eq!(bad(HeaderValue::from_static("Basic ")), HeaderError::Scheme);
    assert_eq!(bad(basic(b"no-colon")), HeaderError::NoColon);
    assert_eq!(bad(basic(b":password")), HeaderError::EmptyUser);
    assert_eq!(bad(basic(b"ann:\xff\xfe")), HeaderError::Utf8);
    assert_eq!(bad(basic(b"\xc3(:x")), HeaderError::Utf8);
    assert_eq!(
        bad(HeaderValue::from_static("Digest x=1")),
        HeaderError::Scheme
    );
    assert_eq!(bad(HeaderValue::from_static("Bearer")), HeaderError::Scheme);
    assert_eq!(
        bad(HeaderValue::from_bytes(b"Basic \xe9").unwrap()),
        HeaderError::Scheme
    );
}

#[test]
fn refusals_never_quote_the_header() {
    let secret = "hunter2-secret";
    for e in [
        HeaderError::Scheme,
        HeaderError::Base64,
        HeaderError::Utf8,
        HeaderError::NoColon,
        HeaderError::EmptyUser,
    ] {
        assert!(!e.message().contains(secret));
    }
    let shown = format!(
        "{:?}",
        parse(&basic(format!("ann:{secret}").as_bytes())).unwrap()
    );
    assert_eq!(shown, "Basic(ann)");
}

#[test]
fn bearer_tokens_are_read_too() {
    assert_eq!(
        parse(&HeaderValue::from_static("Bearer wsh_x")).unwrap(),
        Credentials::Bearer("wsh_x")
    );
    assert_eq!(
        parse(&HeaderValue::from_static("bearer  wsh_x ")).unwrap(),
        Credentials::Bearer("wsh_x")
    );
}

#[test]
fn basic_needs_https_a_loopback_peer_or_the_operators_leave() {
    let peer = |s: &str| Some(s.parse::<SocketAddr>().unwrap());
    let http = "http://files.example.com";
    assert!(!basic_allowed(http, false, peer("192.0.2.7:5000")));
    assert!(
        !basic_allowed(http, false, None),
        "no known peer is not loopback"
    );
    assert!(!basic_allowed(http, false, peer("[2001:db8::1]:5000")));
    assert!(basic_allowed(http, false, peer("127.0.0.1:5000")));
    assert!(basic_allowed(http, false, peer("127.8.9.10:5000")));
    assert!(basic_allowed(http, false, peer("[::1]:5000")));
    assert!(basic_allowed(http, false, peer("[::ffff:127.0.0.1]:5000")));
    assert!(basic_allowed(http, true, peer("192.0.2.7:5000")));
    assert!(basic_allowed(
        "https://files.example.com",
        false,
        peer("192.0.2.7:5000")
    ));
    assert!(basic_allowed("HTTPS://files.example.com", false, None));
    assert!(!basic_allowed("http://https.example.com", false, None));
}

#[test]
fn the_challenge_quotes_the_realm() {
    assert_eq!(
        basic_challenge("wshost"),
        "Basic realm=\"wshost\", charset=\"UTF-8\""
    );
    assert_eq!(
        basic_challenge("ACME \"files\" \\ share"),
        "Basic realm=\"ACME \\\"files\\\" \\\\ share\", charset=\"UTF-8\""
    );
    assert_eq!(
        basic_challenge("a\r\nSet-Cookie: x\u{e9}"),
        "Basic realm=\"aSet-Cookie: x\", charset=\"UTF-8\""
    );
}

/// A booted host state on a SQLite store in a temporary folder, without plugins or
/// workspaces, with `extra` appended to its host.toml.
async fn booted(extra: &str) -> (Shared, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let path = dir.path().join("host.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"data\"\nplugin_dirs = [\"empty\"]\nmanifest_dirs = [\"empty\"]\n\
             workspaces = []\n{extra}"
        ),
    )
    .unwrap();
    let config = Config::load(&Settings {
        config: Some(path),
        ..Settings::default()
    })
    .unwrap();
    let state = Arc::new(boot(config, Plugins::OnDemand, Open::Create).await.unwrap());
    (state, dir)
}

/// The parts of a request with these headers, from `peer`.
fn request(headers: &[(header::HeaderName, HeaderValue)], peer: Option<&str>) -> Parts {
    let mut builder = Request::builder().uri("/dav/");
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    let mut parts = builder.body(()).unwrap().into_parts().0;
    if let Some(peer) = peer {
        let addr: SocketAddr = peer.parse().unwrap();
        parts.extensions.insert(ConnectInfo(addr));
    }
    parts
}

fn basic_of(user: &str, password: &str) -> [(header::HeaderName, HeaderValue); 1] {
    [(
        header::AUTHORIZATION,
        basic(format!("{user}:{password}").as_bytes()),
    )]
}

const LOCAL: Option<&str> = Some("127.0.0.1:40000");
const REMOTE: Option<&str> = Some("192.0.2.7:40000");

async fn name_of(state: &Shared, parts: &Parts) -> Result<Option<String>, AppError> {
    resolve_client(state, parts)
        .await
        .map(|c| c.name().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_password_of_the_user_logs_in_and_nothing_else_does() {
    let (state, _dir) = booted("").await;
    state
        .store
        .create_user("ann", "ann-login-password", false)
        .await
        .unwrap();
    state
        .store
        .create_user("bob", "bob-login-password", false)
        .await
        .unwrap();
    let ann = state
        .store
        .create_token("ann", "laptop")
        .await
        .unwrap()
        .token;
    let bob = state
        .store
        .create_token("bob", "phone")
        .await
        .unwrap()
        .token;

    assert_eq!(name_of(&state, &request(&[], LOCAL)).await.unwrap(), None);
    let caller = resolve_client(&state, &request(&basic_of("ann", &ann), LOCAL))
        .await
        .unwrap();
    assert_eq!(caller.name(), Some("ann"));
    assert!(
        matches!(caller.via, Via::Token),
        "no CSRF token is asked of it"
    );
    let bearer = [(
        header::AUTHORIZATION,
        HeaderValue::try_from(format!("Bearer {bob}")).unwrap(),
    )];
    assert_eq!(
        name_of(&state, &request(&bearer, REMOTE))
            .await
            .unwrap()
            .as_deref(),
        Some("bob"),
        "Bearer as on the other doors, over any transport"
    );

    // Another user's token, a wrong one, the login password, an unknown user: one answer.
    let refusals = [
        basic_of("ann", &bob),
        basic_of("ann", "wsh_not-a-token"),
        basic_of("ann", "ann-login-password"),
        basic_of("nobody", &ann),
        basic_of("bad name!", &ann),
    ];
    for headers in &refusals {
        let e = name_of(&state, &request(headers, LOCAL)).await.unwrap_err();
        assert!(matches!(e, AppError::InvalidCredentials(WRONG)), "{e:?}");
        assert_eq!(e.status(), StatusCode::UNAUTHORIZED);
        assert!(!e.message().contains(&bob) && !e.message().contains("ann-login"));
    }
    let junk = [(header::AUTHORIZATION, HeaderValue::from_static("Basic !!"))];
    let e = name_of(&state, &request(&junk, LOCAL)).await.unwrap_err();
    assert_eq!(e.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(e.message(), HeaderError::Base64.message());
    let bad_bearer = [(
        header::AUTHORIZATION,
        HeaderValue::from_static("Bearer wsh_x"),
    )];
    let e = name_of(&state, &request(&bad_bearer, LOCAL))
        .await
        .unwrap_err();
    assert_eq!(e.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cookie_never_authenticates_a_client() {
    let (state, _dir) = booted("").await;
    state
        .store
        .create_user("ann", "ann-login-password", false)
        .await
        .unwrap();
    let session = state
        .store
        .create_session("ann", std::time::Duration::from_secs(600))
        .await
        .unwrap();
    let cookie = HeaderValue::try_from(format!(
        "{}={}",
        super::super::SESSION_COOKIE,
        session.token
    ))
    .unwrap();
    let parts = request(&[(header::COOKIE, cookie.clone())], LOCAL);
    // The same cookie is a logged-in caller on the other doors ...
    let other_doors = Caller::resolve(&state, &parts.headers).await.unwrap();
    assert_eq!(other_doors.name(), Some("ann"));
    // ... and nobody on the WebDAV door.
    assert_eq!(name_of(&state, &parts).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_over_plain_http_from_elsewhere_is_refused_unless_allowed() {
    let (state, _dir) = booted("").await;
    state
        .store
        .create_user("ann", "ann-login-password", false)
        .await
        .unwrap();
    let ann = state
        .store
        .create_token("ann", "laptop")
        .await
        .unwrap()
        .token;
    for peer in [REMOTE, None] {
        let e = name_of(&state, &request(&basic_of("ann", &ann), peer))
            .await
            .unwrap_err();
        assert!(matches!(e, AppError::BasicOverHttp), "{e:?}");
        assert_eq!(e.status(), StatusCode::FORBIDDEN);
        assert!(
            e.message().contains("allow_basic_over_http"),
            "{}",
            e.message()
        );
    }
    // Refused before the credentials are looked at: wrong ones do not count as failures.
    for _ in 0..10 {
        let e = name_of(&state, &request(&basic_of("ann", "wrong"), REMOTE)).await;
        assert!(matches!(e, Err(AppError::BasicOverHttp)));
    }
    assert_eq!(
        state.login_throttle.check("ann").await.unwrap(),
        crate::auth::Standing::Clean
    );

    let (allowed, _dir2) = booted("[dav]\nallow_basic_over_http = true\n").await;
    allowed
        .store
        .create_user("ann", "ann-login-password", false)
        .await
        .unwrap();
    let token = allowed
        .store
        .create_token("ann", "laptop")
        .await
        .unwrap()
        .token;
    let name = name_of(&allowed, &request(&basic_of("ann", &token), REMOTE)).await;
    assert_eq!(name.unwrap().as_deref(), Some("ann"));

    let (https, _dir3) = booted("public_url = \"https://files.example.com\"\n").await;
    https
        .store
        .create_user("ann", "ann-login-password", false)
        .await
        .unwrap();
    let token = https
        .store
        .create_token("ann", "laptop")
        .await
        .unwrap()
        .token;
    let name = name_of(&https, &request(&basic_of("ann", &token), REMOTE)).await;
    assert_eq!(name.unwrap().as_deref(), Some("ann"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_throttled_per_user_name_and_a_success_resets_them() {
    let (state, _dir) = booted("[limits]\nlogin_failures = 3\n").await;
    state
        .store
        .create_user("ann", "ann-login-password", false)
        .await
        .unwrap();
    state
        .store
        .create_user("bob", "bob-login-password", false)
        .await
        .unwrap();
    let ann = state
        .store
        .create_token("ann", "laptop")
        .await
        .unwrap()
        .token;
    let bob = state
        .store
        .create_token("bob", "phone")
        .await
        .unwrap()
        .token;
    let wrong = request(&basic_of("ann", "wsh_wrong"), LOCAL);
    let right = request(&basic_of("ann", &ann), LOCAL);

    // Two failures, then a success: the count starts again.
    for _ in 0..2 {
        assert!(name_of(&state, &wrong).await.is_err());
    }
    assert!(name_of(&state, &right).await.is_ok());
    for _ in 0..2 {
        assert!(name_of(&state, &wrong).await.is_err());
    }
    assert!(
        name_of(&state, &right).await.is_ok(),
        "reset by the success"
    );

    // Three failures in a row pause the name, even for the right app password ...
    for _ in 0..3 {
        let e = name_of(&state, &wrong).await.unwrap_err();
        assert!(matches!(e, AppError::InvalidCredentials(_)), "{e:?}");
    }
    let e = name_of(&state, &right).await.unwrap_err();
    assert!(matches!(e, AppError::TooManyAttempts(_)), "{e:?}");
    assert_eq!(e.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(e.retry_after().is_some());
    // ... and a password login of the same name, since both share the throttle ...
    assert!(matches!(
        state.login_throttle.check("ann").await.unwrap(),
        crate::auth::Standing::Paused(_)
    ));
    // ... but not another user's name.
    let name = name_of(&state, &request(&basic_of("bob", &bob), LOCAL)).await;
    assert_eq!(name.unwrap().as_deref(), Some("bob"));
}
