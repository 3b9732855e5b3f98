//! Every answer of the host speaks one error shape for its door: `{"error":{"code","message"}}`
//! for `?get_action=` and `/api/` (axum's own refusals of a body, a path or a query, unknown
//! paths and methods included), the UI's error page for `/ui/`.

use reqwest::blocking::Response;
use serde_json::Value;
use wshost_tests::*;

fn host() -> Host {
    Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ))
}

/// The status and the JSON error of an answer, which must be `application/json`.
fn json_error(r: Response) -> (u16, Value) {
    let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("application/json"), "content-type {kind}");
    let status = r.status().as_u16();
    let v: Value = r.json().expect("a JSON body");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    (status, v)
}

#[test]
fn api_refusals_of_bodies_paths_and_queries_are_json() {
    let h = host();
    // A body that is not JSON, and one of the wrong shape.
    let r = h
        .client
        .post(h.api("workspaces"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    let (status, v) = json_error(r);
    assert_eq!((status, code(&v)), (400, "bad_request"), "{v}");
    let r = h
        .client
        .post(h.api("users"))
        .json(&serde_json::json!({ "name": 5 }))
        .send()
        .unwrap();
    let (status, v) = json_error(r);
    assert_eq!((status, code(&v)), (422, "invalid_body"), "{v}");
    // A body without its content type.
    let r = h.client.post(h.api("users")).body("{}").send().unwrap();
    let (status, v) = json_error(r);
    assert_eq!((status, code(&v)), (415, "unsupported_media_type"), "{v}");
    // A query that does not parse (dry_run must be a boolean).
    let r = h
        .client
        .post(h.api("workspaces?dry_run=perhaps"))
        .json(&serde_json::json!({ "label": "x", "driver": "access.fs" }))
        .send()
        .unwrap();
    let (status, v) = json_error(r);
    assert_eq!((status, code(&v)), (400, "bad_request"), "{v}");
    // A path segment that is not UTF-8 once decoded.
    let r = h.client.get(h.api("users/%FF%FE")).send().unwrap();
    let (status, v) = json_error(r);
    assert_eq!((status, code(&v)), (400, "bad_request"), "{v}");
}

#[test]
fn unknown_api_paths_and_methods_are_json() {
    let h = host();
    let r = h.client.get(h.api("no/such/endpoint")).send().unwrap();
    let (status, v) = json_error(r);
    assert_eq!((status, code(&v)), (404, "not_found"), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/api/no/such/endpoint"),
        "{v}"
    );
    // Anonymous callers get the same shape.
    let r = reqwest::blocking::get(h.api("nothing")).unwrap();
    let (status, _) = json_error(r);
    assert_eq!(status, 404);

    let r = h.client.delete(h.api("me")).send().unwrap();
    let allow = r
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, v) = json_error(r);
    assert_eq!((status, code(&v)), (405, "method_not_allowed"), "{v}");
    assert!(
        allow.as_deref().is_some_and(|a| a.contains("GET")),
        "the router names the methods: {allow:?}"
    );

    // The ?get_action= door too, and a path outside every door.
    let r = h
        .client
        .delete(format!("{}/?get_action=ls&ws=files", h.url))
        .send()
        .unwrap();
    let (status, v) = json_error(r);
    assert_eq!((status, code(&v)), (405, "method_not_allowed"), "{v}");
    let r = h.client.get(format!("{}/nowhere", h.url)).send().unwrap();
    let (status, v) = json_error(r);
    assert_eq!((status, code(&v)), (404, "not_found"), "{v}");
}

#[test]
fn unknown_ui_paths_get_the_ui_error_page() {
    let h = host();
    let r = h
        .client
        .get(format!("{}/ui/no/such/page", h.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/html"), "{kind}");
    let page = r.text().unwrap();
    // The UI's layout (its stylesheet) around the message.
    assert!(page.contains("/ui/static/ui.css"), "{page}");
    // The message names the path (HTML-escaped, as every value in a template).
    assert!(
        page.contains("nothing is served at") && page.contains("such"),
        "{page}"
    );
    // A query the page's extractor refuses is a UI page too, not text/plain.
    let r = h
        .client
        .get(format!("{}/ui/workspaces/%FF", h.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/html"), "{kind}");
}
