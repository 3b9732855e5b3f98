//! Workspaces: their declarations validated against their driver's manifest, and the driver
//! instances opened for them (lazily, once, dropped when the driver panics).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use plugin_api::foreign::{ForeignDriver, ForeignPlugin};
use plugin_api::WorkspaceConfig;

use crate::config::WorkspaceDecl;
use crate::manifest::Manifest;

/// One workspace as the host knows it.
#[derive(Debug)]
pub(crate) struct Workspace {
    pub(crate) id: String,
    pub(crate) label: String,
    /// The driver's plugin id.
    pub(crate) driver: String,
    /// The validated configuration, or why the declaration was refused.
    pub(crate) setup: Result<WorkspaceConfig, String>,
}

impl Workspace {
    pub(crate) fn config(&self) -> Option<&WorkspaceConfig> {
        self.setup.as_ref().ok()
    }
}

/// All workspaces and their open drivers.
#[derive(Default)]
pub(crate) struct Workspaces {
    list: BTreeMap<String, Workspace>,
    open: Mutex<HashMap<String, Arc<ForeignDriver>>>,
}

impl Workspaces {
    /// Validates each declaration against its driver's manifest (`manifests` by plugin id).
    /// A refused declaration stays listed with its reason, so requests get a clear error.
    pub(crate) fn from_decls(
        decls: &[WorkspaceDecl],
        manifests: &BTreeMap<String, Manifest>,
        public_url: &str,
    ) -> Workspaces {
        let list = decls
            .iter()
            .map(|d| {
                let setup = match manifests.get(&d.driver) {
                    None => Err(format!("unknown driver '{}'", d.driver)),
                    Some(m) => m
                        .validate(&d.string_params(), public_url)
                        .map(|params| WorkspaceConfig {
                            id: d.id.clone(),
                            params,
                        })
                        .map_err(|errors| {
                            errors
                                .iter()
                                .map(|e| format!("{}: {}", e.field, e.message))
                                .collect::<Vec<_>>()
                                .join("; ")
                        }),
                };
                if let Err(reason) = &setup {
                    tracing::error!(workspace = %d.id, driver = %d.driver, "workspace refused: {reason}");
                }
                let ws = Workspace {
                    id: d.id.clone(),
                    label: d.label.clone().unwrap_or_else(|| d.id.clone()),
                    driver: d.driver.clone(),
                    setup,
                };
                (d.id.clone(), ws)
            })
            .collect();
        Workspaces {
            list,
            open: Mutex::default(),
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Workspace> {
        self.list.get(id)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Workspace> {
        self.list.values()
    }

    /// One log line per workspace, so an operator sees at start-up what is served.
    pub(crate) fn log_summary(&self) {
        for ws in self.iter() {
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

    /// The open driver of `ws`, opening it on first use. Blocking: call from a blocking thread.
    pub(crate) fn driver(
        &self,
        ws: &Workspace,
        config: &WorkspaceConfig,
        plugin: &ForeignPlugin,
    ) -> plugin_api::Result<Arc<ForeignDriver>> {
        if let Some(d) = self.open.lock().expect("driver cache").get(&ws.id) {
            return Ok(d.clone());
        }
        // Opened outside the lock: a slow backend must not block other workspaces. Two
        // concurrent first uses may both open; the second simply replaces the first.
        let driver = Arc::new(plugin.open(config)?);
        self.open
            .lock()
            .expect("driver cache")
            .insert(ws.id.clone(), driver.clone());
        Ok(driver)
    }

    /// Drops the open driver of `ws` (after a panic, or when its plugin is disabled).
    pub(crate) fn forget(&self, ws_id: &str) {
        self.open.lock().expect("driver cache").remove(ws_id);
    }
}
