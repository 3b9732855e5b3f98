//! Listing cases: paging without duplicates or gaps, a stable order, nested folders, and the
//! error kinds of listing what is not a folder.

use crate::error::ErrorKind;
use crate::types::{join, Entry};

use super::fixture::{ensure, fails_with, ok, same, Check, Fixture};

/// The names of `entries`, in order.
fn names(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(Entry::name).collect()
}

/// The base folder lists consistently: twice with the small page size, once with a larger one.
pub(super) fn base(f: &Fixture) -> Check {
    let limit = f.options.page_limit;
    let first = f.list_all("", limit)?;
    let again = f.list_all("", limit)?;
    let larger = f.list_all("", limit.saturating_mul(10))?;
    same_order(&first, &again, "two listings with the same page size")?;
    same_order(&first, &larger, "listings with different page sizes")
}

fn same_order(a: &[Entry], b: &[Entry], what: &str) -> Check {
    ensure(names(a) == names(b), || {
        format!(
            "{what} came back in different orders (or with different entries): {:?} then {:?}",
            names(a),
            names(b)
        )
    })
}

pub(super) fn empty_folder(f: &Fixture) -> Check {
    let entries = f.list_all("", f.options.page_limit)?;
    ensure(entries.is_empty(), || {
        format!(
            "an empty folder listed {:?}, expected nothing",
            names(&entries)
        )
    })
}

/// More entries than four pages hold, files and folders mixed.
pub(super) fn pages(f: &Fixture) -> Check {
    let limit = f.options.page_limit.max(1);
    let count = limit as usize * 3 + 5;
    let mut expected: Vec<(String, Option<u64>)> = Vec::new();
    for i in 0..count {
        if i % 8 == 3 {
            let name = format!("folder-{i:03}");
            f.folder(&name)?;
            expected.push((name, None));
        } else {
            let name = format!("file-{i:03}.txt");
            f.put(&name, &vec![b'x'; i % 5])?;
            expected.push((name, Some((i % 5) as u64)));
        }
    }
    check_children(f, "", &expected)
}

/// The folder `rel` lists exactly `expected` (name, and size for a file or `None` for a
/// folder) across small pages, twice in the same order, and in that order with another page
/// size.
pub(super) fn check_children(f: &Fixture, rel: &str, expected: &[(String, Option<u64>)]) -> Check {
    let limit = f.options.page_limit.max(1);
    let count = expected.len();
    let first = f.list_all(rel, limit)?;
    let listed = names(&first);
    let gaps: Vec<&str> = (expected.iter())
        .map(|(n, _)| n.as_str())
        .filter(|n| !listed.contains(n))
        .collect();
    ensure(gaps.is_empty(), || {
        format!("the listing (page size {limit}) misses {gaps:?} of {count} entries")
    })?;
    let extra: Vec<&str> = (listed.iter().copied())
        .filter(|n| !expected.iter().any(|(e, _)| e == n))
        .collect();
    ensure(extra.is_empty(), || {
        format!("the listing shows {extra:?}, which should not be there")
    })?;
    for entry in &first {
        let (_, size) = expected.iter().find(|(n, _)| n == entry.name()).unwrap();
        same(
            &format!("is_dir of listed '{}'", entry.path),
            entry.is_dir,
            size.is_none(),
        )?;
        if let Some(size) = size {
            same(
                &format!("size of listed '{}'", entry.path),
                entry.size,
                *size,
            )?;
        }
    }
    same_order(
        &first,
        &f.list_all(rel, limit)?,
        "two listings with the same page size",
    )?;
    same_order(
        &first,
        &f.list_all(rel, limit + 3)?,
        "listings with different page sizes",
    )
}

/// A listed child as (name, is_dir, size); folders count as size 0.
type Child = (&'static str, bool, u64);

/// `a/b/c.txt`: each folder lists only its own children, by their full paths.
pub(super) fn nested(f: &Fixture) -> Check {
    f.folder("a")?;
    f.folder("a/b")?;
    f.put("a/b/c.txt", b"nested")?;
    f.put("a/top.txt", b"top")?;
    let cases: [(&str, &[Child]); 3] = [
        ("", &[("a", true, 0)]),
        ("a", &[("b", true, 0), ("top.txt", false, 3)]),
        ("a/b", &[("c.txt", false, 6)]),
    ];
    for (dir, want) in cases {
        let mut got = f.list_all(dir, f.options.page_limit)?;
        got.sort_by(|x, y| x.path.cmp(&y.path));
        let got: Vec<(String, bool, u64)> = (got.into_iter())
            .map(|e| (e.path, e.is_dir, if e.is_dir { 0 } else { e.size }))
            .collect();
        let want: Vec<(String, bool, u64)> = (want.iter())
            .map(|(n, d, s)| (join(&f.path(dir), n), *d, *s))
            .collect();
        same(
            &format!("the listing of {} as (path, is_dir, size)", f.path(dir)),
            got,
            want,
        )?;
    }
    Ok(())
}

pub(super) fn missing(f: &Fixture) -> Check {
    let path = f.path(&f.missing());
    let what = format!("list of missing folder '{path}'");
    let page = crate::types::PageRequest {
        cursor: None,
        limit: f.options.page_limit,
    };
    fails_with(
        &what,
        f.driver.list(&f.options.context, &path, page),
        ErrorKind::NotFound,
    )
}

pub(super) fn file(f: &Fixture) -> Check {
    f.put("plain.txt", b"not a folder")?;
    let page = crate::types::PageRequest {
        cursor: None,
        limit: f.options.page_limit,
    };
    let path = f.path("plain.txt");
    let listed = f.driver.list(&f.options.context, &path, page);
    fails_with("list of a file", listed, ErrorKind::Conflict)?;
    ok("stat of the file after listing it", f.stat("plain.txt")).map(drop)
}
