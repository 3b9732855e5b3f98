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
    /// Inspect, enable and disable plugins.
    #[command(subcommand)]
    Plugins(PluginsCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage workspaces (like Nextcloud's `occ files_external:*`).
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Check the deployment without starting it.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Validate the config, the plugin and manifest folders and the declared workspaces;
    /// print every problem with its file and key; exit non-zero when there is any.
    Check {
        #[command(flatten)]
        settings: Settings,
    },
}

/// Options shared by the administration commands.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct AdminOpts {
    #[command(flatten)]
    pub(crate) settings: Settings,
    /// Print JSON for scripts instead of text for people.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a user; the password is read from standard input (one line).
    Add {
        name: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        opts: AdminOpts,
    },
    /// List users.
    List {
        #[command(flatten)]
        opts: AdminOpts,
    },
    /// Set a user's password, read from standard input (one line); ends their sessions.
    Passwd {
        name: String,
        #[command(flatten)]
        opts: AdminOpts,
    },
    /// Delete a user with their sessions, tokens and grants.
    Delete {
        name: String,
        #[command(flatten)]
        opts: AdminOpts,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create an API token for USER and print it alone on stdout (shown only once).
    Create {
        user: String,
        /// A label to recognize the token by.
        #[arg(long, default_value = "")]
        label: String,
        #[command(flatten)]
        opts: AdminOpts,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum WorkspaceCommand {
    /// Create a workspace from a driver's manifest.
    Create {
        /// The driver's plugin id (`access.fs`).
        #[arg(long)]
        driver: String,
        /// The label people see.
        #[arg(long)]
        label: String,
        /// The id [default: derived from the label].
        #[arg(long)]
        id: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
        /// A parameter, `NAME=VALUE`; repeatable.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Validate only; create nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        opts: AdminOpts,
    },
    /// List workspaces.
    List {
        #[command(flatten)]
        opts: AdminOpts,
    },
    /// Show one workspace (password parameters are never shown).
    Show {
        id: String,
        #[command(flatten)]
        opts: AdminOpts,
    },
    /// Run the driver's verification of a workspace.
    Verify {
        id: String,
        #[command(flatten)]
        opts: AdminOpts,
    },
    /// Delete a workspace with its grants and plugin data.
    Delete {
        id: String,
        #[command(flatten)]
        opts: AdminOpts,
    },
    /// Grant USER read (`r`) or read-write (`rw`) access.
    Grant {
        id: String,
        user: String,
        /// `r` or `rw`.
        access: String,
        #[command(flatten)]
        opts: AdminOpts,
    },
    /// Remove USER's access.
    Revoke {
        id: String,
        user: String,
        #[command(flatten)]
        opts: AdminOpts,
    },
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
    /// Enable a plugin on every instance sharing the store.
    Enable {
        id: String,
        #[command(flatten)]
        opts: AdminOpts,
    },
    /// Disable a plugin on every instance sharing the store.
    Disable {
        id: String,
        #[command(flatten)]
        opts: AdminOpts,
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
    /// Run the conformance suite on one library's driver, with in-memory host services.
    Test(crate::plugin_test::TestArgs),
    /// Write a new plugin crate, ready to build, outside this workspace.
    New(crate::scaffold::NewArgs),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The command lines of the example systemd unit in `docs/operations.md` parse with this
    /// CLI, so the documented unit cannot rot.
    #[test]
    fn the_documented_systemd_unit_parses() {
        let doc = include_str!("../../docs/operations.md");
        let lines: Vec<&str> = doc
            .lines()
            .filter_map(|l| {
                l.strip_prefix("ExecStart=")
                    .or_else(|| l.strip_prefix("ExecStartPre="))
            })
            .collect();
        assert_eq!(lines.len(), 2, "ExecStartPre and ExecStart in the unit");
        for line in lines {
            let args: Vec<&str> = line.split_whitespace().collect();
            assert!(args[0].ends_with("/wshost"), "{line}");
            if let Err(e) = Cli::try_parse_from(&args) {
                panic!("{line}: {e}");
            }
        }
    }
}
