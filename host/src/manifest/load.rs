//! Reading manifests from disk: one file, or every `*.toml` directly inside some directories.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::ManifestError;
use super::model::Manifest;
use super::parse::parse;

/// Reads and parses the manifest at `path`.
pub(crate) fn load_file(path: &Path) -> Result<Manifest, ManifestError> {
    let text = fs::read_to_string(path).map_err(|source| ManifestError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Every `*.toml` directly in each dir, sorted by file name; a missing dir is an error entry too.
///
/// Directories are read in the order given; a file that cannot be read or parsed is an error
/// entry and does not stop the others. Two manifests with the same id are both returned: the
/// registry decides between them.
pub(crate) fn load_dirs(dirs: &[PathBuf]) -> (Vec<Manifest>, Vec<ManifestError>) {
    let mut manifests = Vec::new();
    let mut errors = Vec::new();
    for dir in dirs {
        match toml_files(dir) {
            Ok(files) => {
                for file in files {
                    match load_file(&file) {
                        Ok(m) => manifests.push(m),
                        Err(e) => errors.push(e),
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    (manifests, errors)
}

/// The `*.toml` files (following symlinks) directly in `dir`, sorted by file name.
fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, ManifestError> {
    let read_dir_error = |source| ManifestError::ReadDir {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_dir_error)? {
        let path = entry.map_err(read_dir_error)?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::super::samples::{ACCESS_FS, DROPBOX_SKETCH};
    use super::*;

    /// A temporary directory holding `files` (name, content).
    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            fs::write(dir.path().join(name), content).unwrap();
        }
        dir
    }

    fn ids(manifests: &[Manifest]) -> Vec<&str> {
        manifests.iter().map(|m| m.id.as_str()).collect()
    }

    #[test]
    fn load_file_keeps_the_source_and_names_unreadable_files() {
        let dir = dir_with(&[("access.fs.toml", ACCESS_FS)]);
        fs::write(dir.path().join("latin1.toml"), b"label = \"\xe9\"").unwrap();
        let path = dir.path().join("access.fs.toml");
        assert_eq!(load_file(&path).unwrap().source, path);
        for name in ["missing.toml", "latin1.toml"] {
            let err = load_file(&dir.path().join(name)).unwrap_err();
            assert!(matches!(err, ManifestError::Read { .. }), "{name}: {err}");
            assert!(err.to_string().starts_with(&format!(
                "{}: cannot read manifest: ",
                dir.path().join(name).display()
            )));
        }
    }

    #[test]
    fn load_dirs_reads_toml_files_sorted_and_reports_each_failure() {
        let first = dir_with(&[
            ("b.toml", ACCESS_FS),
            ("a.toml", DROPBOX_SKETCH),
            ("c.toml", "id = 1\n"),
            ("notes.txt", "not a manifest"),
            ("d.toml.bak", "not a manifest"),
        ]);
        fs::create_dir(first.path().join("sub.toml")).unwrap();
        let second = dir_with(&[("again.toml", ACCESS_FS)]);
        let missing = first.path().join("nowhere");
        let dirs = [
            first.path().to_path_buf(),
            missing.clone(),
            second.path().to_path_buf(),
        ];
        let (manifests, errors) = load_dirs(&dirs);
        assert_eq!(
            ids(&manifests),
            ["access.dropbox", "access.fs", "access.fs"]
        );
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 2, "{shown:#?}");
        let bad = first.path().join("c.toml");
        assert!(
            shown[0].starts_with(&format!("{}:1:6: id: invalid type", bad.display())),
            "{}",
            shown[0]
        );
        assert_eq!(errors[0].path(), bad);
        assert!(
            shown[1].starts_with(&format!(
                "{}: cannot list manifest directory",
                missing.display()
            )),
            "{}",
            shown[1]
        );
        assert_eq!(errors[1].path(), missing);
    }

    #[test]
    fn load_dirs_of_nothing_is_empty() {
        let empty = dir_with(&[]);
        let (manifests, errors) = load_dirs(&[empty.path().to_path_buf()]);
        assert!(manifests.is_empty() && errors.is_empty());
        assert_eq!(load_dirs(&[]).0.len(), 0);
    }
}
