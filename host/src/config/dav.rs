//! `[dav]`: the WebDAV door at `/dav/` — whether it is served, how its clients authenticate,
//! what macOS clients may write, and how much one listing may answer.

use serde::Deserialize;

/// The resolved `[dav]` section of host.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dav {
    /// Whether `/dav/` (and its alias `/shares/`) is served at all.
    pub(crate) enabled: bool,
    /// Whether HTTP Basic is accepted over plain http from other machines. Off by default:
    /// the password crosses the network in clear with every request.
    pub(crate) allow_basic_over_http: bool,
    /// The realm of the `WWW-Authenticate: Basic` challenge (clients show it when they ask
    /// for a password): 1 to [`MAX_REALM`] printable ASCII characters.
    pub(crate) realm: String,
    /// Whether macOS `._*` (AppleDouble) and `.DS_Store` files may be written.
    pub(crate) apple_files: AppleFiles,
    /// The most entries a Depth-1 PROPFIND answers.
    pub(crate) max_propfind_entries: u32,
}

impl Default for Dav {
    fn default() -> Self {
        Dav {
            enabled: true,
            allow_basic_over_http: false,
            realm: "wshost".into(),
            apple_files: AppleFiles::Allow,
            max_propfind_entries: 100_000,
        }
    }
}

/// What the WebDAV door does with the files Finder writes beside every file it touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppleFiles {
    /// They are written like any other file.
    Allow,
    /// Writing them is refused, so workspaces stay free of them.
    Refuse,
}

/// The longest realm accepted, in characters.
pub(crate) const MAX_REALM: usize = 100;

/// `[dav]` as written. Strings are checked by [`dav`] rather than by serde, so that a wrong
/// value is reported with the others by `config check`, naming its key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileDav {
    enabled: Option<bool>,
    allow_basic_over_http: Option<bool>,
    realm: Option<String>,
    apple_files: Option<String>,
    max_propfind_entries: Option<u32>,
}

/// Resolves `[dav]` over the defaults, reporting invalid values to `problem` (with the
/// default kept for them).
pub(super) fn dav(file: FileDav, problem: &mut dyn FnMut(&'static str, String)) -> Dav {
    let default = Dav::default();
    let realm = match file.realm {
        None => default.realm,
        Some(realm) if is_realm(&realm) => realm,
        Some(_) => {
            // Not echoed: it may be long or hold control characters.
            problem(
                "dav.realm",
                format!(
                    "expected 1 to {MAX_REALM} printable ASCII characters (letters, digits, \
                     spaces, punctuation)"
                ),
            );
            default.realm
        }
    };
    let apple_files = match file.apple_files.as_deref() {
        None => default.apple_files,
        Some("allow") => AppleFiles::Allow,
        Some("refuse") => AppleFiles::Refuse,
        Some(other) => {
            let shown: String = other.chars().take(40).collect();
            problem(
                "dav.apple_files",
                format!("expected \"allow\" or \"refuse\", got {shown:?}"),
            );
            default.apple_files
        }
    };
    let max_propfind_entries = match file.max_propfind_entries {
        Some(0) => {
            problem(
                "dav.max_propfind_entries",
                "expected a whole number of at least 1".into(),
            );
            default.max_propfind_entries
        }
        v => v.unwrap_or(default.max_propfind_entries),
    };
    Dav {
        enabled: file.enabled.unwrap_or(default.enabled),
        allow_basic_over_http: file
            .allow_basic_over_http
            .unwrap_or(default.allow_basic_over_http),
        realm,
        apple_files,
        max_propfind_entries,
    }
}

/// Whether `realm` can be shown in a challenge as it is: printable ASCII (space included),
/// so the header value is valid and reads the same in every client.
fn is_realm(realm: &str) -> bool {
    !realm.trim().is_empty()
        && realm.len() <= MAX_REALM
        && realm.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(toml: &str) -> (Dav, Vec<(&'static str, String)>) {
        let file: FileDav = toml::from_str(toml).expect("valid [dav] TOML");
        let mut problems = Vec::new();
        let dav = dav(file, &mut |key, message| problems.push((key, message)));
        (dav, problems)
    }

    #[test]
    fn defaults() {
        let (dav, problems) = resolve("");
        assert!(problems.is_empty());
        assert_eq!(dav, Dav::default());
        assert!(dav.enabled);
        assert!(!dav.allow_basic_over_http);
        assert_eq!(dav.realm, "wshost");
        assert_eq!(dav.apple_files, AppleFiles::Allow);
        assert_eq!(dav.max_propfind_entries, 100_000);
    }

    #[test]
    fn every_key_is_read() {
        let (dav, problems) = resolve(
            "enabled = false\nallow_basic_over_http = true\nrealm = \"Files of ACME\"\n\
             apple_files = \"refuse\"\nmax_propfind_entries = 500\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            dav,
            Dav {
                enabled: false,
                allow_basic_over_http: true,
                realm: "Files of ACME".into(),
                apple_files: AppleFiles::Refuse,
                max_propfind_entries: 500,
            }
        );
    }

    #[test]
    fn invalid_values_are_named_and_keep_their_default() {
        let (dav, problems) =
            resolve("realm = \"tab\\there\"\napple_files = \"maybe\"\nmax_propfind_entries = 0\n");
        let keys: Vec<_> = problems.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            ["dav.realm", "dav.apple_files", "dav.max_propfind_entries"]
        );
        assert!(
            problems[1].1.contains("\"allow\" or \"refuse\""),
            "{problems:?}"
        );
        assert!(problems[1].1.contains("maybe"), "{problems:?}");
        assert_eq!(dav, Dav::default());
        for realm in ["", "   ", "é", &"x".repeat(MAX_REALM + 1)] {
            assert!(!is_realm(realm), "{realm:?}");
        }
        assert!(is_realm(&"x".repeat(MAX_REALM)));
        assert!(is_realm("say \"hi\" \\ there"), "quotes are escaped later");
    }
}
