//! Write, mkdir and delete cases: new files, overwrites, empty and large streamed bodies,
//! unusual names, folders, and the error kinds of each when the target exists or is missing.

use std::io::Read;

use crate::error::{ErrorKind, PluginError};
use crate::types::Entry;

use super::fixture::{fails_with, ok, pattern_byte, same, Check, Fixture, Generator};

/// The entry answered for a write or mkdir names the path and kind.
fn describes(f: &Fixture, what: &str, entry: &Entry, rel: &str, is_dir: bool) -> Check {
    same(
        &format!("the path of the entry {what} answered"),
        entry.path.as_str(),
        &f.path(rel),
    )?;
    same(
        &format!("is_dir of the entry {what} answered"),
        entry.is_dir,
        is_dir,
    )
}

pub(super) fn new(f: &Fixture) -> Check {
    let entry = f.put("new.txt", b"hello")?;
    describes(f, "write", &entry, "new.txt", false)?;
    same("the size of the entry write answered", entry.size, 5)?;
    same(
        "the size stat reports",
        ok("stat of the new file", f.stat("new.txt"))?.size,
        5,
    )?;
    f.holds("new.txt", b"hello")
}

pub(super) fn overwrite(f: &Fixture) -> Check {
    f.put("file.txt", b"first version, longer")?;
    let entry = ok(
        "write with overwrite of an existing file",
        f.put_with("file.txt", b"second", true),
    )?;
    same(
        "the size of the entry the overwrite answered",
        entry.size,
        6,
    )?;
    f.holds("file.txt", b"second")
}

pub(super) fn no_overwrite(f: &Fixture) -> Check {
    f.put("file.txt", b"original")?;
    fails_with(
        "write without overwrite of an existing file",
        f.put_with("file.txt", b"replacement", false),
        ErrorKind::AlreadyExists,
    )?;
    f.holds("file.txt", b"original")
}

pub(super) fn zero_bytes(f: &Fixture) -> Check {
    let entry = f.put("empty.txt", b"")?;
    same(
        "the size of the entry an empty write answered",
        entry.size,
        0,
    )?;
    let stat = ok("stat of an empty file", f.stat("empty.txt"))?;
    same("the size stat reports for an empty file", stat.size, 0)?;
    f.holds("empty.txt", b"")
}

/// A body of `Options::large_size` bytes, generated on the fly and compared as it is read
/// back, so neither side of the check holds the file in memory.
pub(super) fn large_streamed(f: &Fixture) -> Check {
    let size = f.options.large_size;
    let body = Generator {
        offset: 0,
        len: size,
    };
    let entry = ok(
        &format!("streamed write of {size} bytes"),
        f.upload("large.bin", body, size, false),
    )?;
    same(
        "the size of the entry the large write answered",
        entry.size,
        size,
    )?;
    let what = "read of the large file";
    let mut read = ok(
        what,
        f.driver
            .read(&f.options.context, &f.path("large.bin"), None),
    )?;
    let mut offset = 0u64;
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        let n = match read.content.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let e = PluginError::from_io_error(what, e);
                return Err(format!("{what} failed at byte {offset}: {}", e));
            }
        };
        if let Some(i) = (0..n).find(|&i| chunk[i] != pattern_byte(offset + i as u64)) {
            return Err(format!(
                "the large file reads back different bytes from byte {} on",
                offset + i as u64
            ));
        }
        offset += n as u64;
    }
    same(
        "the number of bytes read back from the large file",
        offset,
        size,
    )
}

/// Names a user may well type, each written, stat'ed, read back and listed.
pub(super) fn names(f: &Fixture) -> Check {
    round_trip_names(
        f,
        &[
            "with space.txt",
            "ünïcödé 文件.txt",
            "odd +=&%20'chars (1).txt",
            "no-extension",
        ],
    )
}

/// Separate from [`names`]: some backends (Dropbox) refuse characters beyond U+FFFF.
pub(super) fn names_astral(f: &Fixture) -> Check {
    round_trip_names(f, &["emoji 🎉 party.txt", "𝔪𝔞𝔱𝔥.txt"])
}

fn round_trip_names(f: &Fixture, names: &[&str]) -> Check {
    for &name in names {
        let entry = ok(
            &format!("write of '{name}'"),
            f.put_with(name, name.as_bytes(), false),
        )?;
        describes(f, &format!("the write of '{name}'"), &entry, name, false)?;
        let stat = ok(&format!("stat of '{name}'"), f.stat(name))?;
        same(
            &format!("the path stat reports for '{name}'"),
            stat.path.as_str(),
            &f.path(name),
        )?;
        f.holds(name, name.as_bytes())?;
    }
    let listed = f.list_all("", f.options.page_limit)?;
    let mut got: Vec<&str> = listed.iter().map(Entry::name).collect();
    let mut want = names.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    same("the names listed", got, want)
}

pub(super) fn mkdir_new(f: &Fixture) -> Check {
    let entry = ok("mkdir of a new folder", f.mkdir("made"))?;
    describes(f, "mkdir", &entry, "made", true)?;
    let stat = ok("stat of the new folder", f.stat("made"))?;
    same("is_dir of the new folder", stat.is_dir, true)
}

pub(super) fn mkdir_exists(f: &Fixture) -> Check {
    f.folder("twice")?;
    fails_with(
        "mkdir of an existing folder",
        f.mkdir("twice"),
        ErrorKind::AlreadyExists,
    )
}

pub(super) fn mkdir_parent_missing(f: &Fixture) -> Check {
    let path = format!("{}/child", f.missing());
    fails_with(
        "mkdir in a missing folder",
        f.mkdir(&path),
        ErrorKind::NotFound,
    )
}

pub(super) fn delete_file(f: &Fixture) -> Check {
    f.put("doomed.txt", b"bye")?;
    f.put("kept.txt", b"stays")?;
    ok("delete of a file", f.delete("doomed.txt"))?;
    f.absent("doomed.txt", "after deleting it")?;
    f.holds("kept.txt", b"stays")
}

pub(super) fn delete_folder(f: &Fixture) -> Check {
    f.folder("tree")?;
    f.folder("tree/sub")?;
    f.put("tree/a.txt", b"a")?;
    f.put("tree/sub/b.txt", b"b")?;
    ok("delete of a folder with content", f.delete("tree"))?;
    f.absent("tree", "after deleting it")?;
    f.absent("tree/sub/b.txt", "after deleting its folder")
}

pub(super) fn delete_missing(f: &Fixture) -> Check {
    let missing = f.missing();
    fails_with(
        "delete of missing path",
        f.delete(&missing),
        ErrorKind::NotFound,
    )
}
