//! The standard file actions every access driver serves: `ls`, `stat`, `download`, `upload`,
//! `mkdir`, `delete`, `rename`, `copy`, `move`. Parameters follow Pydio's names.

use std::time::SystemTime;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use plugin_api::{
    file_name, join, parent, ByteRange, ByteSource, Driver, Entry, PageRequest, PluginError,
    WriteOptions,
};
use serde::Serialize;
use serde_json::json;

use super::params::Params;
use crate::access::{check_access, Granted};
use crate::app::error::AppError;
use crate::app::Shared;
use crate::auth::Caller;
use crate::plugins::call::{call_driver, call_driver_quick, call_driver_reading};
use crate::plugins::stream::{body_reader, read_whole, response_body, WHOLE_MAX};
use crate::store::Access;
use crate::telemetry::{self, Direction, Transfer};

/// The host-provided actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StdAction {
    Ls,
    Stat,
    Download,
    Upload,
    Mkdir,
    Delete,
    Rename,
    Copy,
    Move,
}

/// Default and largest page of `ls`.
const PAGE_DEFAULT: u32 = 1000;

impl StdAction {
    pub(crate) fn from_name(name: &str) -> Option<StdAction> {
        Some(match name {
            "ls" => StdAction::Ls,
            "stat" => StdAction::Stat,
            "download" => StdAction::Download,
            "upload" => StdAction::Upload,
            "mkdir" => StdAction::Mkdir,
            "delete" => StdAction::Delete,
            "rename" => StdAction::Rename,
            "copy" => StdAction::Copy,
            "move" => StdAction::Move,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            StdAction::Ls => "ls",
            StdAction::Stat => "stat",
            StdAction::Download => "download",
            StdAction::Upload => "upload",
            StdAction::Mkdir => "mkdir",
            StdAction::Delete => "delete",
            StdAction::Rename => "rename",
            StdAction::Copy => "copy",
            StdAction::Move => "move",
        }
    }

    /// Reads may use GET; whatever changes state must be POST (PUT also for uploads), so a
    /// link or an image tag can never delete a file.
    fn check_method(self, method: &Method) -> Result<(), AppError> {
        let allowed: &[&'static str] = match self {
            StdAction::Ls | StdAction::Stat => &["GET", "HEAD", "POST"],
            StdAction::Download => &["GET", "HEAD"],
            StdAction::Upload => &["POST", "PUT"],
            _ => &["POST"],
        };
        if allowed.contains(&method.as_str()) {
            Ok(())
        } else {
            Err(AppError::MethodNotAllowed {
                action: self.name().to_owned(),
                allowed: allowed.to_vec(),
            })
        }
    }
}

pub(crate) async fn handle(
    state: Shared,
    caller: Caller,
    action: StdAction,
    method: Method,
    params: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    action.check_method(&method)?;
    let ws = params
        .workspace()
        .ok_or(AppError::MissingParam("ws"))?
        .to_owned();
    // Rights before anything else: a caller without access learns nothing from validation.
    let need = match action {
        StdAction::Ls | StdAction::Stat | StdAction::Download => Access::Read,
        _ => Access::ReadWrite,
    };
    let granted = check_access(&state, &caller, &ws, need).await?;
    match action {
        StdAction::Ls => {
            let dir = params.path_or_root("dir")?;
            let page = PageRequest {
                cursor: params
                    .get("cursor")
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
                limit: {
                    let max = state.config.limits.max_page;
                    params.number("limit", PAGE_DEFAULT.min(max), 1..=max)?
                },
            };
            let listed = call_driver(&state, &caller, &granted, move |d, ctx| {
                let page = d.list(ctx, &dir, page)?;
                Ok((dir, page))
            })
            .await?;
            let (dir, page) = listed;
            let (entries, skipped) = listing_json(&dir, &page.entries)?;
            Ok(Json(ListingJson {
                entries,
                next_cursor: page.next_cursor.as_deref(),
                path: &dir,
                skipped,
            })
            .into_response())
        }
        StdAction::Stat => {
            let file = params.path("file")?;
            let entry =
                call_driver_quick(&state, &caller, &granted, move |d, ctx| d.stat(ctx, &file))
                    .await?;
            Ok(Json(entry_json(&entry)?).into_response())
        }
        StdAction::Download => {
            download(&state, &caller, &granted, params.path("file")?, &headers).await
        }
        StdAction::Upload => {
            let path = match params.get("file") {
                Some(_) => params.path("file")?,
                None => join(&params.path_or_root("dir")?, &params.name("name")?),
            };
            if path.is_empty() {
                return Err(AppError::MissingParam("name"));
            }
            let options = WriteOptions {
                overwrite: params.flag("overwrite", true)?,
                size_hint: headers
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse().ok()),
            };
            let max = state.config.limits.max_upload;
            if options.size_hint.is_some_and(|n| n > max) {
                // Refused before the plugin sees a byte; the client may not even send them.
                return Err(AppError::TooLarge {
                    what: "upload",
                    limit: max,
                });
            }
            let driver = driver_of(&state, &ws).await?;
            let transfer = Transfer::start(Direction::Upload, &driver);
            let (reader, watch) = body_reader(body, max, Some(transfer));
            let entry = call_driver_reading(&state, &caller, &granted, &watch, move |d, ctx| {
                d.write(ctx, &path, reader, options)
            })
            .await?;
            Ok((StatusCode::CREATED, Json(entry_json(&entry)?)).into_response())
        }
        StdAction::Mkdir => {
            let path = join(&params.path_or_root("dir")?, &params.name("dirname")?);
            let entry =
                call_driver(&state, &caller, &granted, move |d, ctx| d.mkdir(ctx, &path)).await?;
            Ok((StatusCode::CREATED, Json(entry_json(&entry)?)).into_response())
        }
        StdAction::Delete => {
            let file = root_refused(params.path("file")?, "file")?;
            let shown = file.clone();
            call_driver(&state, &caller, &granted, move |d, ctx| {
                d.delete(ctx, &file)
            })
            .await?;
            Ok(Json(json!({ "deleted": shown })).into_response())
        }
        StdAction::Rename => {
            let from = root_refused(params.path("file")?, "file")?;
            let to = join(parent(&from), &params.name("filename_new")?);
            let entry = call_driver(&state, &caller, &granted, move |d, ctx| {
                d.rename(ctx, &from, &to)
            })
            .await?;
            Ok(Json(entry_json(&entry)?).into_response())
        }
        StdAction::Copy | StdAction::Move => {
            let from = root_refused(params.path("file")?, "file")?;
            let dest = params.path_or_root("dest")?;
            if params.get("dest").is_none() {
                return Err(AppError::MissingParam("dest"));
            }
            let to = join(&dest, file_name(&from));
            if to == from || to.starts_with(&format!("{from}/")) {
                return Err(AppError::InvalidParam {
                    name: "dest",
                    reason: "cannot copy or move an item onto itself or into itself".into(),
                });
            }
            let entry = if action == StdAction::Copy {
                call_driver(&state, &caller, &granted, move |d, ctx| {
                    d.copy(ctx, &from, &to)
                })
                .await?
            } else {
                call_driver(&state, &caller, &granted, move |d, ctx| {
                    d.rename(ctx, &from, &to)
                })
                .await?
            };
            Ok(Json(entry_json(&entry)?).into_response())
        }
    }
}

fn root_refused(path: String, name: &'static str) -> Result<String, AppError> {
    if path.is_empty() {
        Err(AppError::InvalidParam {
            name,
            reason: "the workspace root itself cannot be deleted, renamed, copied or moved".into(),
        })
    } else {
        Ok(path)
    }
}

/// The JSON form of an entry, serialized straight from the entry's fields (no map per entry).
/// The fields are in byte order of their names, the order a `serde_json::Value` map writes.
#[derive(Serialize)]
struct EntryJson<'a> {
    etag: Option<&'a str>,
    mime: Option<&'a str>,
    #[serde(serialize_with = "rfc3339_seconds")]
    modified: Option<SystemTime>,
    name: &'a str,
    path: &'a str,
    size: u64,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// The answer of `ls`.
#[derive(Serialize)]
struct ListingJson<'a> {
    entries: Vec<EntryJson<'a>>,
    next_cursor: Option<&'a str>,
    path: &'a str,
    /// Entries of this page left out: their names cannot be sent back as a path.
    skipped: usize,
}

/// `2024-05-01T12:34:56Z`, written without an intermediate `String`.
fn rfc3339_seconds<S: serde::Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.collect_str(&humantime::format_rfc3339_seconds(*t)),
        None => s.serialize_none(),
    }
}

/// An entry a driver answered, as JSON, once its path is known to be one a client could
/// have sent: a driver's answer is untrusted input too (a listing could otherwise hand the
/// UI a `..` or a NUL).
fn entry_json(e: &Entry) -> Result<EntryJson<'_>, AppError> {
    check_entry(e)?;
    Ok(EntryJson {
        etag: e.etag.as_deref(),
        mime: e.mime.as_deref(),
        modified: e.modified,
        name: e.name(),
        path: &e.path,
        size: e.size,
        kind: if e.is_dir { "dir" } else { "file" },
    })
}

/// Refuses an entry whose path is not one a client could have sent.
fn check_entry(e: &Entry) -> Result<(), AppError> {
    if !crate::paths::is_normal(&e.path) {
        return Err(AppError::PluginBadAnswer(format!(
            "the driver answered an invalid path {:?}",
            e.path
        )));
    }
    Ok(())
}

/// The entries of a listing of `dir` that a client can name, and how many it cannot. Each
/// entry must be a child of `dir` (compared without case: some back ends, Dropbox, answer the
/// case they store), or the listing fails: a driver listing another folder is broken. A
/// child whose name no client path can carry (a backslash or a control character, legal in
/// a file name on disk; or too long) is left out, counted and logged, and the rest is listed:
/// one odd file must not hide its whole folder.
fn listing_json<'a>(
    dir: &str,
    entries: &'a [Entry],
) -> Result<(Vec<EntryJson<'a>>, usize), AppError> {
    let mut listed = Vec::with_capacity(entries.len());
    let mut skipped: Vec<&str> = Vec::new();
    for e in entries {
        let name = e.name();
        if matches!(name, "" | "." | "..") || !parent(&e.path).eq_ignore_ascii_case(dir) {
            return Err(AppError::PluginBadAnswer(format!(
                "the driver listed {:?}, which is not in '{dir}'",
                e.path
            )));
        }
        if !crate::paths::is_normal(&e.path) {
            skipped.push(name);
            continue;
        }
        listed.push(entry_json(e)?);
    }
    if let Some(first) = skipped.first() {
        tracing::warn!(
            dir = ?dir,
            skipped = skipped.len(),
            first = ?first,
            "a listing left out entries whose names no client path can carry"
        );
    }
    Ok((listed, skipped.len()))
}

/// What a Range header asks of a file of `size` bytes.
#[derive(Debug, PartialEq)]
enum RangeAsk {
    Whole,
    Part(ByteRange, u64, u64),
    Unsatisfiable,
}

/// Reads a Range header as RFC 9110 (section 14) asks: `http_range_header` parses the
/// syntax, the rest is done here, since the crate's validation refuses (416) sets the RFC
/// allows. Each range is clamped to the file (a suffix longer than the file is the whole
/// file); ranges that start past the end are dropped, and the header is unsatisfiable only
/// when none is left. The rest are coalesced: when they make one span, that span is sent
/// (206), otherwise the whole file (200), which the RFC permits instead of a multipart
/// answer. A header that does not parse, or has a range whose last byte comes before its
/// first, is invalid and ignored (200).
fn parse_range(header: &str, size: u64) -> RangeAsk {
    use http_range_header::{EndPosition, StartPosition};
    let Ok(parsed) = http_range_header::parse_range_header(header) else {
        return RangeAsk::Whole;
    };
    let mut spans: Vec<(u64, u64)> = Vec::with_capacity(parsed.ranges.len());
    for r in &parsed.ranges {
        let (start, end) = match (r.start, r.end) {
            (StartPosition::Index(first), EndPosition::Index(last)) if last < first => {
                return RangeAsk::Whole
            }
            (StartPosition::Index(first), EndPosition::Index(last)) => (first, last),
            (StartPosition::Index(first), EndPosition::LastByte) => (first, u64::MAX),
            (StartPosition::FromLast(n), _) => (size.saturating_sub(n), u64::MAX),
        };
        if start < size {
            spans.push((start, end.min(size - 1)));
        }
    }
    spans.sort_unstable();
    let Some(&(start, mut end)) = spans.first() else {
        return RangeAsk::Unsatisfiable;
    };
    for &(s, e) in &spans[1..] {
        // Overlapping or adjacent spans make one.
        if s > end.saturating_add(1) {
            return RangeAsk::Whole;
        }
        end = end.max(e);
    }
    RangeAsk::Part(
        ByteRange {
            start,
            len: Some(end - start + 1),
        },
        start,
        end,
    )
}

async fn download(
    state: &Shared,
    caller: &Caller,
    granted: &Granted,
    file: String,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    let range_header = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let outcome = call_driver_quick(state, caller, granted, move |d, ctx| {
        let (read, part) = match range_header {
            None => (d.read(ctx, &file, None)?, None),
            Some(range_header) => {
                let entry = d.stat(ctx, &file)?;
                if entry.is_dir {
                    return Err(PluginError::conflict(format!(
                        "'{file}' is a folder, not a file"
                    )));
                }
                match parse_range(&range_header, entry.size) {
                    RangeAsk::Whole => (d.read(ctx, &file, None)?, None),
                    RangeAsk::Part(range, start, end) => {
                        let read = d.read(ctx, &file, Some(range))?;
                        (read, Some((start, end, entry.size)))
                    }
                    RangeAsk::Unsatisfiable => return Ok(Err(entry.size)),
                }
            }
        };
        let content = Content::of(read.content, &read.entry, part, &file)?;
        Ok(Ok((read.entry, content, part)))
    })
    .await?;
    let (entry, content, part) = match outcome {
        Ok(v) => v,
        Err(size) => {
            let mut resp = AppError::Plugin(PluginError::new(
                plugin_api::ErrorKind::InvalidRange,
                format!("the requested range lies outside the file ({size} bytes)"),
            ))
            .into_response();
            resp.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"),
            );
            return Ok(resp);
        }
    };
    if entry.is_dir {
        return Err(AppError::Plugin(PluginError::conflict(format!(
            "'{}' is a folder, not a file",
            entry.path
        ))));
    }
    check_entry(&entry)?;
    // The call noted its plugin: looking the workspace up again would cost a second
    // validation of its definition on the hot path.
    let driver = telemetry::serving_plugin().unwrap_or_default();
    let mut builder = Response::builder()
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_TYPE, content_type(&entry))
        .header(header::CONTENT_DISPOSITION, disposition(entry.name()));
    if let Some(etag) = &entry.etag {
        builder = builder.header(header::ETAG, format!("\"{}\"", etag.replace('"', "")));
    }
    if let Some(modified) = entry.modified {
        builder = builder.header(header::LAST_MODIFIED, http_date(modified));
    }
    builder = match part {
        Some((start, end, size)) => builder
            .status(StatusCode::PARTIAL_CONTENT)
            .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"))
            .header(header::CONTENT_LENGTH, end - start + 1),
        None => builder
            .status(StatusCode::OK)
            .header(header::CONTENT_LENGTH, entry.size),
    };
    let body = match content {
        Content::Whole(bytes) => {
            Transfer::start(Direction::Download, &driver).bytes(bytes.len());
            Body::from(bytes)
        }
        Content::Mismatch(why) => return Err(AppError::PluginBadAnswer(why)),
        Content::Stream(source) => response_body(
            source,
            Some(length(&entry, part)),
            state.config.limits.plugin_timeout,
            Some(Transfer::start(Direction::Download, &driver)),
        ),
    };
    builder
        .body(body)
        .map_err(|e| AppError::Internal(format!("download response: {e}")))
}

/// The length of a download: the range's, or the whole file's.
fn length(entry: &Entry, part: Option<(u64, u64, u64)>) -> u64 {
    match part {
        Some((start, end, _)) => end - start + 1,
        None => entry.size,
    }
}

/// What a download sends.
enum Content {
    /// The driver's stream, pulled while the response is sent.
    Stream(ByteSource),
    /// A body of at most [`WHOLE_MAX`] bytes, read in the driver call that opened it.
    Whole(Bytes),
    /// The driver's stream disagreed with the length it announced (a 502, before any byte).
    Mismatch(String),
}

impl Content {
    /// Reads a small body whole, in the driver call.
    fn of(
        mut source: ByteSource,
        entry: &Entry,
        part: Option<(u64, u64, u64)>,
        file: &str,
    ) -> plugin_api::Result<Content> {
        let length = length(entry, part);
        if entry.is_dir || length > WHOLE_MAX {
            return Ok(Content::Stream(source));
        }
        match read_whole(&mut source, length) {
            Ok(Ok(bytes)) => Ok(Content::Whole(bytes)),
            Ok(Err(why)) => Ok(Content::Mismatch(why)),
            Err(e) => Err(PluginError::from_io_error(&format!("reading '{file}'"), e)),
        }
    }
}

/// The driver of workspace `ws`, to label transfer metrics.
async fn driver_of(state: &Shared, ws: &str) -> Result<String, AppError> {
    Ok(state
        .workspace(ws)
        .await?
        .map(|w| w.driver)
        .unwrap_or_default())
}

fn content_type(entry: &Entry) -> String {
    entry.mime.clone().unwrap_or_else(|| {
        mime_guess::from_path(entry.name())
            .first_or_octet_stream()
            .to_string()
    })
}

/// `attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / 5987).
fn disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{}",
        utf8_percent_encode(name, NON_ALPHANUMERIC)
    )
}

fn http_date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let part = |h: &str, size| match parse_range(h, size) {
            RangeAsk::Part(r, s, e) => Some((r.start, r.len, s, e)),
            _ => None,
        };
        assert_eq!(part("bytes=0-9", 100), Some((0, Some(10), 0, 9)));
        assert_eq!(part("bytes=90-", 100), Some((90, Some(10), 90, 99)));
        assert_eq!(part("bytes=-5", 100), Some((95, Some(5), 95, 99)));
        assert_eq!(part("bytes=95-200", 100), Some((95, Some(5), 95, 99)));
        // A suffix longer than the file is the whole file.
        assert_eq!(part("bytes=-999999", 10), Some((0, Some(10), 0, 9)));
        // Overlapping and adjacent ranges are coalesced, in any order.
        assert_eq!(part("bytes=0-4,2-8", 10), Some((0, Some(9), 0, 8)));
        assert_eq!(part("bytes=5-9,0-4", 10), Some((0, Some(10), 0, 9)));
        assert_eq!(part("bytes=0-0,-2,1-3", 5), Some((0, Some(5), 0, 4)));
        // A range past the end is dropped when another one is satisfiable.
        assert_eq!(part("bytes=200-300,1-2", 10), Some((1, Some(2), 1, 2)));
        assert_eq!(parse_range("bytes=100-", 100), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range("bytes=-1", 0), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), RangeAsk::Whole);
        assert_eq!(parse_range("bytes=5-3", 100), RangeAsk::Whole);
        assert_eq!(parse_range("pages=1", 100), RangeAsk::Whole);
    }

    #[test]
    fn disposition_keeps_the_exact_name() {
        let d = disposition("résumé \"x\".txt");
        assert!(
            d.starts_with("attachment; filename=\"r_sum_ _x_.txt\""),
            "{d}"
        );
        assert!(
            d.contains("filename*=UTF-8''r%C3%A9sum%C3%A9%20%22x%22%2Etxt"),
            "{d}"
        );
    }
}
