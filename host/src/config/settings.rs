//! The deployment settings that flags and `WSHOST_*` variables give, over `host.toml`.

use std::path::PathBuf;

use clap::Args;

/// Deployment settings that can come from flags, the environment or `host.toml`.
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct Settings {
    /// Config file [default: ./host.toml when it exists].
    #[arg(long, env = "WSHOST_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "WSHOST_LISTEN", value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// Public base URL clients and OAuth providers use [default: http://LISTEN].
    #[arg(long, env = "WSHOST_PUBLIC_URL", value_name = "URL")]
    pub(crate) public_url: Option<String>,
    /// Data folder [default: ./data].
    #[arg(long, env = "WSHOST_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Folder to search for plugin libraries; repeatable [default: beside the executable].
    #[arg(
        long = "plugins-dir",
        env = "WSHOST_PLUGINS_DIR",
        value_name = "DIR",
        value_delimiter = ':'
    )]
    pub(crate) plugin_dirs: Vec<PathBuf>,
    /// Database URL: `postgres://…` to share state between instances [default: SQLite file
    /// DATA_DIR/wshost.db].
    #[arg(
        long,
        env = "WSHOST_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub(crate) database: Option<String>,
    /// Serve `/metrics` without authentication on this separate address [default: only on
    /// the main listener, to administrators].
    #[arg(long, env = "WSHOST_METRICS_LISTEN", value_name = "ADDR")]
    pub(crate) metrics_listen: Option<String>,
    /// Log format.
    #[arg(long, env = "WSHOST_LOG_FORMAT", value_enum, default_value_t = crate::telemetry::LogFormat::Text)]
    pub(crate) log_format: crate::telemetry::LogFormat,
    /// Folder to search for plugin manifests; repeatable [default: ./manifests].
    #[arg(
        long = "manifests-dir",
        env = "WSHOST_MANIFESTS_DIR",
        value_name = "DIR",
        value_delimiter = ':'
    )]
    pub(crate) manifest_dirs: Vec<PathBuf>,
}
