//! The driver against wshost's conformance suite, in-process and through the same ABI path
//! the host uses (`plugin_api::testing::load`): every case its capabilities allow must pass.
//!
//! Run with `cargo test`; a failure prints one line per case, `PASS|FAIL|SKIP name — why`.

use access_example::ExamplePlugin;
use plugin_api::testing::{conformance, ctx, load, MemoryHost};
use plugin_api::{Driver, WorkspaceConfig};

/// The driver of a fresh workspace, opened through the ABI as the host opens it.
fn driver(params: &[(&str, &str)]) -> impl Driver {
    let host = MemoryHost::new("http://localhost:8080");
    let plugin = load::<ExamplePlugin>(host).expect("the plugin loads");
    let config = WorkspaceConfig {
        id: "test".into(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    plugin.open(&config).expect("the workspace opens")
}

#[test]
fn the_driver_passes_the_conformance_suite() {
    conformance::assert_conformant(&driver(&[]));
}

#[test]
fn a_fresh_workspace_is_an_empty_folder() {
    let driver = driver(&[("MAX_BYTES", "1000")]);
    assert!(driver.stat(&ctx("alice"), "").unwrap().is_dir);
    assert!(driver.verify(&ctx("alice")).unwrap().contains("1000 bytes"));
}
