//! The checks on what a driver answers: a plugin's answer is untrusted input too. An entry
//! must carry a path a client could have sent (a listing could otherwise hand a client a
//! `..` or a NUL), and a listing must list the folder asked. Every door gets its answers
//! through these checks, by calling `call`.

use plugin_api::{parent, Entry, ListPage};

use crate::app::error::AppError;

/// A checked page of a folder: every entry a child of `dir` with a path a client can send.
pub(crate) struct Listing {
    pub(crate) dir: String,
    pub(crate) entries: Vec<Entry>,
    pub(crate) next_cursor: Option<String>,
    /// Children of this page left out: their names cannot be sent back as a path.
    pub(crate) skipped: usize,
}

/// `e`, once its path is known to be one a client could have sent.
pub(crate) fn entry(e: Entry) -> Result<Entry, AppError> {
    if !crate::paths::is_normal(&e.path) {
        return Err(AppError::PluginBadAnswer(format!(
            "the driver answered an invalid path {:?}",
            e.path
        )));
    }
    Ok(e)
}

/// The page a driver listed for `dir`, checked. Each entry must be a child of `dir`
/// (compared without case: some back ends, Dropbox, answer the case they store), or the
/// listing fails: a driver listing another folder is broken. A child whose name no client
/// path can carry (a backslash or a control character, legal in a file name on disk; or too
/// long) is left out, counted and logged, and the rest is listed: one odd file must not hide
/// its whole folder.
pub(crate) fn listing(dir: String, page: ListPage) -> Result<Listing, AppError> {
    let mut entries = Vec::with_capacity(page.entries.len());
    let mut skipped = 0;
    let mut first_skipped = None;
    for e in page.entries {
        let name = e.name();
        if matches!(name, "" | "." | "..") || !parent(&e.path).eq_ignore_ascii_case(&dir) {
            return Err(AppError::PluginBadAnswer(format!(
                "the driver listed {:?}, which is not in '{dir}'",
                e.path
            )));
        }
        if !crate::paths::is_normal(&e.path) {
            skipped += 1;
            first_skipped.get_or_insert_with(|| name.to_owned());
            continue;
        }
        entries.push(e);
    }
    if let Some(first) = first_skipped {
        tracing::warn!(
            dir = ?dir,
            skipped,
            first = ?first,
            "a listing left out entries whose names no client path can carry"
        );
    }
    Ok(Listing {
        dir,
        entries,
        next_cursor: page.next_cursor,
        skipped,
    })
}
