//! The plain Rust types that drivers and the host exchange: entries, pages, ranges, the
//! per-call context, a workspace's configuration, and plugin actions.
//!
//! These are what authors and the host code see; `ffi` converts them to and from their
//! FFI-safe twins at the boundary.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{PluginError, Result};

/// A path inside a workspace as the host hands it to a driver.
///
/// The host normalizes every path before a driver sees it: `/`-separated, relative to the
/// workspace root, no leading or trailing `/`, no empty, `.` or `..` segments, no NUL or control
/// characters. The root itself is the empty string. Drivers must still confine what they do to
/// their root (a symlink can point anywhere).
pub type WsPath = str;

/// The last segment of a normalized path (the whole path when it has one segment).
pub fn file_name(path: &WsPath) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The parent of a normalized path; the root's parent is the root.
pub fn parent(path: &WsPath) -> &str {
    path.rfind('/').map(|i| &path[..i]).unwrap_or("")
}

/// Joins a normalized folder path and a single name.
pub fn join(dir: &WsPath, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// A file or folder as a driver describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Normalized path from the workspace root (empty for the root).
    pub path: String,
    /// True for folders.
    pub is_dir: bool,
    /// Size in bytes (0 for folders).
    pub size: u64,
    /// Last modification, when the backend knows it.
    pub modified: Option<SystemTime>,
    /// Media type, when the backend knows it better than the file name does.
    pub mime: Option<String>,
    /// A version tag that changes when the content changes (Dropbox `rev`, an mtime-size pair).
    pub etag: Option<String>,
}

impl Entry {
    /// A file entry.
    pub fn file(path: impl Into<String>, size: u64) -> Self {
        Entry {
            path: path.into(),
            is_dir: false,
            size,
            modified: None,
            mime: None,
            etag: None,
        }
    }

    /// A folder entry.
    pub fn dir(path: impl Into<String>) -> Self {
        Entry {
            is_dir: true,
            ..Entry::file(path, 0)
        }
    }

    /// The entry's own name.
    pub fn name(&self) -> &str {
        file_name(&self.path)
    }

    /// Sets the modification time.
    pub fn modified(mut self, at: SystemTime) -> Self {
        self.modified = Some(at);
        self
    }

    /// Sets the version tag.
    pub fn etag(mut self, etag: impl Into<String>) -> Self {
        self.etag = Some(etag.into());
        self
    }
}

/// Milliseconds since the Unix epoch, the wire form of a time (negative before 1970).
pub(crate) fn to_millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

pub(crate) fn from_millis(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

/// Which page of a listing to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Where to resume: the `next_cursor` of the previous page, `None` for the first page.
    pub cursor: Option<String>,
    /// The most entries the host wants in this page (a driver may return fewer).
    pub limit: u32,
}

/// One page of a folder listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListPage {
    /// The entries of this page.
    pub entries: Vec<Entry>,
    /// The cursor of the next page; `None` when this is the last page.
    pub next_cursor: Option<String>,
}

/// A byte range to read: from `start`, `len` bytes or to the end of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte offset.
    pub start: u64,
    /// Number of bytes; `None` reads to the end.
    pub len: Option<u64>,
}

/// A byte stream crossing the boundary, read in chunks with backpressure.
pub type ByteSource = Box<dyn Read + Send>;

/// What a driver answers to a read: the entry and its (possibly ranged) content.
pub struct ReadResult {
    /// The file being read.
    pub entry: Entry,
    /// The range actually served; `None` means the whole file.
    pub range: Option<ByteRange>,
    /// The bytes, read lazily by the host.
    pub content: ByteSource,
}

/// How to write a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Replace an existing file (otherwise answer `AlreadyExists`).
    pub overwrite: bool,
    /// The exact length of the body when the client announced it (HTTP `Content-Length`). A
    /// driver may refuse a body whose length differs: the client was cut off or lied.
    pub size_hint: Option<u64>,
}

/// Who is calling and on what: passed to every driver operation and action.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallContext {
    /// The logged-in user's id, or `None` for an anonymous call.
    pub user: Option<String>,
    /// The workspace the call is about, if any.
    pub workspace: Option<String>,
    /// The host's request id, for log correlation.
    pub request_id: String,
    /// Additive information keyed by name (documented in `docs/plugin-abi.md`).
    pub extra: BTreeMap<String, String>,
}

/// The caller's rights on the workspace of a call, as the host checked them before calling
/// the plugin. Ordered: `Read < Write < Admin`, so `rights >= WorkspaceRights::Write` reads
/// as "may write".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WorkspaceRights {
    /// A read-only grant.
    Read,
    /// A read-write grant.
    Write,
    /// An administrator of the host, who administers every workspace.
    Admin,
}

impl WorkspaceRights {
    /// Every value, weakest first.
    pub const ALL: [WorkspaceRights; 3] = [
        WorkspaceRights::Read,
        WorkspaceRights::Write,
        WorkspaceRights::Admin,
    ];

    /// The spelling in [`CallContext::extra`] under [`CallContext::RIGHTS_KEY`]: `read`,
    /// `write` or `admin` (the manifest's `rights` vocabulary).
    pub const fn as_str(self) -> &'static str {
        match self {
            WorkspaceRights::Read => "read",
            WorkspaceRights::Write => "write",
            WorkspaceRights::Admin => "admin",
        }
    }

    /// The value spelled `text`, if it is one ([`Self::as_str`]'s inverse).
    pub fn parse(text: &str) -> Option<WorkspaceRights> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl CallContext {
    /// The [`CallContext::extra`] key under which the host sends the caller's rights
    /// (plugin-api 1.0.1 and later; see [`CallContext::rights`]).
    pub const RIGHTS_KEY: &'static str = "rights";

    /// The caller's rights on [`CallContext::workspace`], as the host checked them: on every
    /// driver call and every action with a workspace, `Read`, `Write` or `Admin`; on a call
    /// without a workspace, `Admin` for an administrator. `None` when the caller has none
    /// (anonymous, no grant), or from a host older than plugin-api 1.0.1 — so a rule that
    /// needs rights must treat `None` as the least.
    pub fn rights(&self) -> Option<WorkspaceRights> {
        self.extra
            .get(Self::RIGHTS_KEY)
            .and_then(|r| WorkspaceRights::parse(r))
    }

    /// Whether the caller administers the workspace (an administrator of the host).
    pub fn is_admin(&self) -> bool {
        self.rights() == Some(WorkspaceRights::Admin)
    }

    /// This context with the caller's `rights` set (what the host does; tests do it too).
    pub fn with_rights(mut self, rights: WorkspaceRights) -> CallContext {
        self.extra
            .insert(Self::RIGHTS_KEY.to_owned(), rights.as_str().to_owned());
        self
    }
}

/// A workspace's configuration, validated by the host against the plugin's manifest.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct WorkspaceConfig {
    /// The workspace id.
    pub id: String,
    /// Parameter values by manifest name, as strings (booleans are `true`/`false`).
    pub params: BTreeMap<String, String>,
}

impl std::fmt::Debug for WorkspaceConfig {
    /// Values are left out: some are secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkspaceConfig")
            .field("id", &self.id)
            .field("params", &self.params.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl WorkspaceConfig {
    /// A parameter's value, if set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A mandatory parameter, or an `InvalidInput` error naming it.
    pub fn require(&self, name: &str) -> Result<&str> {
        self.get(name).ok_or_else(|| {
            PluginError::invalid_input(format!(
                "workspace '{}': parameter {name} is required",
                self.id
            ))
        })
    }

    /// A boolean parameter (`true`/`false`, `1`/`0`, `yes`/`no`), `default` when unset.
    pub fn get_bool(&self, name: &str, default: bool) -> Result<bool> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some(other) => Err(PluginError::invalid_input(format!(
                "workspace '{}': parameter {name} must be a boolean, got '{other}'",
                self.id
            ))),
        }
    }

    /// An unsigned integer parameter, `default` when unset.
    pub fn get_u64(&self, name: &str, default: u64) -> Result<u64> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                PluginError::invalid_input(format!(
                    "workspace '{}': parameter {name} must be a whole number, got '{v}'",
                    self.id
                ))
            }),
        }
    }
}

/// A request for a plugin-specific action (`?get_action=NAME`).
pub struct ActionRequest {
    /// The action name, as declared in the manifest.
    pub name: String,
    /// The HTTP method (`GET`, `POST`, ...).
    pub method: String,
    /// Query parameters in order (repeated names stay repeated).
    pub query: Vec<(String, String)>,
    /// Request headers in order, names in lower case. Cookies and credentials are removed.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: ByteSource,
}

impl ActionRequest {
    /// The first query parameter called `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What an action answers: a status, headers and an optional streamed body.
pub struct ActionResponse {
    /// The HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<ByteSource>,
}

impl ActionResponse {
    /// A 200 answer with a JSON body.
    pub fn json(json: impl Into<String>) -> Self {
        Self::bytes("application/json", json.into().into_bytes())
    }

    /// A 200 answer with a body of the given content type.
    pub fn bytes(content_type: &str, body: Vec<u8>) -> Self {
        ActionResponse {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body: Some(Box::new(std::io::Cursor::new(body))),
        }
    }

    /// A 303 redirect to `location` (a browser follows it with GET).
    pub fn redirect(location: impl Into<String>) -> Self {
        ActionResponse {
            status: 303,
            headers: vec![("location".into(), location.into())],
            body: None,
        }
    }

    /// Sets the status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

/// The operations a driver implements, as data: the host and the conformance suite read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities(u64);

macro_rules! capabilities {
    ($($(#[$doc:meta])* $name:ident = $bit:expr, $label:literal;)*) => {
        impl Capabilities {
            $($(#[$doc])* pub const $name: Capabilities = Capabilities(1 << $bit);)*
            const NAMED: &'static [(Capabilities, &'static str)] = &[$((Capabilities::$name, $label)),*];
        }
    };
}

capabilities! {
    /// `stat`.
    STAT = 0, "stat";
    /// `list`.
    LIST = 1, "list";
    /// `read` of whole files.
    READ = 2, "read";
    /// `read` with a byte range.
    READ_RANGE = 3, "read_range";
    /// `write`.
    WRITE = 4, "write";
    /// `mkdir`.
    MKDIR = 5, "mkdir";
    /// `delete`.
    DELETE = 6, "delete";
    /// `rename` within a folder and into another folder (move).
    RENAME = 7, "rename";
    /// `copy`.
    COPY = 8, "copy";
    /// `verify`.
    VERIFY = 9, "verify";
    /// `stat` and `read` (opening a file and reading a small one) are local system calls
    /// that answer in microseconds and never wait on a network: the host may make these
    /// calls on its own async threads instead of its blocking pool, which saves the two
    /// thread hand-offs that are most of the cost of a small request. Such a call cannot be
    /// held to the plugin deadline, so the host goes back to the pool for a while after one
    /// that was slow. A local-disk driver sets it; a driver that talks to a server must not.
    QUICK = 10, "quick";
    /// `rename` (and move) is a copy then a delete, not one atomic step: a failure midway
    /// can leave both names, a reader may see both for a moment, and renaming a folder
    /// copies everything under it. Object stores (S3) set it beside `RENAME`; a client that
    /// needs an atomic rename checks it.
    RENAME_COPIES = 11, "rename_copies";
}

impl Capabilities {
    /// No capability.
    pub const NONE: Capabilities = Capabilities(0);
    /// What a read-only driver offers.
    pub const READ_ONLY: Capabilities = Capabilities(
        Self::STAT.0 | Self::LIST.0 | Self::READ.0 | Self::READ_RANGE.0 | Self::VERIFY.0,
    );
    /// Everything a full read-write driver offers.
    pub const ALL: Capabilities = Capabilities(
        Self::READ_ONLY.0
            | Self::WRITE.0
            | Self::MKDIR.0
            | Self::DELETE.0
            | Self::RENAME.0
            | Self::COPY.0,
    );

    /// True when every capability of `other` is in `self`.
    pub fn contains(self, other: Capabilities) -> bool {
        self.0 & other.0 == other.0
    }

    /// The raw bits, as they cross the ABI (unknown bits are kept, never an error).
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Capabilities from raw bits.
    pub const fn from_bits(bits: u64) -> Self {
        Capabilities(bits)
    }

    /// The names of the known capabilities set.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMED
            .iter()
            .filter(|(c, _)| self.contains(*c))
            .map(|(_, n)| *n)
            .collect()
    }
}

impl std::ops::BitOr for Capabilities {
    type Output = Capabilities;
    fn bitor(self, rhs: Capabilities) -> Capabilities {
        Capabilities(self.0 | rhs.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_helpers() {
        assert_eq!(file_name("a/b/c.txt"), "c.txt");
        assert_eq!(file_name("c.txt"), "c.txt");
        assert_eq!(parent("a/b/c.txt"), "a/b");
        assert_eq!(parent("c.txt"), "");
        assert_eq!(join("", "x"), "x");
        assert_eq!(join("a", "x"), "a/x");
    }

    #[test]
    fn times_round_trip_through_millis() {
        for ms in [0_i64, 1, 1_700_000_000_123, -86_400_000] {
            assert_eq!(to_millis(from_millis(ms)), ms);
        }
    }

    #[test]
    fn config_typed_getters() {
        let mut cfg = WorkspaceConfig {
            id: "w".into(),
            ..Default::default()
        };
        cfg.params.insert("B".into(), "yes".into());
        cfg.params.insert("N".into(), "12".into());
        cfg.params.insert("BAD".into(), "maybe".into());
        assert!(cfg.get_bool("B", false).unwrap());
        assert!(cfg.get_bool("MISSING", true).unwrap());
        assert!(cfg.get_bool("BAD", true).is_err());
        assert_eq!(cfg.get_u64("N", 0).unwrap(), 12);
        assert!(cfg
            .require("MISSING")
            .unwrap_err()
            .message
            .contains("MISSING"));
        assert!(!format!("{cfg:?}").contains("yes"), "Debug hides values");
    }

    #[test]
    fn rights_travel_in_extra_and_unknown_values_are_none() {
        let ctx = CallContext::default();
        assert_eq!(ctx.rights(), None);
        assert!(!ctx.is_admin());
        for rights in WorkspaceRights::ALL {
            let ctx = CallContext::default().with_rights(rights);
            assert_eq!(ctx.extra[CallContext::RIGHTS_KEY], rights.as_str());
            assert_eq!(ctx.rights(), Some(rights));
            assert_eq!(ctx.is_admin(), rights == WorkspaceRights::Admin);
        }
        let mut odd = CallContext::default();
        odd.extra.insert("rights".into(), "Admin".into());
        assert_eq!(odd.rights(), None, "spelled exactly, or not at all");
        assert!(WorkspaceRights::Read < WorkspaceRights::Write);
        assert!(WorkspaceRights::Write < WorkspaceRights::Admin);
    }

    #[test]
    fn capability_names() {
        let caps = Capabilities::STAT | Capabilities::WRITE;
        assert_eq!(caps.names(), vec!["stat", "write"]);
        assert!(Capabilities::ALL.contains(caps));
        assert!(!caps.contains(Capabilities::READ));
    }
}
