//! Uploads: a body up to `UPLOAD_CHUNK_SIZE` goes in one `files/upload`; a larger one goes
//! through an upload session (`start`, `append_v2`, `finish`) one chunk at a time. While one
//! chunk is being sent, a reader thread reads and hashes the next one, so an upload holds at
//! most two chunks in memory whatever its size. Nothing is committed before `finish`, so a
//! body that fails or ends short leaves the previous file intact.
//!
//! The Dropbox `content_hash` of the whole body is computed while it streams and compared to
//! the one of the committed file; each request also carries the hash of its own bytes, which
//! Dropbox checks on arrival. Every byte is hashed once: when a request starts on a 4 MiB
//! block boundary (always, with a chunk size that is a multiple of 4 MiB, like the default),
//! its hash and the whole body's are both made from the same block digests.

use std::io::Read;
use std::sync::mpsc;

use bytes::Bytes;
use plugin_api::{CallContext, Entry, ErrorKind, PluginError, Result, WriteOptions, WsPath};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::core::{Metadata, Workspace};
use crate::error::{bad_answer, shown, ApiError};

/// Dropbox's content_hash block size.
const BLOCK: usize = 4 * 1024 * 1024;

/// Dropbox's content_hash, fed incrementally.
#[derive(Default)]
pub(crate) struct ContentHasher {
    overall: Sha256,
    block: Sha256,
    in_block: usize,
}

impl ContentHasher {
    /// Adds bytes.
    pub(crate) fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let take = (BLOCK - self.in_block).min(data.len());
            self.block.update(&data[..take]);
            self.in_block += take;
            data = &data[take..];
            if self.in_block == BLOCK {
                let digest = std::mem::take(&mut self.block).finalize();
                self.overall.update(digest);
                self.in_block = 0;
            }
        }
    }

    /// Adds the bytes of one request and answers their own content_hash, hashing each byte
    /// once when the request starts on a block boundary: the request's hash and the whole
    /// body's are then made of the same block digests.
    pub(crate) fn update_request(&mut self, data: &[u8]) -> String {
        if self.in_block != 0 {
            self.update(data);
            return content_hash(data);
        }
        let mut request = Sha256::new();
        for block in data.chunks(BLOCK) {
            let mut h = Sha256::new();
            h.update(block);
            if block.len() == BLOCK {
                let digest = h.finalize();
                request.update(digest);
                self.overall.update(digest);
            } else {
                // The last, partial block: the body may go on (only in the last request).
                request.update(h.clone().finalize());
                self.block = h;
                self.in_block = block.len();
            }
        }
        hex(&request.finalize())
    }

    /// The lowercase hex hash.
    pub(crate) fn finish(mut self) -> String {
        if self.in_block > 0 {
            self.overall.update(self.block.finalize());
        }
        hex(&self.overall.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The Dropbox content_hash of `data`.
pub fn content_hash(data: &[u8]) -> String {
    let mut h = ContentHasher::default();
    h.update(data);
    h.finish()
}

/// Reads the next chunk: `limit` bytes, or fewer when the body ends.
fn fill(body: &mut dyn Read, limit: usize, what: &str) -> Result<Bytes> {
    let mut buf = Vec::with_capacity(limit.min(BLOCK));
    body.take(limit as u64)
        .read_to_end(&mut buf)
        .map_err(|e| PluginError::from_io_error(&format!("{what}: read the upload"), e))?;
    Ok(Bytes::from(buf))
}

/// One chunk of a session read ahead: its bytes and their content_hash.
type Chunk = Result<(Bytes, String)>;

/// The reader thread of a session: reads and hashes the chunks after the first, handing each
/// over as soon as the previous one is taken (a rendezvous: at most one chunk waits while one
/// is sent), and stops after a short chunk (the last), a failure, or when nobody takes them.
/// Answers the whole body's hasher once every chunk was read.
fn read_ahead(
    body: &mut dyn Read,
    mut hasher: ContentHasher,
    chunk: usize,
    what: &str,
    out: &mpsc::SyncSender<Chunk>,
) -> Option<ContentHasher> {
    loop {
        let next = fill(body, chunk, what).map(|buf| {
            let hash = hasher.update_request(&buf);
            (buf, hash)
        });
        let last = !matches!(&next, Ok((buf, _)) if buf.len() == chunk);
        let failed = next.is_err();
        if out.send(next).is_err() || failed {
            return None;
        }
        if last {
            return Some(hasher);
        }
    }
}

/// Writes `path` from `body`.
pub(crate) fn write(
    ws: &Workspace,
    ctx: &CallContext,
    path: &WsPath,
    mut body: plugin_api::ByteSource,
    options: WriteOptions,
) -> Result<Entry> {
    let what = format!("write '{}'", shown(path));
    if path.is_empty() {
        return Err(PluginError::conflict(format!(
            "cannot {what}: it is the workspace folder"
        )));
    }
    if !options.overwrite {
        match ws.stat(ctx, path) {
            Ok(_) => {
                return Err(PluginError::already_exists(format!(
                    "cannot {what}: it already exists"
                )))
            }
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    let cfg = ws.cfg();
    let commit = json!({
        "path": cfg.dropbox_path(path),
        "mode": if options.overwrite { "overwrite" } else { "add" },
        "autorename": false,
        "mute": true,
        "strict_conflict": false,
    });
    let chunk = cfg.chunk_size as usize;
    let mut hasher = ContentHasher::default();
    let first = fill(&mut *body, chunk, &what)?;
    let first_hash = hasher.update_request(&first);
    let mut total = first.len() as u64;

    let upload = |route: &str, arg: Value, bytes: &Bytes| -> Result<Value> {
        ws.call(ctx, &mut |token| {
            ws.core().upload(cfg, token, route, &arg, bytes, &what)
        })
    };

    let (answer, hasher) = if first.len() < chunk {
        check_size(options, total, &what)?;
        let mut arg = commit.clone();
        arg["content_hash"] = json!(first_hash);
        (upload("files/upload", arg, &first)?, hasher)
    } else {
        // The next chunks are read and hashed by a reader thread while each one is sent.
        let (tx, rx) = mpsc::sync_channel::<Chunk>(0);
        let what = what.as_str();
        std::thread::scope(|scope| {
            let reader = std::thread::Builder::new()
                .name("dropbox-upload-reader".into())
                .spawn_scoped(scope, move || {
                    read_ahead(&mut *body, hasher, chunk, what, &tx)
                })
                .map_err(|e| {
                    PluginError::from_io_error(&format!("{what}: start the upload reader"), e)
                })?;
            let sent = (|| {
                let started = upload(
                    "files/upload_session/start",
                    json!({ "close": false, "content_hash": first_hash }),
                    &first,
                )?;
                drop(first); // sent: one chunk held by this thread at a time
                let session = started["session_id"]
                    .as_str()
                    .ok_or_else(|| bad_answer(what, "no session_id"))?
                    .to_owned();
                let mut offset = total;
                loop {
                    let (buf, hash) = rx.recv().map_err(|_| {
                        PluginError::internal(format!("cannot {what}: the upload reader stopped"))
                    })??;
                    total += buf.len() as u64;
                    let cursor = json!({ "session_id": session, "offset": offset });
                    if buf.len() < chunk {
                        check_size(options, total, what)?;
                        let arg =
                            json!({ "cursor": cursor, "commit": commit, "content_hash": hash });
                        break upload("files/upload_session/finish", arg, &buf);
                    }
                    let arg = json!({ "cursor": cursor, "close": false, "content_hash": hash });
                    // A retried append whose first try did arrive answers incorrect_offset with
                    // the offset just past this chunk: the bytes are there, carry on.
                    let after = total;
                    let route = "files/upload_session/append_v2";
                    ws.call(ctx, &mut |token| match ws
                        .core()
                        .upload(cfg, token, route, &arg, &buf, what)
                    {
                        Err(ApiError::IncorrectOffset(n)) if n == after => Ok(Value::Null),
                        other => other,
                    })?;
                    offset = total;
                }
            })();
            // On a failure the reader stops at its next hand-over (the receiver is gone).
            drop(rx);
            let hasher = reader.join().map_err(|_| {
                PluginError::internal(format!("cannot {what}: the upload reader panicked"))
            })?;
            let answer = sent?;
            let hasher = hasher.ok_or_else(|| {
                PluginError::internal(format!("cannot {what}: the upload reader stopped"))
            })?;
            Ok::<_, PluginError>((answer, hasher))
        })?
    };
    let meta = Metadata::parse(&answer, &what)?;
    let expected = hasher.finish();
    match meta.content_hash.as_deref() {
        Some(got) if got != expected => Err(PluginError::internal(format!(
            "cannot {what}: Dropbox stored content that differs from what was sent (content_hash mismatch)"
        ))),
        _ if meta.size != total => Err(PluginError::internal(format!(
            "cannot {what}: Dropbox stored {} bytes of {total}",
            meta.size
        ))),
        _ => Ok(meta.entry(path.to_owned())),
    }
}

fn check_size(options: WriteOptions, total: u64, what: &str) -> Result<()> {
    match options.size_hint {
        Some(hint) if hint != total => Err(PluginError::invalid_input(format!(
            "cannot {what}: the body has {total} bytes but {hint} were announced"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_vectors() {
        let zeros = vec![0u8; BLOCK + 1];
        let cases: [(&[u8], &str); 4] = [
            (
                b"",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                b"hello world",
                "bc62d4b80d9e36da29c16c5d4d9f11731f36052c72401a76c23c0fb5a9b74423",
            ),
            (
                &zeros[..BLOCK],
                "c7e946d101855255d919ef0c70718633adf77d3dfb3adeeecf5d0cb4e951be58",
            ),
            (
                &zeros,
                "14a4d47f23a30177885d9820122f17d2d3a55fe63f7f5c27b95f689e0b2accd6",
            ),
        ];
        for (data, hash) in cases {
            assert_eq!(content_hash(data), hash, "{} bytes", data.len());
            // Fed in odd pieces, the same answer.
            let mut h = ContentHasher::default();
            for piece in data.chunks(999_983) {
                h.update(piece);
            }
            assert_eq!(h.finish(), hash);
        }
    }

    #[test]
    fn request_hashes_share_the_block_digests() {
        let data: Vec<u8> = (0..(3 * BLOCK + 12_345) as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        // Aligned requests (the single-pass path), then unaligned ones (the fallback), then
        // a mix: every request hash is that request's own, the whole hash the body's.
        for sizes in [
            vec![2 * BLOCK, 2 * BLOCK],
            vec![BLOCK, BLOCK, BLOCK, BLOCK],
            vec![1000, BLOCK, 2 * BLOCK, BLOCK],
            vec![BLOCK, 5, BLOCK + 7, 4 * BLOCK],
            vec![data.len()],
        ] {
            let mut h = ContentHasher::default();
            let mut at = 0;
            for size in sizes {
                let piece = &data[at..(at + size).min(data.len())];
                assert_eq!(h.update_request(piece), content_hash(piece));
                at += piece.len();
            }
            assert_eq!(at, data.len());
            assert_eq!(h.finish(), content_hash(&data));
        }
    }
}
