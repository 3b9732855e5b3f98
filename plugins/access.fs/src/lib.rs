//! # access.fs — a folder on the server's disk as a wshost workspace
//!
//! The driver exposes one folder, the workspace's `ROOT`, and confines every operation to it
//! the capability way: `ROOT` is opened once as a [`cap_std::fs::Dir`] and every path is
//! resolved by cap-std relative to that handle, so neither `..` nor a symlink (relative or
//! absolute) can lead outside it. There is no string-prefix check anywhere; the path checks in
//! `path` only refuse malformed input early with a clear message.
//!
//! Code map, one concern per file (the OpenDAL service shape):
//! - `config`: the workspace parameters `ROOT` and `CREATE`, and opening the root handle;
//! - `backend`: [`FsPlugin`] and [`FsDriver`], the `Plugin` and `Driver` implementations;
//! - `path`: the driver's own check of the host-normalized workspace paths;
//! - `entry`: describing a file, folder or symlink as an `Entry`;
//! - `lister`: sorted, paginated folder listings;
//! - `reader`: streamed, ranged reads;
//! - `writer`: uploads to a temporary file renamed into place;
//! - `copier`: file and recursive folder copies;
//! - `error`: the one place where I/O errors become plugin errors.
//!
//! Behaviour choices a user can observe are documented on [`FsDriver`].

mod backend;
mod config;
mod copier;
mod entry;
mod error;
mod lister;
mod mount;
mod path;
mod reader;
mod writer;

pub use backend::{FsDriver, FsPlugin};
pub use config::FsConfig;

plugin_api::export_plugin!(FsPlugin);
