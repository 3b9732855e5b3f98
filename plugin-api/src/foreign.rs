//! The host side of the boundary: loads a plugin library, checks it, and wraps its objects so
//! that the host sees plain Rust — a [`ForeignPlugin`] and [`ForeignDriver`]s that implement
//! the same [`Driver`] trait authors implement. The host never names an abi_stable type.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use abi_stable::library::{lib_header_from_path, LibraryError};
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RBox, ROption, RResult, RSlice, RStr, RString, RVec};

use crate::error::{PluginError, Result};
use crate::ffi::*;
use crate::guard::{guard, guard_infallible};
use crate::host::{HostServices, LogLevel};
use crate::plugin::Driver;
use crate::stream::{export, export_request, import, import_response};
use crate::types::{
    ActionRequest, ActionResponse, ByteRange, ByteSource, CallContext, Capabilities, Entry,
    ListPage, PageRequest, ReadResult, WorkspaceConfig, WriteOptions, WsPath,
};

/// Why a library could not be loaded as a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The dynamic loader could not open the file.
    NotALibrary(String),
    /// The library loads but exports no wshost root module.
    NotAPlugin,
    /// The library was built against a plugin-api version this host cannot use.
    IncompatibleVersion {
        /// The plugin-api version the host was built with.
        host: String,
        /// The plugin-api version the library was built with.
        plugin: String,
    },
    /// The library's ABI layout differs from the host's (a different plugin-api, or a
    /// different abi_stable).
    IncompatibleLayout(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::NotALibrary(e) => write!(f, "not a loadable library: {e}"),
            LoadError::NotAPlugin => f.write_str(
                "not a wshost plugin: the library exports no wshost root module \
                 (build it with plugin_api::export_plugin!)",
            ),
            LoadError::IncompatibleVersion { host, plugin } => write!(
                f,
                "built against plugin-api {plugin}, but this host (plugin-api {host}) needs \
                 plugin-api {}; rebuild the plugin against it",
                compatible_range(host)
            ),
            LoadError::IncompatibleLayout(detail) => write!(
                f,
                "incompatible ABI layout (built against a different plugin-api than this \
                 host's {}): {detail}",
                crate::export::API_VERSION
            ),
        }
    }
}

/// The plugin-api versions a host built with `host` accepts (abi_stable's
/// `VersionNumber::is_compatible`): for 1.x and later the same major and a minor at least the
/// host's; for 0.x the same minor and a patch at least the host's.
fn compatible_range(host: &str) -> String {
    let n: Vec<u64> = host.split('.').filter_map(|p| p.parse().ok()).collect();
    match n[..] {
        [0, minor, patch, ..] => format!(">= 0.{minor}.{patch}, < 0.{}.0", minor + 1),
        [major, minor, ..] => format!(">= {major}.{minor}.0, < {}.0.0", major + 1),
        _ => host.to_owned(),
    }
}

impl std::error::Error for LoadError {}

fn load_error(e: LibraryError) -> LoadError {
    match e {
        LibraryError::OpenError { err, .. } => LoadError::NotALibrary(err.to_string()),
        LibraryError::GetSymbolError { .. } => LoadError::NotAPlugin,
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => LoadError::IncompatibleVersion {
            host: expected_version.to_string(),
            plugin: actual_version.to_string(),
        },
        other => {
            let text = other.to_string();
            LoadError::IncompatibleLayout(layout_summary(&text).unwrap_or_else(|| {
                let short: Vec<&str> = (text.lines())
                    .filter(|l| !l.trim().is_empty())
                    .take(6)
                    .collect();
                short.join(" | ")
            }))
        }
    }
}

/// The mismatches of an abi_stable layout report, as
/// `FfiEntry (via init/open/stat): too many fields (host 7, plugin 8)`.
///
/// The report runs to thousands of lines: for each error, the path of fields from the root
/// module to the type that differs, that type's expected and found layouts, then
/// `Error:WHAT`, `Expected:` and `Found:` lines. Only the names matter to an author.
fn layout_summary(report: &str) -> Option<String> {
    let lines: Vec<&str> = report.lines().map(str::trim).collect();
    let mut found: Vec<String> = Vec::new();
    let mut path: Vec<&str> = Vec::new();
    let mut ty = "";
    let mut in_layout = false;
    for (i, line) in lines.iter().enumerate() {
        if line.ends_with("error(s)inside:") {
            (path, in_layout) = (Vec::new(), false);
        } else if line.starts_with("Layout of expected type:") {
            in_layout = true;
            ty = lines[i + 1..]
                .iter()
                .find_map(|l| l.strip_prefix("type:"))
                .unwrap_or("");
        } else if let Some(name) = line.strip_prefix("field_name:").filter(|_| !in_layout) {
            // Positional and generated names say nothing to an author.
            let generated = ["__returns", "obj", "vtable"].contains(&name)
                || name.starts_with("field_")
                || name.parse::<u32>().is_ok();
            if !generated {
                path.push(name);
            }
        } else if let Some(what) = line.strip_prefix("Error:") {
            let value = |label: &str| match lines.get(i + 1..i + 5) {
                Some(next) => next
                    .iter()
                    .position(|l| *l == label)
                    .and_then(|at| next.get(at + 1))
                    .copied()
                    .unwrap_or("?"),
                None => "?",
            };
            let via = match path.is_empty() {
                true => String::new(),
                false => format!(" (via {})", path.join("/")),
            };
            let line = format!(
                "{ty}{via}: {what} (host {}, plugin {})",
                value("Expected:"),
                value("Found:")
            );
            if !found.contains(&line) {
                found.push(line);
            }
        }
    }
    // A size difference is usually the consequence of another difference inside the type;
    // keep sizes only when nothing more specific was found.
    let size = |f: &String| f.contains(": incompatible type size");
    if found.iter().any(|f| !size(f)) {
        found.retain(|f| !size(f));
    }
    match found.len() {
        0 => None,
        n if n > 4 => Some(format!("{}; and {} more", found[..4].join("; "), n - 4)),
        _ => Some(found.join("; ")),
    }
}

/// What a plugin library says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// The plugin id (`access.fs`).
    pub id: String,
    /// The plugin's own version.
    pub version: String,
    /// The plugin-api version it was built against.
    pub api_version: String,
    /// The plugin-specific actions it serves.
    pub actions: Vec<String>,
}

/// A plugin library, loaded and checked but not yet initialized.
pub struct LoadedLibrary {
    module: PluginModRef,
    /// What the library says about itself.
    pub info: PluginInfo,
}

impl LoadedLibrary {
    /// Loads the library at `path` and checks its ABI version and layout against this host.
    ///
    /// The library is never unloaded (abi_stable leaks it on purpose): disabling a plugin
    /// means no longer calling it.
    pub fn load(path: &Path) -> std::result::Result<Self, LoadError> {
        // Not RootModule::load_from_directory: it caches one module per type and would hand
        // back the first plugin for every path.
        let header = lib_header_from_path(path).map_err(load_error)?;
        let module = header
            .init_root_module::<PluginModRef>()
            .map_err(load_error)?;
        Ok(Self::from_module(module))
    }

    /// Wraps a root module built in this process (used by `testing`).
    pub fn from_module(module: PluginModRef) -> Self {
        let raw = (module.describe())();
        let info = PluginInfo {
            id: raw.id.into_string(),
            version: raw.version.into_string(),
            api_version: raw.api_version.into_string(),
            actions: raw.actions.into_iter().map(RString::into_string).collect(),
        };
        LoadedLibrary { module, info }
    }

    /// Initializes the plugin, handing it its host services.
    pub fn init(&self, host: Arc<dyn HostServices>) -> Result<ForeignPlugin> {
        let host: FfiHostBox = FfiHost_TO::from_ptr(RBox::new(ExportedHost(host)), TD_Opaque);
        let plugin = (self.module.init())(host).into_result()?;
        Ok(ForeignPlugin {
            inner: plugin,
            info: self.info.clone(),
        })
    }
}

/// The plugin-api version of this build of the host.
pub fn host_api_version() -> &'static str {
    crate::export::API_VERSION
}

/// An initialized plugin, seen from the host.
pub struct ForeignPlugin {
    inner: FfiPluginBox,
    /// What the library said about itself.
    pub info: PluginInfo,
}

impl ForeignPlugin {
    /// Opens the driver of one workspace.
    pub fn open(&self, config: &WorkspaceConfig) -> Result<ForeignDriver> {
        Ok(ForeignDriver(self.inner.open(config.into()).into_result()?))
    }

    /// Calls a plugin action that needs no workspace.
    pub fn action(&self, ctx: &CallContext, req: ActionRequest) -> Result<ActionResponse> {
        let resp = self
            .inner
            .action(&ctx.into(), export_request(req))
            .into_result()?;
        Ok(import_response(resp))
    }
}

/// A workspace's driver living in a plugin library.
pub struct ForeignDriver(FfiDriverBox);

impl std::fmt::Debug for ForeignDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForeignDriver")
    }
}

impl std::fmt::Debug for ForeignPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignPlugin")
            .field("info", &self.info)
            .finish()
    }
}

fn call<T, U>(r: RResult<T, FfiError>, f: impl FnOnce(T) -> U) -> Result<U> {
    r.into_result().map(f).map_err(PluginError::from)
}

impl Driver for ForeignDriver {
    fn capabilities(&self) -> Capabilities {
        Capabilities::from_bits(self.0.capabilities())
    }

    fn stat(&self, ctx: &CallContext, path: &WsPath) -> Result<Entry> {
        call(self.0.stat(&ctx.into(), path.into()), Entry::from)
    }

    fn list(&self, ctx: &CallContext, path: &WsPath, page: PageRequest) -> Result<ListPage> {
        let cursor = page.cursor.map(RString::from).into();
        call(
            self.0.list(&ctx.into(), path.into(), cursor, page.limit),
            ListPage::from,
        )
    }

    fn read(
        &self,
        ctx: &CallContext,
        path: &WsPath,
        range: Option<ByteRange>,
    ) -> Result<ReadResult> {
        let range = range.map(FfiByteRange::from).into();
        call(self.0.read(&ctx.into(), path.into(), range), |r| {
            ReadResult {
                entry: r.entry.into(),
                range: r.range.into_option().map(Into::into),
                content: import(r.content),
            }
        })
    }

    fn write(
        &self,
        ctx: &CallContext,
        path: &WsPath,
        body: ByteSource,
        options: WriteOptions,
    ) -> Result<Entry> {
        call(
            self.0.write(
                &ctx.into(),
                path.into(),
                export(body),
                options.overwrite,
                options.size_hint.into(),
            ),
            Entry::from,
        )
    }

    fn mkdir(&self, ctx: &CallContext, path: &WsPath) -> Result<Entry> {
        call(self.0.mkdir(&ctx.into(), path.into()), Entry::from)
    }

    fn delete(&self, ctx: &CallContext, path: &WsPath) -> Result<()> {
        call(self.0.delete(&ctx.into(), path.into()), |v| v)
    }

    fn rename(&self, ctx: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        call(
            self.0.rename(&ctx.into(), from.into(), to.into()),
            Entry::from,
        )
    }

    fn copy(&self, ctx: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        call(
            self.0.copy(&ctx.into(), from.into(), to.into()),
            Entry::from,
        )
    }

    fn verify(&self, ctx: &CallContext) -> Result<String> {
        call(self.0.verify(&ctx.into()), RString::into_string)
    }

    fn action(&self, ctx: &CallContext, req: ActionRequest) -> Result<ActionResponse> {
        call(
            self.0.action(&ctx.into(), export_request(req)),
            import_response,
        )
    }
}

/// The host's services, exported to a plugin; host panics are caught here too.
struct ExportedHost(Arc<dyn HostServices>);

impl FfiHost for ExportedHost {
    fn kv_get(&self, scope: &FfiKvScope, key: RStr<'_>) -> RResult<ROption<RVec<u8>>, FfiError> {
        guard(
            "host kv_get",
            || self.0.kv_get(&scope.into(), key.as_str()),
            |v| v.map(RVec::from).into(),
        )
    }

    fn kv_put(
        &self,
        scope: &FfiKvScope,
        key: RStr<'_>,
        value: RSlice<'_, u8>,
        ttl_ms: ROption<u64>,
    ) -> RResult<(), FfiError> {
        let ttl = ttl_ms.into_option().map(Duration::from_millis);
        guard(
            "host kv_put",
            || {
                self.0
                    .kv_put(&scope.into(), key.as_str(), value.as_slice(), ttl)
            },
            |v| v,
        )
    }

    fn kv_take(&self, scope: &FfiKvScope, key: RStr<'_>) -> RResult<ROption<RVec<u8>>, FfiError> {
        guard(
            "host kv_take",
            || self.0.kv_take(&scope.into(), key.as_str()),
            |v| v.map(RVec::from).into(),
        )
    }

    fn kv_delete(&self, scope: &FfiKvScope, key: RStr<'_>) -> RResult<(), FfiError> {
        guard(
            "host kv_delete",
            || self.0.kv_delete(&scope.into(), key.as_str()),
            |v| v,
        )
    }

    fn log(&self, level: u8, message: RStr<'_>) {
        guard_infallible("host log", (), || {
            self.0.log(LogLevel::from_u8(level), message.as_str())
        })
    }

    fn public_url(&self) -> RString {
        guard_infallible("host public_url", RString::new(), || {
            self.0.public_url().into()
        })
    }

    fn workspace_config(&self, workspace: RStr<'_>) -> RResult<FfiWorkspaceConfig, FfiError> {
        guard(
            "host workspace_config",
            || self.0.workspace_config(workspace.as_str()),
            |c| FfiWorkspaceConfig::from(&c),
        )
    }

    fn extension(&self, name: RStr<'_>, payload: RSlice<'_, u8>) -> RResult<RVec<u8>, FfiError> {
        guard(
            "host extension",
            || self.0.extension(name.as_str(), payload.as_slice()),
            RVec::from,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_messages_tell_the_author_what_to_build_against() {
        let msg = LoadError::IncompatibleVersion {
            host: "1.0.3".into(),
            plugin: "2.0.0".into(),
        }
        .to_string();
        assert!(msg.contains("plugin-api 2.0.0"), "{msg}");
        assert!(msg.contains("needs plugin-api >= 1.0.0, < 2.0.0"), "{msg}");
        assert_eq!(compatible_range("1.2.7"), ">= 1.2.0, < 2.0.0");
        assert_eq!(compatible_range("0.4.1"), ">= 0.4.1, < 0.5.0");
    }

    /// The shape of abi_stable 0.11's report for a struct that gained a field.
    const LAYOUT_REPORT: &str = "
Compared <this>:
    --- Type Layout ---
    type:PrefixRef<'a, PluginMod>
2 error(s)inside:
    <other>

    field_name:0
    type:PluginMod
    field_name:init
    type:AFunctionPointer
    field_name:__returns
    type:RResult
    field_name:field_0
    type:FfiPlugin_TO<'lt>
    field_name:vtable
    field_name:stat
    field_name:field_0
    type:FfiEntry

Layout of expected type:
    --- Type Layout ---
    type:FfiEntry
        Struct with Fields:
            field_name:path
            type:RString
Layout of found type:
    --- Type Layout ---
    type:FfiEntry
            field_name:added
            type:u64

Error:incompatible type size
Expected:
    176
Found:
    184

Error:too many fields
Expected:
    7
Found:
    8
";

    #[test]
    fn layout_refusals_name_the_type_that_differs() {
        assert_eq!(
            layout_summary(LAYOUT_REPORT).unwrap(),
            "FfiEntry (via init/stat): too many fields (host 7, plugin 8)"
        );
        assert_eq!(layout_summary("something else entirely"), None);
    }
}
