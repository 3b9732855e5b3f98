//! # access.sftp — a folder on any SSH server as a wshost workspace
//!
//! The driver speaks SFTP (version 3, what OpenSSH serves) through libssh2's blocking binding
//! (the `ssh2` crate): the driver ABI is blocking, so a blocking client needs no runtime and no
//! thread of its own per call. Every connection pins the server's host key (`HOST_KEY`) before
//! it logs in, and every path is confined to `ROOT` by the server's own realpath.
//!
//! Code map, one concern per file (the OpenDAL service shape; the operation modules depend on
//! `core` and `remote`, never on `backend`):
//! - `config`: the workspace parameters (see `manifests/access.sftp.toml`);
//! - `hostkey`: the pinned `SHA256:` fingerprint and its comparison;
//! - `core`: one connection: connect, handshake, host-key check, login, `ROOT`;
//! - `ext`: a raw SFTP channel for `posix-rename@openssh.com` (atomic replace);
//! - `pool`: the workspace's connections: lease, reconnect, keepalive;
//! - `remote`: confinement of workspace paths to `ROOT` on the server;
//! - `entry`: server attributes as entries;
//! - `backend`: [`SftpPlugin`] and [`SftpDriver`], the `Plugin` and `Driver` impls;
//! - `lister`, `reader`, `writer`, `deleter`, `copier`: the operations;
//! - `error`: the one place where SSH and SFTP failures become plugin errors.
//!
//! Architecture invariant: no password, private key or passphrase ever appears in a log
//! line, an error message or a `Debug` output; only `core::login` reads them.

mod backend;
mod config;
mod copier;
mod core;
mod deleter;
mod entry;
mod error;
mod ext;
mod hostkey;
mod lister;
mod pool;
mod reader;
mod remote;
mod writer;

pub use backend::{SftpDriver, SftpPlugin};
pub use config::{Auth, SftpConfig};
pub use hostkey::Fingerprint;

plugin_api::export_plugin!(SftpPlugin);
