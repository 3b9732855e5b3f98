//! `list`: one ListObjectsV2 request with `delimiter=/` per page, S3's continuation token as
//! the host's cursor. Files are the keys directly under the folder's prefix; folders are the
//! common prefixes (a `name/` marker or keys below it). The folder's own marker is not listed,
//! nor keys that no workspace path can name (`a//b`, `.`, `..`).

use plugin_api::{Entry, ListPage, PageRequest, PluginError, Result};
use rusty_s3::actions::{ListObjectsV2, ListObjectsV2Response};
use rusty_s3::S3Action;

use crate::core::{bad_xml, Client};
use crate::error::{self, Op};

/// S3's largest page.
const MAX_KEYS: u32 = 1000;

/// One page of the folder at `path`.
pub(crate) fn list(client: &Client, path: &str, page: PageRequest) -> Result<ListPage> {
    let prefix = client.dir_key(path);
    let limit = page.limit.clamp(1, MAX_KEYS) as usize;
    let text = client.text(Op::List, path, || {
        let mut list = client.bucket().list_objects_v2(Some(client.creds()));
        // Keys come back as XML text: SeaweedFS's `encoding-type=url` answers mix
        // form-encoding (`+`) and percent-encoding, which rusty-s3 0.10 does not tell apart.
        list.query_mut().remove("encoding-type");
        list.with_delimiter("/");
        list.with_max_keys(limit);
        if !prefix.is_empty() {
            list.with_prefix(prefix.as_str());
        }
        if let Some(token) = &page.cursor {
            list.with_continuation_token(token.as_str());
        }
        client.request(list, &[])
    })?;
    let answer: ListObjectsV2Response = ListObjectsV2::parse_response(&text)
        .map_err(|e| bad_xml(Op::List, path, "ListObjectsV2", e))?;
    if page.cursor.is_none() && answer.contents.is_empty() && answer.common_prefixes.is_empty() {
        // Nothing under the prefix: a file, or nothing at all.
        return Err(match client.head_file(Op::List, path)? {
            Some(_) => {
                PluginError::conflict(error::cannot(Op::List, path, "it is a file, not a folder"))
            }
            None if path.is_empty() => return Ok(ListPage::default()),
            None => error::missing(Op::List, path),
        });
    }
    let mut entries = Vec::with_capacity(answer.contents.len() + answer.common_prefixes.len());
    for object in &answer.contents {
        let Some(name) = object.key.strip_prefix(&prefix).filter(|n| usable(n)) else {
            continue;
        };
        let mut entry = Entry::file(plugin_api::join(path, name), object.size);
        if let Some(at) = parse_iso8601(&object.last_modified) {
            entry = entry.modified(at);
        }
        if !object.etag.is_empty() {
            entry = entry.etag(object.etag.trim_matches('"'));
        }
        entries.push(entry);
    }
    for common in &answer.common_prefixes {
        let Some(name) = common
            .prefix
            .strip_prefix(&prefix)
            .and_then(|n| n.strip_suffix('/'))
            .filter(|n| usable(n))
        else {
            continue;
        };
        entries.push(Entry::dir(plugin_api::join(path, name)));
    }
    // S3 sorts files and prefixes together by key; a page keeps that order.
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(ListPage {
        entries,
        next_cursor: answer.next_continuation_token.filter(|t| !t.is_empty()),
    })
}

/// A name a workspace path can hold: one segment, not `.` or `..`.
fn usable(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/')
}

/// S3's `2026-12-02T16:41:32.000Z` (RFC 3339).
pub(crate) fn parse_iso8601(text: &str) -> Option<std::time::SystemTime> {
    text.trim().parse::<jiff::Timestamp>().ok().map(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_times_parse() {
        let t = parse_iso8601("2026-12-02T16:41:32.250Z").unwrap();
        let expected = httpdate::parse_http_date("Wed, 02 Dec 2026 16:41:32 GMT").unwrap()
            + std::time::Duration::from_millis(250);
        assert_eq!(t, expected);
        assert_eq!(
            parse_iso8601("1970-01-01T00:00:00Z"),
            Some(std::time::UNIX_EPOCH)
        );
        assert_eq!(parse_iso8601("yesterday"), None);
    }

    #[test]
    fn only_single_segments_are_names() {
        assert!(usable("a b+c ü.txt"));
        for bad in ["", ".", "..", "a/b"] {
            assert!(!usable(bad), "{bad:?}");
        }
    }
}
