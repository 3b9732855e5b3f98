//! `wshost config check`.

use std::process::ExitCode;

use crate::app::instances::Served;
use crate::config::{Config, ConfigError, Database, Settings};
use crate::manifest;
use crate::plugins::registry;

/// `wshost config check`: every problem of the config, the manifests, the libraries and the
/// declared workspaces, each with its file and key.
pub(super) fn config_check(settings: &Settings) -> anyhow::Result<ExitCode> {
    let (config, config_problems) = Config::load_all(settings)?;
    let mut problems: Vec<String> = config_problems.iter().map(ToString::to_string).collect();
    let database_bad = config_problems.iter().any(|p| {
        matches!(
            p,
            ConfigError::Invalid {
                key: "database",
                ..
            }
        )
    });
    if !database_bad {
        problems.extend(database_problem(&config));
    }
    // What an operator should know but does not stop the deployment.
    let mut warnings: Vec<String> = Vec::new();
    let origin = config.origin.clone();
    for dir in &config.plugin_dirs {
        if !dir.is_dir() {
            problems.push(format!(
                "{origin}: key `plugin_dirs`: {} is not a folder",
                dir.display()
            ));
        }
    }
    // A missing manifest folder is its own problem; the drivers it would have declared are
    // not reported unknown on top of it.
    let mut bad_manifest_dirs = Vec::new();
    for dir in &config.manifest_dirs {
        if !dir.is_dir() {
            problems.push(format!(
                "{origin}: key `manifest_dirs`: {} is not a folder",
                dir.display()
            ));
            bad_manifest_dirs.push(dir.display().to_string());
        }
    }
    let (manifests, errors) = manifest::load_dirs(&config.manifest_dirs);
    problems.extend(errors.iter().map(ToString::to_string).filter(|e| {
        !bad_manifest_dirs
            .iter()
            .any(|d| e.starts_with(&format!("{d}:")))
    }));
    let drivers_known = bad_manifest_dirs.is_empty();
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
    for id in config.enabled.iter().chain(&config.disabled) {
        if drivers_known && !by_id.contains_key(id) {
            problems.push(format!(
                "{origin}: key `plugins`: no manifest declares plugin '{id}'"
            ));
        }
    }
    for ws in &config.workspaces {
        match by_id.get(&ws.driver) {
            None if !drivers_known => {}
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
    if problems.is_empty() {
        warnings.extend(drift_warnings(&config, &manifests));
    }
    // One line per problem, however many checks reached it.
    let mut seen = std::collections::BTreeSet::new();
    problems.retain(|p| seen.insert(p.clone()));
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

/// The live instances on the store that serve another configuration than this one would
/// (during a rolling restart, the instances not yet restarted): warnings, since that is
/// expected for a while. Nothing when the store does not exist yet or cannot be opened with
/// this config (the problems above say why), or no instance runs.
fn drift_warnings(config: &Config, manifests: &[manifest::Manifest]) -> Vec<String> {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    runtime.block_on(async {
        let Ok(store) = crate::app::boot::open_existing_store(config).await else {
            return Vec::new();
        };
        let this = Served::of("this config".to_owned(), config, manifests, &store);
        let found = this.disagreements(&store).await;
        store.close().await;
        found
            .unwrap_or_default()
            .iter()
            .map(|d| d.line("this config"))
            .collect()
    })
}

/// Whether the store the config names can be reached, without opening it: a PostgreSQL
/// database must answer and let wshost in (one connection, nothing read or written); a
/// SQLite file must exist, or its nearest existing folder be one wshost can write in (`serve`
/// creates the file). The problem names the key `database`, never a password.
fn database_problem(config: &Config) -> Option<String> {
    let origin = &config.database_origin;
    match &config.database {
        Database::Postgres(url) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime
                .block_on(crate::store::Store::probe(url))
                .err()
                .map(|e| format!("{origin}: key `database`: {e}"))
        }
        Database::Sqlite(path) => {
            if path.is_file() {
                return None;
            }
            if path.exists() {
                return Some(format!(
                    "{origin}: key `database`: {} is not a file",
                    path.display()
                ));
            }
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            let folder = path.ancestors().skip(1).find(|a| a.exists())?;
            let probe = folder.join(format!(".wshost-config-check-{}", std::process::id()));
            let writable = folder.is_dir()
                && std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&probe)
                    .is_ok();
            if writable {
                let _ = std::fs::remove_file(&probe);
            }
            (!writable).then(|| {
                format!(
                    "{origin}: key `database`: {} does not exist and cannot be created: {} is \
                     not a folder wshost can write in",
                    path.display(),
                    folder.display()
                )
            })
        }
    }
}
