//! The plugin registry: discovers manifests and libraries, loads each enabled plugin through
//! `plugin_api::foreign`, cross-checks it against its manifest, and indexes the actions of
//! the plugins that passed. A plugin that fails any check is refused with a reason naming the
//! file; the others load.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plugin_api::foreign::{ForeignPlugin, LoadedLibrary};
use plugin_api::HostServices;

use crate::config::Config;
use crate::manifest::{ActionDecl, Manifest, ManifestError};

/// Where a plugin stands after start-up.
pub(crate) enum Status {
    /// Loaded, checked and initialized: requests are routed to it.
    Loaded(Arc<ForeignPlugin>),
    /// Disabled by its manifest or the deployment: its code was never loaded.
    Disabled,
    /// Refused, with the reason.
    Refused(String),
}

/// One discovered plugin.
pub(crate) struct Record {
    /// The plugin id (for an unparsable manifest: the file name).
    pub(crate) id: String,
    pub(crate) manifest: Option<Manifest>,
    pub(crate) manifest_path: PathBuf,
    pub(crate) library_path: Option<PathBuf>,
    pub(crate) version: Option<String>,
    pub(crate) enabled: bool,
    pub(crate) status: Status,
}

impl Record {
    pub(crate) fn plugin(&self) -> Option<&Arc<ForeignPlugin>> {
        match &self.status {
            Status::Loaded(p) => Some(p),
            _ => None,
        }
    }

    pub(crate) fn status_text(&self) -> String {
        match &self.status {
            Status::Loaded(_) => "loaded".into(),
            Status::Disabled => "disabled".into(),
            Status::Refused(reason) => format!("refused: {reason}"),
        }
    }
}

/// Where a plugin action is served.
#[derive(Debug, Clone)]
pub(crate) struct ActionRoute {
    pub(crate) plugin: String,
    pub(crate) decl: ActionDecl,
}

/// All plugins and the action index.
pub(crate) struct Registry {
    records: Vec<Record>,
    /// Actions of loaded plugins.
    actions: HashMap<String, ActionRoute>,
    /// Actions declared by plugins that are disabled or refused, for a precise error.
    unavailable_actions: HashMap<String, String>,
}

/// The file name of a library stem on this platform (`access_fs` → `libaccess_fs.so`).
pub(crate) fn library_file_name(stem: &str) -> String {
    format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

fn find_library(dirs: &[PathBuf], stem: &str) -> Option<PathBuf> {
    let name = library_file_name(stem);
    dirs.iter().map(|d| d.join(&name)).find(|p| p.is_file())
}

/// Checks a loaded library against its manifest: same id, same plugin actions.
pub(crate) fn cross_check(lib: &LoadedLibrary, manifest: &Manifest) -> Result<(), String> {
    if lib.info.id != manifest.id {
        return Err(format!(
            "the library reports plugin id '{}' but its manifest {} declares '{}'",
            lib.info.id,
            manifest.source.display(),
            manifest.id
        ));
    }
    let mut declared: Vec<&str> = manifest.actions.iter().map(|a| a.name.as_str()).collect();
    let mut served: Vec<&str> = lib.info.actions.iter().map(String::as_str).collect();
    declared.sort_unstable();
    served.sort_unstable();
    if declared != served {
        let missing: Vec<_> = declared.iter().filter(|a| !served.contains(a)).collect();
        let extra: Vec<_> = served.iter().filter(|a| !declared.contains(a)).collect();
        return Err(format!(
            "the library's actions differ from its manifest {}: declared but not served {:?}, \
             served but not declared {:?}",
            manifest.source.display(),
            missing,
            extra
        ));
    }
    Ok(())
}

impl Registry {
    /// Discovers and loads every plugin. `services` makes the host services of one plugin.
    pub(crate) fn load(
        config: &Config,
        (manifests, errors): (Vec<Manifest>, Vec<ManifestError>),
        services: impl Fn(&str) -> Arc<dyn HostServices>,
    ) -> Registry {
        let mut registry = Registry {
            records: Vec::new(),
            actions: HashMap::new(),
            unavailable_actions: HashMap::new(),
        };
        for err in errors {
            let path = err.path().to_path_buf();
            let id = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            tracing::error!("plugin manifest refused: {err}");
            registry.records.push(Record {
                id,
                manifest: None,
                manifest_path: path,
                library_path: None,
                version: None,
                enabled: false,
                status: Status::Refused(err.to_string()),
            });
        }
        for m in manifests {
            let record = registry.admit(config, m, &services);
            if let Status::Refused(reason) = &record.status {
                tracing::error!(plugin = %record.id, "plugin refused: {reason}");
            } else if record.plugin().is_some() {
                tracing::info!(plugin = %record.id, version = ?record.version, "plugin loaded");
            }
            registry.records.push(record);
        }
        registry.records.sort_by(|a, b| a.id.cmp(&b.id));
        registry
    }

    fn admit(
        &mut self,
        config: &Config,
        m: Manifest,
        services: &impl Fn(&str) -> Arc<dyn HostServices>,
    ) -> Record {
        let enabled = config.is_enabled(&m.id, m.enabled);
        let mut record = Record {
            id: m.id.clone(),
            manifest_path: m.source.clone(),
            library_path: find_library(&config.plugin_dirs, &m.library),
            version: None,
            enabled,
            status: Status::Disabled,
            manifest: None,
        };
        let status = if self.records.iter().any(|r| r.id == m.id) {
            Status::Refused(format!(
                "manifest {} declares plugin id '{}', already declared by another manifest",
                m.source.display(),
                m.id
            ))
        } else if !enabled {
            Status::Disabled
        } else {
            match self.load_one(&m, record.library_path.as_deref(), config, services) {
                Ok((plugin, version)) => {
                    record.version = Some(version);
                    Status::Loaded(plugin)
                }
                Err(reason) => Status::Refused(reason),
            }
        };
        match &status {
            Status::Loaded(_) => {
                for a in &m.actions {
                    self.actions.insert(
                        a.name.clone(),
                        ActionRoute {
                            plugin: m.id.clone(),
                            decl: a.clone(),
                        },
                    );
                }
            }
            _ => {
                for a in &m.actions {
                    self.unavailable_actions
                        .entry(a.name.clone())
                        .or_insert_with(|| m.id.clone());
                }
            }
        }
        record.status = status;
        record.manifest = Some(m);
        record
    }

    fn load_one(
        &self,
        m: &Manifest,
        library: Option<&Path>,
        config: &Config,
        services: &impl Fn(&str) -> Arc<dyn HostServices>,
    ) -> Result<(Arc<ForeignPlugin>, String), String> {
        let path = library.ok_or_else(|| {
            format!(
                "library {} not found in the plugin folders {:?}",
                library_file_name(&m.library),
                config.plugin_dirs
            )
        })?;
        let lib = LoadedLibrary::load(path).map_err(|e| format!("{}: {e}", path.display()))?;
        cross_check(&lib, m).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some((action, owner)) = m.actions.iter().find_map(|a| {
            self.actions
                .get(&a.name)
                .map(|route| (a.name.as_str(), route.plugin.as_str()))
        }) {
            return Err(format!(
                "action '{action}' is already provided by enabled plugin '{owner}'"
            ));
        }
        let version = lib.info.version.clone();
        let plugin = lib
            .init(services(&m.id))
            .map_err(|e| format!("{}: initialization failed: {e}", path.display()))?;
        Ok((Arc::new(plugin), version))
    }

    pub(crate) fn records(&self) -> &[Record] {
        &self.records
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Record> {
        self.records.iter().find(|r| r.id == id)
    }

    pub(crate) fn action(&self, name: &str) -> Option<&ActionRoute> {
        self.actions.get(name)
    }

    /// The plugin that declares `name` but is disabled or refused.
    pub(crate) fn unavailable_action(&self, name: &str) -> Option<&str> {
        self.unavailable_actions.get(name).map(String::as_str)
    }
}
