//! Start-up, in dependency order: manifests, then workspaces (validated against them), then
//! plugins (whose host services need the workspaces). Nothing here fails the whole host: a
//! bad manifest, library or workspace is refused on its own and logged.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::Config;
use crate::manifest::{self, Manifest};
use crate::registry::Registry;
use crate::services::{MemoryKv, PluginServices};
use crate::web::AppState;
use crate::workspaces::Workspaces;

/// Discovers and loads everything the config names.
pub(crate) fn boot(config: Config) -> AppState {
    let (manifests, errors) = manifest::load_dirs(&config.manifest_dirs);
    let mut by_id: BTreeMap<String, Manifest> = BTreeMap::new();
    for m in &manifests {
        by_id.entry(m.id.clone()).or_insert_with(|| m.clone());
    }
    let workspaces = Arc::new(Workspaces::from_decls(
        &config.workspaces,
        &by_id,
        &config.public_url,
    ));
    let kv = Arc::new(MemoryKv::default());
    let registry = Registry::load(&config, (manifests, errors), |plugin_id| {
        Arc::new(PluginServices {
            plugin_id: plugin_id.to_owned(),
            public_url: config.public_url.clone(),
            kv: kv.clone(),
            workspaces: workspaces.clone(),
        })
    });
    workspaces.log_summary();
    AppState {
        config,
        registry,
        workspaces,
    }
}
