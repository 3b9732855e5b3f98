//! The OpenAPI 3.1 document of the HTTP API (`openapi.json` beside this file, written by
//! hand), served at `GET /api/openapi.json` without authentication: a client or a generator
//! needs it before it has credentials. Its tests tie it to the code, so it cannot drift: the
//! API's routes, the standard actions and their methods, the parameters the actions read,
//! and every error code with its status.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, embedded in the binary.
const DOCUMENT: &str = include_str!("openapi.json");

/// `GET /api/openapi.json`.
pub(super) async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests;
