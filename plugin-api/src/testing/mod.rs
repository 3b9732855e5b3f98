//! Test support for plugin authors (feature `testing`): run a driver in-process, through the
//! very same ABI path the host uses, without a running host, and check it against the
//! [`conformance`] suite.
//!
//! - [`load`] builds a plugin's root module in this process and initializes it, so the
//!   driver is reached exactly as the host reaches it: panic guard, stream adapters and every
//!   conversion included (only abi_stable's load-time version and layout checks, which need a
//!   real `.so`, do not run);
//! - [`MemoryHost`] stands in for the host's services;
//! - [`ctx`] makes a call context;
//! - [`conformance::assert_conformant`] runs the behaviour suite.
//!
//! ```
//! use plugin_api::testing::{conformance, ctx, load, MemoryHost};
//! use plugin_api::{Driver, WorkspaceConfig};
//! # use plugin_api::*;
//! # struct MyPlugin;
//! # impl Plugin for MyPlugin {
//! #     type Driver = MyDriver;
//! #     const ID: &'static str = "access.mine";
//! #     const VERSION: &'static str = "0.1.0";
//! #     fn new(_: Host) -> Result<Self> { Ok(MyPlugin) }
//! #     fn open(&self, _: WorkspaceConfig) -> Result<MyDriver> { Ok(MyDriver) }
//! # }
//! # struct MyDriver;
//! # impl Driver for MyDriver {
//! #     fn capabilities(&self) -> Capabilities { Capabilities::STAT }
//! #     fn stat(&self, _: &CallContext, p: &WsPath) -> Result<Entry> {
//! #         if p.is_empty() { Ok(Entry::dir("")) } else { Err(PluginError::not_found(p)) }
//! #     }
//! # }
//!
//! let host = MemoryHost::new("http://localhost:8080");
//! let plugin = load::<MyPlugin>(host.clone()).unwrap();
//! let driver = plugin.open(&WorkspaceConfig::default()).unwrap();
//! assert!(driver.stat(&ctx("alice"), "").unwrap().is_dir);
//! conformance::assert_conformant(&driver);
//! ```

pub mod conformance;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{PluginError, Result};
use crate::export::root_module;
use crate::foreign::{ForeignPlugin, LoadedLibrary};
use crate::host::{HostServices, KvScope, LogLevel};
use crate::plugin::Plugin;
use crate::types::{CallContext, WorkspaceConfig};

/// Initializes plugin `P` in this process behind the real FFI boundary (panic guard, stream
/// adapters and all) and returns the host's view of it.
pub fn load<P: Plugin>(host: Arc<dyn HostServices>) -> Result<ForeignPlugin> {
    LoadedLibrary::from_module(root_module::<P>()).init(host)
}

/// A call context for user `user` (tests rarely need more).
pub fn ctx(user: &str) -> CallContext {
    CallContext {
        user: Some(user.to_owned()),
        request_id: "test".into(),
        ..CallContext::default()
    }
}

/// Values by scope and key, with their expiry.
type KvMap = HashMap<(KvScope, String), (Vec<u8>, Option<Instant>)>;

/// An in-memory host: key-value store with expiry, captured log lines, fixed workspaces.
///
/// One difference from the real host: the real host binds each plugin's services to its
/// plugin id, so [`HostServices::workspace_config`] only answers for the calling plugin's own
/// workspaces (another plugin's workspace answers `NotFound`, exactly like a missing one). A
/// `MemoryHost` serves one plugin, so it answers for every workspace added with
/// [`MemoryHost::add_workspace`]; to test the `NotFound` path, ask for one never added.
pub struct MemoryHost {
    public_url: String,
    kv: Mutex<KvMap>,
    logs: Mutex<Vec<(LogLevel, String)>>,
    workspaces: Mutex<BTreeMap<String, WorkspaceConfig>>,
}

impl MemoryHost {
    /// A host whose public URL is `public_url`.
    pub fn new(public_url: &str) -> Arc<Self> {
        Arc::new(MemoryHost {
            public_url: public_url.trim_end_matches('/').to_owned(),
            kv: Mutex::default(),
            logs: Mutex::default(),
            workspaces: Mutex::default(),
        })
    }

    /// Makes `config` visible through [`HostServices::workspace_config`], as the host does for
    /// the workspaces declared with this plugin as their driver.
    pub fn add_workspace(&self, config: WorkspaceConfig) {
        self.workspaces
            .lock()
            .unwrap()
            .insert(config.id.clone(), config);
    }

    /// The log lines written so far.
    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        self.logs.lock().unwrap().clone()
    }
}

impl HostServices for MemoryHost {
    fn kv_get(&self, scope: &KvScope, key: &str) -> Result<Option<Vec<u8>>> {
        let kv = self.kv.lock().unwrap();
        Ok(kv
            .get(&(scope.clone(), key.to_owned()))
            .filter(|(_, exp)| exp.is_none_or(|t| t > Instant::now()))
            .map(|(v, _)| v.clone()))
    }

    fn kv_put(
        &self,
        scope: &KvScope,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<()> {
        let exp = ttl.map(|d| Instant::now() + d);
        self.kv
            .lock()
            .unwrap()
            .insert((scope.clone(), key.to_owned()), (value.to_vec(), exp));
        Ok(())
    }

    fn kv_take(&self, scope: &KvScope, key: &str) -> Result<Option<Vec<u8>>> {
        let mut kv = self.kv.lock().unwrap();
        Ok(kv
            .remove(&(scope.clone(), key.to_owned()))
            .filter(|(_, exp)| exp.is_none_or(|t| t > Instant::now()))
            .map(|(v, _)| v))
    }

    fn kv_delete(&self, scope: &KvScope, key: &str) -> Result<()> {
        self.kv
            .lock()
            .unwrap()
            .remove(&(scope.clone(), key.to_owned()));
        Ok(())
    }

    fn log(&self, level: LogLevel, message: &str) {
        self.logs.lock().unwrap().push((level, message.to_owned()));
    }

    fn public_url(&self) -> String {
        self.public_url.clone()
    }

    fn workspace_config(&self, workspace: &str) -> Result<WorkspaceConfig> {
        self.workspaces
            .lock()
            .unwrap()
            .get(workspace)
            .cloned()
            .ok_or_else(|| PluginError::not_found(format!("no workspace '{workspace}'")))
    }
}
