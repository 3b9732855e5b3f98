//! Folder listings over `files/list_folder` and `files/list_folder/continue`: Dropbox's
//! cursor is passed through as the host's page cursor, so a listing of any size is served
//! page by page without the driver keeping anything.

use plugin_api::{join, CallContext, ListPage, PageRequest, PluginError, Result, WsPath};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::core::{Metadata, Workspace};
use crate::error::{bad_answer, shown};

/// The page size when the host asks for 0 entries.
const DEFAULT_LIMIT: u32 = 1000;
/// The largest page Dropbox serves.
const MAX_LIMIT: u32 = 2000;

#[derive(Deserialize)]
struct Answer {
    entries: Vec<Value>,
    cursor: String,
    has_more: bool,
}

/// One page of `dir`.
pub(crate) fn list(
    ws: &Workspace,
    ctx: &CallContext,
    dir: &WsPath,
    page: PageRequest,
) -> Result<ListPage> {
    let what = format!("list '{}'", shown(dir));
    let answer = match &page.cursor {
        None => {
            // 0 means "the driver's choice", as in every driver.
            let limit = match page.limit {
                0 => DEFAULT_LIMIT,
                n => n.min(MAX_LIMIT),
            };
            let arg = json!({
                "path": ws.cfg().dropbox_path(dir),
                "recursive": false,
                "include_deleted": false,
                "limit": limit,
            });
            ws.rpc(ctx, "files/list_folder", arg, &what)?
        }
        Some(cursor) => ws.rpc(
            ctx,
            "files/list_folder/continue",
            json!({ "cursor": cursor }),
            &what,
        )?,
    };
    let answer: Answer = serde_json::from_value(answer).map_err(|e| bad_answer(&what, e))?;
    let mut entries = Vec::with_capacity(answer.entries.len());
    for item in &answer.entries {
        let meta = Metadata::parse(item, &what)?;
        if meta.is("deleted") {
            continue;
        }
        if meta.name.is_empty() || meta.name.contains('/') {
            return Err(PluginError::internal(format!(
                "cannot {what}: Dropbox answered a bad name"
            )));
        }
        entries.push(meta.entry(join(dir, &meta.name)));
    }
    // Dropbox may answer an empty page with has_more; the cursor still moves on.
    let next_cursor = answer.has_more.then_some(answer.cursor);
    Ok(ListPage {
        entries,
        next_cursor,
    })
}
