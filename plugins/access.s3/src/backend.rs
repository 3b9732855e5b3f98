//! [`S3Plugin`] and [`S3Driver`]: the `Plugin` and `Driver` implementations of `access.s3`.
//! The small operations (stat, mkdir, rename, verify) live here, the others in their modules.

use plugin_api::{
    ByteRange, ByteSource, CallContext, Capabilities, Driver, Entry, Host, ListPage, PageRequest,
    Plugin, PluginError, ReadResult, Result, WorkspaceConfig, WriteOptions, WsPath,
};

use crate::config::S3Config;
use crate::core::Client;
use crate::error::{self, Op};
use crate::{copier, deleter, lister, reader, writer};

/// The `access.s3` plugin: opens an [`S3Driver`] per workspace. It has no actions.
pub struct S3Plugin {
    host: Host,
}

impl Plugin for S3Plugin {
    type Driver = S3Driver;
    const ID: &'static str = "access.s3";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn new(host: Host) -> Result<Self> {
        Ok(S3Plugin { host })
    }

    /// Checks the parameters only: no request is made until the first call, so a workspace
    /// whose server is down still opens, and its calls say why they fail.
    fn open(&self, config: WorkspaceConfig) -> Result<S3Driver> {
        let cfg = S3Config::from_workspace(&config)?;
        self.host.log(
            plugin_api::LogLevel::Debug,
            &format!(
                "workspace '{}': {} prefix '{}', region {}, parts of {} bytes",
                cfg.workspace,
                cfg.place(),
                cfg.prefix,
                cfg.region,
                cfg.part_size
            ),
        );
        Ok(S3Driver {
            client: Client::new(cfg)?,
        })
    }
}

/// One workspace: a bucket, or the folder `PREFIX` of one.
///
/// Behaviour a client can observe:
/// - Folders are key prefixes: a folder exists when its `name/` marker (what mkdir writes) or
///   any key below it exists. Deleting the last file of a folder that has no marker makes the
///   folder disappear, as in every S3 browser.
/// - Rename and move are a copy then a delete, not atomic: a failure midway can leave both
///   the source and (part of) the target; a reader may see both for a moment.
/// - Listings follow S3's key order (UTF-8 bytes), one ListObjectsV2 page per host page.
pub struct S3Driver {
    client: Client,
}

impl std::fmt::Debug for S3Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Driver")
            .field("cfg", &self.client.cfg)
            .finish()
    }
}

impl Driver for S3Driver {
    fn capabilities(&self) -> Capabilities {
        // S3 has no rename: it is a copy then a delete (see the type's doc), declared.
        Capabilities::ALL | Capabilities::RENAME_COPIES
    }

    fn stat(&self, _: &CallContext, path: &WsPath) -> Result<Entry> {
        if path.is_empty() {
            return Ok(Entry::dir(""));
        }
        if let Some(entry) = self.client.head_file(Op::Stat, path)? {
            return Ok(entry);
        }
        if self.client.dir_exists(Op::Stat, path)? {
            return Ok(Entry::dir(path));
        }
        Err(error::missing(Op::Stat, path))
    }

    fn list(&self, _: &CallContext, path: &WsPath, page: PageRequest) -> Result<ListPage> {
        lister::list(&self.client, path, page)
    }

    fn read(&self, _: &CallContext, path: &WsPath, range: Option<ByteRange>) -> Result<ReadResult> {
        reader::read(&self.client, path, range)
    }

    fn write(
        &self,
        _: &CallContext,
        path: &WsPath,
        body: ByteSource,
        options: WriteOptions,
    ) -> Result<Entry> {
        writer::write(&self.client, path, body, options)
    }

    fn mkdir(&self, _: &CallContext, path: &WsPath) -> Result<Entry> {
        let c = &self.client;
        if path.is_empty()
            || c.head_file(Op::Mkdir, path)?.is_some()
            || c.dir_exists(Op::Mkdir, path)?
        {
            return Err(error::exists(Op::Mkdir, path));
        }
        let parent = plugin_api::parent(path);
        if !c.dir_exists(Op::Mkdir, parent)? {
            return Err(if c.head_file(Op::Mkdir, parent)?.is_some() {
                PluginError::conflict(error::cannot(
                    Op::Mkdir,
                    path,
                    format!("'{}' is a file", error::shown(parent)),
                ))
            } else {
                PluginError::not_found(error::cannot(
                    Op::Mkdir,
                    path,
                    format!("the folder '{}' does not exist", error::shown(parent)),
                ))
            });
        }
        copier::put_marker(c, Op::Mkdir, path, &c.dir_key(path))?;
        Ok(Entry::dir(path))
    }

    fn delete(&self, _: &CallContext, path: &WsPath) -> Result<()> {
        deleter::delete(&self.client, path)
    }

    fn rename(&self, _: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        let entry = copier::copy(&self.client, Op::Rename, from, to)?;
        deleter::delete(&self.client, from)?;
        Ok(entry)
    }

    fn copy(&self, _: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        copier::copy(&self.client, Op::Copy, from, to)
    }

    fn verify(&self, _: &CallContext) -> Result<String> {
        let c = &self.client;
        let (keys, more) = c.keys_under(Op::Verify, "", &c.cfg.prefix, None)?;
        let shown = if c.cfg.prefix.is_empty() {
            "the whole bucket".to_owned()
        } else {
            format!("the folder '{}'", c.cfg.prefix.trim_end_matches('/'))
        };
        let count = if more.is_some() {
            "more than 1000 objects".to_owned()
        } else {
            format!("{} objects", keys.len())
        };
        Ok(format!(
            "{} in region {} answers ACCESS_KEY_ID '{}', showing {shown} ({count}); rename and move are a copy then a delete",
            c.cfg.place(),
            c.cfg.region,
            c.cfg.access_key_id
        ))
    }
}
