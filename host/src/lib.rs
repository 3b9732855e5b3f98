//! The `wshost` host: [`run`] parses the command line and runs one command (the binary in
//! `main.rs` is only that call). Everything else is private to the crate, except
//! [`internals`], the few pure functions that fuzz targets and benchmarks drive directly.
//!
//! The modules are layers (docs/ARCHITECTURE.md): the doors (`web`, `ui`, `dav`, `commands`) on
//! top, then `admin`, `access`, `plugins`, and the base (`app`, `auth`, `store`, `manifest`,
//! `config`, `paths`, `telemetry`, `server`). A module imports only from layers below it;
//! `host/tests/layers.rs` checks it.

mod access;
mod admin;
mod app;
mod auth;
mod commands;
mod config;
mod dav;
pub mod internals;
mod manifest;
mod paths;
mod plugins;
mod server;
mod store;
mod telemetry;
mod ui;
mod web;

pub use commands::run;
