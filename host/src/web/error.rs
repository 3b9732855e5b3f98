//! The JSON surface of the domain error: `{"error":{"code":"…","message":"…"}}`, with the
//! headers some refusals carry (`Retry-After`, `Allow`, `Connection: close`).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::app::error::AppError;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        self.log();
        let mut error = serde_json::json!({ "code": code, "message": message });
        match &self {
            AppError::Plugin(e) => {
                if let Some(url) = &e.authorize_url {
                    error["authorize_url"] = url.clone().into();
                }
            }
            AppError::Fields(errors) => {
                error["fields"] = serde_json::to_value(errors).unwrap_or_default();
            }
            AppError::BatchRefused { results } => {
                let verdicts: Vec<_> = results
                    .iter()
                    .map(|(node, refusal)| match refusal {
                        None => serde_json::json!({ "node": node, "ok": true }),
                        Some(e) => serde_json::json!({
                            "node": node, "ok": false, "error": super::batch::error_json(e),
                        }),
                    })
                    .collect();
                error["results"] = verdicts.into();
            }
            _ => {}
        }
        let retry_after = self.retry_after();
        let mut response = (status, Json(serde_json::json!({ "error": error }))).into_response();
        if let Some(value) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if let AppError::RangeNotSatisfiable { size } = &self {
            // RFC 9110 §15.5.17: a 416 names the current length.
            response.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"),
            );
        }
        if let AppError::MethodNotAllowed { allowed, .. } = &self {
            // RFC 9110 §15.5.6: a 405 lists the methods the target answers.
            if let Ok(allow) = HeaderValue::from_str(&allowed.join(", ")) {
                response.headers_mut().insert(header::ALLOW, allow);
            }
        }
        if matches!(
            self,
            AppError::TooLarge { .. } | AppError::BodyStalled { .. }
        ) {
            // The rest of the request body is left unread, so the host closes the connection:
            // said in the answer, a client does not send its next request on it.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}
