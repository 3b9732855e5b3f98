//! Specification of `parse`: the samples that must parse, and for every malformed case the
//! `FILE:LINE:COLUMN: FIELD` the error names and what its message says was expected.

use super::super::model::{ActionMethod, ParamType, Rights};
use super::super::samples::{
    parse_ok, parse_text, ACCESS_FS, DROPBOX_SKETCH, EVERY_TYPE, HEADER, PATH,
};
use super::super::ManifestError;

/// `snippet` after the four required keys (so it starts on line 5).
fn h(snippet: &str) -> String {
    format!("{HEADER}{snippet}")
}

/// Each case: manifest text, the expected `LINE:COLUMN: FIELD`, a part of the message.
fn refused(cases: &[(String, &str, &str)], toml_level: bool) {
    for (text, at, message) in cases {
        let err = parse_text(text).expect_err(&format!("expected an error at {at} for:\n{text}"));
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("{PATH}:{at}: ")),
            "expected `{PATH}:{at}: ...`, got `{shown}`"
        );
        assert!(shown.contains(message), "expected `{message}` in `{shown}`");
        assert_eq!(
            matches!(err, ManifestError::Toml { .. }),
            toml_level,
            "{shown}"
        );
    }
}

fn s(text: &str) -> String {
    text.to_owned()
}

#[test]
fn design_sketch_for_access_dropbox_parses() {
    let m = parse_ok(DROPBOX_SKETCH);
    assert_eq!(
        (m.id.as_str(), m.kind.as_str(), m.library.as_str()),
        ("access.dropbox", "access", "access_dropbox")
    );
    assert_eq!((m.label.as_str(), m.enabled), ("Dropbox", false));
    assert_eq!(m.source.to_str(), Some(PATH));
    let [client, redirect] = &m.params[..] else {
        panic!("two params expected")
    };
    assert_eq!(
        (client.kind, client.mandatory, &client.aliases[..]),
        (ParamType::String, true, &["APP_KEY".to_owned()][..])
    );
    assert_eq!(
        (redirect.kind, redirect.label.as_str()),
        (ParamType::Url, "REDIRECT_URL")
    );
    assert_eq!(
        redirect.default.as_deref(),
        Some("{public_url}/index.php?get_action=dropbox_oauth_authorize")
    );
    let action = &m.actions[0];
    assert_eq!(
        (action.name.as_str(), action.rights, action.csrf),
        ("dropbox_oauth_authorize", Rights::User, false)
    );
    assert_eq!(action.methods, [ActionMethod::Get]);
}

#[test]
fn action_methods_default_to_post_and_get_allows_head() {
    let action = |rest: &str| {
        let m = parse_ok(&h(&format!(
            "[[actions]]\nname = \"go\"\nrights = \"user\"\n{rest}"
        )));
        m.actions[0].clone()
    };
    let default = action("");
    assert_eq!(default.methods, [ActionMethod::Post]);
    let allowed = |a: &super::super::ActionDecl| {
        ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
            .into_iter()
            .filter(|m| a.allows(&http::Method::from_bytes(m.as_bytes()).unwrap()))
            .collect::<Vec<_>>()
    };
    assert_eq!(allowed(&default), ["POST"]);
    let get = action("methods = [\"GET\", \"POST\"]\n");
    assert_eq!(get.methods, [ActionMethod::Get, ActionMethod::Post]);
    assert_eq!(allowed(&get), ["GET", "HEAD", "POST"]);
    let names: Vec<_> = get.allowed().map(ActionMethod::as_str).collect();
    assert_eq!(
        names,
        ["GET", "POST", "HEAD"],
        "what the Allow header lists"
    );
    let delete = action("methods = [\"DELETE\"]\n");
    assert_eq!(allowed(&delete), ["DELETE"]);
}

#[test]
fn bad_action_methods_name_file_position_action_and_what_was_expected() {
    let action = |methods: &str| {
        h(&format!(
            "[[actions]]\nname = \"go\"\nrights = \"user\"\nmethods = {methods}\n"
        ))
    };
    refused(
        &[
            (
                action("[]"),
                "8:11: actions[0].methods",
                "action `go` declares no method; expected at least one, e.g. [\"POST\"]",
            ),
            (
                action("[\"FETCH\"]"),
                "8:12: actions[0].methods[0]",
                "action `go`: `FETCH` is not a method an action may declare; expected one of GET, HEAD, POST, PUT, PATCH, DELETE",
            ),
            (
                action("[\"GET\", \"post\"]"),
                "8:19: actions[0].methods[1]",
                "`post` is not a method an action may declare (methods are uppercase: `POST`)",
            ),
            (
                action("[\"POST\", \"GET\", \"POST\"]"),
                "8:27: actions[0].methods[2]",
                "action `go`: `POST` is already actions[0].methods[0]; expected each method once",
            ),
        ],
        false,
    );
    refused(
        &[
            (
                action("\"POST\""),
                "8:11: actions[0].methods",
                "expected an array of HTTP methods, e.g. [\"POST\"]",
            ),
            (
                action("[1]"),
                "8:12: actions[0].methods[0]",
                "invalid type: integer `1`, expected a string",
            ),
        ],
        true,
    );
}

#[test]
fn access_fs_sample_parses() {
    let m = parse_ok(ACCESS_FS);
    assert_eq!(
        (m.id.as_str(), m.enabled, m.actions.len()),
        ("access.fs", true, 0)
    );
    let root = m.param("ROOT").unwrap();
    assert_eq!(
        (root.kind, root.mandatory, root.default.as_deref()),
        (ParamType::String, true, None)
    );
    assert_eq!(root.pattern.as_ref().map(|p| p.as_str()), Some("^/"));
    let create = m.param("CREATE").unwrap();
    assert_eq!(
        (create.kind, create.advanced, create.default.as_deref()),
        (ParamType::Boolean, true, Some("false"))
    );
}

#[test]
fn every_param_type_and_attribute_parses() {
    let m = parse_ok(EVERY_TYPE);
    let kinds: Vec<_> = m.params.iter().map(|p| p.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "string", "textarea", "password", "integer", "boolean", "select", "select", "url",
            "string", "hidden"
        ]
    );
    let p = |name| m.param(name).unwrap();
    assert_eq!(
        (p("NAME").group.as_deref(), p("OLD_NAME").name.as_str()),
        (Some("Identity"), "NAME")
    );
    assert_eq!(
        (
            p("COUNT").min,
            p("COUNT").max,
            p("COUNT").default.as_deref()
        ),
        (Some(1), Some(10), Some("5"))
    );
    assert_eq!(
        p("FLAG").default.as_deref(),
        Some("true"),
        "boolean defaults are normalized"
    );
    assert_eq!(p("TOKEN").default, None, "an empty default is no default");
    let choices = |name| {
        p(name)
            .choices
            .iter()
            .map(|c| (c.value.as_str(), c.label.as_str()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        choices("MODE"),
        [("r", "Read Only"), ("rw", "Read and Write")]
    );
    assert_eq!(choices("LEVEL"), [("low", "Low"), ("high", "high")]);
    let action = m.action("sample_ping").unwrap();
    assert_eq!(
        (action.rights, action.csrf, action.description.as_str()),
        (Rights::Read, true, "Answers pong.")
    );
}

#[test]
fn pydio_choice_strings_are_trimmed_and_labels_default_to_values() {
    let m = parse_ok(&h(
        "[[params]]\nname = \"M\"\ntype = \"select\"\nchoices = \" a | A , b ,c|\"\n",
    ));
    let got: Vec<_> = m.params[0]
        .choices
        .iter()
        .map(|c| (c.value.as_str(), c.label.as_str()))
        .collect();
    assert_eq!(got, [("a", "A"), ("b", "b"), ("c", "c")]);
}

#[test]
fn syntax_and_shape_errors_name_file_position_and_field() {
    let param = |rest: &str| h(&format!("[[params]]\nname = \"A\"\n{rest}"));
    refused(
        &[
            (
                h("colour = 1\n"),
                "5:1: colour",
                "unknown field `colour`, expected one of `id`, `type`",
            ),
            (
                h("enabled = \"yes\"\n"),
                "5:11: enabled",
                "invalid type: string \"yes\", expected a boolean",
            ),
            (
                h("description = \"oops\n"),
                "5:20: description",
                "invalid basic string",
            ),
            (h("label = \"Y\"\n"), "5:1: label", "duplicate key"),
            (
                s("id = \"access.x\"\ntype = \"access\"\nlabel = \"X\"\n"),
                "1:1: library",
                "missing field `library`",
            ),
            (param(""), "5:1: params[0].type", "missing field `type`"),
            (
                param("type = \"strin\"\n"),
                "7:8: params[0].type",
                "unknown variant `strin`, expected one of `string`, `textarea`",
            ),
            (
                param("type = \"string\"\nmandtory = true\n"),
                "8:1: params[0].mandtory",
                "unknown field `mandtory`, expected one of",
            ),
            (
                param("type = \"integer\"\nmin = \"3\"\n"),
                "8:7: params[0].min",
                "invalid type: string \"3\", expected i64",
            ),
            (
                param("type = \"integer\"\ndefault = 1.5\n"),
                "8:11: params[0].default",
                "expected a string, integer or boolean",
            ),
            (
                param("type = \"select\"\nchoices = { r = \"R\" }\n"),
                "8:11: params[0].choices",
                "expected an array of { value, label } tables",
            ),
            (
                param("type = \"select\"\nchoices = [{ value = \"r\", lable = \"R\" }]\n"),
                "8:27: params[0].choices[0].lable",
                "unknown field `lable`",
            ),
            (
                param("type = \"string\"\naliases = \"OLD\"\n"),
                "8:11: params[0].aliases",
                "expected a sequence",
            ),
            (
                param("type = \"string\"\n\n[[params]]\nname = \"B\"\ntype = \"int\"\n"),
                "11:8: params[1].type",
                "unknown variant `int`",
            ),
            (
                h("params = [{ name = \"A\", type = \"bool\" }]\n"),
                "5:32: params[0].type",
                "unknown variant `bool`",
            ),
            (
                h("[[actions]]\nname = \"go\"\nrights = \"root\"\n"),
                "7:10: actions[0].rights",
                "unknown variant `root`, expected one of `public`, `user`",
            ),
            (
                h("[[actions]]\nname = \"go\"\n"),
                "5:1: actions[0].rights",
                "missing field `rights`",
            ),
            (
                h("[[actions]]\nname = \"go\"\nrights = \"user\"\nsecure = false\n"),
                "8:1: actions[0].secure",
                "unknown field `secure`",
            ),
        ],
        true,
    );
}

#[test]
fn manifest_rule_violations_name_file_position_and_field() {
    let top = |id: &str, kind: &str, label: &str, library: &str| {
        format!("id = \"{id}\"\ntype = \"{kind}\"\nlabel = \"{label}\"\nlibrary = \"{library}\"\n")
    };
    refused(
        &[
            (
                top("Access.FS", "access", "X", "a"),
                "1:6: id",
                "expected `type.name` of lowercase letters",
            ),
            (
                top("access", "access", "X", "a"),
                "1:6: id",
                "expected `type.name`",
            ),
            (
                top("access.fs.x", "access", "X", "a"),
                "1:6: id",
                "expected `type.name`",
            ),
            (
                top("meta.x", "access", "X", "a"),
                "1:6: id",
                "expected an id starting with `access.`",
            ),
            (
                top("access.x", "Access", "X", "a"),
                "2:8: type",
                "expected a plugin type of lowercase letters",
            ),
            (
                top("access.x", "access", " ", "a"),
                "3:9: label",
                "expected a non-empty label",
            ),
            (
                top("access.x", "access", "X", "libaccess_x.so"),
                "4:11: library",
                "expected a library stem",
            ),
        ],
        false,
    );
}

#[test]
fn param_rule_violations_name_file_position_and_field() {
    let param = |name: &str, rest: &str| h(&format!("[[params]]\nname = \"{name}\"\n{rest}"));
    let two = |first: &str, second: &str| h(&format!("[[params]]\n{first}\n[[params]]\n{second}"));
    refused(
        &[
            (
                param("client-id", "type = \"string\"\n"),
                "6:8: params[0].name",
                "expected letters, digits and underscores",
            ),
            (
                two(
                    "name = \"A\"\ntype = \"string\"\n",
                    "name = \"A\"\ntype = \"url\"\n",
                ),
                "10:8: params[1].name",
                "`A` is already declared by params[0].name",
            ),
            (
                param("A", "type = \"string\"\naliases = [\"A\"]\n"),
                "8:12: params[0].aliases[0]",
                "already declared by params[0].name",
            ),
            (
                param("A", "type = \"string\"\naliases = [\"OLD-A\"]\n"),
                "8:12: params[0].aliases[0]",
                "expected letters, digits",
            ),
            (
                two(
                    "name = \"A\"\ntype = \"string\"\naliases = [\"OLD\"]\n",
                    "name = \"B\"\ntype = \"string\"\naliases = [\"OLD\"]\n",
                ),
                "13:12: params[1].aliases[0]",
                "already declared by params[0].aliases[0]",
            ),
            (
                param("M", "type = \"select\"\n"),
                "5:1: params[0].choices",
                "a select param needs choices",
            ),
            (
                param("M", "type = \"select\"\nchoices = []\n"),
                "8:11: params[0].choices",
                "expected at least one choice",
            ),
            (
                param("M", "type = \"select\"\nchoices = \"r|R,,w|W\"\n"),
                "8:11: params[0].choices[1]",
                "expected a non-empty choice value",
            ),
            (
                param("M", "type = \"select\"\nchoices = \"r|R,r|Again\"\n"),
                "8:11: params[0].choices[1]",
                "value `r` is already choice 0",
            ),
            (
                param("S", "type = \"string\"\nchoices = \"a,b\"\n"),
                "8:11: params[0].choices",
                "choices apply only to select params; this one is string",
            ),
            (
                param("S", "type = \"string\"\npattern = \"(\"\n"),
                "8:11: params[0].pattern",
                "expected a valid regular expression: unclosed group",
            ),
            (
                param("B", "type = \"boolean\"\npattern = \"^t\"\n"),
                "8:11: params[0].pattern",
                "applies only to string, textarea, password, url and hidden",
            ),
            (
                param("S", "type = \"string\"\nmin = 1\n"),
                "8:7: params[0].min",
                "min applies only to integer params; this one is string",
            ),
            (
                param("S", "type = \"url\"\nmax = 1\n"),
                "8:7: params[0].max",
                "max applies only to integer params",
            ),
            (
                param("N", "type = \"integer\"\nmin = 5\nmax = 4\n"),
                "9:7: params[0].max",
                "expected max >= min (5), found 4",
            ),
            (
                param("P", "type = \"password\"\ndefault = \"x\"\n"),
                "8:11: params[0].default",
                "passwords are write-only",
            ),
        ],
        false,
    );
}

#[test]
fn defaults_must_pass_their_own_param() {
    let param = |rest: &str| h(&format!("[[params]]\nname = \"D\"\n{rest}"));
    refused(
        &[
            (
                param("type = \"integer\"\ndefault = \"ten\"\n"),
                "8:11: params[0].default",
                "default \"ten\" is invalid: expected an integer",
            ),
            (
                param("type = \"integer\"\nmin = 1\nmax = 10\ndefault = 11\n"),
                "10:11: params[0].default",
                "expected an integer from 1 to 10",
            ),
            (
                param("type = \"boolean\"\ndefault = \"maybe\"\n"),
                "8:11: params[0].default",
                "expected a boolean",
            ),
            (
                param("type = \"select\"\nchoices = \"r,rw\"\ndefault = \"x\"\n"),
                "9:11: params[0].default",
                "expected one of: r, rw",
            ),
            (
                param("type = \"string\"\npattern = \"^/\"\ndefault = \"srv\"\n"),
                "9:11: params[0].default",
                "matching the pattern `^/`",
            ),
            (
                param("type = \"url\"\ndefault = \"ftp://x.example/\"\n"),
                "8:11: params[0].default",
                "http or https",
            ),
            (
                param("type = \"string\"\ndefault = \"a\\nb\"\n"),
                "8:11: params[0].default",
                "single line",
            ),
            (
                param("type = \"string\"\npattern = \"^/\"\ndefault = \"{public_url}/x\"\n"),
                "9:11: params[0].default",
                "matching the pattern `^/` (once expanded for http://localhost",
            ),
            (
                param("type = \"integer\"\ndefault = \"{public_url}\"\n"),
                "8:11: params[0].default",
                "expected an integer",
            ),
            (
                param("type = \"string\"\ndefault = \"{data_dir}/{home}\"\n"),
                "8:11: params[0].default",
                "unknown keyword {home}; expected one of: {user}, {data_dir}, {public_url}",
            ),
            (
                param("type = \"string\"\npattern = \"^/srv\"\ndefault = \"AJXP_DATA_PATH/AJXP_USER\"\n"),
                "9:11: params[0].default",
                "(once expanded for http://localhost, data folder /var/lib/wshost and user sample.user)",
            ),
        ],
        false,
    );
}

#[test]
fn defaults_with_public_url_are_checked_once_expanded_and_kept_as_templates() {
    let cases = [
        ("url", "{public_url}/cb"),
        ("url", "{public_url}"),
        ("string", "see {public_url}/docs"),
        ("hidden", "{public_url}"),
    ];
    for (kind, default) in cases {
        let m = parse_ok(&h(&format!(
            "[[params]]\nname = \"D\"\ntype = \"{kind}\"\ndefault = \"{default}\"\n"
        )));
        assert_eq!(m.params[0].default.as_deref(), Some(default), "{kind}");
    }
}

#[test]
fn action_rule_violations_name_file_position_and_field() {
    let action = |name: &str| {
        h(&format!(
            "[[actions]]\nname = \"{name}\"\nrights = \"user\"\n"
        ))
    };
    let mut cases: Vec<(String, &str, &str)> = vec![
        (
            action("Get-It"),
            "6:8: actions[0].name",
            "expected an action name of lowercase letters",
        ),
        (
            action(""),
            "6:8: actions[0].name",
            "expected an action name",
        ),
        (
            format!(
                "{}{}",
                action("go"),
                "[[actions]]\nname = \"go\"\nrights = \"admin\"\n"
            ),
            "9:8: actions[1].name",
            "`go` is already declared by actions[0].name",
        ),
    ];
    let reserved: Vec<String> = super::super::model::RESERVED_ACTIONS
        .iter()
        .map(|n| action(n))
        .collect();
    for text in &reserved {
        cases.push((
            text.clone(),
            "6:8: actions[0].name",
            "is a standard file action served by the host",
        ));
    }
    refused(&cases, false);
}
