//! Reads: the open file itself is the stream handed to the host, positioned at the range's
//! start and cut to its length, so no more than the host's own buffer is ever in memory.
//!
//! Range rules: a range must start inside the file (`start < size`), otherwise the answer is
//! `InvalidRange`; a length past the end is cut at the end. A zero-byte file has no byte to
//! start at, so a range starting at 0 on it is served as the whole (empty) file, with
//! `range: None`, so that the host answers an ordinary empty 200 rather than a 206 with an
//! impossible `Content-Range`; any other start is `InvalidRange`.

use std::io::{Read, Seek, SeekFrom};

use cap_std::fs::Dir;
use plugin_api::{ByteRange, ReadResult, Result};

use crate::entry::from_metadata;
use crate::error::{self, Op};
use crate::path::RelPath;

/// Opens `path` for reading, whole or the given range.
pub(crate) fn read(root: &Dir, path: RelPath<'_>, range: Option<ByteRange>) -> Result<ReadResult> {
    let p = path.as_str();
    let fail = |e: std::io::Error| error::io(Op::Read, p, &e);
    // Checked before opening: opening a FIFO for reading would block until a writer shows up.
    let meta = root.metadata(path.fs()).map_err(fail)?;
    if meta.is_dir() {
        return Err(error::is_folder(Op::Read, p));
    }
    if !meta.is_file() {
        return Err(error::not_regular(Op::Read, p));
    }
    let mut file = root.open(path.fs()).map_err(fail)?;
    // Checked again on the handle: the name may have been replaced since.
    let meta = file.metadata().map_err(fail)?;
    if !meta.is_file() {
        return Err(error::not_regular(Op::Read, p));
    }
    let entry = from_metadata(path, &meta);
    let size = meta.len();

    let served = match range {
        None => None,
        Some(r) if size == 0 && r.start == 0 => None,
        Some(r) if r.start >= size => return Err(error::range(p, r.start, size)),
        Some(r) => Some(ByteRange {
            start: r.start,
            len: Some(r.len.map_or(size - r.start, |len| len.min(size - r.start))),
        }),
    };
    let content: Box<dyn Read + Send> = match served {
        None => Box::new(file),
        Some(ByteRange { start, len }) => {
            file.seek(SeekFrom::Start(start)).map_err(fail)?;
            Box::new(file.take(len.unwrap_or(u64::MAX)))
        }
    };
    Ok(ReadResult {
        entry,
        range: served,
        content,
    })
}
