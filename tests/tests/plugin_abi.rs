//! The ABI policy of docs/plugin-abi.md, held by plugins built the way third parties build
//! them: in their own cargo project outside this workspace, with `wshost plugins new`, then
//! loaded by the real `wshost` binary.
//!
//! - a plugin built against this plugin-api by path loads and passes `wshost plugins test`;
//! - one built against plugin-api 2.0.0 is refused, and told which version the host needs;
//! - one built against a plugin-api whose layout differs (a field added to `FfiEntry`, the
//!   version left at 1.0.0) is refused as an incompatible layout.
//!
//! Every build shares one target folder, `target/external`, so dependencies compile once and
//! stay compiled between runs; a lock keeps two of these tests from running cargo on it at
//! once. Each build starts from this workspace's `Cargo.lock`, so it resolves offline to the
//! very crates the workspace already fetched.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use wshost_tests::*;

/// Held while cargo runs on the shared external target folder.
static EXTERNAL_BUILD: Mutex<()> = Mutex::new(());

fn external_target() -> PathBuf {
    root().join("target/external")
}

/// `wshost ARGS`: whether it succeeded, and what it printed (stdout then stderr).
fn wshost(args: &[&str]) -> (bool, String) {
    let out = Command::new(wshost_exe()).args(args).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// A plugin crate written by `wshost plugins new ID` in `dir`, built against the plugin-api
/// at `api`: its library and its manifest.
fn scaffold_and_build(dir: &Path, id: &str, api: &Path) -> (PathBuf, PathBuf) {
    let krate = dir.join(id);
    let (ok, out) = wshost(&[
        "plugins",
        "new",
        id,
        "--dir",
        krate.to_str().unwrap(),
        "--api-path",
        api.to_str().unwrap(),
    ]);
    assert!(ok, "plugins new {id}: {out}");
    std::fs::copy(root().join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let _serial = EXTERNAL_BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let build = Command::new(cargo)
        .current_dir(&krate)
        .args(["build", "--offline"])
        .env("CARGO_TARGET_DIR", external_target())
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "cargo build of the scaffolded {id} failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let stem = id.replace('.', "_");
    let library = external_target().join(format!("debug/lib{stem}.so"));
    (library, krate.join(format!("{id}.toml")))
}

/// A copy of this plugin-api in `dir/name`, outside any workspace, at `version`, with each
/// `(file, old, new)` edit applied to its sources (each `old` must occur exactly once).
fn plugin_api_copy(dir: &Path, name: &str, version: &str, edits: &[(&str, &str, &str)]) -> PathBuf {
    let copy = dir.join(name);
    let source = root().join("plugin-api/src");
    copy_tree(&source, &copy.join("src"));
    for (file, old, new) in edits {
        let path = copy.join("src").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.matches(old).count(),
            1,
            "{file} no longer holds `{old}` once"
        );
        std::fs::write(&path, text.replace(old, new)).unwrap();
    }
    // The original inherits from this workspace; the copy must stand alone.
    let manifest = format!(
        "[package]\nname = \"wshost-plugin-api\"\nversion = \"{version}\"\nedition = \"2021\"\n\n\
         [lib]\nname = \"plugin_api\"\n\n[dependencies]\nabi_stable = \"0.11\"\n\n\
         [features]\ntesting = []\n"
    );
    std::fs::write(copy.join("Cargo.toml"), manifest).unwrap();
    copy
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap() {
        let item = item.unwrap();
        if item.file_type().unwrap().is_dir() {
            copy_tree(&item.path(), &to.join(item.file_name()));
        } else {
            std::fs::copy(item.path(), to.join(item.file_name())).unwrap();
        }
    }
}

/// The plugin-api versions this host accepts, as the refusal states them.
fn host_requirement() -> String {
    let text = std::fs::read_to_string(root().join("plugin-api/Cargo.toml")).unwrap();
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap();
    let n: Vec<u64> = version.split('.').map(|p| p.parse().unwrap()).collect();
    format!(">= {}.{}.0, < {}.0.0", n[0], n[1], n[0] + 1)
}

#[test]
fn a_scaffolded_plugin_built_outside_the_workspace_loads_and_passes_the_suite() {
    build();
    let dir = tempfile::tempdir().unwrap();
    let (library, manifest) =
        scaffold_and_build(dir.path(), "access.conformant", &root().join("plugin-api"));
    let (lib, manifest) = (library.to_str().unwrap(), manifest.to_str().unwrap());

    let (ok, out) = wshost(&["plugins", "check", lib, "--manifest", manifest]);
    assert!(ok && out.contains("ok: access.conformant 0.1.0"), "{out}");
    let (ok, out) = wshost(&["plugins", "test", lib, "--manifest", manifest]);
    assert!(ok, "{out}");
    assert!(out.contains("40 passed, 0 failed, 0 skipped"), "{out}");
    // The manifest's one parameter is validated like any other.
    let (ok, out) = wshost(&[
        "plugins",
        "test",
        lib,
        "--manifest",
        manifest,
        "--param",
        "MAX_BYTES=-1",
    ]);
    assert!(
        !ok && out.contains("MAX_BYTES: expected an integer of at least 0"),
        "{out}"
    );
}

#[test]
fn plugins_built_against_an_incompatible_plugin_api_are_refused_with_what_the_host_needs() {
    build();
    let dir = tempfile::tempdir().unwrap();
    let next_major = plugin_api_copy(dir.path(), "plugin-api-2", "2.0.0", &[]);
    let reshaped = plugin_api_copy(
        dir.path(),
        "plugin-api-reshaped",
        "1.0.0",
        &[
            (
                "ffi.rs",
                "    pub etag: ROption<RString>,\n    pub extra: FfiPairs,\n}",
                "    pub etag: ROption<RString>,\n    pub extra: FfiPairs,\n    pub added: u64,\n}",
            ),
            (
                "ffi.rs",
                "            etag: ropt(e.etag.as_deref()),\n",
                "            etag: ropt(e.etag.as_deref()),\n            added: 0,\n",
            ),
        ],
    );
    let cases = [
        (
            "access.future",
            next_major,
            vec![
                "libaccess_future.so".to_owned(),
                "built against plugin-api 2.0.0".to_owned(),
                format!("needs plugin-api {}", host_requirement()),
                "rebuild the plugin against it".to_owned(),
            ],
        ),
        (
            "access.reshaped",
            reshaped,
            vec![
                "libaccess_reshaped.so".to_owned(),
                "incompatible ABI layout".to_owned(),
                "FfiEntry (via init/open/stat): too many fields (host 7, plugin 8)".to_owned(),
            ],
        ),
    ];
    for (id, api, fragments) in cases {
        let (library, manifest) = scaffold_and_build(dir.path(), id, &api);
        let (lib, manifest) = (library.to_str().unwrap(), manifest.to_str().unwrap());
        for command in ["check", "test"] {
            let (ok, out) = wshost(&["plugins", command, lib, "--manifest", manifest]);
            assert!(!ok, "plugins {command} accepted {id}:\n{out}");
            for fragment in &fragments {
                assert!(
                    out.contains(fragment.as_str()),
                    "plugins {command} {id}: `{fragment}` missing from:\n{out}"
                );
            }
        }
    }
}

#[test]
fn plugins_new_depends_on_the_registry_by_default_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let krate = dir.path().join("mine");
    let krate = krate.to_str().unwrap();
    let (ok, out) = wshost(&["plugins", "new", "access.mine", "--dir", krate]);
    assert!(ok, "{out}");
    let cargo_toml = std::fs::read_to_string(dir.path().join("mine/Cargo.toml")).unwrap();
    // The version of the plugin-api this host was built with, as its Cargo.toml says.
    let api_toml = std::fs::read_to_string(root().join("plugin-api/Cargo.toml")).unwrap();
    let version = (api_toml.lines())
        .find_map(|l| l.strip_prefix("version = "))
        .expect("plugin-api/Cargo.toml has a version");
    let wanted =
        format!(r#"plugin-api = {{ package = "wshost-plugin-api", version = {version} }}"#);
    assert!(
        cargo_toml.contains(&wanted) && !cargo_toml.contains("path ="),
        "by default the crate depends on the registry, never on a path of this machine:\n{cargo_toml}"
    );
    assert!(
        out.contains("--api-git URL --api-tag TAG or --api-path PATH"),
        "the output says what to do when the registry lacks the crate:\n{out}"
    );
    for file in [
        "src/lib.rs",
        "tests/conformance.rs",
        "access.mine.toml",
        "README.md",
    ] {
        assert!(
            dir.path().join("mine").join(file).is_file(),
            "{file} written"
        );
    }
    let cases: &[(&[&str], &str)] = &[
        (
            &["access.mine", "--dir", krate],
            "already exists and is not empty",
        ),
        (&["Access.Mine"], "is not a plugin id"),
        (
            &["access.other", "--dir", krate, "--api-path", "/nonexistent"],
            "no wshost-plugin-api crate there",
        ),
        (
            &["access.x", "--api-path", "/tmp", "--api-version", "1.0.0"],
            "cannot be used with",
        ),
        (
            &["access.x", "--api-git", "https://example.com/w.git"],
            "--api-tag <TAG>",
        ),
    ];
    for (args, fragment) in cases {
        let mut all = vec!["plugins", "new"];
        all.extend(args.iter().copied());
        let (ok, out) = wshost(&all);
        assert!(
            !ok && out.contains(fragment),
            "{args:?}: `{fragment}` missing from:\n{out}"
        );
    }
    let (ok, out) = wshost(&[
        "plugins",
        "new",
        "access.byversion",
        "--dir",
        &format!("{krate}-v"),
        "--api-version",
        "1.0.7",
    ]);
    assert!(ok, "{out}");
    let cargo_toml = std::fs::read_to_string(format!("{krate}-v/Cargo.toml")).unwrap();
    assert!(cargo_toml.contains("version = \"1.0.7\""), "{cargo_toml}");
}
