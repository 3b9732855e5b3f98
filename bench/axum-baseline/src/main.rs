//! A bare axum file server written the tuned way, as the baseline wshost is measured
//! against (`bench/run.sh`): what a developer would write by hand with no plugin boundary,
//! no authentication and no store. It serves one folder:
//!
//! - `GET /f/PATH`: the file, read 256 KiB at a time (`ReaderStream::with_capacity`), since
//!   tokio's default 4 KiB reads cost one blocking-pool trip each (14× slower);
//! - `PUT /f/PATH`: the body streamed to the file through a 256 KiB buffer; with `?safe`,
//!   the way wshost's access.fs writes (a temporary file beside the target, `sync_data`,
//!   then a rename), so the cost of that guarantee can be told apart from the host's own;
//! - `GET /stat/PATH`: a small JSON description of one entry;
//! - `GET /ls/PATH`: the whole folder as JSON, read in one `spawn_blocking` with std::fs
//!   (per-entry async metadata calls are 7× slower).
//!
//! Accepted sockets get TCP_NODELAY: with Nagle's algorithm on, streamed responses wait
//! ~40 ms for delayed ACKs.
//!
//! Usage: `axum-baseline LISTEN_ADDR ROOT_DIR`.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use anyhow::Context;
use axum::body::Body;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

/// Bytes per read and per write buffer.
const CHUNK: usize = 256 * 1024;

type Root = Arc<PathBuf>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(root)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: axum-baseline LISTEN_ADDR ROOT_DIR");
    };
    let root: Root =
        Arc::new(std::fs::canonicalize(&root).with_context(|| format!("root folder {root}"))?);
    let app = Router::new()
        .route("/f/{*path}", get(download).put(upload))
        .route("/stat/{*path}", get(stat))
        .route("/ls", get(list_root))
        .route("/ls/{*path}", get(list))
        .with_state(root);
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    eprintln!("axum-baseline listening on http://{listen}");
    axum::serve(listener, app).await?;
    Ok(())
}

/// `root/rel`, refusing anything but plain names (no `..`, no absolute paths).
fn resolve(root: &Path, rel: &str) -> Result<PathBuf, StatusCode> {
    let rel = Path::new(rel);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(StatusCode::BAD_REQUEST);
    }
    Ok(root.join(rel))
}

fn io_error(e: std::io::Error) -> Response {
    let status = match e.kind() {
        std::io::ErrorKind::NotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, e.to_string()).into_response()
}

async fn download(State(root): State<Root>, UrlPath(rel): UrlPath<String>) -> Response {
    let path = match resolve(&root, &rel) {
        Ok(p) => p,
        Err(status) => return status.into_response(),
    };
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => return io_error(e),
    };
    let len = match file.metadata().await {
        Ok(m) => m.len(),
        Err(e) => return io_error(e),
    };
    Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, len)
        .body(Body::from_stream(ReaderStream::with_capacity(file, CHUNK)))
        .unwrap_or_else(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response())
}

async fn upload(
    State(root): State<Root>,
    UrlPath(rel): UrlPath<String>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    let path = match resolve(&root, &rel) {
        Ok(p) => p,
        Err(status) => return status.into_response(),
    };
    let safe = query.as_deref() == Some("safe");
    let written = if safe {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        path.with_file_name(format!(".{name}.part"))
    } else {
        path.clone()
    };
    let file = match tokio::fs::File::create(&written).await {
        Ok(f) => f,
        Err(e) => return io_error(e),
    };
    let mut out = tokio::io::BufWriter::with_capacity(CHUNK, file);
    let mut frames = body.into_data_stream();
    let mut total = 0u64;
    while let Some(frame) = frames.next().await {
        let bytes = match frame {
            Ok(b) => b,
            Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        };
        total += bytes.len() as u64;
        if let Err(e) = out.write_all(&bytes).await {
            return io_error(e);
        }
    }
    if let Err(e) = out.flush().await {
        return io_error(e);
    }
    if safe {
        let published = async {
            out.get_ref().sync_data().await?;
            tokio::fs::rename(&written, &path).await
        };
        if let Err(e) = published.await {
            let _ = tokio::fs::remove_file(&written).await;
            return io_error(e);
        }
    }
    (StatusCode::CREATED, Json(json!({ "size": total }))).into_response()
}

fn describe(name: &str, meta: &std::fs::Metadata) -> Value {
    json!({
        "name": name,
        "type": if meta.is_dir() { "dir" } else { "file" },
        "size": meta.len(),
        "modified": meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs()),
    })
}

async fn stat(State(root): State<Root>, UrlPath(rel): UrlPath<String>) -> Response {
    let path = match resolve(&root, &rel) {
        Ok(p) => p,
        Err(status) => return status.into_response(),
    };
    match tokio::fs::metadata(&path).await {
        Ok(meta) => Json(describe(&rel, &meta)).into_response(),
        Err(e) => io_error(e),
    }
}

async fn list_root(state: State<Root>) -> Response {
    list(state, UrlPath(String::new())).await
}

async fn list(State(root): State<Root>, UrlPath(rel): UrlPath<String>) -> Response {
    let path = match resolve(&root, &rel) {
        Ok(p) => p,
        Err(status) => return status.into_response(),
    };
    // The whole listing in one blocking-pool trip: read the names, sort, describe each.
    let listed = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<Value>> {
        let mut names = Vec::new();
        for item in std::fs::read_dir(&path)? {
            if let Ok(name) = item?.file_name().into_string() {
                names.push(name);
            }
        }
        names.sort_unstable();
        let mut entries = Vec::with_capacity(names.len());
        for name in names {
            if let Ok(meta) = std::fs::metadata(path.join(&name)) {
                entries.push(describe(&name, &meta));
            }
        }
        Ok(entries)
    })
    .await;
    match listed {
        Ok(Ok(entries)) => Json(json!({ "entries": entries })).into_response(),
        Ok(Err(e)) => io_error(e),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
