//! Workspaces: those declared in the config file and those created at run time in the store,
//! each validated against its driver's manifest, and the driver instances opened for them
//! (lazily, once per workspace version — and per user, for a workspace whose params hold
//! `{user}` — dropped after a panic or when the driver is disabled).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use plugin_api::foreign::{ForeignDriver, ForeignPlugin};
use plugin_api::{Capabilities, Driver as _, WorkspaceConfig};

use crate::config::WorkspaceDecl;
use crate::manifest::{Manifest, Scope};
use crate::plugins::quick::{QuickCall, QuickLane};
use crate::store::{Access, Store, StoreError, WorkspaceRecord};

/// At most this many drivers of per-user workspaces stay open; past it, the one used least
/// recently is closed (reopened on its user's next request), so a deployment with many
/// users holds a bounded number of driver sessions.
const MAX_PERSONAL_DRIVERS: usize = 1024;

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
    /// The validated configuration, keywords as written, or why the definition was refused.
    pub(crate) setup: Result<WorkspaceConfig, String>,
    /// Whether its params hold `{user}`: opened once per user, never for anonymous callers.
    pub(crate) per_user: bool,
    /// The access every signed-in user has without a grant ("My files": read-write).
    pub(crate) all_users: Option<Access>,
    /// The template a user made it from, and that user (its owner, who has read-write).
    pub(crate) made: Option<Made>,
}

/// Where a workspace made by a user from a template comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Made {
    pub(crate) template: String,
    pub(crate) owner: String,
}

impl Workspace {
    pub(crate) fn config(&self) -> Option<&WorkspaceConfig> {
        self.setup.as_ref().ok()
    }
}

/// The driver cache's key: a workspace, and the user for a per-user one.
type Key = (String, Option<String>);

/// Validates params against the driver's manifest into a workspace configuration.
fn setup(
    id: &str,
    driver: &str,
    params: &BTreeMap<String, String>,
    manifest: Option<&Manifest>,
    scope: &Scope,
) -> Result<WorkspaceConfig, String> {
    let m = manifest.ok_or_else(|| format!("unknown driver '{driver}'"))?;
    m.validate(params, scope)
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

/// Whether `setup`'s params differ per user.
fn per_user(setup: &Result<WorkspaceConfig, String>, manifest: Option<&Manifest>) -> bool {
    match (setup, manifest) {
        (Ok(config), Some(m)) => m.per_user(&config.params),
        _ => false,
    }
}

/// A driver opened for a workspace.
struct OpenDriver {
    /// The workspace version it was opened for.
    version: i64,
    /// When it last served a call (per-user drivers are closed least recently used first).
    used: Instant,
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
    data_dir: PathBuf,
    /// Workspace (and user) → its open driver.
    open: Mutex<HashMap<Key, OpenDriver>>,
    /// Key → the lock its driver is opened under while it opens, so that concurrent first
    /// uses open it once (a second session would double a slow backend's start and may be
    /// refused by one that allows a single session) while other workspaces open freely.
    opening: Mutex<HashMap<Key, Arc<Mutex<()>>>>,
}

impl Workspaces {
    /// The config-declared workspaces, validated against `manifest`.
    pub(crate) fn new<'m>(
        decls: &[WorkspaceDecl],
        manifest: impl Fn(&str) -> Option<&'m Manifest>,
        public_url: &str,
        data_dir: &Path,
    ) -> Workspaces {
        let scope = Scope {
            user: None,
            data_dir,
            public_url,
        };
        let declared = decls
            .iter()
            .map(|d| {
                let m = manifest(&d.driver);
                let setup = setup(&d.id, &d.driver, &d.string_params(), m, &scope);
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
                    per_user: per_user(&setup, m),
                    all_users: d.all_users,
                    made: None,
                    setup,
                };
                (d.id.clone(), ws)
            })
            .collect();
        Workspaces {
            declared,
            public_url: public_url.to_owned(),
            data_dir: data_dir.to_owned(),
            open: Mutex::default(),
            opening: Mutex::default(),
        }
    }

    /// What keywords expand to for `user` on this deployment.
    pub(crate) fn scope<'a>(&'a self, user: Option<&'a str>) -> Scope<'a> {
        Scope {
            user,
            data_dir: &self.data_dir,
            public_url: &self.public_url,
        }
    }

    /// The configuration `ws`'s driver is opened with for `user`: its params with their
    /// keywords expanded, or why it cannot be opened for them (`{user}` and no user).
    pub(crate) fn config_for(
        &self,
        ws: &Workspace,
        user: Option<&str>,
        manifest: Option<&Manifest>,
    ) -> Result<WorkspaceConfig, String> {
        let config = ws.setup.as_ref().map_err(Clone::clone)?;
        let m = manifest.ok_or_else(|| format!("unknown driver '{}'", ws.driver))?;
        let params = m
            .expand(&config.params, &self.scope(user))
            .map_err(|e| format!("{}: {}", e.field, e.message))?;
        Ok(WorkspaceConfig {
            id: config.id.clone(),
            params,
        })
    }

    /// The cache key of `ws`'s driver for `user`: the user counts only for a per-user one.
    pub(crate) fn key(ws: &Workspace, user: Option<&str>) -> Key {
        let user = ws.per_user.then(|| user.map(str::to_owned)).flatten();
        (ws.id.clone(), user)
    }

    /// Whether `id` is declared in the config file.
    pub(crate) fn is_declared(&self, id: &str) -> bool {
        self.declared.contains_key(id)
    }

    /// The workspace `id`: from the config, else from the store (so a workspace created on
    /// another instance is found at once). A template is no workspace: nobody opens it.
    pub(crate) async fn get<'m>(
        &self,
        store: &Store,
        id: &str,
        manifest: impl Fn(&str) -> Option<&'m Manifest>,
    ) -> Result<Option<Workspace>, StoreError> {
        if let Some(ws) = self.declared.get(id) {
            return Ok(Some(ws.clone()));
        }
        let Some(rec) = store.workspace(id).await? else {
            return Ok(None);
        };
        let template = match &rec.template {
            Some(t) => store.workspace(t).await?,
            None => None,
        };
        Ok(self.of_record(rec, template.as_ref(), &manifest))
    }

    /// Every workspace: the config's, then the store's (templates left out).
    pub(crate) async fn all<'m>(
        &self,
        store: &Store,
        manifest: impl Fn(&str) -> Option<&'m Manifest>,
    ) -> Result<Vec<Workspace>, StoreError> {
        let mut all: Vec<Workspace> = self.declared.values().cloned().collect();
        let records = store.workspaces().await?;
        let by_id: HashMap<&str, &WorkspaceRecord> =
            records.iter().map(|r| (r.id.as_str(), r)).collect();
        for rec in &records {
            if self.declared.contains_key(&rec.id) {
                continue;
            }
            let template = rec.template.as_deref().and_then(|t| by_id.get(t).copied());
            all.extend(self.of_record(rec.clone(), template, &manifest));
        }
        Ok(all)
    }

    /// The workspace a store record defines, or `None` for a template. A workspace made
    /// from a template takes the template's fixed params (those its users do not fill in)
    /// and follows the template's edits.
    fn of_record<'m>(
        &self,
        rec: WorkspaceRecord,
        template: Option<&WorkspaceRecord>,
        manifest: &impl Fn(&str) -> Option<&'m Manifest>,
    ) -> Option<Workspace> {
        if rec.template_spec.is_some() {
            return None;
        }
        let mut params = rec.params;
        let mut version = rec.version;
        let mut missing_template = None;
        match (&rec.template, template) {
            (Some(_), Some(t)) => {
                let spec = t.template_spec.clone().unwrap_or_default();
                params.retain(|name, _| spec.user_params.contains(name));
                for (name, value) in &t.params {
                    params.entry(name.clone()).or_insert_with(|| value.clone());
                }
                version += t.version;
            }
            (Some(t), None) => missing_template = Some(format!("its template '{t}' is gone")),
            (None, _) => {}
        }
        let m = manifest(&rec.driver);
        // Re-validated on every read: a manifest upgrade may have changed the rules, and a
        // driver must never see parameters its manifest refuses.
        let setup = match missing_template {
            Some(reason) => Err(reason),
            None => setup(&rec.id, &rec.driver, &params, m, &self.scope(None)),
        };
        let made = match (rec.template, rec.owner) {
            (Some(template), Some(owner)) => Some(Made { template, owner }),
            _ => None,
        };
        Some(Workspace {
            id: rec.id,
            label: rec.label,
            description: rec.description,
            driver: rec.driver,
            source: Source::Store,
            version,
            per_user: per_user(&setup, m),
            all_users: rec.all_users,
            made,
            setup,
        })
    }

    /// The open driver of `ws` under `key` ([`Workspaces::key`]), opening it with `config`
    /// on first use or when its definition changed. Blocking: call from a blocking thread.
    pub(crate) fn driver(
        &self,
        ws: &Workspace,
        key: &Key,
        plugin: &ForeignPlugin,
        config: impl FnOnce() -> plugin_api::Result<WorkspaceConfig>,
    ) -> plugin_api::Result<Arc<ForeignDriver>> {
        if let Some(driver) = self.opened(ws, key) {
            return Ok(driver);
        }
        let gate = self
            .opening
            .lock()
            .expect("driver cache")
            .entry(key.clone())
            .or_default()
            .clone();
        let _one_open = gate.lock().expect("driver cache");
        if let Some(driver) = self.opened(ws, key) {
            return Ok(driver);
        }
        // Opened outside the cache's lock: a slow backend must not block other workspaces.
        let opened = config()
            .and_then(|config| plugin.open(&config))
            .map(|driver| {
                let driver = Arc::new(driver);
                let quick = driver.capabilities().contains(Capabilities::QUICK);
                let mut open = self.open.lock().expect("driver cache");
                if key.1.is_some() {
                    evict_personal(&mut open);
                }
                open.insert(
                    key.clone(),
                    OpenDriver {
                        version: ws.version,
                        used: Instant::now(),
                        plugin: ws.driver.clone(),
                        driver: driver.clone(),
                        quick: quick.then(|| Arc::new(QuickLane::new(&ws.id))),
                    },
                );
                driver
            });
        // The gate has done its work once the driver is in the cache (a later arrival finds
        // it, or opens anew after a failure): dropped, so that a key per user does not leave
        // one gate per user behind.
        self.opening.lock().expect("driver cache").remove(key);
        opened
    }

    /// The driver already open under `key` for this version of `ws`.
    fn opened(&self, ws: &Workspace, key: &Key) -> Option<Arc<ForeignDriver>> {
        let mut open = self.open.lock().expect("driver cache");
        let o = open.get_mut(key).filter(|o| o.version == ws.version)?;
        o.used = Instant::now();
        Some(o.driver.clone())
    }

    /// A quick call on the driver open under `key` for `ws`, if it declares quick calls and
    /// its lane is open; `None` sends the call to the blocking pool (which also opens drivers).
    pub(crate) fn quick_call(&self, ws: &Workspace, key: &Key) -> Option<QuickCall> {
        let (lane, driver) = {
            let mut open = self.open.lock().expect("driver cache");
            let open = open.get_mut(key).filter(|o| o.version == ws.version)?;
            open.used = Instant::now();
            (open.quick.clone()?, open.driver.clone())
        };
        QuickCall::start(lane, driver)
    }

    /// Drops every open driver of workspace `ws_id`, for every user (after a panic, an edit
    /// or a deletion).
    pub(crate) fn forget(&self, ws_id: &str) {
        self.open
            .lock()
            .expect("driver cache")
            .retain(|(ws, _), _| ws != ws_id);
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

/// Closes the per-user driver used least recently while [`MAX_PERSONAL_DRIVERS`] are open.
fn evict_personal(open: &mut HashMap<Key, OpenDriver>) {
    let personal = open.keys().filter(|(_, user)| user.is_some()).count();
    if personal < MAX_PERSONAL_DRIVERS {
        return;
    }
    let oldest = open
        .iter()
        .filter(|((_, user), _)| user.is_some())
        .min_by_key(|(_, o)| o.used)
        .map(|(key, _)| key.clone());
    if let Some(key) = oldest {
        open.remove(&key);
    }
}
