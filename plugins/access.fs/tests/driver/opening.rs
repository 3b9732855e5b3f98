//! Opening a workspace: the ROOT and CREATE parameters, and messages that never show where a
//! workspace lives on the server.

use std::fs;

use plugin_api::ErrorKind;

use crate::support::{config, plugin};

#[test]
fn bad_configurations_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    fs::write(&file, b"").unwrap();
    let missing = dir.path().join("missing");
    let (file, missing) = (file.to_str().unwrap(), missing.to_str().unwrap());
    /// (params, kind, words the message must hold)
    type Case<'a> = (&'a [(&'a str, &'a str)], ErrorKind, &'a str);
    let cases: [Case; 6] = [
        (&[], ErrorKind::InvalidInput, "ROOT is required"),
        (
            &[("ROOT", "relative/path")],
            ErrorKind::InvalidInput,
            "absolute",
        ),
        (&[("ROOT", missing)], ErrorKind::NotFound, "does not exist"),
        (
            &[("ROOT", missing), ("CREATE", "false")],
            ErrorKind::NotFound,
            "CREATE",
        ),
        (&[("ROOT", file)], ErrorKind::InvalidInput, "not a folder"),
        (
            &[("ROOT", "/"), ("CREATE", "perhaps")],
            ErrorKind::InvalidInput,
            "boolean",
        ),
    ];
    let plugin = plugin();
    for (params, want, words) in cases {
        // ForeignDriver has no Debug, hence not expect_err.
        let err = plugin.open(&config(params)).expect_err("must be refused");
        assert_eq!(err.kind, want, "{params:?}: {}", err.message);
        assert!(err.message.contains(words), "{params:?}: {}", err.message);
        assert!(
            !err.message.contains(dir.path().to_str().unwrap()),
            "{}",
            err.message
        );
    }
    assert!(!dir.path().join("missing").exists());
}

#[test]
fn create_makes_the_root_and_its_parents() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a/b/root");
    let params = [("ROOT", root.to_str().unwrap()), ("CREATE", "true")];
    let driver = plugin().open(&config(&params)).unwrap();
    assert!(root.is_dir());
    use plugin_api::{testing::ctx, Driver};
    assert!(driver.stat(&ctx("alice"), "").unwrap().is_dir);
    // Opening again finds it in place.
    plugin().open(&config(&params)).unwrap();
}
