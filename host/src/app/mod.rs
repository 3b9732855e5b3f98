//! The application state every door shares (config, store, plugins, workspaces), made once
//! at start-up by `boot`, and the domain error every layer answers (`error`), which each door
//! maps to its own surface.

pub(crate) mod boot;
pub(crate) mod error;
pub(crate) mod extract;
pub(crate) mod instances;

use std::sync::Arc;

use crate::auth::LoginThrottle;
use crate::config::Config;
use crate::plugins::registry::Registry;
use crate::plugins::workspaces::{Workspace, Workspaces};
use crate::store::Store;
use error::AppError;

/// Everything a request handler needs; shared by all requests.
pub(crate) struct AppState {
    pub(crate) config: Config,
    pub(crate) store: Store,
    pub(crate) registry: Arc<Registry>,
    pub(crate) workspaces: Arc<Workspaces>,
    /// Failed logins per user name (counted in the store when it is shared).
    pub(crate) login_throttle: LoginThrottle,
    /// Set on a shutdown signal: `/readyz` answers 503 from then on.
    pub(crate) draining: std::sync::atomic::AtomicBool,
    /// This instance's configuration fingerprint, once `serve` has recorded it.
    pub(crate) served: std::sync::OnceLock<instances::Served>,
}

impl AppState {
    pub(crate) fn new(
        config: Config,
        store: Store,
        registry: Arc<Registry>,
        workspaces: Arc<Workspaces>,
    ) -> AppState {
        let login_throttle = LoginThrottle::for_store(
            &store,
            config.limits.login_failures,
            config.limits.login_window,
        );
        AppState {
            config,
            store,
            registry,
            workspaces,
            login_throttle,
            draining: std::sync::atomic::AtomicBool::new(false),
            served: std::sync::OnceLock::new(),
        }
    }

    /// The workspace `id`, from the config or the store.
    pub(crate) async fn workspace(&self, id: &str) -> Result<Option<Workspace>, AppError> {
        Ok(self
            .workspaces
            .get(&self.store, id, |d| self.registry.manifest(d))
            .await?)
    }

    /// Every workspace: the config's, then the store's.
    pub(crate) async fn all_workspaces(&self) -> Result<Vec<Workspace>, AppError> {
        Ok(self
            .workspaces
            .all(&self.store, |d| self.registry.manifest(d))
            .await?)
    }
}

pub(crate) type Shared = Arc<AppState>;
