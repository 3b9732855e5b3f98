//! Resolving the configuration: flags and `WSHOST_*` variables over `host.toml` over the
//! embedded defaults. Relative paths in the file are relative to the file's folder.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::dav::dav;
use super::file::{read_file, FileConfig};
use super::limits::limits;
use super::{Config, ConfigError, Database, SecretKeySource, Settings, WorkspaceDecl};

impl Config {
    /// Resolves the configuration from the command-line settings (flags and environment).
    pub(crate) fn load(settings: &Settings) -> Result<Config, ConfigError> {
        let (config, mut problems) = Self::load_all(settings)?;
        match problems.len() {
            0 => Ok(config),
            1 => Err(problems.remove(0)),
            _ => Err(ConfigError::Several(problems)),
        }
    }

    /// Like [`Config::load`], but goes on past invalid values (using their defaults) and
    /// answers every problem found; only an unreadable or unparsable file stops it.
    pub(crate) fn load_all(settings: &Settings) -> Result<(Config, Vec<ConfigError>), ConfigError> {
        let (file, file_path) = match &settings.config {
            Some(path) => (read_file(path)?, Some(path.clone())),
            None if Path::new("host.toml").is_file() => {
                let path = PathBuf::from("host.toml");
                (read_file(&path)?, Some(path))
            }
            None => (FileConfig::default(), None),
        };
        let base = file_path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let origin = file_path
            .as_ref()
            .map(|p| format!("config file {}", p.display()))
            .unwrap_or_else(|| "settings".into());
        let rel = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let mut problems = Vec::new();
        let mut problem = |origin: &str, key: &'static str, message: String| {
            problems.push(ConfigError::Invalid {
                origin: origin.to_owned(),
                key,
                message,
            })
        };

        let default_listen: SocketAddr = ([127, 0, 0, 1], 8080).into();
        let listen = match (&settings.listen, &file.listen) {
            (Some(l), _) => (l.clone(), "--listen / WSHOST_LISTEN".to_owned()),
            (None, Some(l)) => (l.clone(), origin.clone()),
            (None, None) => (default_listen.to_string(), "default".to_owned()),
        };
        let listen: SocketAddr = listen.0.parse().unwrap_or_else(|_| {
            problem(
                &listen.1,
                "listen",
                format!(
                    "expected an address like 127.0.0.1:8080, got '{}'",
                    listen.0
                ),
            );
            default_listen
        });
        // A value given by a flag (or its variable) is reported as theirs, not the file's.
        let from = |flag: &Option<String>, name: &str, var: &str| match flag {
            Some(_) => format!("--{name} / {var}"),
            None => origin.clone(),
        };
        let metrics_origin = from(
            &settings.metrics_listen,
            "metrics-listen",
            "WSHOST_METRICS_LISTEN",
        );
        let metrics_listen = settings
            .metrics_listen
            .clone()
            .or(file.metrics_listen)
            .and_then(|m| {
                m.parse::<SocketAddr>()
                    .map_err(|_| {
                        problem(
                            &metrics_origin,
                            "metrics_listen",
                            format!("expected an address like 127.0.0.1:9100, got '{m}'"),
                        )
                    })
                    .ok()
            });
        if metrics_listen == Some(listen) && listen.port() != 0 {
            problem(
                &metrics_origin,
                "metrics_listen",
                format!(
                    "{listen} is also `listen`: give /metrics another address, or leave \
                     metrics_listen unset to serve /metrics on the main listener to administrators"
                ),
            );
        }

        let public_origin = from(&settings.public_url, "public-url", "WSHOST_PUBLIC_URL");
        let mut public_url = settings
            .public_url
            .clone()
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{listen}"));
        match url::Url::parse(&public_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                problem(
                    &public_origin,
                    "public_url",
                    format!("expected an http or https URL, got '{public_url}'"),
                );
                public_url = format!("http://{listen}");
            }
        }
        let public_url = public_url.trim_end_matches('/').to_owned();

        let data_dir = settings
            .data_dir
            .clone()
            .or(file.data_dir.map(rel))
            .unwrap_or_else(|| PathBuf::from("data"));
        // Absolute, so that `{data_dir}` names the same folder whatever a driver's working
        // folder (and passes a driver's "absolute path" rule).
        let data_dir = std::path::absolute(&data_dir).unwrap_or(data_dir);
        let plugin_dirs = non_empty(settings.plugin_dirs.clone())
            .or(file.plugin_dirs.map(|v| v.into_iter().map(rel).collect()))
            .unwrap_or_else(default_plugin_dirs);
        let manifest_dirs = non_empty(settings.manifest_dirs.clone())
            .or(file.manifest_dirs.map(|v| v.into_iter().map(rel).collect()))
            .unwrap_or_else(|| vec![PathBuf::from("manifests")]);

        let enabled: BTreeSet<String> = file.plugins.enabled.into_iter().collect();
        let disabled: BTreeSet<String> = file.plugins.disabled.into_iter().collect();
        for both in enabled.intersection(&disabled) {
            problem(
                &origin,
                "plugins",
                format!("plugin '{both}' is listed both as enabled and disabled"),
            );
        }

        let workspaces = declared_workspaces(
            file.workspaces,
            file.personal_workspace,
            &data_dir,
            &mut |key, message| problem(&origin, key, message),
        );
        let database_origin = match (&settings.database, &file.database) {
            (Some(_), _) => "--database / WSHOST_DATABASE_URL".to_owned(),
            (None, Some(_)) => origin.clone(),
            (None, None) => "default".to_owned(),
        };
        let database = database(settings.database.clone().or(file.database), &data_dir)
            .unwrap_or_else(|message| {
                problem(&database_origin, "database", message);
                Database::Sqlite(data_dir.join("wshost.db"))
            });
        let (secret_key, key_origin) = match std::env::var("WSHOST_SECRET_KEY") {
            Ok(key) => (Some(key), "WSHOST_SECRET_KEY".to_owned()),
            Err(_) => (file.secret_key, origin.clone()),
        };
        let secret_key = match secret_key {
            Some(key) => {
                if let Err(e) = crate::store::SecretKey::from_base64(&key) {
                    problem(&key_origin, "secret_key", e.to_string());
                }
                SecretKeySource::Given(key)
            }
            None => SecretKeySource::File(data_dir.join("secret.key")),
        };
        let session_ttl =
            std::time::Duration::from_secs(3600 * file.session_ttl_hours.unwrap_or(12).max(1));
        let shutdown_deadline =
            std::time::Duration::from_secs(file.shutdown_deadline_secs.unwrap_or(30));
        let shutdown_drain = std::time::Duration::from_secs(file.shutdown_drain_secs.unwrap_or(0));
        let database_acquire_timeout = match file.database_acquire_timeout_secs {
            None => crate::store::DEFAULT_ACQUIRE_TIMEOUT,
            Some(secs @ 1..=3600) => std::time::Duration::from_secs(secs),
            Some(other) => {
                problem(
                    &origin,
                    "database_acquire_timeout_secs",
                    format!("expected 1 to 3600 seconds, got {other}"),
                );
                crate::store::DEFAULT_ACQUIRE_TIMEOUT
            }
        };
        let database_startup_wait =
            std::time::Duration::from_secs(file.database_startup_wait_secs.unwrap_or(30));

        let limits = limits(file.limits, &mut |key, message| {
            problem(&origin, key, message)
        });
        let dav = dav(file.dav, &mut |key, message| problem(&origin, key, message));
        let trusted_proxies = file
            .trusted_proxies
            .unwrap_or_default()
            .iter()
            .filter_map(|p| {
                p.parse::<super::Cidr>()
                    .map_err(|message| problem(&origin, "trusted_proxies", message))
                    .ok()
            })
            .collect();

        let config = Config {
            origin,
            database_origin,
            limits,
            dav,
            database,
            database_acquire_timeout,
            database_startup_wait,
            secret_key,
            session_ttl,
            listen,
            metrics_listen,
            shutdown_deadline,
            shutdown_drain,
            public_url,
            data_dir,
            plugin_dirs,
            manifest_dirs,
            enabled,
            disabled,
            workspaces,
            trusted_proxies,
        };
        Ok((config, problems))
    }
}

/// The `[[workspaces]]` of the file (the default `files` workspace when it declares none),
/// with "My files" as `personal` says (by default, only beside the default `files`), without
/// those whose id is invalid or declared twice, each reported to `problem`.
fn declared_workspaces(
    declared: Option<Vec<WorkspaceDecl>>,
    personal: Option<bool>,
    data_dir: &Path,
    problem: &mut dyn FnMut(&'static str, String),
) -> Vec<WorkspaceDecl> {
    let personal = personal.unwrap_or(declared.is_none());
    let mut workspaces = declared.unwrap_or_else(|| vec![default_workspace(data_dir)]);
    if personal && !workspaces.iter().any(|ws| ws.id == PERSONAL_ID) {
        workspaces.push(personal_workspace());
    }
    let mut seen = BTreeSet::new();
    workspaces.retain(|ws| {
        if !super::valid_workspace_id(&ws.id) {
            problem(
                "workspaces.id",
                format!(
                    "workspace id '{}' must be 1 to 64 letters, digits, '-' or '_'",
                    ws.id
                ),
            );
            false
        } else if !seen.insert(ws.id.clone()) {
            problem(
                "workspaces.id",
                format!("workspace id '{}' is declared twice", ws.id),
            );
            false
        } else {
            true
        }
    });
    workspaces
}

/// The store a database URL names: PostgreSQL, a SQLite file, or by default
/// `DATA_DIR/wshost.db`.
fn database(url: Option<String>, data_dir: &Path) -> Result<Database, String> {
    match url {
        None => Ok(Database::Sqlite(data_dir.join("wshost.db"))),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Database::Postgres(url))
        }
        Some(url) => match url.strip_prefix("sqlite://") {
            Some(path) => Ok(Database::Sqlite(PathBuf::from(path))),
            None => Err("expected postgres://… or sqlite://PATH".into()),
        },
    }
}

fn non_empty(v: Vec<PathBuf>) -> Option<Vec<PathBuf>> {
    (!v.is_empty()).then_some(v)
}

/// Plugins ship beside the `wshost` executable.
fn default_plugin_dirs() -> Vec<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .into_iter()
        .collect()
}

/// The workspace a deployment gets when its config declares none: `files` on `DATA_DIR/files`.
fn default_workspace(data_dir: &Path) -> WorkspaceDecl {
    let root = std::path::absolute(data_dir.join("files")).unwrap_or(data_dir.join("files"));
    WorkspaceDecl {
        id: "files".into(),
        label: Some("Files".into()),
        description: "The default workspace, in the data folder.".into(),
        driver: "access.fs".into(),
        params: BTreeMap::from([
            (
                "ROOT".to_owned(),
                toml::Value::String(root.to_string_lossy().into_owned()),
            ),
            ("CREATE".to_owned(), toml::Value::Boolean(true)),
        ]),
        all_users: None,
        implicit: true,
    }
}

/// The id of "My files".
const PERSONAL_ID: &str = "my-files";

/// "My files", Pydio's personal workspace: one definition, a folder per user
/// (`DATA_DIR/personal/USER`, made on the user's first use), read-write for every user.
fn personal_workspace() -> WorkspaceDecl {
    WorkspaceDecl {
        id: PERSONAL_ID.into(),
        label: Some("My files".into()),
        description: "Your own folder: no other user sees it.".into(),
        driver: "access.fs".into(),
        params: BTreeMap::from([
            (
                "ROOT".to_owned(),
                toml::Value::String("{data_dir}/personal/{user}".into()),
            ),
            ("CREATE".to_owned(), toml::Value::Boolean(true)),
        ]),
        all_users: Some(crate::store::Access::ReadWrite),
        implicit: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str, settings: Settings) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.toml");
        std::fs::write(&path, toml).unwrap();
        Config::load(&Settings {
            config: Some(path),
            ..settings
        })
    }

    #[test]
    fn defaults_give_the_files_workspace_on_loopback() {
        let cfg = load("", Settings::default()).unwrap();
        assert_eq!(cfg.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(cfg.public_url, "http://127.0.0.1:8080");
        let ids: Vec<&str> = cfg.workspaces.iter().map(|w| w.id.as_str()).collect();
        assert_eq!(ids, ["files", "my-files"]);
        assert_eq!(cfg.workspaces[0].driver, "access.fs");
        assert!(cfg.workspaces[0].string_params()["ROOT"].ends_with("files"));
        let personal = &cfg.workspaces[1];
        assert_eq!(
            personal.string_params()["ROOT"],
            "{data_dir}/personal/{user}"
        );
        assert_eq!(personal.all_users, Some(crate::store::Access::ReadWrite));
        assert!(cfg.data_dir.is_absolute(), "{}", cfg.data_dir.display());
    }

    #[test]
    fn the_embedded_workspaces_are_flagged_with_a_postgresql_store() {
        let sqlite = load("", Settings::default()).unwrap();
        assert_eq!(sqlite.local_defaults_warning(), None);
        let pg = load(
            "database = \"postgres://db.example/wshost\"\n",
            Settings::default(),
        )
        .unwrap();
        let warning = pg.local_defaults_warning().expect("a warning");
        assert!(
            warning.contains("files and my-files are on this instance's data folder"),
            "{warning}"
        );
        let declared = "database = \"postgres://db.example/wshost\"\n[[workspaces]]\nid = \"docs\"\ndriver = \"access.fs\"\n";
        assert_eq!(
            load(declared, Settings::default())
                .unwrap()
                .local_defaults_warning(),
            None
        );
    }

    #[test]
    fn personal_workspace_follows_its_switch() {
        let ids = |toml: &str| -> Vec<String> {
            let cfg = load(toml, Settings::default()).unwrap();
            cfg.workspaces.into_iter().map(|w| w.id).collect()
        };
        assert_eq!(ids("personal_workspace = false\n"), ["files"]);
        let declared = "[[workspaces]]\nid = \"docs\"\ndriver = \"access.fs\"\n";
        assert_eq!(
            ids(declared),
            ["docs"],
            "not beside declared workspaces by default"
        );
        assert_eq!(
            ids(&format!("personal_workspace = true\n{declared}")),
            ["docs", "my-files"]
        );
        let err = load(
            &format!("{declared}all_users = \"w\"\n"),
            Settings::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("line 4, column 13: unknown variant `w`, expected `r` or `rw`"),
            "{err}"
        );
    }

    #[test]
    fn flags_override_the_file() {
        let cfg = load(
            "listen = \"127.0.0.1:9000\"\npublic_url = \"https://x.example/\"\n",
            Settings {
                listen: Some("127.0.0.1:9100".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(cfg.listen.port(), 9100);
        assert_eq!(cfg.public_url, "https://x.example");
    }

    #[test]
    fn errors_name_the_file_and_key() {
        let err = load("listen = \"nope\"\n", Settings::default()).unwrap_err();
        assert!(err.to_string().contains("key `listen`"), "{err}");
        let err = load("listen = \n", Settings::default()).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        let err = load("lisen = \"x\"\n", Settings::default()).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        let err = load(
            "[plugins]\nenabled=[\"a.b\"]\ndisabled=[\"a.b\"]\n",
            Settings::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("both"), "{err}");
        let err = load("[dav]\napple_files = \"no\"\n", Settings::default()).unwrap_err();
        assert!(
            err.to_string().contains("host.toml: key `dav.apple_files`"),
            "{err}"
        );
        let err = load("[dav]\nrealms = \"x\"\n", Settings::default()).unwrap_err();
        assert!(err.to_string().contains("unknown field `realms`"), "{err}");
    }

    #[test]
    fn the_dav_section_is_read() {
        let cfg = load("", Settings::default()).unwrap();
        assert_eq!(cfg.dav, super::super::Dav::default());
        let cfg = load(
            "[dav]\nallow_basic_over_http = true\nmax_propfind_entries = 7\n",
            Settings::default(),
        )
        .unwrap();
        assert!(cfg.dav.allow_basic_over_http);
        assert_eq!(cfg.dav.max_propfind_entries, 7);
    }

    /// The Debian package's `/etc/wshost/host.toml` shows each key it does not leave to
    /// prose on a `# key = value` line with the host's real default: uncommented, those lines
    /// load (no key misspelt: unknown keys are refused) into the config an empty file gives.
    #[test]
    fn the_packaged_host_toml_shows_the_real_defaults() {
        let shipped = include_str!("../../../packaging/debian/host.toml");
        let mut keys = 0;
        let uncommented: String = shipped
            .lines()
            .map(|line| {
                let key = line.strip_prefix("# ").filter(|rest| {
                    rest.starts_with('[')
                        || rest.split_once(" = ").is_some_and(|(k, _)| {
                            k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        })
                });
                keys += usize::from(key.is_some());
                format!("{}\n", key.unwrap_or(line))
            })
            .collect();
        assert!(
            keys >= 30,
            "only {keys} keys found in packaging/debian/host.toml"
        );
        // One file for both, since the config names the file it came from.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.toml");
        let load_text = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Config::load(&Settings {
                config: Some(path.clone()),
                ..Settings::default()
            })
        };
        let shown = load_text(&uncommented)
            .unwrap_or_else(|e| panic!("packaging/debian/host.toml, uncommented: {e}"));
        let default = load_text("").unwrap();
        assert_eq!(format!("{shown:#?}"), format!("{default:#?}"));
    }
}
