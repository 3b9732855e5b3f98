//! The workspace form generated from a driver's manifest: one field per param, grouped into
//! fieldsets by `group`, advanced params folded away, defaults as written (keywords such as
//! `{public_url}` kept, so that a value left at its default follows the deployment), passwords
//! write-only, and the server's field errors placed next to their fields.
//!
//! Param inputs are named `p.NAME`. A boolean is a hidden `false` followed by a checkbox
//! `true`, so an unchecked box is submitted too (the last value wins).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::manifest::{expand_keywords, FieldError, Manifest, Param, ParamType, Scope};

/// The prefix of param inputs.
const PREFIX: &str = "p.";

/// What the form shows besides the manifest: values, errors, which secrets are stored.
#[derive(Default)]
pub(super) struct FormData {
    /// Values by canonical param name (typed, stored or default).
    pub(super) values: BTreeMap<String, String>,
    /// One message per field: a param name, `id` or `label`.
    pub(super) errors: BTreeMap<String, String>,
    /// Errors that belong to no field.
    pub(super) general: Vec<String>,
    /// Password params that have a stored value.
    pub(super) secrets_set: BTreeSet<String>,
}

impl FormData {
    /// A new form: every param at its default.
    pub(super) fn defaults(m: &Manifest) -> FormData {
        let values = m
            .params
            .iter()
            .filter_map(|p| Some((p.name.clone(), p.default.clone()?)))
            .collect();
        FormData {
            values,
            ..FormData::default()
        }
    }

    /// Places the server's field errors: each on its param (found by name or alias), on
    /// `id`/`label` (or a template's `max_per_user`), or among the general errors.
    pub(super) fn place_errors(&mut self, m: &Manifest, errors: Vec<FieldError>) {
        for e in errors {
            let key = match m.param(&e.field) {
                Some(p) => p.name.clone(),
                None if ["id", "label", "max_per_user"].contains(&e.field.as_str()) => {
                    e.field.clone()
                }
                None => {
                    self.general.push(format!("{}: {}", e.field, e.message));
                    continue;
                }
            };
            self.errors
                .entry(key)
                .and_modify(|m| {
                    m.push_str("; ");
                    m.push_str(&e.message);
                })
                .or_insert(e.message);
        }
    }
}

/// The submitted params (`p.NAME` inputs), last value winning; password inputs left empty
/// are left out (on edit, the stored value is kept).
pub(super) fn submitted_params(
    m: &Manifest,
    pairs: &[(String, String)],
) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    for (key, value) in pairs {
        if let Some(name) = key.strip_prefix(PREFIX) {
            params.insert(name.to_owned(), value.clone());
        }
    }
    params.retain(|name, value| {
        let password = m.param(name).is_some_and(|p| p.kind == ParamType::Password);
        !(password && value.is_empty())
    });
    params
}

/// Whether a param is a redirect URL to register at an OAuth provider.
fn is_redirect_url(p: &Param) -> bool {
    p.kind == ParamType::Url
        && (p.name == "REDIRECT_URL"
            || p.default
                .as_deref()
                .is_some_and(|d| d.contains("{public_url}")))
}

/// The template context of the param fields: groups in order of first appearance (params
/// without a group first), each with its plain and its advanced fields.
pub(super) fn groups(m: &Manifest, scope: &Scope, data: &FormData) -> Value {
    let mut order: Vec<Option<&str>> = vec![None];
    for p in &m.params {
        if !order.contains(&p.group.as_deref()) {
            order.push(p.group.as_deref());
        }
    }
    let groups: Vec<Value> = order
        .into_iter()
        .filter_map(|g| {
            let in_group: Vec<&Param> = m
                .params
                .iter()
                .filter(|p| p.group.as_deref() == g)
                .collect();
            if in_group.is_empty() {
                return None;
            }
            let (advanced, plain): (Vec<&Param>, Vec<&Param>) =
                in_group.into_iter().partition(|p| p.advanced);
            let render = |ps: Vec<&Param>| -> Vec<Value> {
                ps.into_iter().map(|p| field(p, scope, data)).collect()
            };
            Some(json!({
                "name": g,
                "fields": render(plain),
                "advanced": render(advanced),
            }))
        })
        .collect();
    Value::Array(groups)
}

fn field(p: &Param, scope: &Scope, data: &FormData) -> Value {
    let public_url = scope.public_url.trim_end_matches('/');
    let value = data.values.get(&p.name).cloned().unwrap_or_default();
    let input = match p.kind {
        ParamType::String => "text",
        ParamType::Textarea => "textarea",
        ParamType::Password => "password",
        ParamType::Integer => "number",
        ParamType::Boolean => "checkbox",
        ParamType::Select => "select",
        ParamType::Url => "url",
        ParamType::Hidden => "hidden",
    };
    let choices: Vec<Value> = p
        .choices
        .iter()
        .map(|c| json!({ "value": c.value, "label": c.label, "selected": c.value == value }))
        .collect();
    // The URL to register: the value (or default) as this deployment expands it.
    let register = is_redirect_url(p).then(|| {
        let shown = Some(value.as_str())
            .filter(|v| !v.is_empty())
            .or(p.default.as_deref());
        shown
            .and_then(|v| expand_keywords(v, scope).ok())
            .unwrap_or_else(|| format!("{public_url}/"))
    });
    json!({
        "name": p.name,
        "input_name": format!("{PREFIX}{}", p.name),
        "input": input,
        "label": p.label,
        "description": p.description,
        "mandatory": p.mandatory,
        // Passwords are write-only: never rendered back, whatever was typed or stored.
        "value": if p.kind == ParamType::Password { String::new() } else { value.clone() },
        "checked": p.kind == ParamType::Boolean && value == "true",
        "choices": choices,
        "min": p.min,
        "max": p.max,
        "pattern": p.pattern.as_ref().map(|r| r.as_str()),
        "error": data.errors.get(&p.name),
        "secret_set": data.secrets_set.contains(&p.name),
        "keywords": p.takes_keywords(),
        "redirect_mismatch": register.as_deref().is_some_and(|r| !r.starts_with(public_url)),
        "register_url": register,
        "public_url": public_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(text: &str) -> Manifest {
        crate::manifest::parse(text, std::path::Path::new("t.toml")).expect("manifest parses")
    }

    const SAMPLE: &str = r#"
id = "access.sample"
type = "access"
label = "Sample"
library = "access_sample"

[[params]]
name = "CLIENT_ID"
type = "string"
mandatory = true
aliases = ["APP_KEY"]
group = "App"

[[params]]
name = "SECRET"
type = "password"
group = "App"

[[params]]
name = "REDIRECT_URL"
type = "url"
default = "{public_url}/index.php?get_action=x"
group = "App"
advanced = true

[[params]]
name = "FAST"
type = "boolean"
default = "true"
"#;

    #[test]
    fn fields_are_grouped_defaulted_and_secrets_write_only() {
        let m = manifest(SAMPLE);
        let mut data = FormData::defaults(&m);
        data.values.insert("SECRET".into(), "hunter2".into());
        data.secrets_set.insert("SECRET".into());
        data.place_errors(
            &m,
            vec![
                FieldError::new("APP_KEY", "required"),
                FieldError::new("NOPE", "unknown parameter"),
            ],
        );
        let scope = Scope {
            user: None,
            data_dir: std::path::Path::new("/srv"),
            public_url: "https://h.example/",
        };
        let g = groups(&m, &scope, &data);
        assert_eq!(g[0]["name"], Value::Null);
        assert_eq!(g[0]["fields"][0]["name"], "FAST");
        assert_eq!(g[0]["fields"][0]["checked"], true);
        assert_eq!(g[1]["name"], "App");
        let client = &g[1]["fields"][0];
        assert_eq!(client["error"], "required");
        assert_eq!(client["mandatory"], true);
        let secret = &g[1]["fields"][1];
        assert_eq!(secret["value"], "", "passwords are never rendered back");
        assert_eq!(secret["secret_set"], true);
        let redirect = &g[1]["advanced"][0];
        assert_eq!(
            redirect["register_url"],
            "https://h.example/index.php?get_action=x"
        );
        assert_eq!(
            redirect["value"], "{public_url}/index.php?get_action=x",
            "a default is shown as written, so that it stays the default"
        );
        assert_eq!(redirect["redirect_mismatch"], false);
        assert_eq!(data.general, ["NOPE: unknown parameter"]);
    }

    #[test]
    fn submitted_params_take_the_last_value_and_skip_empty_passwords() {
        let m = manifest(SAMPLE);
        let pairs: Vec<(String, String)> = [
            ("p.FAST", "false"),
            ("p.FAST", "true"),
            ("p.SECRET", ""),
            ("p.CLIENT_ID", "abc"),
            ("label", "x"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let p = submitted_params(&m, &pairs);
        assert_eq!(p.get("FAST").map(String::as_str), Some("true"));
        assert!(!p.contains_key("SECRET"));
        assert_eq!(p.len(), 2);
    }
}
