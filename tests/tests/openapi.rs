//! schemathesis (PyPI, in tests/.venv, made by tests/setup.sh) against a live host, driven by
//! the host's own OpenAPI document at `/api/openapi.json`: the file actions on `/` and the
//! REST API under `/api/`, as an administrator with an API token. It checks that no answer is
//! a server error and that every answer's status, content type and body are the documented
//! ones. The run is bounded (a fixed seed, few examples per operation, no stateful phase) and
//! leaves out the one operation that would break the run itself: disabling `access.fs`
//! would turn every file action into a refusal.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use wshost_tests::*;

/// The checks run on every answer (schemathesis's names).
const CHECKS: &str = "not_a_server_error,status_code_conformance,\
                      content_type_conformance,response_schema_conformance";

/// The operations left out, by operationId, and why: see the module's comment.
const EXCLUDED: &[&str] = &["disablePlugin"];

/// The venv's schemathesis, or a failure naming tests/setup.sh.
fn schemathesis() -> PathBuf {
    let exe = root().join("tests/.venv/bin/schemathesis");
    let runs = Command::new(&exe)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !runs {
        require("schemathesis in tests/.venv (from tests/python/requirements.txt)");
    }
    exe
}

/// A host with what the document's examples name: the config workspace `files` holding
/// `docs/readme.txt` and `archive/`, the store workspaces `scratch` and `spare`, and the users
/// `sam` and `kim` (granted on `scratch`) for the destructive operations to work on.
fn seeded_host() -> Host {
    let h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    let files = h.dir.path().join("root");
    std::fs::create_dir_all(files.join("docs")).unwrap();
    std::fs::create_dir_all(files.join("archive")).unwrap();
    std::fs::write(files.join("docs/readme.txt"), "a file for schemathesis\n").unwrap();
    for ws in ["scratch", "spare"] {
        let dir = h.dir.path().join(ws);
        let params = vec![
            ("ROOT".to_owned(), dir.display().to_string()),
            ("CREATE".to_owned(), "true".to_owned()),
        ];
        h.create_workspace("access.fs", ws, params, &[]);
    }
    for user in ["sam", "kim"] {
        h.add_user(user, false);
        h.grant("scratch", user, "rw");
    }
    h
}

/// `wshost token create admin` against the host's store.
fn admin_token(h: &Host) -> String {
    let out = Command::new(wshost_exe())
        .args(["token", "create", "admin", "--label", "schemathesis"])
        .arg("--config")
        .arg(h.dir.path().join("host.toml"))
        .output()
        .expect("run wshost token create");
    assert!(
        out.status.success(),
        "wshost token create admin failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Writes `text` to the process's stderr directly: the test harness captures `eprint!`, and
/// the summary is wanted on a passing run too.
fn show(text: &str) {
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// The end of schemathesis's output from its summary heading on (all of it if none).
fn summary(output: &str) -> &str {
    output
        .rfind("SUMMARY")
        .and_then(|at| output[..at].rfind('\n'))
        .map_or(output, |line| &output[line + 1..])
}

#[test]
fn schemathesis_finds_the_host_as_its_openapi_document_says() {
    let exe = schemathesis();
    let h = seeded_host();
    let token = admin_token(&h);
    let work: &Path = h.dir.path();
    let mut command = Command::new(exe);
    command
        .current_dir(work)
        .arg("run")
        .arg(format!("{}/api/openapi.json", h.url))
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--checks", CHECKS])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", "20", "--seed", "20261204"])
        .args(["--generation-database", "none"])
        // One worker: with two, hypothesis's lambda descriptions parse source in two
        // threads at once, which CPython 3.11 can fail with "AST constructor recursion depth
        // mismatch" (a runtime error of the run, not a finding).
        .args(["--workers", "1", "--request-timeout", "20", "--no-color"])
        .env("NO_COLOR", "1");
    for operation in EXCLUDED {
        command.args(["--exclude-operation-id", operation]);
    }
    let started = Instant::now();
    let out = command.output().expect("run schemathesis");
    let elapsed = started.elapsed();
    let output =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    show(&format!(
        "schemathesis ran {:.0?} and exited with {}:\n{}\n",
        elapsed,
        out.status,
        summary(&output)
    ));
    assert!(
        out.status.success(),
        "schemathesis found answers that break the OpenAPI document (its full output):\n{output}\n\
         host log:\n{}",
        h.log()
    );
}
