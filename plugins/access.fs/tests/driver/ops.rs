//! Every operation's success, and the error kind of every way it can fail.

use plugin_api::testing::ctx;
use plugin_api::{Capabilities, Driver, ErrorKind};

use crate::support::{kind, plugin, snapshot, Call, Fixture};

#[test]
fn the_plugin_describes_itself() {
    let plugin = plugin();
    assert_eq!(plugin.info.id, "access.fs");
    assert_eq!(plugin.info.version, env!("CARGO_PKG_VERSION"));
    assert!(plugin.info.actions.is_empty());
    assert_eq!(
        Fixture::new().driver.capabilities(),
        Capabilities::ALL | Capabilities::QUICK
    );
}

#[test]
fn stat_describes_files_folders_and_the_root() {
    let fx = Fixture::new();
    fx.put("docs/a.txt", b"hello");
    let file = fx.stat("docs/a.txt").unwrap();
    assert_eq!(
        (file.path.as_str(), file.is_dir, file.size),
        ("docs/a.txt", false, 5)
    );
    assert_eq!(file.mime.as_deref(), Some("text/plain"));
    assert!(file.modified.is_some() && file.etag.is_some());

    for (path, name) in [("docs", "docs"), ("", "")] {
        let dir = fx.stat(path).unwrap();
        assert_eq!((dir.path.as_str(), dir.is_dir, dir.size), (path, true, 0));
        assert_eq!((dir.name(), dir.mime.as_deref()), (name, None));
    }
}

#[test]
fn the_etag_follows_the_content() {
    let fx = Fixture::new();
    let first = fx.write("a.bin", b"one", false).unwrap().etag.unwrap();
    assert_eq!(fx.stat("a.bin").unwrap().etag.unwrap(), first);
    let second = fx.write("a.bin", b"second", true).unwrap().etag.unwrap();
    assert_ne!(first, second);
}

#[test]
fn failures_have_the_documented_kinds_and_change_nothing() {
    use Call::*;
    use ErrorKind::*;
    let fx = Fixture::new();
    fx.put("f.txt", b"x");
    fx.put("d/inner.txt", b"y");
    let before = snapshot(&fx.root());
    let cases = [
        (Stat("missing"), NotFound),
        (Stat("f.txt/x"), NotFound),
        (List("missing"), NotFound),
        (List("f.txt"), Conflict),
        (Read("missing"), NotFound),
        (Read("d"), Conflict),
        (Read(""), Conflict),
        (Write("missing/x", true), NotFound),
        (Write("f.txt", false), AlreadyExists),
        (Write("d", true), Conflict),
        (Write("f.txt/x", true), Conflict),
        (Write("", true), InvalidInput),
        (Mkdir("d"), AlreadyExists),
        (Mkdir("f.txt"), AlreadyExists),
        (Mkdir(""), AlreadyExists),
        (Mkdir("missing/x"), NotFound),
        (Mkdir("f.txt/x"), Conflict),
        (Delete("missing"), NotFound),
        (Delete("missing/x"), NotFound),
        (Delete(""), InvalidInput),
        (Rename("missing", "y"), NotFound),
        (Rename("f.txt", "d"), AlreadyExists),
        (Rename("f.txt", "d/inner.txt"), AlreadyExists),
        (Rename("f.txt", "f.txt"), AlreadyExists),
        (Rename("f.txt", "missing/y"), NotFound),
        (Rename("d", "d/sub"), InvalidInput),
        (Rename("", "x"), InvalidInput),
        (Rename("f.txt", ""), InvalidInput),
        (Copy("missing", "y"), NotFound),
        (Copy("f.txt", "d"), AlreadyExists),
        (Copy("f.txt", "d/inner.txt"), AlreadyExists),
        (Copy("d", "d"), AlreadyExists),
        (Copy("f.txt", "missing/y"), NotFound),
        (Copy("d", "d/sub"), InvalidInput),
        (Copy("", "x"), InvalidInput),
    ];
    for (call, want) in cases {
        let err = fx.call(call).expect_err(&format!("{call:?} must fail"));
        assert_eq!(err.kind, want, "{call:?}: {}", err.message);
        assert!(
            !err.message.contains(fx.root().to_str().unwrap()),
            "{}",
            err.message
        );
        assert_eq!(snapshot(&fx.root()), before, "{call:?} changed the folder");
    }
}

#[test]
fn mkdir_creates_one_folder() {
    let fx = Fixture::new();
    fx.folder("a");
    let entry = fx.driver.mkdir(&ctx("alice"), "a/b").unwrap();
    assert_eq!((entry.path.as_str(), entry.is_dir), ("a/b", true));
    assert!(fx.root().join("a/b").is_dir());
}

#[test]
fn delete_removes_files_and_whole_folders() {
    let fx = Fixture::new();
    fx.put("f.txt", b"x");
    fx.put("d/e/f/deep.txt", b"y");
    fx.put("d/top.txt", b"z");
    for path in ["f.txt", "d"] {
        fx.driver.delete(&ctx("alice"), path).unwrap();
        assert_eq!(kind(fx.stat(path)), ErrorKind::NotFound, "{path}");
    }
    assert!(snapshot(&fx.root()).is_empty());
}

#[test]
fn rename_moves_files_and_folders() {
    let fx = Fixture::new();
    fx.put("a.txt", b"aaa");
    fx.put("d/sub/x.txt", b"xxx");
    fx.folder("target");
    let cases = [
        ("a.txt", "b.txt", false),
        ("b.txt", "target/b.txt", false),
        ("d", "target/d2", true),
    ];
    for (from, to, is_dir) in cases {
        let entry = fx.driver.rename(&ctx("alice"), from, to).unwrap();
        assert_eq!((entry.path.as_str(), entry.is_dir), (to, is_dir));
        assert_eq!(kind(fx.stat(from)), ErrorKind::NotFound, "{from}");
    }
    assert_eq!(fx.disk("target/b.txt").unwrap(), b"aaa");
    assert_eq!(fx.disk("target/d2/sub/x.txt").unwrap(), b"xxx");
}

#[test]
fn copy_duplicates_files_and_folders_recursively() {
    let fx = Fixture::new();
    fx.put("a.txt", b"aaa");
    fx.put("d/sub/x.txt", b"xxx");
    fx.put("d/y.txt", b"");
    fx.folder("d/empty");
    let file = fx
        .driver
        .copy(&ctx("alice"), "a.txt", "d/a-copy.txt")
        .unwrap();
    assert_eq!((file.path.as_str(), file.size), ("d/a-copy.txt", 3));
    let dir = fx.driver.copy(&ctx("alice"), "d", "e").unwrap();
    assert_eq!((dir.path.as_str(), dir.is_dir), ("e", true));

    assert_eq!(fx.disk("a.txt").unwrap(), b"aaa", "the source stays");
    let source = snapshot(&fx.root().join("d"));
    assert_eq!(snapshot(&fx.root().join("e")), source);
    assert_eq!(source.len(), 5, "{source:?}");
    assert!(fx.temp_files().is_empty());
}

#[test]
fn verify_probes_the_folder_and_cleans_up() {
    let fx = Fixture::new();
    let said = fx.driver.verify(&ctx("alice")).unwrap();
    assert_eq!(said, "folder is readable and writable");
    assert!(snapshot(&fx.root()).is_empty());
}
