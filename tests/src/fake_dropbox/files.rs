//! The files routes: metadata, listing with cursors, download with Range, upload and upload
//! sessions, create_folder_v2, delete_v2, move_v2, copy_v2 — each with the error union its
//! route declares in files.stone.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::server::Call;
use super::state::{content_hash, random_token, BlockHasher, Conflict, Kind, Node, Tree};
use super::wire::{
    check_upload_type, header_arg, header_safe_json, nest, ok_json, rpc_arg, tag, ApiError, Arg,
};

/// The largest body of one upload request.
const MAX_REQUEST: usize = 150 * 1024 * 1024;

/// Names Dropbox refuses to store.
const DISALLOWED: &[&str] = &[
    "desktop.ini",
    "thumbs.db",
    ".ds_store",
    "icon\r",
    ".dropbox",
    ".dropbox.attr",
];

/// Open upload sessions and list_folder cursors.
#[derive(Default)]
pub(crate) struct Uploads {
    sessions: HashMap<String, Session>,
    pub(crate) cursors: HashMap<String, Cursor>,
}

struct Session {
    data: Vec<u8>,
    /// The content_hash of `data`, fed as each request arrives.
    hasher: BlockHasher,
    closed: bool,
}

/// A position in a listing snapshot.
pub(crate) struct Cursor {
    entries: Arc<Vec<Value>>,
    at: usize,
    limit: usize,
}

/// Runs the files route of `call`, or `None` when there is no such route.
pub(crate) fn handle(call: &Call<'_>) -> Option<Result<Response, ApiError>> {
    Some(match call.route {
        "files/get_metadata" => get_metadata(call),
        "files/list_folder" => list_folder(call),
        "files/list_folder/continue" => list_folder_continue(call),
        "files/download" => download(call),
        "files/upload" => upload(call),
        "files/upload_session/start" => session_start(call),
        "files/upload_session/append_v2" => session_append(call),
        "files/upload_session/finish" => session_finish(call),
        "files/create_folder_v2" => create_folder(call),
        "files/delete_v2" => delete(call),
        "files/move_v2" => relocate(call, false),
        "files/copy_v2" => relocate(call, true),
        _ => return None,
    })
}

/// A checked path argument: the root, or a path (`/a/b`, or the display path of an `id:`).
enum Target {
    Root,
    Path(String),
    /// Syntactically a path, but Dropbox answers `malformed_path`.
    Malformed,
    /// An `id:` that names nothing.
    UnknownId,
}

/// Checks the path in `field`; 400 for what Dropbox refuses before looking (`"/"`, a missing
/// leading slash, the root where it is not allowed).
fn target(call: &Call<'_>, arg: &Arg<'_>, field: &str, root_ok: bool) -> Result<Target, ApiError> {
    let raw = arg.string(field)?;
    if raw == "/" {
        return Err(arg.invalid(
            field,
            "Specify the root folder as an empty string rather than as \"/\".",
        ));
    }
    if raw.is_empty() {
        return if root_ok {
            Ok(Target::Root)
        } else {
            Err(arg.invalid(field, "The root folder is unsupported."))
        };
    }
    if let Some(id) = raw.strip_prefix("id:") {
        let tree = &call.app.lock().tree;
        return Ok(match tree.by_id(&format!("id:{id}")) {
            Some(n) => Target::Path(n.display.clone()),
            None => Target::UnknownId,
        });
    }
    if !raw.starts_with('/') {
        return Err(arg.invalid(
            field,
            &format!("'{raw}' did not match pattern '(/(.|[\\r\\n])*)|(ns:[0-9]+(/.*)?)|(id:.*)'"),
        ));
    }
    let malformed = raw[1..]
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == ".." || s.contains('\\'))
        || raw.chars().any(|c| c as u32 > 0xFFFF || c == '\0');
    Ok(if malformed {
        Target::Malformed
    } else {
        Target::Path(raw)
    })
}

/// The LookupError of a target that does not resolve to a node.
fn lookup<'t>(tree: &'t Tree, target: &Target) -> Result<&'t Node, Value> {
    match target {
        Target::Malformed => Err(tag("malformed_path")),
        Target::UnknownId | Target::Root => Err(tag("not_found")),
        Target::Path(p) => tree.get(p).ok_or_else(|| tag("not_found")),
    }
}

fn conflict(c: Conflict) -> Value {
    let kind = match c {
        Conflict::File => "file",
        Conflict::Folder => "folder",
        Conflict::FileAncestor => "file_ancestor",
    };
    nest("conflict", tag(kind))
}

/// The WriteError of a write target that cannot be written before looking at what is there.
fn write_target(target: &Target) -> Result<String, Value> {
    match target {
        Target::Path(p) => {
            let name = p.rsplit('/').next().unwrap_or("").to_lowercase();
            if DISALLOWED.contains(&name.as_str()) {
                Err(tag("disallowed_name"))
            } else {
                Ok(p.clone())
            }
        }
        Target::Malformed | Target::UnknownId | Target::Root => Err(tag("malformed_path")),
    }
}

fn route_error(error: Value) -> ApiError {
    ApiError::Route(error)
}

fn rpc<'a>(call: &'a Call<'_>, value: &'a Value) -> Arg<'a> {
    Arg {
        route: call.route,
        value,
    }
}

fn get_metadata(call: &Call<'_>) -> Result<Response, ApiError> {
    let value = rpc_arg(call.route, call.headers, call.body)?;
    let arg = rpc(call, &value);
    let t = target(call, &arg, "path", false)?;
    let inner = call.app.lock();
    let node = lookup(&inner.tree, &t).map_err(|e| route_error(nest("path", e)))?;
    Ok(ok_json(&node.metadata(true)))
}

fn list_folder(call: &Call<'_>) -> Result<Response, ApiError> {
    let value = rpc_arg(call.route, call.headers, call.body)?;
    let arg = rpc(call, &value);
    let t = target(call, &arg, "path", true)?;
    let recursive = arg.boolean("recursive", false)?;
    // Dropbox may answer fewer entries than `limit`; the fake answers at most `page_size`.
    let limit = match arg.opt_u64("limit")? {
        None => call.app.options.page_size,
        Some(n @ 1..=2000) => (n as usize).min(call.app.options.page_size),
        Some(n) => return Err(arg.invalid("limit", &format!("{n} is not within range [1, 2000]"))),
    }
    .max(1);
    let mut inner = call.app.lock();
    let entries: Vec<Value> = match &t {
        Target::Root => inner
            .tree
            .children("", recursive)
            .iter()
            .map(|n| n.metadata(true))
            .collect(),
        _ => {
            let node = lookup(&inner.tree, &t).map_err(|e| route_error(nest("path", e)))?;
            if !node.is_folder() {
                return Err(route_error(nest("path", tag("not_folder"))));
            }
            let mut list = Vec::new();
            if recursive {
                list.push(node.metadata(true));
            }
            list.extend(
                inner
                    .tree
                    .children(&node.display, recursive)
                    .iter()
                    .map(|n| n.metadata(true)),
            );
            list
        }
    };
    let cursor = Cursor {
        entries: Arc::new(entries),
        at: 0,
        limit,
    };
    Ok(ok_json(&page(&mut inner.uploads, cursor)))
}

/// One page from `cursor`, registering the cursor of the next.
fn page(uploads: &mut Uploads, cursor: Cursor) -> Value {
    let end = (cursor.at + cursor.limit).min(cursor.entries.len());
    let entries = cursor.entries[cursor.at..end].to_vec();
    let has_more = end < cursor.entries.len();
    let token = random_token(60);
    uploads.cursors.insert(
        token.clone(),
        Cursor {
            entries: cursor.entries,
            at: end,
            limit: cursor.limit,
        },
    );
    json!({ "entries": entries, "cursor": token, "has_more": has_more })
}

fn list_folder_continue(call: &Call<'_>) -> Result<Response, ApiError> {
    let value = rpc_arg(call.route, call.headers, call.body)?;
    let arg = rpc(call, &value);
    let token = arg.string("cursor")?;
    let mut inner = call.app.lock();
    let Some(cursor) = inner.uploads.cursors.get(&token) else {
        return Err(route_error(tag("reset")));
    };
    let next = Cursor {
        entries: cursor.entries.clone(),
        at: cursor.at,
        limit: cursor.limit,
    };
    Ok(ok_json(&page(&mut inner.uploads, next)))
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` → the inclusive range within `len`.
fn parse_range(value: &str, len: usize) -> Option<Option<(usize, usize)>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let range = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: usize = n.parse().ok()?;
            (n > 0 && len > 0).then(|| (len.saturating_sub(n), len - 1))
        }
        (a, "") => {
            let a: usize = a.parse().ok()?;
            (a < len).then(|| (a, len - 1))
        }
        (a, b) => {
            let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
            (a <= b && a < len).then(|| (a, b.min(len - 1)))
        }
    };
    Some(range)
}

fn download(call: &Call<'_>) -> Result<Response, ApiError> {
    let value = header_arg(call.route, call.headers, call.query)?;
    let arg = rpc(call, &value);
    let t = target(call, &arg, "path", false)?;
    let inner = call.app.lock();
    let node = lookup(&inner.tree, &t).map_err(|e| route_error(nest("path", e)))?;
    let Kind::File(file) = &node.kind else {
        return Err(route_error(nest("path", tag("not_file"))));
    };
    let result = header_safe_json(&node.metadata(false));
    let content = file.content.clone();
    drop(inner);
    let len = content.len();
    let range = call
        .headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_range(v, len));
    let (status, body, content_range) = match range {
        None => (StatusCode::OK, content.to_vec(), None),
        Some(None) => {
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response())
        }
        Some(Some((a, b))) => (
            StatusCode::PARTIAL_CONTENT,
            content[a..=b].to_vec(),
            Some(format!("bytes {a}-{b}/{len}")),
        ),
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(
        "dropbox-api-result",
        HeaderValue::from_str(&result).expect("ASCII JSON"),
    );
    if let Some(cr) = content_range {
        headers.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&cr).expect("ASCII"),
        );
    }
    Ok(response)
}

/// A CommitInfo.
struct Commit {
    target: Target,
    mode: Mode,
    autorename: bool,
    client_modified: Option<String>,
    strict_conflict: bool,
}

enum Mode {
    Add,
    Overwrite,
    Update(String),
}

fn commit_info(call: &Call<'_>, value: &Value, prefix: &str) -> Result<Commit, ApiError> {
    let arg = rpc(call, value);
    let t = target(call, &arg, "path", false).map_err(|e| match e {
        ApiError::BadInput(r, m) if !prefix.is_empty() => ApiError::BadInput(
            r,
            m.replacen("request body: ", &format!("request body: {prefix}"), 1),
        ),
        e => e,
    })?;
    let mode = match value.get("mode") {
        None | Some(Value::Null) => Mode::Add,
        Some(m) => {
            let tag = m.as_str().or_else(|| m.get(".tag").and_then(Value::as_str));
            match tag {
                Some("add") => Mode::Add,
                Some("overwrite") => Mode::Overwrite,
                Some("update") => match m.get("update").and_then(Value::as_str) {
                    Some(rev) if rev.len() >= 9 => Mode::Update(rev.to_owned()),
                    _ => {
                        return Err(
                            arg.invalid("mode", "update: expected a rev of at least 9 characters")
                        )
                    }
                },
                _ => return Err(arg.invalid("mode", "unknown tag")),
            }
        }
    };
    let client_modified = arg.opt_string("client_modified")?;
    if let Some(cm) = &client_modified {
        let shaped = cm.len() == 20 && cm.ends_with('Z') && humantime::parse_rfc3339(cm).is_ok();
        if !shaped {
            return Err(arg.invalid(
                "client_modified",
                &format!("time data '{cm}' does not match format '%Y-%m-%dT%H:%M:%SZ'"),
            ));
        }
    }
    Ok(Commit {
        target: t,
        mode,
        autorename: arg.boolean("autorename", false)?,
        client_modified,
        strict_conflict: arg.boolean("strict_conflict", false)?,
    })
}

/// Writes `data` (whose content_hash is `hash`) as `commit` says, taking it out of `data` only
/// once the write is sure; the error is a WriteError.
fn commit(
    tree: &mut Tree,
    commit: &Commit,
    data: &mut Vec<u8>,
    hash: String,
) -> Result<Node, Value> {
    let path = write_target(&commit.target)?;
    let existing = tree.get(&path).cloned();
    let display = match existing {
        Some(node) if node.is_folder() => tree.place(&path, commit.autorename).map_err(conflict)?,
        Some(node) => {
            let Kind::File(file) = &node.kind else {
                unreachable!("a file")
            };
            let replace = match &commit.mode {
                Mode::Overwrite => true,
                Mode::Update(rev) => *rev == file.rev,
                Mode::Add => {
                    if !commit.strict_conflict && file.content_hash == hash {
                        return Ok(node);
                    }
                    false
                }
            };
            if replace {
                node.display.clone()
            } else {
                tree.place(&path, commit.autorename).map_err(conflict)?
            }
        }
        None => {
            if matches!(commit.mode, Mode::Update(_)) && commit.strict_conflict {
                return Err(conflict(Conflict::File));
            }
            tree.place(&path, false).map_err(conflict)?
        }
    };
    let data = std::mem::take(data);
    Ok(tree.write_hashed_file(&display, data, hash, commit.client_modified.clone()))
}

/// Checks the optional `content_hash` of a request against `own`, its bytes' hash.
fn check_hash(value: &Value, own: &str) -> Result<(), ApiError> {
    match value.get("content_hash").and_then(Value::as_str) {
        Some(h) if h != own => Err(route_error(tag("content_hash_mismatch"))),
        _ => Ok(()),
    }
}

fn too_large(data: &[u8]) -> Result<(), ApiError> {
    if data.len() > MAX_REQUEST {
        Err(route_error(tag("payload_too_large")))
    } else {
        Ok(())
    }
}

fn upload(call: &Call<'_>) -> Result<Response, ApiError> {
    check_upload_type(call.route, call.headers)?;
    let value = header_arg(call.route, call.headers, call.query)?;
    let info = commit_info(call, &value, "")?;
    too_large(call.body)?;
    let hash = content_hash(call.body);
    check_hash(&value, &hash)?;
    let mut inner = call.app.lock();
    let node = commit(&mut inner.tree, &info, &mut call.body.to_vec(), hash).map_err(|reason| {
        route_error(
            json!({ ".tag": "path", "reason": reason, "upload_session_id": random_token(30) }),
        )
    })?;
    Ok(ok_json(&node.metadata(false)))
}

fn session_start(call: &Call<'_>) -> Result<Response, ApiError> {
    check_upload_type(call.route, call.headers)?;
    let value = header_arg(call.route, call.headers, call.query)?;
    let arg = rpc(call, &value);
    let close = arg.boolean("close", false)?;
    too_large(call.body)?;
    let mut hasher = BlockHasher::default();
    check_hash(&value, &hasher.add(call.body))?;
    let id = format!("pid_upload_session:{}", random_token(40));
    call.app.lock().uploads.sessions.insert(
        id.clone(),
        Session {
            data: call.body.to_vec(),
            hasher,
            closed: close,
        },
    );
    Ok(ok_json(&json!({ "session_id": id })))
}

/// The session and offset of an UploadSessionCursor.
fn cursor_of(call: &Call<'_>, value: &Value) -> Result<(String, u64), ApiError> {
    let arg = rpc(call, value);
    let cursor = arg.object("cursor")?;
    let c = rpc(call, cursor);
    let id = c
        .string("session_id")
        .map_err(|_| arg.invalid("cursor", "missing required field 'session_id'"))?;
    let offset = c
        .opt_u64("offset")?
        .ok_or_else(|| arg.invalid("cursor", "missing required field 'offset'"))?;
    Ok((id, offset))
}

/// The UploadSessionLookupError of a session that cannot take `offset`.
fn check_session(uploads: &Uploads, id: &str, offset: u64, finishing: bool) -> Result<(), Value> {
    let Some(session) = uploads.sessions.get(id) else {
        return Err(tag("not_found"));
    };
    if session.closed && !finishing {
        return Err(tag("closed"));
    }
    if session.data.len() as u64 != offset {
        return Err(json!({ ".tag": "incorrect_offset", "correct_offset": session.data.len() }));
    }
    Ok(())
}

fn session_append(call: &Call<'_>) -> Result<Response, ApiError> {
    check_upload_type(call.route, call.headers)?;
    let value = header_arg(call.route, call.headers, call.query)?;
    let (id, offset) = cursor_of(call, &value)?;
    let close = rpc(call, &value).boolean("close", false)?;
    too_large(call.body)?;
    let mut inner = call.app.lock();
    check_session(&inner.uploads, &id, offset, false).map_err(route_error)?;
    let mut hasher = inner.uploads.sessions[&id].hasher.clone();
    check_hash(&value, &hasher.add(call.body))?;
    let lost_answer = std::mem::take(&mut inner.faults.incorrect_offset_next_append);
    let session = inner
        .uploads
        .sessions
        .get_mut(&id)
        .expect("checked session");
    session.data.extend_from_slice(call.body);
    session.hasher = hasher;
    session.closed |= close;
    if lost_answer {
        let correct = session.data.len();
        return Err(route_error(
            json!({ ".tag": "incorrect_offset", "correct_offset": correct }),
        ));
    }
    Ok(ok_json(&Value::Null))
}

fn session_finish(call: &Call<'_>) -> Result<Response, ApiError> {
    check_upload_type(call.route, call.headers)?;
    let value = header_arg(call.route, call.headers, call.query)?;
    let (id, offset) = cursor_of(call, &value)?;
    let commit_arg = rpc(call, &value).object("commit")?.clone();
    let info = commit_info(call, &commit_arg, "commit: ")?;
    too_large(call.body)?;
    let mut inner = call.app.lock();
    check_session(&inner.uploads, &id, offset, true)
        .map_err(|e| route_error(nest("lookup_failed", e)))?;
    let inner = &mut *inner;
    let session = inner
        .uploads
        .sessions
        .get_mut(&id)
        .expect("checked session");
    let mut hasher = session.hasher.clone();
    check_hash(&value, &hasher.add(call.body))?;
    // The session's bytes move into the file; a refused commit puts them back.
    let mut data = std::mem::take(&mut session.data);
    data.extend_from_slice(call.body);
    match commit(&mut inner.tree, &info, &mut data, hasher.finish()) {
        Ok(node) => {
            inner.uploads.sessions.remove(&id);
            Ok(ok_json(&node.metadata(false)))
        }
        Err(e) => {
            data.truncate(offset as usize);
            session.data = data;
            Err(route_error(nest("path", e)))
        }
    }
}

fn create_folder(call: &Call<'_>) -> Result<Response, ApiError> {
    let value = rpc_arg(call.route, call.headers, call.body)?;
    let arg = rpc(call, &value);
    let t = target(call, &arg, "path", false)?;
    let autorename = arg.boolean("autorename", false)?;
    let path = write_target(&t).map_err(|e| route_error(nest("path", e)))?;
    let mut inner = call.app.lock();
    let node = inner
        .tree
        .create_folder(&path, autorename)
        .map_err(|c| route_error(nest("path", conflict(c))))?;
    Ok(ok_json(&json!({ "metadata": node.metadata(false) })))
}

fn delete(call: &Call<'_>) -> Result<Response, ApiError> {
    let value = rpc_arg(call.route, call.headers, call.body)?;
    let arg = rpc(call, &value);
    let t = target(call, &arg, "path", false)?;
    let parent_rev = arg.opt_string("parent_rev")?;
    let mut inner = call.app.lock();
    let node = lookup(&inner.tree, &t)
        .map_err(|e| route_error(nest("path_lookup", e)))?
        .clone();
    if let (Some(rev), Kind::File(f)) = (&parent_rev, &node.kind) {
        if *rev != f.rev {
            return Err(route_error(nest("path_write", conflict(Conflict::File))));
        }
    }
    inner.tree.remove(&node.display);
    Ok(ok_json(&json!({ "metadata": node.metadata(true) })))
}

fn relocate(call: &Call<'_>, copy: bool) -> Result<Response, ApiError> {
    let value = rpc_arg(call.route, call.headers, call.body)?;
    let arg = rpc(call, &value);
    let from = target(call, &arg, "from_path", false)?;
    let to = target(call, &arg, "to_path", false)?;
    let autorename = arg.boolean("autorename", false)?;
    let mut inner = call.app.lock();
    let node = lookup(&inner.tree, &from)
        .map_err(|e| route_error(nest("from_lookup", e)))?
        .clone();
    let to = write_target(&to).map_err(|e| route_error(nest("to", e)))?;
    let from_lower = node.display.to_lowercase();
    let to_lower = to.to_lowercase();
    if to_lower.starts_with(&format!("{from_lower}/")) {
        return Err(route_error(tag("cant_move_folder_into_itself")));
    }
    let display = if to_lower == from_lower && to != node.display && !copy {
        // A change of case only: Dropbox renames in place.
        let parent = node.display.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
        format!("{parent}/{}", to.rsplit('/').next().unwrap_or(""))
    } else {
        inner
            .tree
            .place(&to, autorename)
            .map_err(|c| route_error(nest("to", conflict(c))))?
    };
    let moved = inner.tree.relocate(&node.display, &display, copy);
    Ok(ok_json(&json!({ "metadata": moved.metadata(true) })))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        let cases = [
            ("bytes=0-3", 10, Some(Some((0, 3)))),
            ("bytes=5-", 10, Some(Some((5, 9)))),
            ("bytes=-4", 10, Some(Some((6, 9)))),
            ("bytes=8-20", 10, Some(Some((8, 9)))),
            ("bytes=10-", 10, Some(None)),
            ("bytes=0-1,3-4", 10, None),
            ("items=0-1", 10, None),
        ];
        for (header, len, expected) in cases {
            assert_eq!(parse_range(header, len), expected, "{header}");
        }
    }
}
