//! Uploads: new files, replacements, big and empty bodies, and bodies that fail part-way,
//! which must leave the previous version intact and no temporary file behind.

use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;

use plugin_api::ErrorKind;

use crate::support::{kind, Fixture};

/// A body that yields `good` bytes, then fails the way a client disconnect does.
struct Interrupted {
    good: usize,
}

impl Read for Interrupted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.good == 0 {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "client went away",
            ));
        }
        let n = buf.len().min(self.good).min(1000);
        buf[..n].fill(b'z');
        self.good -= n;
        Ok(n)
    }
}

#[test]
fn writes_create_and_replace_files() {
    let fx = Fixture::new();
    let entry = fx.write("notes.md", b"first", false).unwrap();
    assert_eq!(
        (entry.path.as_str(), entry.size, entry.is_dir),
        ("notes.md", 5, false)
    );
    assert_eq!(entry.mime.as_deref(), Some("text/markdown"));
    let entry = fx.write("notes.md", b"second version", true).unwrap();
    assert_eq!(entry.size, 14);
    assert_eq!(fx.disk("notes.md").unwrap(), b"second version");
    assert!(fx.temp_files().is_empty());
}

#[test]
fn bodies_of_every_size_arrive_intact() {
    let fx = Fixture::new();
    for size in [0usize, 1, 256 * 1024, 3 * 1024 * 1024 + 5] {
        let data: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
        let path = format!("f{size}.bin");
        let entry = fx.write(&path, &data, false).unwrap();
        assert_eq!(entry.size, size as u64);
        assert_eq!(fx.disk(&path).unwrap(), data, "{size}");
    }
    assert!(fx.temp_files().is_empty());
}

#[test]
fn an_interrupted_upload_leaves_everything_as_it_was() {
    let fx = Fixture::new();
    fx.put("d/old.txt", b"previous version");
    // (target, overwrite, bytes before the failure)
    let cases = [
        ("d/old.txt", true, 0),
        ("d/old.txt", true, 300_000),
        ("d/new.txt", false, 10),
        ("d/new.txt", true, 600_000),
    ];
    for (path, overwrite, good) in cases {
        let err = fx
            .upload(path, Interrupted { good }, overwrite, None)
            .expect_err("the upload must fail");
        assert_eq!(err.kind, ErrorKind::Unavailable, "{}", err.message);
        assert!(err.message.contains(path), "{}", err.message);
        assert_eq!(fx.disk("d/old.txt").unwrap(), b"previous version");
        assert_eq!(fx.disk("d/new.txt"), None);
        assert!(fx.temp_files().is_empty(), "{:?}", fx.temp_files());
    }
    assert_eq!(fx.names("d"), ["old.txt"]);
}

#[test]
fn a_body_shorter_than_announced_is_refused() {
    let fx = Fixture::new();
    fx.put("a.txt", b"previous");
    let short = fx.upload("a.txt", &b"12345"[..], true, Some(6));
    assert_eq!(kind(short), ErrorKind::InvalidInput);
    let long = fx.upload("a.txt", &b"1234567"[..], true, Some(6));
    assert_eq!(kind(long), ErrorKind::InvalidInput);
    assert_eq!(fx.disk("a.txt").unwrap(), b"previous");
    assert!(fx.temp_files().is_empty());
    fx.upload("a.txt", &b"123456"[..], true, Some(6)).unwrap();
    fx.upload("b.txt", &b"unknown size"[..], false, None)
        .unwrap();
    assert_eq!(fx.disk("a.txt").unwrap(), b"123456");
}

#[test]
fn a_replaced_file_keeps_its_mode() {
    let fx = Fixture::new();
    fx.put("run.sh", b"#!/bin/sh\n");
    let path = fx.root().join("run.sh");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o750)).unwrap();
    fx.write("run.sh", b"#!/bin/sh\necho hi\n", true).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o750);
}
