//! The standard file actions every access driver serves: `ls`, `stat`, `download`, `upload`,
//! `mkdir`, `delete`, `rename`, `copy`, `move`. Parameters follow Pydio's names.

use std::time::SystemTime;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use plugin_api::{file_name, join, parent, Entry, PageRequest, WriteOptions};
use serde::Serialize;
use serde_json::json;

use super::params::Params;
use crate::access::check_access;
use crate::app::error::AppError;
use crate::app::Shared;
use crate::auth::Caller;
use crate::plugins::read::{Content, Download};
use crate::plugins::stream::{body_reader, response_body};
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
    /// Every standard action: the one list the router dispatches on (`from_name`) and the
    /// OpenAPI document's `get_action` enums are checked against.
    pub(crate) const ALL: [StdAction; 9] = [
        StdAction::Ls,
        StdAction::Stat,
        StdAction::Download,
        StdAction::Upload,
        StdAction::Mkdir,
        StdAction::Delete,
        StdAction::Rename,
        StdAction::Copy,
        StdAction::Move,
    ];

    /// The standard action called `name`, if any.
    pub(crate) fn from_name(name: &str) -> Option<StdAction> {
        StdAction::ALL.into_iter().find(|a| a.name() == name)
    }

    pub(crate) fn name(self) -> &'static str {
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

    /// The methods the action answers. Reads may use GET; whatever changes state must be
    /// POST (PUT also for uploads), so a link or an image tag can never delete a file.
    pub(crate) fn methods(self) -> &'static [&'static str] {
        match self {
            StdAction::Ls | StdAction::Stat => &["GET", "HEAD", "POST"],
            StdAction::Download => &["GET", "HEAD"],
            StdAction::Upload => &["POST", "PUT"],
            _ => &["POST"],
        }
    }

    /// 405, naming [`StdAction::methods`], for any other method.
    fn check_method(self, method: &Method) -> Result<(), AppError> {
        let allowed = self.methods();
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
    let driver = check_access(&state, &caller, &ws, need).await?.driver();
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
            let listing = driver.list(&state, dir, page).await?;
            Ok(Json(ListingJson {
                entries: listing.entries.iter().map(entry_json).collect(),
                next_cursor: listing.next_cursor.as_deref(),
                path: &listing.dir,
                skipped: listing.skipped,
            })
            .into_response())
        }
        StdAction::Stat => {
            let entry = driver.stat(&state, params.path("file")?).await?;
            Ok(Json(entry_json(&entry)).into_response())
        }
        StdAction::Download => {
            let range = headers
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let read = driver.read(&state, params.path("file")?, range).await?;
            download(&state, read)
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
            let transfer = Transfer::start(Direction::Upload, &driver_of(&state, &ws).await?);
            let (reader, watch) = body_reader(body, max, Some(transfer));
            let entry = driver.write(&state, path, reader, options, &watch).await?;
            Ok((StatusCode::CREATED, Json(entry_json(&entry))).into_response())
        }
        StdAction::Mkdir => {
            let path = join(&params.path_or_root("dir")?, &params.name("dirname")?);
            let entry = driver.mkdir(&state, path).await?;
            Ok((StatusCode::CREATED, Json(entry_json(&entry))).into_response())
        }
        StdAction::Delete => {
            let file = root_refused(params.path("file")?, "file")?;
            driver.delete(&state, file.clone()).await?;
            Ok(Json(json!({ "deleted": file })).into_response())
        }
        StdAction::Rename => {
            let from = root_refused(params.path("file")?, "file")?;
            let to = join(parent(&from), &params.name("filename_new")?);
            let entry = driver.rename(&state, from, to).await?;
            Ok(Json(entry_json(&entry)).into_response())
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
                driver.copy(&state, from, to).await?
            } else {
                driver.rename(&state, from, to).await?
            };
            Ok(Json(entry_json(&entry)).into_response())
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

/// The JSON of an entry (checked by the plugin-call layer).
fn entry_json(e: &Entry) -> EntryJson<'_> {
    EntryJson {
        etag: e.etag.as_deref(),
        mime: e.mime.as_deref(),
        modified: e.modified,
        name: e.name(),
        path: &e.path,
        size: e.size,
        kind: if e.is_dir { "dir" } else { "file" },
    }
}

/// The answer of `download`: the checked read, with its headers.
fn download(state: &Shared, read: Download) -> Result<Response, AppError> {
    let length = read.length();
    let Download {
        entry,
        content,
        part,
    } = read;
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
            .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}")),
        None => builder.status(StatusCode::OK),
    }
    .header(header::CONTENT_LENGTH, length);
    let body = match content {
        Content::Whole(bytes) => {
            Transfer::start(Direction::Download, &driver).bytes(bytes.len());
            Body::from(bytes)
        }
        Content::Stream(source) => response_body(
            source,
            Some(length),
            state.config.limits.plugin_timeout,
            Some(Transfer::start(Direction::Download, &driver)),
        ),
    };
    builder
        .body(body)
        .map_err(|e| AppError::Internal(format!("download response: {e}")))
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
