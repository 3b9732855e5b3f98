//! The shapes of `host.toml` as written, and reading it with line:column errors.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::dav::FileDav;
use super::limits::FileLimits;
use super::{ConfigError, WorkspaceDecl};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) listen: Option<String>,
    pub(super) public_url: Option<String>,
    pub(super) data_dir: Option<PathBuf>,
    pub(super) plugin_dirs: Option<Vec<PathBuf>>,
    pub(super) manifest_dirs: Option<Vec<PathBuf>>,
    #[serde(default)]
    pub(super) plugins: PluginToggles,
    pub(super) workspaces: Option<Vec<WorkspaceDecl>>,
    /// Whether "My files" (`my-files`, a folder per user) is served: by default with the
    /// embedded workspaces, not beside declared ones.
    pub(super) personal_workspace: Option<bool>,
    pub(super) database: Option<String>,
    pub(super) secret_key: Option<String>,
    pub(super) session_ttl_hours: Option<u64>,
    pub(super) metrics_listen: Option<String>,
    pub(super) shutdown_deadline_secs: Option<u64>,
    pub(super) shutdown_drain_secs: Option<u64>,
    pub(super) trusted_proxies: Option<Vec<String>>,
    pub(super) database_acquire_timeout_secs: Option<u64>,
    pub(super) database_startup_wait_secs: Option<u64>,
    #[serde(default)]
    pub(super) limits: FileLimits,
    #[serde(default)]
    pub(super) dav: FileDav,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PluginToggles {
    #[serde(default)]
    pub(super) enabled: Vec<String>,
    #[serde(default)]
    pub(super) disabled: Vec<String>,
}

pub(super) fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
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
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
