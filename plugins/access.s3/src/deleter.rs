//! `delete`: a file is one DeleteObject; a folder is every key under its prefix (its marker
//! included), listed and removed in batches of DeleteObjects of up to 1,000 keys, until the
//! listing is empty.

use plugin_api::{PluginError, Result};
use rusty_s3::actions::{DeleteObjectsResponse, ObjectIdentifier};

use crate::core::{bad_xml, Client};
use crate::error::{self, Op};

pub(crate) fn delete(client: &Client, path: &str) -> Result<()> {
    if path.is_empty() {
        return Err(PluginError::new(
            plugin_api::ErrorKind::PermissionDenied,
            error::cannot(Op::Delete, path, "the workspace's root is not deleted"),
        ));
    }
    if client.head_file(Op::Delete, path)?.is_some() {
        let key = client.key(path);
        client.send(Op::Delete, path, || {
            client.request(
                client.bucket().delete_object(Some(client.creds()), &key),
                &[],
            )
        })?;
        return Ok(());
    }
    let prefix = client.dir_key(path);
    let mut deleted = 0usize;
    loop {
        // Always the first page: what was deleted is gone from it.
        let (keys, _) = client.keys_under(Op::Delete, path, &prefix, None)?;
        if keys.is_empty() {
            break;
        }
        delete_batch(client, path, keys.into_iter().map(|(k, _)| k).collect())?;
        deleted += 1;
    }
    if deleted == 0 {
        return Err(error::missing(Op::Delete, path));
    }
    Ok(())
}

/// One DeleteObjects of `keys` (at most 1,000); a key S3 could not delete fails the call.
pub(crate) fn delete_batch(client: &Client, path: &str, keys: Vec<String>) -> Result<()> {
    let objects: Vec<ObjectIdentifier> = keys.into_iter().map(ObjectIdentifier::new).collect();
    let text = client.text(Op::Delete, path, || {
        let mut action = client
            .bucket()
            .delete_objects(Some(client.creds()), objects.iter());
        action.set_quiet(true);
        let url_request = client.request(action.clone(), &[]);
        let (body, md5) = action.body_with_md5();
        url_request.header("content-md5", md5).body(body)
    })?;
    let answer = DeleteObjectsResponse::parse(&text)
        .map_err(|e| bad_xml(Op::Delete, path, "DeleteObjects", e))?;
    if let Some(failed) = answer.errors.first() {
        let f = crate::error::S3Failure {
            status: 200,
            code: failed.code.clone(),
            message: format!(
                "{} ({} of {} keys not deleted)",
                failed.message,
                answer.errors.len(),
                objects.len()
            ),
            region: None,
            retry_after: None,
        };
        return Err(f.to_plugin(&client.cfg, Op::Delete, path));
    }
    Ok(())
}
