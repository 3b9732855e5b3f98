//! The one place where Dropbox's answers become [`PluginError`]s.
//!
//! Dropbox errors are unions: `{"error_summary":"path/not_found/..","error":{".tag":"path",
//! "path":{".tag":"not_found"}}}`. The summary is for people and is never parsed; the tag
//! chain of `error` is read instead (`path` → `not_found`) and its most specific known tag
//! decides the kind. Messages name the operation and the workspace path, never a token.

use std::time::Duration;

use plugin_api::{ErrorKind, PluginError};
use serde_json::Value;

/// What a failed Dropbox call means to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// 401 `expired_access_token`: refresh and try once more.
    Expired,
    /// 401 for another reason (revoked or invalid token): the user must authorize again.
    Unauthorized(String),
    /// 409 `incorrect_offset` of an upload session: the offset Dropbox has.
    IncorrectOffset(u64),
    /// Anything else, already a plugin error.
    Failed(PluginError),
}

impl From<PluginError> for ApiError {
    fn from(e: PluginError) -> Self {
        ApiError::Failed(e)
    }
}

/// The `.tag` chain of a Dropbox error union: `{".tag":"to","to":{".tag":"conflict",
/// "conflict":{".tag":"folder"}}}` gives `["to", "conflict", "folder"]`.
pub(crate) fn tags(error: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = error;
    while let Some(tag) = cur.get(".tag").and_then(Value::as_str) {
        out.push(tag.to_owned());
        // A member with fields carries them inline: its union is under its own name, or
        // under `reason` (upload errors: `{".tag":"path","reason":{…},"upload_session_id":…}`).
        match cur.get(tag).or_else(|| cur.get("reason")) {
            Some(next) if next.is_object() => cur = next,
            _ => break,
        }
    }
    // 429 bodies put their union under `reason`.
    if out.is_empty() {
        if let Some(reason) = error.get("reason") {
            return tags(reason);
        }
    }
    out
}

/// The kind a tag chain maps to, reading from the most specific tag outwards.
fn kind_of(tags: &[String]) -> ErrorKind {
    for tag in tags.iter().rev() {
        let kind = match tag.as_str() {
            "not_found" => ErrorKind::NotFound,
            "conflict" => ErrorKind::AlreadyExists,
            "not_file"
            | "not_folder"
            | "cant_move_folder_into_itself"
            | "reset"
            | "cant_copy_shared_folder"
            | "cant_nest_shared_folder"
            | "duplicated_or_nested_paths"
            | "cant_transfer_ownership"
            | "too_many_files"
            | "locked" => ErrorKind::Conflict,
            "malformed_path" | "disallowed_name" | "invalid_path" | "other_invalid_path" => {
                ErrorKind::InvalidInput
            }
            "insufficient_space" | "insufficient_quota" => ErrorKind::InsufficientStorage,
            "no_write_permission"
            | "restricted_content"
            | "team_folder"
            | "no_permission"
            | "missing_scope"
            | "user_suspended" => ErrorKind::PermissionDenied,
            "too_many_write_operations" | "too_many_requests" => ErrorKind::RateLimited,
            "incorrect_offset" | "closed" | "not_closed" => ErrorKind::Internal,
            _ => continue,
        };
        return kind;
    }
    ErrorKind::Internal
}

/// A workspace path as messages show it (`/` for the root).
pub(crate) fn shown(path: &str) -> String {
    if path.is_empty() {
        "/".to_owned()
    } else {
        path.escape_debug().to_string()
    }
}

/// The error for a non-success HTTP answer of Dropbox to operation `what` (e.g. "list 'docs'").
pub(crate) fn from_status(
    what: &str,
    status: u16,
    retry_after: Option<Duration>,
    body: &str,
) -> ApiError {
    let json: Option<Value> = serde_json::from_str(body).ok();
    let error = json.as_ref().and_then(|j| j.get("error")).cloned();
    let chain = error.as_ref().map(tags).unwrap_or_default();
    match status {
        401 => {
            if chain.first().map(String::as_str) == Some("expired_access_token") {
                ApiError::Expired
            } else {
                let why = chain
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "invalid_access_token".into());
                ApiError::Unauthorized(why)
            }
        }
        400 => ApiError::Failed(PluginError::invalid_input(format!(
            "cannot {what}: Dropbox refused the request: {}",
            first_line(body)
        ))),
        403 => ApiError::Failed(PluginError::new(
            ErrorKind::PermissionDenied,
            format!(
                "cannot {what}: Dropbox denied access ({})",
                describe(&chain)
            ),
        )),
        409 if chain.iter().any(|t| t == "incorrect_offset") => {
            let error = error.unwrap_or_default();
            let correct = error["correct_offset"]
                .as_u64()
                .or_else(|| error["lookup_failed"]["correct_offset"].as_u64());
            match correct {
                Some(n) => ApiError::IncorrectOffset(n),
                None => ApiError::Failed(PluginError::internal(format!(
                    "cannot {what}: upload session offset mismatch"
                ))),
            }
        }
        409 => {
            let kind = kind_of(&chain);
            let mut err = PluginError::new(kind, format!("cannot {what}: {}", describe(&chain)));
            if kind == ErrorKind::RateLimited {
                err.retry_after = retry_after;
            }
            ApiError::Failed(err)
        }
        416 => ApiError::Failed(PluginError::new(
            ErrorKind::InvalidRange,
            format!("cannot {what}: the range starts at or past the end of the file"),
        )),
        429 => ApiError::Failed(PluginError::rate_limited(
            format!(
                "cannot {what}: Dropbox asks to slow down ({})",
                describe(&chain)
            ),
            retry_after,
        )),
        s if s >= 500 => ApiError::Failed(PluginError {
            retry_after,
            ..PluginError::new(
                ErrorKind::Unavailable,
                format!("cannot {what}: Dropbox is failing (HTTP {s}); try again later"),
            )
        }),
        s => ApiError::Failed(PluginError::internal(format!(
            "cannot {what}: unexpected HTTP {s} from Dropbox: {}",
            first_line(body)
        ))),
    }
}

fn describe(chain: &[String]) -> String {
    if chain.is_empty() {
        return "no details".to_owned();
    }
    let last = chain.last().map(String::as_str).unwrap_or("");
    let plain = match last {
        "not_found" => "not found",
        "conflict" | "file" | "folder" | "file_ancestor" => "something already exists there",
        "not_file" => "it is a folder, not a file",
        "not_folder" => "it is a file, not a folder",
        "malformed_path" => "Dropbox refuses this path (it refuses, for example, emoji and other characters outside the Basic Multilingual Plane)",
        "disallowed_name" => "Dropbox does not allow this name",
        "insufficient_space" => "the Dropbox account is full",
        "no_write_permission" => "no permission to write there",
        "too_many_write_operations" | "too_many_requests" => "too many operations at once",
        _ => "",
    };
    if plain.is_empty() {
        format!("Dropbox error {}", chain.join("/"))
    } else {
        format!("{plain} (Dropbox error {})", chain.join("/"))
    }
}

fn first_line(body: &str) -> String {
    let line = body.lines().next().unwrap_or("").trim();
    line.chars().take(300).collect()
}

/// A transport failure (connection refused, reset, timeout) while doing `what`.
pub(crate) fn transport(what: &str, err: &reqwest::Error) -> PluginError {
    let why = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "cannot connect"
    } else {
        "connection failed"
    };
    // reqwest's Display includes the URL but never headers, so no token leaks through it;
    // it is still left out: the host shows this message to clients.
    PluginError::new(
        ErrorKind::Unavailable,
        format!("cannot {what}: Dropbox {why}"),
    )
}

/// A Dropbox answer that does not have the expected shape.
pub(crate) fn bad_answer(what: &str, why: impl std::fmt::Display) -> PluginError {
    PluginError::internal(format!(
        "cannot {what}: unexpected answer from Dropbox: {why}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(status: u16, body: &str) -> PluginError {
        match from_status("op 'x'", status, Some(Duration::from_secs(2)), body) {
            ApiError::Failed(e) => e,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn conflict_bodies_map_to_kinds() {
        let cases = [
            (
                r#"{".tag":"path","path":{".tag":"not_found"}}"#,
                ErrorKind::NotFound,
            ),
            (
                r#"{".tag":"path_lookup","path_lookup":{".tag":"not_found"}}"#,
                ErrorKind::NotFound,
            ),
            (
                r#"{".tag":"path","path":{".tag":"conflict","conflict":{".tag":"folder"}}}"#,
                ErrorKind::AlreadyExists,
            ),
            (
                r#"{".tag":"to","to":{".tag":"conflict","conflict":{".tag":"file"}}}"#,
                ErrorKind::AlreadyExists,
            ),
            (
                r#"{".tag":"path","path":{".tag":"not_folder"}}"#,
                ErrorKind::Conflict,
            ),
            (
                r#"{".tag":"path","path":{".tag":"not_file"}}"#,
                ErrorKind::Conflict,
            ),
            (
                r#"{".tag":"path","path":{".tag":"malformed_path"}}"#,
                ErrorKind::InvalidInput,
            ),
            (
                r#"{".tag":"path","reason":{".tag":"disallowed_name"},"upload_session_id":"x"}"#,
                ErrorKind::InvalidInput,
            ),
            (
                r#"{".tag":"path","path":{".tag":"disallowed_name"}}"#,
                ErrorKind::InvalidInput,
            ),
            (
                r#"{".tag":"path","path":{".tag":"insufficient_space"}}"#,
                ErrorKind::InsufficientStorage,
            ),
            (
                r#"{".tag":"path","path":{".tag":"no_write_permission"}}"#,
                ErrorKind::PermissionDenied,
            ),
            (
                r#"{".tag":"path","path":{".tag":"too_many_write_operations"}}"#,
                ErrorKind::RateLimited,
            ),
            (r#"{".tag":"reset"}"#, ErrorKind::Conflict),
            (r#"{".tag":"other"}"#, ErrorKind::Internal),
        ];
        for (error, kind) in cases {
            let body = format!(r#"{{"error_summary":"x/..","error":{error}}}"#);
            let e = failed(409, &body);
            assert_eq!(e.kind, kind, "{error}: {}", e.message);
            assert!(e.message.starts_with("cannot op 'x': "), "{}", e.message);
        }
    }

    #[test]
    fn statuses_map_to_kinds() {
        let e = failed(
            429,
            r#"{"error_summary":"too_many_requests/..","error":{"reason":{".tag":"too_many_requests"},"retry_after":2}}"#,
        );
        assert_eq!(
            (e.kind, e.retry_after),
            (ErrorKind::RateLimited, Some(Duration::from_secs(2)))
        );
        assert_eq!(failed(429, "too many").kind, ErrorKind::RateLimited);
        assert_eq!(failed(503, "").kind, ErrorKind::Unavailable);
        assert_eq!(failed(416, "").kind, ErrorKind::InvalidRange);
        let e = failed(
            400,
            "Error in call to API function \"files/list_folder\": bad path\nmore",
        );
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        assert!(e.message.ends_with("bad path"), "{}", e.message);
    }

    #[test]
    fn incorrect_offsets_carry_the_right_one() {
        let append = r#"{"error_summary":"incorrect_offset/..","error":{".tag":"incorrect_offset","correct_offset":42}}"#;
        assert_eq!(
            from_status("x", 409, None, append),
            ApiError::IncorrectOffset(42)
        );
        let finish = r#"{"error_summary":"lookup_failed/incorrect_offset/..","error":{".tag":"lookup_failed","lookup_failed":{".tag":"incorrect_offset","correct_offset":7}}}"#;
        assert_eq!(
            from_status("x", 409, None, finish),
            ApiError::IncorrectOffset(7)
        );
    }

    #[test]
    fn unauthorized_answers() {
        let expired = r#"{"error_summary":"expired_access_token/..","error":{".tag":"expired_access_token"}}"#;
        assert_eq!(from_status("x", 401, None, expired), ApiError::Expired);
        let invalid =
            r#"{"error_summary":"invalid_access_token/","error":{".tag":"invalid_access_token"}}"#;
        assert_eq!(
            from_status("x", 401, None, invalid),
            ApiError::Unauthorized("invalid_access_token".into())
        );
        assert!(matches!(
            from_status("x", 401, None, "nope"),
            ApiError::Unauthorized(_)
        ));
    }
}
