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

use plugin_api::file_name;

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
}
