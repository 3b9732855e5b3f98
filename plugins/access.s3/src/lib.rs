//! # access.s3 — a bucket on AWS S3 or any S3-compatible store as a wshost workspace
//!
//! Written against `plugin-api` and the plugin guide alone, as an outside author would.
//!
//! **Why rusty-s3 over reqwest's blocking client.** The driver ABI is blocking, so the driver
//! wants a client that needs no async runtime of its own: rusty-s3 is sans-IO (it signs
//! requests with SigV4 as presigned URLs and parses the XML of ListObjectsV2, multipart
//! uploads and DeleteObjects) and leaves the I/O to reqwest's blocking client, the one
//! access.dropbox already uses. Both stream: a GetObject body goes to the host as it arrives,
//! an upload is sent part by part. `object_store` would bring AWS's credential chain
//! (instance roles, STS, SSO), at the price of a tokio runtime owned by the plugin and an
//! async API bridged in every call; static keys are what a workspace form holds, so this
//! driver does without it. The AWS SDK was not chosen for the same reason and its size.
//!
//! Code map, one concern per file (the OpenDAL service shape; the operation modules depend on
//! `core`, never on `backend`):
//! - `config`: the workspace parameters (see `manifests/access.s3.toml`);
//! - `core`: the client: bucket, keys under `PREFIX`, signing, the retry loop, HEAD and
//!   folder existence;
//! - `backend`: [`S3Plugin`] and [`S3Driver`], the `Plugin` and `Driver` impls;
//! - `lister`, `reader`, `writer`, `deleter`, `copier`: the operations;
//! - `error`: the one place where S3 answers become plugin errors.
//!
//! Architecture invariant: the secret key never appears in a log line, an error message or a
//! `Debug` output, and neither does a signed URL; only `core::Client::new` reads the key.

mod backend;
mod config;
mod copier;
mod core;
mod deleter;
mod error;
mod lister;
mod reader;
mod writer;

pub use backend::{S3Driver, S3Plugin};
pub use config::{S3Config, Secret, Sse};

plugin_api::export_plugin!(S3Plugin);
