//! The fixture every test starts from: a temporary folder holding `root/` (the workspace's
//! ROOT) and `outside/` (what the driver must never touch), a driver opened on `root/`
//! through the ABI, and helpers that read like the operations they perform.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use access_fs::FsPlugin;
use plugin_api::foreign::{ForeignDriver, ForeignPlugin};
use plugin_api::testing::{ctx, load, MemoryHost};
use plugin_api::{
    ByteRange, Driver, Entry, ErrorKind, PageRequest, Result, WorkspaceConfig, WriteOptions,
};

/// Loads the plugin in-process behind the FFI boundary.
pub(crate) fn plugin() -> ForeignPlugin {
    load::<FsPlugin>(MemoryHost::new("http://localhost:8080")).expect("plugin loads")
}

/// A workspace configuration with the given parameters.
pub(crate) fn config(params: &[(&str, &str)]) -> WorkspaceConfig {
    WorkspaceConfig {
        id: "ws".into(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// The error kind of a result that must be an error.
pub(crate) fn kind<T>(result: Result<T>) -> ErrorKind {
    match result {
        Ok(_) => panic!("expected an error, got success"),
        Err(e) => e.kind,
    }
}

/// Every file under `dir` with its content (symlinks by their target text), recursively.
pub(crate) fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for item in fs::read_dir(dir).unwrap() {
            let path = item.unwrap().path();
            let rel = path.strip_prefix(base).unwrap().to_owned();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_symlink() {
                let target = fs::read_link(&path).unwrap();
                out.insert(rel, target.to_string_lossy().as_bytes().to_vec());
            } else if meta.is_dir() {
                out.insert(rel, b"<dir>".to_vec());
                walk(base, &path, out);
            } else {
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// One driver call, so that tables of cases can name them.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Call {
    Stat(&'static str),
    List(&'static str),
    Read(&'static str),
    /// Writes `b"new"`, overwriting if the flag says so.
    Write(&'static str, bool),
    Mkdir(&'static str),
    Delete(&'static str),
    Rename(&'static str, &'static str),
    Copy(&'static str, &'static str),
}

/// A workspace on a fresh temporary folder.
pub(crate) struct Fixture {
    dir: tempfile::TempDir,
    pub(crate) driver: ForeignDriver,
}

impl Fixture {
    /// An empty workspace.
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("root")).unwrap();
        fs::create_dir(dir.path().join("outside")).unwrap();
        let root = dir.path().join("root");
        let driver = plugin()
            .open(&config(&[("ROOT", root.to_str().unwrap())]))
            .expect("driver opens");
        Fixture { dir, driver }
    }

    /// The workspace's ROOT on disk.
    pub(crate) fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// A sibling of ROOT that the driver must never touch.
    pub(crate) fn outside(&self) -> PathBuf {
        self.dir.path().join("outside")
    }

    /// Creates a file under ROOT directly on disk, with its parents.
    pub(crate) fn put(&self, rel: &str, content: &[u8]) {
        let path = self.root().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    /// Creates a folder under ROOT directly on disk, with its parents.
    pub(crate) fn folder(&self, rel: &str) {
        fs::create_dir_all(self.root().join(rel)).unwrap();
    }

    /// Creates a symlink under ROOT directly on disk.
    pub(crate) fn link(&self, rel: &str, target: impl AsRef<Path>) {
        std::os::unix::fs::symlink(target, self.root().join(rel)).unwrap();
    }

    /// The content of a file under ROOT, read directly from disk.
    pub(crate) fn disk(&self, rel: &str) -> Option<Vec<u8>> {
        fs::read(self.root().join(rel)).ok()
    }

    /// Every temporary upload file left anywhere under ROOT.
    pub(crate) fn temp_files(&self) -> Vec<PathBuf> {
        snapshot(&self.root())
            .into_keys()
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy();
                name.starts_with(".wshost-upload-")
            })
            .collect()
    }

    pub(crate) fn stat(&self, path: &str) -> Result<Entry> {
        self.driver.stat(&ctx("alice"), path)
    }

    /// One page of a listing.
    pub(crate) fn page(
        &self,
        path: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<plugin_api::ListPage> {
        let page = PageRequest {
            cursor: cursor.map(str::to_owned),
            limit,
        };
        self.driver.list(&ctx("alice"), path, page)
    }

    /// A whole listing, following cursors.
    pub(crate) fn list(&self, path: &str) -> Result<Vec<Entry>> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.page(path, cursor.as_deref(), 7)?;
            all.extend(page.entries);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// The names a listing shows.
    pub(crate) fn names(&self, path: &str) -> Vec<String> {
        let entries = self.list(path).unwrap();
        entries.iter().map(|e| e.name().to_owned()).collect()
    }

    /// Reads a file (or a range of it) to the end, in small chunks as the host would.
    pub(crate) fn read(&self, path: &str, range: Option<(u64, Option<u64>)>) -> Result<Vec<u8>> {
        let range = range.map(|(start, len)| ByteRange { start, len });
        let mut result = self.driver.read(&ctx("alice"), path, range)?;
        let mut out = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match result.content.read(&mut chunk).expect("stream reads") {
                0 => return Ok(out),
                n => out.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Uploads `body`.
    pub(crate) fn upload(
        &self,
        path: &str,
        body: impl Read + Send + 'static,
        overwrite: bool,
        size_hint: Option<u64>,
    ) -> Result<Entry> {
        let options = WriteOptions {
            overwrite,
            size_hint,
        };
        self.driver
            .write(&ctx("alice"), path, Box::new(body), options)
    }

    /// Uploads `content` in one go.
    pub(crate) fn write(&self, path: &str, content: &[u8], overwrite: bool) -> Result<Entry> {
        let size = content.len() as u64;
        self.upload(
            path,
            std::io::Cursor::new(content.to_vec()),
            overwrite,
            Some(size),
        )
    }

    /// Performs `call`, keeping only success or failure.
    pub(crate) fn call(&self, call: Call) -> Result<()> {
        let c = ctx("alice");
        let d = &self.driver;
        match call {
            Call::Stat(p) => d.stat(&c, p).map(drop),
            Call::List(p) => self.page(p, None, 0).map(drop),
            Call::Read(p) => self.read(p, None).map(drop),
            Call::Write(p, overwrite) => self.write(p, b"new", overwrite).map(drop),
            Call::Mkdir(p) => d.mkdir(&c, p).map(drop),
            Call::Delete(p) => d.delete(&c, p),
            Call::Rename(from, to) => d.rename(&c, from, to).map(drop),
            Call::Copy(from, to) => d.copy(&c, from, to).map(drop),
        }
    }
}
