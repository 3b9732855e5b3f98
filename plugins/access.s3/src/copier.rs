//! `copy` and the copy half of `rename`: S3 copies inside the bucket, no byte passes through
//! the driver. A file up to 5 GiB is one CopyObject; a larger one a multipart upload of
//! UploadPartCopy ranges. A folder is every key under its prefix, copied one by one (S3 has
//! no folder copy), its marker included.

use plugin_api::{Entry, PluginError, Result};

use crate::config::{MAX_PARTS, MAX_PART_SIZE};
use crate::core::Client;
use crate::error::{self, Op, S3Failure};
use crate::writer::Multipart;

/// The largest object one CopyObject copies.
const MAX_COPY_OBJECT: u64 = 5 << 30;

/// Copies `from` to `to`; `op` is `Copy` or `Rename` (for messages).
pub(crate) fn copy(client: &Client, op: Op, from: &str, to: &str) -> Result<Entry> {
    if client.head_file(op, to)?.is_some() || client.dir_exists(op, to)? {
        return Err(error::exists(op, to));
    }
    let parent = plugin_api::parent(to);
    if !client.dir_exists(op, parent)? {
        return Err(PluginError::not_found(error::cannot(
            op,
            to,
            format!("the folder '{}' does not exist", error::shown(parent)),
        )));
    }
    if let Some(file) = client.head_file(op, from)? {
        copy_object(
            client,
            op,
            to,
            &client.key(from),
            &client.key(to),
            file.size,
        )?;
        return Ok(Entry::file(to, file.size));
    }
    if from.is_empty() || !client.dir_exists(op, from)? {
        return Err(error::missing(op, from));
    }
    let (source, target) = (client.dir_key(from), client.dir_key(to));
    let mut token = None;
    loop {
        let (keys, next) = client.keys_under(op, from, &source, token.as_deref())?;
        for (key, size) in keys {
            let rest = &key[source.len()..];
            let dest = format!("{target}{rest}");
            if key.ends_with('/') {
                // A folder marker is written anew: SeaweedFS keeps markers as directories,
                // which CopyObject does not find.
                put_marker(client, op, to, &dest)?;
            } else {
                copy_object(client, op, to, &key, &dest, size)?;
            }
        }
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    Ok(Entry::dir(to))
}

/// Writes the empty folder marker `key`.
pub(crate) fn put_marker(client: &Client, op: Op, path: &str, key: &str) -> Result<()> {
    let headers = client.write_headers();
    client.send(op, path, || {
        client
            .request(
                client.bucket().put_object(Some(client.creds()), key),
                &headers,
            )
            .header("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")
            .body(Vec::new())
    })?;
    Ok(())
}

/// Copies the object `source` (of `size` bytes) to the key `target`.
fn copy_object(
    client: &Client,
    op: Op,
    path: &str,
    source: &str,
    target: &str,
    size: u64,
) -> Result<()> {
    if size > MAX_COPY_OBJECT {
        return copy_in_parts(client, path, source, target, size);
    }
    let mut headers = client.write_headers();
    headers.push(("x-amz-copy-source", client.copy_source(source)));
    let text = client.text(op, path, || {
        client.request(
            client.bucket().put_object(Some(client.creds()), target),
            &headers,
        )
    })?;
    // S3 may send 200 and then fail the copy in the body.
    if let Some(failure) = S3Failure::in_body(&text) {
        return Err(failure.to_plugin(&client.cfg, op, path));
    }
    Ok(())
}

/// UploadPartCopy of `size` bytes, in parts of `PART_SIZE` (larger if 10,000 would not do).
fn copy_in_parts(client: &Client, path: &str, source: &str, target: &str, size: u64) -> Result<()> {
    let part = client
        .cfg
        .part_size
        .max(size.div_ceil(MAX_PARTS))
        .min(MAX_PART_SIZE);
    let mut upload = Multipart::start(client, path, target)?;
    let mut start = 0;
    while start < size {
        let end = (start + part).min(size) - 1;
        upload.copy_part(source, start, end)?;
        start = end + 1;
    }
    upload.complete()
}
