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
//! - `core`: what the operations share on the root handle (a path's parent folder, whether a
//!   path is taken);
//! - `staging`: a new file written under a temporary name and published in place, and the
//!   temporary names themselves;
//! - `entry`: describing a file, folder or symlink as an `Entry`;
//! - `lister`: sorted, paginated folder listings;
//! - `reader`: streamed, ranged reads;
//! - `writer`: uploads, staged and then published under the target's name;
//! - `copier`: file and recursive folder copies;
//! - `mount`: whether the folder is on a local filesystem;
//! - `sweeper`: one thread that sweeps every open workspace's tree of left-over upload
//!   temporaries;
//! - `error`: the one place where I/O errors become plugin errors.
//!
//! The operation modules (`lister`, `reader`, `writer`, `copier`) depend on `core`, `staging`,
//! `path`, `entry` and `error`, never on `backend` or on each other (a test in
//! `tests/tests/tidy_plugins.rs` keeps the module graph free of circles).
//!
//! Behaviour choices a user can observe are documented on [`FsDriver`].

mod backend;
mod config;
mod copier;
mod core;
mod entry;
mod error;
mod lister;
mod mount;
mod path;
mod reader;
mod staging;
mod sweeper;
mod writer;

pub use backend::{FsDriver, FsPlugin};
pub use config::FsConfig;

plugin_api::export_plugin!(FsPlugin);
