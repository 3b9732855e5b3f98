//! The command line as clap parses it: `serve`, `migrate`, `backup`, `plugins list|check|test|new|enable|disable`,
//! `user`, `token`, `workspace` and `config check`. The deployment settings every command
//! shares are `config::Settings`: flags override the config file, which overrides the
//! built-in defaults, and every flag also reads a `WSHOST_*` environment variable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub(crate) use crate::config::Settings;
use crate::store::Access;

/// `r` or `rw`, as a grant is written.
fn parse_access(text: &str) -> Result<Access, String> {
    text.parse()
        .map_err(|_| format!("expected 'r' (read-only) or 'rw' (read-write), not '{text}'"))
}

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
    Serve(ServeArgs),
    /// Apply the schema migrations this binary has to an existing store, then exit (for a
    /// rolling upgrade: migrate once, then restart each instance with `serve --no-migrate`).
    Migrate(Settings),
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
    /// Manage templates, from which users make their own workspaces.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Write a consistent copy of the SQLite store into the new file FILE, while the server
    /// runs (SQLite's `VACUUM INTO`); back the secrets key up with it. PostgreSQL: pg_dump.
    Backup {
        /// The backup file to create (refused if it exists).
        file: PathBuf,
        #[command(flatten)]
        settings: Settings,
    },
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

/// `wshost serve`.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) settings: Settings,
    /// Run no migration: start only if the store exists with exactly this binary's schema
    /// (run `wshost migrate` first). Without it, `serve` creates the store when absent and
    /// applies the migrations it lacks.
    #[arg(long, env = "WSHOST_NO_MIGRATE")]
    pub(crate) no_migrate: bool,
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
    /// List API tokens, every user's or USER's: id, user, label, created, last used (never
    /// the token itself).
    List {
        user: Option<String>,
        #[command(flatten)]
        opts: AdminOpts,
    },
    /// Revoke the API token ID (the id `token list` shows): it stops working at once.
    Revoke {
        id: String,
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
        /// The access every signed-in user has without a grant: `r` or `rw` (a personal
        /// workspace, `ROOT={data_dir}/personal/{user}`, takes `rw`).
        #[arg(long, value_name = "r|rw", value_parser = parse_access)]
        all_users: Option<Access>,
        /// Validate (and verify) only; create nothing.
        #[arg(long)]
        dry_run: bool,
        /// Save the workspace without asking its driver to check it first (by default a
        /// failed check refuses it).
        #[arg(long)]
        no_verify: bool,
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
        #[arg(value_name = "r|rw")]
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
pub(crate) enum TemplateCommand {
    /// Create a template: the params given are fixed, those named by --user-param each user
    /// fills in.
    Create {
        /// The driver's plugin id (`access.dropbox`).
        #[arg(long)]
        driver: String,
        #[arg(long)]
        label: String,
        /// The id [default: derived from the label].
        #[arg(long)]
        id: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
        /// A fixed parameter (or the default of a user's), `NAME=VALUE`; repeatable.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// A parameter each user fills in; repeatable.
        #[arg(long = "user-param", value_name = "NAME")]
        user_params: Vec<String>,
        /// How many workspaces one user may make from it [default: no limit].
        #[arg(long, value_name = "N")]
        max_per_user: Option<u32>,
        #[command(flatten)]
        opts: AdminOpts,
    },
    /// List templates and the workspaces made from each.
    List {
        #[command(flatten)]
        opts: AdminOpts,
    },
    /// Show one template (password parameters are never shown).
    Show {
        id: String,
        #[command(flatten)]
        opts: AdminOpts,
    },
    /// Delete a template no workspace is made from any more.
    Delete {
        id: String,
        #[command(flatten)]
        opts: AdminOpts,
    },
    /// Make USER's own workspace from a template, as they would in the UI.
    Use {
        id: String,
        /// The user who owns it.
        #[arg(long)]
        user: String,
        #[arg(long)]
        label: String,
        /// The new workspace's id [default: derived from the user and the label].
        #[arg(long = "workspace-id", value_name = "ID")]
        workspace_id: Option<String>,
        /// One of the template's user parameters, `NAME=VALUE`; repeatable.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Save it without asking its driver to check it first.
        #[arg(long)]
        no_verify: bool,
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
    Test(super::plugin_test::TestArgs),
    /// Write the conformance suite's fixture tree into a new or empty folder, to put into a
    /// backend for `plugins test --seeded`.
    Fixture {
        /// The folder to write it into (created if missing; refused if not empty).
        dir: PathBuf,
    },
    /// Write a new plugin crate, ready to build, outside this workspace.
    New(super::scaffold::NewArgs),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command lines of the example systemd unit in `docs/operations.md` parse with this
    /// CLI, so the documented unit cannot rot.
    #[test]
    fn the_documented_systemd_unit_parses() {
        let doc = include_str!("../../../docs/operations.md");
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

    /// README's command summary names every command with its required arguments, so that
    /// it cannot fall behind the CLI. A summary line is `wshost GROUP LEAF ARGS | LEAF ARGS`
    /// (lines that start with spaces continue the line above).
    #[test]
    fn the_readme_summary_shows_every_command_and_its_required_arguments() {
        use clap::CommandFactory;
        let readme = include_str!("../../../README.md");
        let block = readme
            .split("## Commands")
            .nth(1)
            .and_then(|s| s.split("```").nth(1))
            .expect("README.md has a ## Commands block");
        let mut lines: Vec<String> = Vec::new();
        for line in block.lines().filter(|l| !l.trim().is_empty()) {
            match lines.last_mut() {
                Some(last) if line.starts_with(' ') => {
                    last.push(' ');
                    last.push_str(line.trim());
                }
                _ => lines.push(line.to_owned()),
            }
        }
        // Every summarized command as (group, segment), e.g. ("user", "passwd NAME").
        let mut segments: Vec<(String, String)> = Vec::new();
        for line in &lines {
            let rest = line
                .strip_prefix("wshost ")
                .expect("a summary line starts with wshost");
            let (group, leaves) = rest.split_once(' ').unwrap_or((rest, ""));
            for leaf in leaves.split(" | ") {
                segments.push((group.to_owned(), leaf.trim().to_owned()));
            }
        }
        let cli = Cli::command();
        for group in cli.get_subcommands().filter(|c| c.get_name() != "help") {
            let leaves: Vec<(&clap::Command, String)> = if group.has_subcommands() {
                group
                    .get_subcommands()
                    .map(|leaf| (leaf, leaf.get_name().to_owned()))
                    .collect()
            } else {
                vec![(group, String::new())]
            };
            for (leaf, name) in leaves {
                let shown = format!("wshost {} {name}", group.get_name());
                let segment = segments
                    .iter()
                    .find(|(g, seg)| {
                        g == group.get_name()
                            && (name.is_empty() || seg.split(' ').next() == Some(name.as_str()))
                    })
                    .map(|(_, seg)| seg)
                    .unwrap_or_else(|| panic!("README's command summary lacks `{shown}`"));
                let words: Vec<&str> = segment.split(' ').collect();
                for arg in leaf.get_arguments().filter(|a| a.is_required_set()) {
                    let want = match arg.get_long() {
                        Some(long) => format!("--{long}"),
                        None => arg.get_value_names().and_then(|v| v.first()).map_or_else(
                            || arg.get_id().as_str().to_uppercase(),
                            |v| v.to_string(),
                        ),
                    };
                    assert!(
                        words.contains(&want.as_str()),
                        "README's command summary shows `{shown}` without its required `{want}`: {segment}"
                    );
                }
            }
        }
    }
}
