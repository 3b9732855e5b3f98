//! # access.example — a wshost storage driver
//!
//! A complete read-write driver that keeps each workspace's files in memory: a starting point
//! to replace with calls to your own backend. It implements every operation of
//! [`plugin_api::Driver`], answers the error kinds the host expects, streams reads without
//! copying, and passes the conformance suite (`tests/conformance.rs`).
//!
//! What to change first: [`ExamplePlugin::open`] (read your workspace parameters, connect to
//! the backend) and each method of [`ExampleDriver`]. Keep the error kinds: the conformance
//! suite checks them, and the host turns them into HTTP statuses.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use plugin_api::{
    file_name, parent, ByteRange, ByteSource, CallContext, Capabilities, Driver, Entry, ErrorKind,
    Host, ListPage, PageRequest, Plugin, PluginError, ReadResult, Result, WorkspaceConfig,
    WriteOptions, WsPath,
};

/// How many bytes a workspace may hold when `MAX_BYTES` is not set.
const DEFAULT_MAX_BYTES: u64 = 1 << 30;
/// The page size when the host asks for 0 entries.
const DEFAULT_PAGE: usize = 1000;

/// The plugin: one per loaded library. It opens an [`ExampleDriver`] per workspace.
pub struct ExamplePlugin {
    host: Host,
}

impl Plugin for ExamplePlugin {
    type Driver = ExampleDriver;
    const ID: &'static str = "access.example";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn new(host: Host) -> Result<Self> {
        host.info("access.example loaded");
        Ok(ExamplePlugin { host })
    }

    fn open(&self, config: WorkspaceConfig) -> Result<ExampleDriver> {
        // The host has validated the params against the manifest; read them typed.
        let max_bytes = config.get_u64("MAX_BYTES", DEFAULT_MAX_BYTES)?;
        self.host.info(&format!(
            "workspace '{}' opened ({max_bytes} bytes)",
            config.id
        ));
        Ok(ExampleDriver {
            max_bytes,
            nodes: RwLock::default(),
        })
    }
}

/// A file's bytes or a folder, under its normalized path (the root `""` is implicit).
#[derive(Clone)]
enum Node {
    Folder(SystemTime),
    File(Arc<Vec<u8>>, SystemTime),
}

/// One workspace, in memory: gone when the host drops the driver.
pub struct ExampleDriver {
    max_bytes: u64,
    nodes: RwLock<BTreeMap<String, Node>>,
}

fn entry(path: &str, node: &Node) -> Entry {
    match node {
        Node::Folder(at) => Entry::dir(path).modified(*at),
        Node::File(data, at) => Entry::file(path, data.len() as u64).modified(*at),
    }
}

fn not_found(what: &str, path: &str) -> PluginError {
    PluginError::not_found(format!("cannot {what} '{path}': it does not exist"))
}

fn exists(what: &str, path: &str) -> PluginError {
    PluginError::already_exists(format!("cannot {what} '{path}': it already exists"))
}

/// Checks that `path`'s parent is an existing folder.
fn parent_is_folder(nodes: &BTreeMap<String, Node>, what: &str, path: &str) -> Result<()> {
    let dir = parent(path);
    match nodes.get(dir) {
        _ if dir.is_empty() => Ok(()),
        Some(Node::Folder(_)) => Ok(()),
        Some(Node::File(..)) => Err(PluginError::conflict(format!(
            "cannot {what} '{path}': '{dir}' is a file, not a folder"
        ))),
        None => Err(not_found(what, dir)),
    }
}

/// `path` and everything below it.
fn subtree(nodes: &BTreeMap<String, Node>, path: &str) -> Vec<(String, Node)> {
    let below = format!("{path}/");
    let inside = nodes
        .range(below.clone()..)
        .take_while(|(k, _)| k.starts_with(&below));
    let own = nodes.get_key_value(path).into_iter();
    own.chain(inside)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

impl ExampleDriver {
    fn lookup(&self, what: &str, path: &str) -> Result<Node> {
        if path.is_empty() {
            return Ok(Node::Folder(SystemTime::UNIX_EPOCH));
        }
        let nodes = self.nodes.read().unwrap();
        nodes
            .get(path)
            .cloned()
            .ok_or_else(|| not_found(what, path))
    }

    /// Copies (or moves) `from` and everything below it to `to`.
    fn transfer(&self, what: &str, from: &WsPath, to: &WsPath, keep_source: bool) -> Result<Entry> {
        if from.is_empty() || to.is_empty() || to.starts_with(&format!("{from}/")) {
            return Err(PluginError::invalid_input(format!(
                "cannot {what} '{from}' to '{to}': not the root, nor into itself"
            )));
        }
        let mut nodes = self.nodes.write().unwrap();
        let moved = subtree(&nodes, from);
        if moved.is_empty() {
            return Err(not_found(what, from));
        }
        if nodes.contains_key(to) {
            return Err(exists(what, to));
        }
        parent_is_folder(&nodes, what, to)?;
        for (path, node) in moved {
            if !keep_source {
                nodes.remove(&path);
            }
            nodes.insert(format!("{to}{}", &path[from.len()..]), node);
        }
        Ok(entry(to, &nodes[to]))
    }
}

impl Driver for ExampleDriver {
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn stat(&self, _: &CallContext, path: &WsPath) -> Result<Entry> {
        Ok(entry(path, &self.lookup("stat", path)?))
    }

    fn list(&self, _: &CallContext, path: &WsPath, page: PageRequest) -> Result<ListPage> {
        if let Node::File(..) = self.lookup("list", path)? {
            let msg = format!("cannot list '{path}': it is a file, not a folder");
            return Err(PluginError::conflict(msg));
        }
        // Sorted by name, and the cursor is the last name served: a listing resumes right
        // even when entries come and go between pages.
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let nodes = self.nodes.read().unwrap();
        let after = page.cursor.as_deref().unwrap_or("");
        let limit = match page.limit as usize {
            0 => DEFAULT_PAGE,
            n => n,
        };
        let mut children = nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| !k[prefix.len()..].contains('/'))
            .filter(|(k, _)| page.cursor.is_none() || file_name(k) > after)
            .map(|(k, node)| entry(k, node));
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
        let node = self.lookup("read", path)?;
        let Node::File(data, _) = &node else {
            let msg = format!("cannot read '{path}': it is a folder, not a file");
            return Err(PluginError::conflict(msg));
        };
        let size = data.len() as u64;
        let (start, end) = match range {
            None => (0, size),
            // A zero-byte file has no byte to start at: serve it whole.
            Some(r) if size == 0 && r.start == 0 => (0, 0),
            Some(r) if r.start >= size => {
                return Err(PluginError::new(
                    ErrorKind::InvalidRange,
                    format!(
                        "cannot read '{path}' from byte {}: it has {size} bytes",
                        r.start
                    ),
                ))
            }
            Some(r) => (r.start, r.len.map_or(size, |len| size.min(r.start + len))),
        };
        let served = range.filter(|_| size > 0).map(|_| ByteRange {
            start,
            len: Some(end - start),
        });
        Ok(ReadResult {
            entry: entry(path, &node),
            range: served,
            content: Box::new(Slice {
                data: Arc::clone(data),
                at: start as usize,
                end: end as usize,
            }),
        })
    }

    fn write(
        &self,
        _: &CallContext,
        path: &WsPath,
        body: ByteSource,
        options: WriteOptions,
    ) -> Result<Entry> {
        // Read the whole body before touching the tree: an interrupted upload changes nothing.
        let mut data = Vec::new();
        body.take(self.max_bytes + 1)
            .read_to_end(&mut data)
            .map_err(|e| PluginError::from_io_error(&format!("read the body of '{path}'"), e))?;
        if let Some(announced) = options.size_hint.filter(|&n| n != data.len() as u64) {
            return Err(PluginError::invalid_input(format!(
                "cannot write '{path}': the body has {} bytes, {announced} were announced",
                data.len()
            )));
        }
        let mut nodes = self.nodes.write().unwrap();
        parent_is_folder(&nodes, "write", path)?;
        match nodes.get(path) {
            Some(Node::Folder(_)) => {
                let msg = format!("cannot write '{path}': it is a folder");
                return Err(PluginError::conflict(msg));
            }
            Some(Node::File(..)) if !options.overwrite => return Err(exists("write", path)),
            _ => {}
        }
        let used: u64 = (nodes.iter())
            .filter(|(k, _)| k.as_str() != path)
            .map(|(_, n)| match n {
                Node::File(d, _) => d.len() as u64,
                Node::Folder(_) => 0,
            })
            .sum();
        if used + data.len() as u64 > self.max_bytes {
            return Err(PluginError::new(
                ErrorKind::InsufficientStorage,
                format!(
                    "cannot write '{path}': the workspace holds at most {} bytes",
                    self.max_bytes
                ),
            ));
        }
        let node = Node::File(Arc::new(data), SystemTime::now());
        nodes.insert(path.to_owned(), node.clone());
        Ok(entry(path, &node))
    }

    fn mkdir(&self, _: &CallContext, path: &WsPath) -> Result<Entry> {
        let mut nodes = self.nodes.write().unwrap();
        if path.is_empty() || nodes.contains_key(path) {
            return Err(exists("create the folder", path));
        }
        parent_is_folder(&nodes, "create the folder", path)?;
        let node = Node::Folder(SystemTime::now());
        nodes.insert(path.to_owned(), node.clone());
        Ok(entry(path, &node))
    }

    fn delete(&self, _: &CallContext, path: &WsPath) -> Result<()> {
        if path.is_empty() {
            return Err(PluginError::invalid_input("cannot delete the root"));
        }
        let mut nodes = self.nodes.write().unwrap();
        let doomed = subtree(&nodes, path);
        if doomed.is_empty() {
            return Err(not_found("delete", path));
        }
        for (path, _) in doomed {
            nodes.remove(&path);
        }
        Ok(())
    }

    fn rename(&self, _: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        self.transfer("rename", from, to, false)
    }

    fn copy(&self, _: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        self.transfer("copy", from, to, true)
    }

    fn verify(&self, _: &CallContext) -> Result<String> {
        let files = self.nodes.read().unwrap().len();
        Ok(format!(
            "in-memory workspace with {files} entries, up to {} bytes",
            self.max_bytes
        ))
    }
}

/// A read of part of a file's bytes, shared with the tree rather than copied.
struct Slice {
    data: Arc<Vec<u8>>,
    at: usize,
    end: usize,
}

impl Read for Slice {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.end - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

plugin_api::export_plugin!(ExamplePlugin);
