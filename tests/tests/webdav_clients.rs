//! Real WebDAV clients against the door over access.fs: rclone's webdav backend (Debian
//! `rclone`) copying, checking byte for byte, moving and deleting a tree with awkward names and
//! one file of 300 MiB; and a Python client, webdav4 (in tests/.venv, made by tests/setup.sh),
//! running tests/python/webdav_client.py: PROPFIND parsing, PROPPATCH round trips and ETag
//! conditionals. The host's folder on disk is checked after each step.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use wshost_tests::dav::{app_password, require_tool, DavLogin};
use wshost_tests::*;

/// A host with the access.fs workspace `files`, and user `ann` with read-write access to it
/// and an app password.
fn fs_host() -> (Host, DavLogin) {
    let h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    let ann = h.add_user("ann", false);
    h.grant("files", "ann", "rw");
    let login = app_password(&h, &ann, "ann", "clients");
    (h, login)
}

/// Every file below `dir` by its path relative to `dir` ('/'-separated), with its size.
fn files_below(dir: &Path) -> BTreeMap<String, u64> {
    let mut found = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                todo.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir).unwrap().to_owned();
                found.insert(rel.to_str().unwrap().to_owned(), meta.len());
            }
        }
    }
    found
}

/// Whether two files hold the same bytes, read a MiB at a time.
fn same_bytes(a: &Path, b: &Path) -> bool {
    let (mut fa, mut fb) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = read_full(&mut fa, &mut ba);
        let m = read_full(&mut fb, &mut bb);
        if n != m || ba[..n] != bb[..m] {
            return false;
        }
        if n == 0 {
            return true;
        }
    }
}

fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..]).unwrap() {
            0 => break,
            n => got += n,
        }
    }
    got
}

/// Asserts that the tree at `copy` holds exactly the files of `source`, byte for byte.
fn assert_same_tree(source: &Path, copy: &Path, when: &str) {
    let (want, got) = (files_below(source), files_below(copy));
    assert_eq!(got, want, "{when}: the host's folder holds other files");
    for name in want.keys() {
        assert!(
            same_bytes(&source.join(name), &copy.join(name)),
            "{when}: {name} differs on the host's disk"
        );
    }
}

/// The awkward names rclone copies: unicode, spaces, `#`, `%` (with a literal `%20`) and `?`.
const NAMES: &[&str] = &[
    "plain.txt",
    "ünïcødé/日本語 ファイル.txt",
    "with space/a file with spaces.txt",
    "hash#tag.txt",
    "per%cent%20.txt",
    "question?mark.txt",
    "mixed #%? ü/deep/é#1?%.txt",
];

/// The big file's size: 300 MiB, the one large transfer of the suite.
const BIG: u64 = 300 << 20;

/// Writes the source tree into `dir`: a small file per name, and `big/big.bin`.
fn write_tree(dir: &Path) {
    for (i, name) in NAMES.iter().enumerate() {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut bytes = format!("{name}\n").into_bytes();
        bytes.extend(pattern_chunk(100 + i as u64, 0, 1000 * (i + 1)));
        std::fs::write(path, bytes).unwrap();
    }
    std::fs::create_dir_all(dir.join("big")).unwrap();
    let mut big = std::io::BufWriter::new(std::fs::File::create(dir.join("big/big.bin")).unwrap());
    for i in 0..(BIG >> 20) {
        big.write_all(&pattern_chunk(42, i, 1 << 20)).unwrap();
    }
    big.flush().unwrap();
}

/// rclone with a remote `wshost:` of type webdav at `url` (vendor other, Ann's app password
/// obscured as rclone keeps passwords), configured in the environment only.
struct Rclone {
    url: String,
    user: String,
    obscured: String,
    config: PathBuf,
}

impl Rclone {
    fn new(url: String, login: &DavLogin, dir: &Path) -> Rclone {
        require_tool("rclone", "rclone");
        let out = Command::new("rclone")
            .args(["obscure", &login.password])
            .output()
            .expect("run rclone obscure");
        assert!(out.status.success(), "rclone obscure failed");
        // An empty config file of its own: nothing of the machine's rclone config is read.
        std::fs::write(dir.join("rclone.conf"), "").unwrap();
        Rclone {
            url,
            user: login.user.clone(),
            obscured: String::from_utf8(out.stdout).unwrap().trim().to_owned(),
            config: dir.join("rclone.conf"),
        }
    }

    /// Runs `rclone ARGS`: its output. One try per operation, so a failing server shows
    /// rather than being retried past.
    fn run(&self, args: &[&str]) -> Output {
        let out = Command::new("rclone")
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .args(["--retries", "1", "--low-level-retries", "1"])
            .env("RCLONE_CONFIG_WSHOST_TYPE", "webdav")
            .env("RCLONE_CONFIG_WSHOST_URL", &self.url)
            .env("RCLONE_CONFIG_WSHOST_VENDOR", "other")
            .env("RCLONE_CONFIG_WSHOST_USER", &self.user)
            .env("RCLONE_CONFIG_WSHOST_PASS", &self.obscured)
            .output()
            .expect("run rclone");
        eprintln!(
            "rclone {}: {}\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs `rclone ARGS` and asserts it succeeded: its stdout, and its stderr (the log).
    fn ok(&self, args: &[&str]) -> (String, String) {
        let out = self.run(args);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(
            out.status.success(),
            "rclone {} failed:\n{stdout}\n{stderr}",
            args.join(" ")
        );
        (stdout, stderr)
    }
}

#[test]
fn rclone_copies_checks_moves_and_deletes_a_tree_with_awkward_names_and_300_mib() {
    let (h, login) = fs_host();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    write_tree(&source);
    let src = source.to_str().unwrap();
    let rclone = Rclone::new(format!("{}/dav/files/", h.url), &login, work.path());
    let root = h.dir.path().join("root");

    rclone.ok(&["copy", src, "wshost:tree"]);
    assert_same_tree(&source, &root.join("tree"), "after rclone copy");

    // Byte for byte through the door: webdav has no hashes rclone trusts, so --download.
    let (_, log) = rclone.ok(&["check", src, "wshost:tree", "--download"]);
    assert!(log.contains("0 differences found"), "{log}");
    // ... and the check would see a changed byte.
    let victim = root.join("tree/hash#tag.txt");
    let original = std::fs::read(&victim).unwrap();
    let mut changed = original.clone();
    changed[3] ^= 1;
    std::fs::write(&victim, &changed).unwrap();
    let out = rclone.run(&["check", src, "wshost:tree", "--download"]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && text.contains("1 differences found"),
        "rclone check missed a changed byte:\n{text}"
    );
    std::fs::write(&victim, &original).unwrap();

    // The listing as rclone reads it: every name, decoded.
    let (text, _) = rclone.ok(&["lsf", "-R", "--files-only", "wshost:tree"]);
    let mut listed: Vec<&str> = text.lines().collect();
    listed.sort();
    let mut want: Vec<&str> = NAMES.iter().copied().chain(["big/big.bin"]).collect();
    want.sort();
    assert_eq!(listed, want);

    // A move on the server (MOVE with the names in Destination), emptied folders removed.
    rclone.ok(&[
        "move",
        "wshost:tree",
        "wshost:moved",
        "--delete-empty-src-dirs",
    ]);
    assert_eq!(
        files_below(&root.join("tree")),
        BTreeMap::new(),
        "files left behind by the move"
    );
    assert_same_tree(&source, &root.join("moved"), "after rclone move");

    // Deleting some files, then the rest with its folders.
    rclone.ok(&["delete", "wshost:moved", "--include", "*.txt"]);
    let left: Vec<String> = files_below(&root.join("moved")).into_keys().collect();
    assert_eq!(left, vec!["big/big.bin".to_owned()], "after rclone delete");
    rclone.ok(&["purge", "wshost:moved"]);
    assert!(!root.join("moved").exists(), "after rclone purge");
}

/// The venv's python when it has webdav4.
fn webdav4_python() -> PathBuf {
    let python = root().join("tests/.venv/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import webdav4"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        require("the Python venv with webdav4 (tests/.venv, from tests/python/requirements.txt)");
    }
    python
}

#[test]
fn python_webdav4_parses_propfind_round_trips_proppatch_and_honours_etags() {
    let python = webdav4_python();
    let (h, login) = fs_host();
    let out = Command::new(python)
        .arg(root().join("tests/python/webdav_client.py"))
        .arg(format!("{}/dav/files/", h.url))
        .arg(&login.user)
        .env("WEBDAV_PASSWORD", &login.password)
        .output()
        .expect("run tests/python/webdav_client.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success() && stdout.contains(" checks passed"),
        "webdav4 against the door:\n{stdout}\n{stderr}"
    );
    // What the script left, as the host's disk holds it.
    let py = h.dir.path().join("root/py");
    assert_eq!(
        files_below(&py),
        BTreeMap::from([("keep.txt".to_owned(), 5)]),
        "the script's folder on disk"
    );
    assert_eq!(std::fs::read(py.join("keep.txt")).unwrap(), b"kept\n");
    assert!(py.join("sub").is_dir());
    assert_eq!(std::fs::read_dir(py.join("sub")).unwrap().count(), 0);
}
