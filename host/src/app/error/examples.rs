//! One value of every [`AppError`] variant (every plugin error kind, every status a framework
//! rejection keeps), for tests that must cover each code and status the host can answer,
//! such as the OpenAPI document's. A test here reads the enum's source, so a new variant
//! fails it until it has an example.

use std::time::Duration;

use axum::http::StatusCode;
use plugin_api::{ErrorKind, PluginError};

use super::AppError;
use crate::manifest::FieldError;
use crate::paths::PathError;

/// Every variant at least once.
pub(crate) fn examples() -> Vec<AppError> {
    let wait = Duration::from_secs(2);
    let mut all = vec![
        AppError::MissingAction,
        AppError::UnknownAction("a".into()),
        AppError::PluginDisabled {
            action: "a".into(),
            plugin: "p".into(),
        },
        AppError::UnknownWorkspace("w".into()),
        AppError::DriverDisabled {
            workspace: "w".into(),
            driver: "d".into(),
        },
        AppError::WorkspaceUnavailable {
            workspace: "w".into(),
            reason: "r".into(),
        },
        AppError::MissingParam("ws"),
        AppError::InvalidParam {
            name: "limit",
            reason: "r".into(),
        },
        AppError::BadPath {
            name: "file",
            err: PathError::ParentSegment,
        },
        AppError::BatchRefused {
            results: vec![
                ("a".into(), None),
                (
                    "../b".into(),
                    Some(AppError::BadPath {
                        name: "nodes[]",
                        err: PathError::ParentSegment,
                    }),
                ),
            ],
        },
        AppError::MethodNotAllowed {
            action: "a".into(),
            allowed: vec!["POST"],
        },
        AppError::NoRoute { path: "/x".into() },
        AppError::WrongMethod {
            method: "PATCH".into(),
            path: "/x".into(),
        },
        AppError::PluginUnavailable {
            action: "a".into(),
            plugin: "p".into(),
        },
        AppError::Unauthenticated,
        AppError::InvalidCredentials("why"),
        AppError::BasicOverHttp,
        AppError::Forbidden("why".into()),
        AppError::CsrfRejected,
        AppError::CrossSite,
        AppError::Busy(wait),
        AppError::StoreUnavailable,
        AppError::TooManyAttempts(wait),
        AppError::NotFound("x".into()),
        AppError::Conflict("x".into()),
        AppError::LimitReached("x".into()),
        AppError::BadRequest("x".into()),
        AppError::Fields(vec![FieldError::new("ROOT", "m")]),
        AppError::VerificationFailed {
            workspace: "w".into(),
            error: PluginError::not_found("m"),
        },
        AppError::RangeNotSatisfiable { size: 1 },
        AppError::PluginBadAnswer("x".into()),
        AppError::PluginTimeout {
            plugin: "p".into(),
            after: wait,
        },
        AppError::TooLarge {
            what: "upload",
            limit: 1,
        },
        AppError::ClientGone,
        AppError::BodyStalled { after: wait },
        AppError::HeadersTooLarge { limit: 1 },
        AppError::Internal("x".into()),
    ];
    // The statuses axum's extractors refuse with (app/extract.rs keeps them).
    for status in [400, 413, 415, 422] {
        all.push(AppError::Rejected {
            status: StatusCode::from_u16(status).expect("a valid status"),
            message: "m".into(),
        });
    }
    all.extend(
        ErrorKind::ALL
            .into_iter()
            .map(|kind| AppError::Plugin(PluginError::new(kind, "m"))),
    );
    all
}

mod tests {
    use super::*;

    /// The variant names declared by `enum AppError` in error.rs.
    fn declared_variants() -> Vec<String> {
        let source = include_str!("../error.rs");
        let body = source
            .split_once("pub(crate) enum AppError {")
            .and_then(|(_, rest)| rest.split_once("\n}\n"))
            .expect("error.rs declares `pub(crate) enum AppError { … }`")
            .0;
        body.lines()
            .filter_map(|line| line.strip_prefix("    "))
            .filter(|line| line.starts_with(|c: char| c.is_ascii_uppercase()))
            .map(|line| {
                line.split(|c: char| !c.is_ascii_alphanumeric())
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn every_variant_has_an_example() {
        let declared = declared_variants();
        assert!(declared.len() > 30, "read too few variants: {declared:?}");
        let examples: Vec<String> = examples().iter().map(|e| format!("{e:?}")).collect();
        for variant in declared {
            assert!(
                examples.iter().any(|e| e
                    .strip_prefix(&variant)
                    .is_some_and(|rest| !rest.starts_with(char::is_alphanumeric))),
                "AppError::{variant} has no value in examples(): add one"
            );
        }
    }
}
