//! The WebDAV door's rights, faults and capabilities, through the real binary and real plugin
//! libraries: every method for every kind of caller with its exact status (and nothing on
//! disk changed when refused), grants and tokens revoked between two requests, drivers that
//! panic or hang during PROPFIND, GET and PUT, a PUT cut off midway, drivers that cannot
//! write or make folders, and a Dropbox workspace its user has not connected.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use wshost_tests::webdav::*;
use wshost_tests::*;

/// How long the faulty driver's `hang` sleeps (its `HANG`): an answer before it came from
/// the host's deadline, not from the plugin returning.
const PLUGIN_HANG: Duration = Duration::from_millis(2500);

/// A host with `files` (access.fs on `{dir}/root`), `faulty`, `ro` (declares only the read
/// capabilities) and `nomkdir` (everything but mkdir), and a 1 s plugin deadline. The
/// failed-login throttle is out of the way: the matrix sends wrong credentials for every
/// method, and each must get its 401 (the throttle has its own tests in `limits.rs`).
fn host() -> Host {
    Host::start(HostSetup::new(
        format!(
            "{}[[workspaces]]\nid = \"faulty\"\ndriver = \"access.faulty\"\n\
             [[workspaces]]\nid = \"ro\"\ndriver = \"access.faulty\"\nparams = {{ READ_ONLY = true }}\n\
             [[workspaces]]\nid = \"nomkdir\"\ndriver = \"access.faulty\"\nparams = {{ NO_MKDIR = true }}\n\
             [limits]\nplugin_timeout_secs = 1\nlogin_failures = 1000\n",
            fs_config()
        ),
        vec![manifest("access.fs.toml"), manifest("access.faulty.toml")],
    ))
}

/// The folder of workspace `files`, made now (the driver makes it when first opened).
fn files_root(h: &Host) -> std::path::PathBuf {
    let root = h.dir.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    root
}

/// The admin as a WebDAV client (Basic with an app password).
fn admin_dav(h: &Host) -> Dav {
    Dav::basic(h, "admin", &app_password(h, &h.client))
}

/// The kinds of caller of the WebDAV authorization matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// No credentials.
    Anonymous,
    /// A user with no grant on `files`.
    Outsider,
    /// Read-only on `files`.
    Reader,
    /// Read-write on `files`.
    Writer,
    /// The writer, with `Authorization: Bearer` instead of Basic.
    WriterBearer,
    /// An administrator, with no grant (administrators have read-write everywhere).
    Admin,
    /// The writer's login password instead of an app password.
    LoginPassword,
    /// The writer's app password, revoked.
    RevokedToken,
}

impl Who {
    const ALL: [Who; 8] = [
        Who::Anonymous,
        Who::Outsider,
        Who::Reader,
        Who::Writer,
        Who::WriterBearer,
        Who::Admin,
        Who::LoginPassword,
        Who::RevokedToken,
    ];

    /// The caller's own file names: `del-{tag}.txt`, ...
    fn tag(self) -> String {
        format!("{self:?}").to_ascii_lowercase()
    }
}

/// Every WebDAV method the door answers.
const METHODS: [&str; 12] = [
    "OPTIONS",
    "PROPFIND",
    "PROPPATCH",
    "GET",
    "HEAD",
    "PUT",
    "MKCOL",
    "DELETE",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
];

/// The status `who` must get for `method` on `files`. Reading (PROPFIND, GET, HEAD) needs a
/// read grant, anything else read-write; OPTIONS is answered to anonymous callers (Windows
/// asks it first), and to users with a grant.
fn expected(who: Who, method: &str) -> u16 {
    let allowed = match method {
        "OPTIONS" | "GET" | "HEAD" | "LOCK" => 200,
        "PROPFIND" | "PROPPATCH" => 207,
        "PUT" | "MKCOL" | "COPY" | "MOVE" => 201,
        "DELETE" | "UNLOCK" => 204,
        other => panic!("no expectation for {other}"),
    };
    match who {
        Who::Anonymous if method == "OPTIONS" => 200,
        Who::Anonymous | Who::LoginPassword | Who::RevokedToken => 401,
        Who::Outsider => 403,
        Who::Reader if matches!(method, "OPTIONS" | "PROPFIND" | "GET" | "HEAD") => allowed,
        Who::Reader => 403,
        Who::Writer | Who::WriterBearer | Who::Admin => allowed,
    }
}

/// A request of the matrix: path, headers, body.
struct Cell {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// `method` as `who` sends it, on `who`'s own files, so that every allowed cell succeeds
/// once; `unlock` is the token of the lock on `unlock-{tag}.txt`.
fn cell(method: &str, who: Who, unlock: &str) -> Cell {
    let t = who.tag();
    let header = |n: &str, v: String| (n.to_owned(), v);
    let (path, headers, body): (String, Vec<(String, String)>, Vec<u8>) = match method {
        "OPTIONS" => ("/dav/files/".into(), vec![], vec![]),
        "PROPFIND" => (
            "/dav/files/".into(),
            vec![
                header("Depth", "1".into()),
                header("Content-Type", "application/xml".into()),
            ],
            PROPFIND_ALL.into(),
        ),
        "PROPPATCH" => (
            "/dav/files/a.txt".into(),
            vec![header("Content-Type", "application/xml".into())],
            PROPPATCH_SET.into(),
        ),
        "GET" | "HEAD" => ("/dav/files/a.txt".into(), vec![], vec![]),
        "PUT" => (format!("/dav/files/put-{t}.txt"), vec![], b"put".to_vec()),
        "MKCOL" => (format!("/dav/files/dir-{t}"), vec![], vec![]),
        "DELETE" => (format!("/dav/files/del-{t}.txt"), vec![], vec![]),
        "COPY" => (
            "/dav/files/a.txt".into(),
            vec![header("Destination", format!("/dav/files/copy-{t}.txt"))],
            vec![],
        ),
        "MOVE" => (
            format!("/dav/files/mv-{t}.txt"),
            vec![header("Destination", format!("/dav/files/moved-{t}.txt"))],
            vec![],
        ),
        "LOCK" => (
            format!("/dav/files/lock-{t}.txt"),
            vec![
                header("Timeout", "Second-600".into()),
                header("Content-Type", "application/xml".into()),
            ],
            LOCK_EXCLUSIVE.into(),
        ),
        "UNLOCK" => (
            format!("/dav/files/unlock-{t}.txt"),
            vec![header("Lock-Token", format!("<{unlock}>"))],
            vec![],
        ),
        other => panic!("no cell for {other}"),
    };
    Cell {
        path,
        headers,
        body,
    }
}

/// What an allowed cell must have done, checked on disk; `None` when it did.
fn effect(root: &Path, method: &str, who: Who, answer: &Answer) -> Option<String> {
    let t = who.tag();
    let ok = match method {
        "GET" => answer.body == b"A",
        "HEAD" => answer.body.is_empty() && answer.header("content-length") == Some("1"),
        "PUT" => std::fs::read(root.join(format!("put-{t}.txt"))).ok() == Some(b"put".to_vec()),
        "MKCOL" => root.join(format!("dir-{t}")).is_dir(),
        "DELETE" => !root.join(format!("del-{t}.txt")).exists(),
        "COPY" => std::fs::read(root.join(format!("copy-{t}.txt"))).ok() == Some(b"A".to_vec()),
        "MOVE" => {
            !root.join(format!("mv-{t}.txt")).exists()
                && root.join(format!("moved-{t}.txt")).exists()
        }
        "LOCK" => answer.header("lock-token").is_some(),
        "OPTIONS" => answer.header("dav") == Some("1, 2, 3"),
        _ => true,
    };
    (!ok).then(|| format!("{who:?} {method}: did not do its work ({})", answer.status))
}

/// Every method for every kind of caller, with the exact status; a refusal changes nothing
/// on disk and holds no lock back, a 401 carries the Basic challenge, and what is allowed
/// does its work.
#[test]
fn every_method_for_every_caller_gets_its_exact_status() {
    let h = host();
    let root = files_root(&h);
    std::fs::write(root.join("a.txt"), b"A").unwrap();
    for who in Who::ALL {
        let t = who.tag();
        for name in ["del", "mv", "lock", "unlock"] {
            std::fs::write(root.join(format!("{name}-{t}.txt")), name).unwrap();
        }
    }
    let outsider = h.add_user("outsider", false);
    let reader = h.add_user("reader", false);
    let writer = h.add_user("writer", false);
    h.grant("files", "reader", "r");
    h.grant("files", "writer", "rw");
    // The writer's first app password is revoked before the second is made.
    let revoked = app_password(&h, &writer);
    let (_, listed) = json_of(writer.get(h.api("tokens")).send().unwrap());
    let id = listed["tokens"][0]["id"].as_str().expect("the token's id");
    let (s, _) = json_of(
        writer
            .delete(h.api(&format!("tokens/{id}")))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "revoke the app password");
    let writer_token = app_password(&h, &writer);
    let admin = admin_dav(&h);
    let (outsider_token, reader_token) = (app_password(&h, &outsider), app_password(&h, &reader));
    let client = |who: Who| match who {
        Who::Anonymous => Dav::anonymous(&h),
        Who::Outsider => Dav::basic(&h, "outsider", &outsider_token),
        Who::Reader => Dav::basic(&h, "reader", &reader_token),
        Who::Writer => Dav::basic(&h, "writer", &writer_token),
        Who::WriterBearer => Dav::bearer(&h, &writer_token),
        Who::Admin => admin.clone(),
        Who::LoginPassword => Dav::basic(&h, "writer", "writer-password"),
        Who::RevokedToken => Dav::basic(&h, "writer", &revoked),
    };
    assert_eq!(
        client(Who::RevokedToken)
            .send("PROPFIND", "/dav/files/", &[("Depth", "0")], b"")
            .status,
        401,
        "the revoked token is refused"
    );

    // Each caller's `unlock-{tag}.txt` is locked: by the caller when it may lock (its UNLOCK
    // cell then unlocks it), else by the admin (a refused UNLOCK must leave the lock).
    let mut unlock_tokens = BTreeMap::new();
    for who in Who::ALL {
        let locker = if expected(who, "LOCK") == 200 {
            client(who)
        } else {
            admin.clone()
        };
        let a = locker.send(
            "LOCK",
            &format!("/dav/files/unlock-{}.txt", who.tag()),
            &[
                ("Timeout", "Second-600"),
                ("Content-Type", "application/xml"),
            ],
            LOCK_EXCLUSIVE.as_bytes(),
        );
        assert_eq!(a.status, 200, "{who:?}'s lock: {}", a.text());
        unlock_tokens.insert(who.tag(), a.lock_token());
    }

    let (mut cells, mut failures) = (0, Vec::new());
    for method in METHODS {
        for who in Who::ALL {
            let dav = client(who);
            let c = cell(method, who, &unlock_tokens[&who.tag()]);
            let headers: Vec<(&str, &str)> = c
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let before = tree(&root);
            let answer = dav.send(method, &c.path, &headers, &c.body);
            cells += 1;
            let want = expected(who, method);
            if answer.status != want {
                failures.push(format!(
                    "{who:?} {method} {} -> {}, want {want}: {}",
                    c.path,
                    answer.status,
                    answer.text().trim()
                ));
                continue;
            }
            if want >= 400 {
                if tree(&root) != before {
                    failures.push(format!(
                        "{who:?} {method} {}: refused ({want}) but the disk changed",
                        c.path
                    ));
                }
                let challenge = answer.header("www-authenticate").unwrap_or_default();
                if want == 401 && !challenge.starts_with("Basic realm=\"") {
                    failures.push(format!(
                        "{who:?} {method}: 401 without a Basic challenge ({challenge:?})"
                    ));
                }
                // A HEAD answer has no body, by definition.
                if method != "HEAD" && answer.text().trim().is_empty() {
                    failures.push(format!("{who:?} {method}: {want} without a message"));
                }
            } else {
                failures.extend(effect(&root, method, who, &answer));
            }
        }
    }

    // The refused UNLOCKs left the admin's locks: a PUT without their token is still 423.
    for who in Who::ALL
        .into_iter()
        .filter(|w| expected(*w, "UNLOCK") != 204)
    {
        let path = format!("/dav/files/unlock-{}.txt", who.tag());
        let status = client(Who::Writer).send("PUT", &path, &[], b"x").status;
        if status != 423 {
            failures.push(format!(
                "{who:?}'s refused UNLOCK removed the lock: PUT {path} -> {status}"
            ));
        }
    }
    // An allowed UNLOCK did unlock: the file can be written again.
    let status = client(Who::Writer)
        .send("PUT", "/dav/files/unlock-writer.txt", &[], b"x")
        .status;
    if status != 204 {
        failures.push(format!("after the writer's UNLOCK, PUT -> {status}"));
    }

    // The root lists only what the caller may see.
    let listing = |who: Who| {
        let a = client(who).send("PROPFIND", "/dav/", &[("Depth", "1")], b"");
        assert_eq!(a.status, 207, "{who:?} PROPFIND /dav/: {}", a.text());
        hrefs(&a)
    };
    assert_eq!(
        listing(Who::Outsider),
        ["/dav/"],
        "an outsider sees no workspace"
    );
    assert!(
        listing(Who::Reader).contains(&"/dav/files/".to_owned()),
        "the reader sees files"
    );

    println!(
        "WebDAV authorization matrix: {cells} cells ({} methods × {} callers), {} failures",
        METHODS.len(),
        Who::ALL.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Rights are read for every request: a grant lowered, a grant revoked and an app password
/// revoked each take effect on the next request.
#[test]
fn a_revoked_grant_or_app_password_takes_effect_on_the_next_request() {
    let h = host();
    let root = files_root(&h);
    let writer = h.add_user("writer", false);
    h.grant("files", "writer", "rw");
    let token = app_password(&h, &writer);
    let dav = Dav::basic(&h, "writer", &token);

    assert_eq!(dav.send("PUT", "/dav/files/one.txt", &[], b"1").status, 201);
    h.grant("files", "writer", "r");
    let a = dav.send("PUT", "/dav/files/two.txt", &[], b"2");
    assert_eq!(a.status, 403, "{}", a.text());
    assert!(a.text().contains("read-only"), "{}", a.text());
    assert!(!root.join("two.txt").exists());
    assert_eq!(
        dav.send("PROPFIND", "/dav/files/", &[("Depth", "1")], b"")
            .status,
        207,
        "reading is still allowed"
    );

    let (s, v) = json_of(
        h.client
            .delete(h.api("workspaces/files/acl/writer"))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "{v}");
    let a = dav.send("PROPFIND", "/dav/files/", &[("Depth", "1")], b"");
    assert_eq!(a.status, 403, "{}", a.text());
    let a = dav.send("GET", "/dav/files/one.txt", &[], b"");
    assert_eq!(a.status, 403, "{}", a.text());
    let a = dav.send("PROPFIND", "/dav/", &[("Depth", "1")], b"");
    assert_eq!(hrefs(&a), ["/dav/"], "files is no longer listed");

    h.grant("files", "writer", "rw");
    assert_eq!(dav.send("GET", "/dav/files/one.txt", &[], b"").status, 200);
    let (_, listed) = json_of(writer.get(h.api("tokens")).send().unwrap());
    let id = listed["tokens"][0]["id"].as_str().unwrap().to_owned();
    let (s, _) = json_of(
        writer
            .delete(h.api(&format!("tokens/{id}")))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200);
    let a = dav.send("GET", "/dav/files/one.txt", &[], b"");
    assert_eq!(a.status, 401, "{}", a.text());
    assert!(a.header("www-authenticate").is_some());
}

/// Sends `method` on `path` of the faulty workspace as `dav`: the status and how long it took.
fn timed(dav: &Dav, method: &str, path: &str) -> (Answer, Duration) {
    let started = Instant::now();
    let headers: &[(&str, &str)] = if method == "PROPFIND" {
        &[("Depth", "0")]
    } else {
        &[]
    };
    let body: &[u8] = if method == "PUT" { b"body" } else { b"" };
    let a = dav.send(method, path, headers, body);
    (a, started.elapsed())
}

/// The host answers `files` and the faulty driver's healthy file.
fn still_serving(h: &mut Host, dav: &Dav, after: &str) {
    assert!(h.alive(), "the host died after {after}:\n{}", h.log());
    let a = dav.send("PROPFIND", "/dav/files/", &[("Depth", "1")], b"");
    assert_eq!(a.status, 207, "after {after}: {}", a.text());
    let a = dav.send("GET", "/dav/faulty/hello.txt", &[], b"");
    assert_eq!(
        (a.status, a.body.as_slice()),
        (200, &b"hello from a faulty plugin\n"[..]),
        "after {after}"
    );
}

/// A driver that panics answers 500 and one that hangs 504 within the plugin deadline, for
/// PROPFIND, GET and PUT (the PUT's look before writing and the write itself); the same
/// plugin and the other workspaces serve the next request.
#[test]
fn a_driver_that_panics_or_hangs_fails_its_request_and_the_host_serves_on() {
    let mut h = host();
    let dav = admin_dav(&h);
    std::fs::write(files_root(&h).join("a.txt"), b"A").unwrap();
    let cases: [(&str, &str, u16); 8] = [
        ("PROPFIND", "panic", 500),
        ("GET", "panic", 500),
        ("PUT", "panic", 500),
        ("PUT", "write-panic", 500),
        ("PROPFIND", "hang", 504),
        ("GET", "hang", 504),
        ("PUT", "hang", 504),
        ("PUT", "write-hang", 504),
    ];
    let mut failures = Vec::new();
    for round in 0..2 {
        for (method, name, want) in cases {
            let path = format!("/dav/faulty/{name}");
            let (a, took) = timed(&dav, method, &path);
            if a.status != want {
                failures.push(format!(
                    "round {round}: {method} {path} -> {}, want {want}: {}",
                    a.status,
                    a.text().trim()
                ));
            }
            if want == 504 && took >= PLUGIN_HANG {
                failures.push(format!(
                    "{method} {path}: answered after {took:?}, not within the 1 s deadline"
                ));
            }
            still_serving(&mut h, &dav, &format!("{method} {path}"));
        }
    }
    // A large read that panics midway cuts the body: it must not look complete.
    let a = dav.send("GET", "/dav/faulty/big-stream-panic", &[], b"");
    assert!(
        a.status >= 500 || !a.complete,
        "a read cut by a panic looked complete: {} ({} bytes)",
        a.status,
        a.body.len()
    );
    still_serving(&mut h, &dav, "a stream that panicked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The names in `dir` on disk, sorted.
fn names_on_disk(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Waits (up to 15 s) until `check` holds; false if it never did.
fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

/// Starts a PUT of `path` announcing `total` bytes (or chunked), sends `sent` of them, and
/// waits until the driver's temporary file is on disk: the open socket.
fn start_put(
    dav: &Dav,
    root: &Path,
    path: &str,
    total: usize,
    sent: usize,
    chunked: bool,
) -> std::net::TcpStream {
    let mut tcp = dav.connect();
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_owned()
    } else {
        format!("Content-Length: {total}")
    };
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n{framing}\r\n\r\n",
        dav.authority(),
        dav.authorization().expect("credentials")
    );
    tcp.write_all(head.as_bytes()).unwrap();
    let part = pattern_chunk(7, 0, sent);
    if chunked {
        for piece in part.chunks(64 << 10) {
            write!(tcp, "{:x}\r\n", piece.len()).unwrap();
            tcp.write_all(piece).unwrap();
            tcp.write_all(b"\r\n").unwrap();
        }
    } else {
        tcp.write_all(&part).unwrap();
    }
    tcp.flush().unwrap();
    let temp = || {
        names_on_disk(root)
            .iter()
            .any(|n| n.starts_with(".wshost-upload-"))
    };
    assert!(
        eventually(temp),
        "the PUT of {path} never reached the driver (no temporary file in {})",
        root.display()
    );
    tcp
}

/// A PUT cut off after half its body, onto a file that holds A: the file still holds A, no
/// temporary file is listed (while the PUT runs or after), nothing is left on disk, and the
/// host serves on. The same for a chunked PUT and for a new name, which must not appear.
#[test]
fn an_interrupted_put_leaves_the_previous_version_and_no_temporary_file() {
    let mut h = host();
    let dav = admin_dav(&h);
    let root = files_root(&h);
    let old = pattern_chunk(1, 0, 64 << 10);
    std::fs::write(root.join("kept.bin"), &old).unwrap();
    let expected = names_on_disk(&root);
    const TOTAL: usize = 4 << 20;

    for (path, chunked) in [
        ("/dav/files/kept.bin", false),
        ("/dav/files/kept.bin", true),
        ("/dav/files/new.bin", false),
        ("/dav/files/new.bin", true),
    ] {
        let what = format!("PUT {path} (chunked: {chunked})");
        let tcp = start_put(&dav, &root, path, TOTAL, TOTAL / 2, chunked);
        // The temporary file is on disk, but no listing shows it.
        let a = dav.send("PROPFIND", "/dav/files/", &[("Depth", "1")], b"");
        assert_eq!(a.status, 207, "{}", a.text());
        let listed = hrefs(&a);
        assert!(
            listed.iter().all(|href| !href.contains("wshost-upload")),
            "{what}: the temporary file is listed: {listed:?}"
        );
        drop(tcp);
        assert!(
            eventually(|| names_on_disk(&root) == expected),
            "{what}: after the disconnect the folder holds {:?}, want {expected:?}",
            names_on_disk(&root)
        );
        assert_eq!(
            std::fs::read(root.join("kept.bin")).unwrap(),
            old,
            "{what}: the previous version changed"
        );
        let a = dav.send("GET", "/dav/files/kept.bin", &[], b"");
        assert_eq!((a.status, a.body == old), (200, true), "{what}");
        assert!(h.alive(), "{what}: the host died:\n{}", h.log());
    }
    // A whole PUT still works.
    let new = pattern_chunk(2, 0, 1 << 20);
    assert_eq!(
        dav.send("PUT", "/dav/files/kept.bin", &[], &new).status,
        204
    );
    assert_eq!(std::fs::read(root.join("kept.bin")).unwrap(), new);
}

/// A driver that declares no `write` refuses every change with 403 and a message naming the
/// workspace as read-only, before the driver is called; reading works. One without `mkdir`
/// answers MKCOL with 405 and writes the rest.
#[test]
fn capabilities_a_driver_lacks_are_refused_honestly() {
    let h = host();
    let dav = admin_dav(&h);
    let dest = |ws: &str| format!("/dav/{ws}/copy.txt");
    for (method, path, headers) in [
        ("PUT", "/dav/ro/new.txt", vec![]),
        ("PUT", "/dav/ro/hello.txt", vec![]),
        ("DELETE", "/dav/ro/hello.txt", vec![]),
        ("MKCOL", "/dav/ro/folder", vec![]),
        (
            "COPY",
            "/dav/ro/hello.txt",
            vec![("Destination", dest("ro"))],
        ),
        (
            "MOVE",
            "/dav/ro/hello.txt",
            vec![("Destination", dest("ro"))],
        ),
        ("PROPPATCH", "/dav/ro/hello.txt", vec![]),
        ("LOCK", "/dav/ro/hello.txt", vec![]),
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let body: &[u8] = match method {
            "PROPPATCH" => PROPPATCH_SET.as_bytes(),
            "LOCK" => LOCK_EXCLUSIVE.as_bytes(),
            "PUT" => b"data",
            _ => b"",
        };
        let a = dav.send(method, path, &headers, body);
        assert_eq!(a.status, 403, "{method} {path}: {}", a.text());
        assert!(
            a.text().contains("workspace 'ro' is read-only"),
            "{method} {path}: the message must say why: {}",
            a.text()
        );
    }
    let a = dav.send("GET", "/dav/ro/hello.txt", &[], b"");
    assert_eq!(a.status, 200, "reading a read-only workspace: {}", a.text());
    let a = dav.send("PROPFIND", "/dav/ro/", &[("Depth", "1")], b"");
    assert_eq!(a.status, 207, "{}", a.text());

    let a = dav.send("MKCOL", "/dav/nomkdir/folder", &[], b"");
    assert_eq!(a.status, 405, "MKCOL without mkdir: {}", a.text());
    assert!(a.text().contains("makes no folders"), "{}", a.text());
    let a = dav.send("PUT", "/dav/nomkdir/file.txt", &[], b"data");
    assert_eq!(
        a.status,
        201,
        "a driver without mkdir still writes: {}",
        a.text()
    );
}

/// A Dropbox workspace whose user has not connected an account answers 403 (not 401, which
/// would make the client ask for its password again) with a body naming the UI page to
/// connect from.
#[test]
fn an_unconnected_dropbox_workspace_names_the_page_to_connect_from() {
    let h = Host::start(HostSetup::new(
        "[plugins]\nenabled = [\"access.dropbox\"]\n".into(),
        vec![manifest("access.dropbox.toml")],
    ));
    h.create_workspace(
        "access.dropbox",
        "dbx",
        vec![
            ("CLIENT_ID".into(), "wshostTestApp".into()),
            ("CLIENT_SECRET".into(), "test-app-secret".into()),
        ],
        &[],
    );
    let ann = h.add_user("ann", false);
    h.grant("dbx", "ann", "rw");
    let dav = Dav::basic(&h, "ann", &app_password(&h, &ann));
    for (method, path, body) in [
        ("PROPFIND", "/dav/dbx/", &b""[..]),
        ("GET", "/dav/dbx/file.txt", b""),
        ("PUT", "/dav/dbx/file.txt", b"data"),
    ] {
        let headers: &[(&str, &str)] = if method == "PROPFIND" {
            &[("Depth", "1")]
        } else {
            &[]
        };
        let a = dav.send(method, path, headers, body);
        assert_eq!(a.status, 403, "{method} {path}: {}", a.text());
        assert!(
            a.text().contains(&format!("{}/ui/workspaces/dbx", h.url)),
            "{method} {path}: the body must name the page to connect from: {}",
            a.text()
        );
        assert!(
            a.header("www-authenticate").is_none(),
            "{method}: not a 401"
        );
    }
}
