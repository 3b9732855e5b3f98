//! A new workspace is checked by its driver before it is saved, through the API and the CLI
//! (the browser test covers the UI's form): a folder that does not exist is refused at once
//! with the driver's answer and nothing is saved; `verify=false` / `--no-verify` saves it
//! anyway; an id in use is refused, saying so.

use std::process::Command;

use wshost_tests::*;

fn host() -> Host {
    Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ))
}

/// `POST /api/workspaces{query}` of an access.fs workspace `id` on `root`.
fn create(h: &Host, query: &str, id: &str, root: &std::path::Path) -> (u16, Value) {
    let body = json!({
        "id": id,
        "label": id,
        "driver": "access.fs",
        "params": { "ROOT": root.display().to_string() },
    });
    json_of(
        h.client
            .post(h.api(&format!("workspaces{query}")))
            .json(&body)
            .send()
            .unwrap(),
    )
}

fn exists(h: &Host, id: &str) -> bool {
    let (status, _) = json_of(
        h.client
            .get(h.api(&format!("workspaces/{id}")))
            .send()
            .unwrap(),
    );
    status == 200
}

#[test]
fn the_api_checks_a_new_workspace_before_saving_it() {
    let h = host();
    let missing = h.dir.path().join("no-such-folder");

    // Refused with the driver's answer; nothing saved, on a dry run either.
    for query in ["", "?dry_run=true"] {
        let (status, v) = create(&h, query, "lost", &missing);
        assert_eq!(status, 422, "{query}: {v}");
        assert_eq!(code(&v), "verification_failed", "{v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("workspace 'lost' was not saved") && message.contains("verify=false"),
            "{message}"
        );
        assert!(!exists(&h, "lost"), "{query}: nothing is saved");
    }

    // verify=false saves it anyway, unchecked.
    let (status, v) = create(&h, "?verify=false", "lost", &missing);
    assert_eq!(status, 201, "{v}");
    assert!(v["verified"].is_null(), "{v}");
    assert!(exists(&h, "lost"));

    // A folder that exists: saved, with the driver's sentence.
    let root = h.dir.path().join("present");
    std::fs::create_dir(&root).unwrap();
    let (status, v) = create(&h, "", "present", &root);
    assert_eq!(status, 201, "{v}");
    assert!(
        v["verified"].as_str().is_some_and(|s| !s.is_empty()),
        "the driver's answer is shown: {v}"
    );

    // An id in use says so, before any driver is asked.
    let (status, v) = create(&h, "", "present", &missing);
    assert_eq!(status, 409, "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("workspace 'present' already exists"),
        "{message}"
    );
}

/// `wshost ARGS --config` the host's config: success, stdout, stderr.
fn wshost(h: &Host, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(wshost_exe())
        .args(args)
        .arg("--config")
        .arg(h.dir.path().join("host.toml"))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_checks_a_new_workspace_and_no_verify_saves_it_anyway() {
    let h = host();
    let missing = h.dir.path().join("no-such-folder");
    let root = format!("ROOT={}", missing.display());
    let create = [
        "workspace",
        "create",
        "--driver",
        "access.fs",
        "--label",
        "Lost",
    ];

    let (ok, out, err) = wshost(&h, &[&create[..], &["--param", &root]].concat());
    assert!(!ok, "{out}");
    assert!(
        err.contains("workspace 'lost' was not saved") && err.contains("--no-verify"),
        "{err}"
    );
    assert!(!exists(&h, "lost"), "nothing is saved");

    let (ok, out, err) = wshost(
        &h,
        &[&create[..], &["--param", &root, "--no-verify"]].concat(),
    );
    assert!(ok, "{err}");
    assert!(out.contains("created workspace lost"), "{out}");
    assert!(!out.contains("verified:"), "{out}");
    assert!(exists(&h, "lost"));

    let (ok, _, err) = wshost(
        &h,
        &[&create[..], &["--param", &root, "--no-verify"]].concat(),
    );
    assert!(!ok);
    assert!(err.contains("workspace 'lost' already exists"), "{err}");

    std::fs::create_dir(&missing).unwrap();
    let (ok, out, err) = wshost(
        &h,
        &[&create[..], &["--id", "found", "--param", &root]].concat(),
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("created workspace found") && out.contains("\nverified: "),
        "{out}"
    );
}
