//! `[limits]`: every bound on what one client may ask is configurable, has a safe default, and
//! holds — body sizes, head size, slow clients, login attempts, listing pages.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use wshost_tests::*;

const LIMITS: &str = r#"
[limits]
max_upload = "64 KiB"
max_body = "4 KiB"
max_header_bytes = "8 KiB"
header_timeout_secs = 1
body_idle_timeout_secs = 1
max_page = 50
login_failures = 2
login_window_secs = 2
"#;

fn host() -> Host {
    Host::start(HostSetup::new(
        format!("{}{LIMITS}", fs_config()),
        vec![manifest("access.fs.toml")],
    ))
}

/// The names in the workspace's folder on disk, temporary files included.
fn on_disk(h: &Host) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(h.dir.path().join("root"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Waits (up to 5 s) for the server to close `stream`; what it sent before closing.
fn closed_by_server(mut stream: TcpStream) -> Option<String> {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut got = Vec::new();
    match stream.read_to_end(&mut got) {
        Ok(_) => Some(String::from_utf8_lossy(&got).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Some(String::new()),
        Err(_) => None, // still open after 5 s
    }
}

#[test]
fn bodies_over_their_limit_are_refused_and_leave_nothing() {
    let h = host();
    let (s, _) = h.get("get_action=ls&ws=files"); // creates ROOT
    assert_eq!(s, 200);
    let before = on_disk(&h);
    let big = vec![b'x'; 100 * 1024];

    // Announced: refused before the driver sees a byte.
    let (s, v) = h.post_bytes("get_action=upload&ws=files&file=big.bin", big.clone());
    assert_eq!((s, code(&v)), (413, "too_large"), "{v}");
    // Chunked, no length announced: cut when it passes the limit, the partial file discarded.
    let chunked = reqwest::blocking::Body::new(std::io::Cursor::new(big));
    let sent = h
        .client
        .post(h.action_url("get_action=upload&ws=files&file=big.bin"))
        .body(chunked)
        .send();
    match sent {
        Ok(r) => {
            let (s, v) = json_of(r);
            assert_eq!((s, code(&v)), (413, "too_large"), "{v}");
        }
        // The host answers as soon as the limit is passed and closes the connection: a client
        // still sending the rest may see its send fail before it reads the answer (HTTP/1.1
        // has no way around that). The answer is then in the host's access log.
        Err(e) => {
            let refused = || h.log().matches("status=413").count() >= 2;
            let deadline = Instant::now() + Duration::from_secs(5);
            while !refused() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            assert!(refused(), "not refused with 413 ({e}):\n{}", h.log());
        }
    }
    // Just under the limit: accepted.
    let (s, v) = h.post_bytes(
        "get_action=upload&ws=files&file=fits.bin",
        vec![b'y'; 64 * 1024],
    );
    assert_eq!(s, 201, "{v}");
    let mut expected = before.clone();
    expected.push("fits.bin".into());
    expected.sort();
    assert_eq!(on_disk(&h), expected, "no partial file, no temporary file");

    // Forms and API JSON: `max_body`.
    let r = h
        .client
        .post(h.action_url("get_action=mkdir&ws=files"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("dir=/&dirname={}", "d".repeat(5000)))
        .send()
        .unwrap();
    let (s, v) = json_of(r);
    assert_eq!((s, code(&v)), (413, "too_large"), "{v}");
    let r = h
        .client
        .post(h.api("users"))
        .json(&json!({"name": "x", "password": "p".repeat(5000), "admin": false}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 413, "{}", r.text().unwrap_or_default());
    println!("limits: body: 4 oversized bodies refused, 0 partial files");
}

#[test]
fn oversized_heads_are_refused() {
    let h = host();
    let r = h
        .client
        .get(h.action_url("get_action=ls&ws=files"))
        .header("x-padding", "p".repeat(10 * 1024))
        .send()
        .unwrap();
    let (s, v) = json_of(r);
    assert_eq!((s, code(&v)), (431, "headers_too_large"), "{v}");
    let long_query = format!("get_action=ls&ws=files&pad={}", "q".repeat(9 * 1024));
    let (s, _) = h.get(&long_query);
    assert_eq!(s, 431, "the request line counts too");
    let r = h
        .client
        .get(h.action_url("get_action=ls&ws=files"))
        .header("x-padding", "p".repeat(2 * 1024))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // Far past hyper's buffer: the connection is answered or closed, the host lives on.
    let mut raw = TcpStream::connect(h.url.trim_start_matches("http://")).unwrap();
    let huge = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Huge: {}\r\n",
        "h".repeat(1 << 20)
    );
    let _ = raw.write_all(huge.as_bytes());
    assert!(
        closed_by_server(raw).is_some(),
        "a 1 MiB head must not hold the connection"
    );
    let (s, _) = h.get("get_action=ls&ws=files");
    assert_eq!(s, 200);
}

#[test]
fn slow_clients_are_cut() {
    let h = host();
    let addr = h.url.trim_start_matches("http://").to_owned();

    // Slow-loris: half a request head, then nothing.
    let started = Instant::now();
    let mut slow_head = TcpStream::connect(&addr).unwrap();
    slow_head
        .write_all(b"GET /?get_action=ls&ws=files HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    assert!(
        closed_by_server(slow_head).is_some(),
        "a client that never finishes its head is cut"
    );
    let head_cut = started.elapsed();
    // A connection that sends nothing at all.
    let silent = TcpStream::connect(&addr).unwrap();
    assert!(closed_by_server(silent).is_some(), "a silent client is cut");

    // A stalled upload: the head and 10 of 1000 announced bytes, then nothing.
    let mut session = h.session_headers("admin", ADMIN_PASSWORD);
    session.remove("content-type");
    let mut head = "POST /?get_action=upload&ws=files&file=stalled.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n".to_owned();
    for (name, value) in &session {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str("\r\n0123456789");
    let started = Instant::now();
    let mut stalled = TcpStream::connect(&addr).unwrap();
    stalled.write_all(head.as_bytes()).unwrap();
    let answer = closed_by_server(stalled).expect("a stalled upload is cut");
    let body_cut = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout"), "{answer}");
    let names = on_disk(&h);
    assert!(
        names
            .iter()
            .all(|n| !n.contains("stalled") && !n.ends_with(".part")),
        "nothing left of the stalled upload: {names:?}"
    );
    println!("limits: slow head cut after {head_cut:.1?}, stalled body after {body_cut:.1?}");

    // The host serves on.
    let (s, _) = h.get("get_action=ls&ws=files");
    assert_eq!(s, 200);
}

#[test]
fn login_attempts_and_listing_pages_are_bounded() {
    let h = host();
    let client = Client::new();
    let login = |password: &str| {
        client
            .post(h.api("login"))
            .json(&json!({"username": "admin", "password": password}))
            .send()
            .unwrap()
    };
    assert_eq!(login("wrong").status(), 401);
    assert_eq!(login("wrong").status(), 401);
    let r = login(ADMIN_PASSWORD);
    assert_eq!(
        r.status(),
        429,
        "paused after 2 failures, even with the right password"
    );
    assert!(r.headers().contains_key("retry-after"));
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(login(ADMIN_PASSWORD).status(), 200, "the pause ends");

    for i in 0..60 {
        let (s, _) = h.post_bytes(&format!("get_action=upload&ws=files&file=f{i:02}"), vec![]);
        assert_eq!(s, 201);
    }
    let (s, v) = h.get("get_action=ls&ws=files");
    assert_eq!(s, 200);
    assert_eq!(
        v["entries"].as_array().unwrap().len(),
        50,
        "default page = max_page"
    );
    assert!(v["next_cursor"].is_string());
    let (s, v) = h.get("get_action=ls&ws=files&limit=51");
    assert_eq!((s, code(&v)), (400, "invalid_parameter"), "{v}");
}

#[test]
fn limits_are_checked_with_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("host.toml");
    std::fs::write(
        &config,
        "[limits]\nmax_upload = \"lots\"\nmax_header_bytes = 100\nheader_timeout_secs = 0\nmax_page = 0\n",
    )
    .unwrap();
    let out = Command::new(wshost_exe())
        .args(["config", "check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    for key in [
        "limits.max_upload",
        "limits.max_header_bytes",
        "limits.header_timeout_secs",
        "limits.max_page",
    ] {
        assert!(text.contains(&format!("key `{key}`")), "{key} in:\n{text}");
    }
}
