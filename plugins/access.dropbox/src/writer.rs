//! Uploads: a body up to `UPLOAD_CHUNK_SIZE` goes in one `files/upload`; a larger one goes
//! through an upload session (`start`, `append_v2`, `finish`) one chunk at a time, so an
//! upload holds one chunk in memory whatever its size. Nothing is committed before `finish`,
//! so a body that fails or ends short leaves the previous file intact.
//!
//! The Dropbox `content_hash` of the whole body is computed while it streams and compared to
//! the one of the committed file; each request also carries the hash of its own bytes, which
//! Dropbox checks on arrival.

use std::io::Read;

use bytes::Bytes;
use plugin_api::{
    CallContext, Driver, Entry, ErrorKind, PluginError, Result, WriteOptions, WsPath,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::backend::DropboxDriver;
use crate::core::Metadata;
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

    /// The lowercase hex hash.
    pub(crate) fn finish(mut self) -> String {
        if self.in_block > 0 {
            self.overall.update(self.block.finalize());
        }
        self.overall
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
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

/// Writes `path` from `body`.
pub(crate) fn write(
    driver: &DropboxDriver,
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
        match driver.stat(ctx, path) {
            Ok(_) => {
                return Err(PluginError::already_exists(format!(
                    "cannot {what}: it already exists"
                )))
            }
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    let cfg = driver.cfg();
    let commit = json!({
        "path": cfg.dropbox_path(path),
        "mode": if options.overwrite { "overwrite" } else { "add" },
        "autorename": false,
        "mute": true,
        "strict_conflict": false,
    });
    let chunk = cfg.chunk_size as usize;
    let mut hasher = ContentHasher::default();
    let mut buf = fill(&mut *body, chunk, &what)?;
    hasher.update(&buf);
    let mut total = buf.len() as u64;

    let upload = |route: &str, arg: Value, bytes: &Bytes| -> Result<Value> {
        driver.call(ctx, &mut |token| {
            driver.core().upload(cfg, token, route, &arg, bytes, &what)
        })
    };

    let answer = if buf.len() < chunk {
        check_size(options, total, &what)?;
        let mut arg = commit.clone();
        arg["content_hash"] = json!(content_hash(&buf));
        upload("files/upload", arg, &buf)?
    } else {
        let started = upload(
            "files/upload_session/start",
            json!({ "close": false, "content_hash": content_hash(&buf) }),
            &buf,
        )?;
        let session = started["session_id"]
            .as_str()
            .ok_or_else(|| bad_answer(&what, "no session_id"))?
            .to_owned();
        let mut offset = total;
        loop {
            // The previous chunk is sent: free it before reading the next (one chunk held).
            drop(std::mem::take(&mut buf));
            buf = fill(&mut *body, chunk, &what)?;
            hasher.update(&buf);
            total += buf.len() as u64;
            let cursor = json!({ "session_id": session, "offset": offset });
            if buf.len() < chunk {
                check_size(options, total, &what)?;
                let arg = json!({ "cursor": cursor, "commit": commit, "content_hash": content_hash(&buf) });
                break upload("files/upload_session/finish", arg, &buf)?;
            }
            let arg =
                json!({ "cursor": cursor, "close": false, "content_hash": content_hash(&buf) });
            // A retried append whose first try did arrive answers incorrect_offset with the
            // offset just past this chunk: the bytes are there, carry on.
            let after = total;
            let route = "files/upload_session/append_v2";
            driver.call(ctx, &mut |token| match driver
                .core()
                .upload(cfg, token, route, &arg, &buf, &what)
            {
                Err(ApiError::IncorrectOffset(n)) if n == after => Ok(Value::Null),
                other => other,
            })?;
            offset = total;
        }
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
}
