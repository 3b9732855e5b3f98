//! `wshost plugins list|check`: what the deployment finds, and one library checked against
//! its manifest.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};

use crate::app::boot;
use crate::config::{Config, Settings};
use crate::manifest;
use crate::plugins::library::{host_api_version, LoadedLibrary};
use crate::plugins::registry;

pub(super) fn plugins_list(settings: &Settings, json: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(settings)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let state = runtime.block_on(boot::boot(
        config,
        boot::Plugins::Load,
        boot::Open::Existing,
    ))?;
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

pub(super) fn plugins_check(
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
