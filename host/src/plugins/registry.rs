//! The plugin registry: every manifest found, the library each names, and whether that
//! library is loaded. A plugin is loaded the first time it is needed while enabled — at
//! start-up, or later when an admin enables it (on any instance sharing the store) — and is
//! never unloaded: disabling it only stops the host from calling it.
//!
//! Loading checks the library against its manifest (id, actions) and refuses an action that a
//! plugin loaded earlier already provides. A refusal is sticky until restart and names the
//! file, the plugin and the reason; other plugins are unaffected.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use plugin_api::foreign::{ForeignPlugin, LoadedLibrary};
use plugin_api::HostServices;

use crate::config::Config;
use crate::manifest::{ActionDecl, Manifest, ManifestError};

/// Makes the host services of one plugin.
pub(crate) type ServicesFactory = Box<dyn Fn(&str) -> Arc<dyn HostServices> + Send + Sync>;

/// Where a plugin's library stands.
#[derive(Clone)]
pub(crate) enum LoadState {
    /// Not loaded (disabled so far).
    Idle,
    /// Loaded, checked and initialized.
    Loaded {
        plugin: Arc<ForeignPlugin>,
        version: String,
    },
    /// Refused, with the reason.
    Refused(String),
}

/// One discovered plugin (or one manifest file that could not be read).
pub(crate) struct Record {
    /// The plugin id (for an unparsable manifest: the file name).
    pub(crate) id: String,
    pub(crate) manifest: Option<Manifest>,
    pub(crate) manifest_path: PathBuf,
    pub(crate) library_path: Option<PathBuf>,
    state: Mutex<LoadState>,
    /// Held while this plugin loads, so that two requests never load it twice; per plugin,
    /// so that one whose initialization hangs holds up no other.
    loading: Mutex<()>,
}

impl Record {
    pub(crate) fn state(&self) -> LoadState {
        self.state.lock().expect("registry lock").clone()
    }
}

/// Why a plugin cannot be called right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unavailable {
    /// No manifest declares this plugin id.
    Unknown,
    /// Disabled by the deployment or an admin.
    Disabled,
    /// Refused at load, with the reason.
    Refused(String),
}

/// Where a plugin action is served.
#[derive(Debug, Clone)]
pub(crate) struct ActionRoute {
    pub(crate) plugin: String,
    pub(crate) decl: ActionDecl,
}

/// All plugins.
pub(crate) struct Registry {
    records: Vec<Record>,
    /// Action name → the plugins that declare it, in id order.
    actions: HashMap<String, Vec<ActionRoute>>,
    config_enabled: std::collections::BTreeSet<String>,
    config_disabled: std::collections::BTreeSet<String>,
    plugin_dirs: Vec<PathBuf>,
    services: ServicesFactory,
    /// Held while a loaded plugin's actions are checked against those of the plugins
    /// loaded already and its state is published, so two plugins loading at once cannot
    /// both claim an action.
    publish: Mutex<()>,
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
    /// Records every manifest; loads nothing yet (see [`Registry::load_enabled`]).
    pub(crate) fn new(
        config: &Config,
        (manifests, errors): (Vec<Manifest>, Vec<ManifestError>),
        services: ServicesFactory,
    ) -> Registry {
        let mut records = Vec::new();
        for err in errors {
            let path = err.path().to_path_buf();
            let id = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            tracing::error!("plugin manifest refused: {err}");
            records.push(Record {
                id,
                manifest: None,
                manifest_path: path,
                library_path: None,
                state: Mutex::new(LoadState::Refused(err.to_string())),
                loading: Mutex::default(),
            });
        }
        let mut actions: HashMap<String, Vec<ActionRoute>> = HashMap::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut manifests = manifests;
        manifests.sort_by(|a, b| a.id.cmp(&b.id));
        for m in manifests {
            let state = if seen.insert(m.id.clone()) {
                for a in &m.actions {
                    actions
                        .entry(a.name.clone())
                        .or_default()
                        .push(ActionRoute {
                            plugin: m.id.clone(),
                            decl: a.clone(),
                        });
                }
                LoadState::Idle
            } else {
                let reason = format!(
                    "manifest {} declares plugin id '{}', already declared by another manifest",
                    m.source.display(),
                    m.id
                );
                tracing::error!(plugin = %m.id, "plugin refused: {reason}");
                LoadState::Refused(reason)
            };
            records.push(Record {
                id: m.id.clone(),
                library_path: find_library(&config.plugin_dirs, &m.library),
                manifest_path: m.source.clone(),
                manifest: Some(m),
                state: Mutex::new(state),
                loading: Mutex::default(),
            });
        }
        // Stable order: by id; for a duplicated id the readable manifest comes first.
        records.sort_by(|a, b| a.id.cmp(&b.id));
        Registry {
            records,
            actions,
            config_enabled: config.enabled.clone(),
            config_disabled: config.disabled.clone(),
            plugin_dirs: config.plugin_dirs.clone(),
            services,
            publish: Mutex::new(()),
        }
    }

    /// The ids of the plugins enabled under `toggles`, which start-up loads.
    pub(crate) fn enabled_ids(&self, toggles: &BTreeMap<String, bool>) -> Vec<String> {
        self.records
            .iter()
            .filter(|r| self.is_enabled(&r.id, toggles))
            .map(|r| r.id.clone())
            .collect()
    }

    pub(crate) fn records(&self) -> &[Record] {
        &self.records
    }

    fn record(&self, id: &str) -> Option<&Record> {
        // The first record of an id is the one that counts (duplicates are refused).
        self.records
            .iter()
            .find(|r| r.id == id && r.manifest.is_some())
    }

    /// The manifest of plugin `id`.
    pub(crate) fn manifest(&self, id: &str) -> Option<&Manifest> {
        self.record(id).and_then(|r| r.manifest.as_ref())
    }

    /// Whether `id` is enabled: an admin's toggle (in the store) wins over the deployment's
    /// `[plugins]` lists, which win over the manifest's `enabled`.
    pub(crate) fn is_enabled(&self, id: &str, toggles: &BTreeMap<String, bool>) -> bool {
        let Some(m) = self.manifest(id) else {
            return false;
        };
        if let Some(on) = toggles.get(id) {
            return *on;
        }
        if self.config_disabled.contains(id) {
            return false;
        }
        self.config_enabled.contains(id) || m.enabled
    }

    /// The plugin `id`, loading it now if it is enabled and not loaded yet. Blocking.
    pub(crate) fn plugin(
        &self,
        id: &str,
        toggles: &BTreeMap<String, bool>,
    ) -> Result<Arc<ForeignPlugin>, Unavailable> {
        let record = self.record(id).ok_or(Unavailable::Unknown)?;
        if !self.is_enabled(id, toggles) {
            return Err(Unavailable::Disabled);
        }
        if let LoadState::Loaded { plugin, .. } = record.state() {
            return Ok(plugin);
        }
        let _serial = record.loading.lock().expect("registry lock");
        let state = match record.state() {
            LoadState::Idle => {
                let m = record.manifest.as_ref().expect("record() has a manifest");
                let started = std::time::Instant::now();
                let loaded = self.load(m, record.library_path.as_deref());
                let _publish = self.publish.lock().expect("registry lock");
                let state = match loaded.and_then(|loaded| {
                    self.action_conflict(m)?;
                    Ok(loaded)
                }) {
                    Ok((plugin, version)) => {
                        // dlopen, the ABI layout check and the manifest cross-check.
                        let load_ms = started.elapsed().as_secs_f64() * 1e3;
                        tracing::info!(plugin = %id, %version, load_ms = format!("{load_ms:.1}"), "plugin loaded");
                        LoadState::Loaded { plugin, version }
                    }
                    Err(reason) => {
                        tracing::error!(plugin = %id, "plugin refused: {reason}");
                        LoadState::Refused(reason)
                    }
                };
                *record.state.lock().expect("registry lock") = state.clone();
                state
            }
            other => other,
        };
        match state {
            LoadState::Loaded { plugin, .. } => Ok(plugin),
            LoadState::Refused(reason) => Err(Unavailable::Refused(reason)),
            LoadState::Idle => unreachable!("just loaded"),
        }
    }

    fn load(
        &self,
        m: &Manifest,
        library: Option<&Path>,
    ) -> Result<(Arc<ForeignPlugin>, String), String> {
        let path = library.ok_or_else(|| {
            format!(
                "library {} not found in the plugin folders {:?}",
                library_file_name(&m.library),
                self.plugin_dirs
            )
        })?;
        let lib = LoadedLibrary::load(path).map_err(|e| format!("{}: {e}", path.display()))?;
        cross_check(&lib, m).map_err(|e| format!("{}: {e}", path.display()))?;
        // Refused before its code runs when another plugin already serves one of its
        // actions; checked again when it is published (see `publish`).
        self.action_conflict(m)?;
        let version = lib.info.version.clone();
        let plugin = lib
            .init((self.services)(&m.id))
            .map_err(|e| format!("{}: initialization failed: {e}", path.display()))?;
        Ok((Arc::new(plugin), version))
    }

    /// Refuses `m` when one of its actions is served by another plugin loaded already.
    fn action_conflict(&self, m: &Manifest) -> Result<(), String> {
        for a in &m.actions {
            let owner = self.actions[&a.name].iter().find(|r| {
                r.plugin != m.id
                    && matches!(
                        self.record(&r.plugin).map(Record::state),
                        Some(LoadState::Loaded { .. })
                    )
            });
            if let Some(owner) = owner {
                return Err(format!(
                    "action '{}' is already provided by plugin '{}'",
                    a.name, owner.plugin
                ));
            }
        }
        Ok(())
    }

    /// The declarations of action `name`, by plugin id order.
    pub(crate) fn action_routes(&self, name: &str) -> &[ActionRoute] {
        self.actions.get(name).map(Vec::as_slice).unwrap_or(&[])
    }
}
