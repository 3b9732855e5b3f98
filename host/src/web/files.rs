//! The standard file actions every access driver serves: `ls`, `stat`, `download`, `upload`,
//! `mkdir`, `mkfile`, `delete`, `rename`, `copy`, `move`, `get_content`, `put_content`.
//! Parameters follow Pydio's names; `stat`, `download`, `delete`, `copy` and `move` also take
//! several nodes (`nodes[]`, see `batch`), and `download` of a folder or of several nodes is
//! a zip (see `archive`).

use std::time::SystemTime;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use plugin_api::{file_name, join, parent, Entry, ErrorKind, PageRequest, WriteOptions};
use serde::Serialize;
use serde_json::json;

use super::archive::{archive_name, Archive};
use super::batch::{onto_itself, Batch};
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
    Mkfile,
    GetContent,
    PutContent,
}

/// Default and largest page of `ls`.
const PAGE_DEFAULT: u32 = 1000;

impl StdAction {
    /// Every standard action: the one list the router dispatches on (`from_name`) and the
    /// OpenAPI document's `get_action` enums are checked against.
    pub(crate) const ALL: [StdAction; 12] = [
        StdAction::Ls,
        StdAction::Stat,
        StdAction::Download,
        StdAction::Upload,
        StdAction::Mkdir,
        StdAction::Delete,
        StdAction::Rename,
        StdAction::Copy,
        StdAction::Move,
        StdAction::Mkfile,
        StdAction::GetContent,
        StdAction::PutContent,
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
            StdAction::Mkfile => "mkfile",
            StdAction::GetContent => "get_content",
            StdAction::PutContent => "put_content",
        }
    }

    /// The methods the action answers. Reads may use GET; whatever changes state must be
    /// POST (PUT also for uploads), so a link or an image tag can never delete a file.
    pub(crate) fn methods(self) -> &'static [&'static str] {
        match self {
            StdAction::Ls | StdAction::Stat => &["GET", "HEAD", "POST"],
            StdAction::Download | StdAction::GetContent => &["GET", "HEAD"],
            StdAction::Upload | StdAction::PutContent => &["POST", "PUT"],
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
        StdAction::Ls | StdAction::Stat | StdAction::Download | StdAction::GetContent => {
            Access::Read
        }
        _ => Access::ReadWrite,
    };
    let driver = check_access(&state, &caller, &ws, need).await?.driver();
    let max_batch = state.config.limits.max_batch;
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
            if let Some(batch) = Batch::of(&params, action, None, max_batch)? {
                return batch.run(&state, &driver, action, None).await;
            }
            let entry = driver.stat(&state, params.file()?).await?;
            Ok(Json(entry_json(&entry)).into_response())
        }
        StdAction::Download => {
            let zip = params.get("archive").filter(|a| !a.is_empty());
            if zip.is_some_and(|a| a != "zip") {
                return Err(AppError::InvalidParam {
                    name: "archive",
                    reason: "the only archive format is 'zip'".into(),
                });
            }
            let nodes = match Batch::of(&params, action, None, max_batch)? {
                Some(batch) => batch.nodes,
                None => vec![params.file()?],
            };
            if zip.is_some() || nodes.len() > 1 {
                return zip_download(&state, driver, &params, &ws, nodes).await;
            }
            let file = nodes.into_iter().next().unwrap_or_default();
            let range = headers
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            match driver.read(&state, file.clone(), range).await {
                Ok(read) => download(&state, read),
                // A folder is downloaded as a zip. Asked only when a read was refused as a
                // conflict, so a file's download costs no second call.
                Err(AppError::Plugin(e)) if e.kind == ErrorKind::Conflict => {
                    match driver.stat(&state, file.clone()).await {
                        Ok(entry) if entry.is_dir => {
                            zip_download(&state, driver, &params, &ws, vec![file]).await
                        }
                        _ => Err(AppError::Plugin(e)),
                    }
                }
                Err(e) => Err(e),
            }
        }
        StdAction::GetContent => {
            let max = state.config.limits.max_content;
            let read = driver.read(&state, params.file()?, None).await?;
            if read.entry.size > max {
                return Err(AppError::TooLarge {
                    what: "file for get_content",
                    limit: max,
                });
            }
            let mut response = download(&state, read)?;
            let headers = response.headers_mut();
            headers.remove(header::CONTENT_DISPOSITION);
            headers.remove(header::ACCEPT_RANGES);
            headers.insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            Ok(response)
        }
        StdAction::PutContent => {
            let path = root_refused(params.file()?, "file")?;
            let max = state.config.limits.max_content;
            let (body, size_hint) = match params.get("content") {
                Some(text) => (Body::from(text.to_owned()), Some(text.len() as u64)),
                None => (body, content_length(&headers)),
            };
            if size_hint.is_some_and(|n| n > max) {
                return Err(AppError::TooLarge {
                    what: "content",
                    limit: max,
                });
            }
            let (reader, watch) = body_reader(body, max, None);
            let options = WriteOptions {
                overwrite: true,
                size_hint,
            };
            let entry = driver.write(&state, path, reader, options, &watch).await?;
            Ok(Json(entry_json(&entry)).into_response())
        }
        StdAction::Mkfile => {
            let path = match params.get("filename") {
                Some(_) => join(&params.path_or_root("dir")?, &params.name("filename")?),
                None => root_refused(params.file()?, "node")?,
            };
            let (reader, watch) = body_reader(Body::empty(), 0, None);
            let options = WriteOptions {
                overwrite: false,
                size_hint: Some(0),
            };
            let entry = driver.write(&state, path, reader, options, &watch).await?;
            Ok((StatusCode::CREATED, Json(entry_json(&entry))).into_response())
        }
        StdAction::Upload => {
            let path = match (params.get("file"), params.get("node")) {
                (None, None) => join(&params.path_or_root("dir")?, &params.name("name")?),
                _ => params.file()?,
            };
            if path.is_empty() {
                return Err(AppError::MissingParam("name"));
            }
            let options = WriteOptions {
                overwrite: params.flag("overwrite", true)?,
                size_hint: content_length(&headers),
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
            if let Some(batch) = Batch::of(&params, action, None, max_batch)? {
                return batch.run(&state, &driver, action, None).await;
            }
            let file = root_refused(params.file()?, "file")?;
            driver.delete(&state, file.clone()).await?;
            Ok(Json(json!({ "deleted": file })).into_response())
        }
        StdAction::Rename => {
            let from = root_refused(params.file()?, "file")?;
            let to = join(parent(&from), &params.name("filename_new")?);
            let entry = driver.rename(&state, from, to).await?;
            Ok(Json(entry_json(&entry)).into_response())
        }
        StdAction::Copy | StdAction::Move => {
            let dest = params.path_or_root("dest")?;
            if params.get("dest").is_none() {
                return Err(AppError::MissingParam("dest"));
            }
            if let Some(batch) = Batch::of(&params, action, Some(&dest), max_batch)? {
                return batch.run(&state, &driver, action, Some(&dest)).await;
            }
            let from = root_refused(params.file()?, "file")?;
            let to = join(&dest, file_name(&from));
            if onto_itself(&from, &dest) {
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

/// The request body's announced length.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
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
pub(super) struct EntryJson<'a> {
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
pub(super) fn entry_json(e: &Entry) -> EntryJson<'_> {
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

/// The zip of `nodes` (checked paths) as a download: walked and bounded first, then streamed.
async fn zip_download(
    state: &Shared,
    driver: crate::plugins::call::DriverTarget,
    params: &Params,
    ws: &str,
    nodes: Vec<String>,
) -> Result<Response, AppError> {
    let deflate = match params.get("compression").unwrap_or("") {
        "" | "store" | "stored" => false,
        "deflate" => true,
        other => {
            return Err(AppError::InvalidParam {
                name: "compression",
                reason: format!("expected 'store' or 'deflate', got '{other}'"),
            })
        }
    };
    let name = archive_name(params.get("archive_name"), &nodes, ws);
    let archive = Archive::plan(state, &driver, &nodes, deflate).await?;
    Ok(archive.response(state.clone(), driver, &name))
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
pub(super) fn disposition(name: &str) -> String {
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
    fn manifests_may_not_declare_a_standard_action() {
        let served: Vec<&str> = StdAction::ALL.iter().map(|a| a.name()).collect();
        assert_eq!(served, crate::manifest::RESERVED_ACTIONS);
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
