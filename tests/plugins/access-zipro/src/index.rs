//! The archive's entries, read once from its central directory when a workspace opens: a
//! sorted map from workspace path to what the entry is and where its bytes lie.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use plugin_api::{PluginError, Result};
use zip::CompressionMethod;

/// How an entry's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Stored,
    Deflated,
}

/// One entry of the archive.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Item {
    Folder,
    File {
        /// The uncompressed size.
        size: u64,
        /// Where the (compressed) bytes start in the archive file.
        data_start: u64,
        /// How many bytes they take there.
        compressed: u64,
        method: Method,
    },
}

/// Every entry by normalized path (`a/b.txt`, no slash at either end); the root is implicit,
/// and so is every folder that only appears as the parent of an entry.
pub(crate) type Index = BTreeMap<String, Item>;

/// Reads the central directory of the archive at `path`.
pub(crate) fn read(path: &Path) -> Result<Index> {
    let shown = path.display();
    let file =
        File::open(path).map_err(|e| PluginError::from_io_error(&format!("open {shown}"), e))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
        PluginError::invalid_input(format!("{shown} is not a readable .zip archive: {e}"))
    })?;
    let mut index = Index::new();
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| PluginError::invalid_input(format!("{shown}: entry {i}: {e}")))?;
        let raw = entry
            .name()
            .map_err(|e| PluginError::invalid_input(format!("{shown}: entry {i}: {e}")))?;
        let Some(name) = normalize(&raw) else {
            // An entry outside the archive's tree (`../x`, `/etc/x`) is never served.
            continue;
        };
        let item = if entry.is_dir() {
            Item::Folder
        } else {
            let method = match entry.compression() {
                CompressionMethod::Stored => Method::Stored,
                CompressionMethod::Deflated => Method::Deflated,
                other => {
                    return Err(PluginError::invalid_input(format!(
                        "{shown}: '{name}' is compressed with {other}; this driver reads \
                         stored and deflated entries"
                    )))
                }
            };
            Item::File {
                size: entry.size(),
                data_start: entry.data_start().ok_or_else(|| {
                    PluginError::invalid_input(format!("{shown}: '{name}' has no data offset"))
                })?,
                compressed: entry.compressed_size(),
                method,
            }
        };
        let mut parent = name.as_str();
        while let Some((folder, _)) = parent.rsplit_once('/') {
            index.entry(folder.to_owned()).or_insert(Item::Folder);
            parent = folder;
        }
        index.insert(name, item);
    }
    Ok(index)
}

/// An entry name as a workspace path, or `None` for a name that leaves the tree.
fn normalize(raw: &str) -> Option<String> {
    let parts: Vec<&str> = raw.split('/').filter(|p| !p.is_empty()).collect();
    let inside = !raw.starts_with('/') && parts.iter().all(|p| *p != "." && *p != "..");
    (inside && !parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn names_that_leave_the_tree_are_dropped() {
        assert_eq!(normalize("a/b/").as_deref(), Some("a/b"));
        assert_eq!(normalize("a//b.txt").as_deref(), Some("a/b.txt"));
        for name in ["../x", "/etc/passwd", "a/../../x", "./a", ""] {
            assert_eq!(normalize(name), None, "{name}");
        }
    }
}
