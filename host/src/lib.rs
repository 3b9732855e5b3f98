//! The `wshost` host: [`run`] parses the command line and runs one command (the binary in
//! `main.rs` is only that call). Everything else is private to the crate, except
//! [`internals`], the few pure functions that fuzz targets and benchmarks drive directly.

mod admin;
mod auth;
mod boot;
mod cli;
mod commands;
mod config;
pub mod internals;
mod manifest;
mod paths;
mod plugin_test;
mod quick;
mod registry;
mod scaffold;
mod server;
mod services;
mod store;
mod telemetry;
mod ui;
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

/// Parses the command line and runs the command it names.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let format = match &cli.command {
        Command::Serve(settings) => settings.log_format,
        _ => std::env::var("WSHOST_LOG_FORMAT")
            .ok()
            .filter(|f| f == "json")
            .map_or(telemetry::LogFormat::Text, |_| telemetry::LogFormat::Json),
    };
    telemetry::init_logging(format);
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
        Command::Config(cli::ConfigCommand::Check { settings }) => config_check(&settings),
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
        telemetry::metrics_handle();
        let state = Arc::new(boot::boot(config).await?);
        let listen = state.config.listen;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        if let Some(addr) = state.config.metrics_listen {
            let metrics = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (metrics_listen)"))?;
            tracing::info!("metrics on http://{addr}/metrics");
            tokio::spawn(async move { axum::serve(metrics, web::metrics_app()).await });
        }
        tracing::info!(
            "wshost listening on http://{} (public URL {})",
            listener.local_addr()?,
            state.config.public_url
        );
        let store = state.store.clone();
        let deadline = state.config.shutdown_deadline;
        let limits = state.config.limits;
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let stopping = async move {
            signal().await;
            tracing::info!(
                "shutting down: no new connections; in-flight requests have {deadline:?}"
            );
            let _ = stopping_tx.send(());
        };
        let server = server::serve(listener, web::app(state), &limits, stopping);
        // After the first signal the server drains, unless the deadline passes or a second
        // signal arrives: either ends the process at once.
        let forced = async move {
            if stopping_rx.await.is_err() {
                return std::future::pending().await;
            }
            tokio::select! {
                _ = tokio::time::sleep(deadline) => {
                    tracing::warn!("shutdown deadline passed; stopping in-flight requests")
                }
                _ = signal() => tracing::warn!("second signal: stopping at once"),
            }
        };
        tokio::select! {
            () = server => {}
            () = forced => {}
        }
        store.close().await;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// `wshost config check`: every problem of the config, the manifests, the libraries and the
/// declared workspaces, each with its file and key.
fn config_check(settings: &Settings) -> anyhow::Result<ExitCode> {
    let (config, config_problems) = Config::load_all(settings)?;
    let mut problems: Vec<String> = config_problems.iter().map(ToString::to_string).collect();
    for dir in config.plugin_dirs.iter().chain(&config.manifest_dirs) {
        if !dir.is_dir() {
            problems.push(format!(
                "{}: not a folder (key `plugin_dirs` or `manifest_dirs`)",
                dir.display()
            ));
        }
    }
    let (manifests, errors) = manifest::load_dirs(&config.manifest_dirs);
    problems.extend(errors.iter().map(ToString::to_string));
    let mut by_id = std::collections::BTreeMap::new();
    for m in &manifests {
        if by_id.insert(m.id.clone(), m).is_some() {
            problems.push(format!(
                "{}: key `id`: plugin '{}' is declared by another manifest too",
                m.source.display(),
                m.id
            ));
        }
        let enabled =
            !config.disabled.contains(&m.id) && (m.enabled || config.enabled.contains(&m.id));
        let file = registry::library_file_name(&m.library);
        if enabled && !config.plugin_dirs.iter().any(|d| d.join(&file).is_file()) {
            problems.push(format!(
                "{}: key `library`: {file} is not in the plugin folders {:?}",
                m.source.display(),
                config.plugin_dirs
            ));
        }
    }
    let origin = settings
        .config
        .as_ref()
        .map_or("host.toml".into(), |p| p.display().to_string());
    for id in config.enabled.iter().chain(&config.disabled) {
        if !by_id.contains_key(id) {
            problems.push(format!(
                "{origin}: key `plugins`: no manifest declares plugin '{id}'"
            ));
        }
    }
    for ws in &config.workspaces {
        match by_id.get(&ws.driver) {
            None => problems.push(format!(
                "{origin}: key `workspaces.driver` (workspace '{}'): unknown driver '{}'",
                ws.id, ws.driver
            )),
            Some(m) => {
                if let Err(fields) = m.validate(&ws.string_params(), &config.public_url) {
                    for f in fields {
                        problems.push(format!(
                            "{origin}: key `workspaces.params.{}` (workspace '{}'): {}",
                            f.field, ws.id, f.message
                        ));
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        println!(
            "ok: {} manifests, {} declared workspaces",
            manifests.len(),
            config.workspaces.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for p in &problems {
        println!("{p}");
    }
    eprintln!("{} problem(s) found", problems.len());
    Ok(ExitCode::FAILURE)
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
