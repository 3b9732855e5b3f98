//! `write` in bounded memory: the body is read into one buffer of `PART_SIZE`. A body that
//! ends before the buffer is full is one PutObject; a longer one is a multipart upload whose
//! parts are sent as they fill, one buffer at a time, so a write holds at most one part.
//!
//! Every PUT carries the body's `Content-MD5`, which S3 checks (a part damaged on the way is
//! refused with BadDigest and sent again), and the ETag S3 answers is compared with the MD5 the
//! driver computed (except under SSE-KMS, where the ETag is not an MD5). S3 makes an object
//! visible only when its PutObject or CompleteMultipartUpload succeeds, so a body that fails
//! midway leaves nothing under the key; the multipart upload of such a body is aborted, which
//! frees its parts (none is left billed as an orphan).

use std::io::Read;

use base64::Engine as _;
use bytes::Bytes;
use md5::{Digest as _, Md5};
use plugin_api::{ByteSource, Entry, PluginError, Result, WriteOptions};
use rusty_s3::actions::CreateMultipartUpload;

use crate::config::{Sse, MAX_PARTS};
use crate::core::Client;
use crate::error::{self, Op, S3Failure};

pub(crate) fn write(
    client: &Client,
    path: &str,
    mut body: ByteSource,
    options: WriteOptions,
) -> Result<Entry> {
    check_target(client, path, options)?;
    let key = client.key(path);
    let part_size = client.cfg.part_size as usize;
    let mut buf = Vec::with_capacity(part_size.min(1 << 20));
    let first = fill(&mut body, &mut buf, part_size, path)?;
    let size = if first < part_size {
        check_length(path, first as u64, options)?;
        put_object(client, path, &key, Bytes::from(buf))?;
        first as u64
    } else {
        Multipart::start(client, path, &key)?.run(&mut body, buf, options)?
    };
    Ok(Entry::file(path, size))
}

/// Refuses a write onto a folder, onto a file without overwrite, or into a missing folder.
fn check_target(client: &Client, path: &str, options: WriteOptions) -> Result<()> {
    if path.is_empty() || client.dir_exists(Op::Write, path)? {
        return Err(PluginError::conflict(error::cannot(
            Op::Write,
            path,
            "a folder of that name exists",
        )));
    }
    if !options.overwrite && client.head_file(Op::Write, path)?.is_some() {
        return Err(error::exists(Op::Write, path));
    }
    let parent = plugin_api::parent(path);
    if !client.dir_exists(Op::Write, parent)? {
        return Err(if client.head_file(Op::Write, parent)?.is_some() {
            PluginError::conflict(error::cannot(
                Op::Write,
                path,
                format!("'{}' is a file, not a folder", error::shown(parent)),
            ))
        } else {
            PluginError::not_found(error::cannot(
                Op::Write,
                path,
                format!("the folder '{}' does not exist", error::shown(parent)),
            ))
        });
    }
    Ok(())
}

/// Reads `body` into `buf` (emptied first) until it holds `size` bytes or the body ends.
fn fill(body: &mut ByteSource, buf: &mut Vec<u8>, size: usize, path: &str) -> Result<usize> {
    buf.clear();
    let read = body
        .by_ref()
        .take(size as u64)
        .read_to_end(buf)
        .map_err(|e| {
            PluginError::from_io_error(
                &format!("write '{}': read the upload", error::shown(path)),
                e,
            )
        })?;
    Ok(read)
}

/// A body whose length differs from the announced one is refused: the client was cut off.
fn check_length(path: &str, got: u64, options: WriteOptions) -> Result<()> {
    match options.size_hint {
        Some(hint) if hint != got => Err(PluginError::invalid_input(error::cannot(
            Op::Write,
            path,
            format!("the body has {got} bytes, {hint} were announced"),
        ))),
        _ => Ok(()),
    }
}

/// `Content-MD5` (base64) and the hex MD5 the ETag should be.
fn digests(bytes: &[u8]) -> (String, String) {
    let md5 = Md5::digest(bytes);
    let hex = md5.iter().map(|b| format!("{b:02x}")).collect();
    (base64::engine::general_purpose::STANDARD.encode(md5), hex)
}

/// The ETag of an answer must be the MD5 sent, unless S3 encrypts with KMS.
fn check_etag(client: &Client, path: &str, etag: Option<&str>, md5_hex: &str) -> Result<String> {
    let etag = etag.unwrap_or("").trim_matches('"').to_owned();
    if !matches!(client.cfg.sse, Sse::Kms(_)) && !etag.eq_ignore_ascii_case(md5_hex) {
        return Err(PluginError::internal(error::cannot(
            Op::Write,
            path,
            format!("S3 stored other bytes than sent: ETag '{etag}', MD5 of the body {md5_hex}"),
        )));
    }
    Ok(etag)
}

fn put_object(client: &Client, path: &str, key: &str, bytes: Bytes) -> Result<()> {
    let (content_md5, hex) = digests(&bytes);
    let headers = client.write_headers();
    let resp = client.send(Op::Write, path, || {
        client
            .request(
                client.bucket().put_object(Some(client.creds()), key),
                &headers,
            )
            .header("content-md5", &content_md5)
            .body(bytes.clone())
    })?;
    let etag = resp.headers().get("etag").and_then(|v| v.to_str().ok());
    check_etag(client, path, etag, &hex).map(drop)
}

/// One multipart upload in progress; dropped without [`Multipart::complete`], it is aborted.
pub(crate) struct Multipart<'c> {
    client: &'c Client,
    path: &'c str,
    key: &'c str,
    upload_id: String,
    etags: Vec<String>,
    done: bool,
}

impl<'c> Multipart<'c> {
    pub(crate) fn start(client: &'c Client, path: &'c str, key: &'c str) -> Result<Multipart<'c>> {
        let headers = client.write_headers();
        let text = client.text(Op::Write, path, || {
            client.request(
                client
                    .bucket()
                    .create_multipart_upload(Some(client.creds()), key),
                &headers,
            )
        })?;
        let created = CreateMultipartUpload::parse_response(&text)
            .map_err(|e| crate::core::bad_xml(Op::Write, path, "CreateMultipartUpload", e))?;
        Ok(Multipart {
            client,
            path,
            key,
            upload_id: created.upload_id().to_owned(),
            etags: Vec::new(),
            done: false,
        })
    }

    /// Sends `buf` (already full) and the rest of `body`, part by part; the object's size.
    fn run(
        mut self,
        body: &mut ByteSource,
        mut buf: Vec<u8>,
        options: WriteOptions,
    ) -> Result<u64> {
        let part_size = self.client.cfg.part_size as usize;
        let mut size = 0u64;
        loop {
            let len = buf.len();
            if len > 0 {
                // The part's buffer goes to the request (a retry shares it); the next part
                // is read into a new one.
                self.upload_part(Bytes::from(std::mem::take(&mut buf)))?;
                size += len as u64;
            }
            if len < part_size {
                break;
            }
            buf = Vec::with_capacity(part_size);
            fill(body, &mut buf, part_size, self.path)?;
        }
        check_length(self.path, size, options)?;
        self.complete()?;
        Ok(size)
    }

    fn upload_part(&mut self, bytes: Bytes) -> Result<()> {
        let number = self.etags.len() as u64 + 1;
        if number > MAX_PARTS {
            return Err(PluginError::invalid_input(error::cannot(
                Op::Write,
                self.path,
                format!("the file needs more than S3's {MAX_PARTS} parts of PART_SIZE {} bytes: raise PART_SIZE", self.client.cfg.part_size),
            )));
        }
        let (client, key, id) = (self.client, self.key, self.upload_id.as_str());
        let (content_md5, hex) = digests(&bytes);
        let resp = client.send(Op::Write, self.path, || {
            client
                .request(
                    client
                        .bucket()
                        .upload_part(Some(client.creds()), key, number as u16, id),
                    &[],
                )
                .header("content-md5", &content_md5)
                .body(bytes.clone())
        })?;
        let etag = resp.headers().get("etag").and_then(|v| v.to_str().ok());
        let etag = check_etag(client, self.path, etag, &hex)?;
        self.etags.push(format!("\"{etag}\""));
        Ok(())
    }

    /// UploadPartCopy: the next part is bytes `start..=end` of the object at `source_key`.
    pub(crate) fn copy_part(&mut self, source_key: &str, start: u64, end: u64) -> Result<()> {
        let number = self.etags.len() as u16 + 1;
        let (client, key, id) = (self.client, self.key, self.upload_id.as_str());
        let headers = [
            ("x-amz-copy-source", client.copy_source(source_key)),
            ("x-amz-copy-source-range", format!("bytes={start}-{end}")),
        ];
        let text = client.text(Op::Copy, self.path, || {
            client.request(
                client
                    .bucket()
                    .upload_part(Some(client.creds()), key, number, id),
                &headers,
            )
        })?;
        if let Some(failure) = S3Failure::in_body(&text) {
            return Err(failure.to_plugin(&client.cfg, Op::Copy, self.path));
        }
        let etag = crate::core::copy_result_etag(&text).ok_or_else(|| {
            crate::core::bad_xml(Op::Copy, self.path, "UploadPartCopy", "no ETag")
        })?;
        self.etags.push(format!("\"{}\"", etag.trim_matches('"')));
        Ok(())
    }

    pub(crate) fn complete(mut self) -> Result<()> {
        let (client, key, id) = (self.client, self.key, self.upload_id.as_str());
        let body = client
            .bucket()
            .complete_multipart_upload(
                Some(client.creds()),
                key,
                id,
                self.etags.iter().map(String::as_str),
            )
            .body();
        let text = client.text(Op::Write, self.path, || {
            let action = client.bucket().complete_multipart_upload(
                Some(client.creds()),
                key,
                id,
                self.etags.iter().map(String::as_str),
            );
            client.request(action, &[]).body(body.clone())
        })?;
        // S3 sends 200 at once and reports a failure of the assembly in the body.
        if let Some(failure) = S3Failure::in_body(&text) {
            return Err(failure.to_plugin(&client.cfg, Op::Write, self.path));
        }
        crate::core::copy_result_etag(&text).ok_or_else(|| {
            crate::core::bad_xml(Op::Write, self.path, "CompleteMultipartUpload", "no ETag")
        })?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Multipart<'_> {
    /// An upload that did not complete (the body failed, a part was refused, the length was
    /// wrong) is aborted, so that its parts are freed; its error is the one reported.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let (client, key, id) = (self.client, self.key, self.upload_id.as_str());
        let _ = client.try_send(|| {
            client.request(
                client
                    .bucket()
                    .abort_multipart_upload(Some(client.creds()), key, id),
                &[],
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_md5() {
        let (b64, hex) = digests(b"");
        assert_eq!(hex, "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(b64, "1B2M2Y8AsgTpgAmY7PhCfg==");
    }
}
