//! [`Options`]: how to run the suite (where, how large, which cases, as whom).

use crate::types::CallContext;

/// How to run the suite.
#[derive(Debug, Clone)]
pub struct Options {
    /// The folder under which the scratch folder is created (`""`: the workspace root).
    pub base: String,
    /// The page size of listings: small, so that paging is exercised.
    pub page_limit: u32,
    /// The size in bytes of the large streamed write.
    pub large_size: u64,
    /// Run only the cases whose name starts with one of these (empty: every case).
    pub only: Vec<String>,
    /// Cases the backend is known not to support (a documented limitation, such as Dropbox
    /// refusing emoji in names): reported as skipped with the reason, not run.
    pub skip: Vec<String>,
    /// The folder of the workspace that holds the fixture tree ([`seed`](super::seed)), or
    /// `None`. When set, each case that would create its input reads it from the tree
    /// instead, so a read-only driver runs every read case ([`Options::seeded`]).
    pub seed: Option<String>,
    /// The context passed to every call.
    pub context: CallContext,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            base: String::new(),
            page_limit: 7,
            large_size: 8 * 1024 * 1024,
            only: Vec::new(),
            skip: Vec::new(),
            seed: None,
            context: CallContext {
                user: Some("conformance".into()),
                request_id: "conformance".into(),
                ..CallContext::default()
            },
        }
    }
}

impl Options {
    /// The default options, with the fixture tree in the workspace folder `folder` (`""`: the
    /// root).
    pub fn seeded(folder: &str) -> Self {
        Options {
            seed: Some(folder.to_owned()),
            ..Options::default()
        }
    }

    pub(super) fn selects(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| name.starts_with(p.as_str()))
    }
}
