//! The typed manifest model: what `parse` produces, what the host reads and answers as JSON.
//!
//! Serialized shape (JSON for the admin UI): `kind` is written as `type`, [`ParamType`] and
//! [`Rights`] as lowercase strings, a param's `pattern` as its source text; the manifest's
//! `source` path is not serialized.

use std::path::PathBuf;

use regex::Regex;
use serde::{Deserialize, Serialize, Serializer};

/// Standard file actions served by the host for every access driver; a manifest may not
/// declare them. The same names as `web::files::StdAction::ALL` (a test there checks it).
pub(crate) const RESERVED_ACTIONS: [&str; 12] = [
    "ls",
    "stat",
    "download",
    "upload",
    "mkdir",
    "delete",
    "rename",
    "copy",
    "move",
    "mkfile",
    "get_content",
    "put_content",
];

/// One plugin's manifest, checked.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Manifest {
    /// Plugin id `type.name`, e.g. `access.fs`; its type part equals [`Manifest::kind`].
    pub(crate) id: String,
    /// Plugin type (TOML key `type`), e.g. `access`.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// Human name shown in the admin UI.
    pub(crate) label: String,
    /// One or two sentences for the admin UI; may be empty.
    pub(crate) description: String,
    /// Library stem, e.g. `access_dropbox` for `libaccess_dropbox.so`.
    pub(crate) library: String,
    /// Whether the plugin is enabled when the deployment says nothing about it.
    pub(crate) enabled: bool,
    /// Workspace parameters, in declaration order.
    pub(crate) params: Vec<Param>,
    /// Plugin-specific actions, in declaration order.
    pub(crate) actions: Vec<ActionDecl>,
    /// The file the manifest was read from.
    #[serde(skip)]
    pub(crate) source: PathBuf,
}

/// One workspace parameter.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Param {
    /// Canonical name, letters, digits and underscores, e.g. `CLIENT_ID`.
    pub(crate) name: String,
    /// Value type (TOML key `type`).
    #[serde(rename = "type")]
    pub(crate) kind: ParamType,
    /// Form label; the name when the manifest gives none.
    pub(crate) label: String,
    /// Help text; may be empty.
    pub(crate) description: String,
    /// Whether a value (submitted or default) is required.
    pub(crate) mandatory: bool,
    /// Default value as text, normalized like a submitted value, or kept as written when it
    /// holds keywords (`super::keywords`, checked once expanded). Never set for passwords; an
    /// empty default is none.
    pub(crate) default: Option<String>,
    /// Allowed values of a `select` param; empty for every other type.
    pub(crate) choices: Vec<Choice>,
    /// Form group the param is shown in.
    pub(crate) group: Option<String>,
    /// Whether the form hides the param under "advanced".
    pub(crate) advanced: bool,
    /// Legacy names still accepted on input.
    pub(crate) aliases: Vec<String>,
    /// Regular expression a text value must match; searched, not implicitly anchored:
    /// write `^…$` to constrain the whole value.
    #[serde(serialize_with = "pattern_source")]
    pub(crate) pattern: Option<Regex>,
    /// Smallest allowed integer (integer params only).
    pub(crate) min: Option<i64>,
    /// Largest allowed integer (integer params only).
    pub(crate) max: Option<i64>,
}

/// The value type of a param.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ParamType {
    /// One line of text.
    String,
    /// Text that may span lines.
    Textarea,
    /// One line, write-only: never echoed back, no default.
    Password,
    /// A whole number in `i64`, optionally bounded by `min` and `max`.
    Integer,
    /// `true` or `false` (input also accepts 1/0, yes/no, on/off).
    Boolean,
    /// One of the param's choices.
    Select,
    /// An absolute `http` or `https` URL.
    Url,
    /// Text not shown in the form.
    Hidden,
}

/// One allowed value of a `select` param.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Choice {
    /// The value submitted and stored.
    pub(crate) value: String,
    /// The text shown; the value when the manifest gives none.
    pub(crate) label: String,
}

/// A plugin-specific action the plugin serves through `?get_action=NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ActionDecl {
    /// Action name, lowercase letters, digits and underscores; never a [`RESERVED_ACTIONS`] name.
    pub(crate) name: String,
    /// Who may call it; checked by the host before the plugin runs.
    pub(crate) rights: Rights,
    /// Whether a cookie-authenticated call needs the CSRF token (default true).
    pub(crate) csrf: bool,
    /// The HTTP methods the action answers, in declaration order (default [`DEFAULT_METHODS`]);
    /// the host answers 405 to any other before the plugin is called. `GET` allows `HEAD`.
    pub(crate) methods: Vec<ActionMethod>,
    /// Help text; may be empty.
    pub(crate) description: String,
}

/// The methods of an action whose manifest declares none: state changes need POST (which the
/// CSRF rule covers), so an action must say so to be reachable by a link or a redirect.
pub(crate) const DEFAULT_METHODS: [ActionMethod; 1] = [ActionMethod::Post];

/// An HTTP method an action may declare (manifest spelling: uppercase).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum ActionMethod {
    /// Safe: for actions that change nothing, or a provider's redirect back (`csrf = false`,
    /// protected by its own state). Allows `HEAD` too.
    Get,
    /// Like `GET` without a body.
    Head,
    /// State changes; a cookie call needs the CSRF token unless `csrf = false`.
    Post,
    /// State changes, like `POST`.
    Put,
    /// State changes, like `POST`.
    Patch,
    /// State changes, like `POST`.
    Delete,
}

impl ActionMethod {
    /// Every method a manifest may declare.
    pub(crate) const ALL: [ActionMethod; 6] = [
        ActionMethod::Get,
        ActionMethod::Head,
        ActionMethod::Post,
        ActionMethod::Put,
        ActionMethod::Patch,
        ActionMethod::Delete,
    ];

    /// The manifest (and HTTP) spelling, e.g. `"POST"`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ActionMethod::Get => "GET",
            ActionMethod::Head => "HEAD",
            ActionMethod::Post => "POST",
            ActionMethod::Put => "PUT",
            ActionMethod::Patch => "PATCH",
            ActionMethod::Delete => "DELETE",
        }
    }

    /// The method spelled exactly `text`.
    pub(crate) fn parse(text: &str) -> Option<ActionMethod> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

impl ActionDecl {
    /// Whether the action answers `method` (`HEAD` wherever `GET` is declared).
    pub(crate) fn allows(&self, method: &http::Method) -> bool {
        self.allowed().any(|m| m.as_str() == method.as_str())
    }

    /// The methods the action answers, for the `Allow` header of a 405.
    pub(crate) fn allowed(&self) -> impl Iterator<Item = ActionMethod> + '_ {
        let head = (self.methods.contains(&ActionMethod::Get)
            && !self.methods.contains(&ActionMethod::Head))
        .then_some(ActionMethod::Head);
        self.methods.iter().copied().chain(head)
    }
}

/// Who may call an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Rights {
    /// Anyone, logged in or not.
    Public,
    /// Any logged-in user.
    User,
    /// Users with read access to the workspace.
    Read,
    /// Users with write access to the workspace.
    Write,
    /// Administrators.
    Admin,
}

impl Manifest {
    /// The declared action called `name`.
    #[cfg(test)]
    pub(crate) fn action(&self, name: &str) -> Option<&ActionDecl> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// The param whose name or one of whose aliases is `name_or_alias` (exact match).
    pub(crate) fn param(&self, name_or_alias: &str) -> Option<&Param> {
        let exact = self.params.iter().find(|p| p.name == name_or_alias);
        exact.or_else(|| {
            self.params
                .iter()
                .find(|p| p.aliases.iter().any(|a| a == name_or_alias))
        })
    }
}

impl Param {
    /// Whether the param's values may hold keywords: text of any kind but a password (a
    /// secret is never rewritten by the host).
    pub(crate) fn takes_keywords(&self) -> bool {
        matches!(
            self.kind,
            ParamType::String | ParamType::Textarea | ParamType::Url | ParamType::Hidden
        )
    }
}

impl ParamType {
    /// The manifest spelling, e.g. `"textarea"`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Textarea => "textarea",
            ParamType::Password => "password",
            ParamType::Integer => "integer",
            ParamType::Boolean => "boolean",
            ParamType::Select => "select",
            ParamType::Url => "url",
            ParamType::Hidden => "hidden",
        }
    }

    /// Whether values are free text (the types a `pattern` applies to).
    pub(crate) fn is_text(self) -> bool {
        !matches!(
            self,
            ParamType::Integer | ParamType::Boolean | ParamType::Select
        )
    }
}

impl std::fmt::Display for ParamType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Rights {
    /// The manifest spelling, e.g. `"admin"`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Rights::Public => "public",
            Rights::User => "user",
            Rights::Read => "read",
            Rights::Write => "write",
            Rights::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Rights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn pattern_source<S: Serializer>(pattern: &Option<Regex>, s: S) -> Result<S::Ok, S::Error> {
    match pattern {
        Some(re) => s.serialize_some(re.as_str()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::samples::{parse_ok, ACCESS_FS, DROPBOX_SKETCH};
    use super::*;
    use serde_json::json;

    #[test]
    fn access_fs_serializes_with_type_keys_and_pattern_source() {
        let json = serde_json::to_value(parse_ok(ACCESS_FS)).unwrap();
        assert_eq!(json["id"], "access.fs");
        assert_eq!(json["type"], "access");
        assert!(json.get("kind").is_none() && json.get("source").is_none());
        assert_eq!(json["params"][0]["type"], "string");
        assert_eq!(json["params"][0]["pattern"], "^/");
        assert_eq!(json["params"][1]["type"], "boolean");
        assert_eq!(json["params"][1]["default"], "false");
        assert_eq!(json["params"][1]["pattern"], json!(null));
    }

    #[test]
    fn dropbox_action_serializes_rights_lowercase() {
        let json = serde_json::to_value(parse_ok(DROPBOX_SKETCH)).unwrap();
        assert_eq!(
            json["actions"][0],
            json!({"name": "dropbox_oauth_authorize", "rights": "user", "csrf": false, "methods": ["GET"], "description": ""})
        );
    }

    #[test]
    fn lookups_by_name_alias_and_action() {
        let m = parse_ok(DROPBOX_SKETCH);
        let cases = [
            ("CLIENT_ID", Some("CLIENT_ID")),
            ("APP_KEY", Some("CLIENT_ID")),
            ("REDIRECT_URL", Some("REDIRECT_URL")),
            ("client_id", None),
            ("NOPE", None),
        ];
        for (key, expected) in cases {
            assert_eq!(
                m.param(key).map(|p| p.name.as_str()),
                expected,
                "param({key})"
            );
        }
        assert_eq!(
            m.action("dropbox_oauth_authorize").map(|a| a.rights),
            Some(Rights::User)
        );
        assert!(m.action("ls").is_none());
    }
}
