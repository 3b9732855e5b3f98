//! The panic guard: every function that crosses the ABI runs its body here.
//!
//! A panic unwinding into an abi_stable boundary aborts the whole process, so one bad plugin
//! would kill the host. [`guard`] catches the panic on the side where it happened and turns it
//! into an [`ErrorKind::Panicked`] error that crosses the boundary like any other error.
//! [`Guarded`] holds an object lent across the boundary (a plugin, a driver, a stream) so
//! that its destructor runs under the guard as well.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use abi_stable::std_types::RResult;

use crate::error::{ErrorKind, PluginError};
use crate::ffi::FfiError;

/// Runs `body`, mapping its error and any panic to an [`FfiError`]; `what` names the operation
/// in the panic message ("stat", "action dropbox_oauth_authorize").
pub(crate) fn guard<T, U>(
    what: &str,
    body: impl FnOnce() -> Result<T, PluginError>,
    convert: impl FnOnce(T) -> U,
) -> RResult<U, FfiError> {
    // AssertUnwindSafe: after a panic the object may be in a broken state, but the host only
    // ever reports the error; the author is told (docs/plugin-abi.md) that a panicking driver
    // should be treated as poisoned.
    match catch_unwind(AssertUnwindSafe(|| body().map(convert))) {
        Ok(Ok(v)) => RResult::ROk(v),
        Ok(Err(e)) => RResult::RErr(e.into()),
        Err(payload) => RResult::RErr(panicked(what, payload.as_ref()).into()),
    }
}

/// Like [`guard`] for functions that cannot fail other than by panicking.
pub(crate) fn guard_infallible<T>(what: &str, fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        eprintln!("{}", panicked(what, payload.as_ref()));
        fallback
    })
}

/// An author's object behind the boundary. Its destructor runs under the guard too: a panic
/// in `Drop` would otherwise abort the host when it releases the object.
pub(crate) struct Guarded<T>(Option<T>);

impl<T> Guarded<T> {
    pub(crate) fn new(inner: T) -> Self {
        Guarded(Some(inner))
    }

    pub(crate) fn get(&self) -> &T {
        self.0.as_ref().expect("only taken by Drop")
    }

    pub(crate) fn get_mut(&mut self) -> &mut T {
        self.0.as_mut().expect("only taken by Drop")
    }
}

impl<T> Drop for Guarded<T> {
    fn drop(&mut self) {
        let inner = self.0.take();
        guard_infallible("drop", (), move || drop(inner));
    }
}

fn panicked(what: &str, payload: &(dyn Any + Send)) -> PluginError {
    let msg = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    PluginError::new(ErrorKind::Panicked, format!("panicked in {what}: {msg}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_errors_naming_the_operation() {
        let r: RResult<(), FfiError> = guard("stat", || panic!("boom {}", 42), |v| v);
        let err = PluginError::from(r.unwrap_err());
        assert_eq!(err.kind, ErrorKind::Panicked);
        assert_eq!(err.message, "panicked in stat: boom 42");
        let ok: RResult<u8, FfiError> = guard("x", || Ok(1u8), |v| v + 1);
        assert_eq!(ok.unwrap(), 2);
        assert_eq!(guard_infallible("log", 7, || panic!("x")), 7);
    }
}
