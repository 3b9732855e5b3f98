//! The fake's in-memory Dropbox: a tree keyed by lower-cased path with the display case
//! preserved, ids `id:…`, revs, timestamps and Dropbox's content_hash; plus the metadata JSON
//! exactly as Dropbox writes it (`.tag` only where the declared type is the `Metadata` union).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use rand::Rng;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Dropbox's content_hash block size.
const BLOCK: usize = 4 * 1024 * 1024;

/// Dropbox's content_hash: SHA-256 over the concatenated SHA-256 digests of 4 MiB blocks, hex.
pub fn content_hash(bytes: &[u8]) -> String {
    let mut overall = Sha256::new();
    for block in bytes.chunks(BLOCK) {
        overall.update(Sha256::digest(block));
    }
    hex(&overall.finalize())
}

/// Dropbox's content_hash fed as the bytes arrive, each 4 MiB block hashed once, the way
/// Dropbox's block store does: an upload session keeps one, so finishing it composes the
/// file's hash from the block digests instead of hashing the whole file again.
#[derive(Clone, Default)]
pub(crate) struct BlockHasher {
    overall: Sha256,
    block: Sha256,
    in_block: usize,
}

impl BlockHasher {
    /// Adds the bytes of one request and answers their own content_hash (what a request's
    /// `content_hash` covers). When they start on a block boundary (every request of a
    /// session whose chunks are multiples of 4 MiB), both hashes share the block digests.
    pub(crate) fn add(&mut self, mut data: &[u8]) -> String {
        if self.in_block != 0 {
            let own = content_hash(data);
            while !data.is_empty() {
                let take = (BLOCK - self.in_block).min(data.len());
                self.block.update(&data[..take]);
                self.in_block += take;
                data = &data[take..];
                if self.in_block == BLOCK {
                    let digest = std::mem::take(&mut self.block).finalize();
                    self.overall.update(digest);
                    self.in_block = 0;
                }
            }
            return own;
        }
        let mut own = Sha256::new();
        for block in data.chunks(BLOCK) {
            let mut h = Sha256::new();
            h.update(block);
            if block.len() == BLOCK {
                let digest = h.finalize();
                own.update(digest);
                self.overall.update(digest);
            } else {
                own.update(h.clone().finalize());
                self.block = h;
                self.in_block = block.len();
            }
        }
        hex(&own.finalize())
    }

    /// The content_hash of everything added.
    pub(crate) fn finish(&self) -> String {
        let mut overall = self.overall.clone();
        if self.in_block > 0 {
            overall.update(self.block.clone().finalize());
        }
        hex(&overall.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A timestamp in Dropbox's format, `%Y-%m-%dT%H:%M:%SZ`.
pub(crate) fn timestamp(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// `len` random characters from Dropbox's id alphabet.
pub(crate) fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// What a node is.
#[derive(Clone)]
pub(crate) enum Kind {
    Folder,
    File(FileData),
}

/// A file's content and version.
#[derive(Clone)]
pub(crate) struct FileData {
    pub(crate) content: Arc<Vec<u8>>,
    pub(crate) rev: String,
    pub(crate) client_modified: String,
    pub(crate) server_modified: String,
    pub(crate) content_hash: String,
}

/// One file or folder.
#[derive(Clone)]
pub(crate) struct Node {
    /// The full path as first written (`/Docs/Report.TXT`).
    pub(crate) display: String,
    pub(crate) id: String,
    pub(crate) kind: Kind,
}

impl Node {
    pub(crate) fn name(&self) -> &str {
        self.display.rsplit('/').next().unwrap_or("")
    }

    pub(crate) fn is_folder(&self) -> bool {
        matches!(self.kind, Kind::Folder)
    }

    /// FileMetadata or FolderMetadata; `tagged` adds `.tag` (when the declared type is the
    /// `Metadata` union: get_metadata, list_folder entries, delete_v2, move_v2, copy_v2).
    pub(crate) fn metadata(&self, tagged: bool) -> Value {
        let mut m = Map::new();
        if tagged {
            let tag = if self.is_folder() { "folder" } else { "file" };
            m.insert(".tag".into(), json!(tag));
        }
        m.insert("name".into(), json!(self.name()));
        m.insert("path_lower".into(), json!(self.display.to_lowercase()));
        m.insert("path_display".into(), json!(self.display));
        m.insert("id".into(), json!(self.id));
        if let Kind::File(f) = &self.kind {
            m.insert("client_modified".into(), json!(f.client_modified));
            m.insert("server_modified".into(), json!(f.server_modified));
            m.insert("rev".into(), json!(f.rev));
            m.insert("size".into(), json!(f.content.len()));
            m.insert("is_downloadable".into(), json!(true));
            m.insert("content_hash".into(), json!(f.content_hash));
        }
        Value::Object(m)
    }
}

/// The whole Dropbox of the one fake account. Keys are lower-cased paths; the root `""` is
/// implicit.
#[derive(Default)]
pub(crate) struct Tree {
    nodes: BTreeMap<String, Node>,
    revs: u64,
}

/// Why a write cannot happen (WriteConflictError and friends).
#[derive(Debug, PartialEq)]
pub(crate) enum Conflict {
    /// A file is at the path.
    File,
    /// A file is where one of the parents should be.
    FileAncestor,
    /// A folder is at the path.
    Folder,
}

impl Tree {
    pub(crate) fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(&path.to_lowercase())
    }

    /// The node whose id is `id` (`id:…`).
    pub(crate) fn by_id(&self, id: &str) -> Option<&Node> {
        self.nodes.values().find(|n| n.id == id)
    }

    pub(crate) fn new_id() -> String {
        format!("id:{}", random_token(22))
    }

    fn new_rev(&mut self) -> String {
        self.revs += 1;
        format!("{:x}", 0x5f9f_5d6c_8e4e_c000_u64 + self.revs)
    }

    /// The display path of `path` with the case of existing parents, and checks that no
    /// parent is a file.
    fn resolve_display(&self, path: &str) -> Result<String, Conflict> {
        let mut display = String::new();
        let segments: Vec<&str> = path.split('/').skip(1).collect();
        for (i, seg) in segments.iter().enumerate() {
            let candidate = format!("{display}/{seg}");
            match self.get(&candidate) {
                Some(node) if i + 1 < segments.len() => {
                    if !node.is_folder() {
                        return Err(Conflict::FileAncestor);
                    }
                    display = node.display.clone();
                }
                _ => display = candidate,
            }
        }
        Ok(display)
    }

    /// Creates the missing parent folders of `display`.
    fn make_parents(&mut self, display: &str) {
        let mut at = String::new();
        let segments: Vec<&str> = display.split('/').skip(1).collect();
        for seg in &segments[..segments.len().saturating_sub(1)] {
            at = format!("{at}/{seg}");
            if self.get(&at).is_none() {
                self.insert(Node {
                    display: at.clone(),
                    id: Self::new_id(),
                    kind: Kind::Folder,
                });
            }
        }
    }

    fn insert(&mut self, node: Node) {
        self.nodes.insert(node.display.to_lowercase(), node);
    }

    /// Where a node can be created at `path` (`autorename` picks `name (1).ext` …), with the
    /// parents' display case.
    pub(crate) fn place(&self, path: &str, autorename: bool) -> Result<String, Conflict> {
        let display = self.resolve_display(path)?;
        match self.get(&display) {
            None => Ok(display),
            Some(existing) if !autorename => Err(if existing.is_folder() {
                Conflict::Folder
            } else {
                Conflict::File
            }),
            Some(_) => {
                let (parent, name) = display.rsplit_once('/').unwrap_or(("", &display));
                let (stem, ext) = match name.rfind('.') {
                    Some(i) if i > 0 => (&name[..i], &name[i..]),
                    _ => (name, ""),
                };
                (1..)
                    .map(|n| format!("{parent}/{stem} ({n}){ext}"))
                    .find(|p| self.get(p).is_none())
                    .ok_or(Conflict::File)
            }
        }
    }

    pub(crate) fn create_folder(&mut self, path: &str, autorename: bool) -> Result<Node, Conflict> {
        let display = self.place(path, autorename)?;
        self.make_parents(&display);
        let node = Node {
            display,
            id: Self::new_id(),
            kind: Kind::Folder,
        };
        self.insert(node.clone());
        Ok(node)
    }

    /// Writes a file at `display` (already placed), keeping the id of a file it replaces.
    pub(crate) fn write_file(
        &mut self,
        display: &str,
        content: Vec<u8>,
        client_modified: Option<String>,
    ) -> Node {
        let hash = content_hash(&content);
        self.write_hashed_file(display, content, hash, client_modified)
    }

    /// [`write_file`](Self::write_file) with the content_hash of `content` already known.
    pub(crate) fn write_hashed_file(
        &mut self,
        display: &str,
        content: Vec<u8>,
        content_hash: String,
        client_modified: Option<String>,
    ) -> Node {
        self.make_parents(display);
        let now = timestamp(SystemTime::now());
        let id = match self.get(display) {
            Some(old) => old.id.clone(),
            None => Self::new_id(),
        };
        let display = match self.get(display) {
            Some(old) => old.display.clone(),
            None => display.to_owned(),
        };
        let node = Node {
            display,
            id,
            kind: Kind::File(FileData {
                content_hash,
                content: Arc::new(content),
                rev: self.new_rev(),
                client_modified: client_modified.unwrap_or_else(|| now.clone()),
                server_modified: now,
            }),
        };
        self.insert(node.clone());
        node
    }

    /// The node at `path` and everything below it, parents first.
    pub(crate) fn subtree(&self, path: &str) -> Vec<Node> {
        let lower = path.to_lowercase();
        let prefix = format!("{lower}/");
        self.nodes
            .iter()
            .filter(|(k, _)| **k == lower || k.starts_with(&prefix))
            .map(|(_, n)| n.clone())
            .collect()
    }

    /// The entries of the folder `path` (`""` is the root), recursively or not.
    pub(crate) fn children(&self, path: &str, recursive: bool) -> Vec<Node> {
        let prefix = format!("{}/", path.to_lowercase());
        self.nodes
            .iter()
            .filter(|(k, _)| {
                k.starts_with(&prefix) && (recursive || !k[prefix.len()..].contains('/'))
            })
            .map(|(_, n)| n.clone())
            .collect()
    }

    /// Removes `path` and everything below it; answers the removed node.
    pub(crate) fn remove(&mut self, path: &str) -> Option<Node> {
        let node = self.get(path)?.clone();
        for n in self.subtree(path) {
            self.nodes.remove(&n.display.to_lowercase());
        }
        Some(node)
    }

    /// Moves or copies the subtree at `from` to the placed display path `to`.
    pub(crate) fn relocate(&mut self, from: &str, to: &str, copy: bool) -> Node {
        let nodes = self.subtree(from);
        let from_display = nodes[0].display.clone();
        if !copy {
            for n in &nodes {
                self.nodes.remove(&n.display.to_lowercase());
            }
        }
        self.make_parents(to);
        for mut n in nodes {
            n.display = format!("{to}{}", &n.display[from_display.len()..]);
            if copy {
                n.id = Self::new_id();
                if let Kind::File(f) = &mut n.kind {
                    f.rev = self.new_rev();
                }
            }
            self.insert(n);
        }
        self.get(to).expect("relocated node").clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_vectors() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                b"hello world",
                "bc62d4b80d9e36da29c16c5d4d9f11731f36052c72401a76c23c0fb5a9b74423",
            ),
        ];
        for (bytes, hash) in cases {
            assert_eq!(content_hash(bytes), *hash);
        }
    }

    #[test]
    fn block_hasher_matches_content_hash() {
        let data: Vec<u8> = (0..(3 * BLOCK + 777) as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        for sizes in [
            vec![2 * BLOCK, 2 * BLOCK],
            vec![10, BLOCK, 3 * BLOCK],
            vec![BLOCK, 3, BLOCK, 4 * BLOCK],
            vec![data.len()],
        ] {
            let mut h = BlockHasher::default();
            let mut at = 0;
            for size in sizes {
                let piece = &data[at..(at + size).min(data.len())];
                assert_eq!(h.add(piece), content_hash(piece));
                at += piece.len();
            }
            assert_eq!(h.finish(), content_hash(&data));
        }
        assert_eq!(BlockHasher::default().finish(), content_hash(b""));
    }

    #[test]
    fn timestamps_have_dropbox_format() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_431_445_838);
        assert_eq!(timestamp(t), "2015-05-12T15:50:38Z");
    }
}
