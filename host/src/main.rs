//! The `wshost` executable: parses the command line and runs one command.

mod admin;
mod auth;
mod boot;
mod cli;
mod commands;
mod config;
mod manifest;
mod paths;
mod plugin_test;
mod registry;
mod scaffold;
mod services;
mod store;
mod web;
mod workspaces;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Parser;
use plugin_api::foreign::{host_api_version, LoadedLibrary};

use cli::{Cli, Command, PluginsCommand, Settings};
use config::Config;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WSHOST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(settings) => serve(&settings),
        Command::Plugins(PluginsCommand::List { settings, json }) => plugins_list(&settings, json),
        Command::Plugins(PluginsCommand::Check {
            library,
            manifest,
            settings,
        }) => plugins_check(&library, manifest.as_deref(), &settings),
        Command::Plugins(PluginsCommand::Test(args)) => plugin_test::run(&args),
        Command::Plugins(PluginsCommand::New(args)) => scaffold::run(&args),
        Command::Plugins(PluginsCommand::Enable { id, opts }) => {
            commands::toggle_plugin(id, true, opts)
        }
        Command::Plugins(PluginsCommand::Disable { id, opts }) => {
            commands::toggle_plugin(id, false, opts)
        }
        Command::User(cmd) => commands::user(cmd),
        Command::Token(cmd) => commands::token(cmd),
        Command::Workspace(cmd) => commands::workspace(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wshost: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: &Settings) -> anyhow::Result<ExitCode> {
    let config = Config::load(settings)?;
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data folder {}",
            config.data_dir.display()
        )
    })?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let state = Arc::new(boot::boot(config).await?);
        let listen = state.config.listen;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        tracing::info!(
            "wshost listening on http://{} (public URL {})",
            listener.local_addr()?,
            state.config.public_url
        );
        let store = state.store.clone();
        axum::serve(listener, web::app(state))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("server failed")?;
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}

fn plugins_list(settings: &Settings, json: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(settings)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let state = runtime.block_on(boot::boot(config))?;
    let toggles = runtime.block_on(state.store.plugin_toggles())?;
    let records = state.registry.records();
    if json {
        let list: Vec<_> = records
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id,
                    "version": version_of(r),
                    "library": r.library_path,
                    "manifest": r.manifest_path,
                    "enabled": state.registry.is_enabled(&r.id, &toggles),
                    "status": status_text(r),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<20} {:<9} {:<8} {:<40} LIBRARY",
        "ID", "VERSION", "ENABLED", "STATUS"
    );
    for r in records {
        println!(
            "{:<20} {:<9} {:<8} {:<40} {}",
            r.id,
            version_of(r).as_deref().unwrap_or("-"),
            if state.registry.is_enabled(&r.id, &toggles) {
                "yes"
            } else {
                "no"
            },
            status_text(r),
            r.library_path
                .as_deref()
                .map_or("-".into(), |p| p.display().to_string()),
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn version_of(r: &registry::Record) -> Option<String> {
    match r.state() {
        registry::LoadState::Loaded { version, .. } => Some(version),
        _ => None,
    }
}

fn status_text(r: &registry::Record) -> String {
    match r.state() {
        registry::LoadState::Loaded { .. } => "loaded".into(),
        registry::LoadState::Idle => "disabled".into(),
        registry::LoadState::Refused(reason) => format!("refused: {reason}"),
    }
}

fn plugins_check(
    library: &Path,
    manifest_path: Option<&Path>,
    settings: &Settings,
) -> anyhow::Result<ExitCode> {
    let lib =
        LoadedLibrary::load(library).map_err(|e| anyhow::anyhow!("{}: {e}", library.display()))?;
    let info = &lib.info;
    let manifest = match manifest_path {
        Some(path) => manifest::load_file(path)?,
        None => {
            let config = Config::load(settings)?;
            let (found, _) = manifest::load_dirs(&config.manifest_dirs);
            found
                .into_iter()
                .find(|m| m.id == info.id)
                .with_context(|| {
                    format!(
                        "{}: no manifest for plugin '{}' in {:?}; pass --manifest FILE",
                        library.display(),
                        info.id,
                        config.manifest_dirs
                    )
                })?
        }
    };
    registry::cross_check(&lib, &manifest)
        .map_err(|e| anyhow::anyhow!("{}: {e}", library.display()))?;
    let expected = registry::library_file_name(&manifest.library);
    if library.file_name().and_then(|n| n.to_str()) != Some(expected.as_str()) {
        bail!(
            "{}: the manifest {} names the library '{}', so the host looks for a file named {expected}",
            library.display(),
            manifest.source.display(),
            manifest.library
        );
    }
    println!(
        "ok: {} {} (plugin-api {}, host plugin-api {}), actions: [{}]",
        info.id,
        info.version,
        info.api_version,
        host_api_version(),
        info.actions.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
