//! [`FsPlugin`] and [`FsDriver`]: the `Plugin` and `Driver` implementations of `access.fs`.
//!
//! Each operation checks its paths, then delegates to the module that owns the concern;
//! the small operations (mkdir, delete, rename, verify) live here.

use std::io;
use std::sync::Arc;

use cap_std::fs::Dir;
use plugin_api::{
    ByteRange, ByteSource, CallContext, Capabilities, Driver, Entry, Host, ListPage, PageRequest,
    Plugin, ReadResult, Result, WorkspaceConfig, WriteOptions, WsPath,
};

use crate::config::FsConfig;
use crate::core::{occupied, open_parent};
use crate::entry::describe;
use crate::error::{self, Op};
use crate::path::RelPath;
use crate::staging::create_temp;
use crate::{copier, lister, mount, reader, sweeper, writer};

/// The `access.fs` plugin: opens an [`FsDriver`] per workspace. It has no actions.
#[derive(Debug)]
pub struct FsPlugin;

impl Plugin for FsPlugin {
    type Driver = FsDriver;
    const ID: &'static str = "access.fs";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn new(_host: Host) -> Result<Self> {
        Ok(FsPlugin)
    }

    fn open(&self, config: WorkspaceConfig) -> Result<FsDriver> {
        let config = FsConfig::from_workspace(&config)?;
        let root = Arc::new(config.open_root()?);
        sweeper::watch(&root);
        let local = mount::is_local(&root);
        Ok(FsDriver {
            config,
            root,
            local,
        })
    }
}

/// One workspace's folder, every operation confined to it by a cap-std [`Dir`] handle.
///
/// Behaviour a client can observe:
/// - A symlink whose target lies inside `ROOT` behaves as its target. One that leads outside
///   `ROOT` or nowhere is shown by `stat` and `list` as a zero-byte file (it occupies its name
///   and can be deleted), and anything that would follow it fails: `PermissionDenied` for an
///   escape, `NotFound` for a dangling link.
/// - `write` and `rename` replace a symlink rather than write through it; `delete` removes the
///   link itself.
/// - A range must start inside the file (`InvalidRange` otherwise); a range on a zero-byte
///   file starting at 0 is served as the whole, empty file (`range: None`).
/// - An upload whose body fails, or ends short of the announced size, leaves the previous
///   file untouched and no temporary file behind.
/// - Names that are not UTF-8 are left out of listings; `.wshost-upload-*.part` names are
///   reserved for uploads in progress, hidden from listings and refused in paths; one left
///   by a killed host is removed a day after its last write, by the listing of its folder
///   or by the sweep of the whole tree (soon after the workspace opens, then hourly).
pub struct FsDriver {
    config: FsConfig,
    /// Shared with the sweep of left-over upload temporaries (`sweeper`), which holds it
    /// only while it walks the folder.
    root: Arc<Dir>,
    /// The folder is on a local filesystem: `stat` and `read` declare themselves quick.
    local: bool,
}

impl std::fmt::Debug for FsDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsDriver")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Driver for FsDriver {
    fn capabilities(&self) -> Capabilities {
        // A stat or an open is a few system calls on a local disk, where a network mount can
        // wait on its server (see `Capabilities::QUICK`).
        if self.local {
            Capabilities::ALL | Capabilities::QUICK
        } else {
            Capabilities::ALL
        }
    }

    fn stat(&self, _: &CallContext, path: &WsPath) -> Result<Entry> {
        let path = RelPath::parse(path)?;
        describe(&self.root, path).map_err(|e| error::io(Op::Stat, path.as_str(), &e))
    }

    fn list(&self, _: &CallContext, path: &WsPath, page: PageRequest) -> Result<ListPage> {
        lister::list(&self.root, RelPath::parse(path)?, page)
    }

    fn read(&self, _: &CallContext, path: &WsPath, range: Option<ByteRange>) -> Result<ReadResult> {
        reader::read(&self.root, RelPath::parse(path)?, range)
    }

    fn write(
        &self,
        _: &CallContext,
        path: &WsPath,
        body: ByteSource,
        options: WriteOptions,
    ) -> Result<Entry> {
        let path = RelPath::parse(path)?;
        writer::write(&self.root, path, body, options)?;
        self.entry(Op::Write, path)
    }

    fn mkdir(&self, _: &CallContext, path: &WsPath) -> Result<Entry> {
        let path = RelPath::parse(path)?;
        if path.is_root() {
            return Err(error::exists(Op::Mkdir, ""));
        }
        let parent = open_parent(&self.root, path, Op::Mkdir)?;
        parent
            .create_dir(path.name())
            .map_err(|e| error::io(Op::Mkdir, path.as_str(), &e))?;
        self.entry(Op::Mkdir, path)
    }

    fn delete(&self, _: &CallContext, path: &WsPath) -> Result<()> {
        let path = RelPath::parse(path)?;
        if path.is_root() {
            return Err(error::root(Op::Delete));
        }
        let fail = |e: io::Error| error::io(Op::Delete, path.as_str(), &e);
        // The entry itself, not a link's target: deleting a link removes the link only.
        let own = self.root.symlink_metadata(path.fs()).map_err(fail)?;
        if own.is_dir() {
            self.root.remove_dir_all(path.fs()).map_err(fail)
        } else {
            self.root.remove_file(path.fs()).map_err(fail)
        }
    }

    fn rename(&self, ctx: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        let (from, to) = (RelPath::parse(from)?, RelPath::parse(to)?);
        if from.is_root() || to.is_root() {
            return Err(error::root(Op::Rename));
        }
        if to.is_below(from) {
            return Err(error::into_itself(Op::Rename, from.as_str(), to.as_str()));
        }
        let from_parent = open_parent(&self.root, from, Op::Rename)?;
        if !occupied(&self.root, from, Op::Rename)? {
            let missing = io::Error::from(io::ErrorKind::NotFound);
            return Err(error::io(Op::Rename, from.as_str(), &missing));
        }
        let to_parent = open_parent(&self.root, to, Op::Rename)?;
        // Checked first because rename(2) silently replaces a file. A file created at `to`
        // between this check and the rename is replaced; cap-std offers no RENAME_NOREPLACE.
        if occupied(&self.root, to, Op::Rename)? {
            return Err(error::exists(Op::Rename, to.as_str()));
        }
        match from_parent.rename(from.name(), &to_parent, to.name()) {
            Ok(()) => {}
            // ROOT spans several filesystems: move the slow way.
            Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
                copier::copy(&self.root, from, to)?;
                self.delete(ctx, from.as_str())?;
            }
            Err(e) => return Err(error::io(Op::Rename, from.as_str(), &e)),
        }
        self.entry(Op::Rename, to)
    }

    fn copy(&self, _: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        let (from, to) = (RelPath::parse(from)?, RelPath::parse(to)?);
        copier::copy(&self.root, from, to)?;
        self.entry(Op::Copy, to)
    }

    fn verify(&self, _: &CallContext) -> Result<String> {
        let fail = |e: io::Error| error::io(Op::Verify, "", &e);
        self.root.entries().map_err(fail)?;
        match create_temp(&self.root) {
            Ok((probe, file)) => {
                drop(file);
                self.root.remove_file(&probe).map_err(fail)?;
                Ok("folder is readable and writable".to_owned())
            }
            Err(e) if is_read_only(&e) => {
                Ok("folder is readable but read-only: uploads and changes will fail".to_owned())
            }
            Err(e) => Err(fail(e)),
        }
    }
}

impl FsDriver {
    /// The entry of what an operation just created.
    fn entry(&self, op: Op, path: RelPath<'_>) -> Result<Entry> {
        describe(&self.root, path).map_err(|e| error::io(op, path.as_str(), &e))
    }
}

fn is_read_only(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
    )
}
