//! Workspaces: those declared in the config file and those created at run time in the store,
//! each validated against its driver's manifest, and the driver instances opened for them
//! (lazily, once per workspace version, dropped after a panic or when the driver is disabled).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use plugin_api::foreign::{ForeignDriver, ForeignPlugin};
use plugin_api::{Capabilities, Driver as _, WorkspaceConfig};

use crate::config::WorkspaceDecl;
use crate::manifest::Manifest;
use crate::plugins::quick::{QuickCall, QuickLane};
use crate::store::{Store, StoreError, WorkspaceRecord};

/// Where a workspace is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Source {
    /// `[[workspaces]]` in `host.toml`: read-only at run time.
    Config,
    /// Created through the API or CLI.
    Store,
}

/// One workspace as the host knows it.
#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) description: String,
    /// The driver's plugin id.
    pub(crate) driver: String,
    pub(crate) source: Source,
    /// Changes whenever the definition changes (drivers are reopened then).
    pub(crate) version: i64,
    /// The validated configuration, or why the definition was refused.
    pub(crate) setup: Result<WorkspaceConfig, String>,
}

impl Workspace {
    pub(crate) fn config(&self) -> Option<&WorkspaceConfig> {
        self.setup.as_ref().ok()
    }
}

/// Validates params against the driver's manifest into a workspace configuration.
fn setup(
    id: &str,
    driver: &str,
    params: &BTreeMap<String, String>,
    manifest: Option<&Manifest>,
    public_url: &str,
) -> Result<WorkspaceConfig, String> {
    let m = manifest.ok_or_else(|| format!("unknown driver '{driver}'"))?;
    m.validate(params, public_url)
        .map(|params| WorkspaceConfig {
            id: id.to_owned(),
            params,
        })
        .map_err(|errors| {
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        })
}

/// A driver opened for a workspace.
struct OpenDriver {
    /// The workspace version it was opened for.
    version: i64,
    /// Its plugin id.
    plugin: String,
    driver: Arc<ForeignDriver>,
    /// Present when the driver declares [`Capabilities::QUICK`].
    quick: Option<Arc<QuickLane>>,
}

/// All workspaces and their open drivers.
pub(crate) struct Workspaces {
    declared: BTreeMap<String, Workspace>,
    public_url: String,
    /// Workspace id → its open driver.
    open: Mutex<HashMap<String, OpenDriver>>,
    /// Workspace id → the lock its driver is opened under, so that concurrent first uses
    /// open it once (a second session would double a slow backend's start and may be
    /// refused by one that allows a single session) while other workspaces open freely.
    opening: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl Workspaces {
    /// The config-declared workspaces, validated against `manifest`.
    pub(crate) fn new<'m>(
        decls: &[WorkspaceDecl],
        manifest: impl Fn(&str) -> Option<&'m Manifest>,
        public_url: &str,
    ) -> Workspaces {
        let declared = decls
            .iter()
            .map(|d| {
                let setup = setup(&d.id, &d.driver, &d.string_params(), manifest(&d.driver), public_url);
                if let Err(reason) = &setup {
                    tracing::error!(workspace = %d.id, driver = %d.driver, "workspace refused: {reason}");
                }
                let ws = Workspace {
                    id: d.id.clone(),
                    label: d.label.clone().unwrap_or_else(|| d.id.clone()),
                    description: d.description.clone(),
                    driver: d.driver.clone(),
                    source: Source::Config,
                    version: 0,
                    setup,
                };
                (d.id.clone(), ws)
            })
            .collect();
        Workspaces {
            declared,
            public_url: public_url.to_owned(),
            open: Mutex::default(),
            opening: Mutex::default(),
        }
    }

    /// Whether `id` is declared in the config file.
    pub(crate) fn is_declared(&self, id: &str) -> bool {
        self.declared.contains_key(id)
    }

    /// The workspace `id`: from the config, else from the store (so a workspace created on
    /// another instance is found at once).
    pub(crate) async fn get<'m>(
        &self,
        store: &Store,
        id: &str,
        manifest: impl Fn(&str) -> Option<&'m Manifest>,
    ) -> Result<Option<Workspace>, StoreError> {
        if let Some(ws) = self.declared.get(id) {
            return Ok(Some(ws.clone()));
        }
        Ok(store
            .workspace(id)
            .await?
            .map(|rec| self.of_record(rec, &manifest)))
    }

    /// Every workspace: the config's, then the store's.
    pub(crate) async fn all<'m>(
        &self,
        store: &Store,
        manifest: impl Fn(&str) -> Option<&'m Manifest>,
    ) -> Result<Vec<Workspace>, StoreError> {
        let mut all: Vec<Workspace> = self.declared.values().cloned().collect();
        for rec in store.workspaces().await? {
            if !self.declared.contains_key(&rec.id) {
                all.push(self.of_record(rec, &manifest));
            }
        }
        Ok(all)
    }

    fn of_record<'m>(
        &self,
        rec: WorkspaceRecord,
        manifest: &impl Fn(&str) -> Option<&'m Manifest>,
    ) -> Workspace {
        // Re-validated on every read: a manifest upgrade may have changed the rules, and a
        // driver must never see parameters its manifest refuses.
        let setup = setup(
            &rec.id,
            &rec.driver,
            &rec.params,
            manifest(&rec.driver),
            &self.public_url,
        );
        Workspace {
            id: rec.id,
            label: rec.label,
            description: rec.description,
            driver: rec.driver,
            source: Source::Store,
            version: rec.version,
            setup,
        }
    }

    /// The open driver of `ws`, opening it on first use or when its definition changed.
    /// Blocking: call from a blocking thread.
    pub(crate) fn driver(
        &self,
        ws: &Workspace,
        config: &WorkspaceConfig,
        plugin: &ForeignPlugin,
    ) -> plugin_api::Result<Arc<ForeignDriver>> {
        if let Some(driver) = self.opened(ws) {
            return Ok(driver);
        }
        let gate = self
            .opening
            .lock()
            .expect("driver cache")
            .entry(ws.id.clone())
            .or_default()
            .clone();
        let _one_open = gate.lock().expect("driver cache");
        if let Some(driver) = self.opened(ws) {
            return Ok(driver);
        }
        // Opened outside the cache's lock: a slow backend must not block other workspaces.
        let driver = Arc::new(plugin.open(config)?);
        let quick = driver.capabilities().contains(Capabilities::QUICK);
        self.open.lock().expect("driver cache").insert(
            ws.id.clone(),
            OpenDriver {
                version: ws.version,
                plugin: ws.driver.clone(),
                driver: driver.clone(),
                quick: quick.then(|| Arc::new(QuickLane::new(&ws.id))),
            },
        );
        Ok(driver)
    }

    /// The driver already open for this version of `ws`.
    fn opened(&self, ws: &Workspace) -> Option<Arc<ForeignDriver>> {
        let open = self.open.lock().expect("driver cache");
        open.get(&ws.id)
            .filter(|o| o.version == ws.version)
            .map(|o| o.driver.clone())
    }

    /// A quick call on the open driver of `ws`, if it declares quick calls and its lane is
    /// open; `None` sends the call to the blocking pool (which also opens drivers).
    pub(crate) fn quick_call(&self, ws: &Workspace) -> Option<QuickCall> {
        let (lane, driver) = {
            let open = self.open.lock().expect("driver cache");
            let open = open.get(&ws.id).filter(|o| o.version == ws.version)?;
            (open.quick.clone()?, open.driver.clone())
        };
        QuickCall::start(lane, driver)
    }

    /// Drops the open driver of workspace `ws_id` (after a panic, an edit or a deletion).
    pub(crate) fn forget(&self, ws_id: &str) {
        self.open.lock().expect("driver cache").remove(ws_id);
    }

    /// Drops every open driver of plugin `plugin` (when it is disabled).
    pub(crate) fn forget_plugin(&self, plugin: &str) {
        self.open
            .lock()
            .expect("driver cache")
            .retain(|_, open| open.plugin != plugin);
    }

    /// One log line per declared workspace, so an operator sees at start-up what is served.
    pub(crate) fn log_summary(&self) {
        for ws in self.declared.values() {
            match &ws.setup {
                Ok(_) => {
                    tracing::info!(workspace = %ws.id, driver = %ws.driver, "workspace '{}' ready", ws.label)
                }
                Err(_) => {
                    tracing::warn!(workspace = %ws.id, driver = %ws.driver, "workspace '{}' unavailable", ws.label)
                }
            }
        }
    }
}
