//! Streamed, ranged downloads: the file is opened on a leased connection, which the stream
//! keeps until the host drops it, and read through a bounded buffer at the client's pace.
//!
//! libssh2 pipelines a read: one call asks the server for as many 30 KB pieces as the buffer
//! holds before waiting for the first, so the buffer size is the read-ahead. It is capped at
//! the range's length, so a small range does not fetch far past its end.

use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use plugin_api::{ByteRange, ErrorKind, PluginError, ReadResult, Result};

use crate::entry::from_stat;
use crate::error::{self, Op};
use crate::pool::{Lease, Pool, Retry};
use crate::remote::Found;

/// The read-ahead of one download (2 MiB: see docs/BENCHMARKS.md, access.sftp).
const READ_AHEAD: u64 = 2 * 1024 * 1024;

/// Opens `path` for reading, from `range` if given.
pub(crate) fn read(pool: &Arc<Pool>, path: &str, range: Option<ByteRange>) -> Result<ReadResult> {
    let ((entry, file), lease) = pool.run_leased(Retry::Safe, |conn| {
        let (real, stat) = match conn.follow(Op::Read, path)? {
            Found::Inside { stat, .. } if stat.is_dir() => {
                return Err(error::is_folder(Op::Read, path))
            }
            Found::Inside { real, stat } => (real, stat),
            Found::Link { .. } => return Err(error::escape(Op::Read, path)),
            Found::Missing => return Err(error::missing(Op::Read, path)),
        };
        let file = conn.call(Op::Read, path, |s| s.open(Path::new(&real)))?;
        Ok((from_stat(path, &stat), file))
    })?;
    let size = entry.size;
    let (start, end) = match range {
        None => (0, size),
        Some(r) if r.start >= size => {
            return Err(PluginError::new(
                ErrorKind::InvalidRange,
                format!(
                    "'{}' has {size} bytes; a range cannot start at {}",
                    error::shown(path),
                    r.start
                ),
            ))
        }
        Some(r) => (
            r.start,
            r.len
                .map_or(size, |len| size.min(r.start.saturating_add(len))),
        ),
    };
    let mut file = file;
    if start > 0 {
        file.seek(SeekFrom::Start(start))
            .map_err(|e| error::stream(Op::Read, path, &e))?;
    }
    let buffer = READ_AHEAD.min((end - start).max(1)) as usize;
    let content = Download {
        file: BufReader::with_capacity(buffer, file).take(end - start),
        path: path.to_owned(),
        lease,
    };
    Ok(ReadResult {
        entry,
        range: range.map(|_| ByteRange {
            start,
            len: Some(end - start),
        }),
        content: Box::new(content),
    })
}

/// A download in progress. Field order matters: the file handle closes before the connection
/// goes back to the pool.
struct Download {
    file: io::Take<BufReader<ssh2::File>>,
    path: String,
    lease: Lease,
}

impl Read for Download {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = self.file.limit();
        match self.file.read(buf) {
            // The file ended before the size stat reported: it shrank meanwhile.
            Ok(0) if want > 0 && !buf.is_empty() => {
                self.lease.broken = true; // its handle state is unknown: do not reuse
                Err(PluginError::new(
                    ErrorKind::Unavailable,
                    format!(
                        "cannot read '{}': the file got shorter during the download",
                        error::shown(&self.path)
                    ),
                )
                .into())
            }
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                self.lease.broken = true;
                Err(error::stream(Op::Read, &self.path, &e).into())
            }
        }
    }
}
