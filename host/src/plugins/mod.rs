//! The one plugin-call layer: every call of a plugin — loading it, opening a workspace's
//! driver, a driver operation, a plugin action — goes through here, with the deadline, the
//! span, the panic and bad-answer handling, and the checks on what the plugin answers.
//!
//! Layout: `registry` (manifests, libraries, loading), `workspaces` (definitions and open
//! drivers), `call` (calls on the blocking pool within the deadline), `answers` (the checks on what
//! plugins answer), `read` (ranged reads), `library` (one library loaded by path, for the
//! commands that check and test one), `quick` (the quick
//! lane), `stream` (bodies into and out of plugins), `services` (the host services each
//! plugin receives).

pub(crate) mod answers;
pub(crate) mod call;
pub(crate) mod library;
pub(crate) mod quick;
pub(crate) mod read;
pub(crate) mod registry;
pub(crate) mod services;
pub(crate) mod stream;
pub(crate) mod workspaces;
