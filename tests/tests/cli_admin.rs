//! The administration CLI mirrors the API and works on the same store as a running server.

use std::io::Write;
use std::process::{Command, Stdio};

use wshost_tests::*;

fn wshost(h: &Host, args: &[&str], stdin: &str) -> (bool, String, String) {
    wshost_with(h, args, stdin, &[])
}

/// [`wshost`] with `env` set.
fn wshost_with(
    h: &Host,
    args: &[&str],
    stdin: &str,
    env: &[(&str, &str)],
) -> (bool, String, String) {
    let mut child = Command::new(wshost_exe())
        .args(args)
        .envs(env.iter().copied())
        .arg("--config")
        .arg(h.dir.path().join("host.toml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn users_tokens_workspaces_and_toggles_from_the_command_line() {
    let h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    let (ok, _, err) = wshost(&h, &["user", "add", "dana"], "dana-password\n");
    assert!(ok, "{err}");
    let (ok, _, err) = wshost(&h, &["user", "add", "shorty"], "short\n");
    assert!(!ok && err.contains("at least 8"), "{err}");

    // The token alone on stdout, usable at once against the running server.
    let (ok, token, err) = wshost(&h, &["token", "create", "dana", "--label", "ci"], "");
    assert!(ok, "{err}");
    let token = token.trim().to_owned();
    assert!(
        token.starts_with("wsh_") && !token.contains(char::is_whitespace),
        "{token:?}"
    );

    let root = h.dir.path().join("cli-ws");
    let root_param = format!("ROOT={}", root.display());
    let (ok, out, err) = wshost(
        &h,
        &[
            "workspace",
            "create",
            "--driver",
            "access.fs",
            "--label",
            "From CLI",
            "--param",
            &root_param,
            "--param",
            "CREATE=true",
            "--dry-run",
        ],
        "",
    );
    assert!(ok && out.contains("dry run"), "{out}{err}");
    let (ok, out, err) = wshost(
        &h,
        &[
            "workspace",
            "create",
            "--driver",
            "access.fs",
            "--label",
            "From CLI",
            "--param",
            "CREATE=maybe",
        ],
        "",
    );
    assert!(
        !ok && err.contains("ROOT") && err.contains("CREATE"),
        "field errors: {out}{err}"
    );
    let (ok, out, err) = wshost(
        &h,
        &[
            "workspace",
            "create",
            "--driver",
            "access.fs",
            "--label",
            "From CLI",
            "--param",
            &root_param,
            "--param",
            "CREATE=true",
        ],
        "",
    );
    assert!(ok && out.contains("from-cli"), "{out}{err}");
    let (ok, _, err) = wshost(&h, &["workspace", "grant", "from-cli", "dana", "rw"], "");
    assert!(ok, "{err}");
    let (ok, out, err) = wshost(&h, &["workspace", "list", "--json"], "");
    assert!(ok, "{err}");
    let list: Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = list["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["files", "from-cli"]);
    let (ok, out, err) = wshost(&h, &["workspace", "verify", "from-cli"], "");
    assert!(ok && out.starts_with("ok:"), "{out}{err}");

    let bearer = Client::new();
    let r = bearer
        .post(h.action_url("get_action=mkdir&ws=from-cli&dir=/&dirname=made"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "the server sees what the CLI wrote");

    let (ok, _, err) = wshost(&h, &["plugins", "disable", "access.fs"], "");
    assert!(ok, "{err}");
    let r = bearer
        .get(h.action_url("get_action=ls&ws=from-cli"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(
        r.status(),
        409,
        "disabled from the CLI, refused by the server at once"
    );
    let (ok, _, err) = wshost(&h, &["plugins", "enable", "access.fs"], "");
    assert!(ok, "{err}");

    let (ok, _, err) = wshost(&h, &["workspace", "revoke", "from-cli", "dana"], "");
    assert!(ok, "{err}");
    let r = bearer
        .get(h.action_url("get_action=ls&ws=from-cli"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let (ok, _, err) = wshost(&h, &["workspace", "delete", "from-cli"], "");
    assert!(ok, "{err}");
    let (ok, _, err) = wshost(&h, &["user", "delete", "dana"], "");
    assert!(ok, "{err}");
    let r = bearer
        .get(h.action_url("get_action=ls&ws=files"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401, "a deleted user's tokens die with them");
}

/// Administration commands load no plugin they do not need: users, tokens and the
/// workspace list open the store (and read manifests) only; verify loads the one driver it
/// calls.
#[test]
fn administration_commands_load_only_the_plugins_they_call() {
    // The info lines that show a load, which commands do not print by default.
    const INFO: &[(&str, &str)] = &[("WSHOST_LOG", "info")];
    let h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    for args in [
        &["user", "list"][..],
        &["token", "create", "admin", "--label", "x"],
        &["workspace", "list"],
        &["workspace", "show", "files"],
    ] {
        let (ok, _, err) = wshost_with(&h, args, "", INFO);
        assert!(ok, "{args:?}: {err}");
        assert!(
            !err.contains("plugin loaded"),
            "{args:?} loaded a plugin:\n{err}"
        );
    }
    let (ok, out, err) = wshost_with(&h, &["workspace", "verify", "files"], "", INFO);
    assert!(ok && out.starts_with("ok:"), "{out}\n{err}");
    assert!(
        out.contains("\ncapabilities: stat, list, read, read_range, write, mkdir, delete, rename, copy, verify"),
        "verify shows what the driver declares:\n{out}"
    );
    assert!(
        err.contains("plugin loaded") && err.contains("access.fs"),
        "{err}"
    );
}

// ---- Only `serve` creates a store ----

/// `wshost ARGS` run in `cwd` with none of the deployment's environment (no
/// `WSHOST_DATABASE_URL`, `WSHOST_SECRET_KEY`, …): success, stdout, stderr.
fn bare_wshost(cwd: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let mut command = Command::new(wshost_exe());
    command.args(args).current_dir(cwd);
    for (name, _) in std::env::vars() {
        if name.starts_with("WSHOST_") {
            command.env_remove(name);
        }
    }
    let out = command.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every file and folder under `dir`, relative, sorted.
fn tree(dir: &std::path::Path) -> Vec<String> {
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(base).unwrap().display().to_string());
            if path.is_dir() {
                walk(base, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Every command that opens the store, as an operator would type it.
const STORE_COMMANDS: &[&[&str]] = &[
    &["user", "list"],
    &["user", "delete", "bob"],
    &["token", "create", "admin"],
    &["token", "list"],
    &["token", "revoke", "abc"],
    &["workspace", "list"],
    &["workspace", "show", "files"],
    &["workspace", "grant", "files", "bob", "r"],
    &["template", "list"],
    &["plugins", "enable", "access.fs"],
    &["plugins", "disable", "access.fs"],
    &["plugins", "list"],
];

/// The parts of the refusal that say how to point the command at the real store.
fn assert_points_at_the_store(err: &str) {
    for hint in [
        "--config",
        "WSHOST_DATABASE_URL",
        "--data-dir",
        "wshost serve",
    ] {
        assert!(
            err.contains(hint),
            "the refusal does not mention {hint}:\n{err}"
        );
    }
}

#[test]
fn a_command_without_the_deployment_creates_no_store() {
    build();
    // In an empty folder, on the defaults: `./data/wshost.db` does not exist.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().canonicalize().unwrap();
    for args in STORE_COMMANDS {
        let (ok, out, err) = bare_wshost(&d, args);
        assert!(!ok, "{args:?} answered without a store: {out}{err}");
        assert!(
            err.contains(&format!(
                "no store at {}: the SQLite file does not exist",
                d.join("data/wshost.db").display()
            )),
            "{args:?}: {err}"
        );
        assert_points_at_the_store(&err);
        assert!(
            !err.contains("one-time password") && !out.contains("wsh_"),
            "{args:?}: {out}{err}"
        );
        assert_eq!(tree(&d), Vec::<String>::new(), "{args:?} created files");
    }

    // With a config whose data folder does not exist: the same, naming that folder.
    let config = d.join("host.toml");
    std::fs::write(
        &config,
        format!("data_dir = \"{}\"\n", d.join("srv/wshost").display()),
    )
    .unwrap();
    for args in STORE_COMMANDS {
        let config_arg = config.display().to_string();
        let args: Vec<&str> = args
            .iter()
            .copied()
            .chain(["--config", &config_arg])
            .collect();
        let (ok, out, err) = bare_wshost(&d, &args);
        assert!(!ok, "{args:?}: {out}{err}");
        assert!(
            err.contains(&format!(
                "no store at {}",
                d.join("srv/wshost/wshost.db").display()
            )),
            "{args:?}: {err}"
        );
        assert_points_at_the_store(&err);
        assert_eq!(tree(&d), ["host.toml"], "{args:?} created files");
    }
}

#[test]
fn a_store_whose_key_file_is_gone_is_refused_and_no_key_is_made() {
    let mut h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    let key = h.dir.path().join("data/secret.key");
    let saved = std::fs::read(&key).unwrap();
    // Stopped, so that nothing but the CLI could touch the folder.
    let host_pid = h.pid();
    std::process::Command::new("kill")
        .args(["-TERM", &host_pid.to_string()])
        .status()
        .unwrap();
    assert!(h.wait_exit(std::time::Duration::from_secs(20)).is_some());

    std::fs::remove_file(&key).unwrap();
    let before = tree(h.dir.path());
    for args in [
        &["user", "list"][..],
        &["token", "list"],
        &["workspace", "list"],
    ] {
        let (ok, out, err) = wshost(&h, args, "");
        assert!(!ok, "{args:?}: {out}{err}");
        assert!(
            err.contains(&format!(
                "the secrets key file {} does not exist",
                key.display()
            )) && err.contains("never make a new one")
                && err.contains("WSHOST_SECRET_KEY"),
            "{args:?}: {err}"
        );
        assert!(!key.exists(), "{args:?} made a new key");
        assert_eq!(tree(h.dir.path()), before, "{args:?}");
    }

    // The key restored, the same command works, on the store `serve` made.
    std::fs::write(&key, &saved).unwrap();
    let (ok, out, err) = wshost(&h, &["user", "list"], "");
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "admin  (admin)");
}

#[test]
fn a_store_behind_the_binary_is_refused_and_not_migrated() {
    let mut h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    let host_pid = h.pid();
    std::process::Command::new("kill")
        .args(["-TERM", &host_pid.to_string()])
        .status()
        .unwrap();
    assert!(h.wait_exit(std::time::Duration::from_secs(20)).is_some());
    // As if the newest migration had not been applied yet: its row removed.
    let db = h.dir.path().join("data/wshost.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let count = |sql: &'static str| {
        rt.block_on(async {
            use sqlx::Connection;
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .unwrap();
            let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&mut conn).await.unwrap();
            conn.close().await.unwrap();
            n
        })
    };
    let newest = count("SELECT MAX(version) FROM _sqlx_migrations");
    rt.block_on(async {
        use sqlx::Connection;
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = $1")
            .bind(newest)
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
    let (ok, out, err) = wshost(&h, &["user", "list"], "");
    assert!(!ok, "{out}{err}");
    assert!(
        err.contains(&format!("the SQLite file {}", db.display()))
            && err.contains(&format!("older than this wshost's {newest}"))
            && err.contains("run `wshost migrate` to upgrade it"),
        "{err}"
    );
    assert_eq!(
        count("SELECT MAX(version) FROM _sqlx_migrations"),
        newest - 1,
        "the CLI migrated nothing"
    );
}

/// A host started once (so its SQLite store exists) and stopped; its store file.
fn stopped_host() -> (Host, std::path::PathBuf) {
    let mut h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    std::process::Command::new("kill")
        .args(["-TERM", &h.pid().to_string()])
        .status()
        .unwrap();
    assert!(h.wait_exit(std::time::Duration::from_secs(20)).is_some());
    let db = h.dir.path().join("data/wshost.db");
    (h, db)
}

/// Runs `sql` on the SQLite file `db`; the first column of its first row, if any.
fn sqlite(db: &std::path::Path, sql: &str) -> Option<i64> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(db);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        let row: Option<(i64,)> = sqlx::query_as(sql).fetch_optional(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        row.map(|(n,)| n)
    })
}

/// `wshost serve ARGS --config` of `h`'s config: Ok once it answers /healthz (it is then
/// stopped), or Err with its stderr if it exits first.
fn serve_until_ready(h: &Host, args: &[&str]) -> Result<(), String> {
    let mut child = Command::new(wshost_exe())
        .arg("serve")
        .args(args)
        .arg("--config")
        .arg(h.dir.path().join("host.toml"))
        .env("WSHOST_ADMIN_PASSWORD", "admin-password")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::blocking::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        if let Ok(r) = client.get(format!("{}/healthz", h.url)).send() {
            if r.status().is_success() {
                child.kill().unwrap();
                child.wait().unwrap();
                return Ok(());
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve neither started nor exited"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A rolling upgrade: `serve --no-migrate` refuses a store behind the binary, naming
/// `wshost migrate`; `migrate` applies what is missing; then `serve --no-migrate` starts.
#[test]
fn migrate_then_serve_without_migrating() {
    let (h, db) = stopped_host();
    let newest = sqlite(&db, "SELECT MAX(version) FROM _sqlx_migrations").unwrap();
    // A real store of the previous release: a new file with every migration but the last
    // (the same files, so the same checksums), beside the secrets key the host made.
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
    let old = tempfile::tempdir().unwrap();
    let mut files: Vec<_> = std::fs::read_dir(root().join("host/migrations/sqlite"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.pop();
    for f in &files {
        std::fs::copy(f, old.path().join(f.file_name().unwrap())).unwrap();
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        use sqlx::Connection;
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .create_if_missing(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        let migrator = sqlx::migrate::Migrator::new(old.path()).await.unwrap();
        migrator.run(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    });
    let behind = sqlite(&db, "SELECT MAX(version) FROM _sqlx_migrations").unwrap();
    assert!(behind < newest, "the old store is behind");

    let err = serve_until_ready(&h, &["--no-migrate"]).expect_err("a store behind is refused");
    assert!(
        err.contains(&format!("older than this wshost's {newest}"))
            && err.contains("run `wshost migrate`"),
        "{err}"
    );
    assert_eq!(
        sqlite(&db, "SELECT MAX(version) FROM _sqlx_migrations"),
        Some(behind),
        "serve --no-migrate migrated nothing"
    );

    let (ok, out, err) = wshost(&h, &["migrate"], "");
    assert!(ok, "{out}{err}");
    assert!(out.contains(&format!("schema version {newest}")), "{out}");
    assert_eq!(
        sqlite(&db, "SELECT MAX(version) FROM _sqlx_migrations"),
        Some(newest)
    );
    serve_until_ready(&h, &["--no-migrate"]).expect("serve --no-migrate starts on a current store");
    let (ok, out, err) = wshost(&h, &["migrate"], "");
    assert!(
        ok && out.contains(&format!("schema version {newest}")),
        "{out}{err}"
    );
}

/// A store that a newer wshost migrated (a migration this binary does not know) is refused by
/// `serve`, with or without --no-migrate, and by `migrate`, and left as it is.
#[test]
fn a_store_ahead_of_the_binary_is_refused_by_serve() {
    let (h, db) = stopped_host();
    sqlite(
        &db,
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, \
         execution_time) VALUES (99990101000000, 'from the future', CURRENT_TIMESTAMP, 1, \
         X'00', 0)",
    );
    for args in [&[][..], &["--no-migrate"][..]] {
        let err = serve_until_ready(&h, args).expect_err("a store ahead is refused");
        assert!(
            err.contains("has schema version 99990101000000, which this wshost does not know")
                && err.contains("upgraded by a newer wshost"),
            "serve {args:?}: {err}"
        );
    }
    let (ok, _, err) = wshost(&h, &["migrate"], "");
    assert!(
        !ok && err.contains("which this wshost does not know"),
        "{err}"
    );
    assert_eq!(
        sqlite(
            &db,
            "SELECT COUNT(*) FROM _sqlx_migrations WHERE version = 99990101000000"
        ),
        Some(1)
    );
}

/// `wshost backup FILE` copies the SQLite store while the server runs; a host started on the
/// copy (with the secrets key) has the same users and workspaces' secrets.
#[test]
fn a_backup_taken_online_restores_into_a_working_host() {
    let a = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    let (ok, _, err) = wshost(&a, &["user", "add", "dana"], "dana-password\n");
    assert!(ok, "{err}");
    let backup = a.dir.path().join("backup.db");
    let (ok, out, err) = wshost(&a, &["backup", backup.to_str().unwrap()], "");
    assert!(ok, "{out}{err}");
    assert!(out.contains("keep the secrets key"), "{out}");
    let (ok, _, err) = wshost(&a, &["backup", backup.to_str().unwrap()], "");
    assert!(
        !ok && err.contains("already exists"),
        "an existing file is kept: {err}"
    );
    let r = a.client.get(format!("{}/healthz", a.url)).send().unwrap();
    assert!(r.status().is_success(), "A still serves");

    // Restore: the backup as B's store, with A's key.
    let mut b = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    let (ok, out, _) = wshost(&b, &["user", "list"], "");
    assert!(ok && !out.contains("dana"), "{out}");
    std::process::Command::new("kill")
        .args(["-TERM", &b.pid().to_string()])
        .status()
        .unwrap();
    assert!(b.wait_exit(std::time::Duration::from_secs(20)).is_some());
    let data = b.dir.path().join("data");
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(data.join(format!("wshost.db{ext}")));
    }
    std::fs::copy(&backup, data.join("wshost.db")).unwrap();
    std::fs::copy(
        a.dir.path().join("data/secret.key"),
        data.join("secret.key"),
    )
    .unwrap();
    b.restart();
    let (ok, out, err) = wshost(&b, &["user", "list"], "");
    assert!(ok && out.contains("dana"), "{out}{err}");
    b.login("dana", "dana-password");
}

#[test]
fn a_postgresql_database_without_the_schema_is_refused_and_left_empty() {
    build();
    let pg = PgDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("host.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\ndatabase = \"{}\"\nsecret_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n",
            dir.path().join("data").display(),
            pg.url
        ),
    )
    .unwrap();
    let tables = || {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&pg.url).await.unwrap();
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap();
            conn.close().await.unwrap();
            n
        })
    };
    let config_arg = config.display().to_string();
    for args in STORE_COMMANDS {
        let args: Vec<&str> = args
            .iter()
            .copied()
            .chain(["--config", &config_arg])
            .collect();
        let (ok, out, err) = bare_wshost(dir.path(), &args);
        assert!(!ok, "{args:?}: {out}{err}");
        assert!(
            err.contains(&format!(
                "the PostgreSQL database {} has no wshost schema",
                pg.url
            )),
            "{args:?}: {err}"
        );
        assert_points_at_the_store(&err);
        assert_eq!(tables(), 0, "{args:?} wrote into the database");
        assert_eq!(tree(dir.path()), ["host.toml"], "{args:?} created files");
    }

    // Once `serve` has made the store there, the same command works on it.
    let h = Host::start(HostSetup::new(
        format!(
            "database = \"{}\"\nsecret_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n",
            pg.url
        ),
        vec![manifest("access.fs.toml")],
    ));
    assert!(tables() > 0);
    let (ok, out, err) = bare_wshost(dir.path(), &["user", "list", "--config", &config_arg]);
    assert!(ok, "{out}{err}");
    assert_eq!(out.trim(), "admin  (admin)");
    drop(h);
}

// ---- Tokens from the command line ----

#[test]
fn tokens_are_listed_without_their_secret_and_revoked_at_once() {
    let h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    let (ok, _, err) = wshost(&h, &["user", "add", "erin"], "erin-password\n");
    assert!(ok, "{err}");
    let mut secrets = Vec::new();
    for (user, label) in [("admin", "backup"), ("erin", "laptop")] {
        let (ok, token, err) = wshost(&h, &["token", "create", user, "--label", label], "");
        assert!(ok, "{err}");
        secrets.push(token.trim().to_owned());
    }
    let bearer = Client::new();
    let works = |token: &str| {
        bearer
            .get(h.action_url("get_action=ls&ws=files"))
            .bearer_auth(token)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_ne!(works(&secrets[1]), 401, "erin's token authenticates");

    let list = |args: &[&str]| -> Vec<Value> {
        let mut args = args.to_vec();
        args.push("--json");
        let (ok, out, err) = wshost(&h, &args, "");
        assert!(ok, "{err}");
        for secret in &secrets {
            assert!(!out.contains(secret.as_str()), "a secret is listed: {out}");
        }
        let v: Value = serde_json::from_str(&out).unwrap();
        v["tokens"].as_array().unwrap().clone()
    };
    let all = list(&["token", "list"]);
    let summary: Vec<(&str, &str)> = all
        .iter()
        .map(|t| (t["user"].as_str().unwrap(), t["label"].as_str().unwrap()))
        .collect();
    assert_eq!(summary, [("admin", "backup"), ("erin", "laptop")]);
    for t in &all {
        assert!(t["id"].is_string() && t["created_at"].is_i64(), "{t}");
        assert!(
            t.get("token").is_none() && t.get("token_hash").is_none(),
            "{t}"
        );
    }
    assert!(
        all[1]["last_used_at"].is_i64(),
        "erin's was used: {}",
        all[1]
    );
    assert!(all[0]["last_used_at"].is_null(), "{}", all[0]);
    let erin = list(&["token", "list", "erin"]);
    assert_eq!(erin.len(), 1);
    assert_eq!(erin[0]["id"], all[1]["id"]);

    // The text form: one line per token, the id first, no secret.
    let (ok, out, err) = wshost(&h, &["token", "list"], "");
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let erin_id = all[1]["id"].as_str().unwrap();
    assert!(
        lines[1].starts_with(&format!("{erin_id}\terin\tlaptop\tcreated "))
            && !lines[1].contains("never"),
        "{out}"
    );
    assert!(lines[0].ends_with("last used never"), "{out}");
    assert!(!secrets.iter().any(|s| out.contains(s.as_str())), "{out}");

    let (ok, _, err) = wshost(&h, &["token", "list", "nobody"], "");
    assert!(!ok && err.contains("no user 'nobody'"), "{err}");
    let (ok, _, err) = wshost(&h, &["token", "revoke", "no-such-id"], "");
    assert!(
        !ok && err.contains("no token 'no-such-id'") && err.contains("wshost token list"),
        "{err}"
    );

    let (ok, out, err) = wshost(&h, &["token", "revoke", erin_id], "");
    assert!(
        ok && out.trim() == format!("revoked token {erin_id}"),
        "{out}{err}"
    );
    assert_eq!(
        works(&secrets[1]),
        401,
        "the running host refuses it at once"
    );
    assert_eq!(works(&secrets[0]), 200, "the other token still works");
    let left = list(&["token", "list"]);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], all[0]["id"]);
    assert!(list(&["token", "list", "erin"]).is_empty());
}
