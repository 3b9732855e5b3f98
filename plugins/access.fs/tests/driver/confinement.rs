//! Path confinement: nothing outside ROOT is read, written, listed, moved or deleted, whether
//! the way out is `..`, an absolute path, or a symlink (relative or absolute, to a folder or
//! to a file) planted inside ROOT.
//!
//! Operations that could modify their target are aimed at a file of our own outside ROOT;
//! `/etc/passwd` only serves read-only operations, so that a bug could not damage the machine.

use std::fs;

use plugin_api::testing::ctx;
use plugin_api::{Driver, ErrorKind};

use crate::support::{kind, snapshot, Call, Fixture};

const SECRET: &[u8] = b"top secret";

/// A workspace whose ROOT holds every kind of symlink, beside an `outside/` folder.
fn planted() -> Fixture {
    let fx = Fixture::new();
    fs::write(fx.outside().join("secret.txt"), SECRET).unwrap();
    fx.put("inside/f.txt", b"inside");
    fx.link("out", "../outside"); // relative, to a folder outside
    fx.link("abs", fx.outside()); // absolute, to a folder outside
    fx.link("secret", fx.outside().join("secret.txt")); // absolute, to a file outside
    fx.link("passwd", "/etc/passwd");
    fx.link("dangling", "nowhere");
    fx.link("in_link", "inside"); // relative, to a folder inside
    fx.link("in_file", "inside/f.txt");
    fx
}

#[test]
fn nothing_is_reached_through_a_link_out() {
    use Call::*;
    let fx = planted();
    let outside = snapshot(&fx.outside());
    let passwd = fs::read("/etc/passwd").ok();
    let cases = [
        Stat("out/secret.txt"),
        Stat("abs/secret.txt"),
        List("out"),
        List("abs"),
        Read("out/secret.txt"),
        Read("abs/secret.txt"),
        Read("secret"),
        Read("passwd"),
        Write("out/secret.txt", true),
        Write("out/new.txt", false),
        Write("abs/new.txt", false),
        Mkdir("out/newdir"),
        Mkdir("abs/newdir"),
        Delete("out/secret.txt"),
        Delete("abs/secret.txt"),
        Rename("out/secret.txt", "stolen.txt"),
        Rename("inside/f.txt", "out/planted.txt"),
        Rename("inside", "abs/planted"),
        Copy("out/secret.txt", "stolen.txt"),
        Copy("secret", "stolen.txt"),
        Copy("passwd", "stolen.txt"),
        Copy("inside/f.txt", "out/planted.txt"),
        Copy("inside", "abs/planted"),
    ];
    for call in cases {
        let err = fx.call(call).expect_err(&format!("{call:?} must fail"));
        assert_eq!(
            err.kind,
            ErrorKind::PermissionDenied,
            "{call:?}: {}",
            err.message
        );
        assert!(
            !err.message.contains(fx.outside().to_str().unwrap()),
            "{}",
            err.message
        );
        assert_eq!(snapshot(&fx.outside()), outside, "{call:?} touched outside");
    }
    assert_eq!(fx.disk("inside/f.txt").unwrap(), b"inside");
    assert_eq!(kind(fx.stat("stolen.txt")), ErrorKind::NotFound);
    assert_eq!(fs::read("/etc/passwd").ok(), passwd);
}

#[test]
fn links_out_show_as_empty_files_and_links_in_as_their_targets() {
    let fx = planted();
    let entries = fx.list("").unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.name()).collect();
    assert_eq!(
        names,
        ["abs", "dangling", "in_file", "in_link", "inside", "out", "passwd", "secret"]
    );
    for entry in &entries {
        let (is_dir, size) = match entry.name() {
            "in_link" | "inside" => (true, 0),
            "in_file" => (false, 6),
            _ => (false, 0), // escaping or dangling: nothing about the target shows
        };
        assert_eq!(
            (entry.is_dir, entry.size),
            (is_dir, size),
            "{}",
            entry.name()
        );
        assert_eq!(
            fx.stat(&entry.path).unwrap(),
            *entry,
            "stat agrees with list"
        );
    }
    let link_out = fx.stat("passwd").unwrap();
    assert_eq!((link_out.mime, link_out.etag), (None, None));
}

#[test]
fn links_inside_root_work_as_their_targets() {
    let fx = planted();
    assert_eq!(fx.read("in_file", None).unwrap(), b"inside");
    assert_eq!(fx.read("in_link/f.txt", None).unwrap(), b"inside");
    assert_eq!(fx.names("in_link"), ["f.txt"]);
    assert_eq!(fx.list("in_link").unwrap()[0].path, "in_link/f.txt");
    assert_eq!(kind(fx.read("dangling", None)), ErrorKind::NotFound);
    assert_eq!(kind(fx.write("in_link", b"x", true)), ErrorKind::Conflict);
}

#[test]
fn writes_replace_links_instead_of_writing_through_them() {
    let fx = planted();
    assert_eq!(
        kind(fx.write("secret", b"new", false)),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(fx.write("dangling", b"new", false)),
        ErrorKind::AlreadyExists
    );
    fx.write("secret", b"replaced", true).unwrap();
    fx.write("in_file", b"replaced too", true).unwrap();
    assert!(!fs::symlink_metadata(fx.root().join("secret"))
        .unwrap()
        .is_symlink());
    assert_eq!(fx.disk("secret").unwrap(), b"replaced");
    assert_eq!(fx.disk("in_file").unwrap(), b"replaced too");
    assert_eq!(
        fx.disk("inside/f.txt").unwrap(),
        b"inside",
        "the link's target stays"
    );
    assert_eq!(fs::read(fx.outside().join("secret.txt")).unwrap(), SECRET);
}

#[test]
fn delete_and_rename_act_on_links_themselves() {
    let fx = planted();
    let outside = snapshot(&fx.outside());
    let c = ctx("alice");
    assert_eq!(
        kind(fx.driver.rename(&c, "inside/f.txt", "secret")),
        ErrorKind::AlreadyExists
    );
    fx.driver.rename(&c, "out", "moved").unwrap();
    let moved = fs::read_link(fx.root().join("moved")).unwrap();
    assert_eq!(
        moved,
        std::path::Path::new("../outside"),
        "the link moved, not its target"
    );
    for path in ["moved", "abs", "secret", "passwd", "dangling", "in_link"] {
        fx.driver.delete(&c, path).unwrap();
        assert!(
            fs::symlink_metadata(fx.root().join(path)).is_err(),
            "{path}"
        );
    }
    assert_eq!(snapshot(&fx.outside()), outside);
    assert_eq!(fx.disk("inside/f.txt").unwrap(), b"inside");
    assert!(fs::metadata("/etc/passwd").is_ok());
}

#[test]
fn copies_recreate_links_without_following_them() {
    let fx = planted();
    let outside = snapshot(&fx.outside());
    fx.put("box/f.txt", b"f");
    fx.link("box/up", "../../outside");
    fx.link("box/loop", ".."); // following it would copy forever
    fx.driver.copy(&ctx("alice"), "box", "box2").unwrap();
    for name in ["up", "loop"] {
        let copied = fs::read_link(fx.root().join("box2").join(name)).unwrap();
        assert_eq!(
            copied,
            fs::read_link(fx.root().join("box").join(name)).unwrap()
        );
    }
    assert_eq!(fx.disk("box2/f.txt").unwrap(), b"f");
    assert_eq!(
        kind(fx.read("box2/up/secret.txt", None)),
        ErrorKind::PermissionDenied
    );
    assert_eq!(snapshot(&fx.outside()), outside);
}

#[test]
fn a_folder_is_not_copied_into_itself_through_a_link() {
    let fx = planted();
    let before = snapshot(&fx.root());
    let c = ctx("alice");
    assert_eq!(
        kind(fx.driver.copy(&c, "in_link", "inside/x")),
        ErrorKind::InvalidInput
    );
    fx.link("inside/root_link", "..");
    let before_root = snapshot(&fx.root());
    assert_eq!(
        kind(fx.driver.copy(&c, "inside/root_link", "inside/y")),
        ErrorKind::InvalidInput
    );
    assert_eq!(snapshot(&fx.root()), before_root);
    assert_ne!(before, before_root);
}

#[test]
fn dot_dot_and_absolute_paths_are_refused() {
    let fx = planted();
    let bad = [
        "..",
        "../outside/secret.txt",
        "inside/../../outside/secret.txt",
        "/etc/passwd",
        "a//b",
        "a/./b",
        "trailing/",
        "nul\0byte",
    ];
    let before = snapshot(&fx.root());
    for path in bad {
        let calls: [fn(&'static str) -> Call; 10] = [
            Call::Stat,
            Call::List,
            Call::Read,
            |p| Call::Write(p, true),
            Call::Mkdir,
            Call::Delete,
            |p| Call::Rename(p, "x"),
            |p| Call::Rename("inside/f.txt", p),
            |p| Call::Copy(p, "x"),
            |p| Call::Copy("inside/f.txt", p),
        ];
        for make in calls {
            let call = make(path);
            assert_eq!(kind(fx.call(call)), ErrorKind::InvalidInput, "{call:?}");
        }
    }
    assert_eq!(snapshot(&fx.root()), before);
}
