//! The command line: [`run`] parses it and runs one command. `serve` starts the host;
//! `plugins` lists, checks, tests, scaffolds and toggles plugins; `config_check` checks a
//! deployment without starting it; `admin` holds the administration commands (users,
//! tokens, workspaces, grants, `migrate`, `backup`), which work on the store through
//! `crate::admin`.

mod admin;
mod cli;
mod config_check;
mod plugin_test;
mod plugins;
mod scaffold;
mod serve;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, PluginsCommand};

/// Parses the command line and runs the command it names.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let format = match &cli.command {
        Command::Serve(args) => args.settings.log_format,
        _ => std::env::var("WSHOST_LOG_FORMAT")
            .ok()
            .filter(|f| f == "json")
            .map_or(crate::telemetry::LogFormat::Text, |_| {
                crate::telemetry::LogFormat::Json
            }),
    };
    let filter = match &cli.command {
        Command::Serve(_) => crate::telemetry::SERVE_LOG_FILTER,
        _ => crate::telemetry::COMMAND_LOG_FILTER,
    };
    crate::telemetry::init_logging(format, filter);
    let result = match cli.command {
        Command::Serve(args) => serve::serve(&args.settings, args.no_migrate),
        Command::Migrate(settings) => admin::migrate(&settings),
        Command::Backup { file, settings } => admin::backup(&file, &settings),
        Command::Plugins(PluginsCommand::List { settings, json }) => {
            plugins::plugins_list(&settings, json)
        }
        Command::Plugins(PluginsCommand::Check {
            library,
            manifest,
            settings,
        }) => plugins::plugins_check(&library, manifest.as_deref(), &settings),
        Command::Plugins(PluginsCommand::Test(args)) => plugin_test::run(&args),
        Command::Plugins(PluginsCommand::Fixture { dir }) => plugin_test::fixture(&dir),
        Command::Plugins(PluginsCommand::New(args)) => scaffold::run(&args),
        Command::Plugins(PluginsCommand::Enable { id, opts }) => {
            admin::toggle_plugin(id, true, opts)
        }
        Command::Plugins(PluginsCommand::Disable { id, opts }) => {
            admin::toggle_plugin(id, false, opts)
        }
        Command::User(cmd) => admin::user(cmd),
        Command::Token(cmd) => admin::token(cmd),
        Command::Workspace(cmd) => admin::workspace(cmd),
        Command::Template(cmd) => admin::template(cmd),
        Command::Config(cli::ConfigCommand::Check { settings }) => {
            config_check::config_check(&settings)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wshost: {e:#}");
            ExitCode::FAILURE
        }
    }
}
