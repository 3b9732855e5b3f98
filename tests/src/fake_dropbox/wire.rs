//! Dropbox's wire format: the route argument (RPC body, `Dropbox-API-Arg` header or `arg=`
//! query), the `Dropbox-API-Result` header with its ASCII-only JSON, and the error answers
//! (400 plain text, 401/409/429 JSON with `error_summary` and a tagged `error`, 5xx text).

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// A failed API call, answered the way Dropbox answers it.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// 400, plain text: `Error in call to API function "ROUTE": MESSAGE`.
    BadInput(String, String),
    /// 401 with an AuthError tag (`expired_access_token`, `invalid_access_token`).
    Auth(&'static str),
    /// 409 with the route's error union.
    Route(Value),
    /// 429 with a RateLimitReason tag and the seconds to wait.
    RateLimit(&'static str, u64),
    /// A 5xx status.
    Server(u16),
    /// 404 for an unknown route.
    UnknownRoute(String),
}

/// `{".tag": tag}`.
pub(crate) fn tag(tag: &str) -> Value {
    json!({ ".tag": tag })
}

/// `{".tag": outer, outer: inner}`: a union member carrying another union.
pub(crate) fn nest(outer: &str, inner: Value) -> Value {
    json!({ ".tag": outer, outer: inner })
}

/// The `error_summary` of a tagged error: its tags joined by `/`, then Dropbox's dots
/// (which vary, so that nobody parses them).
pub(crate) fn summary(error: &Value) -> String {
    let mut parts = Vec::new();
    let mut at = error;
    while let Some(t) = at.get(".tag").and_then(Value::as_str) {
        parts.push(t.to_owned());
        let next = at
            .get(t)
            .filter(|v| v.is_object())
            .or_else(|| at.as_object()?.values().find(|v| v.get(".tag").is_some()));
        match next {
            Some(v) => at = v,
            None => break,
        }
    }
    let dots = if parts.len() % 2 == 0 { "..." } else { ".." };
    format!("{}/{dots}", parts.join("/"))
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let text = |status: StatusCode, body: String| {
            (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                body,
            )
                .into_response()
        };
        match self {
            ApiError::BadInput(route, message) => text(
                StatusCode::BAD_REQUEST,
                format!("Error in call to API function \"{route}\": {message}"),
            ),
            ApiError::Auth(t) => {
                let error = tag(t);
                json_response(
                    StatusCode::UNAUTHORIZED,
                    &json!({ "error_summary": summary(&error), "error": error }),
                )
            }
            ApiError::Route(error) => json_response(
                StatusCode::CONFLICT,
                &json!({ "error_summary": summary(&error), "error": error }),
            ),
            ApiError::RateLimit(reason, retry_after) => {
                let mut r = json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    &json!({
                        "error_summary": format!("{reason}/.."),
                        "error": { "reason": tag(reason), "retry_after": retry_after },
                    }),
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                r
            }
            ApiError::Server(status) => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                text(
                    status,
                    format!("{status}: the fake Dropbox was told to fail"),
                )
            }
            ApiError::UnknownRoute(route) => text(
                StatusCode::NOT_FOUND,
                format!("Unknown API function: \"{route}\""),
            ),
        }
    }
}

/// JSON with every non-ASCII character and 0x7F escaped as `\uXXXX`, as Dropbox requires in
/// `Dropbox-API-Arg` and writes in `Dropbox-API-Result`.
pub fn header_safe_json(value: &Value) -> String {
    let mut out = String::new();
    for c in value.to_string().chars() {
        if c.is_ascii() && c != '\x7f' {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// The argument of an RPC route: the JSON body (`null` or no body for void arguments).
pub(crate) fn rpc_arg(route: &str, headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if body.is_empty() && content_type.is_empty() {
        return Ok(Value::Null);
    }
    let ok = [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain; charset=dropbox-cors-hack",
    ];
    if !ok.contains(&content_type) {
        return Err(ApiError::BadInput(
            route.into(),
            format!("Bad HTTP \"Content-Type\" header: \"{content_type}\".  Expecting one of \"application/json\", \"application/json; charset=utf-8\", \"text/plain; charset=dropbox-cors-hack\"."),
        ));
    }
    serde_json::from_slice(body).map_err(|_| {
        ApiError::BadInput(
            route.into(),
            "request body: could not decode input as JSON".into(),
        )
    })
}

/// The argument of an upload or download route: `Dropbox-API-Arg`, or the `arg` query
/// parameter.
pub(crate) fn header_arg(
    route: &str,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Value, ApiError> {
    let from_query = query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "arg")
            .map(|(_, v)| v.into_owned())
    });
    let raw = match headers.get("dropbox-api-arg") {
        Some(v) => v
            .to_str()
            .map_err(|_| {
                ApiError::BadInput(
                    route.into(),
                    "HTTP header \"Dropbox-API-Arg\": could not decode input as JSON".into(),
                )
            })?
            .to_owned(),
        None => from_query.ok_or_else(|| {
            ApiError::BadInput(
                route.into(),
                "Must provide HTTP header \"Dropbox-API-Arg\" or URL parameter \"arg\".".into(),
            )
        })?,
    };
    serde_json::from_str(&raw).map_err(|_| {
        ApiError::BadInput(
            route.into(),
            "HTTP header \"Dropbox-API-Arg\": could not decode input as JSON".into(),
        )
    })
}

/// Checks the content type of an upload route's body.
pub(crate) fn check_upload_type(route: &str, headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type == "application/octet-stream"
        || content_type == "text/plain; charset=dropbox-cors-hack"
    {
        Ok(())
    } else {
        Err(ApiError::BadInput(
            route.into(),
            format!("Bad HTTP \"Content-Type\" header: \"{content_type}\".  Expecting one of \"application/octet-stream\", \"text/plain; charset=dropbox-cors-hack\"."),
        ))
    }
}

/// A successful RPC or upload answer.
pub(crate) fn ok_json(value: &Value) -> Response {
    json_response(StatusCode::OK, value)
}

/// Reads fields out of a route argument, answering Dropbox's 400 messages.
pub(crate) struct Arg<'a> {
    pub(crate) route: &'a str,
    pub(crate) value: &'a Value,
}

impl Arg<'_> {
    fn bad(&self, message: String) -> ApiError {
        ApiError::BadInput(self.route.into(), format!("request body: {message}"))
    }

    /// A required string field.
    pub(crate) fn string(&self, field: &str) -> Result<String, ApiError> {
        match self.value.get(field) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(self.bad(format!("{field}: expected string"))),
            None => Err(self.bad(format!("missing required field '{field}'"))),
        }
    }

    /// An optional string field.
    pub(crate) fn opt_string(&self, field: &str) -> Result<Option<String>, ApiError> {
        match self.value.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.bad(format!("{field}: expected string"))),
        }
    }

    /// A boolean field with a default.
    pub(crate) fn boolean(&self, field: &str, default: bool) -> Result<bool, ApiError> {
        match self.value.get(field) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.bad(format!("{field}: expected boolean"))),
        }
    }

    /// An optional unsigned integer field.
    pub(crate) fn opt_u64(&self, field: &str) -> Result<Option<u64>, ApiError> {
        match self.value.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.bad(format!("{field}: expected integer"))),
        }
    }

    /// A required struct field.
    pub(crate) fn object(&self, field: &str) -> Result<&Value, ApiError> {
        match self.value.get(field) {
            Some(v @ Value::Object(_)) => Ok(v),
            Some(_) => Err(self.bad(format!("{field}: expected object"))),
            None => Err(self.bad(format!("missing required field '{field}'"))),
        }
    }

    /// A 400 about `field`.
    pub(crate) fn invalid(&self, field: &str, message: &str) -> ApiError {
        self.bad(format!("{field}: {message}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_follow_the_tags() {
        let cases = [
            (nest("path", tag("not_found")), "path/not_found/..."),
            (
                nest("path", nest("conflict", tag("folder"))),
                "path/conflict/folder/..",
            ),
            (
                json!({".tag": "path", "reason": nest("conflict", tag("file")), "upload_session_id": "x"}),
                "path/conflict/file/..",
            ),
            (
                json!({".tag": "incorrect_offset", "correct_offset": 3}),
                "incorrect_offset/..",
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(summary(&error), expected);
        }
    }

    #[test]
    fn header_json_escapes_non_ascii() {
        assert_eq!(
            header_safe_json(&json!({"path": "/é\u{7f}😀"})),
            r#"{"path":"/\u00e9\u007f\ud83d\ude00"}"#
        );
    }
}
