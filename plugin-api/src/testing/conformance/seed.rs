//! The fixture tree: the files and folders the seeded cases read instead of creating them.
//!
//! A read-only driver cannot create the input of a read case, so the suite defines, as data,
//! a tree that the author puts into the backend once (zip it, upload it, mount it): folders,
//! nested folders, an empty folder, an empty file, files of several sizes whose content is
//! generated from their path and offset, names with spaces and unicode, and a folder of more
//! entries than three pages hold. [`write_to`] writes it to a local folder (`wshost plugins
//! fixture DIR` does exactly that); [`Options::seeded`](super::Options::seeded) then runs
//! every read case against the workspace folder that holds it.
//!
//! ```
//! use plugin_api::testing::conformance::seed;
//!
//! let dir = std::env::temp_dir().join(format!("seed-doc-{}", std::process::id()));
//! seed::write_to(&dir).unwrap();
//! let whole = seed::tree().into_iter().find(|e| e.path == "whole.bin").unwrap();
//! assert_eq!(std::fs::read(dir.join("whole.bin")).unwrap(), whole.content());
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::fs;
use std::io;
use std::path::Path;

use super::fixture::pattern_byte;

/// The empty file.
pub(super) const EMPTY_FILE: &str = "empty.txt";
/// The file the ranged reads read (1000 bytes).
pub(super) const RANGES_FILE: &str = "ranges.bin";
/// The empty folder.
pub(super) const EMPTY_FOLDER: &str = "empty";
/// The folder of more entries than three pages of the default page size hold.
pub(super) const PAGES_FOLDER: &str = "pages";
/// The folder of nested folders.
pub(super) const NESTED_FOLDER: &str = "nested";
/// The folder of unusual names.
pub(super) const NAMES_FOLDER: &str = "names";

/// How many entries [`PAGES_FOLDER`] holds: more than three pages of the default 7.
const PAGE_ENTRIES: usize = 25;

/// One file or folder of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedEntry {
    /// Its path below the tree's folder, `/`-separated, without a leading `/`.
    pub path: String,
    /// Its size in bytes; `None` for a folder.
    pub size: Option<u64>,
}

impl SeedEntry {
    fn file(path: impl Into<String>, size: u64) -> Self {
        SeedEntry {
            path: path.into(),
            size: Some(size),
        }
    }

    fn folder(path: impl Into<String>) -> Self {
        SeedEntry {
            path: path.into(),
            size: None,
        }
    }

    /// True for a folder.
    pub fn is_dir(&self) -> bool {
        self.size.is_none()
    }

    /// A file's content: `size` bytes generated from its path and each byte's offset, so a
    /// driver that serves the wrong file, or a chunk at the wrong offset, is caught. Empty for
    /// a folder.
    pub fn content(&self) -> Vec<u8> {
        let salt = path_salt(&self.path);
        (0..self.size.unwrap_or(0))
            .map(|offset| pattern_byte(offset + salt))
            .collect()
    }
}

/// Every entry of the tree, each folder before what it holds.
pub fn tree() -> Vec<SeedEntry> {
    let mut tree = vec![
        SeedEntry::file(EMPTY_FILE, 0),
        SeedEntry::file("one.txt", 1),
        SeedEntry::file(RANGES_FILE, 1000),
        SeedEntry::file("whole.bin", 100_000),
        // Past 1 MiB and not a multiple of any buffer size: chunk boundaries show.
        SeedEntry::file("large.bin", (1 << 20) + 7),
        SeedEntry::folder(EMPTY_FOLDER),
        SeedEntry::folder(NESTED_FOLDER),
        SeedEntry::folder("nested/a"),
        SeedEntry::file("nested/a/top.txt", 3),
        SeedEntry::folder("nested/a/b"),
        SeedEntry::file("nested/a/b/c.txt", 6),
        SeedEntry::folder(NAMES_FOLDER),
    ];
    // The names of the write.names case, within the Basic Multilingual Plane (Dropbox).
    let names = [
        "with space.txt",
        "ünïcödé 文件.txt",
        "odd +=&%20'chars (1).txt",
        "no-extension",
    ];
    for (i, name) in names.iter().enumerate() {
        tree.push(SeedEntry::file(
            format!("{NAMES_FOLDER}/{name}"),
            10 + i as u64,
        ));
    }
    tree.push(SeedEntry::folder(PAGES_FOLDER));
    for i in 0..PAGE_ENTRIES {
        tree.push(if i % 8 == 3 {
            SeedEntry::folder(format!("{PAGES_FOLDER}/folder-{i:03}"))
        } else {
            SeedEntry::file(format!("{PAGES_FOLDER}/file-{i:03}.txt"), (i % 5) as u64)
        });
    }
    tree
}

/// The entries of the tree directly inside `folder` (`""`: the tree's top).
pub(super) fn children(folder: &str) -> Vec<SeedEntry> {
    let prefix = if folder.is_empty() {
        String::new()
    } else {
        format!("{folder}/")
    };
    let direct = |e: &SeedEntry| {
        e.path
            .strip_prefix(&prefix)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
    };
    tree().into_iter().filter(direct).collect()
}

/// Writes the tree into `dir`, which must be missing or empty (so that nothing of its own is
/// mixed in, and nothing is overwritten). Errors name the path they concern.
pub fn write_to(dir: &Path) -> io::Result<()> {
    let at =
        |path: &Path, e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    fs::create_dir_all(dir).map_err(|e| at(dir, e))?;
    if fs::read_dir(dir).map_err(|e| at(dir, e))?.next().is_some() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} is not empty: the fixture is written into a new or empty folder",
                dir.display()
            ),
        ));
    }
    for entry in tree() {
        let path = dir.join(&entry.path);
        match entry.size {
            None => fs::create_dir(&path),
            Some(_) => fs::write(&path, entry.content()),
        }
        .map_err(|e| at(&path, e))?;
    }
    Ok(())
}

/// A number from the path (FNV-1a), so that files of the same size differ.
fn path_salt(path: &str) -> u64 {
    let hash = path.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    hash & 0xffff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_sits_in_a_folder_listed_before_it() {
        let tree = tree();
        for (i, entry) in tree.iter().enumerate() {
            if let Some((folder, _)) = entry.path.rsplit_once('/') {
                let before = &tree[..i];
                assert!(
                    before.iter().any(|e| e.path == folder && e.is_dir()),
                    "{} comes before its folder {folder}",
                    entry.path
                );
            }
        }
        assert!(children(PAGES_FOLDER).len() > 3 * 7);
        assert_eq!(children("nested/a").len(), 2);
    }

    #[test]
    fn files_of_one_size_differ_and_content_is_stable() {
        let [a, b] = ["pages/file-001.txt", "pages/file-006.txt"].map(|p| SeedEntry::file(p, 64));
        assert_ne!(a.content(), b.content());
        assert_eq!(a.content(), a.content());
        assert_eq!(a.content().len(), 64);
    }

    #[test]
    fn write_to_refuses_a_folder_with_content() {
        let dir = std::env::temp_dir().join(format!("seed-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        write_to(&dir).unwrap();
        let large = fs::metadata(dir.join("large.bin")).unwrap().len();
        assert_eq!(large, (1 << 20) + 7);
        let err = write_to(&dir).unwrap_err();
        assert!(err.to_string().contains("is not empty"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
