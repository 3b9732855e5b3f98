//! The host's layering, checked from its sources (rust-analyzer's "tidy" tests do the same):
//! a plain test that fails, naming the file and the import, when a module imports a layer
//! above its own, or when code outside the plugin-call layer reaches the ABI's host side.
//! The layers are those of docs/ARCHITECTURE.md:
//!
//! ```text
//! doors      web  ui  dav  commands  (internals: what fuzz targets and benchmarks drive)
//! admin      typed administration operations
//! access     who may do what; Granted, the proof a driver call needs
//! plugins    the one plugin-call layer
//! base       app, auth, store, manifest, config, paths, telemetry, server
//! ```
//!
//! `app` holds the state every layer receives (`AppState`, which owns the registry and the
//! open drivers) and start-up, so it and `plugins` name each other's types; nothing else in
//! the base depends upward.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layer of each top-level module of `host/src`; higher numbers sit higher.
fn layer(module: &str) -> Option<u8> {
    Some(match module {
        "web" | "ui" | "dav" | "commands" | "internals" | "lib" | "main" => 4,
        "admin" => 3,
        "access" => 2,
        "plugins" => 1,
        "app" | "auth" | "store" | "manifest" | "config" | "paths" | "telemetry" | "server" => 0,
        _ => return None,
    })
}

/// The one upward name allowed: `app` (the state and start-up) names the plugin layer's
/// registry and open drivers, which the state owns.
const STATE_EXCEPTION: (&str, &str) = ("app", "plugins");

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, with its path relative to `host/src`.
fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("host/src is readable") {
        let path = entry.expect("host/src is readable").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(src())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).expect("a source file is readable");
            out.push((rel, text));
        }
    }
}

/// The top-level module a file of `host/src` belongs to (`web/api/mod.rs` → `web`).
fn module_of(rel: &str) -> String {
    let first = rel.split('/').next().unwrap_or(rel);
    first.trim_end_matches(".rs").to_owned()
}

/// The top-level modules a text names as `crate::NAME` (also `$crate::NAME` in macros),
/// comments left out.
fn imports(text: &str) -> BTreeMap<String, usize> {
    let mut found = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.entry(name).or_insert(n + 1);
            rest = after;
        }
    }
    found
}

/// The violations of the layering in `files` (relative path, text).
fn violations(files: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (rel, text) in files {
        let module = module_of(rel);
        let Some(own) = layer(&module) else {
            out.push(format!("host/src/{rel}: module '{module}' has no layer; add it to layers.rs and docs/ARCHITECTURE.md"));
            continue;
        };
        for (target, line) in imports(text) {
            if target == module {
                continue;
            }
            let Some(theirs) = layer(&target) else {
                continue;
            };
            let excepted = (module.as_str(), target.as_str()) == STATE_EXCEPTION;
            if theirs > own && !excepted {
                out.push(format!(
                    "host/src/{rel}:{line}: '{module}' (layer {own}) imports '{target}' (layer {theirs}), a layer above it"
                ));
            }
        }
        if module != "plugins" && text.contains("plugin_api::foreign") {
            out.push(format!(
                "host/src/{rel}: names plugin_api::foreign; only the plugin-call layer (host/src/plugins) reaches the ABI's host side"
            ));
        }
        if module != "access" && module != "plugins" && text.contains("DriverTarget::new") {
            out.push(format!(
                "host/src/{rel}: makes a DriverTarget; only access (from a checked grant) may"
            ));
        }
    }
    out
}

#[test]
fn every_module_imports_only_layers_below_it() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    assert!(files.len() > 50, "host/src has its sources");
    let found = violations(&files);
    assert!(found.is_empty(), "layering broken:\n{}", found.join("\n"));
}

/// The check is not vacuous: each rule fails on a planted breach.
#[test]
fn planted_breaches_are_caught() {
    let planted = |rel: &str, text: &str| violations(&[(rel.to_owned(), text.to_owned())]);
    assert_eq!(
        planted("store/users.rs", "use crate::web::Shared;").len(),
        1
    );
    assert_eq!(
        planted("plugins/call.rs", "use crate::access::Granted;").len(),
        1
    );
    assert_eq!(
        planted("access/mod.rs", "use crate::admin::Viewer;").len(),
        1
    );
    assert_eq!(
        planted("config/mod.rs", "use crate::admin::valid_id;").len(),
        1
    );
    assert_eq!(
        planted("web/files.rs", "use plugin_api::foreign::ForeignDriver;").len(),
        1
    );
    assert_eq!(
        planted("web/files.rs", "let t = DriverTarget::new(ws, ctx);").len(),
        1
    );
    assert_eq!(planted("newmod.rs", "").len(), 1);
    // Allowed: downward imports, a door naming a door, comments.
    assert!(planted(
        "web/mod.rs",
        "use crate::ui::router; use crate::app::Shared;"
    )
    .is_empty());
    assert!(planted("store/mod.rs", "// crate::web is not imported here").is_empty());
}
