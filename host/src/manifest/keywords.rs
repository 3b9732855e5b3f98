//! Keywords in parameter values, expanded by the host when a driver is opened for a caller:
//! `{user}` (the caller's user name), `{data_dir}` (the deployment's data folder) and
//! `{public_url}` (the deployment's public URL, without a trailing slash), with Pydio's
//! spellings `AJXP_USER` and `AJXP_DATA_PATH` as aliases.
//!
//! Values keep their keywords as written (in the store, in host.toml, in a manifest's
//! default): they are expanded at use, so a workspace follows a change of the public URL or
//! the data folder, and a `{user}` workspace opens once per user on that user's own value.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

/// Every keyword spelling, as the admin form lists them.
pub(crate) const KEYWORDS: [(&str, &str); 5] = [
    ("{user}", "the signed-in user's name"),
    ("{data_dir}", "the deployment's data folder"),
    ("{public_url}", "the deployment's public URL"),
    ("AJXP_USER", "Pydio's spelling of {user}"),
    ("AJXP_DATA_PATH", "Pydio's spelling of {data_dir}"),
];

/// The user name a `{user}` value is checked with before any user opens it.
pub(crate) const SAMPLE_USER: &str = "sample.user";

/// A keyword candidate: `{name}` or Pydio's `AJXP_NAME`.
static CANDIDATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{[a-z_]+\}|AJXP_[A-Z0-9_]+").expect("keyword pattern"));

/// What keywords expand to for one caller of one deployment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    /// The caller's user name; `None` for the operator at the console or an anonymous caller.
    pub(crate) user: Option<&'a str>,
    pub(crate) data_dir: &'a Path,
    pub(crate) public_url: &'a str,
}

impl<'a> Scope<'a> {
    /// The same deployment for another caller.
    pub(crate) fn for_user(self, user: Option<&'a str>) -> Scope<'a> {
        Scope { user, ..self }
    }
}

/// Whether `text` holds a keyword candidate (known or not).
pub(crate) fn has_keywords(text: &str) -> bool {
    CANDIDATE.is_match(text)
}

/// Whether `text` holds `{user}` (or `AJXP_USER`): its value differs per user.
pub(crate) fn uses_user(text: &str) -> bool {
    CANDIDATE
        .find_iter(text)
        .any(|m| matches!(m.as_str(), "{user}" | "AJXP_USER"))
}

/// `text` with every keyword replaced for `scope`, or why it cannot be (an unknown keyword,
/// `{user}` with no user or a user name that would name a parent folder).
pub(crate) fn expand(text: &str, scope: &Scope) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in CANDIDATE.find_iter(text) {
        out.push_str(&text[last..m.start()]);
        out.push_str(&value(m.as_str(), scope)?);
        last = m.end();
    }
    out.push_str(&text[last..]);
    Ok(out)
}

fn value(keyword: &str, scope: &Scope) -> Result<String, String> {
    match keyword {
        "{user}" | "AJXP_USER" => match scope.user {
            // User names are [A-Za-z0-9._-]; these two alone would name a folder's parent or
            // itself, so one user's value could reach another's.
            Some("." | "..") => Err(format!("{keyword} cannot be '.' or '..'")),
            Some(user) => Ok(user.to_owned()),
            None => Err(format!(
                "{keyword} needs a signed-in user; this workspace opens only for one"
            )),
        },
        "{data_dir}" | "AJXP_DATA_PATH" => scope
            .data_dir
            .to_str()
            .map(|d| d.trim_end_matches('/').to_owned())
            .ok_or_else(|| format!("{keyword}: the data folder's path is not UTF-8")),
        "{public_url}" => Ok(scope.public_url.trim_end_matches('/').to_owned()),
        unknown => {
            let known: Vec<&str> = KEYWORDS.iter().map(|(k, _)| *k).collect();
            Err(format!(
                "unknown keyword {unknown}; expected one of: {}",
                known.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(user: Option<&str>) -> Scope<'_> {
        Scope {
            user,
            data_dir: Path::new("/var/lib/wshost/"),
            public_url: "https://ws.example/",
        }
    }

    #[test]
    fn every_keyword_and_alias_expands() {
        let s = scope(Some("alice"));
        for (text, expected) in [
            (
                "{data_dir}/personal/{user}",
                "/var/lib/wshost/personal/alice",
            ),
            (
                "AJXP_DATA_PATH/personal/AJXP_USER",
                "/var/lib/wshost/personal/alice",
            ),
            ("{public_url}/cb", "https://ws.example/cb"),
            ("no keyword {", "no keyword {"),
            ("{user}-{user}", "alice-alice"),
        ] {
            assert_eq!(expand(text, &s).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn unknown_keywords_and_missing_users_are_refused() {
        let err = expand("/srv/{home}", &scope(Some("a"))).unwrap_err();
        assert!(
            err.contains("unknown keyword {home}; expected one of: {user}"),
            "{err}"
        );
        let err = expand("AJXP_INSTALL_PATH/x", &scope(Some("a"))).unwrap_err();
        assert!(err.contains("unknown keyword AJXP_INSTALL_PATH"), "{err}");
        let err = expand("/p/{user}", &scope(None)).unwrap_err();
        assert!(err.contains("needs a signed-in user"), "{err}");
        for user in [".", ".."] {
            let err = expand("/p/AJXP_USER", &scope(Some(user))).unwrap_err();
            assert!(err.contains("cannot be '.' or '..'"), "{err}");
        }
        assert!(uses_user("/p/AJXP_USER") && uses_user("{user}") && !uses_user("{data_dir}"));
    }
}
