//! The document against the code: each test reads one list the host itself uses.

use std::collections::BTreeSet;

use serde_json::Value;

use super::DOCUMENT;
use crate::app::error::examples::examples;
use crate::web::files::StdAction;

fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("openapi.json is JSON")
}

/// The operations of `path` in the document, by upper-case method.
fn operations<'a>(doc: &'a Value, path: &str) -> Vec<(String, &'a Value)> {
    let item = doc["paths"][path]
        .as_object()
        .unwrap_or_else(|| panic!("the document has no path {path}"));
    item.iter()
        .filter(|(key, _)| {
            ["get", "put", "post", "delete", "patch", "head", "options"].contains(&key.as_str())
        })
        .map(|(method, op)| (method.to_ascii_uppercase(), op))
        .collect()
}

/// The query parameter `name` of operation `op`.
fn query_param<'a>(op: &'a Value, name: &str) -> Option<&'a Value> {
    op["parameters"]
        .as_array()?
        .iter()
        .find(|p| p["in"] == "query" && p["name"] == name)
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect()
}

#[test]
fn it_is_openapi_3_1() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
}

#[test]
fn the_api_routes_are_the_documented_ones() {
    let doc = document();
    let served: BTreeSet<(String, String)> = super::super::routes()
        .iter()
        .map(|r| (r.method.to_string(), format!("/api{}", r.path)))
        .collect();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .filter(|path| path.starts_with("/api/"))
        .flat_map(|path| {
            operations(&doc, path)
                .into_iter()
                .map(move |(method, _)| (method, path.clone()))
        })
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "routes the router serves but the document lacks: {undocumented:?}; \
         documented but not served: {unserved:?}"
    );
}

#[test]
fn only_the_api_and_the_action_door_are_documented() {
    let doc = document();
    let others: Vec<&String> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .filter(|p| *p != "/" && !p.starts_with("/api/"))
        .collect();
    assert!(others.is_empty(), "paths no test ties to code: {others:?}");
}

#[test]
fn each_method_of_the_action_door_lists_the_actions_that_answer_it() {
    let doc = document();
    let documented: Vec<(String, &Value)> = operations(&doc, "/");
    for (method, op) in &documented {
        let want: BTreeSet<String> = StdAction::ALL
            .into_iter()
            .filter(|a| a.methods().contains(&method.as_str()))
            .map(|a| a.name().to_owned())
            .collect();
        for name in ["get_action", "action"] {
            let param = query_param(op, name)
                .unwrap_or_else(|| panic!("{method} / does not document {name}"));
            assert_eq!(
                strings(&param["schema"]["enum"]),
                want,
                "{method} /: the {name} enum is not the actions that answer {method}"
            );
        }
        assert_eq!(query_param(op, "get_action").unwrap()["required"], true);
    }
    // HEAD answers as GET does, without a body: documenting GET covers it.
    for action in StdAction::ALL {
        for method in action.methods().iter().filter(|m| **m != "HEAD") {
            assert!(
                documented.iter().any(|(m, _)| m == method),
                "{} answers {method}, which the document lacks on /",
                action.name()
            );
        }
    }
}

/// The parameter names the action door reads, found in its sources: the literal names
/// passed to `Params`' getters (and to `MissingParam`), test code left out.
fn parameters_read() -> BTreeSet<String> {
    let sources = [
        include_str!("../../files.rs"),
        include_str!("../../params.rs"),
        include_str!("../../mod.rs"),
    ];
    let calls = [
        "params.get(\"",
        "params.require(\"",
        "params.path(\"",
        "params.path_or_root(\"",
        "params.name(\"",
        "params.flag(\"",
        "params.number(\"",
        "self.get(\"",
        "MissingParam(\"",
        // `nodes()` matches the names itself.
        "k==\"",
    ];
    let mut names = BTreeSet::new();
    for source in sources {
        // Without whitespace: rustfmt may break `params\n.get(…)` over lines.
        let code: String = source
            .split("#[cfg(test)]")
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        for call in calls {
            for (at, _) in code.match_indices(call) {
                let rest = &code[at + call.len()..];
                let name = rest.split('"').next().unwrap_or_default();
                names.insert(name.to_owned());
            }
        }
    }
    names
}

#[test]
fn every_parameter_the_actions_read_is_documented() {
    let read = parameters_read();
    for must in ["ws", "dir", "cursor", "limit", "secure_token", "get_action"] {
        assert!(
            read.contains(must),
            "the source scan missed '{must}': {read:?}"
        );
    }
    let doc = document();
    for (method, op) in operations(&doc, "/") {
        let documented: BTreeSet<String> = op["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().expect("a name").to_owned())
            .collect();
        assert_eq!(
            documented, read,
            "{method} /: the documented query parameters are not the ones the actions read"
        );
    }
}

/// The codes of the document's error response for `status`.
fn documented_codes(doc: &Value, status: u16) -> BTreeSet<String> {
    let response = &doc["components"]["responses"][format!("Error{status}")];
    let schema = &response["content"]["application/json"]["schema"];
    assert_eq!(
        schema["allOf"][0]["$ref"], "#/components/schemas/Error",
        "Error{status} is not the error body"
    );
    strings(&schema["properties"]["error"]["properties"]["code"]["enum"])
}

#[test]
fn every_error_code_is_documented_with_its_status() {
    let doc = document();
    let mut answered = BTreeSet::new();
    for error in examples() {
        let (status, code, _) = error.parts();
        let status = status.as_u16();
        assert!(
            documented_codes(&doc, status).contains(code),
            "{error:?} answers {status} {code}, which components/responses/Error{status} lacks"
        );
        answered.insert((status, code.to_owned()));
    }
    let responses = doc["components"]["responses"]
        .as_object()
        .expect("responses");
    for name in responses.keys() {
        let status: u16 = name
            .strip_prefix("Error")
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("components/responses/{name} is not ErrorNNN"));
        for code in documented_codes(&doc, status) {
            assert!(
                answered.contains(&(status, code.clone())),
                "the document lists {status} {code}, which no AppError answers"
            );
        }
    }
}

#[test]
fn every_referenced_error_response_exists() {
    let doc = document();
    let responses = &doc["components"]["responses"];
    for path in doc["paths"].as_object().expect("paths").keys() {
        for (method, op) in operations(&doc, path) {
            for (status, response) in op["responses"].as_object().expect("responses") {
                if let Some(target) = response["$ref"].as_str() {
                    let name = target
                        .strip_prefix("#/components/responses/")
                        .unwrap_or_else(|| panic!("{method} {path} {status}: ref {target}"));
                    assert!(
                        responses[name].is_object(),
                        "{method} {path} {status}: no response {name}"
                    );
                    assert_eq!(
                        Some(status.as_str()),
                        name.strip_prefix("Error"),
                        "{method} {path}: status {status} refers to {name}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn it_is_served_as_json() {
    use axum::response::IntoResponse;
    let response = super::document().await.into_response();
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("the body");
    assert_eq!(body, DOCUMENT.as_bytes());
}
