//! The WebDAV tree of one request as dav-server sees it: the root (`/dav/`) holds the
//! workspaces the caller sees, and `/dav/{workspace}/{path}` is that workspace's tree, served
//! by its driver through the plugin-call layer with the access checked for this request.
//! Dead properties live in the store, keyed by workspace and driver path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use dav_server::davpath::DavPath;
use dav_server::fs::{
    DavDirEntry, DavFile, DavFileSystem, DavMetaData, DavProp, FsError, FsFuture, FsResult,
    FsStream, OpenOptions, ReadDirMeta,
};
use futures_util::{stream, FutureExt, StreamExt};
use http::StatusCode;
use plugin_api::{file_name, parent, Capabilities, Entry, ErrorKind, PageRequest};

use super::answer::Failure;
use super::file::{ReadFile, WriteFile};
use super::{locate, Located};
use crate::app::error::AppError;
use crate::app::Shared;
use crate::plugins::call::DriverTarget;
use crate::plugins::read::Download;
use crate::store::{DeadProp, PropChange, PropsAt, StoreError};

/// The workspace a request may touch: its id, its driver as the caller may call it, and what
/// the driver implements.
pub(super) struct Target {
    pub(super) ws: String,
    pub(super) driver: DriverTarget,
    pub(super) caps: Capabilities,
}

/// The filesystem of one WebDAV request.
#[derive(Clone)]
pub(super) struct DriverFs {
    pub(super) state: Shared,
    /// The workspace of the request; `None` at the root.
    pub(super) target: Option<Arc<Target>>,
    /// The workspaces listed at the root (filled for a request on the root only).
    pub(super) workspaces: Arc<Vec<String>>,
    /// What went wrong last, to answer with its status and message (see `answer`).
    pub(super) failure: Failure,
    /// The most entries one listing answers.
    pub(super) max_entries: usize,
    /// Refuse macOS `._*` and `.DS_Store` files (`[dav] apple_files`).
    pub(super) refuse_apple_files: bool,
    /// Entries stat'ed during this request, by path: dav-server asks the same path several
    /// times (PUT: the target, then the file it opened); emptied by every change.
    pub(super) seen: Arc<Mutex<HashMap<String, Entry>>>,
    /// Whether the workspace holds dead properties (see `any_props`).
    pub(super) any_props: Arc<tokio::sync::OnceCell<bool>>,
    /// The request is a GET of a whole file: asking an entry reads it (see `read_ahead`).
    pub(super) reads: bool,
    /// The read `read_ahead` made, for `open` to take: the path and the read.
    pub(super) read_made: Arc<Mutex<Option<(String, Download)>>>,
    /// The request is a PROPPATCH, which dav-server lets store dead properties only where
    /// the filesystem says it keeps them.
    pub(super) patching: bool,
}

impl DriverFs {
    /// The workspace and driver path of `path`, which must be in this request's workspace.
    fn place<'a>(&'a self, path: &DavPath) -> FsResult<(&'a Target, String)> {
        match locate(path.as_bytes()) {
            Ok(Located::In(ws, rel)) => match &self.target {
                Some(t) if t.ws == ws => Ok((t, rel)),
                // Another workspace: only a Destination could name one, and the door refuses
                // those before dav-server runs.
                _ => Err(FsError::IsRemote),
            },
            Ok(Located::Root) => Err(FsError::Forbidden),
            Err(e) => Err(self.failed(e)),
        }
    }

    /// Records `e` for the answer and gives dav-server its kind.
    pub(super) fn failed(&self, e: AppError) -> FsError {
        self.failure.record(e)
    }

    pub(super) async fn stat(&self, t: &Target, path: &str) -> FsResult<Entry> {
        if let Some(entry) = self.seen.lock().expect("stat cache").get(path) {
            return Ok(entry.clone());
        }
        let entry = t
            .driver
            .stat(&self.state, path.to_owned())
            .await
            .map_err(|e| self.failed(e))?;
        self.seen
            .lock()
            .expect("stat cache")
            .insert(path.to_owned(), entry.clone());
        Ok(entry)
    }

    /// Forgets what was stat'ed: something changed.
    pub(super) fn changed(&self) {
        self.seen.lock().expect("stat cache").clear();
    }

    /// The driver's entry at `path`, or `None` when there is none.
    async fn existing(&self, t: &Target, path: &str) -> FsResult<Option<Entry>> {
        match self.stat(t, path).await {
            Ok(e) => Ok(Some(e)),
            Err(FsError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn needs(&self, t: &Target, cap: Capabilities, what: &str) -> FsResult<()> {
        if t.caps.contains(cap) {
            Ok(())
        } else {
            Err(self.failed(AppError::Forbidden(format!(
                "the driver of workspace '{}' cannot {what}",
                t.ws
            ))))
        }
    }

    async fn open_file(&self, path: &DavPath, options: OpenOptions) -> FsResult<Box<dyn DavFile>> {
        let (t, rel) = self.place(path)?;
        if rel.is_empty() {
            return Err(FsError::Forbidden);
        }
        if !options.write {
            let entry = self.stat(t, &rel).await?;
            if entry.is_dir {
                return Err(FsError::Forbidden);
            }
            let made = self.read_made.lock().expect("read made").take();
            let made = made.filter(|(path, _)| *path == rel).map(|(_, read)| read);
            return Ok(Box::new(ReadFile::new(self.clone(), rel, entry, made)));
        }
        self.needs(t, Capabilities::WRITE, "write files")?;
        if self.refuse_apple_files && super::quirks::is_apple_file(&rel) {
            return Err(self.failed(AppError::Forbidden(format!(
                "'{rel}' is a macOS metadata file, which this server does not store ([dav] apple_files = \"refuse\")"
            ))));
        }
        let existing = self.existing(t, &rel).await?;
        match &existing {
            Some(_) if options.create_new => return Err(FsError::Exists),
            Some(e) if e.is_dir => return Err(FsError::Forbidden),
            None if !options.create => return Err(FsError::NotFound),
            _ => {}
        }
        // A file needs its folder: without one, PUT answers 409 Conflict (RFC 4918 9.7.1).
        let folder = parent(&rel);
        if !folder.is_empty() && !self.stat(t, folder).await.is_ok_and(|e| e.is_dir) {
            return Err(FsError::NotFound);
        }
        let limit = self.state.config.limits.max_upload;
        if options.size.is_some_and(|n| n > limit) {
            return Err(self.failed(AppError::TooLarge {
                what: "upload",
                limit,
            }));
        }
        self.changed();
        Ok(Box::new(WriteFile::start(self.clone(), rel, options.size)))
    }

    async fn list(&self, path: &DavPath) -> FsResult<FsStream<Box<dyn DavDirEntry>>> {
        let dir = match locate(path.as_bytes()) {
            Ok(Located::Root) => {
                let names = self.workspaces.iter().cloned().map(|ws| {
                    Ok(Box::new(DirEntry {
                        name: ws,
                        meta: DavMeta::folder(),
                    }) as Box<dyn DavDirEntry>)
                });
                return Ok(stream::iter(names.collect::<Vec<_>>()).boxed());
            }
            _ => self.place(path)?.1,
        };
        // Pages are asked one after the other as dav-server writes the answer, so a large
        // folder is never held whole; past `max_entries` the listing fails (507).
        let fs = self.clone();
        let target = self
            .target
            .clone()
            .expect("placed in the request's workspace");
        // The state: the cursor of the next page (`Some(None)` for the first), and how many
        // entries were answered.
        let pages = stream::unfold((Some(None), 0usize), move |(next, seen)| {
            let (fs, target, dir) = (fs.clone(), target.clone(), dir.clone());
            async move {
                let cursor: Option<String> = next?;
                let left = fs.max_entries.saturating_sub(seen);
                if left == 0 {
                    let _ = fs.failed(AppError::TooLarge {
                        what: "folder listing (entries)",
                        limit: fs.max_entries as u64,
                    });
                    let failed: Vec<FsResult<Box<dyn DavDirEntry>>> =
                        vec![Err(FsError::InsufficientStorage)];
                    return Some((failed, (None, seen)));
                }
                // Pages as large as the API's largest: fewer driver calls per listing.
                let largest = fs.state.config.limits.max_page;
                let page = PageRequest {
                    cursor,
                    limit: largest.min(u32::try_from(left).unwrap_or(largest)),
                };
                match target.driver.list(&fs.state, dir, page).await {
                    Ok(listing) => {
                        let seen = seen + listing.entries.len();
                        let entries = listing
                            .entries
                            .into_iter()
                            .map(|e| {
                                Ok(Box::new(DirEntry {
                                    name: file_name(&e.path).to_owned(),
                                    meta: DavMeta::of(&e),
                                }) as Box<dyn DavDirEntry>)
                            })
                            .collect();
                        Some((entries, (listing.next_cursor.map(Some), seen)))
                    }
                    Err(e) => Some((vec![Err(fs.failed(e))], (None, seen))),
                }
            }
        });
        Ok(pages.map(stream::iter).flatten().boxed())
    }

    async fn meta(&self, path: &DavPath) -> FsResult<Box<dyn DavMetaData>> {
        if let Ok(Located::Root) = locate(path.as_bytes()) {
            return Ok(Box::new(DavMeta::folder()));
        }
        let (t, rel) = self.place(path)?;
        if self.reads && !rel.is_empty() {
            if let Some(entry) = self.read_ahead(t, &rel).await? {
                return Ok(Box::new(DavMeta::of(&entry)));
            }
        }
        Ok(Box::new(DavMeta::of(&self.stat(t, &rel).await?)))
    }

    /// A GET asks a file's entry, then opens it and reads: the driver's read answers both, in
    /// one call instead of a stat and a read (a small file read whole in it). The read is
    /// kept for `open`; `None` when `path` is a folder (a stat answers then).
    async fn read_ahead(&self, t: &Target, path: &str) -> FsResult<Option<Entry>> {
        if let Some(entry) = self.seen.lock().expect("stat cache").get(path) {
            return Ok(Some(entry.clone()));
        }
        match t.driver.read(&self.state, path.to_owned(), None).await {
            Ok(read) => {
                let entry = read.entry.clone();
                self.seen
                    .lock()
                    .expect("stat cache")
                    .insert(path.to_owned(), entry.clone());
                *self.read_made.lock().expect("read made") = Some((path.to_owned(), read));
                Ok(Some(entry))
            }
            // A folder: the read layer refuses it as a conflict.
            Err(AppError::Plugin(e)) if e.kind == ErrorKind::Conflict => Ok(None),
            Err(e) => Err(self.failed(e)),
        }
    }

    async fn mkdir(&self, path: &DavPath) -> FsResult<()> {
        let (t, rel) = self.place(path)?;
        self.needs(t, Capabilities::MKDIR, "make folders")?;
        self.changed();
        if rel.is_empty() {
            return Err(FsError::Exists);
        }
        t.driver
            .mkdir(&self.state, rel)
            .await
            .map(drop)
            .map_err(|e| self.failed(e))
    }

    async fn remove(&self, path: &DavPath) -> FsResult<()> {
        let (t, rel) = self.place(path)?;
        self.needs(t, Capabilities::DELETE, "delete")?;
        self.changed();
        if rel.is_empty() {
            return Err(FsError::Forbidden);
        }
        t.driver
            .delete(&self.state, rel.clone())
            .await
            .map_err(|e| self.failed(e))?;
        self.props_follow(self.state.store.dav_props_deleted(&t.ws, &rel))
            .await
    }

    async fn rename(&self, from: &DavPath, to: &DavPath) -> FsResult<()> {
        let (t, src) = self.place(from)?;
        let (_, dst) = self.place(to)?;
        self.needs(t, Capabilities::RENAME, "move or rename")?;
        self.changed();
        if src.is_empty() || dst.is_empty() {
            return Err(FsError::Forbidden);
        }
        t.driver
            .rename(&self.state, src.clone(), dst.clone())
            .await
            .map_err(|e| self.failed(e))?;
        self.props_follow(self.state.store.dav_props_moved(at(t, &src), at(t, &dst)))
            .await
    }

    async fn copy(&self, from: &DavPath, to: &DavPath) -> FsResult<()> {
        let (t, src) = self.place(from)?;
        let (_, dst) = self.place(to)?;
        self.needs(t, Capabilities::COPY, "copy")?;
        if src.is_empty() || dst.is_empty() {
            return Err(FsError::Forbidden);
        }
        // dav-server copies a file onto an existing one (Overwrite: T): the driver's copy
        // refuses to replace, so the old one goes first.
        if self.existing(t, &dst).await?.is_some() {
            self.remove(to).await?;
        }
        self.changed();
        t.driver
            .copy(&self.state, src.clone(), dst.clone())
            .await
            .map_err(|e| self.failed(e))?;
        self.props_follow(self.state.store.dav_props_copied(at(t, &src), at(t, &dst)))
            .await
    }

    /// Dead properties follow what was done to their resource; a failure is the store's.
    async fn props_follow(
        &self,
        done: impl std::future::Future<Output = Result<(), crate::store::StoreError>>,
    ) -> FsResult<()> {
        done.await.map_err(|e| self.failed(e.into()))
    }

    /// Whether the request's workspace holds dead properties at all, asked once per request:
    /// dav-server asks before each resource of a listing, and most workspaces hold none.
    /// A store failure answers "yes", so that the resource's own read reports it.
    async fn any_props(&self) -> bool {
        let Some(t) = &self.target else {
            return false;
        };
        if self.patching {
            return true;
        }
        *self
            .any_props
            .get_or_init(|| async { self.state.store.dav_any_props(&t.ws).await.unwrap_or(true) })
            .await
    }

    async fn props(&self, path: &DavPath) -> FsResult<Vec<DeadProp>> {
        match locate(path.as_bytes()) {
            Ok(Located::Root) => Ok(Vec::new()),
            _ => {
                let (t, rel) = self.place(path)?;
                self.state
                    .store
                    .dav_props(&t.ws, &rel)
                    .await
                    .map_err(|e| self.failed(e.into()))
            }
        }
    }

    async fn patch(
        &self,
        path: &DavPath,
        patch: Vec<(bool, DavProp)>,
    ) -> FsResult<Vec<(StatusCode, DavProp)>> {
        let (t, rel) = self.place(path)?;
        let changes = patch
            .iter()
            .map(|(set, p)| {
                if *set {
                    PropChange::Set(DeadProp {
                        namespace: p.namespace.clone(),
                        prefix: p.prefix.clone(),
                        name: p.name.clone(),
                        xml: p.xml.clone(),
                    })
                } else {
                    PropChange::Remove(p.namespace.clone(), p.name.clone())
                }
            })
            .collect();
        let status = match self.state.store.dav_patch_props(&t.ws, &rel, changes).await {
            Ok(()) => StatusCode::OK,
            // Too many or too large properties: the room allowed for them is full (RFC 4918
            // 9.2.1), and nothing of the patch was applied.
            Err(e @ (StoreError::PropTooLarge { .. } | StoreError::TooManyProps { .. })) => {
                tracing::info!("PROPPATCH refused: {e}");
                StatusCode::INSUFFICIENT_STORAGE
            }
            Err(e) => return Err(self.failed(e.into())),
        };
        Ok(patch.into_iter().map(|(_, p)| (status, p)).collect())
    }
}

impl DavFileSystem for DriverFs {
    fn open<'a>(
        &'a self,
        path: &'a DavPath,
        options: OpenOptions,
    ) -> FsFuture<'a, Box<dyn DavFile>> {
        self.open_file(path, options).boxed()
    }

    fn read_dir<'a>(
        &'a self,
        path: &'a DavPath,
        _meta: ReadDirMeta,
    ) -> FsFuture<'a, FsStream<Box<dyn DavDirEntry>>> {
        self.list(path).boxed()
    }

    fn metadata<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, Box<dyn DavMetaData>> {
        self.meta(path).boxed()
    }

    fn symlink_metadata<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, Box<dyn DavMetaData>> {
        // Drivers show no links: a link is what it points to, or absent.
        self.meta(path).boxed()
    }

    fn create_dir<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        self.mkdir(path).boxed()
    }

    fn remove_dir<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        self.remove(path).boxed()
    }

    fn remove_file<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        self.remove(path).boxed()
    }

    fn rename<'a>(&'a self, from: &'a DavPath, to: &'a DavPath) -> FsFuture<'a, ()> {
        DriverFs::rename(self, from, to).boxed()
    }

    fn copy<'a>(&'a self, from: &'a DavPath, to: &'a DavPath) -> FsFuture<'a, ()> {
        DriverFs::copy(self, from, to).boxed()
    }

    fn have_props<'a>(
        &'a self,
        _path: &'a DavPath,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>> {
        Box::pin(self.any_props())
    }

    fn patch_props<'a>(
        &'a self,
        path: &'a DavPath,
        patch: Vec<(bool, DavProp)>,
    ) -> FsFuture<'a, Vec<(StatusCode, DavProp)>> {
        self.patch(path, patch).boxed()
    }

    fn get_props<'a>(&'a self, path: &'a DavPath, do_content: bool) -> FsFuture<'a, Vec<DavProp>> {
        async move {
            Ok(self
                .props(path)
                .await?
                .into_iter()
                .map(|p| dav_prop(p, do_content))
                .collect())
        }
        .boxed()
    }

    fn get_prop<'a>(&'a self, path: &'a DavPath, prop: DavProp) -> FsFuture<'a, Vec<u8>> {
        async move {
            self.props(path)
                .await?
                .into_iter()
                .find(|p| p.name == prop.name && p.namespace == prop.namespace)
                .and_then(|p| p.xml)
                .ok_or(FsError::NotFound)
        }
        .boxed()
    }
}

fn at<'a>(t: &'a Target, path: &'a str) -> PropsAt<'a> {
    PropsAt {
        workspace: &t.ws,
        path,
    }
}

fn dav_prop(p: DeadProp, do_content: bool) -> DavProp {
    DavProp {
        name: p.name,
        prefix: p.prefix,
        namespace: p.namespace,
        xml: if do_content { p.xml } else { None },
    }
}

/// What dav-server learns of an entry: size, times, kind and the driver's ETag.
#[derive(Debug, Clone)]
pub(super) struct DavMeta {
    size: u64,
    modified: Option<SystemTime>,
    is_dir: bool,
    etag: Option<String>,
}

impl DavMeta {
    pub(super) fn of(e: &Entry) -> DavMeta {
        DavMeta {
            size: e.size,
            modified: e.modified,
            is_dir: e.is_dir,
            // The driver's tag, unquoted: dav-server quotes it.
            etag: e.etag.as_ref().map(|t| t.replace('"', "")),
        }
    }

    fn folder() -> DavMeta {
        DavMeta {
            size: 0,
            modified: None,
            is_dir: true,
            etag: None,
        }
    }
}

impl DavMetaData for DavMeta {
    fn len(&self) -> u64 {
        self.size
    }

    fn modified(&self) -> FsResult<SystemTime> {
        self.modified.ok_or(FsError::NotImplemented)
    }

    fn is_dir(&self) -> bool {
        self.is_dir
    }

    fn is_symlink(&self) -> bool {
        false
    }

    fn etag(&self) -> Option<String> {
        if self.etag.is_some() {
            return self.etag.clone();
        }
        // No tag from the driver: one from size and time, as Apache makes them.
        let t = self.modified?.duration_since(std::time::UNIX_EPOCH).ok()?;
        Some(format!("{:x}-{:x}", self.size, t.as_micros()))
    }

    /// Drivers keep no creation time: the modification time stands in, as Apache's ctime
    /// does (Windows wants a `creationdate`; dav-server writes it without fractions).
    fn created(&self) -> FsResult<SystemTime> {
        self.modified()
    }
}

struct DirEntry {
    name: String,
    meta: DavMeta,
}

impl DavDirEntry for DirEntry {
    fn name(&self) -> Vec<u8> {
        self.name.clone().into_bytes()
    }

    fn metadata(&self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta: Box<dyn DavMetaData> = Box::new(self.meta.clone());
        std::future::ready(Ok(meta)).boxed()
    }
}
