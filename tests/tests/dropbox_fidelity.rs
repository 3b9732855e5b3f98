//! The fidelity check: the official Dropbox Python SDK (PyPI `dropbox`, in `tests/.venv`,
//! made by `tests/setup.sh`) runs `tests/python/fidelity.py` against the fake Dropbox, through
//! the OAuth flow objects, a refresh, every route the driver uses and the SDK's error classes.
//! The SDK's own validators decide whether the fake's answers are Dropbox's.

use std::path::PathBuf;
use std::process::Command;

use wshost_tests::fake_dropbox::{FakeDropbox, Options};

/// The venv's python when it has the `dropbox` package.
fn sdk_python() -> Option<PathBuf> {
    let python = wshost_tests::root().join("tests/.venv/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import dropbox"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

#[test]
fn the_official_python_sdk_accepts_the_fake() {
    let Some(python) = sdk_python() else {
        wshost_tests::require("the Python venv with the dropbox SDK (tests/.venv)")
    };
    let fake = FakeDropbox::start(Options {
        client_id: Some("fidelity-app".into()),
        client_secret: Some("fidelity-secret".into()),
        auto_approve: true,
        ..Options::default()
    });
    let script = wshost_tests::root().join("tests/python/fidelity.py");
    let out = Command::new(python)
        .arg(script)
        .args([fake.url.as_str(), "fidelity-app", "fidelity-secret"])
        .env_remove("DROPBOX_API_HOST")
        .env_remove("DROPBOX_API_CONTENT_HOST")
        .env_remove("DROPBOX_WEB_HOST")
        .env_remove("DROPBOX_DOMAIN")
        .output()
        .expect("run the fidelity script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the Dropbox SDK disagrees with the fake:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("checks passed"), "{stdout}");
    eprintln!("{stdout}");
    // Every route the driver uses went through the SDK.
    for route in [
        "users/get_current_account",
        "files/get_metadata",
        "files/list_folder",
        "files/list_folder/continue",
        "files/download",
        "files/upload",
        "files/upload_session/start",
        "files/upload_session/append_v2",
        "files/upload_session/finish",
        "files/create_folder_v2",
        "files/delete_v2",
        "files/move_v2",
        "files/copy_v2",
        "auth/token/revoke",
        "oauth2/token",
        "oauth2/authorize",
    ] {
        assert!(fake.requests(route) > 0, "the SDK never called {route}");
    }
}
