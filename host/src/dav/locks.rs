//! The WebDAV lock system: dav-server's `DavLockSystem` over the store, so that a lock taken
//! through one instance holds on every instance sharing the database.
//!
//! The rules are those of dav-server's own in-memory `MemLs` (an exclusive lock conflicts with
//! every other lock, shared ones with exclusive ones; locks on ancestors count when deep; a
//! deep request also meets the locks below; a request passes a lock it holds by token and,
//! unless told to ignore it, principal), with three differences: locks expire (a timeout is
//! always granted, at most [`MAX_TIMEOUT`]); `discover` lists the locks on the path and the
//! deep ones on its ancestors, not a depth-0 lock of a parent (RFC 4918 6.1: that lock does
//! not cover the child); and a store failure refuses (423 or 412, logged), never grants.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dav_server::davpath::DavPath;
use dav_server::ls::{DavLock, DavLockSystem, LsFuture};
use xmltree::{Element, EmitterConfig, Namespace};

use crate::store::{NewLock, Store, StoreError, StoredLock};

/// The timeout of a lock whose client asked for none (or for "Infinite", which dav-server
/// turns into none on a refresh). Clients that hold locks for long (Windows, Finder, Office)
/// refresh them.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// The longest timeout granted, whatever a client asks: a client that vanished frees its
/// locks within this.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// The shortest: a lock that is already over when granted would be no lock.
const MIN_TIMEOUT: Duration = Duration::from_secs(1);
/// How often `lock` sweeps expired locks from the store. There is no periodic task in the
/// host (the store sweeps at open); LOCK is the one request that adds rows, so it is where
/// the rows are reclaimed, at most once a minute per instance.
const SWEEP_EVERY_MS: i64 = 60_000;

/// The token of the lock reported as conflicting when the store could not be asked: the
/// request is refused, naming no real lock.
const UNAVAILABLE_TOKEN: &str = "urn:wshost:lock-store-unavailable";

/// The lock system of the WebDAV door; cheap to clone (a store handle and a shared clock).
#[derive(Debug, Clone)]
pub(crate) struct StoreLocks {
    store: Store,
    /// When this instance last swept, in unix milliseconds.
    last_sweep: Arc<AtomicI64>,
    /// What one request's lock discoveries read, by folder (see `discover`); only in the
    /// lock system of one request ([`StoreLocks::for_request`]).
    /// A folder asked once maps to `None`, read to its locks.
    folders: Option<Remembered>,
}

/// Folders asked in one request: `None` once asked, their locks once read.
type Remembered = Arc<Mutex<HashMap<String, Option<Arc<FolderLocks>>>>>;

/// The locks that can cover the members of one folder: those covering the folder itself,
/// and those on or under it.
#[derive(Debug)]
struct FolderLocks {
    covering: Vec<StoredLock>,
    within: Vec<StoredLock>,
}

impl StoreLocks {
    pub(crate) fn new(store: Store) -> StoreLocks {
        StoreLocks {
            store,
            // The store swept when it opened.
            last_sweep: Arc::new(AtomicI64::new(now_ms())),
            folders: None,
        }
    }

    /// The lock system for one request: the same store and sweep clock, and its own memory
    /// of what it discovered.
    pub(crate) fn for_request(&self) -> StoreLocks {
        StoreLocks {
            folders: Some(Arc::default()),
            ..self.clone()
        }
    }

    /// Forgets what was discovered: the locks changed.
    fn forget(&self) {
        if let Some(folders) = &self.folders {
            folders.lock().expect("lock memory").clear();
        }
    }

    /// The locks covering `key`: any on it, and the deep ones on its ancestors. The second
    /// member of one folder a request asks about makes it read the folder's locks once
    /// (those covering the folder, and those on or under it), and answers the rest of the
    /// folder from them: a PROPFIND of 10,000 entries discovers each entry's locks, which
    /// would otherwise be 10,000 queries; a request about one resource makes one query.
    async fn covering(&self, key: &str) -> Result<Vec<StoredLock>, StoreError> {
        let folder = key.rsplit_once('/').map_or("", |(folder, _)| folder);
        let asked = self.folders.as_ref().map(|folders| {
            let mut folders = folders.lock().expect("lock memory");
            let seen = folders.get(folder).cloned();
            folders.entry(folder.to_owned()).or_insert(None);
            seen
        });
        let locks = match asked {
            Some(Some(Some(locks))) => locks,
            Some(Some(None)) => {
                let locks = Arc::new(FolderLocks {
                    covering: self.store.dav_locks_covering(folder).await?,
                    within: self.store.dav_locks_within(folder).await?,
                });
                if let Some(folders) = &self.folders {
                    folders
                        .lock()
                        .expect("lock memory")
                        .insert(folder.to_owned(), Some(locks.clone()));
                }
                locks
            }
            // Not remembered: this resource's own.
            _ => {
                let mut locks = self.store.dav_locks_covering(key).await?;
                locks.retain(|lock| lock.deep || lock.path == key);
                return Ok(locks);
            }
        };
        Ok(locks
            .covering
            .iter()
            .filter(|lock| lock.deep && lock.path != key)
            .chain(locks.within.iter().filter(|lock| lock.path == key))
            .cloned()
            .collect())
    }

    /// Sweeps the expired locks if this instance has not for a minute. A failure is only
    /// logged: expired rows are ignored anyway.
    async fn sweep_now_and_then(&self) {
        let now = now_ms();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now - last < SWEEP_EVERY_MS
            || self
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        if let Err(e) = self.store.sweep_dav_locks().await {
            tracing::warn!(error = %e, "could not sweep expired WebDAV locks");
        }
    }
}

/// Who asks, and with which lock tokens.
struct Asker<'a> {
    principal: Option<&'a str>,
    ignore_principal: bool,
    tokens: &'a [String],
}

impl Asker<'_> {
    /// A LOCK request: it holds nothing.
    const NOBODY: Asker<'static> = Asker {
        principal: None,
        ignore_principal: true,
        tokens: &[],
    };

    fn holds(&self, lock: &StoredLock) -> bool {
        self.tokens.contains(&lock.token)
            && (self.ignore_principal || self.principal == lock.principal.as_deref())
    }
}

/// MemLs's `check_locks_to_path`: the locks on `key` and the deep ones on its ancestors
/// (`covering`, root first). An exclusive lock not held conflicts at once; a shared one not
/// held conflicts unless `shared_ok` or the asker holds some lock here.
fn conflict_on_path<'a>(
    covering: &'a [StoredLock],
    key: &str,
    asker: &Asker<'_>,
    shared_ok: bool,
) -> Result<(), &'a StoredLock> {
    let mut holds_one = false;
    let mut first_shared = None;
    for lock in covering {
        if lock.path != key && !lock.deep {
            continue;
        }
        if asker.holds(lock) {
            holds_one = true;
        } else if !lock.shared {
            return Err(lock);
        } else if !shared_ok {
            first_shared.get_or_insert(lock);
        }
    }
    match first_shared {
        Some(lock) if !holds_one => Err(lock),
        _ => Ok(()),
    }
}

/// MemLs's `check_locks_from_path`: any lock on the path or below (`within`) that the asker
/// does not hold conflicts, unless both are shared.
fn conflict_below<'a>(
    within: &'a [StoredLock],
    asker: &Asker<'_>,
    shared_ok: bool,
) -> Result<(), &'a StoredLock> {
    match within
        .iter()
        .find(|lock| (!lock.shared || !shared_ok) && !asker.holds(lock))
    {
        Some(lock) => Err(lock),
        None => Ok(()),
    }
}

/// The store's key of a request path: percent-encoded, below the prefix, without a
/// collection's trailing slash, `""` for the root; and the path as given (`href`).
fn key_of(path: &DavPath) -> (String, String) {
    let href = path.as_url_string();
    (href.trim_end_matches('/').to_owned(), href)
}

/// The timeout granted for a requested one.
fn granted(requested: Option<Duration>) -> Duration {
    requested
        .unwrap_or(DEFAULT_TIMEOUT)
        .clamp(MIN_TIMEOUT, MAX_TIMEOUT)
}

/// `owner` as XML without a declaration. dav-server hands
/// over elements that carry their prefix and namespace (`D:owner`, `DAV:`) but not the
/// declaration that binds one to the other, so the declarations of every prefix in the tree
/// are put on its root first: the stored text then parses on its own.
fn owner_xml(owner: &Element) -> Result<Vec<u8>, xmltree::Error> {
    let mut owner = owner.clone();
    let mut declared = owner.namespaces.take().unwrap_or_else(Namespace::empty);
    declare_prefixes(&owner, &mut declared);
    owner.namespaces = Some(declared);
    let mut out = Vec::new();
    let config = EmitterConfig::new().write_document_declaration(false);
    owner.write_with_config(&mut out, config)?;
    Ok(out)
}

/// Adds to `declared` the prefix of `element` and of every element under it.
fn declare_prefixes(element: &Element, declared: &mut Namespace) {
    if let (Some(prefix), Some(uri)) = (&element.prefix, &element.namespace) {
        declared.put(prefix.as_str(), uri.as_str());
    }
    for child in element.children.iter().filter_map(|c| c.as_element()) {
        declare_prefixes(child, declared);
    }
}

/// The DavPath of a stored lock's `href`, with the prefix of the request path `at` (every
/// request of the door has the same one): the lock root shown to the client.
fn path_of(href: &str, at: &DavPath) -> DavPath {
    if at.as_url_string() == href {
        return at.clone();
    }
    let full = at.with_prefix().as_url_string();
    let prefix = full.strip_suffix(&at.as_url_string()).unwrap_or("");
    DavPath::new(&format!("{prefix}{href}"))
        .and_then(|mut path| path.set_prefix(at.prefix()).map(|()| path))
        .unwrap_or_else(|_| at.clone())
}

/// A stored lock as dav-server sees it.
fn to_dav(lock: StoredLock, at: &DavPath) -> DavLock {
    let owner = lock.owner.as_deref().and_then(|xml| match Element::parse(xml) {
        Ok(element) => Some(Box::new(element)),
        Err(e) => {
            tracing::warn!(token = %lock.token, error = %e, "a stored WebDAV lock owner is not XML");
            None
        }
    });
    DavLock {
        path: Box::new(path_of(&lock.href, at)),
        timeout_at: Some(lock.expires_at()),
        timeout: Some(lock.timeout),
        token: lock.token,
        principal: lock.principal,
        owner,
        shared: lock.shared,
        deep: lock.deep,
    }
}

/// What a request meets when the store could not be asked: a conflicting exclusive lock on
/// its path, so dav-server refuses it.
fn refusal(path: &DavPath) -> DavLock {
    DavLock {
        token: UNAVAILABLE_TOKEN.to_owned(),
        path: Box::new(path.clone()),
        principal: None,
        owner: None,
        timeout_at: None,
        timeout: None,
        shared: false,
        deep: false,
    }
}

/// Logs a store failure, once per request that met it (an unreachable database at debug
/// level: the store logs the outage once).
fn failed(path: &DavPath, e: &StoreError) {
    if e.is_unavailable() {
        tracing::debug!(error = %e, path = %path.as_url_string(), "the WebDAV lock store failed: refusing the request");
        return;
    }
    tracing::error!(error = %e, path = %path.as_url_string(), "the WebDAV lock store failed: refusing the request");
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl DavLockSystem for StoreLocks {
    fn lock(
        &'_ self,
        path: &DavPath,
        principal: Option<&str>,
        owner: Option<&Element>,
        timeout: Option<Duration>,
        shared: bool,
        deep: bool,
    ) -> LsFuture<'_, Result<DavLock, DavLock>> {
        self.forget();
        let path = path.clone();
        let (key, href) = key_of(&path);
        let owner = match owner.map(owner_xml).transpose() {
            Ok(owner) => owner,
            Err(e) => {
                tracing::warn!(error = %e, "a WebDAV lock owner could not be written as XML: refusing the lock");
                return Box::pin(std::future::ready(Err(refusal(&path))));
            }
        };
        let new = NewLock {
            token: uuid::Uuid::new_v4().urn().to_string(),
            path: key.clone(),
            href,
            principal: principal.map(str::to_owned),
            owner,
            shared,
            deep,
            timeout: granted(timeout),
        };
        Box::pin(async move {
            self.sweep_now_and_then().await;
            let taken = self
                .store
                .dav_lock_if(new, |covering, within| {
                    let asker = Asker::NOBODY;
                    let refused = |l: &StoredLock| Box::new(l.clone());
                    conflict_on_path(covering, &key, &asker, shared).map_err(refused)?;
                    if deep {
                        conflict_below(within, &asker, shared).map_err(refused)?;
                    }
                    Ok(())
                })
                .await;
            match taken {
                Ok(Ok(lock)) => Ok(to_dav(lock, &path)),
                Ok(Err(conflict)) => Err(to_dav(conflict, &path)),
                Err(e) => {
                    failed(&path, &e);
                    Err(refusal(&path))
                }
            }
        })
    }

    fn unlock(&'_ self, path: &DavPath, token: &str) -> LsFuture<'_, Result<(), ()>> {
        self.forget();
        let path = path.clone();
        let token = token.to_owned();
        Box::pin(async move {
            match self.store.dav_unlock(&key_of(&path).0, &token).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(()),
                Err(e) => {
                    failed(&path, &e);
                    Err(())
                }
            }
        })
    }

    fn refresh(
        &'_ self,
        path: &DavPath,
        token: &str,
        timeout: Option<Duration>,
    ) -> LsFuture<'_, Result<DavLock, ()>> {
        self.forget();
        let path = path.clone();
        let token = token.to_owned();
        Box::pin(async move {
            let key = key_of(&path).0;
            match self
                .store
                .dav_refresh_lock(&key, &token, granted(timeout))
                .await
            {
                Ok(Some(lock)) => Ok(to_dav(lock, &path)),
                Ok(None) => Err(()),
                Err(e) => {
                    failed(&path, &e);
                    Err(())
                }
            }
        })
    }

    fn check(
        &'_ self,
        path: &DavPath,
        principal: Option<&str>,
        ignore_principal: bool,
        deep: bool,
        submitted_tokens: &[String],
    ) -> LsFuture<'_, Result<(), DavLock>> {
        let path = path.clone();
        let principal = principal.map(str::to_owned);
        let tokens = submitted_tokens.to_vec();
        Box::pin(async move {
            let key = key_of(&path).0;
            let asker = Asker {
                principal: principal.as_deref(),
                ignore_principal,
                tokens: &tokens,
            };
            let covering = match self.store.dav_locks_covering(&key).await {
                Ok(locks) => locks,
                Err(e) => {
                    failed(&path, &e);
                    return Err(refusal(&path));
                }
            };
            if let Err(lock) = conflict_on_path(&covering, &key, &asker, false) {
                return Err(to_dav(lock.clone(), &path));
            }
            if deep {
                let within = match self.store.dav_locks_within(&key).await {
                    Ok(locks) => locks,
                    Err(e) => {
                        failed(&path, &e);
                        return Err(refusal(&path));
                    }
                };
                if let Err(lock) = conflict_below(&within, &asker, false) {
                    return Err(to_dav(lock.clone(), &path));
                }
            }
            Ok(())
        })
    }

    fn discover(&'_ self, path: &DavPath) -> LsFuture<'_, Vec<DavLock>> {
        let path = path.clone();
        Box::pin(async move {
            let key = key_of(&path).0;
            match self.covering(&key).await {
                Ok(locks) => locks.into_iter().map(|lock| to_dav(lock, &path)).collect(),
                Err(e) => {
                    // PROPFIND cannot be refused from here: it shows no lock, and a write
                    // still meets `check`, which refuses.
                    failed(&path, &e);
                    Vec::new()
                }
            }
        })
    }

    fn delete(&'_ self, path: &DavPath) -> LsFuture<'_, Result<(), ()>> {
        self.forget();
        let path = path.clone();
        Box::pin(async move {
            match self.store.dav_delete_locks(&key_of(&path).0).await {
                Ok(_) => Ok(()),
                Err(e) => {
                    failed(&path, &e);
                    Err(())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests;
