//! The module graphs of plugin-api and the driver crates have no circles: in each crate, no
//! two modules import each other, directly or around a loop (`wshost_tests::tidy`).
//!
//! A driver's files form a tree the OpenDAL way: the operation modules reach the remote
//! through `core` and share helpers through modules named for what they hold, never through
//! `backend` or each other. To hold another crate to this, add its folder to [`CRATES`].

use wshost_tests::tidy::ModuleGraph;

/// The crates held to a circle-free module graph, as folders of the workspace.
const CRATES: &[&str] = &[
    "plugin-api",
    "plugins/access.fs",
    "plugins/access.dropbox",
    "plugins/access.sftp",
    "plugins/access.s3",
];

#[test]
fn plugin_crates_have_no_module_circles() {
    let mut failures = Vec::new();
    for krate in CRATES {
        let src = wshost_tests::root().join(krate).join("src");
        let graph = ModuleGraph::read(&src).unwrap_or_else(|e| panic!("{krate}: {e}"));
        // A graph read wrong (no modules, no imports) would pass for the wrong reason.
        let imports: usize = graph.edges.values().map(|to| to.len()).sum();
        assert!(
            graph.modules.len() >= 5 && imports >= 5,
            "{krate}: only {} modules and {imports} imports found in {}: is this the crate's src folder?",
            graph.modules.len(),
            src.display()
        );
        for cycle in graph.cycles() {
            failures.push(format!("{krate}: {}", graph.describe(&cycle)));
        }
    }
    assert!(
        failures.is_empty(),
        "modules that import each other (move the shared items into a module of their own, \
         such as the driver's `core`):\n{}",
        failures.join("\n")
    );
}
