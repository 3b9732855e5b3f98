//! [`SftpPlugin`] and [`SftpDriver`]: the `Plugin` and `Driver` implementations of
//! `access.sftp`. Each call leases a connection from the workspace's [`Pool`] and runs there;
//! the small operations (stat, mkdir, rename, verify) live here, the others in their modules.

use std::path::Path;
use std::sync::Arc;

use plugin_api::{
    ByteRange, ByteSource, CallContext, Capabilities, Driver, Entry, Host, ListPage, PageRequest,
    Plugin, ReadResult, Result, WorkspaceConfig, WriteOptions, WsPath,
};

use crate::config::SftpConfig;
use crate::entry::from_found;
use crate::error::{self, Op};
use crate::pool::{Pool, Retry};
use crate::{copier, deleter, lister, reader, writer};

/// The `access.sftp` plugin: opens an [`SftpDriver`] per workspace. It has no actions.
pub struct SftpPlugin {
    host: Host,
}

impl Plugin for SftpPlugin {
    type Driver = SftpDriver;
    const ID: &'static str = "access.sftp";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn new(host: Host) -> Result<Self> {
        Ok(SftpPlugin { host })
    }

    /// Checks the parameters only: no connection is made until the first call, so a
    /// workspace whose server is down still opens, and its calls say why they fail.
    fn open(&self, config: WorkspaceConfig) -> Result<SftpDriver> {
        let cfg = SftpConfig::from_workspace(&config)?;
        self.host.log(
            plugin_api::LogLevel::Debug,
            &format!(
                "workspace '{}': {} by {}, up to {} connections",
                cfg.workspace,
                cfg.server(),
                cfg.auth.method(),
                cfg.connections
            ),
        );
        Ok(SftpDriver {
            pool: Pool::new(cfg),
        })
    }
}

/// One workspace: a folder (`ROOT`) on an SSH server, reached through a small pool of
/// connections.
///
/// Behaviour a client can observe:
/// - Every path stays inside `ROOT` as the server resolves it: a symlink that leads outside
///   is listed as a zero-byte file, can be deleted or replaced, and cannot be read, listed or
///   written through (`PermissionDenied`).
/// - Names starting with `.wshost-upload-` are the driver's temporary upload files: hidden
///   from listings and refused as paths.
/// - Modification times have a resolution of one second (SFTP version 3).
pub struct SftpDriver {
    pool: Arc<Pool>,
}

impl std::fmt::Debug for SftpDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SftpDriver")
            .field("cfg", &self.pool.cfg)
            .finish_non_exhaustive()
    }
}

impl Driver for SftpDriver {
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn stat(&self, _: &CallContext, path: &WsPath) -> Result<Entry> {
        self.pool.run(Retry::Safe, |conn| {
            let found = conn.follow(Op::Stat, path)?;
            from_found(path, &found).ok_or_else(|| error::missing(Op::Stat, path))
        })
    }

    fn list(&self, _: &CallContext, path: &WsPath, page: PageRequest) -> Result<ListPage> {
        self.pool
            .run(Retry::Safe, |conn| lister::list(conn, path, page.clone()))
    }

    fn read(&self, _: &CallContext, path: &WsPath, range: Option<ByteRange>) -> Result<ReadResult> {
        reader::read(&self.pool, path, range)
    }

    fn write(
        &self,
        _: &CallContext,
        path: &WsPath,
        body: ByteSource,
        options: WriteOptions,
    ) -> Result<Entry> {
        // The body can be read only once: never retried.
        let mut body = Some(body);
        self.pool.run(Retry::Never, |conn| {
            let body = body.take().expect("a write runs once");
            writer::write(conn, path, body, options)
        })
    }

    fn mkdir(&self, _: &CallContext, path: &WsPath) -> Result<Entry> {
        if path.is_empty() {
            return Err(error::exists(Op::Mkdir, path));
        }
        self.pool.run(Retry::Never, |conn| {
            let named = conn.name(Op::Mkdir, path)?;
            match conn.try_call(Op::Mkdir, path, |s| s.mkdir(Path::new(&named.full), 0o755))? {
                Ok(()) => Ok(Entry::dir(path)),
                Err(e) => Err(conn.diagnose(Op::Mkdir, path, &named, &e)),
            }
        })
    }

    fn delete(&self, _: &CallContext, path: &WsPath) -> Result<()> {
        self.pool
            .run(Retry::Never, |conn| deleter::delete(conn, path))
    }

    fn rename(&self, _: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        self.pool.run(Retry::Never, |conn| {
            let source = conn.name(Op::Rename, from)?;
            if conn.lstat(Op::Rename, from, &source.full)?.is_none() {
                return Err(error::missing(Op::Rename, from));
            }
            let target = conn.name(Op::Rename, to)?;
            if conn.lstat(Op::Rename, to, &target.full)?.is_some() {
                return Err(error::exists(Op::Rename, to));
            }
            // SFTP's RENAME never replaces an existing name: a target created meanwhile is
            // refused by the server, not overwritten.
            let moved = conn.try_call(Op::Rename, to, |s| {
                s.rename(Path::new(&source.full), Path::new(&target.full), None)
            })?;
            if let Err(e) = moved {
                return Err(conn.diagnose(Op::Rename, to, &target, &e));
            }
            let found = conn.follow(Op::Rename, to)?;
            from_found(to, &found).ok_or_else(|| error::missing(Op::Rename, to))
        })
    }

    fn copy(&self, _: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        self.pool
            .run(Retry::Never, |conn| copier::copy(conn, from, to))
    }

    fn verify(&self, _: &CallContext) -> Result<String> {
        let cfg = &self.pool.cfg;
        self.pool.run(Retry::Safe, |conn| {
            Ok(format!(
                "connected to {} ({} host key {} matches HOST_KEY), logged in by {}, showing {}",
                cfg.server(),
                conn.key_type,
                cfg.host_key,
                cfg.auth.method(),
                conn.root()
            ))
        })
    }
}
