//! What every conformance case works with: the driver, the case's folder, and helpers that
//! perform one operation each and turn any surprise into a sentence saying what was expected
//! and what came back. A case is a function `&Fixture -> Check`.

use std::fmt::Debug;
use std::io::Read;

use crate::error::{ErrorKind, PluginError, Result};
use crate::plugin::Driver;
use crate::types::{join, parent, ByteRange, Entry, PageRequest, WriteOptions};

use super::options::Options;

/// The most pages a listing may take before the suite calls it endless.
const MAX_PAGES: u32 = 10_000;

/// The outcome of a case or of one step of it: `Err` says what went wrong.
pub(super) type Check = std::result::Result<(), String>;

/// Fails with `message` unless `condition` holds.
pub(super) fn ensure(condition: bool, message: impl FnOnce() -> String) -> Check {
    if condition {
        Ok(())
    } else {
        Err(message())
    }
}

/// The success value of `result`, or a sentence naming the step and the error.
pub(super) fn ok<T>(what: &str, result: Result<T>) -> std::result::Result<T, String> {
    result.map_err(|e| format!("{what} failed: {} ({})", e.kind, e.message))
}

/// Passes when `result` is an error of kind `want`.
pub(super) fn fails_with<T>(what: &str, result: Result<T>, want: ErrorKind) -> Check {
    match result {
        Err(e) if e.kind == want => Ok(()),
        Err(e) => Err(format!(
            "{what} returned kind {} ({}), expected {want}",
            e.kind, e.message
        )),
        Ok(_) => Err(format!("{what} succeeded, expected {want}")),
    }
}

/// Passes when `got == want`; the message names `what`.
pub(super) fn same<T: PartialEq + Debug>(what: &str, got: T, want: T) -> Check {
    ensure(got == want, || {
        format!("{what} is {got:?}, expected {want:?}")
    })
}

/// The driver, the options and the folder one case works in.
pub(super) struct Fixture<'a> {
    pub(super) driver: &'a dyn Driver,
    pub(super) options: &'a Options,
    /// The case's own scratch folder, or the base folder for cases that create nothing.
    pub(super) dir: String,
    /// A random suffix, for names that must not exist.
    pub(super) token: String,
}

impl Fixture<'_> {
    /// The path of `rel` (which may contain `/`) inside the case's folder.
    pub(super) fn path(&self, rel: &str) -> String {
        if rel.is_empty() {
            self.dir.clone()
        } else {
            join(&self.dir, rel)
        }
    }

    /// A name that does not exist in the case's folder.
    pub(super) fn missing(&self) -> String {
        format!("conformance-missing-{}", self.token)
    }

    pub(super) fn stat(&self, rel: &str) -> Result<Entry> {
        self.driver.stat(&self.options.context, &self.path(rel))
    }

    pub(super) fn mkdir(&self, rel: &str) -> Result<Entry> {
        self.driver.mkdir(&self.options.context, &self.path(rel))
    }

    pub(super) fn delete(&self, rel: &str) -> Result<()> {
        self.driver.delete(&self.options.context, &self.path(rel))
    }

    pub(super) fn rename(&self, from: &str, to: &str) -> Result<Entry> {
        let (from, to) = (self.path(from), self.path(to));
        self.driver.rename(&self.options.context, &from, &to)
    }

    pub(super) fn copy(&self, from: &str, to: &str) -> Result<Entry> {
        let (from, to) = (self.path(from), self.path(to));
        self.driver.copy(&self.options.context, &from, &to)
    }

    /// Writes `body` to `rel`, announcing `size` as the client would.
    pub(super) fn upload(
        &self,
        rel: &str,
        body: impl Read + Send + 'static,
        size: u64,
        overwrite: bool,
    ) -> Result<Entry> {
        let options = WriteOptions {
            overwrite,
            size_hint: Some(size),
        };
        let path = self.path(rel);
        self.driver
            .write(&self.options.context, &path, Box::new(body), options)
    }

    /// Writes `content` to `rel`, overwriting or not.
    pub(super) fn put_with(&self, rel: &str, content: &[u8], overwrite: bool) -> Result<Entry> {
        let body = std::io::Cursor::new(content.to_vec());
        self.upload(rel, body, content.len() as u64, overwrite)
    }

    /// Creates the file `rel` holding `content`, as a setup step.
    pub(super) fn put(&self, rel: &str, content: &[u8]) -> std::result::Result<Entry, String> {
        ok(
            &format!("setup: write of {rel}"),
            self.put_with(rel, content, false),
        )
    }

    /// Creates the folder `rel`, as a setup step.
    pub(super) fn folder(&self, rel: &str) -> std::result::Result<Entry, String> {
        ok(&format!("setup: mkdir of {rel}"), self.mkdir(rel))
    }

    /// Reads `rel` (or a range of it) to the end in small chunks, as the host does.
    pub(super) fn read(&self, rel: &str, range: Option<ByteRange>) -> Result<(Served, Vec<u8>)> {
        let mut result = self
            .driver
            .read(&self.options.context, &self.path(rel), range)?;
        let mut out = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match result.content.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(PluginError::from_io_error("read the content", e)),
            }
        }
        let meta = Served {
            entry: result.entry,
            range: result.range,
        };
        Ok((meta, out))
    }

    /// Passes when `rel` reads back as exactly `want`.
    pub(super) fn holds(&self, rel: &str, want: &[u8]) -> Check {
        let (_, got) = ok(&format!("read of {rel}"), self.read(rel, None))?;
        ensure(got == want, || {
            format!(
                "{rel} reads back {} bytes {}, expected {} bytes {}",
                got.len(),
                preview(&got),
                want.len(),
                preview(want)
            )
        })
    }

    /// Passes when `rel` does not exist (stat answers `NotFound`).
    pub(super) fn absent(&self, rel: &str, why: &str) -> Check {
        fails_with(
            &format!("stat of {rel} {why}"),
            self.stat(rel),
            ErrorKind::NotFound,
        )
    }

    /// Every entry of the folder `rel`, page by page with `limit`, checking the paging
    /// contract on the way: pages no larger than the limit, cursors that move forward, each
    /// entry once, and every entry a direct child of the folder.
    pub(super) fn list_all(
        &self,
        rel: &str,
        limit: u32,
    ) -> std::result::Result<Vec<Entry>, String> {
        let dir = self.path(rel);
        let mut all: Vec<Entry> = Vec::new();
        let mut cursors = Vec::new();
        let mut cursor = None;
        for page_no in 1..=MAX_PAGES {
            let page = PageRequest {
                cursor: cursor.clone(),
                limit,
            };
            let what = format!("list of {} (page {page_no}, limit {limit})", shown(&dir));
            let page = ok(&what, self.driver.list(&self.options.context, &dir, page))?;
            ensure(page.entries.len() <= limit as usize, || {
                format!(
                    "{what} returned {} entries, more than the limit",
                    page.entries.len()
                )
            })?;
            for entry in page.entries {
                ensure(parent(&entry.path) == dir && entry.path != dir, || {
                    format!(
                        "{what} returned the entry '{}', which is not a direct child of {}",
                        entry.path,
                        shown(&dir)
                    )
                })?;
                ensure(all.iter().all(|e| e.path != entry.path), || {
                    format!("{what} returned '{}' a second time", entry.path)
                })?;
                all.push(entry);
            }
            match page.next_cursor {
                None => return Ok(all),
                Some(next) if cursors.contains(&next) => {
                    return Err(format!(
                        "{what} handed back the cursor '{next}' a second time: the listing \
                         would never end"
                    ))
                }
                Some(next) => {
                    cursors.push(next.clone());
                    cursor = Some(next);
                }
            }
        }
        Err(format!(
            "the listing of {} did not end after {MAX_PAGES} pages of {limit}",
            shown(&dir)
        ))
    }
}

/// What a read answered besides its content.
pub(super) struct Served {
    pub(super) entry: Entry,
    pub(super) range: Option<ByteRange>,
}

/// A folder path as shown in messages (the root has an empty path).
pub(super) fn shown(path: &str) -> String {
    if path.is_empty() {
        "the root".to_owned()
    } else {
        format!("'{path}'")
    }
}

/// The first bytes of `data`, for messages.
fn preview(data: &[u8]) -> String {
    let head = &data[..data.len().min(16)];
    let more = if data.len() > head.len() { "…" } else { "" };
    format!("{:?}{more}", String::from_utf8_lossy(head))
}

/// The byte at `offset` of the generated content: position-dependent, so a chunk written or
/// read at the wrong offset shows up.
pub(super) fn pattern_byte(offset: u64) -> u8 {
    (offset.wrapping_mul(31) ^ (offset >> 11)).wrapping_add(offset >> 19) as u8
}

/// `len` bytes of generated content starting at offset 0.
pub(super) fn pattern(len: usize) -> Vec<u8> {
    (0..len as u64).map(pattern_byte).collect()
}

/// A reader producing `len` bytes of [`pattern_byte`] on the fly, so that a large write is
/// streamed from a generator and never held in memory by the suite.
pub(super) struct Generator {
    pub(super) offset: u64,
    pub(super) len: u64,
}

impl Read for Generator {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min((self.len - self.offset) as usize);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = pattern_byte(self.offset + i as u64);
        }
        self.offset += n as u64;
        Ok(n)
    }
}
