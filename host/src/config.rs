//! Deployment configuration: `host.toml` merged with flags and `WSHOST_*` variables over the
//! embedded defaults. Relative paths in the file are relative to the file's folder.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::cli::Settings;

/// The resolved configuration of one host process.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) listen: SocketAddr,
    /// Without a trailing slash.
    pub(crate) public_url: String,
    pub(crate) data_dir: PathBuf,
    pub(crate) plugin_dirs: Vec<PathBuf>,
    pub(crate) manifest_dirs: Vec<PathBuf>,
    /// Plugin ids forced on, whatever their manifest says.
    pub(crate) enabled: BTreeSet<String>,
    /// Plugin ids forced off.
    pub(crate) disabled: BTreeSet<String>,
    pub(crate) workspaces: Vec<WorkspaceDecl>,
    /// Where state lives.
    pub(crate) database: Database,
    /// Where the secrets key comes from.
    pub(crate) secret_key: SecretKeySource,
    /// How long a browser session lasts.
    pub(crate) session_ttl: std::time::Duration,
    /// A separate, unauthenticated listener for `/metrics`, if any.
    pub(crate) metrics_listen: Option<SocketAddr>,
    /// How long in-flight requests may run after a shutdown signal.
    pub(crate) shutdown_deadline: std::time::Duration,
    /// What one client may ask of the host.
    pub(crate) limits: Limits,
}

/// Bounds on what one client, or one plugin call, may take (`[limits]` in host.toml). Every
/// bound has a default safe for a host on the open network; operators raise them knowingly.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Largest upload body, in bytes (413 beyond).
    pub(crate) max_upload: u64,
    /// Largest other request body (forms, JSON of the API and the UI), in bytes.
    pub(crate) max_body: usize,
    /// Largest request head (request line and headers), in bytes (431 beyond).
    pub(crate) max_header_bytes: usize,
    /// Time a client has to send its request head (and an idle keep-alive connection to
    /// start the next one): slow-loris clients are cut.
    pub(crate) header_timeout: Duration,
    /// Longest pause while a client sends a body: a stalled upload is cut and discarded.
    pub(crate) body_idle_timeout: Duration,
    /// Largest listing page a client may ask for.
    pub(crate) max_page: u32,
    /// Failed logins for one user name before attempts are refused ...
    pub(crate) login_failures: u32,
    /// ... for this long.
    pub(crate) login_window: Duration,
    /// Longest a plugin may take to answer a call, or to move a stream forward; the request
    /// then fails with 504 (the plugin's thread cannot be stopped and finishes on its own).
    pub(crate) plugin_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_upload: 16 << 30,
            max_body: 1 << 20,
            max_header_bytes: 16 << 10,
            header_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(60),
            max_page: 10_000,
            login_failures: 5,
            login_window: Duration::from_secs(60),
            plugin_timeout: Duration::from_secs(60),
        }
    }
}

/// `[limits]` as written: sizes as "16 GiB" or a number of bytes, durations in seconds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    max_upload: Option<Size>,
    max_body: Option<Size>,
    max_header_bytes: Option<Size>,
    header_timeout_secs: Option<u64>,
    body_idle_timeout_secs: Option<u64>,
    max_page: Option<u32>,
    login_failures: Option<u32>,
    login_window_secs: Option<u64>,
    plugin_timeout_secs: Option<u64>,
}

/// A size in the config file: a number of bytes or a string such as "512 KiB".
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Size {
    Bytes(u64),
    Text(String),
}

/// The store's location.
#[derive(Clone)]
pub(crate) enum Database {
    /// The embedded default: a SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (may hold a password: never printed).
    Postgres(String),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(p) => write!(f, "Sqlite({})", p.display()),
            Database::Postgres(_) => f.write_str("Postgres(…)"),
        }
    }
}

/// Where the key that encrypts secrets at rest comes from.
#[derive(Clone)]
pub(crate) enum SecretKeySource {
    /// Given in the config file or `WSHOST_SECRET_KEY` (base64 of 32 bytes).
    Given(String),
    /// A file in the data folder, created on first start with mode 0600.
    File(PathBuf),
}

impl std::fmt::Debug for SecretKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretKeySource::Given(_) => f.write_str("Given(…)"),
            SecretKeySource::File(p) => write!(f, "File({})", p.display()),
        }
    }
}

/// A workspace declared in the config file.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkspaceDecl {
    pub(crate) id: String,
    pub(crate) label: Option<String>,
    #[serde(default)]
    pub(crate) description: String,
    pub(crate) driver: String,
    #[serde(default)]
    pub(crate) params: BTreeMap<String, toml::Value>,
}

impl std::fmt::Debug for WorkspaceDecl {
    /// Param values are left out: some are secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkspaceDecl")
            .field("id", &self.id)
            .field("driver", &self.driver)
            .field("params", &self.params.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl WorkspaceDecl {
    /// Params as strings, the form manifests validate.
    pub(crate) fn string_params(&self) -> BTreeMap<String, String> {
        self.params
            .iter()
            .map(|(k, v)| {
                let s = match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), s)
            })
            .collect()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    public_url: Option<String>,
    data_dir: Option<PathBuf>,
    plugin_dirs: Option<Vec<PathBuf>>,
    manifest_dirs: Option<Vec<PathBuf>>,
    #[serde(default)]
    plugins: PluginToggles,
    workspaces: Option<Vec<WorkspaceDecl>>,
    database: Option<String>,
    secret_key: Option<String>,
    session_ttl_hours: Option<u64>,
    metrics_listen: Option<String>,
    shutdown_deadline_secs: Option<u64>,
    #[serde(default)]
    limits: FileLimits,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginToggles {
    #[serde(default)]
    enabled: Vec<String>,
    #[serde(default)]
    disabled: Vec<String>,
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}, line {line}, column {column}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{origin}: key `{key}`: {message}")]
    Invalid {
        origin: String,
        key: &'static str,
        message: String,
    },
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Several(Vec<ConfigError>),
}

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
        let metrics_listen = settings
            .metrics_listen
            .clone()
            .or(file.metrics_listen)
            .and_then(|m| {
                m.parse::<SocketAddr>()
                    .map_err(|_| {
                        problem(
                            &origin,
                            "metrics_listen",
                            format!("expected an address like 127.0.0.1:9100, got '{m}'"),
                        )
                    })
                    .ok()
            });

        let mut public_url = settings
            .public_url
            .clone()
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{listen}"));
        match url::Url::parse(&public_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                problem(
                    &origin,
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

        let mut workspaces = match file.workspaces {
            Some(list) => list,
            None => vec![default_workspace(&data_dir)],
        };
        let mut seen = BTreeSet::new();
        workspaces.retain(|ws| {
            if !crate::admin::valid_id(&ws.id) {
                problem(
                    &origin,
                    "workspaces.id",
                    format!(
                        "workspace id '{}' must be 1 to 64 letters, digits, '-' or '_'",
                        ws.id
                    ),
                );
                false
            } else if !seen.insert(ws.id.clone()) {
                problem(
                    &origin,
                    "workspaces.id",
                    format!("workspace id '{}' is declared twice", ws.id),
                );
                false
            } else {
                true
            }
        });

        let database = match settings.database.clone().or(file.database) {
            None => Database::Sqlite(data_dir.join("wshost.db")),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Database::Postgres(url)
            }
            Some(url) => match url.strip_prefix("sqlite://") {
                Some(path) => Database::Sqlite(PathBuf::from(path)),
                None => {
                    problem(
                        &origin,
                        "database",
                        "expected postgres://… or sqlite://PATH".into(),
                    );
                    Database::Sqlite(data_dir.join("wshost.db"))
                }
            },
        };
        let secret_key = match std::env::var("WSHOST_SECRET_KEY").ok().or(file.secret_key) {
            Some(key) => SecretKeySource::Given(key),
            None => SecretKeySource::File(data_dir.join("secret.key")),
        };
        let session_ttl =
            std::time::Duration::from_secs(3600 * file.session_ttl_hours.unwrap_or(12).max(1));
        let shutdown_deadline =
            std::time::Duration::from_secs(file.shutdown_deadline_secs.unwrap_or(30));

        let limits = limits(file.limits, &mut |key, message| {
            problem(&origin, key, message)
        });

        let config = Config {
            limits,
            database,
            secret_key,
            session_ttl,
            listen,
            metrics_listen,
            shutdown_deadline,
            public_url,
            data_dir,
            plugin_dirs,
            manifest_dirs,
            enabled,
            disabled,
            workspaces,
        };
        Ok((config, problems))
    }
}

/// Resolves `[limits]` over the defaults, reporting values out of range to `problem` (with
/// the default kept for them).
fn limits(file: FileLimits, problem: &mut dyn FnMut(&'static str, String)) -> Limits {
    let default = Limits::default();
    let mut size = |key: &'static str, value: Option<Size>, min: u64, fallback: u64| -> u64 {
        let bytes = match value {
            None => return fallback,
            Some(Size::Bytes(n)) => Ok(n),
            Some(Size::Text(t)) => t.parse::<bytesize::ByteSize>().map(|b| b.as_u64()),
        };
        match bytes {
            Ok(n) if n >= min => n,
            Ok(n) => {
                problem(key, format!("expected at least {min} bytes, got {n}"));
                fallback
            }
            Err(e) => {
                problem(
                    key,
                    format!("expected a size like \"64 MiB\" or a number of bytes: {e}"),
                );
                fallback
            }
        }
    };
    let max_upload = size("limits.max_upload", file.max_upload, 1, default.max_upload);
    let max_body = size(
        "limits.max_body",
        file.max_body,
        1024,
        default.max_body as u64,
    );
    // hyper refuses head buffers under 8 KiB.
    let max_header_bytes = size(
        "limits.max_header_bytes",
        file.max_header_bytes,
        8 << 10,
        default.max_header_bytes as u64,
    );
    let mut secs = |key: &'static str, value: Option<u64>, fallback: Duration| match value {
        None => fallback,
        Some(0) => {
            problem(key, "expected a number of seconds of at least 1".into());
            fallback
        }
        Some(n) => Duration::from_secs(n),
    };
    let header_timeout = secs(
        "limits.header_timeout_secs",
        file.header_timeout_secs,
        default.header_timeout,
    );
    let body_idle_timeout = secs(
        "limits.body_idle_timeout_secs",
        file.body_idle_timeout_secs,
        default.body_idle_timeout,
    );
    let login_window = secs(
        "limits.login_window_secs",
        file.login_window_secs,
        default.login_window,
    );
    let plugin_timeout = secs(
        "limits.plugin_timeout_secs",
        file.plugin_timeout_secs,
        default.plugin_timeout,
    );
    let mut count = |key: &'static str, value: Option<u32>, fallback: u32| match value {
        Some(0) => {
            problem(key, "expected a whole number of at least 1".into());
            fallback
        }
        v => v.unwrap_or(fallback),
    };
    Limits {
        max_upload,
        max_body: usize::try_from(max_body).unwrap_or(usize::MAX),
        max_header_bytes: usize::try_from(max_header_bytes).unwrap_or(usize::MAX),
        header_timeout,
        body_idle_timeout,
        max_page: count("limits.max_page", file.max_page, default.max_page),
        login_failures: count(
            "limits.login_failures",
            file.login_failures,
            default.login_failures,
        ),
        login_window,
        plugin_timeout,
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
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(&text, s.start)).unwrap_or((0, 0));
        ConfigError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message: e.message().to_owned(),
        }
    })
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
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
        assert_eq!(cfg.workspaces.len(), 1);
        assert_eq!(cfg.workspaces[0].id, "files");
        assert_eq!(cfg.workspaces[0].driver, "access.fs");
        assert!(cfg.workspaces[0].string_params()["ROOT"].ends_with("files"));
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
    }
}
