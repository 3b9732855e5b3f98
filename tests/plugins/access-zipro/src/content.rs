//! An entry's bytes as an owned reader. zip's own entry reader borrows the archive, which a
//! `ByteSource` (owned, `'static`) cannot; so each read owns a clone of one shared file handle
//! and reads by offset (`pread`), which needs no seek and no lock: concurrent reads of one
//! workspace never disturb each other. Deflated entries are inflated on the way.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use flate2::read::DeflateDecoder;
use plugin_api::{ByteSource, PluginError, Result};

use crate::index::Method;

/// The bytes `start..end` of a file, read by offset.
struct Window {
    file: Arc<File>,
    at: u64,
    end: u64,
}

impl Read for Window {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min((self.end - self.at) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.at)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive is shorter than its directory says (changed on disk?)",
            ));
        }
        self.at += n as u64;
        Ok(n)
    }
}

/// Where an entry's bytes lie in the archive.
pub(crate) struct Stored {
    pub(crate) data_start: u64,
    pub(crate) compressed: u64,
    pub(crate) method: Method,
}

/// The uncompressed bytes `start..end` of the entry.
pub(crate) fn open(file: &Arc<File>, entry: Stored, start: u64, end: u64) -> Result<ByteSource> {
    let file = Arc::clone(file);
    match entry.method {
        Method::Stored => Ok(Box::new(Window {
            file,
            at: entry.data_start + start,
            end: entry.data_start + end,
        })),
        Method::Deflated => {
            let raw = Window {
                file,
                at: entry.data_start,
                end: entry.data_start + entry.compressed,
            };
            let mut inflated = DeflateDecoder::new(raw);
            // Deflate cannot seek: inflate up to the range's start and drop it.
            let skipped = io::copy(&mut inflated.by_ref().take(start), &mut io::sink())
                .map_err(|e| PluginError::from_io_error("inflate the entry", e))?;
            if skipped < start {
                return Err(PluginError::invalid_input(format!(
                    "the entry inflates to {skipped} bytes, fewer than its directory says"
                )));
            }
            Ok(Box::new(inflated.take(end - start)))
        }
    }
}
