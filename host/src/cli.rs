//! The command line: `wshost serve`, `wshost plugins list`, `wshost plugins check`.
//! Flags override the config file, which overrides the built-in defaults; every flag also
//! reads a `WSHOST_*` environment variable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// wshost: a workspace host that serves storage-driver plugins through `?get_action=` requests.
#[derive(Debug, Parser)]
#[command(name = "wshost", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Start the HTTP server.
    Serve(Settings),
    /// Inspect plugins.
    #[command(subcommand)]
    Plugins(PluginsCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum PluginsCommand {
    /// List every discovered plugin: id, version, library, enabled, load status or refusal.
    List {
        #[command(flatten)]
        settings: Settings,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Load one library and check it (ABI, id, actions) against its manifest.
    Check {
        /// Path of the plugin library (`libaccess_fs.so`).
        library: PathBuf,
        /// The manifest to check against; by default `<id>.toml` in the manifest folders.
        #[arg(long)]
        manifest: Option<PathBuf>,
        #[command(flatten)]
        settings: Settings,
    },
}

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
    /// Folder to search for plugin manifests; repeatable [default: ./manifests].
    #[arg(
        long = "manifests-dir",
        env = "WSHOST_MANIFESTS_DIR",
        value_name = "DIR",
        value_delimiter = ':'
    )]
    pub(crate) manifest_dirs: Vec<PathBuf>,
}
