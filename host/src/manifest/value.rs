//! The rules for one param value: type, range, choices, pattern. Shared by manifest parsing
//! (a default must pass them) and by server-side validation of submitted values.
//!
//! Normalized forms: integers in plain decimal (`+007` → `7`), booleans `true`/`false`, URLs
//! and integers and booleans trimmed of surrounding whitespace; text types as given.

use super::model::{Param, ParamType};

const BOOLEAN_FORMS: &str = "true/false, yes/no, on/off or 1/0";

/// The normalized value, or what was expected. The message never repeats the value (it may be
/// a secret).
pub(crate) fn normalize(param: &Param, value: &str) -> Result<String, String> {
    if value.contains('\0') {
        return Err("expected text without NUL characters".to_owned());
    }
    let single_line = matches!(
        param.kind,
        ParamType::String | ParamType::Password | ParamType::Url
    );
    if single_line && value.contains(['\n', '\r']) {
        return Err(format!(
            "expected a single line ({} values may not contain line breaks)",
            param.kind
        ));
    }
    let normalized = match param.kind {
        ParamType::Integer => integer(param, value.trim())?,
        ParamType::Boolean => boolean(value.trim())?,
        ParamType::Select => select(param, value)?,
        ParamType::Url => url(value.trim())?,
        ParamType::String | ParamType::Textarea | ParamType::Password | ParamType::Hidden => {
            value.to_owned()
        }
    };
    match &param.pattern {
        Some(re) if !re.is_match(&normalized) => Err(format!(
            "expected a value matching the pattern `{}`",
            re.as_str()
        )),
        _ => Ok(normalized),
    }
}

fn integer(param: &Param, value: &str) -> Result<String, String> {
    let expected = match (param.min, param.max) {
        (Some(min), Some(max)) => format!("expected an integer from {min} to {max}"),
        (Some(min), None) => format!("expected an integer of at least {min}"),
        (None, Some(max)) => format!("expected an integer of at most {max}"),
        (None, None) => "expected an integer".to_owned(),
    };
    let n: i64 = value.parse().map_err(|_| expected.clone())?;
    let in_range = param.min.is_none_or(|min| n >= min) && param.max.is_none_or(|max| n <= max);
    if in_range {
        Ok(n.to_string())
    } else {
        Err(expected)
    }
}

fn boolean(value: &str) -> Result<String, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok("true".to_owned()),
        "false" | "0" | "no" | "off" => Ok("false".to_owned()),
        _ => Err(format!("expected a boolean: {BOOLEAN_FORMS}")),
    }
}

fn select(param: &Param, value: &str) -> Result<String, String> {
    if param.choices.iter().any(|c| c.value == value) {
        return Ok(value.to_owned());
    }
    let values: Vec<&str> = param.choices.iter().map(|c| c.value.as_str()).collect();
    Err(format!("expected one of: {}", values.join(", ")))
}

fn url(value: &str) -> Result<String, String> {
    const EXPECTED: &str = "expected an absolute http or https URL";
    let parsed = url::Url::parse(value).map_err(|e| format!("{EXPECTED} ({e})"))?;
    match parsed.scheme() {
        "http" | "https" => Ok(value.to_owned()),
        _ => Err(EXPECTED.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::Choice;
    use super::*;

    fn param(kind: ParamType) -> Param {
        Param {
            name: "P".into(),
            kind,
            label: "P".into(),
            description: String::new(),
            mandatory: false,
            default: None,
            choices: vec![],
            group: None,
            advanced: false,
            aliases: vec![],
            pattern: None,
            min: None,
            max: None,
        }
    }

    /// `Ok(normalized)` or `Err(substring of the message)`.
    fn check(param: &Param, cases: &[(&str, Result<&str, &str>)]) {
        for (input, expected) in cases {
            let got = normalize(param, input);
            match (expected, &got) {
                (Ok(want), Ok(got)) => assert_eq!(got, want, "{} {input:?}", param.kind),
                (Err(want), Err(got)) => {
                    assert!(got.contains(want), "{} {input:?}: {got}", param.kind)
                }
                _ => panic!(
                    "{} {input:?}: expected {expected:?}, got {got:?}",
                    param.kind
                ),
            }
        }
    }

    #[test]
    fn integer_parses_i64_within_min_and_max() {
        let bounded = Param {
            min: Some(1),
            max: Some(10),
            ..param(ParamType::Integer)
        };
        check(
            &bounded,
            &[
                ("1", Ok("1")),
                ("10", Ok("10")),
                (" +007 ", Ok("7")),
                ("0", Err("from 1 to 10")),
                ("11", Err("from 1 to 10")),
                ("x", Err("from 1 to 10")),
                ("1.5", Err("integer")),
                ("99999999999999999999", Err("integer")),
            ],
        );
        check(
            &Param {
                min: Some(0),
                ..param(ParamType::Integer)
            },
            &[("-1", Err("at least 0"))],
        );
        check(
            &Param {
                max: Some(0),
                ..param(ParamType::Integer)
            },
            &[("1", Err("at most 0"))],
        );
        check(
            &param(ParamType::Integer),
            &[
                ("-9223372036854775808", Ok("-9223372036854775808")),
                ("", Err("expected an integer")),
            ],
        );
    }

    #[test]
    fn boolean_accepts_common_forms_case_insensitively() {
        let cases = [
            ("true", Ok("true")),
            ("TRUE", Ok("true")),
            ("1", Ok("true")),
            ("yes", Ok("true")),
            ("On", Ok("true")),
            (" on ", Ok("true")),
            ("false", Ok("false")),
            ("False", Ok("false")),
            ("0", Ok("false")),
            ("NO", Ok("false")),
            ("off", Ok("false")),
            ("2", Err("true/false, yes/no, on/off or 1/0")),
            ("y", Err("boolean")),
        ];
        check(&param(ParamType::Boolean), &cases);
    }

    #[test]
    fn select_value_must_be_a_choice_value() {
        let choices = ["r", "rw"]
            .map(|v| Choice {
                value: v.into(),
                label: v.to_uppercase(),
            })
            .to_vec();
        let select = Param {
            choices,
            ..param(ParamType::Select)
        };
        check(
            &select,
            &[
                ("r", Ok("r")),
                ("rw", Ok("rw")),
                ("R", Err("one of: r, rw")),
                (" r", Err("one of: r, rw")),
            ],
        );
    }

    #[test]
    fn url_must_be_absolute_http_or_https_on_one_line() {
        check(
            &param(ParamType::Url),
            &[
                (
                    "https://ws.example/index.php?get_action=x",
                    Ok("https://ws.example/index.php?get_action=x"),
                ),
                (" http://localhost:8080 ", Ok("http://localhost:8080")),
                ("ftp://ws.example/", Err("http or https")),
                ("/relative", Err("absolute")),
                ("not a url", Err("absolute")),
                ("https://a.example/\nx", Err("single line")),
            ],
        );
    }

    #[test]
    fn text_types_take_any_text_but_nul_and_single_line_types_no_line_breaks() {
        for kind in [ParamType::String, ParamType::Password] {
            check(
                &param(kind),
                &[
                    (" as is ", Ok(" as is ")),
                    ("a\nb", Err("single line")),
                    ("a\rb", Err("single line")),
                    ("a\0b", Err("NUL")),
                ],
            );
        }
        for kind in [ParamType::Textarea, ParamType::Hidden] {
            check(
                &param(kind),
                &[("a\nb\r\n", Ok("a\nb\r\n")), ("a\0b", Err("NUL"))],
            );
        }
    }

    #[test]
    fn pattern_is_searched_in_the_normalized_value() {
        let root = Param {
            pattern: Some(regex::Regex::new("^/").unwrap()),
            ..param(ParamType::String)
        };
        check(
            &root,
            &[
                ("/srv/data", Ok("/srv/data")),
                ("srv", Err("pattern `^/`")),
                ("a/b", Err("pattern")),
            ],
        );
        let code = Param {
            pattern: Some(regex::Regex::new("^[A-Z]{3}$").unwrap()),
            ..param(ParamType::Url)
        };
        check(&code, &[("https://x.example", Err("pattern `^[A-Z]{3}$`"))]);
    }

    #[test]
    fn messages_never_repeat_the_value() {
        let secret = "hunter2\nsecret";
        for kind in [
            ParamType::Password,
            ParamType::Integer,
            ParamType::Url,
            ParamType::Select,
            ParamType::Boolean,
        ] {
            let message = normalize(&param(kind), secret).unwrap_err();
            assert!(!message.contains("hunter2"), "{kind}: {message}");
        }
    }
}
