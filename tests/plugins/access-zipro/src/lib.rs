//! # access.zipro — a read-only driver over a .zip archive
//!
//! Each workspace serves the entries of one archive (`ARCHIVE`, an absolute path): its
//! central directory is read once when the workspace opens ([`index`]); each read owns a
//! clone of the archive's file handle and reads by offset ([`content`]), so it needs no lock.
//! It cannot write, so it declares `Capabilities::READ_ONLY` and leaves every writing method
//! to the trait's default (`Unsupported`).
//!
//! A planted bug for the seeded conformance suite's own test: with `PLANTED_BUG=
//! range_off_by_one` in the environment when a workspace opens, ranged reads start one byte
//! late.

mod content;
mod index;

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use plugin_api::{
    file_name, ActionRequest, ActionResponse, ByteRange, CallContext, Capabilities, Driver, Entry,
    ErrorKind, Host, ListPage, PageRequest, Plugin, PluginError, ReadResult, Result,
    WorkspaceConfig, WsPath,
};

use index::{Index, Item};

/// The page size when the host asks for 0 entries.
const DEFAULT_PAGE: usize = 1000;

/// The plugin: it opens a [`ZiproDriver`] per workspace.
pub struct ZiproPlugin {
    host: Host,
}

impl Plugin for ZiproPlugin {
    type Driver = ZiproDriver;
    const ID: &'static str = "access.zipro";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const ACTIONS: &'static [&'static str] = &["zipro_info"];

    fn new(host: Host) -> Result<Self> {
        Ok(ZiproPlugin { host })
    }

    fn open(&self, config: WorkspaceConfig) -> Result<ZiproDriver> {
        let path = PathBuf::from(config.require("ARCHIVE")?);
        let index = index::read(&path)?;
        let file = File::open(&path)
            .map_err(|e| PluginError::from_io_error(&format!("open {}", path.display()), e))?;
        let modified = file.metadata().and_then(|m| m.modified()).ok();
        let off_by_one = std::env::var("PLANTED_BUG").is_ok_and(|b| b == "range_off_by_one");
        self.host.info(&format!(
            "workspace '{}': {} entries in {}",
            config.id,
            index.len(),
            path.display()
        ));
        Ok(ZiproDriver {
            path,
            file: Arc::new(file),
            index,
            modified,
            off_by_one,
        })
    }
}

/// One workspace: the archive's index and its open file.
pub struct ZiproDriver {
    path: PathBuf,
    file: Arc<File>,
    index: Index,
    /// The archive's modification time, given to every entry.
    modified: Option<SystemTime>,
    /// The planted bug (see the crate's documentation).
    off_by_one: bool,
}

impl ZiproDriver {
    /// The entry at `path`, or `NotFound` naming the operation.
    fn lookup(&self, op: &str, path: &WsPath) -> Result<(Entry, Item)> {
        let item = match path {
            "" => Item::Folder,
            _ => *(self.index.get(path)).ok_or_else(|| {
                PluginError::not_found(format!("cannot {op} '{path}': not in the archive"))
            })?,
        };
        Ok((self.entry(path, item), item))
    }

    fn entry(&self, path: &str, item: Item) -> Entry {
        let entry = match item {
            Item::Folder => Entry::dir(path),
            Item::File { size, .. } => Entry::file(path, size),
        };
        match self.modified {
            Some(at) => entry.modified(at),
            None => entry,
        }
    }

    /// What `zipro_info` answers.
    fn info(&self) -> serde_json::Value {
        let files = self
            .index
            .values()
            .filter(|i| matches!(i, Item::File { .. }));
        let sizes = files.map(|i| match i {
            Item::File { size, .. } => *size,
            Item::Folder => 0,
        });
        let (count, bytes) = sizes.fold((0u64, 0u64), |(n, b), s| (n + 1, b + s));
        serde_json::json!({
            "archive": self.path.file_name().map(|n| n.to_string_lossy()),
            "files": count,
            "folders": self.index.len() as u64 - count,
            "bytes": bytes,
        })
    }
}

impl Driver for ZiproDriver {
    fn capabilities(&self) -> Capabilities {
        Capabilities::READ_ONLY
    }

    fn stat(&self, _: &CallContext, path: &WsPath) -> Result<Entry> {
        self.lookup("stat", path).map(|(entry, _)| entry)
    }

    fn list(&self, _: &CallContext, path: &WsPath, page: PageRequest) -> Result<ListPage> {
        if let (_, Item::File { .. }) = self.lookup("list", path)? {
            let msg = format!("cannot list '{path}': it is a file, not a folder");
            return Err(PluginError::conflict(msg));
        }
        // Sorted by path; the cursor is the last name served.
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let after = page.cursor.as_deref();
        let limit = match page.limit as usize {
            0 => DEFAULT_PAGE,
            n => n,
        };
        let mut children = (self.index.range(prefix.clone()..))
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| !k[prefix.len()..].contains('/'))
            .filter(|(k, _)| after.is_none_or(|after| file_name(k) > after))
            .map(|(k, item)| self.entry(k, *item));
        let entries: Vec<Entry> = children.by_ref().take(limit).collect();
        let more = children.next().is_some();
        let next_cursor = more
            .then(|| entries.last().map(|e| e.name().to_owned()))
            .flatten();
        Ok(ListPage {
            entries,
            next_cursor,
        })
    }

    fn read(&self, _: &CallContext, path: &WsPath, range: Option<ByteRange>) -> Result<ReadResult> {
        let (entry, item) = self.lookup("read", path)?;
        let Item::File {
            size,
            data_start,
            compressed,
            method,
        } = item
        else {
            let msg = format!("cannot read '{path}': it is a folder, not a file");
            return Err(PluginError::conflict(msg));
        };
        let (start, end) = match range {
            None => (0, size),
            // A zero-byte file has no byte to start at: serve it whole.
            Some(r) if size == 0 && r.start == 0 => (0, 0),
            Some(r) if r.start >= size => {
                let msg = format!(
                    "cannot read '{path}' from byte {}: it has {size} bytes",
                    r.start
                );
                return Err(PluginError::new(ErrorKind::InvalidRange, msg));
            }
            Some(r) => (r.start, r.len.map_or(size, |len| size.min(r.start + len))),
        };
        let served = range.filter(|_| size > 0).map(|_| ByteRange {
            start,
            len: Some(end - start),
        });
        // The planted bug: the bytes come from one further on, the length stays.
        let shift = u64::from(self.off_by_one && served.is_some());
        let stored = content::Stored {
            data_start,
            compressed,
            method,
        };
        let content = content::open(&self.file, stored, start + shift, (end + shift).min(size))?;
        Ok(ReadResult {
            entry,
            range: served,
            content,
        })
    }

    fn verify(&self, _: &CallContext) -> Result<String> {
        let info = self.info();
        Ok(format!(
            "{}: {} files in {} folders, {} bytes, read-only",
            self.path.display(),
            info["files"],
            info["folders"],
            info["bytes"]
        ))
    }

    fn action(&self, _: &CallContext, req: ActionRequest) -> Result<ActionResponse> {
        match req.name.as_str() {
            // The host has checked the method (GET) and the caller's read grant.
            "zipro_info" => Ok(ActionResponse::json(self.info().to_string())),
            other => Err(PluginError::unsupported(&format!("action {other}"))),
        }
    }
}

plugin_api::export_plugin!(ZiproPlugin);
