//! What a plugin author implements: [`Plugin`] (one per library) and [`Driver`] (one per
//! workspace). Ordinary Rust traits: plugin-api turns them into the stable ABI, catching every
//! panic on the way, so an author never writes FFI code.

use crate::error::{PluginError, Result};
use crate::host::Host;
use crate::types::{
    ActionRequest, ActionResponse, ByteRange, ByteSource, CallContext, Capabilities, Entry,
    ListPage, PageRequest, ReadResult, WorkspaceConfig, WriteOptions, WsPath,
};

/// A plugin library: its identity, its actions, and the factory of its drivers.
pub trait Plugin: Send + Sync + Sized + 'static {
    /// The driver this plugin opens for each workspace.
    type Driver: Driver;

    /// The plugin id, Pydio-style `type.name` (`access.fs`); must equal the manifest's `id`.
    const ID: &'static str;

    /// The plugin's version; write `env!("CARGO_PKG_VERSION")`.
    const VERSION: &'static str;

    /// The names of the plugin-specific actions it serves; must equal the manifest's `[[actions]]`.
    const ACTIONS: &'static [&'static str] = &[];

    /// Called once when the host loads the library.
    fn new(host: Host) -> Result<Self>;

    /// Opens the driver of one workspace from its validated configuration.
    fn open(&self, config: WorkspaceConfig) -> Result<Self::Driver>;

    /// Serves an action that needs no workspace (manifest rights `public`, `user` or `admin`).
    fn action(&self, ctx: &CallContext, req: ActionRequest) -> Result<ActionResponse> {
        let _ = ctx;
        Err(PluginError::unsupported(&format!("action {}", req.name)))
    }
}

/// The storage of one workspace. Paths are normalized by the host (see [`WsPath`]).
///
/// Every operation but [`Driver::capabilities`] has a default that answers `Unsupported`, so a
/// read-only driver implements only what it offers, and says so in its capabilities.
pub trait Driver: Send + Sync + 'static {
    /// The operations this driver implements.
    fn capabilities(&self) -> Capabilities;

    /// Describes one file or folder.
    fn stat(&self, ctx: &CallContext, path: &WsPath) -> Result<Entry> {
        let _ = (ctx, path);
        Err(PluginError::unsupported("stat"))
    }

    /// One page of a folder's entries, in a stable order.
    fn list(&self, ctx: &CallContext, path: &WsPath, page: PageRequest) -> Result<ListPage> {
        let _ = (ctx, path, page);
        Err(PluginError::unsupported("list"))
    }

    /// Opens a file for reading, whole or a range (`InvalidRange` when it starts past the end).
    fn read(
        &self,
        ctx: &CallContext,
        path: &WsPath,
        range: Option<ByteRange>,
    ) -> Result<ReadResult> {
        let _ = (ctx, path, range);
        Err(PluginError::unsupported("read"))
    }

    /// Writes a file from a stream. The previous version must stay intact until the new one
    /// is complete: an interrupted write leaves nothing under `path`.
    fn write(
        &self,
        ctx: &CallContext,
        path: &WsPath,
        body: ByteSource,
        options: WriteOptions,
    ) -> Result<Entry> {
        let _ = (ctx, path, body, options);
        Err(PluginError::unsupported("write"))
    }

    /// Creates a folder (`AlreadyExists` if it exists, `NotFound` if its parent does not).
    fn mkdir(&self, ctx: &CallContext, path: &WsPath) -> Result<Entry> {
        let _ = (ctx, path);
        Err(PluginError::unsupported("mkdir"))
    }

    /// Deletes a file, or a folder with everything in it.
    fn delete(&self, ctx: &CallContext, path: &WsPath) -> Result<()> {
        let _ = (ctx, path);
        Err(PluginError::unsupported("delete"))
    }

    /// Renames or moves `from` to the full path `to` (`AlreadyExists` if `to` exists).
    fn rename(&self, ctx: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        let _ = (ctx, from, to);
        Err(PluginError::unsupported("rename"))
    }

    /// Copies a file or folder to the full path `to` (`AlreadyExists` if `to` exists).
    fn copy(&self, ctx: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        let _ = (ctx, from, to);
        Err(PluginError::unsupported("copy"))
    }

    /// Checks that the workspace is usable (credentials, reachability); answers a sentence
    /// for the admin, such as the account it reached.
    fn verify(&self, ctx: &CallContext) -> Result<String> {
        let _ = ctx;
        Err(PluginError::unsupported("verify"))
    }

    /// Serves a plugin action on this workspace (manifest rights `read` or `write`).
    fn action(&self, ctx: &CallContext, req: ActionRequest) -> Result<ActionResponse> {
        let _ = ctx;
        Err(PluginError::unsupported(&format!("action {}", req.name)))
    }
}

impl<D: Driver + ?Sized> Driver for Box<D> {
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
    fn stat(&self, ctx: &CallContext, path: &WsPath) -> Result<Entry> {
        (**self).stat(ctx, path)
    }
    fn list(&self, ctx: &CallContext, path: &WsPath, page: PageRequest) -> Result<ListPage> {
        (**self).list(ctx, path, page)
    }
    fn read(
        &self,
        ctx: &CallContext,
        path: &WsPath,
        range: Option<ByteRange>,
    ) -> Result<ReadResult> {
        (**self).read(ctx, path, range)
    }
    fn write(
        &self,
        ctx: &CallContext,
        path: &WsPath,
        body: ByteSource,
        options: WriteOptions,
    ) -> Result<Entry> {
        (**self).write(ctx, path, body, options)
    }
    fn mkdir(&self, ctx: &CallContext, path: &WsPath) -> Result<Entry> {
        (**self).mkdir(ctx, path)
    }
    fn delete(&self, ctx: &CallContext, path: &WsPath) -> Result<()> {
        (**self).delete(ctx, path)
    }
    fn rename(&self, ctx: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        (**self).rename(ctx, from, to)
    }
    fn copy(&self, ctx: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        (**self).copy(ctx, from, to)
    }
    fn verify(&self, ctx: &CallContext) -> Result<String> {
        (**self).verify(ctx)
    }
    fn action(&self, ctx: &CallContext, req: ActionRequest) -> Result<ActionResponse> {
        (**self).action(ctx, req)
    }
}
