//! Database outages (issue 22, trap 4): a PostgreSQL cluster of the test's own (`initdb` and
//! `pg_ctl` on a temporary folder and a free port, never the machine's shared server) is
//! stopped under a running host, and started after a host that waits for it.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wshost_tests::*;

/// A PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 on a free port, with
/// trust auth for `postgres`; stopped (immediately) when dropped.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// Run the server binaries as `postgres` (initdb refuses root).
    as_postgres: bool,
}

impl Cluster {
    /// A new cluster, not started.
    fn init() -> Cluster {
        let bin = server_bindir().unwrap_or_else(|| {
            require("the PostgreSQL server binaries initdb and pg_ctl (Debian package postgresql)")
        });
        let as_postgres = std::fs::metadata("/proc/self").expect("/proc/self").uid() == 0;
        let dir = tempfile::tempdir().expect("tempdir");
        if as_postgres {
            let chown = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path())
                .status()
                .expect("chown");
            if !chown.success() {
                require(
                    "a system user 'postgres' to run a test cluster as (Debian package postgresql)",
                );
            }
        }
        let cluster = Cluster {
            bin,
            dir,
            port: free_port(),
            as_postgres,
        };
        let data = cluster.data();
        let out = cluster
            .command("initdb")
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A server binary, as the user that owns the cluster.
    fn command(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn pg_ctl(&self, args: &[&str]) -> std::process::Output {
        self.command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run pg_ctl")
    }

    /// Starts the server and waits until it accepts connections.
    fn start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        let out = self.pg_ctl(&[
            "-w",
            "-t",
            "60",
            "-l",
            log.to_str().unwrap(),
            "-o",
            &options,
            "start",
        ]);
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops the server at once, as a crash or a cut network would (`-m immediate`).
    fn stop(&self) {
        let out = self.pg_ctl(&["-w", "-m", "immediate", "stop"]);
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-w", "-m", "immediate", "stop"]);
    }
}

/// The folder of `initdb` and `pg_ctl`: Debian's newest `/usr/lib/postgresql/N/bin`, else
/// the `PATH`'s.
fn server_bindir() -> Option<PathBuf> {
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    debian.sort();
    if let Some((_, bin)) = debian.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

fn host_on(cluster: &Cluster) -> Host {
    Host::start(HostSetup::new(
        format!(
            "database = \"{}\"\ndatabase_acquire_timeout_secs = 3\ndatabase_startup_wait_secs = 60\n{}",
            cluster.url(),
            fs_config()
        ),
        vec![manifest("access.fs.toml")],
    ))
}

/// The lines of `log` that name the outage's cause or one request's failure of the store:
/// the host's own, and those of the database driver (`sqlx`, which logs each pooled
/// connection it finds cut).
fn cause_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            [
                "does not answer",
                "refused",
                "timed out",
                "store:",
                "database error",
                "eof",
                "shutdown",
            ]
            .iter()
            .any(|needle| l.contains(needle))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_database_outage_answers_503_store_unavailable_fast_and_is_logged_once() {
    let cluster = Cluster::init();
    cluster.start();
    let host = host_on(&cluster);
    let (status, body) = host.get("get_action=ls&ws=files");
    assert_eq!(status, 200, "{body}");

    let before = host.log().len();
    cluster.stop();
    let requests = 6;
    let mut slowest = Duration::ZERO;
    // Where the log was when each request started.
    let mut marks = Vec::new();
    for i in 0..requests {
        marks.push(host.log().len());
        let started = Instant::now();
        let r = host
            .client
            .get(host.action_url("get_action=ls&ws=files"))
            .send()
            .expect("GET during the outage");
        let took = started.elapsed();
        slowest = slowest.max(took);
        let retry_after = r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (status, body) = json_of(r);
        eprintln!("outage request {i}: {status} in {took:?}");
        assert_eq!(status, 503, "request {i} during the outage: {body}");
        assert_eq!(code(&body), "store_unavailable", "{body}");
        let retry_after: u64 = retry_after
            .expect("a 503 store_unavailable carries Retry-After")
            .parse()
            .expect("Retry-After in seconds");
        assert!(retry_after >= 1, "Retry-After: {retry_after}");
        assert!(
            took < Duration::from_secs(6),
            "request {i} took {took:?}: the acquire timeout is 3 s"
        );
    }
    eprintln!("slowest 503 store_unavailable: {slowest:?}");

    let started = Instant::now();
    let ready = host
        .client
        .get(format!("{}/readyz", host.url))
        .send()
        .expect("GET /readyz");
    let took = started.elapsed();
    eprintln!("/readyz during the outage: {} in {took:?}", ready.status());
    assert_eq!(ready.status(), 503);
    assert!(took < Duration::from_secs(6), "/readyz took {took:?}");

    let log = host.log();
    let during = &log[before..];
    let all = cause_lines(during);
    let own: Vec<&String> = all.iter().filter(|l| !l.contains("sqlx")).collect();
    assert!(
        own.len() == 1
            && own[0].contains("ERROR")
            && own[0].contains("the database does not answer: "),
        "the host logs the outage once, at error, with its cause; it logged {} lines:\n{}",
        own.len(),
        during
    );
    // The driver logs each pooled connection it finds cut, once; after that, further
    // failed requests (and probes) add no line that names the cause.
    let later = cause_lines(&log[marks[requests - 2]..]);
    assert!(
        later.is_empty(),
        "the last two requests each logged the cause again:\n{}",
        later.join("\n")
    );
    // At most the host's line and the driver's two per pooled connection (16 at most).
    assert!(
        all.len() <= 1 + 2 * 16,
        "{} lines name the cause for {requests} requests and a probe:\n{}",
        all.len(),
        all.join("\n")
    );
    eprintln!(
        "lines naming the outage's cause over {requests} requests and a probe: {} (the host's: {})",
        all.len(),
        own.len()
    );

    cluster.start();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = host.get("get_action=ls&ws=files");
        if status == 200 {
            break;
        }
        assert_eq!(code(&body), "store_unavailable", "{status} {body}");
        assert!(
            Instant::now() < deadline,
            "the host did not recover after the database came back: {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let ready = host
        .client
        .get(format!("{}/readyz", host.url))
        .send()
        .expect("GET /readyz");
    assert_eq!(ready.status(), 200);
    // The same session still works: nothing was lost, nobody has to log in again.
    let (status, body) = host.post_bytes(
        "get_action=upload&ws=files&name=after.txt",
        b"back".to_vec(),
    );
    assert!(status < 300, "upload after the outage: {status} {body}");
    let log = host.log();
    assert!(
        log[before..].contains("the database answers again"),
        "the end of the outage is logged:\n{}",
        &log[before..]
    );
}

#[test]
fn a_host_started_before_its_database_waits_for_it_and_serves() {
    let cluster = Cluster::init();
    // Built first: the cluster starts 3 s after the host, not after a build.
    build();
    let host = std::thread::scope(|scope| {
        let later = scope.spawn(|| {
            std::thread::sleep(Duration::from_secs(3));
            cluster.start();
        });
        // Host::start waits (up to 30 s) for the host to answer, and logs in.
        let host = host_on(&cluster);
        later.join().expect("start the cluster");
        host
    });
    let (status, body) = host.get("get_action=ls&ws=files");
    assert_eq!(status, 200, "{body}");
    let log = host.log();
    let retries: Vec<&str> = log.lines().filter(|l| l.contains("retrying in")).collect();
    assert!(
        !retries.is_empty() && retries.iter().all(|l| l.contains("WARN")),
        "each start-up retry is logged at warn:\n{log}"
    );
    assert!(
        retries
            .iter()
            .all(|l| l.to_ascii_lowercase().contains("refused")),
        "each retry names its cause:\n{log}"
    );
}

/// `serve --no-migrate`, the rolling upgrade's start, waits for a database still coming up
/// just as `serve` does, instead of exiting at once.
#[test]
fn a_host_started_without_migrations_waits_for_its_database_too() {
    let cluster = Cluster::init();
    let setup = |env: Vec<(String, String)>| {
        HostSetup {
        env,
        ..HostSetup::new(
            format!(
                "database = \"{}\"\nsecret_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\ndatabase_startup_wait_secs = 60\n{}",
                cluster.url(),
                fs_config()
            ),
            vec![manifest("access.fs.toml")],
        )
    }
    };
    // A first start makes the store, at this binary's schema.
    cluster.start();
    drop(Host::start(setup(Vec::new())));
    cluster.stop();
    let host = std::thread::scope(|scope| {
        let later = scope.spawn(|| {
            std::thread::sleep(Duration::from_secs(3));
            cluster.start();
        });
        let host = Host::start(setup(vec![("WSHOST_NO_MIGRATE".into(), "true".into())]));
        later.join().expect("start the cluster");
        host
    });
    let (status, body) = host.get("get_action=ls&ws=files");
    assert_eq!(status, 200, "{body}");
    assert!(
        host.log().lines().any(|l| l.contains("retrying in")),
        "{}",
        host.log()
    );
}

#[test]
fn a_host_whose_database_never_comes_exits_naming_it_and_commands_do_not_wait() {
    let cluster = Cluster::init();
    build();
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "postgres://postgres:s3cret-password@127.0.0.1:{}/postgres",
        cluster.port
    );
    let config = dir.path().join("host.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{}\"\ndata_dir = \"{}\"\ndatabase = \"{url}\"\ndatabase_startup_wait_secs = 2\n",
            free_port(),
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let out = Command::new(wshost_exe())
        .args(["serve", "--config"])
        .arg(&config)
        .env("WSHOST_LOG", "info")
        .output()
        .expect("run wshost serve");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "serve without a database exits with an error"
    );
    assert!(
        took < Duration::from_secs(20),
        "serve gave up after {took:?}, with database_startup_wait_secs = 2"
    );
    assert!(
        stderr.contains("did not answer within 2 s")
            && stderr.contains("database_startup_wait_secs"),
        "the exit says why:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("127.0.0.1:{}", cluster.port)),
        "the exit names the database:\n{stderr}"
    );
    assert!(
        !stderr.contains("s3cret-password"),
        "the password of the URL is never printed:\n{stderr}"
    );

    // An administration command, which someone waits for at the console, fails at once
    // (not after the default wait of 30 s).
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("database_startup_wait_secs = 2\n", ""),
    )
    .unwrap();
    let started = Instant::now();
    let out = Command::new(wshost_exe())
        .args(["user", "list", "--config"])
        .arg(&config)
        .output()
        .expect("run wshost user list");
    let took = started.elapsed();
    assert!(!out.status.success(), "user list without a database fails");
    assert!(
        took < Duration::from_secs(10),
        "user list waited {took:?} for the database: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
