//! The S3 client of one workspace: the bucket and keys (rusty-s3 signs each request as a
//! presigned URL just before it is sent), the blocking HTTP client, the mapping of workspace
//! paths to keys under `PREFIX`, and the one retry loop every request goes through.
//!
//! Every request is built anew for each attempt (a fresh signature; a buffered body), so any
//! of them may be retried: on a transient failure (503 SlowDown, 500, a refused or cut
//! connection) the client waits — `Retry-After` when S3 sends one, else an exponential
//! backoff — up to [`ATTEMPTS`] tries in all, then the failure is mapped by `error`.

use std::io::Read;
use std::time::Duration;

use plugin_api::{Entry, PluginError, Result};
use reqwest::blocking::{Client as Http, RequestBuilder, Response};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::config::{S3Config, Sse};
use crate::error::{self, Op, S3Failure};

/// How long a presigned request stays valid: it is sent at once, so this only has to cover a
/// clock a little behind S3's and the upload of one part.
const SIGNED_FOR: Duration = Duration::from_secs(15 * 60);
/// Tries of one request, the first included.
pub(crate) const ATTEMPTS: u32 = 4;
/// The longest wait between two tries, whatever `Retry-After` asks.
const MAX_WAIT: Duration = Duration::from_secs(10);
/// The most of an error document read (they are a few hundred bytes).
const ERROR_BODY_LIMIT: u64 = 64 << 10;

/// Why a request failed after its tries.
#[derive(Debug)]
pub(crate) enum Failure {
    /// S3 answered with an error.
    S3(S3Failure),
    /// No answer.
    Transport(reqwest::Error),
}

impl Failure {
    /// A 404 answer: the key (or bucket) is not there.
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, Failure::S3(f) if f.status == 404 && f.code != "NoSuchBucket")
    }
}

/// What `x-amz-copy-source` leaves unencoded: RFC 3986's unreserved characters and `/`.
const COPY_SOURCE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// One workspace's connection to its bucket.
pub(crate) struct Client {
    pub(crate) cfg: S3Config,
    bucket: Bucket,
    creds: Credentials,
    http: Http,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// `x-amz-copy-source: /bucket/key` for `key`, URL-encoded: the source of CopyObject and
    /// UploadPartCopy (copier's, and the writer's when it copies a part).
    pub(crate) fn copy_source(&self, key: &str) -> String {
        format!(
            "/{}/{}",
            self.cfg.bucket,
            utf8_percent_encode(key, COPY_SOURCE)
        )
    }

    pub(crate) fn new(cfg: S3Config) -> Result<Client> {
        let style = if cfg.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(cfg.endpoint.clone(), style, cfg.bucket.clone(), cfg.region.clone())
            .map_err(|e| {
                PluginError::invalid_input(format!(
                    "workspace '{}': parameters ENDPOINT, BUCKET, PATH_STYLE: no bucket URL can be made ({e:?}); an IP address or localhost needs PATH_STYLE",
                    cfg.workspace
                ))
            })?;
        let creds = Credentials::new(cfg.access_key_id.clone(), cfg.secret_access_key.0.clone());
        let http = Http::builder()
            .connect_timeout(Duration::from_secs(10))
            // Per read and write of a request, not its whole length: a download of any size
            // runs at the client's pace.
            .timeout(Duration::from_secs(120))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                PluginError::internal(format!(
                    "cannot build the HTTP client: {}",
                    error::chain(&e)
                ))
            })?;
        Ok(Client {
            cfg,
            bucket,
            creds,
            http,
        })
    }

    pub(crate) fn bucket(&self) -> &Bucket {
        &self.bucket
    }

    pub(crate) fn creds(&self) -> &Credentials {
        &self.creds
    }

    /// The key of the file at `path`.
    pub(crate) fn key(&self, path: &str) -> String {
        format!("{}{path}", self.cfg.prefix)
    }

    /// The key prefix of the folder at `path` (its marker object's key): `PREFIX` for the root.
    pub(crate) fn dir_key(&self, path: &str) -> String {
        if path.is_empty() {
            self.cfg.prefix.clone()
        } else {
            format!("{}{path}/", self.cfg.prefix)
        }
    }

    /// The `x-amz-*` headers every object write carries: storage class and encryption.
    pub(crate) fn write_headers(&self) -> Vec<(&'static str, String)> {
        let mut h = Vec::new();
        if let Some(class) = &self.cfg.storage_class {
            h.push(("x-amz-storage-class", class.clone()));
        }
        match &self.cfg.sse {
            Sse::None => {}
            Sse::Aes256 => h.push(("x-amz-server-side-encryption", "AES256".to_owned())),
            Sse::Kms(key) => {
                h.push(("x-amz-server-side-encryption", "aws:kms".to_owned()));
                if let Some(key) = key {
                    h.push(("x-amz-server-side-encryption-aws-kms-key-id", key.clone()));
                }
            }
        }
        h
    }

    /// The request of `action`, signed with `signed` headers (which it also carries).
    pub(crate) fn request<'a, A: S3Action<'a>>(
        &self,
        mut action: A,
        signed: &[(&'static str, String)],
    ) -> RequestBuilder {
        for (name, value) in signed {
            action.headers_mut().insert(*name, value.clone());
        }
        let url = action.sign(SIGNED_FOR);
        let method = match A::METHOD {
            rusty_s3::Method::Get => reqwest::Method::GET,
            rusty_s3::Method::Head => reqwest::Method::HEAD,
            rusty_s3::Method::Post => reqwest::Method::POST,
            rusty_s3::Method::Put => reqwest::Method::PUT,
            rusty_s3::Method::Delete => reqwest::Method::DELETE,
        };
        let mut req = self.http.request(method, url);
        for (name, value) in signed {
            req = req.header(*name, value);
        }
        req
    }

    /// Sends the request `build` makes, again on a transient failure; a success (2xx) or
    /// the last failure.
    pub(crate) fn try_send(
        &self,
        build: impl Fn() -> RequestBuilder,
    ) -> std::result::Result<Response, Failure> {
        let mut attempt = 1;
        loop {
            let failure = match build().send() {
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) => Failure::S3(read_failure(resp)),
                Err(e) => Failure::Transport(e),
            };
            let wait = match &failure {
                Failure::S3(f) if f.is_transient() => {
                    f.retry_after.unwrap_or_else(|| backoff(attempt))
                }
                Failure::Transport(e) if !e.is_builder() => backoff(attempt),
                _ => return Err(failure),
            };
            if attempt >= ATTEMPTS {
                return Err(failure);
            }
            std::thread::sleep(wait.min(MAX_WAIT));
            attempt += 1;
        }
    }

    /// [`Client::try_send`], its failure mapped for `op` on `path`.
    pub(crate) fn send(
        &self,
        op: Op,
        path: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response> {
        self.try_send(build).map_err(|f| self.fail(f, op, path))
    }

    /// The plugin error of a failure of `op` on `path`.
    pub(crate) fn fail(&self, failure: Failure, op: Op, path: &str) -> PluginError {
        match failure {
            Failure::S3(f) => f.to_plugin(&self.cfg, op, path),
            Failure::Transport(e) => error::transport(&self.cfg, op, path, e),
        }
    }

    /// HEAD of the file at `path`: its entry, or `None` when there is no such key.
    pub(crate) fn head_file(&self, op: Op, path: &str) -> Result<Option<Entry>> {
        if path.is_empty() {
            return Ok(None);
        }
        let key = self.key(path);
        match self.try_send(|| self.request(self.bucket.head_object(Some(&self.creds), &key), &[]))
        {
            Ok(resp) => Ok(Some(entry_of(path, &resp, None))),
            Err(f) if f.is_not_found() => Ok(None),
            Err(f) => Err(self.fail(f, op, path)),
        }
    }

    /// Whether the folder at `path` exists: the root always; another when a key starts with
    /// its prefix (its `name/` marker or anything inside it).
    pub(crate) fn dir_exists(&self, op: Op, path: &str) -> Result<bool> {
        if path.is_empty() {
            return Ok(true);
        }
        let prefix = self.dir_key(path);
        let mut list = self.bucket.list_objects_v2(Some(&self.creds));
        list.query_mut().remove("encoding-type");
        list.with_prefix(prefix.as_str());
        list.with_max_keys(1);
        let text = self.text(op, path, || self.request(list.clone(), &[]))?;
        let page = rusty_s3::actions::ListObjectsV2::parse_response(&text)
            .map_err(|e| bad_xml(op, path, "ListObjectsV2", e))?;
        Ok(!page.contents.is_empty() || !page.common_prefixes.is_empty())
    }

    /// The text of a successful answer.
    pub(crate) fn text(
        &self,
        op: Op,
        path: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<String> {
        let resp = self.send(op, path, build)?;
        resp.text()
            .map_err(|e| error::transport(&self.cfg, op, path, e))
    }
}

/// A failed answer read: status, `Retry-After`, `x-amz-bucket-region` and the error document.
fn read_failure(resp: Response) -> S3Failure {
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned())
    };
    let retry_after = header("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs);
    let region = header("x-amz-bucket-region");
    let mut body = String::new();
    let _ = resp.take(ERROR_BODY_LIMIT).read_to_string(&mut body);
    S3Failure::parse(status, &body, region, retry_after)
}

/// 250 ms, 500 ms, 1 s, …
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250 << (attempt - 1).min(5))
}

/// An answer S3 should never give.
pub(crate) fn bad_xml(op: Op, path: &str, what: &str, err: impl std::fmt::Display) -> PluginError {
    PluginError::internal(error::cannot(
        op,
        path,
        format!("S3's {what} answer is not the XML expected: {err}"),
    ))
}

/// The entry of the file at `path` from a HEAD or GET answer; `size` when the answer's
/// `Content-Length` is that of a range.
pub(crate) fn entry_of(path: &str, resp: &Response, size: Option<u64>) -> Entry {
    let headers = resp.headers();
    let size = size.unwrap_or_else(|| {
        headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    });
    let mut entry = Entry::file(path, size);
    if let Some(at) = headers
        .get("last-modified")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
    {
        entry = entry.modified(at);
    }
    if let Some(etag) = headers.get("etag").and_then(|v| v.to_str().ok()) {
        entry = entry.etag(etag.trim_matches('"'));
    }
    entry
}

/// Keys with their sizes, and the continuation token of the next page.
pub(crate) type KeyPage = (Vec<(String, u64)>, Option<String>);

impl Client {
    /// One page (up to 1,000) of the keys under `prefix`, at any depth, with their sizes,
    /// from `token`; and the token of the next page.
    pub(crate) fn keys_under(
        &self,
        op: Op,
        path: &str,
        prefix: &str,
        token: Option<&str>,
    ) -> Result<KeyPage> {
        let text = self.text(op, path, || {
            let mut list = self.bucket.list_objects_v2(Some(&self.creds));
            list.query_mut().remove("encoding-type");
            list.with_prefix(prefix);
            list.with_max_keys(1000);
            if let Some(token) = token {
                list.with_continuation_token(token);
            }
            self.request(list, &[])
        })?;
        let page = rusty_s3::actions::ListObjectsV2::parse_response(&text)
            .map_err(|e| bad_xml(op, path, "ListObjectsV2", e))?;
        let keys = page.contents.into_iter().map(|o| (o.key, o.size)).collect();
        Ok((keys, page.next_continuation_token.filter(|t| !t.is_empty())))
    }
}

/// The `ETag` of a CopyObjectResult or CopyPartResult document.
pub(crate) fn copy_result_etag(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct CopyResult {
        #[serde(rename = "ETag")]
        etag: String,
    }
    quick_xml::de::from_str::<CopyResult>(text)
        .ok()
        .map(|r| r.etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_result_etags_parse() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyPartResult><LastModified>2026-12-02T16:41:32.000Z</LastModified><ETag>\"abc\"</ETag></CopyPartResult>";
        assert_eq!(copy_result_etag(doc).as_deref(), Some("\"abc\""));
    }
}
