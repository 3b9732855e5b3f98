//! [`Manifest::validate`]: server-side validation of the params submitted for a workspace.
//!
//! Rules, in order, for each declared param: its value may come under its name or one alias
//! (a second spelling is an error on the later key); a missing or blank value takes the
//! default, else is "required" if the param is mandatory, else is left out; a present value
//! must pass the param's type, range, choices and pattern (`value`). A value (or default)
//! holding keywords (`keywords`) must pass them once expanded for the deployment, `{user}` as
//! a sample user, and is kept as written: [`Manifest::expand`] expands it for each caller.
//! Keys that are neither a name nor an alias are errors after the declared params'.
//! Every error is collected; none stops the others.

use std::collections::BTreeMap;
use std::iter;

use super::error::FieldError;
use super::keywords::{self, Scope, SAMPLE_USER};
use super::model::{Manifest, Param};
use super::value::normalize;

impl Manifest {
    /// Server-side validation of submitted workspace params.
    ///
    /// Returns canonical param names mapped to normalized values, or every field error:
    /// declared params' first (in declaration order), then unknown keys (sorted).
    pub(crate) fn validate(
        &self,
        input: &BTreeMap<String, String>,
        scope: &Scope,
    ) -> Result<BTreeMap<String, String>, Vec<FieldError>> {
        let sample = scope.for_user(scope.user.or(Some(SAMPLE_USER)));
        let mut values = BTreeMap::new();
        let mut errors = Vec::new();
        for param in &self.params {
            let mut spellings = iter::once(&param.name)
                .chain(&param.aliases)
                .filter_map(|key| input.get_key_value(key.as_str()));
            let first = spellings.next();
            if let Some((key, _)) = first {
                for (again, _) in spellings {
                    let msg = format!(
                        "`{again}` is another name for `{}`, already given as `{key}`; \
                         expected only one of them",
                        param.name
                    );
                    errors.push(FieldError::new(again, msg));
                }
            }
            match self.value_of(param, first, &sample) {
                Ok(Some(value)) => {
                    values.insert(param.name.clone(), value);
                }
                Ok(None) => {}
                Err(error) => errors.push(error),
            }
        }
        for key in input.keys().filter(|key| self.param(key).is_none()) {
            let names: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
            let msg = match names.is_empty() {
                true => format!("unknown parameter: {} takes no parameters", self.id),
                false => format!(
                    "unknown parameter for {}; expected one of: {}",
                    self.id,
                    names.join(", ")
                ),
            };
            errors.push(FieldError::new(key, msg));
        }
        if errors.is_empty() {
            Ok(values)
        } else {
            Err(errors)
        }
    }

    /// The normalized value of `param` from its first submitted spelling `given`: the value if
    /// not blank, else the default, else nothing (or "required").
    fn value_of(
        &self,
        param: &Param,
        given: Option<(&String, &String)>,
        scope: &Scope,
    ) -> Result<Option<String>, FieldError> {
        match given {
            Some((key, value)) if !value.trim().is_empty() => checked(param, value, scope)
                .map(Some)
                .map_err(|msg| FieldError::new(key, msg)),
            given => match &param.default {
                Some(default) => checked(param, default, scope).map(Some).map_err(|msg| {
                    let msg = format!("the default value is invalid for this deployment: {msg}");
                    FieldError::new(&param.name, msg)
                }),
                None if param.mandatory => {
                    let field = given.map_or(&param.name, |(key, _)| key);
                    Err(FieldError::new(field, "required"))
                }
                None => Ok(None),
            },
        }
    }

    /// `params` (validated) with their keywords expanded for `scope`'s caller: what the
    /// driver is opened with. Fails, naming the field, where a value cannot be expanded for
    /// this caller (`{user}` with none) or no longer passes its param once expanded.
    pub(crate) fn expand(
        &self,
        params: &BTreeMap<String, String>,
        scope: &Scope,
    ) -> Result<BTreeMap<String, String>, FieldError> {
        let mut expanded = params.clone();
        for (name, value) in expanded.iter_mut() {
            let Some(param) = self.param(name).filter(|p| p.takes_keywords()) else {
                continue;
            };
            if keywords::has_keywords(value) {
                *value = keywords::expand(value, scope)
                    .and_then(|text| normalize(param, &text))
                    .map_err(|msg| FieldError::new(name, msg))?;
            }
        }
        Ok(expanded)
    }

    /// A warning for each param whose manifest default is on the public URL (an OAuth
    /// redirect URL) but whose value, expanded for `scope`, is not: the provider would send
    /// users to another host, often one a change of `public_url` left behind.
    pub(crate) fn public_url_drift(
        &self,
        params: &BTreeMap<String, String>,
        scope: &Scope,
    ) -> Vec<String> {
        let base = scope.public_url.trim_end_matches('/');
        self.params
            .iter()
            .filter(|p| {
                p.default
                    .as_deref()
                    .is_some_and(|d| d.starts_with("{public_url}"))
            })
            .filter_map(|p| {
                let value = keywords::expand(params.get(&p.name)?, scope).ok()?;
                let on_it = value == base || value.starts_with(&format!("{base}/"));
                (!on_it).then(|| {
                    format!(
                        "{} is {value}, not on this deployment's public URL {base}: the \
                         provider would send users elsewhere (leave it empty to follow \
                         public_url)",
                        p.name
                    )
                })
            })
            .collect()
    }

    /// Whether `params` (validated) differ per user: one holds `{user}`.
    pub(crate) fn per_user(&self, params: &BTreeMap<String, String>) -> bool {
        params.iter().any(|(name, value)| {
            self.param(name).is_some_and(|p| p.takes_keywords()) && keywords::uses_user(value)
        })
    }
}

/// `value` normalized, or, when it holds keywords, as written once its expansion for `scope`
/// passes the param.
fn checked(param: &Param, value: &str, scope: &Scope) -> Result<String, String> {
    if param.takes_keywords() && keywords::has_keywords(value) {
        let expanded = keywords::expand(value, scope)?;
        normalize(param, &expanded)?;
        Ok(value.to_owned())
    } else {
        normalize(param, value)
    }
}

#[cfg(test)]
mod tests {
    use super::super::samples::{parse_ok, ACCESS_FS, DROPBOX_SKETCH, EVERY_TYPE};
    use super::*;

    const PUBLIC_URL: &str = "https://ws.example";

    fn deployment() -> Scope<'static> {
        Scope {
            user: None,
            data_dir: std::path::Path::new("/srv/wshost"),
            public_url: PUBLIC_URL,
        }
    }

    /// Submitted (key, value) pairs, or expected (field, part of message) pairs.
    type Pairs<'a> = &'a [(&'a str, &'a str)];

    fn validate(manifest: &str, input: Pairs) -> Result<BTreeMap<String, String>, Vec<FieldError>> {
        let input = input
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse_ok(manifest).validate(&input, &deployment())
    }

    /// Each case: submitted pairs, then the expected value of one output key (None: left out).
    fn accepted(manifest: &str, cases: &[(Pairs, &str, Option<&str>)]) {
        for (input, key, expected) in cases {
            let values =
                validate(manifest, input).unwrap_or_else(|e| panic!("{input:?} refused: {e:?}"));
            assert_eq!(
                values.get(*key).map(String::as_str),
                *expected,
                "{input:?} -> {key}"
            );
        }
    }

    /// Each case: submitted pairs, then every expected (field, part of message), in order.
    fn rejected(manifest: &str, cases: &[(Pairs, Pairs)]) {
        for (input, expected) in cases {
            let errors = validate(manifest, input).expect_err(&format!("{input:?} accepted"));
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            let wanted: Vec<&str> = expected.iter().map(|(f, _)| *f).collect();
            assert_eq!(fields, wanted, "{input:?}: {errors:?}");
            for (error, (_, message)) in errors.iter().zip(expected.iter()) {
                assert!(
                    error.message.contains(message),
                    "{input:?}: `{}` lacks `{message}`",
                    error.message
                );
            }
        }
    }

    #[test]
    fn access_fs_sample() {
        accepted(
            ACCESS_FS,
            &[
                (&[("ROOT", "/srv/data")], "ROOT", Some("/srv/data")),
                (&[("ROOT", "/srv/data")], "CREATE", Some("false")),
                (
                    &[("ROOT", "/srv"), ("CREATE", "on")],
                    "CREATE",
                    Some("true"),
                ),
            ],
        );
        rejected(
            ACCESS_FS,
            &[
                (&[], &[("ROOT", "required")]),
                (&[("ROOT", "srv")], &[("ROOT", "matching the pattern `^/`")]),
                (
                    &[("ROOT", "/srv"), ("CREATE", "sometimes")],
                    &[("CREATE", "expected a boolean")],
                ),
            ],
        );
    }

    #[test]
    fn aliases_map_to_the_canonical_name() {
        accepted(
            EVERY_TYPE,
            &[
                (&[("LEGACY_NAME", "n")], "NAME", Some("n")),
                (&[("OLD_NAME", "n")], "NAME", Some("n")),
                (&[("LEGACY_NAME", "n")], "LEGACY_NAME", None),
            ],
        );
        rejected(
            EVERY_TYPE,
            &[
                (
                    &[("NAME", "a"), ("OLD_NAME", "b")],
                    &[(
                        "OLD_NAME",
                        "another name for `NAME`, already given as `NAME`",
                    )],
                ),
                (
                    &[("LEGACY_NAME", "a"), ("OLD_NAME", "b")],
                    &[("OLD_NAME", "already given as `LEGACY_NAME`")],
                ),
                (&[("OLD_NAME", "a\nb")], &[("OLD_NAME", "single line")]),
            ],
        );
    }

    #[test]
    fn defaults_fill_missing_or_blank_values_and_keep_their_keywords() {
        let redirect = "{public_url}/index.php?get_action=dropbox_oauth_authorize";
        accepted(
            DROPBOX_SKETCH,
            &[
                (&[("CLIENT_ID", "k")], "REDIRECT_URL", Some(redirect)),
                (
                    &[("APP_KEY", "k"), ("REDIRECT_URL", " ")],
                    "REDIRECT_URL",
                    Some(redirect),
                ),
                (
                    &[
                        ("CLIENT_ID", "k"),
                        ("REDIRECT_URL", "https://other.example/cb"),
                    ],
                    "REDIRECT_URL",
                    Some("https://other.example/cb"),
                ),
            ],
        );
        accepted(
            EVERY_TYPE,
            &[
                (&[("NAME", "n")], "COUNT", Some("5")),
                (&[("NAME", "n"), ("COUNT", "")], "COUNT", Some("5")),
                (&[("NAME", "n")], "FLAG", Some("true")),
                (&[("NAME", "n")], "MODE", Some("r")),
                (&[("NAME", "n")], "ENDPOINT", Some("{public_url}/hook")),
            ],
        );
    }

    #[test]
    fn keywords_are_checked_at_validation_and_expanded_per_caller() {
        let m = parse_ok(ACCESS_FS);
        let input = [(
            "ROOT".to_owned(),
            "AJXP_DATA_PATH/personal/{user}".to_owned(),
        )]
        .into();
        let values = m
            .validate(&input, &deployment())
            .expect("valid with a sample user");
        assert_eq!(
            values["ROOT"], "AJXP_DATA_PATH/personal/{user}",
            "kept as written"
        );
        assert!(m.per_user(&values));
        let alice = m
            .expand(&values, &deployment().for_user(Some("alice")))
            .unwrap();
        assert_eq!(alice["ROOT"], "/srv/wshost/personal/alice");
        assert_eq!(
            alice["CREATE"], "false",
            "values without keywords unchanged"
        );
        let err = m.expand(&values, &deployment()).unwrap_err();
        assert_eq!(err.field, "ROOT");
        assert!(err.message.contains("needs a signed-in user"), "{err:?}");

        let shared = [("ROOT".to_owned(), "{data_dir}/files".to_owned())].into();
        let values = m.validate(&shared, &deployment()).unwrap();
        assert!(!m.per_user(&values));
        assert_eq!(
            m.expand(&values, &deployment()).unwrap()["ROOT"],
            "/srv/wshost/files"
        );

        let d = parse_ok(DROPBOX_SKETCH);
        let values = d
            .validate(&[("CLIENT_ID".into(), "k".into())].into(), &deployment())
            .unwrap();
        let url = Scope {
            public_url: "https://ws.example/",
            ..deployment()
        };
        assert_eq!(
            d.expand(&values, &url).unwrap()["REDIRECT_URL"],
            "https://ws.example/index.php?get_action=dropbox_oauth_authorize",
            "the public URL's trailing slash is dropped"
        );
        rejected(
            ACCESS_FS,
            &[
                (
                    &[("ROOT", "/srv/{home}")],
                    &[("ROOT", "unknown keyword {home}; expected one of")],
                ),
                (
                    &[("ROOT", "AJXP_SERVER_PATH/x")],
                    &[("ROOT", "unknown keyword AJXP_SERVER_PATH")],
                ),
                (
                    &[("ROOT", "{public_url}/x")],
                    &[("ROOT", "matching the pattern `^/`")],
                ),
            ],
        );
        // A password is never rewritten: braces in a secret are the secret's.
        accepted(
            EVERY_TYPE,
            &[(
                &[("NAME", "n"), ("SECRET", "{user}")],
                "SECRET",
                Some("{user}"),
            )],
        );
    }

    #[test]
    fn a_redirect_url_off_the_public_url_is_flagged() {
        let d = parse_ok(DROPBOX_SKETCH);
        let drift = |redirect: &str| {
            let input = [
                ("CLIENT_ID".to_owned(), "k".to_owned()),
                ("REDIRECT_URL".to_owned(), redirect.to_owned()),
            ];
            let values = d.validate(&input.into(), &deployment()).unwrap();
            d.public_url_drift(&values, &deployment())
        };
        assert_eq!(drift(""), Vec::<String>::new(), "the default follows");
        assert!(drift("https://ws.example/index.php?x").is_empty());
        let found = drift("http://127.0.0.1:8080/index.php?get_action=dropbox_oauth_authorize");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("REDIRECT_URL is http://127.0.0.1:8080/"),
            "{found:?}"
        );
        assert!(
            found[0].contains("public URL https://ws.example"),
            "{found:?}"
        );
        assert_eq!(
            drift("https://ws.example.evil/cb").len(),
            1,
            "a prefix is not the origin"
        );
    }

    #[test]
    fn missing_optional_values_without_default_are_left_out() {
        accepted(
            EVERY_TYPE,
            &[
                (&[("NAME", "n")], "NOTES", None),
                (&[("NAME", "n"), ("NOTES", "")], "NOTES", None),
                (&[("NAME", "n"), ("SECRET", "")], "SECRET", None),
                (&[("NAME", "n")], "TOKEN", None),
            ],
        );
        rejected(
            EVERY_TYPE,
            &[
                (&[], &[("NAME", "required")]),
                (&[("NAME", "  ")], &[("NAME", "required")]),
                (&[("OLD_NAME", "")], &[("OLD_NAME", "required")]),
            ],
        );
    }

    #[test]
    fn values_are_checked_and_normalized_per_type() {
        let n = ("NAME", "n");
        accepted(
            EVERY_TYPE,
            &[
                (&[n, ("COUNT", " 010 ")], "COUNT", Some("10")),
                (&[n, ("FLAG", "OFF")], "FLAG", Some("false")),
                (&[n, ("FLAG", "1")], "FLAG", Some("true")),
                (&[n, ("MODE", "rw")], "MODE", Some("rw")),
                (&[n, ("LEVEL", "high")], "LEVEL", Some("high")),
                (
                    &[n, ("ENDPOINT", "http://api.example:8080/x")],
                    "ENDPOINT",
                    Some("http://api.example:8080/x"),
                ),
                (&[n, ("CODE", "ABC")], "CODE", Some("ABC")),
                (
                    &[n, ("NOTES", "line 1\nline 2")],
                    "NOTES",
                    Some("line 1\nline 2"),
                ),
                (&[n, ("SECRET", " s3cret ")], "SECRET", Some(" s3cret ")),
            ],
        );
        rejected(
            EVERY_TYPE,
            &[
                (
                    &[n, ("COUNT", "0")],
                    &[("COUNT", "expected an integer from 1 to 10")],
                ),
                (&[n, ("COUNT", "11")], &[("COUNT", "from 1 to 10")]),
                (&[n, ("COUNT", "five")], &[("COUNT", "expected an integer")]),
                (
                    &[n, ("FLAG", "si")],
                    &[("FLAG", "true/false, yes/no, on/off or 1/0")],
                ),
                (&[n, ("MODE", "w")], &[("MODE", "expected one of: r, rw")]),
                (
                    &[n, ("LEVEL", "Low")],
                    &[("LEVEL", "expected one of: low, high")],
                ),
                (
                    &[n, ("ENDPOINT", "mailto:a@b.example")],
                    &[("ENDPOINT", "http or https")],
                ),
                (&[n, ("ENDPOINT", "/relative")], &[("ENDPOINT", "absolute")]),
                (
                    &[n, ("CODE", "ABCD")],
                    &[("CODE", "matching the pattern `^[A-Z]{3}$`")],
                ),
                (&[n, ("SECRET", "a\nb")], &[("SECRET", "single line")]),
                (&[n, ("TOKEN", "a\0b")], &[("TOKEN", "NUL")]),
            ],
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        rejected(
            ACCESS_FS,
            &[
                (
                    &[("ROOT", "/srv"), ("ROOT_DIR", "/srv")],
                    &[(
                        "ROOT_DIR",
                        "unknown parameter for access.fs; expected one of: ROOT, CREATE",
                    )],
                ),
                (
                    &[("ROOT", "/srv"), ("root", "/srv")],
                    &[("root", "unknown parameter")],
                ),
            ],
        );
        let no_params = "id = \"meta.x\"\ntype = \"meta\"\nlabel = \"X\"\nlibrary = \"meta_x\"\n";
        rejected(
            no_params,
            &[(
                &[("A", "1")],
                &[("A", "unknown parameter: meta.x takes no parameters")],
            )],
        );
    }

    #[test]
    fn all_errors_are_reported_in_declaration_order_then_unknown_keys() {
        rejected(
            EVERY_TYPE,
            &[(
                &[
                    ("ZZZ", "1"),
                    ("CODE", "abc"),
                    ("COUNT", "99"),
                    ("AAA", "1"),
                    ("MODE", "x"),
                    ("FLAG", "?"),
                ],
                &[
                    ("NAME", "required"),
                    ("COUNT", "from 1 to 10"),
                    ("FLAG", "boolean"),
                    ("MODE", "one of"),
                    ("CODE", "pattern"),
                    ("AAA", "unknown parameter"),
                    ("ZZZ", "unknown parameter"),
                ],
            )],
        );
    }

    #[test]
    fn a_default_that_fails_with_the_real_public_url_is_reported() {
        let manifest = "id = \"meta.x\"\ntype = \"meta\"\nlabel = \"X\"\nlibrary = \"meta_x\"\n\
            [[params]]\nname = \"CB\"\ntype = \"url\"\npattern = \"^http://\"\ndefault = \"{public_url}/cb\"\n";
        rejected(
            manifest,
            &[(
                &[],
                &[(
                    "CB",
                    "the default value is invalid for this deployment: expected a value matching",
                )],
            )],
        );
    }

    #[test]
    fn errors_never_echo_submitted_values() {
        let errors = validate(
            EVERY_TYPE,
            &[
                ("SECRET", "hunter2\n"),
                ("COUNT", "hunter2"),
                ("hunter2", "x"),
            ],
        )
        .unwrap_err();
        let shown: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
        assert!(shown.iter().all(|m| !m.contains("hunter2")), "{shown:?}");
    }
}
