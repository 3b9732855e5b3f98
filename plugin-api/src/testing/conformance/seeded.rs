//! The seeded forms of the cases that create their own input: the same checks, made on the
//! fixture tree ([`seed`](super::seed)) that the workspace already holds, so that a read-only
//! driver runs them too. Each runs in the tree's folder ([`Options::seed`](super::Options)).

use crate::error::ErrorKind;
use crate::types::{join, PageRequest};

use super::fixture::{ensure, fails_with, ok, same, Check, Fixture};
use super::seed::{
    children, tree, SeedEntry, EMPTY_FILE, EMPTY_FOLDER, NAMES_FOLDER, NESTED_FOLDER, PAGES_FOLDER,
    RANGES_FILE,
};
use super::{listing, reading};

/// Passes when the tree is where the options say: two of its entries stat as they should.
/// Run once before the first seeded case, so that a tree put elsewhere (or not at all) gets
/// one clear sentence instead of a failure per case.
pub(super) fn ready(f: &Fixture) -> Check {
    for probe in [RANGES_FILE, PAGES_FOLDER] {
        let want = find(probe);
        let found = f
            .stat(probe)
            .ok()
            .filter(|e| e.is_dir == want.is_dir() && want.size.is_none_or(|size| e.size == size));
        ensure(found.is_some(), || {
            format!(
                "the fixture tree is not in {}: '{}' is missing or differs; write the tree with \
                 `wshost plugins fixture DIR` (in-process: `seed::write_to`) and put the \
                 folder's contents there",
                super::fixture::shown(&f.dir),
                f.path(probe)
            )
        })?;
    }
    Ok(())
}

/// The tree's entry at `path`.
fn find(path: &str) -> SeedEntry {
    let entry = tree().into_iter().find(|e| e.path == path);
    entry.expect("a path of the fixture tree")
}

/// The entries of `folder` as [`listing::check_children`] expects them.
fn expected(folder: &str) -> Vec<(String, Option<u64>)> {
    let name = |e: &SeedEntry| e.path.rsplit('/').next().unwrap_or_default().to_owned();
    children(folder).iter().map(|e| (name(e), e.size)).collect()
}

pub(super) fn list_empty_folder(f: &Fixture) -> Check {
    let entries = f.list_all(EMPTY_FOLDER, f.options.page_limit)?;
    let names: Vec<&str> = entries.iter().map(|e| e.name()).collect();
    ensure(names.is_empty(), || {
        format!(
            "the empty folder '{}' listed {names:?}",
            f.path(EMPTY_FOLDER)
        )
    })
}

pub(super) fn list_pages(f: &Fixture) -> Check {
    listing::check_children(f, PAGES_FOLDER, &expected(PAGES_FOLDER))
}

pub(super) fn list_nested(f: &Fixture) -> Check {
    for folder in [NESTED_FOLDER, "nested/a", "nested/a/b"] {
        listing::check_children(f, folder, &expected(folder))?;
    }
    Ok(())
}

pub(super) fn list_file(f: &Fixture) -> Check {
    let page = PageRequest {
        cursor: None,
        limit: f.options.page_limit,
    };
    let path = f.path(RANGES_FILE);
    let listed = f.driver.list(&f.options.context, &path, page);
    fails_with("list of a file", listed, ErrorKind::Conflict)
}

/// Every entry of the tree that is a folder (`true`) or a file (`false`) stats as itself.
fn stat_every(f: &Fixture, folders: bool) -> Check {
    for entry in tree().into_iter().filter(|e| e.is_dir() == folders) {
        let path = f.path(&entry.path);
        let got = ok(&format!("stat of '{path}'"), f.stat(&entry.path))?;
        same("the path of the stat entry", got.path.as_str(), &path)?;
        same(&format!("is_dir of '{path}'"), got.is_dir, folders)?;
        if let Some(size) = entry.size {
            same(&format!("the size of '{path}'"), got.size, size)?;
        }
    }
    Ok(())
}

pub(super) fn stat_file(f: &Fixture) -> Check {
    stat_every(f, false)
}

pub(super) fn stat_folder(f: &Fixture) -> Check {
    stat_every(f, true)
}

/// Every file of the tree, the empty one and the one past 1 MiB included.
pub(super) fn read_whole(f: &Fixture) -> Check {
    for entry in tree().into_iter().filter(|e| !e.is_dir()) {
        reading::check_whole(f, &entry.path, &entry.content())?;
    }
    Ok(())
}

pub(super) fn read_ranges(f: &Fixture) -> Check {
    reading::check_ranges(f, RANGES_FILE, &find(RANGES_FILE).content())
}

pub(super) fn read_past_end(f: &Fixture) -> Check {
    let size = find(RANGES_FILE).size.unwrap_or_default();
    reading::check_past_end(f, RANGES_FILE, size)
}

pub(super) fn read_zero_length(f: &Fixture) -> Check {
    reading::check_zero_length(f, EMPTY_FILE)
}

pub(super) fn read_folder(f: &Fixture) -> Check {
    let read = f.read(EMPTY_FOLDER, None);
    fails_with("read of a folder", read, ErrorKind::Conflict)
}

/// The unusual names stat, read and list as themselves.
pub(super) fn names(f: &Fixture) -> Check {
    for entry in children(NAMES_FOLDER) {
        let path = f.path(&entry.path);
        let got = ok(&format!("stat of '{path}'"), f.stat(&entry.path))?;
        same(
            &format!("the path stat reports for '{path}'"),
            got.path.as_str(),
            &path,
        )?;
        f.holds(&entry.path, &entry.content())?;
    }
    let listed = f.list_all(NAMES_FOLDER, f.options.page_limit)?;
    let mut got: Vec<String> = listed.into_iter().map(|e| e.path).collect();
    let mut want: Vec<String> = (children(NAMES_FOLDER).into_iter())
        .map(|e| join(&f.dir, &e.path))
        .collect();
    got.sort_unstable();
    want.sort_unstable();
    same("the paths listed", got, want)
}
