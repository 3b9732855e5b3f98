//! Rename (move) and copy cases, written once for both operations — they differ only in
//! whether the source is still there afterwards — and the verify case.

use std::fmt;

use crate::error::{ErrorKind, Result};
use crate::types::Entry;

use super::fixture::{ensure, fails_with, ok, same, Check, Fixture};

/// The two operations that take a source and a target path.
#[derive(Debug, Clone, Copy)]
enum Op {
    Rename,
    Copy,
}

impl Op {
    fn call(self, f: &Fixture, from: &str, to: &str) -> Result<Entry> {
        match self {
            Op::Rename => f.rename(from, to),
            Op::Copy => f.copy(from, to),
        }
    }

    /// Passes when the source `rel` is where it should be afterwards, holding `content`
    /// (a file) or `None` (a folder).
    fn source_after(self, f: &Fixture, rel: &str, content: Option<&[u8]>) -> Check {
        match (self, content) {
            (Op::Rename, _) => f.absent(rel, "after renaming it"),
            (Op::Copy, Some(content)) => f.holds(rel, content),
            (Op::Copy, None) => {
                let entry = ok(&format!("stat of {rel} after copying it"), f.stat(rel))?;
                same(
                    &format!("is_dir of {rel} after copying it"),
                    entry.is_dir,
                    true,
                )
            }
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Rename => "rename",
            Op::Copy => "copy",
        })
    }
}

fn file(f: &Fixture, op: Op) -> Check {
    f.put("a.txt", b"abc")?;
    let entry = ok(&format!("{op} of a file"), op.call(f, "a.txt", "b.txt"))?;
    same(
        &format!("the path of the entry {op} answered"),
        entry.path.as_str(),
        &f.path("b.txt"),
    )?;
    same(
        &format!("the size of the entry {op} answered"),
        entry.size,
        3,
    )?;
    f.holds("b.txt", b"abc")?;
    op.source_after(f, "a.txt", Some(b"abc"))
}

fn into_folder(f: &Fixture, op: Op) -> Check {
    f.folder("dest")?;
    f.put("a.txt", b"moving")?;
    let entry = ok(
        &format!("{op} of a file into a folder"),
        op.call(f, "a.txt", "dest/a.txt"),
    )?;
    same(
        &format!("the path of the entry {op} answered"),
        entry.path.as_str(),
        &f.path("dest/a.txt"),
    )?;
    f.holds("dest/a.txt", b"moving")?;
    op.source_after(f, "a.txt", Some(b"moving"))
}

fn folder(f: &Fixture, op: Op) -> Check {
    f.folder("src")?;
    f.folder("src/sub")?;
    f.put("src/x.txt", b"x")?;
    f.put("src/sub/y.txt", b"yy")?;
    let entry = ok(&format!("{op} of a folder"), op.call(f, "src", "dst"))?;
    same(
        &format!("the path of the entry {op} answered"),
        entry.path.as_str(),
        &f.path("dst"),
    )?;
    same(
        &format!("is_dir of the entry {op} answered"),
        entry.is_dir,
        true,
    )?;
    f.holds("dst/x.txt", b"x")?;
    f.holds("dst/sub/y.txt", b"yy")?;
    op.source_after(f, "src", None)?;
    match op {
        Op::Copy => f.holds("src/sub/y.txt", b"yy"),
        Op::Rename => Ok(()),
    }
}

fn onto_existing(f: &Fixture, op: Op) -> Check {
    f.put("a.txt", b"a")?;
    f.put("b.txt", b"b")?;
    f.folder("d")?;
    for (target, what) in [("b.txt", "an existing file"), ("d", "an existing folder")] {
        fails_with(
            &format!("{op} of a file onto {what}"),
            op.call(f, "a.txt", target),
            ErrorKind::AlreadyExists,
        )?;
    }
    f.holds("a.txt", b"a")?;
    f.holds("b.txt", b"b")?;
    let d = ok(
        "stat of the folder after the refused operations",
        f.stat("d"),
    )?;
    ensure(d.is_dir, || {
        format!("{op} onto a folder replaced it with a file")
    })
}

fn missing_source(f: &Fixture, op: Op) -> Check {
    let missing = f.missing();
    fails_with(
        &format!("{op} of missing path"),
        op.call(f, &missing, "target.txt"),
        ErrorKind::NotFound,
    )?;
    f.absent("target.txt", &format!("after a refused {op}"))
}

pub(super) fn rename_file(f: &Fixture) -> Check {
    file(f, Op::Rename)
}
pub(super) fn rename_into_folder(f: &Fixture) -> Check {
    into_folder(f, Op::Rename)
}
pub(super) fn rename_folder(f: &Fixture) -> Check {
    folder(f, Op::Rename)
}
pub(super) fn rename_onto_existing(f: &Fixture) -> Check {
    onto_existing(f, Op::Rename)
}
pub(super) fn rename_missing_source(f: &Fixture) -> Check {
    missing_source(f, Op::Rename)
}
pub(super) fn copy_file(f: &Fixture) -> Check {
    file(f, Op::Copy)
}
pub(super) fn copy_into_folder(f: &Fixture) -> Check {
    into_folder(f, Op::Copy)
}
pub(super) fn copy_folder(f: &Fixture) -> Check {
    folder(f, Op::Copy)
}
pub(super) fn copy_onto_existing(f: &Fixture) -> Check {
    onto_existing(f, Op::Copy)
}
pub(super) fn copy_missing_source(f: &Fixture) -> Check {
    missing_source(f, Op::Copy)
}

pub(super) fn verify(f: &Fixture) -> Check {
    let sentence = ok("verify", f.driver.verify(&f.options.context))?;
    ensure(!sentence.trim().is_empty(), || {
        "verify answered an empty sentence, expected one for the admin".to_owned()
    })
}
