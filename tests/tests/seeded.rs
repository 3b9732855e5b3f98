//! The seeded conformance suite as an author of a read-only driver meets it: `wshost plugins
//! fixture` writes the tree, the author puts it into the backend, and `wshost plugins test
//! --seeded` runs every read case on it. Checked on access.fs (the tree as written) and on
//! access.zipro, a read-only driver over a .zip archive (`tests/plugins/access-zipro`), whose
//! planted range bug must fail the ranged-read case and nothing else.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use access_zipro::ZiproPlugin;
use plugin_api::testing::conformance::seed;
use plugin_api::testing::{ctx, load, MemoryHost};
use plugin_api::{ActionRequest, Driver, WorkspaceConfig, WorkspaceRights};
use wshost_tests::*;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// The cases that read, each of which a seeded run must run on a read-only driver.
const READ_CASES: &[&str] = &[
    "list.base",
    "list.empty_folder",
    "list.pages",
    "list.nested",
    "list.missing",
    "list.file",
    "stat.base",
    "stat.file",
    "stat.folder",
    "stat.missing",
    "read.whole",
    "read.ranges",
    "read.past_end",
    "read.zero_length",
    "read.missing",
    "read.folder",
    "write.names",
];

/// `wshost ARGS` with `env`: whether it succeeded, and what it printed (stdout then stderr).
fn wshost(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(wshost_exe())
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The case names of the report lines that start with `label` (`PASS`, `FAIL`, `SKIP`).
fn cases_with(out: &str, label: &str) -> Vec<String> {
    let prefix = format!("{label} ");
    (out.lines())
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| rest.split(' ').next().unwrap_or_default().to_owned())
        .collect()
}

/// The tree written by `wshost plugins fixture` into `dir`.
fn write_fixture(dir: &Path) {
    let dir = dir.to_str().unwrap();
    let (ok, out) = wshost(&["plugins", "fixture", dir], &[]);
    assert!(ok, "{out}");
    assert!(out.contains("--seeded"), "it says what to do next: {out}");
}

/// `wshost plugins test` on access.zipro over `archive`, with `extra` flags.
fn test_zipro(archive: &Path, extra: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let lib = build().join("libaccess_zipro.so");
    let manifest = root().join("tests/plugins/access-zipro/access.zipro.toml");
    let param = format!("ARCHIVE={}", archive.display());
    let mut args = vec![
        "plugins",
        "test",
        lib.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
        "--param",
        &param,
    ];
    args.extend(extra);
    wshost(&args, env)
}

/// The folder `tree` zipped as an author would: folders as entries, every other file deflated,
/// the rest stored, so that both ways of reading an entry are exercised.
fn zip_tree(tree: &Path, archive: &Path) {
    let mut zip = zip::ZipWriter::new(File::create(archive).unwrap());
    for (i, entry) in seed::tree().iter().enumerate() {
        let method = match i % 2 {
            0 => CompressionMethod::Deflated,
            _ => CompressionMethod::Stored,
        };
        let options = SimpleFileOptions::default().compression_method(method);
        if entry.is_dir() {
            zip.add_directory(format!("{}/", entry.path), options)
                .unwrap();
        } else {
            zip.start_file(entry.path.as_str(), options).unwrap();
            zip.write_all(&std::fs::read(tree.join(&entry.path)).unwrap())
                .unwrap();
        }
    }
    zip.finish().unwrap();
}

/// A zip of the fixture tree in a temporary folder.
fn fixture_zip() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(&dir.path().join("tree"));
    let archive = dir.path().join("tree.zip");
    zip_tree(&dir.path().join("tree"), &archive);
    (dir, archive)
}

#[test]
fn the_fixture_and_the_seeded_suite_agree_on_access_fs() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    write_fixture(&ws.join("tree"));
    let lib = build().join("libaccess_fs.so");
    let manifest = root().join("manifests/access.fs.toml");
    let root_param = format!("ROOT={}", ws.display());
    let run = |extra: &[&str]| {
        let mut args = vec![
            "plugins",
            "test",
            lib.to_str().unwrap(),
            "--manifest",
            manifest.to_str().unwrap(),
            "--param",
            &root_param,
        ];
        args.extend(extra);
        wshost(&args, &[])
    };

    // A read-write driver runs every case: the read cases on the tree, the rest as always.
    let (ok, out) = run(&["--seeded=tree"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("seeded: the read cases read the fixture tree at tree"),
        "{out}"
    );
    assert!(out.contains("40 passed, 0 failed, 0 skipped"), "{out}");
    let after: Vec<_> = std::fs::read_dir(&ws)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        after,
        ["tree"],
        "the scratch folder is removed, the tree kept"
    );
    assert_eq!(
        std::fs::read(ws.join("tree/ranges.bin")).unwrap(),
        seed::tree()
            .iter()
            .find(|e| e.path == "ranges.bin")
            .unwrap()
            .content(),
        "the seeded cases change nothing in the tree"
    );

    // The tree somewhere else: one sentence saying where it was looked for and how to make it.
    let (ok, out) = run(&["--seeded", "--case", "read."]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("FAIL read.whole — the fixture tree is not in the root")
            && out.contains("wshost plugins fixture DIR"),
        "{out}"
    );

    // A damaged tree is caught by the case that reads the damage.
    std::fs::write(ws.join("tree/pages/file-001.txt"), b"xyz").unwrap();
    let (ok, out) = run(&["--seeded=tree", "--case", "list.", "--case", "read."]);
    assert!(!ok, "{out}");
    assert_eq!(
        cases_with(&out, "FAIL"),
        ["list.pages", "read.whole"],
        "{out}"
    );

    // The fixture goes only into a new or empty folder.
    let (ok, out) = wshost(&["plugins", "fixture", ws.to_str().unwrap()], &[]);
    assert!(!ok && out.contains("is not empty"), "{out}");
}

#[test]
fn a_read_only_zip_driver_runs_every_read_case_seeded() {
    let (_dir, archive) = fixture_zip();

    let (ok, out) = test_zipro(&archive, &["--seeded"], &[]);
    assert!(ok, "{out}");
    let passed = cases_with(&out, "PASS");
    for case in READ_CASES.iter().chain(&["verify.answers"]) {
        assert!(
            passed.iter().any(|p| p == case),
            "{case} did not pass:\n{out}"
        );
    }
    assert_eq!(passed.len(), READ_CASES.len() + 1, "{out}");
    assert!(
        out.contains(&format!(
            "{} passed, 0 failed, 22 skipped",
            READ_CASES.len() + 1
        )),
        "{out}"
    );
    assert!(
        out.contains("SKIP write.new — needs capability write"),
        "{out}"
    );
    assert!(
        !out.contains("hint:"),
        "nothing left for --seeded to run:\n{out}"
    );

    // Without --seeded, the same driver runs only what needs no input, and is told why.
    let (ok, out) = test_zipro(&archive, &[], &[]);
    assert!(ok, "{out}");
    assert!(out.contains("6 passed, 0 failed, 34 skipped"), "{out}");
    assert!(
        out.contains("SKIP read.ranges — needs capability write, mkdir; --seeded reads its input"),
        "{out}"
    );
    assert!(
        out.contains("hint: 12 of the skipped cases only create their input first"),
        "{out}"
    );
}

#[test]
fn a_planted_range_bug_fails_exactly_the_ranged_read_case() {
    let (_dir, archive) = fixture_zip();
    let (ok, out) = test_zipro(
        &archive,
        &["--seeded"],
        &[("PLANTED_BUG", "range_off_by_one")],
    );
    assert!(!ok, "{out}");
    assert_eq!(cases_with(&out, "FAIL"), ["read.ranges"], "{out}");
    assert!(
        out.contains("FAIL read.ranges — read of range 0..10 returned other bytes"),
        "{out}"
    );
}

#[test]
fn the_zip_driver_s_action_answers_what_the_archive_holds() {
    let (_dir, archive) = fixture_zip();
    let host = MemoryHost::new("http://localhost:8080");
    let plugin = load::<ZiproPlugin>(host).unwrap();
    let mut config = WorkspaceConfig::default();
    config
        .params
        .insert("ARCHIVE".into(), archive.display().to_string());
    let driver = plugin.open(&config).unwrap();
    let request = ActionRequest {
        name: "zipro_info".into(),
        method: "GET".into(),
        query: vec![],
        headers: vec![],
        body: Box::new(std::io::empty()),
    };
    let caller = ctx("carol").with_rights(WorkspaceRights::Read);
    let mut answer = driver.action(&caller, request).unwrap();
    assert_eq!(answer.status, 200);
    let mut body = String::new();
    std::io::Read::read_to_string(answer.body.as_mut().unwrap(), &mut body).unwrap();
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    let tree = seed::tree();
    let files: Vec<_> = tree.iter().filter(|e| !e.is_dir()).collect();
    assert_eq!(info["archive"], "tree.zip");
    assert_eq!(info["files"], files.len());
    assert_eq!(info["folders"], tree.len() - files.len());
    assert_eq!(
        info["bytes"],
        files.iter().map(|e| e.size.unwrap()).sum::<u64>()
    );
}
