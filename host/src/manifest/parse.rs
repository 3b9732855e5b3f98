//! [`parse`]: manifest text to a checked [`Manifest`].
//!
//! toml and serde check the shape (unknown keys, missing keys, value types, param types and
//! rights); the checks here are the rules serde cannot express: id and name formats,
//! uniqueness of param names and aliases and of action names, attributes that belong to one
//! type only, patterns that compile, ranges that are ordered, defaults that pass their own
//! param, reserved action names, the methods an action declares. The first broken rule is
//! the error.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use regex::Regex;
use toml::Spanned;

use super::error::ManifestError;
use super::model::{
    ActionDecl, ActionMethod, Choice, Manifest, Param, ParamType, DEFAULT_METHODS, RESERVED_ACTIONS,
};
use super::raw::{RawAction, RawChoices, RawManifest, RawMethods, RawParam};
use super::value::normalize;
use super::{keywords, locate};

/// The deployment a keyword default is checked for.
const SAMPLE_URL: &str = "http://localhost";
const SAMPLE_DATA_DIR: &str = "/var/lib/wshost";

/// Parses and checks the manifest `text` read from `source` (named in errors and kept in
/// [`Manifest::source`]).
pub(crate) fn parse(text: &str, source: &Path) -> Result<Manifest, ManifestError> {
    let raw: RawManifest =
        toml::from_str(text).map_err(|e| locate::toml_error(text, source, &e))?;
    Checker { text, source }.manifest(raw)
}

/// Letters, digits and underscores, at least one; lowercase letters only if `lower`.
fn is_word(s: &str, lower: bool) -> bool {
    let ok = |c: char| {
        c == '_'
            || c.is_ascii_digit()
            || c.is_ascii_lowercase()
            || (!lower && c.is_ascii_uppercase())
    };
    !s.is_empty() && s.chars().all(ok)
}

struct Checker<'a> {
    text: &'a str,
    source: &'a Path,
}

type Result<T, E = ManifestError> = std::result::Result<T, E>;

impl Checker<'_> {
    fn invalid(
        &self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ManifestError {
        ManifestError::Invalid {
            path: self.source.to_path_buf(),
            location: Some(locate::location(self.text, span.start)),
            field: field.into(),
            message: message.into(),
        }
    }

    fn manifest(&self, raw: RawManifest) -> Result<Manifest> {
        let (id, kind) = (raw.id.get_ref(), raw.kind.get_ref());
        if !is_word(kind, true) {
            let msg = "expected a plugin type of lowercase letters, digits and underscores, e.g. `access`";
            return Err(self.invalid(raw.kind.span(), "type", msg));
        }
        match id.split_once('.') {
            Some((t, name)) if is_word(t, true) && is_word(name, true) => {
                if t != kind {
                    let msg = format!("expected an id starting with `{kind}.` (the manifest's type), found `{id}`");
                    return Err(self.invalid(raw.id.span(), "id", msg));
                }
            }
            _ => {
                let msg = format!("expected `type.name` of lowercase letters, digits and underscores, e.g. `access.fs`, found `{id}`");
                return Err(self.invalid(raw.id.span(), "id", msg));
            }
        }
        if raw.label.get_ref().trim().is_empty() {
            return Err(self.invalid(raw.label.span(), "label", "expected a non-empty label"));
        }
        if !is_word(raw.library.get_ref(), false) {
            let msg = "expected a library stem of letters, digits and underscores, e.g. `access_fs` for libaccess_fs.so";
            return Err(self.invalid(raw.library.span(), "library", msg));
        }
        let mut names = HashMap::new();
        let params = (raw.params.into_iter().enumerate())
            .map(|(i, p)| self.param(i, p, &mut names))
            .collect::<Result<Vec<_>>>()?;
        let mut action_names = HashMap::new();
        let actions = (raw.actions.into_iter().enumerate())
            .map(|(i, a)| self.action(i, a, &mut action_names))
            .collect::<Result<Vec<_>>>()?;
        Ok(Manifest {
            id: raw.id.into_inner(),
            kind: raw.kind.into_inner(),
            label: raw.label.into_inner(),
            description: raw.description,
            library: raw.library.into_inner(),
            enabled: raw.enabled,
            params,
            actions,
            source: self.source.to_path_buf(),
        })
    }

    /// Records `name` declared at `field`, refusing it if `seen` already has it.
    fn claim(
        &self,
        seen: &mut HashMap<String, String>,
        name: &Spanned<String>,
        field: String,
        what: &str,
    ) -> Result<()> {
        if let Some(first) = seen.get(name.get_ref()) {
            let msg = format!(
                "`{}` is already declared by {first}; expected unique {what}",
                name.get_ref()
            );
            return Err(self.invalid(name.span(), field, msg));
        }
        seen.insert(name.get_ref().clone(), field);
        Ok(())
    }

    fn param(
        &self,
        i: usize,
        raw: Spanned<RawParam>,
        seen: &mut HashMap<String, String>,
    ) -> Result<Param> {
        let at = format!("params[{i}]");
        let span = raw.span();
        let raw = raw.into_inner();
        let kind = raw.kind;
        let name_msg = "expected letters, digits and underscores, e.g. `CLIENT_ID`";
        if !is_word(raw.name.get_ref(), false) {
            return Err(self.invalid(raw.name.span(), format!("{at}.name"), name_msg));
        }
        self.claim(
            seen,
            &raw.name,
            format!("{at}.name"),
            "param names and aliases",
        )?;
        for (j, alias) in raw.aliases.iter().enumerate() {
            let field = format!("{at}.aliases[{j}]");
            if !is_word(alias.get_ref(), false) {
                return Err(self.invalid(alias.span(), field, name_msg));
            }
            self.claim(seen, alias, field, "param names and aliases")?;
        }
        let choices = self.choices(&at, kind, span, raw.choices)?;
        let pattern = self.pattern(&at, kind, raw.pattern)?;
        self.range(&at, kind, &raw.min, &raw.max)?;
        let name = raw.name.into_inner();
        let mut param = Param {
            label: raw
                .label
                .filter(|l| !l.trim().is_empty())
                .unwrap_or_else(|| name.clone()),
            name,
            kind,
            description: raw.description,
            mandatory: raw.mandatory,
            default: None,
            choices,
            group: raw.group,
            advanced: raw.advanced,
            aliases: raw.aliases.into_iter().map(Spanned::into_inner).collect(),
            pattern,
            min: raw.min.map(Spanned::into_inner),
            max: raw.max.map(Spanned::into_inner),
        };
        if let Some(default) = raw.default {
            let (span, text) = (default.span(), default.into_inner().0);
            let field = format!("{at}.default");
            if kind == ParamType::Password {
                let msg = "a password param may not have a default: passwords are write-only";
                return Err(self.invalid(span, field, msg));
            }
            param.default = self
                .default(&param, &text)
                .map_err(|m| self.invalid(span, field, m))?;
        }
        Ok(param)
    }

    /// A compiled `pattern`, refused on non-text types.
    fn pattern(
        &self,
        at: &str,
        kind: ParamType,
        raw: Option<Spanned<String>>,
    ) -> Result<Option<Regex>> {
        let Some(raw) = raw else { return Ok(None) };
        let field = format!("{at}.pattern");
        if !kind.is_text() {
            let msg = format!(
                "a pattern applies only to string, textarea, password, url and hidden params; \
                 this one is {kind}"
            );
            return Err(self.invalid(raw.span(), field, msg));
        }
        Regex::new(raw.get_ref()).map(Some).map_err(|e| {
            // regex's message spans lines ("regex parse error: ... error: REASON"); keep REASON.
            let full = e.to_string();
            let reason = full
                .lines()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or(&full);
            let msg = format!("expected a valid regular expression: {reason}");
            self.invalid(raw.span(), field, msg)
        })
    }

    /// `min` and `max`: integer params only, and ordered.
    fn range(
        &self,
        at: &str,
        kind: ParamType,
        min: &Option<Spanned<i64>>,
        max: &Option<Spanned<i64>>,
    ) -> Result<()> {
        for (key, bound) in [("min", min), ("max", max)] {
            if let Some(bound) = bound.as_ref().filter(|_| kind != ParamType::Integer) {
                let msg = format!("{key} applies only to integer params; this one is {kind}");
                return Err(self.invalid(bound.span(), format!("{at}.{key}"), msg));
            }
        }
        match (min, max) {
            (Some(min), Some(max)) if min.get_ref() > max.get_ref() => {
                let (min, found) = (min.get_ref(), max.get_ref());
                let msg = format!("expected max >= min ({min}), found {found}");
                Err(self.invalid(max.span(), format!("{at}.max"), msg))
            }
            _ => Ok(()),
        }
    }

    /// The stored form of a default: none if empty, the text as written if it holds keywords
    /// (checked once expanded for a sample deployment and user), else the normalized value.
    fn default(&self, param: &Param, text: &str) -> Result<Option<String>, String> {
        let invalid = |m: String| format!("default {text:?} is invalid: {m}");
        if text.trim().is_empty() {
            Ok(None)
        } else if param.takes_keywords() && keywords::has_keywords(text) {
            let sample = keywords::Scope {
                user: Some(keywords::SAMPLE_USER),
                data_dir: Path::new(SAMPLE_DATA_DIR),
                public_url: SAMPLE_URL,
            };
            let expanded = keywords::expand(text, &sample).map_err(invalid)?;
            normalize(param, &expanded).map_err(|m| {
                invalid(format!(
                    "{m} (once expanded for {SAMPLE_URL}, data folder {SAMPLE_DATA_DIR} and \
                     user {})",
                    keywords::SAMPLE_USER
                ))
            })?;
            Ok(Some(text.to_owned()))
        } else {
            normalize(param, text).map(Some).map_err(invalid)
        }
    }

    fn choices(
        &self,
        at: &str,
        kind: ParamType,
        span: Range<usize>,
        raw: Option<Spanned<RawChoices>>,
    ) -> Result<Vec<Choice>> {
        let field = format!("{at}.choices");
        let raw = match raw {
            None if kind == ParamType::Select => {
                let msg = "a select param needs choices: expected an array of { value, label } tables or \"value|Label,...\"";
                return Err(self.invalid(span, field, msg));
            }
            None => return Ok(Vec::new()),
            Some(raw) if kind != ParamType::Select => {
                let msg = format!("choices apply only to select params; this one is {kind}");
                return Err(self.invalid(raw.span(), field, msg));
            }
            Some(raw) => raw,
        };
        let span = raw.span();
        let choices: Vec<Choice> = match raw.into_inner() {
            RawChoices::Pydio(list) => (list.split(','))
                .map(|item| {
                    let (value, label) = item.split_once('|').unwrap_or((item, item));
                    Choice {
                        value: value.trim().to_owned(),
                        label: label.trim().to_owned(),
                    }
                })
                .collect(),
            RawChoices::Tables(list) => (list.into_iter())
                .map(|c| Choice {
                    label: c.label.unwrap_or_default(),
                    value: c.value,
                })
                .collect(),
        };
        if choices.is_empty() {
            return Err(self.invalid(span, field, "expected at least one choice"));
        }
        let mut seen = HashMap::new();
        for (k, choice) in choices.iter().enumerate() {
            if choice.value.trim().is_empty() {
                return Err(self.invalid(
                    span,
                    format!("{field}[{k}]"),
                    "expected a non-empty choice value",
                ));
            }
            if let Some(first) = seen.insert(choice.value.as_str(), k) {
                let msg = format!(
                    "value `{}` is already choice {first}; expected unique values",
                    choice.value
                );
                return Err(self.invalid(span, format!("{field}[{k}]"), msg));
            }
        }
        let labelled = |c: Choice| match c.label.trim().is_empty() {
            true => Choice {
                label: c.value.clone(),
                value: c.value,
            },
            false => c,
        };
        Ok(choices.into_iter().map(labelled).collect())
    }

    fn action(
        &self,
        i: usize,
        raw: Spanned<RawAction>,
        seen: &mut HashMap<String, String>,
    ) -> Result<ActionDecl> {
        let at = format!("actions[{i}].name");
        let raw = raw.into_inner();
        let name = raw.name.get_ref();
        if !is_word(name, true) {
            let msg = "expected an action name of lowercase letters, digits and underscores, e.g. `dropbox_oauth_authorize`";
            return Err(self.invalid(raw.name.span(), at, msg));
        }
        if RESERVED_ACTIONS.contains(&name.as_str()) {
            let msg = format!(
                "`{name}` is a standard file action served by the host; expected another name"
            );
            return Err(self.invalid(raw.name.span(), at, msg));
        }
        self.claim(seen, &raw.name, at, "action names")?;
        let methods = match raw.methods {
            None => DEFAULT_METHODS.to_vec(),
            Some(methods) => self.methods(i, name, methods)?,
        };
        Ok(ActionDecl {
            name: raw.name.into_inner(),
            rights: raw.rights,
            csrf: raw.csrf,
            methods,
            description: raw.description,
        })
    }

    /// The `methods` of action `i` (called `action`): at least one, each a method the host
    /// knows, spelled in uppercase, none twice.
    fn methods(
        &self,
        i: usize,
        action: &str,
        raw: Spanned<RawMethods>,
    ) -> Result<Vec<ActionMethod>> {
        let field = format!("actions[{i}].methods");
        let span = raw.span();
        let items = raw.into_inner().0;
        if items.is_empty() {
            let msg = format!(
                "action `{action}` declares no method; expected at least one, e.g. [\"POST\"] (or leave `methods` out for the default, [\"POST\"])"
            );
            return Err(self.invalid(span, field, msg));
        }
        let known = || {
            ActionMethod::ALL
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut methods: Vec<ActionMethod> = Vec::with_capacity(items.len());
        for (k, item) in items.iter().enumerate() {
            let text = item.get_ref();
            let at = format!("{field}[{k}]");
            let Some(method) = ActionMethod::parse(text) else {
                let hint = match ActionMethod::parse(&text.to_ascii_uppercase()) {
                    Some(m) => format!(" (methods are uppercase: `{}`)", m.as_str()),
                    None => String::new(),
                };
                let msg = format!(
                    "action `{action}`: `{text}` is not a method an action may declare{hint}; expected one of {}",
                    known()
                );
                return Err(self.invalid(item.span(), at, msg));
            };
            if let Some(first) = methods.iter().position(|m| *m == method) {
                let msg = format!(
                    "action `{action}`: `{text}` is already {field}[{first}]; expected each method once"
                );
                return Err(self.invalid(item.span(), at, msg));
            }
            methods.push(method);
        }
        Ok(methods)
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
