//! `wshost config check`.

use std::process::ExitCode;

use crate::config::{Config, Settings};
use crate::manifest;
use crate::plugins::registry;

/// `wshost config check`: every problem of the config, the manifests, the libraries and the
/// declared workspaces, each with its file and key.
pub(super) fn config_check(settings: &Settings) -> anyhow::Result<ExitCode> {
    let (config, config_problems) = Config::load_all(settings)?;
    let mut problems: Vec<String> = config_problems.iter().map(ToString::to_string).collect();
    // What an operator should know but does not stop the deployment.
    let mut warnings: Vec<String> = Vec::new();
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
                let scope = crate::manifest::Scope {
                    user: None,
                    data_dir: &config.data_dir,
                    public_url: &config.public_url,
                };
                match m.validate(&ws.string_params(), &scope) {
                    Err(fields) => {
                        for f in fields {
                            problems.push(format!(
                                "{origin}: key `workspaces.params.{}` (workspace '{}'): {}",
                                f.field, ws.id, f.message
                            ));
                        }
                    }
                    Ok(params) => warnings.extend(
                        m.public_url_drift(&params, &scope)
                            .into_iter()
                            .map(|w| format!("{origin}: workspace '{}': {w}", ws.id)),
                    ),
                }
            }
        }
    }
    warnings.extend(config.local_defaults_warning());
    for w in &warnings {
        println!("warning: {w}");
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
