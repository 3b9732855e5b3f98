//! Behaviour tests of the `access.fs` driver, run in-process through the real ABI path
//! (`plugin_api::testing::load`): the driver is only ever reached as a `ForeignDriver`, exactly
//! as the host reaches it, so conversions, streams and error kinds are tested too.
//!
//! One fixture (`support`), many small data-driven cases, one file per concern.

mod confinement;
mod conformance;
mod listing;
mod opening;
mod ops;
mod reading;
mod support;
mod writing;
