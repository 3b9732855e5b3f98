//! What WebDAV clients do that a server must expect.
//!
//! - macOS Finder writes an AppleDouble `._name` beside every file it copies (resource fork
//!   and extended attributes) and a `.DS_Store` per folder it opens. `[dav] apple_files =
//!   "refuse"` answers their PUT with 403, which Finder tolerates (the copy goes on without
//!   them); the default stores them like any file.
//! - Finder mounts read-only unless LOCK works, and sends chunked PUTs with
//!   `X-Expected-Entity-Length` (dav-server takes it as the size).
//! - The Windows Mini-Redirector PUTs 0 bytes, LOCKs, then PUTs the content, and refuses a
//!   `creationdate` with fractions of seconds (dav-server writes none).
//! - Some clients PROPFIND without a `Depth` header (webdav4's `isdir`, `info` of a file):
//!   see [`default_depth`].

use http::{HeaderMap, HeaderValue, Method};
use plugin_api::file_name;

/// Gives a PROPFIND without `Depth` the depth 1. RFC 4918 (9.1) reads a missing `Depth` as
/// infinity, which dav-server refuses when asked by name; without the header it answers a
/// folder's children but not the folder, and nothing at all for a file, so a client asking
/// about one resource got an empty multistatus. Depth 1 answers the resource itself, and a
/// folder's children, as SabreDAV serves infinity when it is turned off.
pub(super) fn default_depth(method: &Method, headers: &mut HeaderMap) {
    if method.as_str() == "PROPFIND" && !headers.contains_key("depth") {
        headers.insert("depth", HeaderValue::from_static("1"));
    }
}

/// Whether `path` names a macOS metadata file: AppleDouble `._*` or `.DS_Store`.
pub(super) fn is_apple_file(path: &str) -> bool {
    let name = file_name(path);
    name.starts_with("._") || name == ".DS_Store"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apple_files() {
        assert!(is_apple_file("a/._photo.jpg"));
        assert!(is_apple_file(".DS_Store"));
        assert!(is_apple_file("x/.DS_Store"));
        assert!(!is_apple_file("a/photo.jpg"));
        assert!(!is_apple_file("a/.hidden"));
        assert!(!is_apple_file("a/_x"));
    }

    #[test]
    fn a_propfind_without_depth_gets_depth_1() {
        let propfind = Method::from_bytes(b"PROPFIND").unwrap();
        let mut headers = HeaderMap::new();
        default_depth(&propfind, &mut headers);
        assert_eq!(headers["depth"], "1");
        let mut headers = HeaderMap::new();
        headers.insert("depth", HeaderValue::from_static("0"));
        default_depth(&propfind, &mut headers);
        assert_eq!(headers["depth"], "0");
        let mut headers = HeaderMap::new();
        default_depth(&Method::GET, &mut headers);
        assert!(headers.is_empty());
    }
}
