//! The one place where S3 answers and transport failures become plugin errors.
//!
//! S3 says what went wrong in an XML document (`<Error><Code>NoSuchKey</Code>…`), except for
//! HEAD requests, which have no body: there only the status (and AWS's `x-amz-bucket-region`
//! header) is known. [`S3Failure`] holds what one failed answer said; [`S3Failure::to_plugin`]
//! maps it to a kind with a message that names the workspace path and, for configuration
//! mistakes, the parameter to fix. [`S3Failure::is_transient`] is what the client retries.
//!
//! Messages never carry a signed URL (its query holds the signature and the key id) nor the
//! secret key.

use std::time::Duration;

use plugin_api::{ErrorKind, PluginError};
use serde::Deserialize;

use crate::config::S3Config;

/// What a failed call was doing, for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Stat,
    List,
    Read,
    Write,
    Mkdir,
    Delete,
    Rename,
    Copy,
    Verify,
}

impl Op {
    fn verb(self) -> &'static str {
        match self {
            Op::Stat => "stat",
            Op::List => "list",
            Op::Read => "read",
            Op::Write => "write",
            Op::Mkdir => "create folder",
            Op::Delete => "delete",
            Op::Rename => "move",
            Op::Copy => "copy",
            Op::Verify => "verify",
        }
    }
}

/// A workspace path as messages show it (`/` for the root).
pub(crate) fn shown(path: &str) -> String {
    format!("/{path}")
}

/// `cannot VERB '/path': why`.
pub(crate) fn cannot(op: Op, path: &str, why: impl std::fmt::Display) -> String {
    format!("cannot {} '{}': {why}", op.verb(), shown(path))
}

pub(crate) fn missing(op: Op, path: &str) -> PluginError {
    PluginError::not_found(cannot(op, path, "no such file or folder"))
}

pub(crate) fn exists(op: Op, path: &str) -> PluginError {
    PluginError::already_exists(cannot(op, path, "a file or folder of that name exists"))
}

/// S3's error document; unknown elements are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename = "Error")]
struct ErrorDoc {
    #[serde(rename = "Code", default)]
    code: String,
    #[serde(rename = "Message", default)]
    message: String,
    /// The bucket's region, in AWS's answers to a request signed for another one.
    #[serde(rename = "Region", default)]
    region: Option<String>,
}

/// One failed answer of S3: its status, error code and message, and the bucket's region
/// when S3 named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Failure {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) region: Option<String>,
    pub(crate) retry_after: Option<Duration>,
}

impl S3Failure {
    /// Reads a failed answer: `body` is its text (empty for HEAD), `bucket_region` AWS's
    /// `x-amz-bucket-region` header.
    pub(crate) fn parse(
        status: u16,
        body: &str,
        bucket_region: Option<String>,
        retry_after: Option<Duration>,
    ) -> S3Failure {
        let doc: ErrorDoc = quick_xml::de::from_str(body).unwrap_or_default();
        S3Failure {
            status,
            code: doc.code,
            message: doc.message,
            region: doc.region.filter(|r| !r.is_empty()).or(bucket_region),
            retry_after,
        }
    }

    /// An error document inside a 200 answer: CopyObject, UploadPartCopy and
    /// CompleteMultipartUpload may fail after their status line was sent.
    pub(crate) fn in_body(body: &str) -> Option<S3Failure> {
        let start = body.trim_start();
        let start = start
            .strip_prefix("<?xml")
            .and_then(|s| s.find("?>").map(|i| s[i + 2..].trim_start()))
            .unwrap_or(start);
        start
            .starts_with("<Error>")
            .then(|| S3Failure::parse(500, body, None, None))
    }

    /// Worth another try: S3's "slow down", a server error, a digest that arrived damaged.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self.status, 500 | 502 | 503 | 504)
            || matches!(
                self.code.as_str(),
                "SlowDown"
                    | "InternalError"
                    | "ServiceUnavailable"
                    | "RequestTimeout"
                    | "BadDigest"
            )
    }

    /// The plugin error this failure means for `op` on `path`.
    pub(crate) fn to_plugin(&self, cfg: &S3Config, op: Op, path: &str) -> PluginError {
        let said = if self.code.is_empty() {
            format!("S3 answered {}", self.status)
        } else if self.message.is_empty() {
            format!("S3 answered {} {}", self.status, self.code)
        } else {
            format!(
                "S3 answered {} {}: {}",
                self.status, self.code, self.message
            )
        };
        let place = cfg.place();
        let (kind, why) = match (self.code.as_str(), self.status) {
            ("NoSuchKey", _) => (ErrorKind::NotFound, "no such file or folder".to_owned()),
            ("NoSuchBucket", _) => (
                ErrorKind::InvalidInput,
                format!("{place} does not exist (parameter BUCKET); {said}"),
            ),
            ("InvalidAccessKeyId", _) => (
                ErrorKind::PermissionDenied,
                format!("{place} does not know the access key id '{}' (parameter ACCESS_KEY_ID); {said}", cfg.access_key_id),
            ),
            ("SignatureDoesNotMatch", _) => (
                ErrorKind::PermissionDenied,
                format!("{place} refuses the signature: SECRET_ACCESS_KEY does not belong to ACCESS_KEY_ID '{}'; {said}", cfg.access_key_id),
            ),
            ("AuthorizationHeaderMalformed" | "AuthorizationQueryParametersError", _)
            | ("PermanentRedirect" | "IncorrectEndpoint", _)
                if self.region.is_some() =>
            {
                (ErrorKind::InvalidInput, self.wrong_region(cfg, &said))
            }
            (_, 301 | 400) if self.region.as_deref().is_some_and(|r| r != cfg.region) => {
                (ErrorKind::InvalidInput, self.wrong_region(cfg, &said))
            }
            ("PermanentRedirect", _) | (_, 301) => (
                ErrorKind::InvalidInput,
                format!("{place} must be reached at another endpoint (parameters ENDPOINT, REGION, PATH_STYLE); {said}"),
            ),
            ("AccessDenied" | "AllAccessDisabled" | "AccountProblem", _) | ("", 403) => (
                ErrorKind::PermissionDenied,
                format!("{place} refuses access to these keys (ACCESS_KEY_ID '{}'); {said}", cfg.access_key_id),
            ),
            ("InvalidRange", _) | (_, 416) => (
                ErrorKind::InvalidRange,
                format!("the range starts at or past the end of the file; {said}"),
            ),
            ("PreconditionFailed", _) | (_, 412) => {
                (ErrorKind::AlreadyExists, format!("a file of that name exists; {said}"))
            }
            ("QuotaExceeded" | "TooManyBuckets", _) => (ErrorKind::InsufficientStorage, said),
            ("EntityTooLarge" | "EntityTooSmall" | "InvalidArgument" | "KeyTooLongError" | "InvalidStorageClass", _) => {
                (ErrorKind::InvalidInput, said)
            }
            ("SlowDown", _) | (_, 503) => (
                ErrorKind::Unavailable,
                format!("{place} is overloaded and still asked to slow down after several tries; {said}"),
            ),
            _ if self.is_transient() => (
                ErrorKind::Unavailable,
                format!("{place} kept failing after several tries; {said}"),
            ),
            (_, 404) => (ErrorKind::NotFound, "no such file or folder".to_owned()),
            _ => (ErrorKind::Internal, format!("{place}: {said}")),
        };
        PluginError::new(kind, cannot(op, path, why))
    }

    fn wrong_region(&self, cfg: &S3Config, said: &str) -> String {
        format!(
            "{} is in region '{}', not '{}': set REGION to {}; {said}",
            cfg.place(),
            self.region.as_deref().unwrap_or("?"),
            cfg.region,
            self.region.as_deref().unwrap_or("?"),
        )
    }
}

/// A request that got no answer: connection refused, timeout, TLS, a cut body.
pub(crate) fn transport(cfg: &S3Config, op: Op, path: &str, err: reqwest::Error) -> PluginError {
    // `without_url`: the URL is presigned, its query holds the signature.
    let err = err.without_url();
    let what = if err.is_connect() {
        "cannot connect"
    } else if err.is_timeout() {
        "no answer in time"
    } else {
        "the connection failed"
    };
    PluginError::new(
        ErrorKind::Unavailable,
        cannot(
            op,
            path,
            format!(
                "{what} to {} (parameter ENDPOINT): {}",
                cfg.place(),
                chain(&err)
            ),
        ),
    )
}

/// An error and its sources, `: `-separated (reqwest hides the cause in its source).
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::WorkspaceConfig;

    fn cfg() -> S3Config {
        S3Config::from_workspace(&WorkspaceConfig {
            id: "ws".into(),
            params: [
                ("BUCKET", "files"),
                ("ACCESS_KEY_ID", "AKIDEXAMPLE"),
                ("SECRET_ACCESS_KEY", "s3cr3t"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        })
        .unwrap()
    }

    fn kind_of(status: u16, body: &str, region: Option<&str>) -> (ErrorKind, String) {
        let f = S3Failure::parse(status, body, region.map(str::to_owned), None);
        let e = f.to_plugin(&cfg(), Op::Read, "a.txt");
        (e.kind, e.message)
    }

    fn doc(code: &str) -> String {
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>m</Message><RequestId>1</RequestId></Error>")
    }

    #[test]
    fn codes_map_to_kinds() {
        for (status, code, kind, part) in [
            (404, "NoSuchKey", ErrorKind::NotFound, "no such file"),
            (
                404,
                "NoSuchBucket",
                ErrorKind::InvalidInput,
                "parameter BUCKET",
            ),
            (
                403,
                "AccessDenied",
                ErrorKind::PermissionDenied,
                "AKIDEXAMPLE",
            ),
            (
                403,
                "InvalidAccessKeyId",
                ErrorKind::PermissionDenied,
                "ACCESS_KEY_ID",
            ),
            (
                403,
                "SignatureDoesNotMatch",
                ErrorKind::PermissionDenied,
                "SECRET_ACCESS_KEY",
            ),
            (416, "InvalidRange", ErrorKind::InvalidRange, "past the end"),
            (503, "SlowDown", ErrorKind::Unavailable, "slow down"),
            (
                500,
                "InternalError",
                ErrorKind::Unavailable,
                "several tries",
            ),
            (400, "Weird", ErrorKind::Internal, "Weird"),
        ] {
            let (k, m) = kind_of(status, &doc(code), None);
            assert_eq!(k, kind, "{code}: {m}");
            assert!(m.contains(part), "{code}: {m}");
            assert!(!m.contains("s3cr3t"));
        }
    }

    #[test]
    fn a_wrong_region_names_the_right_one() {
        let body = "<Error><Code>AuthorizationQueryParametersError</Code><Message>the region 'us-east-1' is wrong; expecting 'eu-west-3'</Message><Region>eu-west-3</Region></Error>";
        let (k, m) = kind_of(400, body, None);
        assert_eq!(k, ErrorKind::InvalidInput);
        assert!(m.contains("set REGION to eu-west-3"), "{m}");
        // HEAD: no body, only AWS's header.
        let (k, m) = kind_of(301, "", Some("ap-south-1"));
        assert_eq!(k, ErrorKind::InvalidInput);
        assert!(m.contains("set REGION to ap-south-1"), "{m}");
    }

    #[test]
    fn head_answers_map_by_status() {
        assert_eq!(kind_of(404, "", None).0, ErrorKind::NotFound);
        assert_eq!(kind_of(403, "", None).0, ErrorKind::PermissionDenied);
        assert_eq!(kind_of(503, "", None).0, ErrorKind::Unavailable);
    }

    #[test]
    fn an_error_inside_a_200_is_found() {
        assert!(S3Failure::in_body(&doc("InternalError")).is_some());
        assert!(
            S3Failure::in_body("<CopyObjectResult><ETag>x</ETag></CopyObjectResult>").is_none()
        );
    }
}
