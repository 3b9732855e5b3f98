//! `read`: one GetObject, with a `Range` header for a range; the answer's body is handed to
//! the host as it arrives, so no object is ever held in memory. A 404 is told apart from a
//! folder by a listing; a 416 is a range past the end.

use std::io::{self, Read};

use plugin_api::{ByteRange, PluginError, ReadResult, Result};
use reqwest::blocking::Response;

use crate::core::{entry_of, Client, Failure};
use crate::error::{self, Op};

pub(crate) fn read(client: &Client, path: &str, range: Option<ByteRange>) -> Result<ReadResult> {
    if path.is_empty() {
        return Err(PluginError::conflict(error::cannot(
            Op::Read,
            path,
            "it is a folder",
        )));
    }
    let key = client.key(path);
    // A zero-length range asks for one byte: S3 has no empty range, and the answer still
    // tells whether the start is inside the file.
    let header = range.map(|r| match r.len {
        Some(len) => format!("bytes={}-{}", r.start, r.start + len.max(1) - 1),
        None => format!("bytes={}-", r.start),
    });
    let answer = client.try_send(|| {
        let req = client.request(client.bucket().get_object(Some(client.creds()), &key), &[]);
        match &header {
            Some(h) => req.header("range", h),
            None => req,
        }
    });
    let resp = match answer {
        Ok(resp) => resp,
        Err(f) if f.is_not_found() => {
            return Err(if client.dir_exists(Op::Read, path)? {
                PluginError::conflict(error::cannot(Op::Read, path, "it is a folder"))
            } else {
                error::missing(Op::Read, path)
            })
        }
        Err(Failure::S3(f)) if f.status == 416 => {
            return Err(f.to_plugin(&client.cfg, Op::Read, path));
        }
        Err(f) => return Err(client.fail(f, Op::Read, path)),
    };
    let served = resp.status().as_u16() == 206;
    let (entry, range) = match (range, served) {
        (Some(asked), true) => {
            let (start, end, total) = content_range(&resp).ok_or_else(|| {
                PluginError::internal(error::cannot(
                    Op::Read,
                    path,
                    "S3 answered 206 without a Content-Range",
                ))
            })?;
            let len = if asked.len == Some(0) {
                0
            } else {
                end + 1 - start
            };
            (
                entry_of(path, &resp, Some(total)),
                Some(ByteRange {
                    start,
                    len: Some(len),
                }),
            )
        }
        // The whole object (a server that ignores Range, or a range covering it all).
        (Some(asked), false) if asked.start == 0 => {
            let entry = entry_of(path, &resp, None);
            let len = asked.len.map_or(entry.size, |l| l.min(entry.size));
            (
                entry,
                Some(ByteRange {
                    start: 0,
                    len: Some(len),
                }),
            )
        }
        (Some(_), false) => {
            return Err(PluginError::internal(error::cannot(
                Op::Read,
                path,
                "S3 ignored the Range header and sent the whole object",
            )))
        }
        (None, _) => (entry_of(path, &resp, None), None),
    };
    let limit = range.and_then(|r| r.len).unwrap_or(u64::MAX);
    Ok(ReadResult {
        entry,
        range,
        content: Box::new(
            Body {
                resp,
                path: path.to_owned(),
            }
            .take(limit),
        ),
    })
}

/// `Content-Range: bytes START-END/TOTAL`.
fn content_range(resp: &Response) -> Option<(u64, u64, u64)> {
    let v = resp.headers().get("content-range")?.to_str().ok()?;
    let (span, total) = v.strip_prefix("bytes ")?.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    Some((start.parse().ok()?, end.parse().ok()?, total.parse().ok()?))
}

/// The body of a GetObject; a cut connection becomes an `Unavailable` error naming the file.
struct Body {
    resp: Response,
    path: String,
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.resp.read(buf).map_err(|e| {
            io::Error::from(PluginError::new(
                plugin_api::ErrorKind::Unavailable,
                error::cannot(Op::Read, &self.path, format!("the download was cut: {e}")),
            ))
        })
    }
}
