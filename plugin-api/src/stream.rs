//! Byte streams across the boundary, both ways: a `std::io::Read` exported as an
//! [`FfiStream`] object, and an imported stream read back through `std::io::Read`.
//!
//! The consumer lends its buffer for every chunk, so memory stays bounded by the consumer's
//! buffer size whatever the file size, and nothing allocated on one side is freed on the other.

use std::io::{self, Read};

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RBox, RResult, RSlice, RSliceMut, RStr, RString, RVec, Tuple2};

use crate::error::PluginError;
use crate::ffi::{
    unpairs, FfiActionRequest, FfiActionResponse, FfiError, FfiStream, FfiStreamBox, FfiStream_TO,
};
use crate::guard::{guard, Guarded};
use crate::types::{ActionRequest, ActionResponse, ByteSource};

impl FfiStream for Guarded<ByteSource> {
    fn read(&mut self, mut buf: RSliceMut<'_, u8>) -> RResult<usize, FfiError> {
        let inner = self.get_mut();
        guard(
            "stream read",
            || loop {
                match inner.read(buf.as_mut_slice()) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => {
                        return other.map_err(|e| PluginError::from_io_error("read stream", e))
                    }
                }
            },
            |n| n,
        )
    }

    fn extension(&mut self, name: RStr<'_>, _: RSlice<'_, u8>) -> RResult<RVec<u8>, FfiError> {
        RResult::RErr(PluginError::unsupported(&format!("stream extension {name}")).into())
    }
}

/// Exports a reader as a stream object for the other side to pull from.
pub(crate) fn export(source: ByteSource) -> FfiStreamBox {
    FfiStream_TO::from_ptr(RBox::new(Guarded::new(source)), TD_Opaque)
}

/// A stream object from the other side, read as `std::io::Read`. Errors from the other side
/// arrive as `io::Error`s carrying the [`PluginError`] (see [`PluginError::from_io_error`]).
pub(crate) struct Imported(pub(crate) FfiStreamBox);

impl Read for Imported {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(RSliceMut::from_mut_slice(buf)) {
            RResult::ROk(n) if n <= buf.len() => Ok(n),
            RResult::ROk(n) => Err(PluginError::internal(format!(
                "stream claimed {n} bytes read into a {}-byte buffer",
                buf.len()
            ))
            .into()),
            RResult::RErr(e) => Err(PluginError::from(e).into()),
        }
    }
}

/// Imports a stream object as a boxed reader.
pub(crate) fn import(stream: FfiStreamBox) -> ByteSource {
    Box::new(Imported(stream))
}

// ---- actions carry streams, so their conversions live here ----

fn pair_list(list: Vec<(String, String)>) -> crate::ffi::FfiPairs {
    list.into_iter()
        .map(|(k, v)| Tuple2(RString::from(k), RString::from(v)))
        .collect()
}

pub(crate) fn export_request(req: ActionRequest) -> FfiActionRequest {
    FfiActionRequest {
        name: req.name.into(),
        method: req.method.into(),
        query: pair_list(req.query),
        headers: pair_list(req.headers),
        body: export(req.body),
        extra: RVec::new(),
    }
}

pub(crate) fn import_request(req: FfiActionRequest) -> ActionRequest {
    ActionRequest {
        name: req.name.into_string(),
        method: req.method.into_string(),
        query: unpairs(req.query).collect(),
        headers: unpairs(req.headers).collect(),
        body: import(req.body),
    }
}

pub(crate) fn export_response(resp: ActionResponse) -> FfiActionResponse {
    FfiActionResponse {
        status: resp.status,
        headers: pair_list(resp.headers),
        body: resp.body.map(export).into(),
        extra: RVec::new(),
    }
}

pub(crate) fn import_response(resp: FfiActionResponse) -> ActionResponse {
    ActionResponse {
        status: resp.status,
        headers: unpairs(resp.headers).collect(),
        body: resp.body.into_option().map(import),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(PluginError::rate_limited("wait", None).into())
        }
    }

    #[test]
    fn bytes_and_errors_cross_both_ways() {
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let mut back = import(export(Box::new(io::Cursor::new(data.clone()))));
        let mut out = Vec::new();
        back.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);

        let err = import(export(Box::new(Failing)))
            .read(&mut [0; 8])
            .unwrap_err();
        assert_eq!(
            PluginError::from_io_error("x", err).kind,
            ErrorKind::RateLimited
        );
    }
}
