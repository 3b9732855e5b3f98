//! WebDAV requests for the tests, written by hand on a `TcpStream`: an HTTP client (reqwest,
//! through the `url` crate) resolves `..` and `%2e%2e` in a URL before sending it, and the
//! hostile-path suites must send exactly the bytes an attacker would. Each request is one
//! connection (`Connection: close`); the answer is read to its end, chunked bodies decoded.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::{json, json_of, Client, Host};

/// How long a test waits for an answer before calling the request lost: past every plugin
/// deadline the tests configure, short of a hung test run.
const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// The body of an exclusive write LOCK (RFC 4918 9.10).
pub const LOCK_EXCLUSIVE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>wshost tests</D:owner></D:lockinfo>"#;

/// The body of a PROPPATCH that sets one dead property.
pub const PROPPATCH_SET: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:wshost-tests"><D:set><D:prop><Z:color>red</Z:color></D:prop></D:set></D:propertyupdate>"#;

/// The body of a PROPFIND for every property.
pub const PROPFIND_ALL: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"#;

/// A WebDAV client of one host as one caller.
#[derive(Clone)]
pub struct Dav {
    /// `127.0.0.1:PORT`.
    addr: String,
    /// The `Authorization` value, if any.
    authorization: Option<String>,
}

/// An answer, read to the end of its body.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body, chunked framing removed.
    pub body: Vec<u8>,
    /// False when the body ended before its length (Content-Length or the last chunk).
    pub complete: bool,
}

impl Answer {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The token of a LOCK's answer, without its angle brackets (`opaquelocktoken:…`).
    pub fn lock_token(&self) -> String {
        self.header("lock-token")
            .unwrap_or_else(|| panic!("no Lock-Token in {} {}", self.status, self.text()))
            .trim_matches(|c| c == '<' || c == '>')
            .to_owned()
    }
}

impl Dav {
    /// A caller who sends no credentials.
    pub fn anonymous(h: &Host) -> Dav {
        Dav {
            addr: h.url.trim_start_matches("http://").to_owned(),
            authorization: None,
        }
    }

    /// A caller with HTTP Basic `user:password` (an app password, for the door to accept it).
    pub fn basic(h: &Host, user: &str, password: &str) -> Dav {
        let pair = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Dav {
            authorization: Some(format!("Basic {pair}")),
            ..Dav::anonymous(h)
        }
    }

    /// A caller with `Authorization: Bearer TOKEN`.
    pub fn bearer(h: &Host, token: &str) -> Dav {
        Dav {
            authorization: Some(format!("Bearer {token}")),
            ..Dav::anonymous(h)
        }
    }

    /// `host:port` of the host, as its `Host` header says it.
    pub fn authority(&self) -> &str {
        &self.addr
    }

    /// Sends `method path` (`path` exactly as it goes on the wire) with `headers` and `body`.
    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        let mut head = format!("{method} {path} HTTP/1.1\r\n");
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
            head += &format!("Host: {}\r\n", self.addr);
        }
        if let Some(auth) = &self.authorization {
            head += &format!("Authorization: {auth}\r\n");
        }
        for (name, value) in headers {
            head += &format!("{name}: {value}\r\n");
        }
        head += &format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        self.exchange(head.as_bytes(), body, method == "HEAD")
    }

    /// Sends a request head written whole by the caller (HTTP/1.0, no Host, ...) and `body`.
    pub fn send_raw(&self, head: &str, body: &[u8]) -> Answer {
        self.exchange(head.as_bytes(), body, head.starts_with("HEAD "))
    }

    /// The caller's `Authorization` value, for a request head the test writes itself.
    pub fn authorization(&self) -> Option<&str> {
        self.authorization.as_deref()
    }

    /// A connection to the host (answers awaited up to a minute), for a request the test
    /// writes itself: a body cut short, a head without `Host`.
    pub fn connect(&self) -> TcpStream {
        let tcp = TcpStream::connect(&self.addr)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.addr));
        tcp.set_read_timeout(Some(ANSWER_WITHIN)).unwrap();
        tcp
    }

    fn exchange(&self, head: &[u8], body: &[u8], is_head: bool) -> Answer {
        let mut tcp = self.connect();
        tcp.write_all(head).expect("send the request head");
        // A host that answers before reading the body (401, 403) may close while it is
        // being sent: its answer is still there to read.
        let _ = tcp.write_all(body);
        let mut raw = Vec::new();
        if let Err(e) = tcp.read_to_end(&mut raw) {
            // A reset after the answer (the unread body above) loses nothing already read.
            assert!(
                !raw.is_empty(),
                "no answer from {} within {ANSWER_WITHIN:?}: {e}",
                self.addr
            );
        }
        parse_answer(&raw, is_head)
    }
}

/// Reads an HTTP/1.1 answer: its head, and its body by its framing.
pub fn parse_answer(raw: &[u8], is_head: bool) -> Answer {
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut slots);
    let head_len = match parsed.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        other => panic!(
            "not an HTTP answer ({other:?}): {:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(200)])
        ),
    };
    let status = parsed.code.expect("a status code");
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let rest = &raw[head_len..];
    let (body, complete) = if is_head || status == 204 || status == 304 {
        (Vec::new(), true)
    } else if find("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)
    } else if let Some(len) = find("content-length").and_then(|l| l.parse::<usize>().ok()) {
        (rest[..rest.len().min(len)].to_vec(), rest.len() >= len)
    } else {
        (rest.to_vec(), true)
    };
    Answer {
        status,
        headers,
        body,
        complete,
    }
}

/// A chunked body decoded, and whether its last (empty) chunk came.
fn dechunk(mut rest: &[u8]) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    loop {
        let Ok(httparse::Status::Complete((start, size))) = httparse::parse_chunk_size(rest) else {
            return (body, false);
        };
        if size == 0 {
            return (body, true);
        }
        let size = size as usize;
        let Some(chunk) = rest.get(start..start + size) else {
            body.extend_from_slice(&rest[start.min(rest.len())..]);
            return (body, false);
        };
        body.extend_from_slice(chunk);
        rest = rest.get(start + size + 2..).unwrap_or_default();
    }
}

/// Characters left as they are in a path segment: the unreserved ones (RFC 3986 2.3).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `text` as a URL path, each segment percent-encoded and the `/` between them kept: the
/// host decodes it back to exactly `text`.
pub fn encode_path(text: &str) -> String {
    text.split('/')
        .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// A new app password (API token) of the user logged in as `client`, for WebDAV clients.
pub fn app_password(h: &Host, client: &Client) -> String {
    let (s, v) = json_of(
        client
            .post(h.api("tokens"))
            .json(&json!({ "label": "webdav tests" }))
            .send()
            .expect("POST /api/tokens"),
    );
    assert_eq!(s, 201, "make an app password: {v}");
    v["token"]
        .as_str()
        .expect("the token, shown once")
        .to_owned()
}

/// The hrefs of a multistatus answer, in order (`<D:href>` of any prefix).
pub fn hrefs(answer: &Answer) -> Vec<String> {
    let text = answer.text();
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(open) = rest.find("href>") {
        let after = &rest[open + 5..];
        let Some(end) = after.find('<') else { break };
        if !after[..end].is_empty() {
            out.push(after[..end].to_owned());
        }
        rest = &after[end..];
    }
    out
}
