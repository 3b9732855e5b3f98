//! The WebDAV door: `/dav/` (and `/shares/`, Pydio's WebDAV base) serves every workspace the
//! caller sees, `/dav/{workspace}/{path}` its tree, to Finder, Windows Explorer, davfs2,
//! gvfs, rclone and the like.
//!
//! The protocol (PROPFIND, LOCK, If headers, multistatus answers, ...) is dav-server's; this
//! door gives it, per request, a filesystem over the workspace's driver (`fs`, `file`) that
//! calls it through the plugin-call layer (deadlines, answer checks), locks and dead
//! properties in the store (`locks`; shared by every instance on one database), and turns
//! failures into honest answers (`answer`).
//!
//! Order of a request: who is calling (Basic with an app password, or Bearer; never a
//! cookie, since nothing here checks CSRF), where it goes (the path as dav-server will
//! read it, and a Destination's), may they (read for PROPFIND, GET, HEAD; read-write for
//! everything else), can the driver (its capabilities), and only then dav-server.

mod answer;
mod file;
mod fs;
mod locks;
mod quirks;

use std::sync::{Arc, OnceLock};

use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use dav_server::davpath::DavPath;
use dav_server::DavHandler;
use http::{header, HeaderValue, Method, StatusCode};
use plugin_api::Capabilities;

use crate::access::{check_access, visible_workspaces};
use crate::app::error::AppError;
use crate::app::Shared;
use crate::auth::{basic_challenge, resolve_client};
use crate::config::AppleFiles;
use crate::paths;
use crate::store::{Access, Store};
use crate::telemetry;
use answer::{error_answer, Failure};
use fs::{DriverFs, Target};
use locks::StoreLocks;

/// The URL prefixes the door answers under.
const PREFIXES: [&str; 2] = ["/dav", "/shares"];

/// Bytes dav-server asks of a file per read: the size of the host's stream chunks.
const READ_CHUNK: usize = crate::plugins::stream::CHUNK;

/// The door's routes, merged into the host's router.
pub(crate) fn router() -> Router<Shared> {
    let mut router = Router::new();
    for prefix in PREFIXES {
        router = router
            .route(prefix, any(serve))
            .route(&format!("{prefix}/"), any(serve))
            .route(&format!("{prefix}/{{*path}}"), any(serve));
    }
    router
}

/// Where a request path (below the prefix, decoded) points.
pub(super) enum Located {
    /// The door's root: the workspaces.
    Root,
    /// Workspace id, and the path in it as drivers take it (normalized, "" for its root).
    In(String, String),
}

/// Splits a decoded path below the prefix (`/ws/a/b`) into workspace and normalized path.
pub(super) fn locate(path: &[u8]) -> Result<Located, AppError> {
    let path = std::str::from_utf8(path)
        .map_err(|_| AppError::BadRequest("the path is not UTF-8".into()))?;
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Ok(Located::Root);
    }
    let (ws, rest) = path.split_once('/').unwrap_or((path, ""));
    let rel = paths::normalize(rest).map_err(|err| AppError::BadPath { name: "path", err })?;
    Ok(Located::In(ws.to_owned(), rel))
}

async fn serve(State(state): State<Shared>, req: Request) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let work = Store::request_scope(serve_inner(state, req));
    let (response, plugin) = telemetry::track(request_id, work).await;
    telemetry::request(
        metric_action(&method),
        plugin.as_deref(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

async fn serve_inner(state: Shared, req: Request) -> Response {
    let public_url = state.config.public_url.clone();
    if !state.config.dav.enabled {
        let path = req.uri().path().to_owned();
        return error_answer(AppError::NoRoute { path }, &public_url, None);
    }
    match route(&state, req).await {
        Ok(response) => response,
        Err((e, ws)) => {
            let unauthenticated = matches!(
                e,
                AppError::Unauthenticated | AppError::InvalidCredentials(_)
            );
            let mut response = error_answer(e, &public_url, ws.as_deref());
            if unauthenticated {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    basic_challenge(&state.config.dav.realm),
                );
            }
            response
        }
    }
}

/// The metrics label of a WebDAV method: known ones by name, any other as one label, so a
/// client cannot grow the metrics by inventing methods.
fn metric_action(method: &Method) -> &'static str {
    match method.as_str() {
        "OPTIONS" => "dav_options",
        "PROPFIND" => "dav_propfind",
        "PROPPATCH" => "dav_proppatch",
        "GET" => "dav_get",
        "HEAD" => "dav_head",
        "PUT" => "dav_put",
        "MKCOL" => "dav_mkcol",
        "DELETE" => "dav_delete",
        "COPY" => "dav_copy",
        "MOVE" => "dav_move",
        "LOCK" => "dav_lock",
        "UNLOCK" => "dav_unlock",
        _ => "dav_other",
    }
}

/// A refusal, with the workspace it concerns (to name its page in the answer).
type Refusal = (AppError, Option<String>);

async fn route(state: &Shared, req: Request) -> Result<Response, Refusal> {
    let prefix = PREFIXES
        .into_iter()
        .find(|p| req.uri().path() == *p || req.uri().path().starts_with(&format!("{p}/")))
        .expect("routed under a prefix");
    let method = req.method().clone();
    if method == Method::PATCH {
        // dav-server would take it as SabreDAV's partial update, which drivers (whole-file
        // writers) cannot do.
        return Err((
            AppError::WrongMethod {
                method: "PATCH".into(),
                path: req.uri().path().to_owned(),
            },
            None,
        ));
    }
    if method.as_str() == "PROPFIND" && infinite(&req) {
        return Ok(infinity_refused());
    }
    let place = dav_path(req.uri().path(), prefix)
        .and_then(|p| locate(p.as_bytes()))
        .map_err(|e| (e, None))?;
    let (parts, body) = req.into_parts();
    let caller = resolve_client(state, &parts).await.map_err(|e| (e, None))?;
    let mut req = Request::from_parts(parts, body);
    quirks::default_depth(&method, req.headers_mut());
    if caller.user.is_none() && method != Method::OPTIONS {
        return Err((AppError::Unauthenticated, None));
    }
    let mut fs = DriverFs {
        state: state.clone(),
        target: None,
        workspaces: Arc::default(),
        failure: Failure::default(),
        max_entries: state.config.dav.max_propfind_entries as usize,
        refuse_apple_files: state.config.dav.apple_files == AppleFiles::Refuse,
        seen: Arc::default(),
        any_props: Arc::default(),
        patching: method.as_str() == "PROPPATCH",
        // A ranged GET reads from where dav-server seeks: nothing to read ahead.
        reads: method == Method::GET && !req.headers().contains_key(header::RANGE),
        read_made: Arc::default(),
    };
    let workspace = match place {
        Located::Root => {
            if !matches!(method, Method::OPTIONS | Method::GET | Method::HEAD)
                && method.as_str() != "PROPFIND"
            {
                return Err((
                    AppError::Forbidden(
                        "the WebDAV root holds the workspaces; change files inside one".into(),
                    ),
                    None,
                ));
            }
            if caller.user.is_some() {
                let visible = visible_workspaces(state, &caller)
                    .await
                    .map_err(|e| (e, None))?;
                fs.workspaces = Arc::new(visible.into_iter().map(|(ws, _)| ws.id).collect());
            }
            None
        }
        Located::In(ws, _) => {
            let refuse = |e| (e, Some(ws.clone()));
            // An anonymous OPTIONS (Windows sends one first) learns what the server speaks,
            // not what the workspace holds.
            if caller.user.is_some() {
                let need = needs(&method);
                let granted = check_access(state, &caller, &ws, need)
                    .await
                    .map_err(refuse)?;
                let driver = granted.driver();
                let caps = if need == Access::ReadWrite {
                    let caps = driver.capabilities(state).await.map_err(refuse)?;
                    capable(&method, caps, &ws).map_err(refuse)?;
                    caps
                } else {
                    Capabilities::READ_ONLY
                };
                if matches!(method.as_str(), "COPY" | "MOVE") {
                    destination(&req, prefix, &ws, &state.config.public_url).map_err(refuse)?;
                }
                fs.target = Some(Arc::new(Target {
                    ws: ws.clone(),
                    driver,
                    caps,
                }));
            }
            Some(ws)
        }
    };
    let failure = fs.failure.clone();
    let mut config = DavHandler::builder()
        .strip_prefix(prefix)
        .filesystem(Box::new(fs))
        .locksystem(Box::new(lock_system(state)))
        .read_buf_size(READ_CHUNK)
        .autoindex(false);
    if let Some(user) = caller.name() {
        config = config.principal(user);
    }
    let mut response = config.build_handler().handle(req).await;
    if method == Method::OPTIONS {
        // Classes 1, 2 and 3 (RFC 4918), without the SabreDAV partial update dav-server
        // lists, which PATCH refuses above.
        response
            .headers_mut()
            .insert("dav", HeaderValue::from_static("1, 2, 3"));
    }
    Ok(answer::answer(
        response,
        &failure,
        &state.config.public_url,
        workspace.as_deref(),
    ))
}

/// Whether a request asks `Depth: infinity` (a whole tree in one answer).
fn infinite(req: &Request) -> bool {
    req.headers()
        .get("depth")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|d| d.trim().eq_ignore_ascii_case("infinity"))
}

/// RFC 4918 9.1: a server may refuse PROPFIND of a whole tree with 403 and the
/// `propfind-finite-depth` precondition. dav-server does, except for a request with litmus's
/// `X-Litmus` header, which any client could send: the door refuses it first.
fn infinity_refused() -> Response {
    let body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
                <D:error xmlns:D=\"DAV:\"><D:propfind-finite-depth/></D:error>\n";
    let mut response = Response::new(axum::body::Body::from(body));
    *response.status_mut() = StatusCode::FORBIDDEN;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    response
}

/// The lock system, one per process (it remembers when it last swept expired locks) with a
/// memory per request; the locks themselves are in the store, shared by every instance.
fn lock_system(state: &Shared) -> StoreLocks {
    static LOCKS: OnceLock<StoreLocks> = OnceLock::new();
    LOCKS
        .get_or_init(|| StoreLocks::new(state.store.clone()))
        .for_request()
}

/// The decoded path below `prefix`, as dav-server will read it (`..` resolved, segments
/// decoded; a decoded `/` or NUL refused).
fn dav_path(raw: &str, prefix: &str) -> Result<DavPath, AppError> {
    let mut path = DavPath::new(raw)
        .map_err(|e| AppError::BadRequest(format!("the request path is refused: {e:?}")))?;
    let climbed = || AppError::BadRequest(format!("the path climbs out of {prefix}/"));
    path.set_prefix(prefix).map_err(|_| climbed())?;
    // dav-server's prefix is a byte prefix: `/dav/../davfiles/x` resolves to `/davfiles/x`,
    // which `/dav` prefixes, and would be read as workspace `files`. Below the prefix, a
    // path starts with `/`.
    if !path.as_bytes().starts_with(b"/") {
        return Err(climbed());
    }
    Ok(path)
}

/// The access a method needs: reading for what only looks, read-write for anything else.
fn needs(method: &Method) -> Access {
    match method.as_str() {
        "GET" | "HEAD" | "PROPFIND" | "OPTIONS" => Access::Read,
        _ => Access::ReadWrite,
    }
}

/// Refuses what the workspace's driver cannot do: a driver without `mkdir` answers MKCOL with
/// 405 (RFC 4918 9.3.1), one without `write` any change with 403.
fn capable(method: &Method, caps: Capabilities, ws: &str) -> Result<(), AppError> {
    if !caps.contains(Capabilities::WRITE) {
        return Err(AppError::Forbidden(format!(
            "workspace '{ws}' is read-only: its driver does not write"
        )));
    }
    if method.as_str() == "MKCOL" && !caps.contains(Capabilities::MKDIR) {
        return Err(AppError::WrongMethod {
            method: "MKCOL".into(),
            path: format!("workspace '{ws}' (its driver makes no folders)"),
        });
    }
    Ok(())
}

/// Checks a COPY or MOVE's Destination: a client path like any other (decoded, `..`
/// resolved, normalized), on this server and in the same workspace. A destination elsewhere
/// is refused with 502 Bad Gateway, as RFC 4918 (9.8.5, 9.9.4) allows: copying across
/// workspaces would need two drivers and two grants in one request.
fn destination(req: &Request, prefix: &str, ws: &str, public_url: &str) -> Result<(), AppError> {
    let value = req
        .headers()
        .get("destination")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AppError::BadRequest("COPY and MOVE need a Destination header".into()))?;
    let path = if value.starts_with('/') {
        value.to_owned()
    } else {
        let url = url::Url::parse(value)
            .map_err(|_| AppError::BadRequest(format!("the Destination '{value}' is not a URL")))?;
        // This server is the Host the client spoke to, or the public URL's (a proxy may pass
        // on another Host).
        let there = authority(&url);
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok());
        let public = url::Url::parse(public_url).ok().map(|u| authority(&u));
        let here = |a: &str| a.eq_ignore_ascii_case(&there);
        if !host.is_some_and(here) && !public.as_deref().is_some_and(here) {
            return Err(elsewhere(format!(
                "the Destination is on another server ({there})"
            )));
        }
        url.path().to_owned()
    };
    match dav_path(&path, prefix).and_then(|p| locate(p.as_bytes())) {
        Ok(Located::In(dest, _)) if dest == ws => Ok(()),
        Ok(Located::In(dest, _)) => Err(elsewhere(format!(
            "the Destination is in another workspace ('{dest}'); copy or move within '{ws}'"
        ))),
        Ok(Located::Root) => Err(AppError::Forbidden(
            "the Destination is the WebDAV root, which holds only workspaces".into(),
        )),
        Err(AppError::BadRequest(_)) => Err(elsewhere(format!(
            "the Destination is outside {prefix}/ on this server"
        ))),
        Err(e) => Err(e),
    }
}

/// `host[:port]` of a URL, the port left out when it is the scheme's default.
fn authority(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

fn elsewhere(message: String) -> AppError {
    AppError::Rejected {
        status: StatusCode::BAD_GATEWAY,
        message,
    }
}
