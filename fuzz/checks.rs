//! The invariants the fuzz targets check, in one place: included with `#[path]` by the
//! targets in `fuzz/fuzz_targets/` and by `host/tests/fuzz_corpus.rs`, which replays the
//! committed corpus in the ordinary test command. Each check panics (through `assert!`) when
//! the host breaks an invariant, so a violation is a crash to libFuzzer and a failed test to
//! `cargo test`.
//!
//! The inputs are bytes; they are read as UTF-8 lossily because every entry point takes
//! `&str` (the HTTP layer hands the host text, and manifests are read as UTF-8).

// Each includer uses only some of the checks.
#![allow(dead_code)]

use wshost::internals::{normalize_path, parse_manifest, parse_query};

/// The longest path and segment the normalizer accepts (`host/src/paths.rs`).
const MAX_PATH: usize = 4096;
const MAX_SEGMENT: usize = 255;

/// Checks `normalize_path` on `data`: a normalized path is canonical and confined, a refused
/// path was truly hostile or too long, and the answer does not depend on leading, trailing or
/// doubled slashes or `.` segments.
pub(crate) fn check_path(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    let got = normalize_path(&raw);
    match &got {
        Ok(out) => {
            assert_canonical(out, &raw);
            assert_eq!(
                out,
                &expected_normal_form(&raw),
                "normalize({raw:?}) dropped or changed a name"
            );
        }
        Err(msg) => {
            assert!(!msg.is_empty(), "empty refusal for {raw:?}");
            assert!(
                refusable(&raw),
                "normalize({raw:?}) refused a harmless path: {msg}"
            );
        }
    }
    // Refusals are total: whatever the rest of the path, these never pass.
    let hostile =
        raw.split('/').any(|s| s == "..") || raw.chars().any(|c| c == '\\' || c.is_control());
    assert!(
        !hostile || got.is_err(),
        "normalize({raw:?}) accepted a hostile path: {got:?}"
    );
    // Slashes and `.` segments added around the path change nothing (while it stays short).
    for variant in [format!("/{raw}"), format!("{raw}/"), format!("./{raw}")] {
        if variant.len() <= MAX_PATH {
            assert_eq!(
                normalize_path(&variant),
                got,
                "normalize({variant:?}) differs from normalize({raw:?})"
            );
        }
    }
}

/// Checks `parse_query` on `data` against an independent decoding of the same query, and
/// that `file` obeys the normalizer's invariants. Then builds a query from the pieces of
/// `data` (split at newlines: action, workspace, file) and checks that they come back intact.
pub(crate) fn check_query(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    let q = parse_query(&raw);
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    let first = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        q.action,
        first("get_action").or_else(|| first("action")),
        "action of {raw:?}"
    );
    assert_eq!(
        q.workspace,
        first("ws").or_else(|| first("tmp_repository_id")),
        "workspace of {raw:?}"
    );
    match first("file") {
        None => assert_eq!(q.file, Ok(String::new()), "absent file of {raw:?}"),
        Some(file) => {
            // Same decision and path; the messages differ (the query's names its parameter).
            assert_eq!(
                q.file.as_ref().ok(),
                normalize_path(&file).as_ref().ok(),
                "file of {raw:?}"
            );
            if let Ok(out) = &q.file {
                assert_canonical(out, &file);
            }
        }
    }

    let mut pieces = raw.splitn(3, '\n');
    let (action, ws, file) = (
        pieces.next().unwrap_or_default(),
        pieces.next().unwrap_or_default(),
        pieces.next().unwrap_or_default(),
    );
    let built = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("get_action", action)
        .append_pair("ws", ws)
        .append_pair("file", file)
        .finish();
    let back = parse_query(&built);
    assert_eq!(back.action.as_deref(), Some(action), "action via {built:?}");
    assert_eq!(
        back.workspace.as_deref(),
        Some(ws),
        "workspace via {built:?}"
    );
    assert_eq!(
        back.file.as_ref().ok(),
        normalize_path(file).as_ref().ok(),
        "file via {built:?}"
    );
}

/// Checks `parse_manifest` on `data`: it answers (no panic, no hang: libFuzzer's timeout),
/// the same way twice, with a well-formed `type.name` id or a non-empty message.
pub(crate) fn check_manifest(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let got = parse_manifest(&text);
    match &got {
        Ok(id) => {
            let (kind, name) = id
                .split_once('.')
                .unwrap_or_else(|| panic!("accepted id {id:?} is not type.name"));
            let word = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c == '_' || c.is_ascii_digit() || c.is_ascii_lowercase())
            };
            assert!(word(kind) && word(name), "accepted malformed id {id:?}");
        }
        Err(msg) => assert!(!msg.trim().is_empty(), "empty error for {text:?}"),
    }
    assert_eq!(
        parse_manifest(&text),
        got,
        "parse_manifest is not deterministic"
    );
}

/// A normalized path: relative, no empty, `.` or `..` segment, no backslash, NUL or other
/// control character, within the length limits, and a fixed point of the normalizer.
fn assert_canonical(out: &str, raw: &str) {
    let ctx = || format!("normalize({raw:?}) = {out:?}");
    assert!(!out.starts_with('/'), "{}: leading slash", ctx());
    assert!(!out.ends_with('/'), "{}: trailing slash", ctx());
    assert!(
        !out.chars().any(|c| c == '\\' || c.is_control()),
        "{}: backslash or control character",
        ctx()
    );
    assert!(out.len() <= MAX_PATH, "{}: too long", ctx());
    if !out.is_empty() {
        for segment in out.split('/') {
            assert!(
                !matches!(segment, "" | "." | ".."),
                "{}: segment {segment:?}",
                ctx()
            );
            assert!(segment.len() <= MAX_SEGMENT, "{}: segment too long", ctx());
        }
    }
    assert_eq!(
        normalize_path(out).as_deref(),
        Ok(out),
        "{}: not a fixed point",
        ctx()
    );
}

/// What a harmless path must normalize to: its non-empty, non-`.` segments, in order.
fn expected_normal_form(raw: &str) -> String {
    raw.split('/')
        .filter(|s| !matches!(*s, "" | "."))
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether `raw` may be refused: a `..` segment, a forbidden character, or over a limit.
fn refusable(raw: &str) -> bool {
    raw.len() > MAX_PATH
        || raw.split('/').any(|s| s == ".." || s.len() > MAX_SEGMENT)
        || raw.chars().any(|c| c == '\\' || c.is_control())
}
