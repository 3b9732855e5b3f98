//! Test support for the integration tests: builds the real `wshost` binary and plugin
//! libraries once, starts hosts in temporary folders on free ports, and talks to them over
//! HTTP. The libraries are loaded by the `wshost` process, never linked into the tests.

pub mod dav;
pub mod fake_dropbox;
pub mod s3;
pub mod sshd;
pub mod tidy;
pub mod unit;
pub mod webdav;

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use reqwest::blocking::Client;
pub use serde_json::{json, Value};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The folder where cargo puts the binary and the plugin libraries.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
        .join("debug")
}

/// `cargo` (the one running the tests) in the workspace root, for a command of the workspace
/// such as `build` or `deb`.
pub fn cargo() -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    // What cargo set for this test crate is not the build's: ring's build script tracks
    // CARGO_MANIFEST_DIR, so inheriting it rebuilt ring and all above it (rustls, sqlx)
    // on every switch between `cargo test` and this build.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .contains(&name.as_str())
        {
            command.env_remove(name);
        }
    }
    command.current_dir(root());
    command
}

/// Builds `wshost` and every plugin crate once per test process (a no-op when up to date).
pub fn build() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = cargo()
            .args([
                "build",
                "-p",
                "wshost",
                "-p",
                "access-fs",
                "-p",
                "access-faulty",
                "-p",
                "access-impostor",
                "-p",
                "access-dropbox",
                "-p",
                "access-sftp",
                "-p",
                "access-s3",
                "-p",
                "access-zipro",
            ])
            .status()
            .expect("run cargo build");
        assert!(
            status.success(),
            "cargo build of the binary and plugins failed"
        );
        target_dir()
    })
}

/// The `wshost` executable.
pub fn wshost_exe() -> PathBuf {
    build().join("wshost")
}

/// A free loopback port (raced only by other processes, which is rare enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// A running host, killed when dropped. Its stderr is collected into `log()`.
pub struct Host {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The host's folder: `host.toml`, `manifests/`, `plugins/`, `data/`.
    pub dir: tempfile::TempDir,
    child: Child,
    log: std::sync::Arc<Mutex<String>>,
    /// A client logged in as `admin` (session cookie and CSRF token on every request).
    pub client: Client,
}

/// What a test host is made of.
pub struct HostSetup {
    /// The `host.toml` text; `{dir}` is replaced by the host's temporary folder.
    pub config: String,
    /// Manifest files to write into `{dir}/manifests` (name, text); the repository's
    /// `manifests/` and `tests/manifests/` are NOT used unless copied with [`manifest`].
    pub manifests: Vec<(String, String)>,
    /// Files to write into `{dir}/plugins`, the first plugin folder (name, bytes).
    pub plugin_files: Vec<(String, Vec<u8>)>,
    /// Extra environment variables for the host process.
    pub env: Vec<(String, String)>,
}

impl HostSetup {
    /// A setup with `config` and `manifests` and no extra plugin files.
    pub fn new(config: String, manifests: Vec<(String, String)>) -> Self {
        HostSetup {
            config,
            manifests,
            plugin_files: Vec::new(),
            env: Vec::new(),
        }
    }
}

/// `wshost plugins test` of plugin `id` (its library as [`build`] made it, its manifest from
/// the repository's `manifests/`) with `params`: whether every case passed, and the output.
pub fn plugins_test(id: &str, params: &[(String, String)]) -> (bool, String) {
    let library = build().join(format!("lib{}.so", id.replace('.', "_")));
    let mut command = Command::new(wshost_exe());
    command
        .args(["plugins", "test"])
        .arg(library)
        .arg("--manifest")
        .arg(root().join("manifests").join(format!("{id}.toml")));
    for (k, v) in params {
        command.arg("--param").arg(format!("{k}={v}"));
    }
    let out = command.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The text of a manifest from the repository (`manifests/` or `tests/manifests/`).
pub fn manifest(file: &str) -> (String, String) {
    let path = [
        root().join("manifests").join(file),
        root().join("tests/manifests").join(file),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .unwrap_or_else(|| panic!("no manifest {file}"));
    (
        file.to_owned(),
        std::fs::read_to_string(path).expect("read manifest"),
    )
}

impl Host {
    /// Starts a host and waits until it answers.
    pub fn start(setup: HostSetup) -> Host {
        build();
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir_all(d.join("manifests")).unwrap();
        std::fs::create_dir_all(d.join("plugins")).unwrap();
        for (name, text) in &setup.manifests {
            std::fs::write(d.join("manifests").join(name), text).unwrap();
        }
        for (name, bytes) in &setup.plugin_files {
            std::fs::write(d.join("plugins").join(name), bytes).unwrap();
        }
        let port = free_port();
        let config = setup.config.replace("{dir}", &d.display().to_string());
        let config = format!(
            "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\nmanifest_dirs = [\"{}\"]\nplugin_dirs = [\"{}\", \"{}\"]\n{config}",
            d.join("data").display(),
            d.join("manifests").display(),
            d.join("plugins").display(),
            target_dir().display(),
        );
        std::fs::write(d.join("host.toml"), config).unwrap();
        let env: Vec<(&str, &str)> = setup
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (child, log) = spawn(&d.join("host.toml"), &env);
        let mut host = Host {
            url: format!("http://127.0.0.1:{port}"),
            dir,
            child,
            log,
            client: Client::new(),
        };
        host.wait_ready();
        host.client = host.login("admin", ADMIN_PASSWORD);
        host
    }

    /// A client logged in as `user`: its session cookie and CSRF token go with every request.
    pub fn login(&self, user: &str, password: &str) -> Client {
        let headers = self.session_headers(user, password);
        Client::builder()
            .default_headers(headers)
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap()
    }

    /// Logs `user` in and answers the headers of that session: `cookie` and `x-csrf-token`.
    pub fn session_headers(&self, user: &str, password: &str) -> reqwest::header::HeaderMap {
        session_headers(&self.url, user, password)
    }

    /// Creates user `name` (password `{name}-password`) through the API and logs them in.
    pub fn add_user(&self, name: &str, admin: bool) -> Client {
        let password = format!("{name}-password");
        let r = self
            .client
            .post(format!("{}/api/users", self.url))
            .json(&json!({ "name": name, "password": password, "admin": admin }))
            .send()
            .unwrap();
        assert_eq!(
            r.status(),
            201,
            "create user {name}: {}",
            r.text().unwrap_or_default()
        );
        self.login(name, &password)
    }

    /// Grants `user` access `access` (`r` or `rw`) on workspace `ws`.
    pub fn grant(&self, ws: &str, user: &str, access: &str) {
        let r = self
            .client
            .put(format!("{}/api/workspaces/{ws}/acl/{user}", self.url))
            .json(&json!({ "access": access }))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "grant: {}", r.text().unwrap_or_default());
    }

    /// Creates workspace `id` on `driver` through the API: `params`, with `extra` overriding
    /// or adding to them. Asserts 201.
    pub fn create_workspace(
        &self,
        driver: &str,
        id: &str,
        params: Vec<(String, String)>,
        extra: &[(&str, &str)],
    ) {
        let mut all = serde_json::Map::new();
        for (k, v) in params {
            all.insert(k, json!(v));
        }
        for (k, v) in extra {
            all.insert(k.to_string(), json!(v));
        }
        let (s, v) = json_of(
            self.client
                // Unchecked: tests set up workspaces for what they test, broken ones
                // included; workspace_create.rs covers the driver's check on creation.
                .post(self.api("workspaces?verify=false"))
                .json(&json!({ "id": id, "label": id, "driver": driver, "params": all }))
                .send()
                .unwrap(),
        );
        assert_eq!(s, 201, "create workspace {id}: {v}");
    }

    /// The driver's verify of workspace `id` through the API (200 whether or not the driver
    /// is satisfied; the answer says which).
    pub fn verify(&self, id: &str) -> Value {
        let (s, v) = json_of(
            self.client
                .post(self.api(&format!("workspaces/{id}/verify")))
                .send()
                .unwrap(),
        );
        assert_eq!(s, 200, "{v}");
        v
    }

    /// `{url}/api/{path}`.
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/{path}", self.url)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = self.client.get(format!("{}/healthz", self.url)).send() {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "host did not start:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the host and starts it again on the same folder and config.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let config = self.dir.path().join("host.toml");
        let (child, log) = spawn(&config, &[]);
        self.child = child;
        self.log = log;
        self.wait_ready();
        self.client = self.login("admin", ADMIN_PASSWORD);
    }

    /// What the host wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Whether the log comes to contain `text` within 20 s: a line written while a request
    /// is served reaches `log()` through a pipe and a reader thread, after the answer may
    /// have, and a host notices a client that left only at its next write.
    pub fn logged(&self, text: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.log().contains(text) {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    /// The text of the host's `/metrics`, as the logged-in admin reads it.
    pub fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.url))
            .send()
            .and_then(|r| r.text())
            .expect("GET /metrics")
    }

    /// The full URL of `/?QUERY`.
    pub fn action_url(&self, query: &str) -> String {
        format!("{}/?{query}", self.url)
    }

    /// GET `/?QUERY` and the JSON answer with its status.
    pub fn get(&self, query: &str) -> (u16, Value) {
        let r = self.client.get(self.action_url(query)).send().expect("GET");
        json_of(r)
    }

    /// POST `/?QUERY` with an empty body.
    pub fn post(&self, query: &str) -> (u16, Value) {
        let r = self
            .client
            .post(self.action_url(query))
            .send()
            .expect("POST");
        json_of(r)
    }

    /// POST `/?QUERY` with `body`.
    pub fn post_bytes(&self, query: &str, body: Vec<u8>) -> (u16, Value) {
        let r = self
            .client
            .post(self.action_url(query))
            .body(body)
            .send()
            .expect("POST");
        json_of(r)
    }

    /// The host's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` for the process to exit; its exit status if it did.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }
}

/// Logs `user` in on the host at `url` (`http://127.0.0.1:PORT`) and answers the headers of
/// that session: `cookie` and `x-csrf-token`.
pub fn session_headers(url: &str, user: &str, password: &str) -> reqwest::header::HeaderMap {
    let r = Client::new()
        .post(format!("{url}/api/login"))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .expect("POST /api/login");
    assert_eq!(r.status(), 200, "login of {user} failed");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("wshost_session="))
        .expect("session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body: Value = r.json().unwrap();
    let csrf = body["csrf_token"].as_str().expect("csrf token").to_owned();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("cookie", cookie.parse().unwrap());
    headers.insert("x-csrf-token", csrf.parse().unwrap());
    headers
}

/// Starts `wshost serve --config CONFIG` with `env`, collecting its stderr.
pub fn spawn(config: &Path, env: &[(&str, &str)]) -> (Child, std::sync::Arc<Mutex<String>>) {
    let mut child = Command::new(wshost_exe())
        .args(["serve", "--config"])
        .arg(config)
        .env("WSHOST_LOG", "info")
        .env("WSHOST_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wshost");
    let log = std::sync::Arc::new(Mutex::new(String::new()));
    let mut stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            eprint!("{text}");
            sink.lock().unwrap().push_str(&text);
        }
    });
    (child, log)
}

/// A PostgreSQL database made for one test and dropped after it.
pub struct PgDatabase {
    /// `postgres://postgres@127.0.0.1:5432/NAME`.
    pub url: String,
    name: String,
}

impl PgDatabase {
    /// Creates a fresh database on the server at 127.0.0.1:5432; fails the test through
    /// [`require`] when there is no server.
    pub fn create() -> PgDatabase {
        let name = format!("wshost_it_{:016x}", rand::random::<u64>());
        if !psql(&format!("CREATE DATABASE {name}")) {
            require("PostgreSQL at 127.0.0.1:5432 (trust auth for user postgres) and psql");
        }
        PgDatabase {
            url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// Runs one SQL statement as `postgres` on the server at 127.0.0.1:5432; true on success.
pub fn psql(sql: &str) -> bool {
    Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            "5432",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-qc",
            sql,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The command that installs and starts every prerequisite of the tests.
pub const SETUP_COMMAND: &str = "tests/setup.sh";

/// A prerequisite is missing: the test fails, naming it and the command that provides it.
/// Always, in CI or not: a test that reports ok has run (a deliberately optional suite is
/// `#[ignore]`d instead, with its reason).
pub fn require(what: &str) -> ! {
    panic!(
        "prerequisite missing: {what}. Run {SETUP_COMMAND} (the README's test command runs it \
         before cargo test), then this test again."
    )
}

/// The password of the first administrator, `admin`, in test hosts.
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// The status and JSON body of a response (`Value::Null` when the body is not JSON).
pub fn json_of(r: reqwest::blocking::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The names of a listing's entries, sorted.
pub fn listed_names(v: &Value) -> Vec<String> {
    let mut names: Vec<String> = v["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("no entries in {v}"))
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// The error code of a JSON error answer.
pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The config of a host with one access.fs workspace `files` on `{dir}/root`.
pub fn fs_config() -> String {
    "[[workspaces]]\nid = \"files\"\ndriver = \"access.fs\"\nparams = { ROOT = \"{dir}/root\", CREATE = true }\n".into()
}

/// Deterministic pseudo-random bytes: chunk `i` of a stream seeded with `seed`.
pub fn pattern_chunk(seed: u64, i: u64, len: usize) -> Vec<u8> {
    let mut x = seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The number of open file descriptors of process `pid`.
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A numeric field of `/proc/PID/status`: `VmHWM` and `VmRSS` in KiB, `Threads`, ...
pub fn proc_status(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Every entry under a folder, not following symlinks: relative path → file content, link
/// target, or "dir". What the confinement suites compare before and after an attack.
pub type Tree = std::collections::BTreeMap<String, String>;

/// The [`Tree`] under `dir` (empty when it does not exist).
pub fn tree(dir: &Path) -> Tree {
    fn walk(base: &Path, dir: &Path, out: &mut Tree) {
        let Ok(items) = std::fs::read_dir(dir) else {
            return;
        };
        for item in items.flatten() {
            let path = item.path();
            let rel = path.strip_prefix(base).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(rel, format!("link -> {}", target.display()));
            } else if meta.is_dir() {
                out.insert(rel, "dir".into());
                walk(base, &path, out);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                out.insert(rel, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    let mut out = Tree::new();
    walk(dir, dir, &mut out);
    out
}

/// The names in `dir`, sorted (none when it does not exist).
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `s` percent-encoded but for RFC 3986's unreserved characters: a query value or path
/// segment that reaches the host exactly as written.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
