//! Downloads over `files/download`, whole or ranged: the HTTP response body is handed to the
//! host as the stream, so bytes flow from Dropbox to the client in bounded memory.

use plugin_api::{ByteRange, CallContext, ErrorKind, PluginError, ReadResult, Result, WsPath};
use serde_json::json;

use crate::core::Workspace;
use crate::error::shown;

/// Opens `path` for reading.
pub(crate) fn read(
    ws: &Workspace,
    ctx: &CallContext,
    path: &WsPath,
    range: Option<ByteRange>,
) -> Result<ReadResult> {
    let what = format!("read '{}'", shown(path));
    if path.is_empty() {
        return Err(PluginError::conflict(format!(
            "cannot {what}: it is a folder"
        )));
    }
    let arg = json!({ "path": ws.cfg().dropbox_path(path) });
    let attempt = ws.call(ctx, &mut |token| {
        ws.core().download(ws.cfg(), token, &arg, range, &what)
    });
    let (resp, meta) = match attempt {
        // A zero-byte file has no byte 0: serve it whole, as every driver does.
        Err(e) if e.kind == ErrorKind::InvalidRange && range.is_some_and(|r| r.start == 0) => ws
            .call(ctx, &mut |token| {
                ws.core().download(ws.cfg(), token, &arg, None, &what)
            })?,
        other => other?,
    };
    let entry = meta.entry(path.to_owned());
    let served = match (resp.status().as_u16(), range) {
        (206, Some(r)) => {
            let end = r
                .len
                .map_or(entry.size, |len| entry.size.min(r.start + len));
            if r.start >= entry.size && entry.size > 0 {
                return Err(PluginError::new(
                    ErrorKind::InvalidRange,
                    format!("cannot {what}: the range starts past the end"),
                ));
            }
            Some(ByteRange {
                start: r.start,
                len: Some(end - r.start),
            })
        }
        _ => None,
    };
    if served.is_none() {
        if let Some(r) = range {
            if r.start > 0 && r.start >= entry.size {
                return Err(PluginError::new(
                    ErrorKind::InvalidRange,
                    format!("cannot {what}: the range starts past the end"),
                ));
            }
        }
    }
    Ok(ReadResult {
        entry,
        range: served,
        content: Box::new(resp),
    })
}
