//! Plugin manifests: the TOML file beside each plugin library that declares its id, library,
//! workspace parameters and actions, readable without loading the library.
//!
//! Layout: `model` holds the typed manifest the host reads; `raw` the serde shape of the
//! TOML; `parse` the semantic checks from one to the other (specified in `parse_tests.rs`);
//! `value` the per-type rules for one param value; `keywords` the `{user}`, `{data_dir}` and
//! `{public_url}` keywords a value may hold, expanded per caller; `validate` the server-side validation of
//! submitted workspace params; `load` the file and directory readers; `locate` maps TOML
//! byte offsets to `line:column` and field paths such as `params[2].type`; `error` the error
//! types; `samples` (tests only) the sample manifests.
//!
//! Invariant: a [`Manifest`] that exists has passed every check — ids, names, types,
//! choices, patterns, ranges and defaults are consistent — so callers never re-check them.

mod error;
mod keywords;
mod load;
mod locate;
mod model;
mod parse;
mod raw;
#[cfg(test)]
mod samples;
mod validate;
mod value;

// The interface the host codes against, re-exported whole even where the host does not name
// an item (yet); `Location` and the `model` constants stay internal.
#[allow(unused_imports)]
pub(crate) use error::{FieldError, ManifestError};
#[allow(unused_imports)]
pub(crate) use keywords::{expand as expand_keywords, Scope, KEYWORDS};
#[allow(unused_imports)]
pub(crate) use load::{load_dirs, load_file};
#[allow(unused_imports)]
pub(crate) use model::{ActionDecl, Choice, Manifest, Param, ParamType, Rights, RESERVED_ACTIONS};
#[allow(unused_imports)]
pub(crate) use parse::parse;
