//! Stat and read cases: what entries say about files and folders, whole and ranged reads, and
//! the error kinds of reading what is missing, past the end, or a folder.

use crate::error::ErrorKind;
use crate::types::ByteRange;

use super::fixture::{ensure, fails_with, ok, pattern, same, shown, Check, Fixture};

pub(super) fn stat_base(f: &Fixture) -> Check {
    let entry = ok(&format!("stat of {}", shown(&f.dir)), f.stat(""))?;
    same(&format!("is_dir of {}", shown(&f.dir)), entry.is_dir, true)
}

pub(super) fn stat_file(f: &Fixture) -> Check {
    f.put("five.txt", b"12345")?;
    let entry = ok("stat of a file", f.stat("five.txt"))?;
    same(
        "the path of the stat entry",
        entry.path.as_str(),
        &f.path("five.txt"),
    )?;
    same("is_dir of a file", entry.is_dir, false)?;
    same("the size of a 5-byte file", entry.size, 5)
}

pub(super) fn stat_folder(f: &Fixture) -> Check {
    f.folder("sub")?;
    let entry = ok("stat of a folder", f.stat("sub"))?;
    same(
        "the path of the stat entry",
        entry.path.as_str(),
        &f.path("sub"),
    )?;
    same("is_dir of a folder", entry.is_dir, true)
}

pub(super) fn stat_missing(f: &Fixture) -> Check {
    let missing = f.missing();
    f.absent(&missing, "(a missing path)")?;
    f.absent(&format!("{missing}/child"), "(under a missing folder)")
}

pub(super) fn whole(f: &Fixture) -> Check {
    let content = pattern(100_000);
    f.put("whole.bin", &content)?;
    check_whole(f, "whole.bin", &content)
}

/// `rel` reads back whole as `content`, and says so.
pub(super) fn check_whole(f: &Fixture, rel: &str, content: &[u8]) -> Check {
    let (served, got) = ok(&format!("read of {rel}"), f.read(rel, None))?;
    same(
        &format!("the range served for a whole read of {rel}"),
        served.range,
        None,
    )?;
    let size = content.len() as u64;
    same(
        &format!("the entry size of a read of {rel}"),
        served.entry.size,
        size,
    )?;
    ensure(got == content, || {
        let at = got.iter().zip(content).position(|(a, b)| a != b);
        format!(
            "a whole read of {rel} returned {} bytes, expected {size} (first difference at \
             {at:?})",
            got.len()
        )
    })
}

/// Each range of a 1000-byte file reads exactly its bytes; a length past the end is cut.
pub(super) fn ranges(f: &Fixture) -> Check {
    let content = pattern(1000);
    f.put("range.bin", &content)?;
    check_ranges(f, "range.bin", &content)
}

/// The ranges of [`ranges`] on `rel`, a 1000-byte file holding `content`.
pub(super) fn check_ranges(f: &Fixture, rel: &str, content: &[u8]) -> Check {
    let size = content.len() as u64;
    let cases: [(u64, Option<u64>); 8] = [
        (0, Some(10)),
        (10, Some(10)),
        (0, Some(1)),
        (size - 1, Some(1)),
        (size - 10, Some(10)),
        (size - 5, Some(10)),
        (size / 2, None),
        (0, None),
    ];
    for (start, len) in cases {
        let end = len.map_or(size, |l| (start + l).min(size));
        let shown = match len {
            Some(l) => format!("{start}..{}", start + l),
            None => format!("{start}.."),
        };
        let range = ByteRange { start, len };
        let (served, got) = ok(&format!("read of range {shown}"), f.read(rel, Some(range)))?;
        let want = &content[start as usize..end as usize];
        ensure(got.len() == want.len(), || {
            format!(
                "read of range {shown} returned {} bytes, expected {}",
                got.len(),
                want.len()
            )
        })?;
        ensure(got == want, || {
            format!("read of range {shown} returned other bytes than the file's {shown}")
        })?;
        if let Some(r) = served.range {
            let ok_range = r.start == start && r.len.is_none_or(|l| l == end - start);
            ensure(ok_range, || {
                format!(
                    "read of range {shown} says it served {r:?}, expected start {start}, \
                     length {}",
                    end - start
                )
            })?;
        }
    }
    Ok(())
}

pub(super) fn past_end(f: &Fixture) -> Check {
    f.put("short.bin", &pattern(100))?;
    check_past_end(f, "short.bin", 100)
}

/// Ranges of `rel`, a `size`-byte file, that start at or past its end.
pub(super) fn check_past_end(f: &Fixture, rel: &str, size: u64) -> Check {
    for (start, len) in [(size, Some(1)), (size, None), (size + 4900, Some(10))] {
        let range = ByteRange { start, len };
        fails_with(
            &format!("read of range {start}.. of a {size}-byte file"),
            f.read(rel, Some(range)),
            ErrorKind::InvalidRange,
        )?;
    }
    Ok(())
}

pub(super) fn zero_length(f: &Fixture) -> Check {
    f.put("empty.txt", b"")?;
    check_zero_length(f, "empty.txt")
}

/// `rel`, a zero-byte file, reads as empty.
pub(super) fn check_zero_length(f: &Fixture, rel: &str) -> Check {
    let (served, got) = ok("read of a zero-byte file", f.read(rel, None))?;
    same("the bytes read from a zero-byte file", got.len(), 0)?;
    same("the entry size of a zero-byte file", served.entry.size, 0)
}

pub(super) fn missing(f: &Fixture) -> Check {
    let missing = f.missing();
    fails_with(
        "read of missing path",
        f.read(&missing, None),
        ErrorKind::NotFound,
    )
}

pub(super) fn folder(f: &Fixture) -> Check {
    f.folder("sub")?;
    fails_with("read of a folder", f.read("sub", None), ErrorKind::Conflict)
}
