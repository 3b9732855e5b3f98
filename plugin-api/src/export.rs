//! The plugin side of the boundary: turns an author's [`Plugin`] and [`Driver`] into the root
//! module and trait objects of `ffi`, every method behind the panic guard, and wraps the
//! host's services object as a [`Host`]. [`export_plugin!`](crate::export_plugin) is the one
//! line an author writes.

use std::sync::Arc;
use std::time::Duration;

use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RBox, RResult, RSlice, RStr, RString, RVec};

use crate::error::{PluginError, Result};
use crate::ffi::*;
use crate::guard::{guard, guard_infallible};
use crate::host::{Host, HostServices, KvScope, LogLevel};
use crate::plugin::{Driver, Plugin};
use crate::stream::{export, export_response, import, import_request};
use crate::types::{PageRequest, WorkspaceConfig, WriteOptions};

/// The version of plugin-api this library was compiled with.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Builds the root module of plugin type `P`; called by [`export_plugin!`](crate::export_plugin).
pub fn root_module<P: Plugin>() -> PluginModRef {
    PluginMod {
        describe: describe::<P>,
        init: init::<P>,
        extension: no_extension,
    }
    .leak_into_prefix()
}

extern "C" fn describe<P: Plugin>() -> FfiPluginInfo {
    FfiPluginInfo {
        id: P::ID.into(),
        version: P::VERSION.into(),
        api_version: API_VERSION.into(),
        actions: P::ACTIONS.iter().map(|a| RString::from(*a)).collect(),
        extra: RVec::new(),
    }
}

extern "C" fn init<P: Plugin>(host: FfiHostBox) -> RResult<FfiPluginBox, FfiError> {
    let host = Host::new(Arc::new(ImportedHost(host)));
    guard("init", || P::new(host), |plugin| {
        FfiPlugin_TO::from_ptr(RBox::new(PluginAdapter(plugin)), TD_Opaque)
    })
}

extern "C" fn no_extension(name: RStr<'_>, _: RSlice<'_, u8>) -> RResult<RVec<u8>, FfiError> {
    RResult::RErr(PluginError::unsupported(&format!("extension {name}")).into())
}

struct PluginAdapter<P>(P);

impl<P: Plugin> FfiPlugin for PluginAdapter<P> {
    fn open(&self, config: FfiWorkspaceConfig) -> RResult<FfiDriverBox, FfiError> {
        guard("open", || self.0.open(WorkspaceConfig::from(config)), |d| {
            FfiDriver_TO::from_ptr(RBox::new(DriverAdapter(d)), TD_Opaque)
        })
    }

    fn action(
        &self,
        ctx: &FfiCallContext,
        req: FfiActionRequest,
    ) -> RResult<FfiActionResponse, FfiError> {
        let what = format!("action {}", req.name);
        guard(
            &what,
            || self.0.action(&ctx.into(), import_request(req)),
            export_response,
        )
    }

    fn extension(&self, name: RStr<'_>, payload: RSlice<'_, u8>) -> RResult<RVec<u8>, FfiError> {
        no_extension(name, payload)
    }
}

struct DriverAdapter<D>(D);

impl<D: Driver> FfiDriver for DriverAdapter<D> {
    fn capabilities(&self) -> u64 {
        guard_infallible("capabilities", 0, || self.0.capabilities().bits())
    }

    fn stat(&self, ctx: &FfiCallContext, path: RStr<'_>) -> RResult<FfiEntry, FfiError> {
        guard("stat", || self.0.stat(&ctx.into(), path.as_str()), FfiEntry::from)
    }

    fn list(
        &self,
        ctx: &FfiCallContext,
        path: RStr<'_>,
        cursor: abi_stable::std_types::ROption<RString>,
        limit: u32,
    ) -> RResult<FfiListPage, FfiError> {
        let page = PageRequest {
            cursor: opt(cursor),
            limit,
        };
        guard(
            "list",
            || self.0.list(&ctx.into(), path.as_str(), page),
            FfiListPage::from,
        )
    }

    fn read(
        &self,
        ctx: &FfiCallContext,
        path: RStr<'_>,
        range: abi_stable::std_types::ROption<FfiByteRange>,
    ) -> RResult<FfiReadResult, FfiError> {
        let range = range.into_option().map(Into::into);
        guard(
            "read",
            || self.0.read(&ctx.into(), path.as_str(), range),
            |r| FfiReadResult {
                entry: r.entry.into(),
                range: r.range.map(FfiByteRange::from).into(),
                content: export(r.content),
            },
        )
    }

    fn write(
        &self,
        ctx: &FfiCallContext,
        path: RStr<'_>,
        body: FfiStreamBox,
        overwrite: bool,
        size_hint: abi_stable::std_types::ROption<u64>,
    ) -> RResult<FfiEntry, FfiError> {
        let options = WriteOptions {
            overwrite,
            size_hint: size_hint.into_option(),
        };
        guard(
            "write",
            || self.0.write(&ctx.into(), path.as_str(), import(body), options),
            FfiEntry::from,
        )
    }

    fn mkdir(&self, ctx: &FfiCallContext, path: RStr<'_>) -> RResult<FfiEntry, FfiError> {
        guard("mkdir", || self.0.mkdir(&ctx.into(), path.as_str()), FfiEntry::from)
    }

    fn delete(&self, ctx: &FfiCallContext, path: RStr<'_>) -> RResult<(), FfiError> {
        guard("delete", || self.0.delete(&ctx.into(), path.as_str()), |v| v)
    }

    fn rename(
        &self,
        ctx: &FfiCallContext,
        from: RStr<'_>,
        to: RStr<'_>,
    ) -> RResult<FfiEntry, FfiError> {
        guard(
            "rename",
            || self.0.rename(&ctx.into(), from.as_str(), to.as_str()),
            FfiEntry::from,
        )
    }

    fn copy(&self, ctx: &FfiCallContext, from: RStr<'_>, to: RStr<'_>) -> RResult<FfiEntry, FfiError> {
        guard(
            "copy",
            || self.0.copy(&ctx.into(), from.as_str(), to.as_str()),
            FfiEntry::from,
        )
    }

    fn verify(&self, ctx: &FfiCallContext) -> RResult<RString, FfiError> {
        guard("verify", || self.0.verify(&ctx.into()), RString::from)
    }

    fn action(
        &self,
        ctx: &FfiCallContext,
        req: FfiActionRequest,
    ) -> RResult<FfiActionResponse, FfiError> {
        let what = format!("action {}", req.name);
        guard(
            &what,
            || self.0.action(&ctx.into(), import_request(req)),
            export_response,
        )
    }

    fn extension(
        &self,
        _: &FfiCallContext,
        name: RStr<'_>,
        payload: RSlice<'_, u8>,
    ) -> RResult<RVec<u8>, FfiError> {
        no_extension(name, payload)
    }
}

/// The host's services object, seen from the plugin.
struct ImportedHost(FfiHostBox);

fn result<T, U>(r: RResult<T, FfiError>, f: impl FnOnce(T) -> U) -> Result<U> {
    r.into_result().map(f).map_err(PluginError::from)
}

impl HostServices for ImportedHost {
    fn kv_get(&self, scope: &KvScope, key: &str) -> Result<Option<Vec<u8>>> {
        result(self.0.kv_get(&scope.into(), key.into()), |v| {
            v.into_option().map(RVec::into_vec)
        })
    }

    fn kv_put(&self, scope: &KvScope, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<()> {
        let ttl = ttl.map(|d| d.as_millis() as u64).into();
        result(
            self.0.kv_put(&scope.into(), key.into(), value.into(), ttl),
            |v| v,
        )
    }

    fn kv_take(&self, scope: &KvScope, key: &str) -> Result<Option<Vec<u8>>> {
        result(self.0.kv_take(&scope.into(), key.into()), |v| {
            v.into_option().map(RVec::into_vec)
        })
    }

    fn kv_delete(&self, scope: &KvScope, key: &str) -> Result<()> {
        result(self.0.kv_delete(&scope.into(), key.into()), |v| v)
    }

    fn log(&self, level: LogLevel, message: &str) {
        self.0.log(level as u8, message.into())
    }

    fn public_url(&self) -> String {
        self.0.public_url().into_string()
    }

    fn workspace_config(&self, workspace: &str) -> Result<WorkspaceConfig> {
        result(self.0.workspace_config(workspace.into()), WorkspaceConfig::from)
    }
}

/// Exports a plugin type from a `cdylib`: `plugin_api::export_plugin!(MyPlugin);`.
///
/// The type must implement [`Plugin`](crate::Plugin). The macro also refuses to compile with
/// `panic = "abort"`, under which a plugin's panic would kill the host.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[cfg(not(panic = "unwind"))]
        compile_error!(
            "wshost plugins must be built with panic = \"unwind\": the host catches a plugin's \
             panics, which it cannot do under panic = \"abort\""
        );

        /// The root module of this wshost plugin library.
        #[$crate::__private::export_root_module]
        pub fn wshost_plugin_root_module() -> $crate::ffi::PluginModRef {
            $crate::export::root_module::<$plugin>()
        }
    };
}

/// Used by [`export_plugin!`](crate::export_plugin) without plugin crates depending on abi_stable.
#[doc(hidden)]
pub mod __private {
    pub use abi_stable::export_root_module;
}
