//! Request parameters: the query string (and a urlencoded form body for the standard
//! actions), with Pydio's aliases — `action` for `get_action`, `tmp_repository_id` for `ws`.

use crate::app::error::AppError;
use crate::paths;

/// Decoded request parameters, in order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Parses an `application/x-www-form-urlencoded` string (a query or a form body).
    pub(crate) fn parse(raw: &str) -> Params {
        Params(
            url::form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// Adds the parameters of `other` after these (the query wins on lookups).
    pub(crate) fn extend(&mut self, other: Params) {
        self.0.extend(other.0);
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The action name.
    pub(crate) fn action(&self) -> Option<&str> {
        self.get("get_action").or_else(|| self.get("action"))
    }

    /// The workspace id.
    pub(crate) fn workspace(&self) -> Option<&str> {
        self.get("ws").or_else(|| self.get("tmp_repository_id"))
    }

    /// A mandatory parameter.
    pub(crate) fn require(&self, name: &'static str) -> Result<&str, AppError> {
        self.get(name).ok_or(AppError::MissingParam(name))
    }

    /// A mandatory path parameter, normalized.
    pub(crate) fn path(&self, name: &'static str) -> Result<String, AppError> {
        let raw = self.require(name)?;
        paths::normalize(raw).map_err(|err| AppError::BadPath { name, err })
    }

    /// The single node an action works on: `file`, or Pydio's `node`, normalized.
    pub(crate) fn file(&self) -> Result<String, AppError> {
        match (self.get("file"), self.get("node")) {
            (None, Some(_)) => self.path("node"),
            _ => self.path("file"),
        }
    }

    /// The raw values of Pydio's repeatable `nodes[]` (also accepted without the brackets),
    /// in order; empty when the request names none.
    pub(crate) fn nodes(&self) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == "nodes[]" || k == "nodes")
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// An optional path parameter, normalized; the root when absent.
    pub(crate) fn path_or_root(&self, name: &'static str) -> Result<String, AppError> {
        match self.get(name) {
            None => Ok(String::new()),
            Some(raw) => paths::normalize(raw).map_err(|err| AppError::BadPath { name, err }),
        }
    }

    /// A mandatory single file name.
    pub(crate) fn name(&self, name: &'static str) -> Result<String, AppError> {
        let raw = self.require(name)?;
        paths::name(raw)
            .map(str::to_owned)
            .map_err(|err| AppError::BadPath { name, err })
    }

    /// An optional boolean.
    pub(crate) fn flag(&self, name: &'static str, default: bool) -> Result<bool, AppError> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None | Some("") => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(AppError::InvalidParam {
                name,
                reason: format!("expected true or false, got '{other}'"),
            }),
        }
    }

    /// An optional integer within `range`.
    pub(crate) fn number(
        &self,
        name: &'static str,
        default: u32,
        range: std::ops::RangeInclusive<u32>,
    ) -> Result<u32, AppError> {
        match self.get(name) {
            None | Some("") => Ok(default),
            Some(v) => {
                v.parse()
                    .ok()
                    .filter(|n| range.contains(n))
                    .ok_or_else(|| AppError::InvalidParam {
                        name,
                        reason: format!(
                            "expected a whole number from {} to {}, got '{v}'",
                            range.start(),
                            range.end()
                        ),
                    })
            }
        }
    }

    /// All pairs.
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pydio_aliases_and_decoding() {
        let p = Params::parse("action=ls&tmp_repository_id=files&dir=%2Fa%20b");
        assert_eq!(p.action(), Some("ls"));
        assert_eq!(p.workspace(), Some("files"));
        assert_eq!(p.path("dir").unwrap(), "a b");
        let p = Params::parse("get_action=stat&action=ls&ws=w");
        assert_eq!(p.action(), Some("stat"));
        let p = Params::parse("node=%2Fa&nodes%5B%5D=b&nodes[]=c&nodes=d");
        assert_eq!(p.file().unwrap(), "a");
        assert_eq!(p.nodes(), ["b", "c", "d"]);
        let p = Params::parse("file=x&node=y");
        assert_eq!(p.file().unwrap(), "x");
    }

    #[test]
    fn typed_getters_refuse_bad_values() {
        let p = Params::parse("limit=0&big=99999&flag=maybe&file=..%2Fx&n=a%2Fb");
        assert!(p.number("limit", 10, 1..=100).is_err());
        assert!(p.number("big", 10, 1..=100).is_err());
        assert_eq!(p.number("absent", 10, 1..=100).unwrap(), 10);
        assert!(p.flag("flag", true).is_err());
        assert!(matches!(p.path("file"), Err(AppError::BadPath { .. })));
        assert!(matches!(p.name("n"), Err(AppError::BadPath { .. })));
        assert!(matches!(
            p.require("zzz"),
            Err(AppError::MissingParam("zzz"))
        ));
    }
}
