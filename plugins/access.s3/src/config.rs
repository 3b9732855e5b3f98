//! The workspace parameters of `access.s3` (see `manifests/access.s3.toml`), parsed and checked
//! once when a workspace is opened, so that every later failure is about the server and never
//! about a malformed value. `SECRET_ACCESS_KEY` is kept in [`Secret`], whose `Debug` hides it.

use std::fmt;

use plugin_api::{PluginError, Result, WorkspaceConfig};
use url::Url;

/// `REGION` when unset.
pub(crate) const DEFAULT_REGION: &str = "us-east-1";
/// `PART_SIZE` when unset: 16 MiB, rclone's and boto3's order of magnitude; 10,000 parts of it
/// hold 156 GiB.
pub(crate) const DEFAULT_PART_SIZE: u64 = 16 << 20;
/// S3's smallest part (all parts but the last).
pub(crate) const MIN_PART_SIZE: u64 = 5 << 20;
/// S3's largest part.
pub(crate) const MAX_PART_SIZE: u64 = 5 << 30;
/// S3's most parts in one multipart upload.
pub(crate) const MAX_PARTS: u64 = 10_000;

/// A secret value: shown as `<hidden>` by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<hidden>")
    }
}

/// Server-side encryption asked of S3 for every object the driver writes (`SSE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sse {
    /// `none`: the bucket's default.
    None,
    /// `AES256`: keys managed by S3 (SSE-S3).
    Aes256,
    /// `aws:kms`: a KMS key, the account's default one when no id is given (SSE-KMS).
    Kms(Option<String>),
}

/// A workspace's configuration, parsed from its validated parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    /// The workspace id (for messages).
    pub workspace: String,
    /// `ENDPOINT`, or AWS's endpoint for the region when it is empty.
    pub endpoint: Url,
    /// `REGION`: the SigV4 signing region.
    pub region: String,
    /// `BUCKET`.
    pub bucket: String,
    /// `PREFIX` as a key prefix: empty, or ending with `/`.
    pub prefix: String,
    /// `ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `SECRET_ACCESS_KEY`.
    pub secret_access_key: Secret,
    /// `PATH_STYLE`: `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`.
    pub path_style: bool,
    /// `PART_SIZE` in bytes: the single-PUT limit and the size of each multipart part.
    pub part_size: u64,
    /// `STORAGE_CLASS`, when set.
    pub storage_class: Option<String>,
    /// `SSE` and `SSE_KMS_KEY_ID`.
    pub sse: Sse,
}

impl S3Config {
    /// Parses a workspace's parameters; an `InvalidInput` error names the parameter.
    pub fn from_workspace(config: &WorkspaceConfig) -> Result<S3Config> {
        let ws = &config.id;
        let bad = |name: &str, why: String| {
            PluginError::invalid_input(format!("workspace '{ws}': parameter {name}: {why}"))
        };
        let region = config
            .get("REGION")
            .unwrap_or(DEFAULT_REGION)
            .trim()
            .to_owned();
        if region.is_empty()
            || !region
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(bad(
                "REGION",
                format!("expected a region name such as us-east-1, got '{region}'"),
            ));
        }
        let endpoint = match config.get("ENDPOINT").map(str::trim) {
            None | Some("") => format!("https://s3.{region}.amazonaws.com"),
            Some(e) => e.to_owned(),
        };
        let endpoint = Url::parse(&endpoint)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                bad(
                    "ENDPOINT",
                    format!("expected an http or https URL such as https://s3.example.com, got '{endpoint}'"),
                )
            })?;
        let bucket = config.require("BUCKET")?.trim().to_owned();
        if !valid_bucket(&bucket) {
            return Err(bad(
                "BUCKET",
                format!("expected a bucket name of 3 to 63 lowercase letters, digits, dots and dashes, got '{bucket}'"),
            ));
        }
        let prefix = config
            .get("PREFIX")
            .unwrap_or("")
            .trim_matches('/')
            .to_owned();
        if prefix
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
            && !prefix.is_empty()
        {
            return Err(bad(
                "PREFIX",
                format!("expected a folder of the bucket such as team/files, without empty, '.' or '..' parts, got '{prefix}'"),
            ));
        }
        let prefix = if prefix.is_empty() {
            prefix
        } else {
            format!("{prefix}/")
        };
        let part_size = config.get_u64("PART_SIZE", DEFAULT_PART_SIZE)?;
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&part_size) {
            return Err(bad(
                "PART_SIZE",
                format!("expected {MIN_PART_SIZE} (5 MiB) to {MAX_PART_SIZE} (5 GiB) bytes, S3's limits for a part, got {part_size}"),
            ));
        }
        let kms_key = config.get("SSE_KMS_KEY_ID").map(str::to_owned);
        let sse = match config.get("SSE").unwrap_or("none") {
            "none" => Sse::None,
            "AES256" => Sse::Aes256,
            "aws:kms" => Sse::Kms(kms_key.clone()),
            other => {
                return Err(bad(
                    "SSE",
                    format!("expected none, AES256 or aws:kms, got '{other}'"),
                ))
            }
        };
        if kms_key.is_some() && !matches!(sse, Sse::Kms(_)) {
            return Err(bad(
                "SSE_KMS_KEY_ID",
                "a KMS key id needs SSE = aws:kms".to_owned(),
            ));
        }
        Ok(S3Config {
            workspace: ws.clone(),
            endpoint,
            region,
            bucket,
            prefix,
            access_key_id: config.require("ACCESS_KEY_ID")?.trim().to_owned(),
            secret_access_key: Secret(config.require("SECRET_ACCESS_KEY")?.to_owned()),
            path_style: config.get_bool("PATH_STYLE", false)?,
            part_size,
            storage_class: config.get("STORAGE_CLASS").map(str::to_owned),
            sse,
        })
    }

    /// `bucket 'B' at ENDPOINT`, for messages.
    pub fn place(&self) -> String {
        format!(
            "bucket '{}' at {}",
            self.bucket,
            self.endpoint.as_str().trim_end_matches('/')
        )
    }
}

/// S3's bucket naming rules, the part a client can check.
fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(params: &[(&str, &str)]) -> WorkspaceConfig {
        let mut all: Vec<(&str, &str)> = vec![
            ("BUCKET", "files"),
            ("ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("SECRET_ACCESS_KEY", "s3cr3t-value"),
        ];
        all.extend_from_slice(params);
        WorkspaceConfig {
            id: "ws".into(),
            params: all
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    #[test]
    fn defaults_are_aws_us_east_1_whole_bucket_16_mib_parts() {
        let c = S3Config::from_workspace(&config(&[])).unwrap();
        assert_eq!(c.endpoint.as_str(), "https://s3.us-east-1.amazonaws.com/");
        assert_eq!((c.region.as_str(), c.prefix.as_str()), ("us-east-1", ""));
        assert_eq!(c.part_size, 16 << 20);
        assert_eq!(c.sse, Sse::None);
        assert!(!c.path_style);
    }

    #[test]
    fn the_prefix_is_a_folder_key() {
        let c = S3Config::from_workspace(&config(&[("PREFIX", "/team/files/")])).unwrap();
        assert_eq!(c.prefix, "team/files/");
    }

    #[test]
    fn bad_values_name_their_parameter() {
        for (params, expected) in [
            (&[("BUCKET", "No_Such")][..], "parameter BUCKET"),
            (&[("PREFIX", "a//b")][..], "parameter PREFIX"),
            (&[("PREFIX", "a/../b")][..], "parameter PREFIX"),
            (&[("PART_SIZE", "1024")][..], "parameter PART_SIZE"),
            (&[("ENDPOINT", "ftp://x")][..], "parameter ENDPOINT"),
            (&[("REGION", "eu west")][..], "parameter REGION"),
            (&[("SSE", "rot13")][..], "parameter SSE"),
            (&[("SSE_KMS_KEY_ID", "k")][..], "parameter SSE_KMS_KEY_ID"),
        ] {
            let err = S3Config::from_workspace(&config(params)).unwrap_err();
            assert!(
                err.message.contains(expected),
                "{params:?}: {}",
                err.message
            );
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = S3Config::from_workspace(&config(&[])).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("AKIDEXAMPLE"), "{shown}");
    }
}
