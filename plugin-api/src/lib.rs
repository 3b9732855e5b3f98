//! # wshost plugin-api
//!
//! The stable ABI between the wshost host and its storage-driver plugins. A plugin author
//! implements two ordinary Rust traits — [`Plugin`] (the library) and [`Driver`] (one
//! workspace's storage) — and writes one line, [`export_plugin!`]; this crate turns them into
//! an abi_stable root module whose every entry point catches panics. The host loads libraries
//! through [`foreign`] and sees plain Rust again.
//!
//! Calls are blocking: the host runs each one on a blocking thread, and a plugin that needs
//! async I/O owns its runtime (see `docs/plugin-abi.md` for why).
//!
//! ```
//! use plugin_api::*;
//!
//! struct Hello;
//! impl Plugin for Hello {
//!     type Driver = HelloDriver;
//!     const ID: &'static str = "access.hello";
//!     const VERSION: &'static str = env!("CARGO_PKG_VERSION");
//!     fn new(_host: Host) -> Result<Self> { Ok(Hello) }
//!     fn open(&self, _cfg: WorkspaceConfig) -> Result<HelloDriver> { Ok(HelloDriver) }
//! }
//! struct HelloDriver;
//! impl Driver for HelloDriver {
//!     fn capabilities(&self) -> Capabilities { Capabilities::STAT }
//!     fn stat(&self, _: &CallContext, path: &WsPath) -> Result<Entry> {
//!         if path.is_empty() { Ok(Entry::dir("")) } else { Err(PluginError::not_found(path)) }
//!     }
//! }
//! export_plugin!(Hello);
//! ```

pub mod error;
pub mod export;
pub mod ffi;
pub mod foreign;
mod guard;
pub mod host;
pub mod plugin;
mod stream;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod types;

pub use error::{ErrorKind, PluginError, Result};
#[doc(hidden)]
pub use export::__private;
pub use host::{Host, HostServices, KvScope, LogLevel};
pub use plugin::{Driver, Plugin};
pub use types::*;

/// The plugin author guide, `docs/plugin-guide.md`, included here so that rustdoc compiles and
/// runs every Rust example in it as a doctest: the guide cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../docs/plugin-guide.md")]
pub struct PluginGuide;
