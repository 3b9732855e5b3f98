//! The wire: FFI-safe twins of the plain types, the trait objects that cross the boundary,
//! and the root module every plugin library exports. **This is the ABI.** Once v1 is
//! published, nothing here may change layout (see `docs/plugin-abi.md`): growth goes through
//! the `extra` maps, new error-kind codes, new capability bits and the `extension` methods.
//!
//! Only FFI-safe types appear here: `RString`, `RStr`, `RVec`, `RSlice`, `ROption`, `RResult`,
//! `RBox` and `#[sabi_trait]` objects. No std, tokio or reqwest type ever crosses.

// The derives and #[sabi_trait] expand to unsafe code; this module is the reason plugin-api is
// the only crate allowed to contain any.
#![allow(unsafe_code, missing_docs, non_camel_case_types, non_local_definitions)]

use std::time::Duration;

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{
    RBox, ROption, RResult, RSlice, RSliceMut, RStr, RString, RVec, Tuple2,
};
use abi_stable::{declare_root_module_statics, package_version_strings, sabi_trait, StableAbi};

use crate::error::{ErrorKind, PluginError};
use crate::types::{
    from_millis, to_millis, ByteRange, CallContext, Entry, ListPage, WorkspaceConfig,
};

/// Name/value pairs, the FFI form of maps and header lists.
pub type FfiPairs = RVec<Tuple2<RString, RString>>;

/// The FFI form of [`PluginError`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiError {
    /// [`ErrorKind::code`].
    pub kind: u32,
    pub message: RString,
    pub authorize_url: ROption<RString>,
    pub retry_after_ms: ROption<u64>,
    pub extra: FfiPairs,
}

/// The FFI form of [`Entry`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiEntry {
    pub path: RString,
    pub is_dir: bool,
    pub size: u64,
    pub modified_ms: ROption<i64>,
    pub mime: ROption<RString>,
    pub etag: ROption<RString>,
    pub extra: FfiPairs,
}

/// The FFI form of [`ListPage`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiListPage {
    pub entries: RVec<FfiEntry>,
    pub next_cursor: ROption<RString>,
    pub extra: FfiPairs,
}

/// The FFI form of [`ByteRange`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct FfiByteRange {
    pub start: u64,
    pub len: ROption<u64>,
}

/// The FFI form of [`CallContext`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiCallContext {
    pub user: ROption<RString>,
    pub workspace: ROption<RString>,
    pub request_id: RString,
    pub extra: FfiPairs,
}

/// The FFI form of [`WorkspaceConfig`].
#[repr(C)]
#[derive(StableAbi, Clone)]
pub struct FfiWorkspaceConfig {
    pub id: RString,
    pub params: FfiPairs,
    pub extra: FfiPairs,
}

/// The FFI form of [`crate::host::KvScope`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiKvScope {
    pub workspace: ROption<RString>,
    pub user: ROption<RString>,
}

/// A chunked byte stream, pulled by its consumer: the consumer lends a buffer, the producer
/// fills part of it. Returning 0 means end of stream. Nothing is allocated per chunk and the
/// consumer's pace is the backpressure.
#[sabi_trait]
pub trait FfiStream: Send {
    fn read(&mut self, buf: RSliceMut<'_, u8>) -> RResult<usize, FfiError>;

    /// Reserved for negotiated additions (for example handing over a file descriptor).
    #[sabi(last_prefix_field)]
    fn extension(&mut self, name: RStr<'_>, payload: RSlice<'_, u8>)
        -> RResult<RVec<u8>, FfiError>;
}

/// An owned stream object.
pub type FfiStreamBox = FfiStream_TO<'static, RBox<()>>;

/// The FFI form of [`crate::types::ReadResult`].
#[repr(C)]
#[derive(StableAbi)]
pub struct FfiReadResult {
    pub entry: FfiEntry,
    pub range: ROption<FfiByteRange>,
    pub content: FfiStreamBox,
}

/// The FFI form of [`crate::types::ActionRequest`].
#[repr(C)]
#[derive(StableAbi)]
pub struct FfiActionRequest {
    pub name: RString,
    pub method: RString,
    pub query: FfiPairs,
    pub headers: FfiPairs,
    pub body: FfiStreamBox,
    pub extra: FfiPairs,
}

/// The FFI form of [`crate::types::ActionResponse`].
#[repr(C)]
#[derive(StableAbi)]
pub struct FfiActionResponse {
    pub status: u16,
    pub headers: FfiPairs,
    pub body: ROption<FfiStreamBox>,
    pub extra: FfiPairs,
}

/// Host services as the plugin sees them (see [`crate::host::HostServices`]).
#[sabi_trait]
pub trait FfiHost: Send + Sync {
    fn kv_get(&self, scope: &FfiKvScope, key: RStr<'_>) -> RResult<ROption<RVec<u8>>, FfiError>;
    fn kv_put(
        &self,
        scope: &FfiKvScope,
        key: RStr<'_>,
        value: RSlice<'_, u8>,
        ttl_ms: ROption<u64>,
    ) -> RResult<(), FfiError>;
    fn kv_take(&self, scope: &FfiKvScope, key: RStr<'_>) -> RResult<ROption<RVec<u8>>, FfiError>;
    fn kv_delete(&self, scope: &FfiKvScope, key: RStr<'_>) -> RResult<(), FfiError>;
    fn log(&self, level: u8, message: RStr<'_>);
    fn public_url(&self) -> RString;
    fn workspace_config(&self, workspace: RStr<'_>) -> RResult<FfiWorkspaceConfig, FfiError>;

    #[sabi(last_prefix_field)]
    fn extension(&self, name: RStr<'_>, payload: RSlice<'_, u8>) -> RResult<RVec<u8>, FfiError>;
}

/// An owned host-services object.
pub type FfiHostBox = FfiHost_TO<'static, RBox<()>>;

/// One workspace's driver (see [`crate::plugin::Driver`]).
#[sabi_trait]
pub trait FfiDriver: Send + Sync {
    fn capabilities(&self) -> u64;
    fn stat(&self, ctx: &FfiCallContext, path: RStr<'_>) -> RResult<FfiEntry, FfiError>;
    fn list(
        &self,
        ctx: &FfiCallContext,
        path: RStr<'_>,
        cursor: ROption<RString>,
        limit: u32,
    ) -> RResult<FfiListPage, FfiError>;
    fn read(
        &self,
        ctx: &FfiCallContext,
        path: RStr<'_>,
        range: ROption<FfiByteRange>,
    ) -> RResult<FfiReadResult, FfiError>;
    fn write(
        &self,
        ctx: &FfiCallContext,
        path: RStr<'_>,
        body: FfiStreamBox,
        overwrite: bool,
        size_hint: ROption<u64>,
    ) -> RResult<FfiEntry, FfiError>;
    fn mkdir(&self, ctx: &FfiCallContext, path: RStr<'_>) -> RResult<FfiEntry, FfiError>;
    fn delete(&self, ctx: &FfiCallContext, path: RStr<'_>) -> RResult<(), FfiError>;
    fn rename(
        &self,
        ctx: &FfiCallContext,
        from: RStr<'_>,
        to: RStr<'_>,
    ) -> RResult<FfiEntry, FfiError>;
    fn copy(
        &self,
        ctx: &FfiCallContext,
        from: RStr<'_>,
        to: RStr<'_>,
    ) -> RResult<FfiEntry, FfiError>;
    fn verify(&self, ctx: &FfiCallContext) -> RResult<RString, FfiError>;
    fn action(
        &self,
        ctx: &FfiCallContext,
        req: FfiActionRequest,
    ) -> RResult<FfiActionResponse, FfiError>;

    #[sabi(last_prefix_field)]
    fn extension(
        &self,
        ctx: &FfiCallContext,
        name: RStr<'_>,
        payload: RSlice<'_, u8>,
    ) -> RResult<RVec<u8>, FfiError>;
}

/// An owned driver object.
pub type FfiDriverBox = FfiDriver_TO<'static, RBox<()>>;

/// An initialized plugin (see [`crate::plugin::Plugin`]).
#[sabi_trait]
pub trait FfiPlugin: Send + Sync {
    fn open(&self, config: FfiWorkspaceConfig) -> RResult<FfiDriverBox, FfiError>;
    fn action(
        &self,
        ctx: &FfiCallContext,
        req: FfiActionRequest,
    ) -> RResult<FfiActionResponse, FfiError>;

    #[sabi(last_prefix_field)]
    fn extension(&self, name: RStr<'_>, payload: RSlice<'_, u8>) -> RResult<RVec<u8>, FfiError>;
}

/// An owned plugin object.
pub type FfiPluginBox = FfiPlugin_TO<'static, RBox<()>>;

/// What a library says about itself before it is initialized.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiPluginInfo {
    pub id: RString,
    pub version: RString,
    /// The plugin-api version the library was built against.
    pub api_version: RString,
    pub actions: RVec<RString>,
    pub extra: FfiPairs,
}

/// The root module every plugin library exports (a prefix type: its first fields are fixed).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
#[sabi(missing_field(panic))]
pub struct PluginMod {
    pub describe: extern "C" fn() -> FfiPluginInfo,
    pub init: extern "C" fn(host: FfiHostBox) -> RResult<FfiPluginBox, FfiError>,
    #[sabi(last_prefix_field)]
    pub extension:
        extern "C" fn(name: RStr<'_>, payload: RSlice<'_, u8>) -> RResult<RVec<u8>, FfiError>,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "wshost_plugin";
    const NAME: &'static str = "wshost plugin";
    // plugin-api's own version as compiled into each side; abi_stable compares them at load.
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

// ---- conversions between the plain types and their FFI twins ----

pub(crate) fn pairs<'a>(it: impl IntoIterator<Item = (&'a String, &'a String)>) -> FfiPairs {
    it.into_iter()
        .map(|(k, v)| Tuple2(RString::from(k.as_str()), RString::from(v.as_str())))
        .collect()
}

pub(crate) fn unpairs(p: FfiPairs) -> impl Iterator<Item = (String, String)> {
    p.into_iter()
        .map(|Tuple2(k, v)| (k.into_string(), v.into_string()))
}

pub(crate) fn ropt(s: Option<&str>) -> ROption<RString> {
    s.map(RString::from).into()
}

pub(crate) fn opt(s: ROption<RString>) -> Option<String> {
    s.into_option().map(RString::into_string)
}

impl From<PluginError> for FfiError {
    fn from(e: PluginError) -> Self {
        FfiError {
            kind: e.kind.code(),
            message: e.message.into(),
            authorize_url: ropt(e.authorize_url.as_deref()),
            retry_after_ms: e.retry_after.map(|d| d.as_millis() as u64).into(),
            extra: RVec::new(),
        }
    }
}

impl From<FfiError> for PluginError {
    fn from(e: FfiError) -> Self {
        PluginError {
            kind: ErrorKind::from_code(e.kind),
            message: e.message.into_string(),
            authorize_url: opt(e.authorize_url),
            retry_after: e.retry_after_ms.into_option().map(Duration::from_millis),
        }
    }
}

impl From<Entry> for FfiEntry {
    fn from(e: Entry) -> Self {
        FfiEntry {
            path: e.path.into(),
            is_dir: e.is_dir,
            size: e.size,
            modified_ms: e.modified.map(to_millis).into(),
            mime: ropt(e.mime.as_deref()),
            etag: ropt(e.etag.as_deref()),
            extra: RVec::new(),
        }
    }
}

impl From<FfiEntry> for Entry {
    fn from(e: FfiEntry) -> Self {
        Entry {
            path: e.path.into_string(),
            is_dir: e.is_dir,
            size: e.size,
            modified: e.modified_ms.into_option().map(from_millis),
            mime: opt(e.mime),
            etag: opt(e.etag),
        }
    }
}

impl From<ListPage> for FfiListPage {
    fn from(p: ListPage) -> Self {
        FfiListPage {
            entries: p.entries.into_iter().map(FfiEntry::from).collect(),
            next_cursor: ropt(p.next_cursor.as_deref()),
            extra: RVec::new(),
        }
    }
}

impl From<FfiListPage> for ListPage {
    fn from(p: FfiListPage) -> Self {
        ListPage {
            entries: p.entries.into_iter().map(Entry::from).collect(),
            next_cursor: opt(p.next_cursor),
        }
    }
}

impl From<ByteRange> for FfiByteRange {
    fn from(r: ByteRange) -> Self {
        FfiByteRange {
            start: r.start,
            len: r.len.into(),
        }
    }
}

impl From<FfiByteRange> for ByteRange {
    fn from(r: FfiByteRange) -> Self {
        ByteRange {
            start: r.start,
            len: r.len.into_option(),
        }
    }
}

impl From<&CallContext> for FfiCallContext {
    fn from(c: &CallContext) -> Self {
        FfiCallContext {
            user: ropt(c.user.as_deref()),
            workspace: ropt(c.workspace.as_deref()),
            request_id: c.request_id.as_str().into(),
            extra: pairs(&c.extra),
        }
    }
}

impl From<&FfiCallContext> for CallContext {
    fn from(c: &FfiCallContext) -> Self {
        CallContext {
            user: c.user.as_ref().map(|s| s.to_string()).into_option(),
            workspace: c.workspace.as_ref().map(|s| s.to_string()).into_option(),
            request_id: c.request_id.to_string(),
            extra: unpairs(c.extra.clone()).collect(),
        }
    }
}

impl From<&WorkspaceConfig> for FfiWorkspaceConfig {
    fn from(c: &WorkspaceConfig) -> Self {
        FfiWorkspaceConfig {
            id: c.id.as_str().into(),
            params: pairs(&c.params),
            extra: RVec::new(),
        }
    }
}

impl From<FfiWorkspaceConfig> for WorkspaceConfig {
    fn from(c: FfiWorkspaceConfig) -> Self {
        WorkspaceConfig {
            id: c.id.into_string(),
            params: unpairs(c.params).collect(),
        }
    }
}

impl From<&crate::host::KvScope> for FfiKvScope {
    fn from(s: &crate::host::KvScope) -> Self {
        FfiKvScope {
            workspace: ropt(s.workspace.as_deref()),
            user: ropt(s.user.as_deref()),
        }
    }
}

impl From<&FfiKvScope> for crate::host::KvScope {
    fn from(s: &FfiKvScope) -> Self {
        crate::host::KvScope {
            workspace: s.workspace.as_ref().map(|s| s.to_string()).into_option(),
            user: s.user.as_ref().map(|s| s.to_string()).into_option(),
        }
    }
}
