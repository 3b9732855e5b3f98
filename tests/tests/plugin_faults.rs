//! Plugins that misbehave or do not belong: the host refuses or survives them, and keeps
//! serving the others.

use std::process::Command;
use std::time::{Duration, Instant};

use wshost_tests::*;

fn faulty_config() -> String {
    format!(
        "{}[[workspaces]]\nid = \"faulty\"\ndriver = \"access.faulty\"\n",
        fs_config()
    )
}

#[test]
fn panics_in_a_driver_and_an_action_fail_the_request_not_the_host() {
    let mut h = Host::start(HostSetup::new(
        faulty_config(),
        vec![manifest("access.fs.toml"), manifest("access.faulty.toml")],
    ));
    for _ in 0..3 {
        let (s, v) = h.get("get_action=stat&ws=faulty&file=panic");
        assert_eq!((s, code(&v)), (500, "plugin_panicked"), "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("stat"),
            "{v}"
        );

        let (s, v) = h.get("get_action=faulty_panic");
        assert_eq!((s, code(&v)), (500, "plugin_panicked"), "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("faulty_panic"),
            "{v}"
        );

        // A small body is read whole before the answer: its panic is the answer.
        let (s, v) = h.get("get_action=download&ws=faulty&file=stream-panic");
        assert_eq!((s, code(&v)), (500, "plugin_panicked"), "{v}");
        // A large stream that panics midway cuts the response; the host lives on.
        let r = h
            .client
            .get(h.action_url("get_action=download&ws=faulty&file=big-stream-panic"))
            .send();
        if let Ok(r) = r {
            assert!(
                r.bytes().is_err(),
                "a truncated body must not look complete"
            );
        }
        assert!(h.alive(), "host died:\n{}", h.log());

        // The same plugin and the other plugins keep serving.
        let (s, v) = h.get("get_action=stat&ws=faulty&file=hello.txt");
        assert_eq!(s, 200, "{v}");
        let (s, _) = h.get("get_action=ls&ws=files");
        assert_eq!(s, 200);
    }
    let (s, v) = h.get("get_action=faulty_echo&ws=faulty&x=1");
    assert_eq!(
        (s, v["workspace"].as_str(), v["query"]["x"].as_str()),
        (202, Some("faulty"), Some("1")),
        "{v}"
    );
}

/// One request of the fault matrix and the answer it must get.
struct Case {
    method: &'static str,
    query: String,
    status: u16,
    code: &'static str,
}

/// Every driver operation under every fault, and the plugin actions that panic or hang.
fn fault_matrix() -> Vec<Case> {
    let mut faults: Vec<(String, u16, &'static str)> = vec![
        ("panic".into(), 500, "plugin_panicked"),
        ("hang".into(), 504, "plugin_timeout"),
        ("garbage".into(), 502, "plugin_bad_answer"),
    ];
    for (kind, status) in ERROR_KINDS {
        faults.push((format!("error-{kind}"), status, kind));
    }
    let mut cases = Vec::new();
    for (f, status, code) in &faults {
        let ops: [(&str, String); 9] = [
            ("GET", format!("get_action=stat&ws=faulty&file={f}")),
            ("GET", format!("get_action=ls&ws=faulty&dir={f}")),
            ("GET", format!("get_action=download&ws=faulty&file={f}")),
            ("POST", format!("get_action=upload&ws=faulty&file={f}")),
            (
                "POST",
                format!("get_action=mkdir&ws=faulty&dir=/&dirname={f}"),
            ),
            ("POST", format!("get_action=delete&ws=faulty&file={f}")),
            (
                "POST",
                format!("get_action=rename&ws=faulty&file={f}&filename_new=x"),
            ),
            (
                "POST",
                format!("get_action=copy&ws=faulty&file={f}&dest=/d"),
            ),
            (
                "POST",
                format!("get_action=move&ws=faulty&file={f}&dest=/d"),
            ),
        ];
        for (method, query) in ops {
            // Deleting answers no entry, so there is no garbage to refuse.
            let (status, code) = if f == "garbage" && query.contains("=delete&") {
                (200, "")
            } else {
                (*status, *code)
            };
            cases.push(Case {
                method,
                query,
                status,
                code,
            });
        }
    }
    // Small bodies are read whole before the answer, so a broken one is answered with an error.
    for (f, status, code) in [
        ("stream-panic", 500, "plugin_panicked"),
        ("stream-hang", 504, "plugin_timeout"),
        ("stream-error", 500, "internal"),
        ("stream-garbage", 502, "plugin_bad_answer"),
    ] {
        cases.push(Case {
            method: "GET",
            query: format!("get_action=download&ws=faulty&file={f}"),
            status,
            code,
        });
    }
    cases.push(Case {
        method: "GET",
        query: "get_action=faulty_panic".into(),
        status: 500,
        code: "plugin_panicked",
    });
    cases.push(Case {
        method: "GET",
        query: "get_action=faulty_hang".into(),
        status: 504,
        code: "plugin_timeout",
    });
    cases
}

const ERROR_KINDS: [(&str, u16); 13] = [
    ("not_found", 404),
    ("already_exists", 409),
    ("permission_denied", 403),
    ("invalid_input", 400),
    ("invalid_range", 416),
    ("authorization_required", 401),
    ("rate_limited", 429),
    ("conflict", 409),
    ("unsupported", 501),
    ("unavailable", 503),
    ("insufficient_storage", 507),
    ("internal", 500),
    ("plugin_panicked", 500),
];

/// Large streams that fail after their first chunk: the response starts (200) but must end
/// short of its announced length, never look complete.
const BROKEN_STREAMS: [&str; 4] = [
    "big-stream-panic",
    "big-stream-hang",
    "big-stream-error",
    "big-stream-garbage",
];

/// Sends one case; `None` when it got the answer it must, or what went wrong.
fn run_case(h: &Host, case: &Case) -> Option<String> {
    let url = h.action_url(&case.query);
    let sent = match case.method {
        "GET" => h.client.get(&url).send(),
        _ => h.client.post(&url).body(b"body".to_vec()).send(),
    };
    let r = match sent {
        Ok(r) => r,
        Err(e) => return Some(format!("{}: no answer: {e}", case.query)),
    };
    let (status, v) = json_of(r);
    let got = v["error"]["code"].as_str().unwrap_or("");
    (status != case.status || got != case.code).then(|| {
        format!(
            "{} {}: expected {} {}, got {status} {v}",
            case.method, case.query, case.status, case.code
        )
    })
}

/// Downloads a broken stream; `None` when the body came out visibly truncated.
fn run_broken_stream(h: &Host, name: &str) -> Option<String> {
    let url = h.action_url(&format!("get_action=download&ws=faulty&file={name}"));
    let r = match h.client.get(&url).send() {
        Ok(r) => r,
        Err(_) => return None, // cut before the head: fine
    };
    let announced = r.content_length();
    match r.bytes() {
        Err(_) => None,
        Ok(body) if announced != Some(body.len() as u64) => None,
        Ok(body) => Some(format!(
            "{name}: looked complete ({} bytes, announced {announced:?})",
            body.len()
        )),
    }
}

/// Sends every case and broken stream `rounds` times from 8 threads; the requests sent and
/// the failures seen.
fn run_rounds(h: &Host, cases: &[Case], rounds: usize) -> (usize, Vec<String>) {
    const WORKERS: usize = 8;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                scope.spawn(move || {
                    let (mut sent, mut failed) = (0, Vec::new());
                    for round in 0..rounds {
                        for (i, case) in cases.iter().enumerate() {
                            if (i + round) % WORKERS == w {
                                sent += 1;
                                failed.extend(run_case(h, case));
                            }
                        }
                        for (i, name) in BROKEN_STREAMS.iter().enumerate() {
                            if (i + round) % WORKERS == w {
                                sent += 1;
                                failed.extend(run_broken_stream(h, name));
                            }
                        }
                    }
                    (sent, failed)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).fold(
            (0, Vec::new()),
            |(n, mut all), (sent, failed)| {
                all.extend(failed);
                (n + sent, all)
            },
        )
    })
}

#[test]
fn every_operation_fails_cleanly_under_every_fault_and_nothing_leaks() {
    let config = format!("{}\n[limits]\nplugin_timeout_secs = 1\n", faulty_config());
    let h = Host::start(HostSetup::new(
        config,
        vec![manifest("access.fs.toml"), manifest("access.faulty.toml")],
    ));
    let cases = fault_matrix();
    // A first round grows the pools (store connections, client connections, blocking threads)
    // to their working size; what the next six rounds add is what leaks.
    let (mut requests, mut failures) = run_rounds(&h, &cases, 1);
    let pid = h.pid();
    let fds_before = fd_count(pid);
    let threads_before = proc_status(pid, "Threads");
    let started = Instant::now();
    let (sent, failed) = run_rounds(&h, &cases, 6);
    let elapsed = started.elapsed();
    requests += sent;
    failures.extend(failed);

    // Hung plugin calls finish on their own (2.5 s, 5 s for a stream); idle blocking threads
    // leave after tokio's 10 s keep-alive. Then nothing may be left over.
    let settle = Instant::now();
    let (mut fds, mut threads) = (fd_count(pid), proc_status(pid, "Threads"));
    while (fds > fds_before + 4 || threads > threads_before + 4)
        && settle.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(250));
        (fds, threads) = (fd_count(pid), proc_status(pid, "Threads"));
    }
    println!(
        "plugin faults: {} cases + {} broken streams, {requests} requests in {elapsed:.1?}, \
         {} failures; fds {fds_before} -> {fds}, threads {threads_before} -> {threads}, \
         RSS {} KiB",
        cases.len(),
        BROKEN_STREAMS.len(),
        failures.len(),
        proc_status(pid, "VmRSS"),
    );
    assert!(requests >= 1000, "{requests} requests");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        fds <= fds_before + 4,
        "file descriptors leaked: {fds_before} -> {fds}"
    );
    assert!(
        threads <= threads_before + 4,
        "threads leaked: {threads_before} -> {threads}"
    );

    // The host still serves, the faulty plugin included.
    let (s, v) = h.get("get_action=stat&ws=faulty&file=hello.txt");
    assert_eq!(s, 200, "{v}");
    let (s, _) = h.get("get_action=ls&ws=files");
    assert_eq!(s, 200);
}

/// A driver that declares `Capabilities::QUICK` has its `stat` and `read` made on the host's
/// async threads: a fault there fails the request the same way, and a call that waits sends
/// the workspace's calls back to the blocking pool (and its deadline).
#[test]
fn a_quick_driver_is_called_on_the_async_threads_until_a_call_waits() {
    let quick = |id: &str| {
        format!("[[workspaces]]\nid = \"{id}\"\ndriver = \"access.faulty\"\nparams = {{ QUICK = true }}\n")
    };
    let config = format!(
        "{}{}{}\n[limits]\nplugin_timeout_secs = 1\n",
        faulty_config(),
        quick("quick"),
        quick("slow")
    );
    // Whether the host warned that `workspace`'s lane closed, for `why`.
    let warned = |h: &Host, workspace: &str, why: &str| {
        h.log().lines().any(|line| {
            line.contains("a quick driver call")
                && line.contains(why)
                && line.contains(&format!("workspace={workspace}"))
        })
    };
    let mut h = Host::start(HostSetup::new(
        config,
        vec![manifest("access.fs.toml"), manifest("access.faulty.toml")],
    ));
    // The first call opens the driver on the pool; the next ones take the quick lane.
    for _ in 0..2 {
        let (s, v) = h.get("get_action=stat&ws=quick&file=hello.txt");
        assert_eq!(s, 200, "{v}");
        let (s, v) = h.get("get_action=stat&ws=quick&file=panic");
        assert_eq!((s, code(&v)), (500, "plugin_panicked"), "{v}");
        let (s, v) = h.get("get_action=download&ws=quick&file=stream-error");
        assert_eq!((s, code(&v)), (500, "internal"), "{v}");
        let (s, v) = h.get("get_action=download&ws=quick&file=error-not_found");
        assert_eq!((s, code(&v)), (404, "not_found"), "{v}");
    }
    let r = h
        .client
        .get(h.action_url("get_action=download&ws=quick&file=hello.txt"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().unwrap().as_ref(), b"hello from a faulty plugin\n");
    assert!(h.alive(), "host died:\n{}", h.log());

    // A quick call is not held to the deadline: a hang runs its course (2.5 s) and answers.
    // The pool would have answered 504 after the 1 s deadline, so this also proves the call
    // took the quick lane.
    for _ in 0..2 {
        let (s, _) = h.get("get_action=stat&ws=slow&file=hello.txt");
        assert_eq!(s, 200);
    }
    assert!(!warned(&h, "slow", ""), "{}", h.log());
    let (s, v) = h.get("get_action=stat&ws=slow&file=hang");
    assert_eq!(s, 200, "{v}");
    assert!(warned(&h, "slow", "waited"), "{}", h.log());
    // From now on the workspace's calls take the pool, with its deadline.
    let (s, v) = h.get("get_action=stat&ws=slow&file=hang");
    assert_eq!((s, code(&v)), (504, "plugin_timeout"), "{v}");
    let (s, v) = h.get("get_action=stat&ws=slow&file=hello.txt");
    assert_eq!(s, 200, "{v}");

    // A driver that does not declare quick calls never takes that lane.
    let (s, v) = h.get("get_action=stat&ws=faulty&file=hang");
    assert_eq!((s, code(&v)), (504, "plugin_timeout"), "{v}");
}

#[test]
fn refused_plugins_are_named_with_their_reason_and_the_others_load() {
    // A real shared library that is not a plugin, and a file that is not a library at all.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("x.c"),
        "int not_a_plugin(void) { return 1; }\n",
    )
    .unwrap();
    let cc = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(dir.path().join("libnotaplugin.so"))
        .arg(dir.path().join("x.c"))
        .status()
        .expect("run cc (gcc is part of every machine this project runs on)");
    assert!(cc.success());
    let not_a_plugin = std::fs::read(dir.path().join("libnotaplugin.so")).unwrap();

    let mismatch = "id = \"access.mismatch\"\ntype = \"access\"\nlabel = \"Mismatch\"\nlibrary = \"access_impostor\"\nenabled = true\n\n[[actions]]\nname = \"faulty_panic\"\nrights = \"public\"\n";
    let h = Host::start(HostSetup {
        config: fs_config(),
        env: Vec::new(),
        plugin_files: vec![
            ("libnotaplugin.so".into(), not_a_plugin),
            ("libgarbage.so".into(), b"not an ELF file".to_vec()),
        ],
        manifests: vec![
            manifest("access.fs.toml"),
            manifest("access.faulty.toml"),
            manifest("access.impostor.toml"),
            ("access.mismatch.toml".into(), mismatch.into()),
            (
                "access.notaplugin.toml".into(),
                "id = \"access.notaplugin\"\ntype = \"access\"\nlabel = \"N\"\nlibrary = \"notaplugin\"\nenabled = true\n".into(),
            ),
            (
                "access.garbage.toml".into(),
                "id = \"access.garbage\"\ntype = \"access\"\nlabel = \"G\"\nlibrary = \"garbage\"\nenabled = true\n".into(),
            ),
            ("access.broken.toml".into(), "id = \"access.broken\"\ntype = \n".into()),
        ],
    });
    let out = Command::new(wshost_exe())
        .args(["plugins", "list", "--json", "--config"])
        .arg(h.dir.path().join("host.toml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let status = |id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed in {list}"))["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status("access.fs"), "loaded");
    assert_eq!(status("access.faulty"), "loaded");
    let dup = status("access.impostor");
    assert!(
        dup.contains("faulty_panic") && dup.contains("access.faulty"),
        "{dup}"
    );
    let mis = status("access.mismatch");
    assert!(
        mis.contains("access.impostor") && mis.contains("access.mismatch"),
        "{mis}"
    );
    let broken = status("access.broken");
    assert!(
        broken.contains("access.broken.toml:2:"),
        "names file, line and column: {broken}"
    );
    let not_plugin = status("access.notaplugin");
    assert!(
        not_plugin.contains("libnotaplugin.so") && not_plugin.contains("not a wshost plugin"),
        "{not_plugin}"
    );
    let garbage = status("access.garbage");
    assert!(
        garbage.contains("libgarbage.so") && garbage.contains("not a loadable library"),
        "{garbage}"
    );

    // The host serves what loaded.
    let (s, _) = h.get("get_action=ls&ws=files");
    assert_eq!(s, 200);
    let (s, v) = h.get("get_action=faulty_panic");
    assert_eq!(
        (s, code(&v)),
        (500, "plugin_panicked"),
        "served by access.faulty, not the impostor: {v}"
    );
}

/// A plugin whose initialization hangs is loaded off the async threads within the plugin
/// deadline, at start-up and on first use: the host starts, serves the other plugins at
/// once, answers the hanging one's actions 503 within the deadline, and uses it once its
/// initialization ends.
#[test]
fn a_plugin_whose_initialization_hangs_holds_up_nothing_else() {
    let config = format!("{}\n[limits]\nplugin_timeout_secs = 1\n", faulty_config());
    build(); // not timed: the host's start is
    let started = Instant::now();
    let h = Host::start(HostSetup {
        config,
        manifests: vec![manifest("access.fs.toml"), manifest("access.faulty.toml")],
        plugin_files: Vec::new(),
        env: vec![("FAULTY_INIT_HANG_SECS".into(), "8".into())],
    });
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "start-up waited for the hanging plugin: {:?}",
        started.elapsed()
    );
    // access.fs loaded beside it.
    let (s, v) = h.get("get_action=ls&ws=files&dir=/");
    assert_eq!(s, 200, "{v}");
    let asked = Instant::now();
    let (s, v) = h.get("get_action=faulty_panic");
    assert_eq!((s, code(&v)), (503, "plugin_unavailable"), "{v}");
    assert!(
        asked.elapsed() < Duration::from_secs(4),
        "{:?}",
        asked.elapsed()
    );
    // While it still loads, the host answers everything else.
    let (s, _) = h.get("get_action=stat&ws=files&file=/");
    assert_eq!(s, 200);
    assert!(h.logged("did not load within 1 s"), "the timeout is logged");
    // Once its initialization ends, it serves.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (s, v) = h.get("get_action=faulty_echo&ws=faulty&x=1");
        if s == 202 {
            assert_eq!(v["query"]["x"], "1", "{v}");
            break;
        }
        assert!(Instant::now() < deadline, "never served: {v}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The UI's file browser gets the same checked listing as the API: a driver that lists
/// paths no client could send (`..`, NUL, another folder) shows the browser's error, 502,
/// and none of those names reach the page.
#[test]
fn the_file_browser_renders_only_checked_listings() {
    let h = Host::start(HostSetup::new(
        faulty_config(),
        vec![manifest("access.fs.toml"), manifest("access.faulty.toml")],
    ));
    let r = h
        .client
        .get(format!("{}/ui/workspaces/faulty?dir=garbage", h.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 502);
    let page = r.text().unwrap();
    assert!(page.contains("id=\"list-error\""), "{page}");
    // The bad path is named once, in the message, and listed nowhere.
    assert_eq!(page.matches("escape").count(), 1, "{page}");
    assert!(!page.contains('\0'), "{page}");
    let (s, v) = h.get("get_action=ls&ws=faulty&dir=garbage");
    assert_eq!((s, code(&v)), (502, "plugin_bad_answer"), "{v}");
}
