//! Host-key pinning: the `SHA256:…` fingerprint an admin pins in `HOST_KEY`, the fingerprint a
//! server offers, and the comparison between them. There is deliberately no "accept any key"
//! mode: a driver that sends a password to whoever answers on the port is a password leak.
//!
//! The form is OpenSSH's (`ssh-keygen -lf key.pub`): `SHA256:` and the unpadded base64 of the
//! SHA-256 of the key blob, so the admin compares like with like.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;

/// A host key's SHA-256 fingerprint.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// Parses `SHA256:…`; a whole `ssh-keygen -lf` line (`256 SHA256:… comment (ED25519)`) is
    /// accepted too, since that is what an admin copies. The error says what was expected.
    pub fn parse(text: &str) -> Result<Fingerprint, String> {
        let expected = "must be the server's key fingerprint as `ssh-keygen -lf` prints it, SHA256: and 43 base64 characters";
        let token = text
            .split_whitespace()
            .find(|t| t.starts_with("SHA256:"))
            .ok_or_else(|| format!("{expected}; got '{}'", shorten(text)))?;
        let b64 = &token["SHA256:".len()..];
        let bytes = STANDARD_NO_PAD
            .decode(b64.trim_end_matches('='))
            .or_else(|_| STANDARD.decode(b64))
            .map_err(|_| format!("{expected}; '{}' is not base64", shorten(token)))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!(
                "{expected}; '{}' holds {} bytes, not 32",
                shorten(token),
                b.len()
            )
        })?;
        Ok(Fingerprint(bytes))
    }

    /// The fingerprint of a host key whose SHA-256 digest is `digest` (libssh2's hash of the
    /// key blob).
    pub fn from_digest(digest: &[u8]) -> Option<Fingerprint> {
        digest.try_into().ok().map(Fingerprint)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SHA256:{}", STANDARD_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The first characters of an admin's input, for a message (a pasted secret stays cut).
fn shorten(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_openssh_fingerprints() {
        let fp = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";
        assert_eq!(Fingerprint::parse(fp).unwrap().to_string(), fp);
        let line = format!("256 {fp} root@server (ED25519)");
        assert_eq!(Fingerprint::parse(&line).unwrap().to_string(), fp);
        assert_eq!(
            Fingerprint::from_digest(&[0u8; 32]).unwrap().to_string(),
            "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        );
        assert!(Fingerprint::from_digest(&[0u8; 20]).is_none());
    }

    #[test]
    fn refuses_other_forms_saying_what_is_expected() {
        for bad in [
            "",
            "uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
            "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48",
            "SHA256:not*base64",
            "SHA256:AAAA",
        ] {
            let e = Fingerprint::parse(bad).unwrap_err();
            assert!(e.contains("ssh-keygen -lf"), "{bad}: {e}");
        }
    }
}
