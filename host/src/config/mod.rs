//! Deployment configuration: `host.toml` merged with flags and `WSHOST_*` variables over the
//! embedded defaults. Relative paths in the file are relative to the file's folder.
//!
//! Layout: `mod` (the resolved configuration and its errors), `settings` (flags and
//! `WSHOST_*` variables), `file` (the shapes of `host.toml` as written), `limits` (`[limits]`
//! and its defaults), `dav` (`[dav]`, the WebDAV door's settings), `load` (flags over the file
//! over the defaults).

mod dav;
mod file;
mod limits;
mod load;
mod settings;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

pub(crate) use dav::AppleFiles;
pub(crate) use dav::Dav;
pub(crate) use limits::Limits;
pub(crate) use settings::Settings;

/// The resolved configuration of one host process.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Where the values of the file come from, for a message: `config file PATH`, or
    /// `settings` without a file.
    pub(crate) origin: String,
    /// Where `database` comes from: its flag and variable, the file, or the default.
    pub(crate) database_origin: String,
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
    /// How long a query waits for a database connection before the request answers 503
    /// `store_unavailable` (`database_acquire_timeout_secs`).
    pub(crate) database_acquire_timeout: std::time::Duration,
    /// How long `serve` retries a database that does not answer at start-up
    /// (`database_startup_wait_secs`; zero: not at all).
    pub(crate) database_startup_wait: std::time::Duration,
    /// Where the secrets key comes from.
    pub(crate) secret_key: SecretKeySource,
    /// How long a browser session lasts.
    pub(crate) session_ttl: std::time::Duration,
    /// A separate, unauthenticated listener for `/metrics`, if any.
    pub(crate) metrics_listen: Option<SocketAddr>,
    /// How long in-flight requests may run after a shutdown signal.
    pub(crate) shutdown_deadline: std::time::Duration,
    /// How long, after a shutdown signal, `/readyz` answers 503 while the listener still
    /// serves, so that a load balancer stops sending before connections are refused.
    pub(crate) shutdown_drain: std::time::Duration,
    /// What one client may ask of the host.
    pub(crate) limits: Limits,
    /// The WebDAV door (`[dav]`).
    pub(crate) dav: Dav,
    /// Peers whose `X-Forwarded-For` names the client in the access log (`trusted_proxies`).
    pub(crate) trusted_proxies: Vec<Cidr>,
}

/// An address block, `192.0.2.0/24`, `2001:db8::/32`, or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let bad = || format!("expected an IP address or a CIDR block like 10.0.0.0/8, got '{s}'");
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: std::net::IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(bad)?,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl Cidr {
    /// Whether `ip` is in the block (an IPv4 address mapped into IPv6 counts as IPv4).
    pub(crate) fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        // Equal when no bit differs above the host part.
        let same = |net: u128, ip: u128, width: u32| {
            (net ^ ip)
                .checked_shr(width - u32::from(self.prefix))
                .unwrap_or(0)
                == 0
        };
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same(u32::from(net).into(), u32::from(ip).into(), 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => same(net.into(), ip.into(), 128),
            _ => false,
        }
    }
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
    /// The access every signed-in user has without a grant (`"r"` or `"rw"`).
    #[serde(default)]
    pub(crate) all_users: Option<crate::store::Access>,
    /// One of the embedded defaults (`files`, "My files"), on the data folder: not written in
    /// host.toml.
    #[serde(skip)]
    pub(crate) implicit: bool,
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

impl Config {
    /// Why this deployment should declare its workspaces: with a store other instances may
    /// share (PostgreSQL), the embedded workspaces on the data folder are each instance's
    /// own, so a file would depend on the instance that served it. `None` when not so.
    pub(crate) fn local_defaults_warning(&self) -> Option<String> {
        let implicit: Vec<&str> = self
            .workspaces
            .iter()
            .filter(|ws| ws.implicit)
            .map(|ws| ws.id.as_str())
            .collect();
        if implicit.is_empty() || !matches!(self.database, Database::Postgres(_)) {
            return None;
        }
        Some(format!(
            "the embedded workspaces {} are on this instance's data folder ({}), but the store \
             is PostgreSQL, which several instances may share: each would serve its own files. \
             Declare [[workspaces]] on storage every instance mounts, or set \
             personal_workspace = false",
            implicit.join(" and "),
            self.data_dir.display()
        ))
    }
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

/// A workspace id: letters, digits, `-` and `_`, at most 64.
pub(crate) fn valid_workspace_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
