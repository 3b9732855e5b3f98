//! Zip downloads of a folder or a selection. The tree is walked first, through the
//! plugin-call layer like every listing, and bounded by `limits.max_archive_entries` and
//! `limits.max_archive_bytes`, so a refusal comes before the first byte. The archive is then
//! written while it is sent: zip's stream writer (entries with data descriptors, ZIP64 where
//! a file needs it, UTF-8 names flagged) runs on a blocking thread, reads each file through
//! the plugin-call layer, and hands chunks to the response through the bounded channel every
//! download uses. Memory stays at a few chunks whatever the size; the plugin deadline holds
//! per read; a client that goes away closes the channel, which stops the reads.

use std::io::{self, Write};
use std::time::SystemTime;

use axum::http::{header, StatusCode};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use plugin_api::{file_name, parent, PageRequest};
use tokio::sync::mpsc;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::files::disposition;
use crate::app::error::AppError;
use crate::app::Shared;
use crate::plugins::call::DriverTarget;
use crate::plugins::read::Content;
use crate::plugins::stream::{chunk_channel, copy_announced, stalling_body, CopyFailure, CHUNK};
use crate::store::Store;
use crate::telemetry::{self, Direction, Transfer};

/// One entry of the archive to write.
struct Item {
    /// The path in the workspace.
    path: String,
    /// The name in the archive (a folder's ends with `/`).
    name: String,
    dir: bool,
    modified: Option<SystemTime>,
}

/// What a zip download writes: every entry, in order, and the bytes of its files.
pub(crate) struct Archive {
    items: Vec<Item>,
    deflate: bool,
}

impl Archive {
    /// Walks `nodes` (normalized paths) with `driver`, bounded by the limits. Entries are
    /// named relative to the nodes' common parent folder, so a folder's archive holds the
    /// folder, and a selection in one folder holds the selected names.
    pub(crate) async fn plan(
        state: &Shared,
        driver: &DriverTarget,
        nodes: &[String],
        deflate: bool,
    ) -> Result<Archive, AppError> {
        let limits = state.config.limits;
        let base = common_parent(nodes);
        let mut walk = Walk {
            items: Vec::new(),
            bytes: 0,
            max_entries: limits.max_archive_entries as usize,
            max_bytes: limits.max_archive_bytes,
        };
        let mut folders = Vec::new();
        for node in nodes {
            let entry = driver.stat(state, node.clone()).await?;
            walk.add(&base, &entry)?;
            if entry.is_dir {
                folders.push(entry.path);
            }
        }
        // Depth-first, one page at a time: only the paths of folders still to list are held.
        while let Some(dir) = folders.pop() {
            let mut cursor = None;
            loop {
                let page = PageRequest {
                    cursor,
                    limit: limits.max_page,
                };
                let listing = driver.list(state, dir.clone(), page).await?;
                if listing.skipped > 0 {
                    tracing::warn!(
                        "zip of '{dir}': {} entries left out, their names cannot be sent back as paths",
                        listing.skipped
                    );
                }
                for entry in &listing.entries {
                    walk.add(&base, entry)?;
                    if entry.is_dir {
                        folders.push(entry.path.clone());
                    }
                }
                cursor = listing.next_cursor;
                if cursor.is_none() {
                    break;
                }
            }
        }
        Ok(Archive {
            items: walk.items,
            deflate,
        })
    }

    /// The `200 application/zip` response, written while it is sent.
    pub(crate) fn response(self, state: Shared, driver: DriverTarget, name: &str) -> Response {
        let (tx, rx) = chunk_channel();
        let plugin = telemetry::serving_plugin().unwrap_or_default();
        let runtime = tokio::runtime::Handle::current();
        let span = tracing::Span::current();
        let stall_limit = state.config.limits.plugin_timeout;
        tokio::task::spawn_blocking(move || {
            let _span = span.enter();
            let entries = self.items.len();
            let sink = Sink {
                tx: tx.clone(),
                buf: BytesMut::with_capacity(CHUNK),
                transfer: Transfer::start(Direction::Download, &plugin),
            };
            match self.write(sink, &runtime, &state, &driver) {
                Ok(()) => tracing::debug!("zip download of {entries} entries sent"),
                Err(Stop::ClientGone(written)) => tracing::info!(
                    "zip download stopped after {written} of {entries} entries: the client went away"
                ),
                Err(Stop::Failed(why)) => {
                    tracing::error!("zip download cut: {why}");
                    let _ = tx.blocking_send(Err(io::Error::other(why)));
                }
            }
        });
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/zip")
            .header(header::CONTENT_DISPOSITION, disposition(name))
            .body(stalling_body(rx, stall_limit))
            .expect("static headers are valid")
    }

    /// Writes every entry into `sink`. A file that vanished or cannot be read since the walk
    /// is left out and named in the archive's comment, which every unzip tool shows.
    fn write(
        self,
        sink: Sink,
        runtime: &tokio::runtime::Handle,
        state: &Shared,
        driver: &DriverTarget,
    ) -> Result<(), Stop> {
        let mut zip = ZipWriter::new_stream(sink);
        let method = if self.deflate {
            CompressionMethod::Deflated
        } else {
            CompressionMethod::Stored
        };
        let entries = self.items.len();
        let mut left_out = Vec::new();
        // One buffer for every streamed file.
        let mut buf = vec![0; CHUNK];
        for (written, item) in self.items.into_iter().enumerate() {
            let stop = |e: io::Error| Stop::of(e, written);
            let mut options = SimpleFileOptions::default().compression_method(method);
            if let Some(time) = item.modified.and_then(zip_time) {
                options = options.last_modified_time(time);
            }
            if item.dir {
                zip.add_directory(&item.name, options.unix_permissions(0o755))
                    .map_err(|e| stop(e.into()))?;
                continue;
            }
            let read = runtime.block_on(Store::request_scope(driver.read(
                state,
                item.path.clone(),
                None,
            )));
            let (length, content) = match read {
                Ok(read) => (read.length(), read.content),
                Err(e) => {
                    tracing::warn!("zip: '{}' left out: {}", item.path, e.message());
                    left_out.push(format!("{} ({})", item.name, e.parts().1));
                    continue;
                }
            };
            // The size the read announces, which may have changed since the walk.
            let options = options
                .large_file(length >= u64::from(u32::MAX))
                .unix_permissions(0o644);
            zip.start_file(&item.name, options)
                .map_err(|e| stop(e.into()))?;
            match content {
                Content::Whole(bytes) => zip.write_all(&bytes).map_err(stop)?,
                Content::Stream(mut source) => {
                    copy_announced(&mut source, length, &mut buf, &mut zip).map_err(
                        |f| match f {
                            CopyFailure::Sink(e) => stop(e),
                            CopyFailure::Source(why) => {
                                Stop::Failed(format!("reading '{}': {why}", item.path))
                            }
                        },
                    )?
                }
            }
        }
        if !left_out.is_empty() {
            let comment = format!(
                "wshost: {} file(s) could not be read and were left out: {}",
                left_out.len(),
                left_out.join(", ")
            );
            zip.set_comment(comment)
                .map_err(|e| Stop::Failed(format!("the archive's comment: {e}")))?;
        }
        let written = zip.finish().map_err(|e| Stop::of(e.into(), entries))?;
        let mut sink = written.into_inner();
        sink.flush().map_err(|e| Stop::of(e, entries))
    }
}

/// Why writing an archive ended early.
enum Stop {
    /// The client closed the connection after this many entries.
    ClientGone(usize),
    /// A read or the writer failed: the response is cut, so the client sees a broken archive.
    Failed(String),
}

impl Stop {
    fn of(e: io::Error, written: usize) -> Stop {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Stop::ClientGone(written)
        } else {
            Stop::Failed(format!("writing the archive: {e}"))
        }
    }
}

/// The walk's entries so far, against the limits.
struct Walk {
    items: Vec<Item>,
    bytes: u64,
    max_entries: usize,
    max_bytes: u64,
}

impl Walk {
    fn add(&mut self, base: &str, entry: &plugin_api::Entry) -> Result<(), AppError> {
        let relative = match base {
            "" => entry.path.as_str(),
            base => entry.path.get(base.len() + 1..).unwrap_or(&entry.path),
        };
        // The root of a workspace, downloaded whole, is the archive's root: no entry.
        if relative.is_empty() {
            return Ok(());
        }
        self.bytes += if entry.is_dir { 0 } else { entry.size };
        if self.items.len() >= self.max_entries {
            return Err(AppError::InvalidParam {
                name: "nodes[]",
                reason: format!(
                    "the archive would hold more than {} entries (limits.max_archive_entries)",
                    self.max_entries
                ),
            });
        }
        if self.bytes > self.max_bytes {
            return Err(AppError::TooLarge {
                what: "archive",
                limit: self.max_bytes,
            });
        }
        self.items.push(Item {
            path: entry.path.clone(),
            name: if entry.is_dir {
                format!("{relative}/")
            } else {
                relative.to_owned()
            },
            dir: entry.is_dir,
            modified: entry.modified,
        });
        Ok(())
    }
}

/// The longest folder that holds every node (the root when they share none). A single
/// folder's parent, so that its archive holds the folder itself.
fn common_parent(nodes: &[String]) -> String {
    let mut base = nodes.first().map_or("", |n| parent(n)).to_owned();
    for node in nodes {
        while !base.is_empty() && !node.starts_with(&format!("{base}/")) {
            base = parent(&base).to_owned();
        }
    }
    base
}

/// The name of the archive of `nodes`: `archive_name` if given, else the single node's name,
/// else the folder holding them, else `fallback` (the workspace id); `.zip` added when absent.
pub(crate) fn archive_name(asked: Option<&str>, nodes: &[String], fallback: &str) -> String {
    let name = match (asked, nodes) {
        (Some(asked), _) if !asked.trim().is_empty() => asked.trim().to_owned(),
        (_, [one]) if !one.is_empty() => file_name(one).to_owned(),
        _ => match common_parent(nodes) {
            base if base.is_empty() => fallback.to_owned(),
            base => file_name(&base).to_owned(),
        },
    };
    if name.to_ascii_lowercase().ends_with(".zip") {
        name
    } else {
        format!("{name}.zip")
    }
}

/// A modification time as zip's DOS time (UTC; zip cannot hold years before 1980).
fn zip_time(t: SystemTime) -> Option<DateTime> {
    // RFC 3339 has fixed positions: 2024-05-01T12:34:56Z.
    let s = humantime::format_rfc3339_seconds(t).to_string();
    let n = |range: std::ops::Range<usize>| s.get(range)?.parse::<u16>().ok();
    DateTime::from_date_and_time(
        n(0..4)?,
        n(5..7)? as u8,
        n(8..10)? as u8,
        n(11..13)? as u8,
        n(14..16)? as u8,
        n(17..19)? as u8,
    )
    .ok()
}

/// The writer zip writes into: chunks of [`CHUNK`] bytes sent to the response; a closed
/// channel (the client went away) is a broken pipe, which stops the writer.
struct Sink {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: BytesMut,
    transfer: Transfer,
}

impl Sink {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = self.buf.split().freeze();
        self.transfer.bytes(chunk.len());
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        self.buf.reserve(CHUNK);
        Ok(())
    }
}

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // The buffer is sent as soon as it is full, so there is always room here.
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn entries_are_named_from_the_common_parent() {
        assert_eq!(common_parent(&strings(&["a/b/c"])), "a/b");
        assert_eq!(common_parent(&strings(&["a/b/c", "a/b/d"])), "a/b");
        assert_eq!(common_parent(&strings(&["a/b/c", "a/x"])), "a");
        assert_eq!(common_parent(&strings(&["a/b", "ab/c"])), "");
        assert_eq!(common_parent(&strings(&[""])), "");
    }

    #[test]
    fn archive_names() {
        assert_eq!(
            archive_name(None, &strings(&["d/photos"]), "ws"),
            "photos.zip"
        );
        assert_eq!(archive_name(None, &strings(&["d/a", "d/b"]), "ws"), "d.zip");
        assert_eq!(archive_name(None, &strings(&["a", "b"]), "ws"), "ws.zip");
        assert_eq!(archive_name(None, &strings(&[""]), "ws"), "ws.zip");
        assert_eq!(archive_name(Some("x.ZIP"), &[], "ws"), "x.ZIP");
        assert_eq!(archive_name(Some(" "), &strings(&["a"]), "ws"), "a.zip");
    }

    #[test]
    fn times_before_1980_are_left_out() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_714_566_896);
        let z = zip_time(t).unwrap();
        assert_eq!((z.year(), z.month(), z.day()), (2024, 5, 1));
        assert_eq!((z.hour(), z.minute(), z.second()), (12, 34, 56));
        assert!(zip_time(SystemTime::UNIX_EPOCH).is_none());
    }
}
