//! What operators rely on: health and readiness, metrics, request ids and JSON logs,
//! graceful shutdown, and `wshost config check`.

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use wshost_tests::*;

fn host() -> Host {
    Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ))
}

#[test]
fn readyz_follows_the_store() {
    let db = PgDatabase::create();
    let h = Host::start(HostSetup::new(
        format!("database = \"{}\"\n{}", db.url, fs_config()),
        vec![manifest("access.fs.toml")],
    ));
    let anonymous = Client::new();
    let ready = || {
        anonymous
            .get(format!("{}/readyz", h.url))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(ready(), 200);
    let name = db.url.rsplit('/').next().unwrap().to_owned();
    assert!(psql(&format!(
        "ALTER DATABASE {name} ALLOW_CONNECTIONS false"
    )));
    assert!(psql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    )));
    let until = |want: u16| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while ready() != want {
            assert!(Instant::now() < deadline, "/readyz never answered {want}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    until(503);
    let (s, _) = json_of(anonymous.get(format!("{}/healthz", h.url)).send().unwrap());
    assert_eq!(s, 200, "alive even when not ready");
    assert!(psql(&format!(
        "ALTER DATABASE {name} ALLOW_CONNECTIONS true"
    )));
    until(200);
}

fn counter(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

#[test]
fn metrics_parse_and_move_with_requests() {
    let h = host();
    let scrape = || {
        let r = h.client.get(format!("{}/metrics", h.url)).send().unwrap();
        assert_eq!(r.status(), 200);
        r.text().unwrap()
    };
    let ls = [("action", "ls"), ("plugin", "access.fs"), ("status", "200")];
    let before = scrape();
    for _ in 0..3 {
        assert_eq!(h.get("get_action=ls&ws=files").0, 200);
    }
    assert_eq!(
        h.post_bytes("get_action=upload&ws=files&name=m.bin", vec![7; 10_000])
            .0,
        201
    );
    let downloaded = h
        .client
        .get(h.action_url("get_action=download&ws=files&file=m.bin"))
        .send()
        .unwrap();
    assert_eq!(downloaded.bytes().unwrap().len(), 10_000);
    assert_eq!(h.get("get_action=stat&ws=files&file=missing").0, 404);
    let after = scrape();
    assert_eq!(
        counter(&after, "wshost_requests_total", &ls)
            - counter(&before, "wshost_requests_total", &ls),
        3.0
    );
    assert!(
        counter(
            &after,
            "wshost_bytes_uploaded_total",
            &[("plugin", "access.fs")]
        ) >= 10_000.0
    );
    // Labelled with the plugin the download call noted (small bodies are sent whole).
    assert!(
        counter(
            &after,
            "wshost_bytes_downloaded_total",
            &[("plugin", "access.fs")]
        ) >= 10_000.0
    );
    assert!(
        counter(
            &after,
            "wshost_driver_errors_total",
            &[("plugin", "access.fs"), ("kind", "not_found")]
        ) >= 1.0
    );
    assert_eq!(
        counter(&after, "wshost_plugin_loaded", &[("plugin", "access.fs")]),
        1.0
    );
    assert!(
        after.contains("wshost_request_duration_seconds_bucket"),
        "latency histogram"
    );
    // Not for everyone.
    let user = h.add_user("metric-reader", false);
    assert_eq!(
        user.get(format!("{}/metrics", h.url))
            .send()
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        Client::new()
            .get(format!("{}/metrics", h.url))
            .send()
            .unwrap()
            .status(),
        401
    );
}

#[test]
fn every_response_has_a_request_id_and_logs_can_be_json() {
    let mut setup = HostSetup::new(fs_config(), vec![manifest("access.fs.toml")]);
    setup.env.push(("WSHOST_LOG_FORMAT".into(), "json".into()));
    let h = Host::start(setup);
    let r = h
        .client
        .get(h.action_url("get_action=stat&ws=files&file=nope"))
        .send()
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    std::thread::sleep(Duration::from_millis(200));
    let log = h.log();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty(), "JSON log lines:\n{log}");
    assert!(
        lines.iter().any(|l| l.to_string().contains(&id)),
        "the request's lines carry its id {id}:\n{log}"
    );
}

#[test]
fn sigterm_lets_a_download_finish_and_refuses_new_connections() {
    const SIZE: usize = 48 << 20;
    let mut h = host();
    assert_eq!(
        h.post_bytes("get_action=upload&ws=files&name=big.bin", vec![5; SIZE])
            .0,
        201
    );
    let mut r = h
        .client
        .get(h.action_url("get_action=download&ws=files&file=big.bin"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut buf = vec![0u8; 1 << 20];
    let mut got = r.read(&mut buf).unwrap();
    let kill = Command::new("kill")
        .args(["-TERM", &h.pid().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    // New connections are refused once the listener has closed.
    let addr = h.url.trim_start_matches("http://").to_owned();
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(&addr).is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting connections after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The download in flight completes, slowly read.
    loop {
        match r.read(&mut buf).unwrap() {
            0 => break,
            n => got += n,
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(got, SIZE, "the in-flight download completed");
    let status = h
        .wait_exit(Duration::from_secs(10))
        .expect("the host exits after draining");
    assert!(status.success(), "{status:?}");
    assert!(h.log().contains("stopped"));
}

#[test]
fn a_second_signal_stops_at_once() {
    let mut h = host();
    assert_eq!(
        h.post_bytes("get_action=upload&ws=files&name=big.bin", vec![5; 32 << 20])
            .0,
        201
    );
    let mut r = h
        .client
        .get(h.action_url("get_action=download&ws=files&file=big.bin"))
        .send()
        .unwrap();
    let mut buf = [0u8; 1024];
    r.read_exact(&mut buf).unwrap();
    let pid = h.pid().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(h.alive(), "draining, the download is not finished");
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(
        h.wait_exit(Duration::from_secs(5)).is_some(),
        "exits at once on the second signal"
    );
}

/// `[dav]` values `config check` refuses are each named by key, with the file.
#[test]
fn dav_settings_are_checked_with_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("host.toml");
    std::fs::write(
        &config,
        "[dav]\nrealm = \"\"\napple_files = \"sometimes\"\nmax_propfind_entries = 0\n",
    )
    .unwrap();
    let out = Command::new(wshost_exe())
        .args(["config", "check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    for key in ["dav.realm", "dav.apple_files", "dav.max_propfind_entries"] {
        let line = format!("{}: key `{key}`", config.display());
        assert!(text.contains(&line), "{line} in:\n{text}");
    }
    assert!(text.contains("expected \"allow\" or \"refuse\""), "{text}");
}

#[test]
fn config_check_reports_every_problem_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    std::fs::copy(
        root().join("manifests/access.fs.toml"),
        manifests.join("access.fs.toml"),
    )
    .unwrap();
    std::fs::write(
        manifests.join("access.bad.toml"),
        "id = \"access.bad\"\ntype = [\n",
    )
    .unwrap();
    let config = dir.path().join("host.toml");
    let write = |listen: &str, driver: &str| {
        std::fs::write(
            &config,
            format!(
                "listen = \"{listen}\"\nmanifest_dirs = [\"{}\"]\nplugin_dirs = [\"{}\"]\n[[workspaces]]\nid = \"w\"\ndriver = \"{driver}\"\nparams = {{ ROOT = \"/srv\" }}\n",
                manifests.display(),
                target_dir().display()
            ),
        )
        .unwrap()
    };
    build();
    let check = || {
        let out = Command::new(wshost_exe())
            .args(["config", "check", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    write("not-an-address", "access.nothing");
    let (ok, out) = check();
    assert!(!ok);
    assert!(
        out.contains("key `listen`") && out.contains("not-an-address"),
        "{out}"
    );
    assert!(
        out.contains("key `workspaces.driver`") && out.contains("access.nothing"),
        "{out}"
    );
    assert!(
        out.contains("access.bad.toml:3:1"),
        "the malformed manifest with its position: {out}"
    );

    std::fs::remove_file(manifests.join("access.bad.toml")).unwrap();
    write("127.0.0.1:8080", "access.fs");
    let (ok, out) = check();
    assert!(ok && out.starts_with("ok:"), "{out}");
}

/// Issue 22, trap 9: `config check` validates the secrets key, tries the database, refuses
/// metrics on the main address, blames a flag for its own value, and says each thing once.
#[test]
fn config_check_checks_the_key_the_database_and_blames_the_flag() {
    build();
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    std::fs::copy(
        root().join("manifests/access.fs.toml"),
        manifests.join("access.fs.toml"),
    )
    .unwrap();
    let config = dir.path().join("host.toml");
    let base = format!(
        "listen = \"127.0.0.1:8080\"\ndata_dir = \"{}\"\nmanifest_dirs = [\"{}\"]\nplugin_dirs = [\"{}\"]\n",
        dir.path().join("data").display(),
        manifests.display(),
        target_dir().display()
    );
    let check = |extra: &str, args: &[&str], env: &[(&str, &str)]| {
        std::fs::write(&config, format!("{base}{extra}")).unwrap();
        let out = Command::new(wshost_exe())
            .args(["config", "check", "--config"])
            .arg(&config)
            .args(args)
            .env_remove("WSHOST_SECRET_KEY")
            .env_remove("WSHOST_DATABASE_URL")
            .env_remove("WSHOST_LISTEN")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let problems: Vec<String> = stdout
            .lines()
            .filter(|l| !l.starts_with("warning:") && !l.starts_with("ok:"))
            .map(str::to_owned)
            .collect();
        (out.status.success(), stdout, problems)
    };
    let file = format!("config file {}", config.display());

    // The baseline passes: the SQLite file's folder can be made.
    let (ok, out, _) = check("", &[], &[]);
    assert!(ok && out.contains("ok:"), "{out}");

    // The secrets key, from the file or from the environment, each blamed on its source.
    let (ok, out, problems) = check("secret_key = \"c2hvcnQ=\"\n", &[], &[]);
    assert!(!ok, "{out}");
    assert_eq!(problems.len(), 1, "{out}");
    assert!(
        problems[0].starts_with(&format!("{file}: key `secret_key`: invalid secrets key"))
            && problems[0].contains("decodes to 5 bytes")
            && !problems[0].contains("c2hvcnQ"),
        "{out}"
    );
    let (_, out, problems) = check("", &[], &[("WSHOST_SECRET_KEY", "not base64!")]);
    assert_eq!(problems.len(), 1, "{out}");
    assert!(
        problems[0].starts_with("WSHOST_SECRET_KEY: key `secret_key`: invalid secrets key"),
        "{out}"
    );
    let good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let (ok, out, _) = check(&format!("secret_key = \"{good}\"\n"), &[], &[]);
    assert!(ok, "{out}");

    // A PostgreSQL that does not answer: the key `database`, no password.
    let port = free_port();
    let url = format!("postgres://wshost:hunter2secret@127.0.0.1:{port}/wshost");
    let (ok, out, problems) = check(&format!("database = \"{url}\"\n"), &[], &[]);
    assert!(!ok, "{out}");
    assert_eq!(problems.len(), 1, "{out}");
    assert!(
        problems[0].starts_with(&format!("{file}: key `database`: cannot connect"))
            && !out.contains("hunter2secret"),
        "{out}"
    );
    let (_, out, problems) = check("", &["--database", &url], &[]);
    assert_eq!(problems.len(), 1, "{out}");
    assert!(
        problems[0].starts_with("--database / WSHOST_DATABASE_URL: key `database`")
            && !out.contains("hunter2secret"),
        "{out}"
    );
    // A SQLite file in a folder that cannot be made.
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let (_, out, problems) = check(
        &format!(
            "database = \"sqlite://{}/sub/wshost.db\"\n",
            blocker.display()
        ),
        &[],
        &[],
    );
    assert_eq!(problems.len(), 1, "{out}");
    assert!(problems[0].contains("key `database`"), "{out}");

    // Metrics on the main listener's address.
    let (_, out, problems) = check("metrics_listen = \"127.0.0.1:8080\"\n", &[], &[]);
    assert_eq!(problems.len(), 1, "{out}");
    assert!(
        problems[0].starts_with(&format!("{file}: key `metrics_listen`"))
            && problems[0].contains("is also `listen`"),
        "{out}"
    );

    // A bad flag is the flag's, not host.toml's; and so is its variable.
    let (_, out, problems) = check("", &["--listen", "nope"], &[]);
    assert_eq!(
        problems,
        ["--listen / WSHOST_LISTEN: key `listen`: expected an address like 127.0.0.1:8080, got 'nope'"],
        "{out}"
    );
    let (_, out, problems) = check("", &["--public-url", "ftp://x"], &[]);
    assert_eq!(problems.len(), 1, "{out}");
    assert!(
        problems[0].starts_with("--public-url / WSHOST_PUBLIC_URL: key `public_url`"),
        "{out}"
    );
    let (_, out, problems) = check("", &[], &[("WSHOST_LISTEN", "nope")]);
    assert_eq!(problems.len(), 1, "{out}");
    assert!(problems[0].starts_with("--listen / WSHOST_LISTEN"), "{out}");

    // One missing manifest folder: one line, not one more per workspace using its drivers.
    let (_, out, problems) = check(
        "[[workspaces]]\nid = \"a\"\ndriver = \"access.fs\"\n[[workspaces]]\nid = \"b\"\ndriver = \"access.fs\"\n",
        &["--manifests-dir", "/no/such/manifests"],
        &[],
    );
    assert_eq!(problems.len(), 1, "{out}");
    assert!(
        problems[0].contains("key `manifest_dirs`") && problems[0].contains("/no/such/manifests"),
        "{out}"
    );
}

/// Issue 15, finding 5 (log forging): values a client sends (a login's user name, an action
/// name, a workspace id) are escaped in every line of the text log, so a value holding a
/// newline and a fake line never starts a line of its own, and no escape sequence reaches the
/// terminal of whoever reads the log.
#[test]
fn client_supplied_values_never_start_a_log_line() {
    const FAKE: &str = "2001-02-03T04:05:06.000000Z  INFO wshost::auth: logged in user=admin";
    let mut setup = HostSetup::new(fs_config(), vec![manifest("access.fs.toml")]);
    // Debug level: the refusals that quote what the client sent are logged too.
    setup.env.push(("WSHOST_LOG".into(), "debug".into()));
    let h = Host::start(setup);
    let forged = format!("bob\n{FAKE}\r\n\u{1b}[1A\u{1b}[2K");
    let encoded: String = url::form_urlencoded::byte_serialize(forged.as_bytes()).collect();
    let anonymous = Client::new();
    let r = anonymous
        .post(h.api("login"))
        .json(&json!({"username": forged, "password": "x"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400, "a name no user can have");
    let r = anonymous
        .post(format!("{}/ui/login", h.url))
        .form(&[("username", forged.as_str()), ("password", "x")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let (s, _) = h.get(&format!("get_action={encoded}&ws=files"));
    assert_eq!(s, 404, "an unknown action");
    let (s, _) = h.get(&format!("get_action=ls&ws={encoded}"));
    assert!(s >= 400, "an unknown workspace: {s}");
    std::thread::sleep(Duration::from_millis(300));
    let log = h.log();
    let forged_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("2001-02-03"))
        .collect();
    assert!(
        forged_lines.is_empty(),
        "forged log lines: {forged_lines:#?}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "an escape sequence reached the log"
    );
    assert!(
        log.contains(&format!("bob\\n{FAKE}")),
        "the value is logged, escaped, on its line:\n{log}"
    );
}

/// `config check` warns, without failing, of what would bite a shared deployment: a redirect
/// URL off the public URL, and the embedded workspaces on one instance's data folder with a
/// PostgreSQL store.
#[test]
fn config_check_warns_of_a_stale_redirect_url_and_local_defaults_on_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    for file in ["access.dropbox.toml", "access.fs.toml"] {
        std::fs::copy(root().join("manifests").join(file), manifests.join(file)).unwrap();
    }
    let check = |toml: &str| {
        let config = dir.path().join("host.toml");
        let head = format!(
            "public_url = \"https://files.example\"\ndata_dir = \"{}\"\nmanifest_dirs = [\"{}\"]\nplugin_dirs = [\"{}\"]\n",
            dir.path().join("data").display(),
            manifests.display(),
            target_dir().display()
        );
        std::fs::write(&config, head + toml).unwrap();
        let out = Command::new(wshost_exe())
            .args(["config", "check", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.success(), text)
    };
    build();
    let (ok, text) = check(
        "[[workspaces]]\nid = \"dbx\"\ndriver = \"access.dropbox\"\n\
         params = { CLIENT_ID = \"abc\", REDIRECT_URL = \"http://127.0.0.1:8080/index.php?get_action=dropbox_oauth_authorize\" }\n",
    );
    assert!(ok, "a warning does not fail the check: {text}");
    assert!(
        text.contains("warning: ")
            && text.contains("workspace 'dbx': REDIRECT_URL is http://127.0.0.1:8080/")
            && text.contains("public URL https://files.example"),
        "{text}"
    );
    let (ok, text) = check("[[workspaces]]\nid = \"dbx\"\ndriver = \"access.dropbox\"\nparams = { CLIENT_ID = \"abc\" }\n");
    assert!(
        ok && !text.contains("warning"),
        "the default follows: {text}"
    );
    // A database that answers: `config check` connects to it (and passes).
    let pg = PgDatabase::create();
    let (ok, text) = check(&format!("database = \"{}\"\n", pg.url));
    assert!(ok, "{text}");
    assert!(
        text.contains("warning: the embedded workspaces files and my-files"),
        "{text}"
    );
}

/// With `shutdown_drain_secs`, a SIGTERM first fails `/readyz` (so a balancer stops sending)
/// while requests are still served, and only after the drain closes the listener.
#[test]
fn sigterm_fails_readyz_for_the_drain_period_before_the_listener_closes() {
    let mut h = Host::start(HostSetup::new(
        format!("shutdown_drain_secs = 3\n{}", fs_config()),
        vec![manifest("access.fs.toml")],
    ));
    let ready = |h: &Host| {
        h.client
            .get(format!("{}/readyz", h.url))
            .send()
            .map(|r| r.status().as_u16())
    };
    assert_eq!(ready(&h).unwrap(), 200);
    let signalled = Instant::now();
    Command::new("kill")
        .args(["-TERM", &h.pid().to_string()])
        .status()
        .unwrap();
    // Within the drain: not ready, yet still serving.
    let deadline = Instant::now() + Duration::from_secs(2);
    while ready(&h).unwrap() != 503 {
        assert!(
            Instant::now() < deadline,
            "/readyz still ready after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (s, v) = h.get("get_action=ls&ws=files");
    assert_eq!(s, 200, "requests are served during the drain: {v}");
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "probed within the drain"
    );
    // After it: the listener closes and the host exits.
    let status = h
        .wait_exit(Duration::from_secs(15))
        .expect("the host exits after the drain");
    assert!(status.success(), "{status:?}");
    assert!(
        signalled.elapsed() >= Duration::from_secs(3),
        "the listener stayed open for the drain: {:?}",
        signalled.elapsed()
    );
    assert!(
        h.logged("draining: /readyz answers 503 for 3s"),
        "{}",
        h.log()
    );
}

/// The JSON log lines of `h` so far.
fn json_lines(h: &Host) -> Vec<serde_json::Value> {
    h.log()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The access line of the request whose id is `id`, waiting for it a little.
fn access_line(h: &Host, id: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lines: Vec<_> = json_lines(h)
            .into_iter()
            .filter(|l| l["target"] == "wshost::access" && l["request_id"] == id)
            .collect();
        if !lines.is_empty() {
            assert_eq!(lines.len(), 1, "one access line per request: {lines:?}");
            return lines[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "no access line for {id}:\n{}",
            h.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn json_host(config: String) -> Host {
    let mut setup = HostSetup::new(config, vec![manifest("access.fs.toml")]);
    setup.env.push(("WSHOST_LOG_FORMAT".into(), "json".into()));
    Host::start(setup)
}

#[test]
fn the_access_line_carries_who_what_where_outcome_and_id_as_fields() {
    let h = json_host(fs_config());
    let r = h
        .client
        .get(h.action_url("get_action=ls&ws=files&dir=/"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body = r.bytes().unwrap();
    let line = access_line(&h, &id);
    assert_eq!(line["user"], "admin", "{line}");
    assert_eq!(line["action"], "ls", "{line}");
    assert_eq!(line["workspace"], "files", "{line}");
    assert_eq!(line["status"], 200, "{line}");
    assert_eq!(line["bytes"].as_u64(), Some(body.len() as u64), "{line}");
    assert!(
        line["latency_ms"].as_f64().is_some_and(|l| l >= 0.0),
        "{line}"
    );
    // No trusted proxy configured: the header is the client's word, not the address.
    assert_eq!(line["client"], "127.0.0.1", "{line}");
    assert_eq!(line["level"], "INFO", "{line}");

    // Anonymous, outside `get_action`: no user, the route as the action.
    let r = Client::new()
        .get(format!("{}/healthz", h.url))
        .send()
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let line = access_line(&h, &id);
    assert!(line["user"].is_null(), "{line}");
    assert_eq!(line["action"], "GET /healthz", "{line}");
    assert_eq!(line["status"], 200, "{line}");
}

#[test]
fn behind_a_trusted_proxy_the_client_is_the_forwarded_address() {
    let h = json_host(format!(
        "trusted_proxies = [\"127.0.0.0/8\"]\n{}",
        fs_config()
    ));
    let r = h
        .client
        .get(h.action_url("get_action=ls&ws=files&dir=/"))
        .header("x-forwarded-for", "198.51.100.1, 203.0.113.9")
        .send()
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let line = access_line(&h, &id);
    assert_eq!(line["client"], "203.0.113.9", "{line}");
    let r = h
        .client
        .get(h.action_url("get_action=ls&ws=files&dir=/"))
        .send()
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(access_line(&h, &id)["client"], "127.0.0.1");
}

/// `wshost ARGS --config` of `h`, with `env`: success, stdout, stderr.
fn cli(h: &Host, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = Command::new(wshost_exe())
        .args(args)
        .arg("--config")
        .arg(h.dir.path().join("host.toml"))
        .env_remove("WSHOST_LOG")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn administration_lines_name_the_admin_who_did_it() {
    let h = json_host(fs_config());
    h.add_user("bob", false);
    h.grant("files", "bob", "r");
    let deadline = Instant::now() + Duration::from_secs(5);
    let granted = loop {
        if let Some(l) = json_lines(&h)
            .into_iter()
            .find(|l| l["message"] == "access granted")
        {
            break l;
        }
        assert!(Instant::now() < deadline, "no grant line:\n{}", h.log());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(granted["admin"], "admin", "{granted}");
    assert_eq!(granted["user"], "bob", "{granted}");
    assert_eq!(granted["workspace"], "files", "{granted}");

    // From the command line, the console's operator.
    let (ok, _, err) = cli(
        &h,
        &["workspace", "revoke", "files", "bob"],
        &[("WSHOST_LOG_FORMAT", "json")],
    );
    assert!(ok, "{err}");
    let revoked: serde_json::Value = err
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"] == "access revoked")
        .unwrap_or_else(|| panic!("no revoke line: {err}"));
    assert_eq!(revoked["admin"], "console", "{revoked}");
}

#[test]
fn commands_print_no_start_up_info_lines_unless_wshost_log_asks() {
    let h = host();
    let info = |err: &str| {
        err.lines()
            .any(|l| l.contains(" INFO ") || l.contains("INFO "))
    };
    for args in [
        &["workspace", "list"][..],
        &["user", "list"],
        &["workspace", "verify", "files"],
    ] {
        let (ok, out, err) = cli(&h, args, &[]);
        assert!(ok, "{args:?}: {out}{err}");
        assert!(!info(&err), "{args:?} printed info lines:\n{err}");
    }
    let (ok, _, err) = cli(
        &h,
        &["workspace", "verify", "files"],
        &[("WSHOST_LOG", "info")],
    );
    assert!(ok && info(&err) && err.contains("store open"), "{err}");
    // `serve` keeps its info lines.
    assert!(h.log().contains("store open"), "{}", h.log());
}
