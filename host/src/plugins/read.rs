//! Reading a file for a client: what a Range header asks (RFC 9110), the driver reads that
//! answer it, and the checks on what the driver answered (a folder is not a file; a small
//! body is read whole and must have the length announced; a stream is cut at its length by
//! `stream::response_body`).

use bytes::Bytes;
use plugin_api::{ByteRange, ByteSource, CallContext, Driver, Entry, PluginError};

use crate::plugins::stream::{read_whole, WHOLE_MAX};

/// What a Range header asks of a file of `size` bytes.
#[derive(Debug, PartialEq)]
pub(crate) enum RangeAsk {
    Whole,
    Part(ByteRange, u64, u64),
    Unsatisfiable,
}

/// Reads a Range header as RFC 9110 (section 14) asks: `http_range_header` parses the
/// syntax, the rest is done here, since the crate's validation refuses (416) sets the RFC
/// allows. Each range is clamped to the file (a suffix longer than the file is the whole
/// file); ranges that start past the end are dropped, and the header is unsatisfiable only
/// when none is left. The rest are coalesced: when they make one span, that span is sent
/// (206), otherwise the whole file (200), which the RFC permits instead of a multipart
/// answer. A header that does not parse, or has a range whose last byte comes before its
/// first, is invalid and ignored (200).
pub(crate) fn parse_range(header: &str, size: u64) -> RangeAsk {
    use http_range_header::{EndPosition, StartPosition};
    // A zero-byte file has no byte a range could select, and a 206 could not say which
    // span it sent: the whole, empty file is the answer to any Range (RFC 9110 lets a server
    // ignore the header), which resuming clients take as complete.
    if size == 0 {
        return RangeAsk::Whole;
    }
    let Ok(parsed) = http_range_header::parse_range_header(header) else {
        return RangeAsk::Whole;
    };
    let mut spans: Vec<(u64, u64)> = Vec::with_capacity(parsed.ranges.len());
    for r in &parsed.ranges {
        let (start, end) = match (r.start, r.end) {
            (StartPosition::Index(first), EndPosition::Index(last)) if last < first => {
                return RangeAsk::Whole
            }
            (StartPosition::Index(first), EndPosition::Index(last)) => (first, last),
            (StartPosition::Index(first), EndPosition::LastByte) => (first, u64::MAX),
            (StartPosition::FromLast(n), _) => (size.saturating_sub(n), u64::MAX),
        };
        if start < size {
            spans.push((start, end.min(size - 1)));
        }
    }
    spans.sort_unstable();
    let Some(&(start, mut end)) = spans.first() else {
        return RangeAsk::Unsatisfiable;
    };
    for &(s, e) in &spans[1..] {
        // Overlapping or adjacent spans make one.
        if s > end.saturating_add(1) {
            return RangeAsk::Whole;
        }
        end = end.max(e);
    }
    RangeAsk::Part(
        ByteRange {
            start,
            len: Some(end - start + 1),
        },
        start,
        end,
    )
}

/// A read as a driver answered it, before its checks: the entry, the content (or why its
/// length disagreed with the entry's) and the span; `Err(size)` when no range is satisfiable.
pub(crate) type Answer = Result<(Entry, Result<Content, String>, Option<(u64, u64, u64)>), u64>;

/// Reads `file` for a client that sent `range` (a Range header's value, if any): the whole
/// file, or the one span the header asks (`Err(size)` when no range is satisfiable). Runs
/// on the driver's thread: a ranged read first needs the file's size.
pub(crate) fn read(
    d: &impl Driver,
    ctx: &CallContext,
    file: &str,
    range: Option<&str>,
) -> plugin_api::Result<Answer> {
    let (read, part) = match range {
        None => (d.read(ctx, file, None)?, None),
        Some(range) => {
            let entry = d.stat(ctx, file)?;
            if entry.is_dir {
                return Err(PluginError::conflict(format!(
                    "'{file}' is a folder, not a file"
                )));
            }
            match parse_range(range, entry.size) {
                RangeAsk::Whole => (d.read(ctx, file, None)?, None),
                RangeAsk::Part(range, start, end) => {
                    let read = d.read(ctx, file, Some(range))?;
                    (read, Some((start, end, entry.size)))
                }
                RangeAsk::Unsatisfiable => return Ok(Err(entry.size)),
            }
        }
    };
    let content = Content::of(read.content, &read.entry, part, file)?;
    Ok(Ok((read.entry, content, part)))
}

/// A checked read: a file's entry, its content, and the span sent when a range was asked.
pub(crate) struct Download {
    pub(crate) entry: Entry,
    pub(crate) content: Content,
    /// First byte, last byte, size of the file.
    pub(crate) part: Option<(u64, u64, u64)>,
}

impl Download {
    /// The number of bytes the content holds: the range's, or the whole file's.
    pub(crate) fn length(&self) -> u64 {
        length(&self.entry, self.part)
    }
}

/// The length of a download: the range's, or the whole file's.
pub(crate) fn length(entry: &Entry, part: Option<(u64, u64, u64)>) -> u64 {
    match part {
        Some((start, end, _)) => end - start + 1,
        None => entry.size,
    }
}

/// What a download sends.
pub(crate) enum Content {
    /// The driver's stream, pulled while the response is sent.
    Stream(ByteSource),
    /// A body of at most [`WHOLE_MAX`] bytes, read in the driver call that opened it.
    Whole(Bytes),
}

impl Content {
    /// Reads a small body whole, in the driver call; `Err(why)` when the driver's stream
    /// disagreed with the length it announced (a 502, before any byte is sent).
    pub(crate) fn of(
        mut source: ByteSource,
        entry: &Entry,
        part: Option<(u64, u64, u64)>,
        file: &str,
    ) -> plugin_api::Result<Result<Content, String>> {
        let length = length(entry, part);
        if entry.is_dir || length > WHOLE_MAX {
            return Ok(Ok(Content::Stream(source)));
        }
        match read_whole(&mut source, length) {
            Ok(whole) => Ok(whole.map(Content::Whole)),
            Err(e) => Err(PluginError::from_io_error(&format!("reading '{file}'"), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let part = |h: &str, size| match parse_range(h, size) {
            RangeAsk::Part(r, s, e) => Some((r.start, r.len, s, e)),
            _ => None,
        };
        assert_eq!(part("bytes=0-9", 100), Some((0, Some(10), 0, 9)));
        assert_eq!(part("bytes=90-", 100), Some((90, Some(10), 90, 99)));
        assert_eq!(part("bytes=-5", 100), Some((95, Some(5), 95, 99)));
        assert_eq!(part("bytes=95-200", 100), Some((95, Some(5), 95, 99)));
        // A suffix longer than the file is the whole file.
        assert_eq!(part("bytes=-999999", 10), Some((0, Some(10), 0, 9)));
        // Overlapping and adjacent ranges are coalesced, in any order.
        assert_eq!(part("bytes=0-4,2-8", 10), Some((0, Some(9), 0, 8)));
        assert_eq!(part("bytes=5-9,0-4", 10), Some((0, Some(10), 0, 9)));
        assert_eq!(part("bytes=0-0,-2,1-3", 5), Some((0, Some(5), 0, 4)));
        // A range past the end is dropped when another one is satisfiable.
        assert_eq!(part("bytes=200-300,1-2", 10), Some((1, Some(2), 1, 2)));
        assert_eq!(parse_range("bytes=100-", 100), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range("bytes=-1", 0), RangeAsk::Whole);
        assert_eq!(parse_range("bytes=0-", 0), RangeAsk::Whole);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), RangeAsk::Whole);
        assert_eq!(parse_range("bytes=5-3", 100), RangeAsk::Whole);
        assert_eq!(parse_range("pages=1", 100), RangeAsk::Whole);
    }
}
