//! # access.dropbox — a Dropbox account as a wshost workspace
//!
//! The driver speaks the Dropbox API v2 over HTTP (reqwest's blocking client: the ABI is
//! blocking, and the client owns its own reactor thread inside this library's copy of tokio)
//! and gets its tokens through OAuth2 (the oauth2 crate): authorization code with PKCE S256,
//! offline access (a refresh token), and a random single-use `state` kept in the host's shared
//! key-value store so that the callback may land on another host instance.
//!
//! Code map, one concern per file (the OpenDAL service shape):
//! - `config`: the workspace parameters (see `manifests/access.dropbox.toml`);
//! - `oauth`: authorize URLs, the callback, code exchange, refresh, revoke, token storage;
//! - `connection`: who may connect and disconnect a workspace (per-user, shared, service
//!   account), from the caller's rights the host passes in the call context;
//! - `core`: the HTTP client, the RPC/upload/download request styles and bounded retries,
//!   and a workspace's side of it (`Workspace`: its configuration, the token handling every
//!   call goes through, `stat`);
//! - `error`: the one place where Dropbox errors become plugin errors;
//! - `backend`: [`DropboxPlugin`] and [`DropboxDriver`], the `Plugin` and `Driver` impls;
//! - `lister`: paginated listings over `list_folder` and its cursor;
//! - `reader`: streamed, ranged downloads;
//! - `writer`: single uploads and upload sessions, with `content_hash` checked.
//!
//! The operation modules (`backend`, `lister`, `reader`, `writer`) reach Dropbox through
//! `core` only, never through each other (a test in `tests/tests/tidy_plugins.rs` keeps the
//! module graph free of circles).
//!
//! Architecture invariant: no token or secret ever appears in a log line, an error message or
//! a `Debug` output; only `oauth` reads or writes the stored tokens.

mod backend;
mod config;
mod connection;
mod core;
mod error;
mod lister;
mod oauth;
mod reader;
mod writer;

pub use backend::{DropboxDriver, DropboxPlugin};
pub use config::{DropboxConfig, TokenScope};
pub use oauth::Tokens;
pub use writer::content_hash;

plugin_api::export_plugin!(DropboxPlugin);
