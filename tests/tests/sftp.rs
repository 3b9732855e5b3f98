//! access.sftp against a real OpenSSH sshd (started by each test, unprivileged, see
//! `wshost_tests::sshd`), through the real `wshost` binary and the real `libaccess_sftp.so`:
//! the conformance suite by password and by key; host-key pinning and login failures; a
//! server that goes away mid-download; confinement to `ROOT` against symlinks and `..`;
//! interrupted and concurrent uploads; a slow server next to a quick one.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wshost_tests::sshd::{Login, SlowLink, Sshd, ACCOUNT};
use wshost_tests::*;

const DRIVER: &str = "access.sftp";
const WS: &str = "sftp";

/// A host with access.sftp enabled and an access.fs workspace `files` beside it.
fn host() -> Host {
    Host::start(HostSetup::new(
        format!("[plugins]\nenabled = [\"access.sftp\"]\n{}", fs_config()),
        vec![manifest("access.sftp.toml"), manifest("access.fs.toml")],
    ))
}

fn conformance(login: Login) {
    let sshd = Sshd::start();
    let (ok, out) = plugins_test(DRIVER, &sshd.params(login));
    assert!(ok, "{out}\nsshd:\n{}", sshd.log());
    assert!(out.contains("conformance of access.sftp"), "{out}");
    assert!(out.contains("40 passed, 0 failed, 0 skipped"), "{out}");
    for secret in [
        &sshd.password,
        &sshd.private_key.lines().nth(1).unwrap().to_owned(),
    ] {
        assert!(
            !out.contains(secret.as_str()),
            "a secret in the report:\n{out}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(&sshd.root).unwrap().collect();
    assert!(left.is_empty(), "the scratch folder is removed: {left:?}");
}

#[test]
fn the_conformance_suite_passes_by_password() {
    conformance(Login::Password);
}

#[test]
fn the_conformance_suite_passes_by_key() {
    conformance(Login::Key);
}

#[test]
fn the_whole_flow_through_the_host() {
    let sshd = Sshd::start();
    let h = host();
    h.create_workspace(DRIVER, WS, sshd.params(Login::Key), &[]);
    let v = h.verify(WS);
    assert_eq!(v["ok"], json!(true), "{v}");
    let message = v["message"].as_str().unwrap();
    for part in [
        sshd.fingerprint.as_str(),
        "by private key",
        "ED25519",
        ACCOUNT,
    ] {
        assert!(message.contains(part), "`{part}` missing from: {message}");
    }

    let big: Vec<u8> = (0..6).flat_map(|i| pattern_chunk(19, i, 1 << 20)).collect();
    let (s, v) = h.post_bytes(
        &format!("get_action=upload&ws={WS}&dir=/&name=big.bin"),
        big.clone(),
    );
    assert_eq!(
        (s, v["size"].as_u64()),
        (201, Some(big.len() as u64)),
        "{v}"
    );
    assert!(
        std::fs::read(sshd.root.join("big.bin")).unwrap() == big,
        "bytes on the server"
    );
    let r = h
        .client
        .get(h.action_url(&format!("get_action=download&ws={WS}&file=/big.bin")))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().unwrap()[..] == big[..], "the download differs");
    let r = h
        .client
        .get(h.action_url(&format!("get_action=download&ws={WS}&file=/big.bin")))
        .header("range", "bytes=3000000-3000099")
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(&r.bytes().unwrap()[..], &big[3_000_000..3_000_100]);

    let (s, v) = h.post(&format!("get_action=mkdir&ws={WS}&dir=/&dirname=docs"));
    assert_eq!(s, 201, "{v}");
    let (s, v) = h.post(&format!("get_action=copy&ws={WS}&file=/big.bin&dest=/docs"));
    assert!(matches!(s, 200 | 201), "{s} {v}");
    let (s, v) = h.post(&format!(
        "get_action=rename&ws={WS}&file=/big.bin&filename_new=moved.bin"
    ));
    assert!(matches!(s, 200 | 201), "{s} {v}");
    let (s, v) = h.post(&format!(
        "get_action=move&ws={WS}&file=/moved.bin&dest=/docs"
    ));
    assert!(matches!(s, 200 | 201), "{s} {v}");
    let (s, v) = h.get(&format!("get_action=ls&ws={WS}&dir=/docs"));
    assert_eq!(
        (s, listed_names(&v)),
        (200, vec!["big.bin".to_owned(), "moved.bin".to_owned()]),
        "{v}"
    );
    assert!(
        std::fs::read(sshd.root.join("docs/big.bin")).unwrap() == big,
        "the copy"
    );
    let (s, v) = h.post(&format!("get_action=delete&ws={WS}&file=/docs"));
    assert!(matches!(s, 200 | 204), "{s} {v}");
    assert!(!sshd.root.join("docs").exists());

    // The server's answers arrive as their kinds.
    let (s, v) = h.post(&format!("get_action=mkdir&ws={WS}&dir=/&dirname=twice"));
    assert_eq!(s, 201, "{v}");
    let (s, v) = h.post(&format!("get_action=mkdir&ws={WS}&dir=/&dirname=twice"));
    assert_eq!((s, code(&v)), (409, "already_exists"), "{v}");
    let (s, v) = h.get(&format!("get_action=ls&ws={WS}&dir=/nowhere"));
    assert_eq!((s, code(&v)), (404, "not_found"), "{v}");
    let denied = sshd.mkdir("locked");
    std::fs::set_permissions(&denied, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
    let (s, v) = h.post_bytes(
        &format!("get_action=upload&ws={WS}&dir=/locked&name=x"),
        b"x".to_vec(),
    );
    assert_eq!((s, code(&v)), (403, "permission_denied"), "{v}");
}

#[test]
fn a_wrong_host_key_is_refused_before_login_showing_the_offered_fingerprint() {
    let sshd = Sshd::start();
    let h = host();
    // A real fingerprint, of another key: what an impostor's server would offer.
    let other = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";
    h.create_workspace(
        DRIVER,
        WS,
        sshd.params(Login::Password),
        &[("HOST_KEY", other)],
    );
    let v = h.verify(WS);
    assert_eq!(
        (&v["ok"], code(&v)),
        (&json!(false), "permission_denied"),
        "{v}"
    );
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("offered host key {} (ED25519)", sshd.fingerprint)),
        "{message}"
    );
    assert!(
        message.contains(other),
        "the pinned key is named too: {message}"
    );
    let (s, v) = h.get(&format!("get_action=ls&ws={WS}&dir=/"));
    assert_eq!((s, code(&v)), (403, "permission_denied"), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&sshd.fingerprint),
        "{v}"
    );
    // The password never reached the server: no login was even attempted.
    let log = sshd.log();
    for line in ["Failed password", "Accepted password", "Postponed"] {
        assert!(!log.contains(line), "`{line}` in the sshd log:\n{log}");
    }
    assert!(
        !h.log().contains(&sshd.password),
        "the password in the host's log"
    );
    // The host serves on.
    let (s, v) = h.get("get_action=ls&ws=files&dir=/");
    assert_eq!(s, 200, "{v}");
}

#[test]
fn a_wrong_password_or_key_is_refused_naming_the_method() {
    let sshd = Sshd::start();
    let h = host();
    h.create_workspace(
        DRIVER,
        WS,
        sshd.params(Login::Password),
        &[("PASSWORD", "not-the-password")],
    );
    let v = h.verify(WS);
    assert_eq!(
        (&v["ok"], code(&v)),
        (&json!(false), "permission_denied"),
        "{v}"
    );
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "cannot log in to {ACCOUNT}@127.0.0.1:{} by password",
            sshd.port
        )),
        "{message}"
    );
    assert!(message.contains("refused the password"), "{message}");
    assert!(!message.contains("not-the-password"), "{message}");
    assert!(sshd.log().contains("Failed password"), "{}", sshd.log());
    let (s, v) = h.get(&format!("get_action=ls&ws={WS}&dir=/"));
    assert_eq!((s, code(&v)), (403, "permission_denied"), "{v}");

    // A key the server does not know, and a workspace with no way to log in at all.
    let unknown = sshd.unauthorized_key();
    let mut params = sshd.params(Login::Key);
    params.retain(|(k, _)| k != "PRIVATE_KEY");
    h.create_workspace(DRIVER, "sftp2", params, &[("PRIVATE_KEY", &unknown)]);
    let v = h.verify("sftp2");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("by private key: the server refused the private key"),
        "{v}"
    );
    h.create_workspace(
        DRIVER,
        "sftp3",
        vec![
            ("HOST".into(), "127.0.0.1".into()),
            ("USER".into(), ACCOUNT.into()),
            ("HOST_KEY".into(), sshd.fingerprint.clone()),
        ],
        &[],
    );
    let (s, v) = h.get("get_action=ls&ws=sftp3&dir=/");
    assert_eq!(code(&v), "invalid_input", "{s} {v}");
    assert!(v.to_string().contains("set PASSWORD or PRIVATE_KEY"), "{v}");
}

#[test]
fn a_server_that_goes_away_mid_download_fails_it_and_the_host_serves_on() {
    let mut sshd = Sshd::start();
    let h = host();
    h.create_workspace(
        DRIVER,
        WS,
        sshd.params(Login::Password),
        &[("TIMEOUT_SECS", "5")],
    );
    const SIZE: usize = 64 << 20;
    let data: Vec<u8> = (0..64).flat_map(|i| pattern_chunk(3, i, 1 << 20)).collect();
    sshd.put("big.bin", &data);
    let mut r = h
        .client
        .get(h.action_url(&format!("get_action=download&ws={WS}&file=/big.bin")))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut got = vec![0u8; 1 << 20];
    r.read_exact(&mut got).unwrap();
    sshd.kill();
    let started = Instant::now();
    let mut rest = Vec::new();
    let ended = r.read_to_end(&mut rest);
    let total = got.len() + rest.len();
    assert!(
        ended.is_err() || total < SIZE,
        "the download completed ({total} bytes) after the server went away"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the broken download took {:?} to end",
        started.elapsed()
    );
    // The next call says the server is unavailable; other workspaces are unaffected.
    let (s, v) = h.get(&format!("get_action=ls&ws={WS}&dir=/"));
    assert_eq!((s, code(&v)), (503, "unavailable"), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("connection refused"),
        "{v}"
    );
    let (s, v) = h.get("get_action=ls&ws=files&dir=/");
    assert_eq!(s, 200, "{v}");
    // The server comes back: the workspace reconnects by itself.
    sshd.restart();
    let (s, v) = h.get(&format!("get_action=ls&ws={WS}&dir=/"));
    assert_eq!(
        (s, listed_names(&v)),
        (200, vec!["big.bin".to_owned()]),
        "{v}"
    );
    let r = h
        .client
        .get(h.action_url(&format!("get_action=download&ws={WS}&file=/big.bin")))
        .send()
        .unwrap();
    assert!(
        r.bytes().unwrap()[..] == data[..],
        "the download after the restart differs"
    );
}

/// The tree under `dir`: folders, files with their bytes, symlinks with their targets.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p.clone());
                all.push((p, Vec::new()));
            } else if meta.is_symlink() {
                // The link, not what it points to.
                let target = std::fs::read_link(&p).unwrap();
                all.push((p, format!("-> {}", target.display()).into_bytes()));
            } else {
                all.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    all.sort();
    all
}

#[test]
fn no_path_leads_outside_root() {
    const SECRET: &str = "SECRET-OUTSIDE-THE-WORKSPACE";
    let sshd = Sshd::start();
    // Outside ROOT but reachable by the account: only the driver keeps it out.
    let outside = sshd.dir.path().join("outside");
    std::fs::create_dir_all(outside.join("sub")).unwrap();
    std::fs::write(outside.join("secret.txt"), SECRET).unwrap();
    std::fs::write(outside.join("sub/deep.txt"), SECRET).unwrap();
    for p in ["", "sub", "secret.txt", "sub/deep.txt"] {
        sshd.give(&outside.join(p));
    }
    sshd.put("inner.txt", b"inside");
    sshd.mkdir("folder");
    sshd.symlink(&outside.join("secret.txt"), "link_file");
    sshd.symlink(&outside, "link_dir");
    sshd.symlink(Path::new("../outside"), "link_rel");
    sshd.symlink(Path::new("folder/../../outside/secret.txt"), "folder_link");
    sshd.symlink(Path::new("inner.txt"), "ok_link");
    let before = snapshot(&outside);

    let h = host();
    h.create_workspace(DRIVER, WS, sshd.params(Login::Password), &[]);
    let up = |q: &str| format!("get_action=upload&ws={WS}&{q}");
    let attempts: Vec<(&str, &str, String)> = vec![
        (
            "read a file symlink",
            "GET",
            format!("get_action=download&ws={WS}&file=/link_file"),
        ),
        (
            "read through a folder symlink",
            "GET",
            format!("get_action=download&ws={WS}&file=/link_dir/secret.txt"),
        ),
        (
            "read through a relative symlink",
            "GET",
            format!("get_action=download&ws={WS}&file=/link_rel/sub/deep.txt"),
        ),
        (
            "read a symlink with .. in its target",
            "GET",
            format!("get_action=download&ws={WS}&file=/folder_link"),
        ),
        (
            "read with .. via the host",
            "GET",
            format!("get_action=download&ws={WS}&file=/../outside/secret.txt"),
        ),
        (
            "read with encoded ..",
            "GET",
            format!("get_action=download&ws={WS}&file=%2F..%2Foutside%2Fsecret.txt"),
        ),
        (
            "stat a file symlink",
            "GET",
            format!("get_action=stat&ws={WS}&file=/link_dir/secret.txt"),
        ),
        (
            "list a folder symlink",
            "GET",
            format!("get_action=ls&ws={WS}&dir=/link_dir"),
        ),
        (
            "list a relative folder symlink",
            "GET",
            format!("get_action=ls&ws={WS}&dir=/link_rel/sub"),
        ),
        (
            "list with .. via the host",
            "GET",
            format!("get_action=ls&ws={WS}&dir=/../"),
        ),
        (
            "write through a folder symlink",
            "POST",
            up("dir=/link_dir&name=planted.txt"),
        ),
        (
            "write through a relative symlink",
            "POST",
            up("dir=/link_rel/sub&name=planted.txt"),
        ),
        (
            "write with .. via the host",
            "POST",
            up("dir=/..&name=planted.txt"),
        ),
        (
            "mkdir through a folder symlink",
            "POST",
            format!("get_action=mkdir&ws={WS}&dir=/link_dir&dirname=planted"),
        ),
        (
            "delete through a folder symlink",
            "POST",
            format!("get_action=delete&ws={WS}&file=/link_dir/secret.txt"),
        ),
        (
            "delete inside a folder symlink",
            "POST",
            format!("get_action=delete&ws={WS}&file=/link_rel/sub"),
        ),
        (
            "delete with .. via the host",
            "POST",
            format!("get_action=delete&ws={WS}&file=/../outside/secret.txt"),
        ),
        (
            "move into a folder symlink",
            "POST",
            format!("get_action=move&ws={WS}&file=/inner.txt&dest=/link_dir"),
        ),
        (
            "move out of a folder symlink",
            "POST",
            format!("get_action=move&ws={WS}&file=/link_dir/secret.txt&dest=/folder"),
        ),
        (
            "move with .. as destination",
            "POST",
            format!("get_action=move&ws={WS}&file=/inner.txt&dest=/.."),
        ),
        (
            "copy into a folder symlink",
            "POST",
            format!("get_action=copy&ws={WS}&file=/inner.txt&dest=/link_rel"),
        ),
        (
            "copy out of a file symlink",
            "POST",
            format!("get_action=copy&ws={WS}&file=/link_file&dest=/folder"),
        ),
        (
            "copy out of a folder symlink",
            "POST",
            format!("get_action=copy&ws={WS}&file=/link_dir&dest=/folder"),
        ),
    ];
    let mut escapes = Vec::new();
    for (what, method, query) in &attempts {
        let r = match *method {
            "GET" => h.client.get(h.action_url(query)),
            _ => h
                .client
                .post(h.action_url(query))
                .body(SECRET.replace("SECRET", "PLANTED")),
        }
        .send()
        .unwrap();
        let status = r.status().as_u16();
        let body = r.text().unwrap_or_default();
        if (200..300).contains(&status) || body.contains(SECRET) {
            escapes.push(format!("{what}: {status} {body}"));
        }
        if snapshot(&outside) != before {
            escapes.push(format!("{what}: changed what lies outside ROOT"));
            break;
        }
    }
    // Nothing of the outside was copied or moved in either.
    let inside = snapshot(&sshd.root);
    assert!(
        inside
            .iter()
            .all(|(_, bytes)| !String::from_utf8_lossy(bytes).contains(SECRET)),
        "outside content inside ROOT: {inside:?}"
    );
    // Listing the root shows the escaping links as zero-byte files, the inside link as its file.
    let (s, v) = h.get(&format!("get_action=ls&ws={WS}&dir=/"));
    assert_eq!(s, 200, "{v}");
    let size_of = |name: &str| {
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| (e["type"].clone(), e["size"].clone()))
    };
    assert_eq!(size_of("link_dir"), Some((json!("file"), json!(0))), "{v}");
    assert_eq!(size_of("ok_link"), Some((json!("file"), json!(6))), "{v}");
    // Replacing or deleting a link acts on the link, never on its target.
    let (s, v) = h.post_bytes(&up("dir=/&name=link_file"), b"replaced".to_vec());
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        std::fs::read(sshd.root.join("link_file")).unwrap(),
        b"replaced"
    );
    let (s, v) = h.post(&format!("get_action=delete&ws={WS}&file=/link_dir"));
    assert!(matches!(s, 200 | 204), "{s} {v}");
    assert_eq!(
        snapshot(&outside),
        before,
        "a replaced or deleted link changed its target"
    );
    eprintln!(
        "confinement: {} attempts, {} escapes",
        attempts.len(),
        escapes.len()
    );
    assert!(
        escapes.is_empty(),
        "{} of {} attempts escaped ROOT:\n{}",
        escapes.len(),
        attempts.len(),
        escapes.join("\n")
    );
}

/// Starts an upload of `announced` bytes to `name` on workspace `WS` and drops the connection
/// after `cut` bytes of the body.
fn cut_upload(h: &Host, name: &str, announced: usize, cut: usize) {
    let addr = h.url.trim_start_matches("http://");
    let auth: String = h
        .session_headers("admin", ADMIN_PASSWORD)
        .iter()
        .map(|(k, v)| format!("{k}: {}\r\n", v.to_str().unwrap()))
        .collect();
    let mut tcp = TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST /?get_action=upload&ws={WS}&dir=/&name={name} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: {announced}\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).unwrap();
    let _ = tcp.write_all(&pattern_chunk(5, 0, cut));
    let _ = tcp.flush();
    std::thread::sleep(Duration::from_millis(300)); // let the bytes reach the server
    drop(tcp);
}

/// The names in `dir` on disk (temporary files included), sorted.
fn on_disk(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn an_interrupted_upload_leaves_the_previous_version_and_no_partial_file() {
    let sshd = Sshd::start();
    let h = host();
    h.create_workspace(DRIVER, WS, sshd.params(Login::Password), &[]);
    sshd.put("target.bin", b"the previous version");
    for (name, cut) in [
        ("target.bin", 3 << 20),
        ("new.bin", 5 << 20),
        ("target.bin", 0),
    ] {
        cut_upload(&h, name, 8 << 20, cut);
        // Settled: the temporary file is gone, the target as it was.
        let deadline = Instant::now() + Duration::from_secs(15);
        while on_disk(&sshd.root) != ["target.bin"] {
            assert!(
                Instant::now() < deadline,
                "after a cut upload to {name}: {:?}",
                on_disk(&sshd.root)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(
            std::fs::read(sshd.root.join("target.bin")).unwrap(),
            b"the previous version"
        );
    }
    // A listing while an upload runs hides its temporary file.
    let addr = h.url.trim_start_matches("http://").to_owned();
    let auth: String = h
        .session_headers("admin", ADMIN_PASSWORD)
        .iter()
        .map(|(k, v)| format!("{k}: {}\r\n", v.to_str().unwrap()))
        .collect();
    let mut tcp = TcpStream::connect(&addr).unwrap();
    write!(tcp, "POST /?get_action=upload&ws={WS}&dir=/&name=slow.bin HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: 4194304\r\n\r\n").unwrap();
    tcp.write_all(&pattern_chunk(6, 0, 2 << 20)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !on_disk(&sshd.root)
        .iter()
        .any(|n| n.starts_with(".wshost-upload-"))
    {
        assert!(
            Instant::now() < deadline,
            "no temporary file appeared: {:?}",
            on_disk(&sshd.root)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (s, v) = h.get(&format!("get_action=ls&ws={WS}&dir=/"));
    assert_eq!(
        (s, listed_names(&v)),
        (200, vec!["target.bin".to_owned()]),
        "{v}"
    );
    tcp.write_all(&pattern_chunk(6, 1, 2 << 20)).unwrap();
    let mut answer = String::new();
    let _ = tcp.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert_eq!(on_disk(&sshd.root), ["slow.bin", "target.bin"]);
}

#[test]
fn concurrent_uploads_to_one_workspace_share_its_pool() {
    let sshd = Sshd::start();
    let h = host();
    h.create_workspace(
        DRIVER,
        WS,
        sshd.params(Login::Password),
        &[("CONNECTIONS", "2")],
    );
    // One call first: concurrent first calls of a workspace may each open a driver (the host
    // keeps one and drops the others), and the pool is per driver.
    let (s, v) = h.get(&format!("get_action=ls&ws={WS}&dir=/"));
    assert_eq!(s, 200, "{v}");
    const UPLOADS: u64 = 8;
    let files: Vec<Vec<u8>> = (0..UPLOADS)
        .map(|i| pattern_chunk(100 + i, 0, 3 << 20))
        .collect();
    std::thread::scope(|scope| {
        let running: Vec<_> = files
            .iter()
            .enumerate()
            .map(|(i, data)| {
                let (h, data) = (&h, data.clone());
                scope.spawn(move || {
                    h.post_bytes(
                        &format!("get_action=upload&ws={WS}&dir=/&name=f{i}.bin"),
                        data,
                    )
                })
            })
            .collect();
        for r in running {
            let (s, v) = r.join().unwrap();
            assert_eq!(s, 201, "{v}");
        }
    });
    for (i, data) in files.iter().enumerate() {
        assert!(
            std::fs::read(sshd.root.join(format!("f{i}.bin"))).unwrap() == *data,
            "f{i}.bin differs"
        );
    }
    let logins = sshd.log().matches("Accepted password").count();
    assert!(
        (1..=2).contains(&logins),
        "{logins} logins for CONNECTIONS = 2:\n{}",
        sshd.log()
    );
}

#[test]
fn a_slow_server_does_not_hold_up_another_workspace() {
    let sshd = Sshd::start();
    let slow = SlowLink::start(sshd.port, Duration::from_millis(400));
    let h = host();
    h.create_workspace(
        DRIVER,
        "slow",
        sshd.params(Login::Password),
        &[("PORT", &slow.port.to_string())],
    );
    h.create_workspace(DRIVER, "quick", sshd.params(Login::Password), &[]);
    sshd.put("a.txt", b"a");
    let started = Instant::now();
    std::thread::scope(|scope| {
        let pending = scope.spawn(|| {
            let (s, v) = h.get("get_action=ls&ws=slow&dir=/");
            (s, v, started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(200));
        for i in 0..5 {
            let t = Instant::now();
            let (s, v) = h.get("get_action=ls&ws=quick&dir=/");
            assert_eq!(
                (s, listed_names(&v)),
                (200, vec!["a.txt".to_owned()]),
                "{v}"
            );
            assert!(
                t.elapsed() < Duration::from_secs(2),
                "quick call {i} took {:?}",
                t.elapsed()
            );
        }
        assert!(
            !pending.is_finished(),
            "the slow server answered before the quick one was done"
        );
        let (s, v, took) = pending.join().unwrap();
        assert_eq!(
            (s, listed_names(&v)),
            (200, vec!["a.txt".to_owned()]),
            "{v}"
        );
        assert!(
            took > Duration::from_secs(2),
            "the relay did not slow the server ({took:?})"
        );
    });
}

#[test]
fn a_server_that_never_answers_is_unavailable_after_the_timeout() {
    let sshd = Sshd::start();
    // Accepts connections and says nothing, like a server that hangs.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let h = host();
    h.create_workspace(
        DRIVER,
        WS,
        sshd.params(Login::Password),
        &[("PORT", &port.to_string()), ("TIMEOUT_SECS", "2")],
    );
    let started = Instant::now();
    let (s, v) = h.get(&format!("get_action=ls&ws={WS}&dir=/"));
    assert_eq!((s, code(&v)), (503, "unavailable"), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("TIMEOUT_SECS"),
        "{v}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    drop(silent);
}

#[test]
fn a_listing_hides_temporary_uploads_and_sweeps_the_stale_ones() {
    let sshd = Sshd::start();
    let h = host();
    h.create_workspace(DRIVER, WS, sshd.params(Login::Password), &[]);
    sshd.put("kept.txt", b"kept");
    let stale = sshd.put(
        ".wshost-upload-00000000000000aa.part",
        b"left by a killed host",
    );
    let fresh = sshd.put(
        ".wshost-upload-00000000000000bb.part",
        b"an upload in progress",
    );
    let two_days_ago = std::time::SystemTime::now() - Duration::from_secs(48 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(two_days_ago)
        .unwrap();
    let (s, v) = h.get(&format!("get_action=ls&ws={WS}&dir=/"));
    assert_eq!(
        (s, listed_names(&v)),
        (200, vec!["kept.txt".to_owned()]),
        "{v}"
    );
    assert!(!stale.exists(), "the stale temporary file is swept");
    assert!(
        fresh.exists(),
        "a recent one may belong to a running upload"
    );
    let (s, v) = h.get(&format!(
        "get_action=download&ws={WS}&file=/.wshost-upload-00000000000000bb.part"
    ));
    assert_eq!((s, code(&v)), (400, "invalid_input"), "{v}");
}

/// A copy is made by the server (OpenSSH's `copy-data`): a file's bytes do not travel to the
/// host and back. Through a relay that counts what the server sends, copying an 8 MiB file,
/// and a folder holding another, moves a small fraction of that; the copies are
/// byte-identical and published under their names only.
#[test]
fn copies_are_made_by_the_server() {
    let sshd = Sshd::start();
    let link = SlowLink::start(sshd.port, Duration::ZERO);
    let h = host();
    h.create_workspace(
        DRIVER,
        WS,
        sshd.params(Login::Password),
        &[("PORT", &link.port.to_string())],
    );
    let big: Vec<u8> = (0..8usize << 20).map(|i| (i % 251) as u8).collect();
    sshd.put("big.bin", &big);
    sshd.mkdir("folder");
    sshd.put("folder/inner.bin", &big);
    sshd.mkdir("docs");
    let (s, v) = h.get(&format!("get_action=ls&ws={WS}&dir=/"));
    assert_eq!(s, 200, "{v}");

    let before = link.served();
    for file in ["/big.bin", "/folder"] {
        let (s, v) = h.post(&format!("get_action=copy&ws={WS}&file={file}&dest=/docs"));
        assert!(matches!(s, 200 | 201), "copy {file}: {s} {v}");
    }
    let served = link.served() - before;
    assert!(
        served < 1 << 20,
        "the server sent {served} bytes for copies of 16 MiB: they were streamed through the host"
    );
    for copy in ["docs/big.bin", "docs/folder/inner.bin"] {
        assert!(
            std::fs::read(sshd.root.join(copy)).unwrap() == big,
            "{copy}"
        );
    }
    assert_eq!(on_disk(&sshd.root.join("docs")), vec!["big.bin", "folder"]);
}
