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
use crate::guard::{guard, guard_infallible, Guarded};
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
    let empty = FfiPluginInfo {
        id: RString::new(),
        version: RString::new(),
        api_version: API_VERSION.into(),
        actions: RVec::new(),
        extra: RVec::new(),
    };
    guard_infallible("describe", empty, || FfiPluginInfo {
        id: P::ID.into(),
        version: P::VERSION.into(),
        api_version: API_VERSION.into(),
        actions: P::ACTIONS.iter().map(|a| RString::from(*a)).collect(),
        extra: RVec::new(),
    })
}

extern "C" fn init<P: Plugin>(host: FfiHostBox) -> RResult<FfiPluginBox, FfiError> {
    let host = Host::new(Arc::new(ImportedHost(host)));
    guard(
        "init",
        || P::new(host),
        |plugin| FfiPlugin_TO::from_ptr(RBox::new(Guarded::new(plugin)), TD_Opaque),
    )
}

extern "C" fn no_extension(name: RStr<'_>, _: RSlice<'_, u8>) -> RResult<RVec<u8>, FfiError> {
    RResult::RErr(PluginError::unsupported(&format!("extension {name}")).into())
}

impl<P: Plugin> FfiPlugin for Guarded<P> {
    fn open(&self, config: FfiWorkspaceConfig) -> RResult<FfiDriverBox, FfiError> {
        guard(
            "open",
            || self.get().open(WorkspaceConfig::from(config)),
            |d| FfiDriver_TO::from_ptr(RBox::new(Guarded::new(d)), TD_Opaque),
        )
    }

    fn action(
        &self,
        ctx: &FfiCallContext,
        req: FfiActionRequest,
    ) -> RResult<FfiActionResponse, FfiError> {
        let what = format!("action {}", req.name);
        guard(
            &what,
            || self.get().action(&ctx.into(), import_request(req)),
            export_response,
        )
    }

    fn extension(&self, name: RStr<'_>, payload: RSlice<'_, u8>) -> RResult<RVec<u8>, FfiError> {
        no_extension(name, payload)
    }
}

impl<D: Driver> FfiDriver for Guarded<D> {
    fn capabilities(&self) -> u64 {
        guard_infallible("capabilities", 0, || self.get().capabilities().bits())
    }

    fn stat(&self, ctx: &FfiCallContext, path: RStr<'_>) -> RResult<FfiEntry, FfiError> {
        guard(
            "stat",
            || self.get().stat(&ctx.into(), path.as_str()),
            FfiEntry::from,
        )
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
            || self.get().list(&ctx.into(), path.as_str(), page),
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
            || self.get().read(&ctx.into(), path.as_str(), range),
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
            || {
                self.get()
                    .write(&ctx.into(), path.as_str(), import(body), options)
            },
            FfiEntry::from,
        )
    }

    fn mkdir(&self, ctx: &FfiCallContext, path: RStr<'_>) -> RResult<FfiEntry, FfiError> {
        guard(
            "mkdir",
            || self.get().mkdir(&ctx.into(), path.as_str()),
            FfiEntry::from,
        )
    }

    fn delete(&self, ctx: &FfiCallContext, path: RStr<'_>) -> RResult<(), FfiError> {
        guard(
            "delete",
            || self.get().delete(&ctx.into(), path.as_str()),
            |v| v,
        )
    }

    fn rename(
        &self,
        ctx: &FfiCallContext,
        from: RStr<'_>,
        to: RStr<'_>,
    ) -> RResult<FfiEntry, FfiError> {
        guard(
            "rename",
            || self.get().rename(&ctx.into(), from.as_str(), to.as_str()),
            FfiEntry::from,
        )
    }

    fn copy(
        &self,
        ctx: &FfiCallContext,
        from: RStr<'_>,
        to: RStr<'_>,
    ) -> RResult<FfiEntry, FfiError> {
        guard(
            "copy",
            || self.get().copy(&ctx.into(), from.as_str(), to.as_str()),
            FfiEntry::from,
        )
    }

    fn verify(&self, ctx: &FfiCallContext) -> RResult<RString, FfiError> {
        guard("verify", || self.get().verify(&ctx.into()), RString::from)
    }

    fn action(
        &self,
        ctx: &FfiCallContext,
        req: FfiActionRequest,
    ) -> RResult<FfiActionResponse, FfiError> {
        let what = format!("action {}", req.name);
        guard(
            &what,
            || self.get().action(&ctx.into(), import_request(req)),
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

    fn kv_put(
        &self,
        scope: &KvScope,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<()> {
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
        result(
            self.0.workspace_config(workspace.into()),
            WorkspaceConfig::from,
        )
    }

    fn extension(&self, name: &str, payload: &[u8]) -> Result<Vec<u8>> {
        result(
            self.0.extension(name.into(), payload.into()),
            RVec::into_vec,
        )
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

        /// The library header the host looks up (what abi_stable's `#[export_root_module]`
        /// generates, written out so plugin crates need not depend on abi_stable).
        #[export_name = "_1as_0lib_1header_0root_bmodule_bloader"]
        pub static WSHOST_PLUGIN_HEADER: $crate::__private::LibHeader = {
            fn root_module() -> $crate::ffi::PluginModRef {
                $crate::export::root_module::<$plugin>()
            }
            extern "C" fn load() -> $crate::__private::RootModuleResult {
                $crate::__private::call_root_module_loader(root_module)
            }
            $crate::__private::header(load)
        };
    };
}

/// What [`export_plugin!`](crate::export_plugin) expands to, so that plugin crates depend on
/// plugin-api alone.
#[doc(hidden)]
pub mod __private {
    pub use abi_stable::library::{LibHeader, RootModuleResult};

    use crate::ffi::PluginModRef;

    /// The library header for a root-module constructor.
    pub const fn header(constructor: extern "C" fn() -> RootModuleResult) -> LibHeader {
        // SAFETY: `constructor` is only ever the `load` function written by `export_plugin!`,
        // which returns the root module of type `PluginModRef`, the type named here; the
        // layout check stays on.
        #[allow(unsafe_code)]
        unsafe {
            LibHeader::from_constructor::<PluginModRef>(
                constructor,
                abi_stable::library::CheckTypeLayout::Yes,
            )
        }
    }

    /// Runs the root-module constructor, catching panics (abi_stable's own loader wrapper).
    pub fn call_root_module_loader(f: fn() -> PluginModRef) -> RootModuleResult {
        abi_stable::library::__call_root_module_loader(f)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_exported_symbol_is_the_one_abi_stable_looks_up() {
        // export_plugin! hard-codes this name; a different abi_stable would change it.
        assert_eq!(
            abi_stable::library::ROOT_MODULE_LOADER_NAME,
            "_1as_0lib_1header_0root_bmodule_bloader"
        );
    }
}
