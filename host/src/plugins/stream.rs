//! Bridges between async HTTP bodies and the blocking byte streams of the plugin ABI, both
//! with a small bounded channel: memory per transfer stays at a few chunks whatever the file
//! size, and a slow side slows the other (backpressure) instead of buffering.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::{Buf, Bytes, BytesMut};
use futures_util::StreamExt;
use plugin_api::ByteSource;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::telemetry::Transfer;

/// Chunks in flight per transfer.
const DEPTH: usize = 4;
/// Bytes read from a plugin per chunk.
pub(crate) const CHUNK: usize = 256 * 1024;

/// Why a request body failed before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyFailure {
    /// More than the limit was sent.
    OverLimit,
    /// The client paused longer than `limits.body_idle_timeout_secs`.
    Stalled,
    /// The client went away.
    ClientGone,
}

/// What the host sees of a request body while a plugin reads it: when the plugin last took
/// a chunk (a long upload that moves is not a hung plugin), and why the body failed, if it
/// did — the plugin only sees a read error; the answer must say what really happened.
#[derive(Debug)]
pub(crate) struct BodyWatch {
    started: Instant,
    /// Milliseconds from `started` to the end of the plugin's last read.
    last_read_ms: AtomicU64,
    /// The plugin is waiting in a read: for the client, so not the plugin's delay.
    reading: AtomicBool,
    failure: OnceLock<BodyFailure>,
}

impl BodyWatch {
    /// How long the plugin has held the call without reading the body: since its last read
    /// ended (or the body was opened); zero while it waits in a read.
    pub(crate) fn idle(&self) -> Duration {
        if self.reading.load(Ordering::Relaxed) {
            return Duration::ZERO;
        }
        let last = Duration::from_millis(self.last_read_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }

    /// Why the body failed, if it did.
    pub(crate) fn failure(&self) -> Option<BodyFailure> {
        self.failure.get().copied()
    }

    fn reading(&self, now: bool) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_read_ms.store(ms, Ordering::Relaxed);
        self.reading.store(now, Ordering::Relaxed);
    }
}

/// A request body as a blocking reader for a plugin, cut with an error after `max` bytes.
/// Must be called inside the runtime; the reader must be used from a blocking thread. A client
/// that disconnects mid-body makes the reader fail, so the driver discards the partial upload.
pub(crate) fn body_reader(
    body: Body,
    max: u64,
    transfer: Option<Transfer>,
) -> (ByteSource, Arc<BodyWatch>) {
    let (mut sender, reader, watch) = body_channel(max, transfer);
    tokio::spawn(async move {
        let mut frames = body.into_data_stream();
        while let Some(frame) = frames.next().await {
            match frame {
                Ok(bytes) => {
                    if !sender.send(bytes).await {
                        return;
                    }
                }
                Err(e) => {
                    // The idle timeout (tower-http's RequestBodyTimeoutLayer) surfaces here.
                    let root: &(dyn std::error::Error + 'static) = &e;
                    let timed_out = std::iter::successors(Some(root), |e| e.source())
                        .any(|e| e.is::<tower_http::timeout::TimeoutError>());
                    let failure = if timed_out {
                        BodyFailure::Stalled
                    } else {
                        BodyFailure::ClientGone
                    };
                    sender.fail(failure, format!("request body: {e}")).await;
                    return;
                }
            }
        }
        sender.finish();
    });
    (reader, watch)
}

/// A request body fed chunk by chunk from async code (a door that receives the body in
/// pieces, as the WebDAV door does) and read by a plugin as a blocking reader: the sender,
/// the reader and the watch of the reader. The reader ends only when the sender says the
/// body is complete ([`BodySender::finish`]); a sender dropped before that makes the reader
/// fail, so a body cut short is never taken for a whole one.
pub(crate) fn body_channel(
    max: u64,
    transfer: Option<Transfer>,
) -> (BodySender, ByteSource, Arc<BodyWatch>) {
    let watch = Arc::new(BodyWatch {
        started: Instant::now(),
        last_read_ms: AtomicU64::new(0),
        reading: AtomicBool::new(false),
        failure: OnceLock::new(),
    });
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(DEPTH);
    let complete = Arc::new(AtomicBool::new(false));
    let sender = BodySender {
        tx,
        watch: watch.clone(),
        complete: complete.clone(),
        received: 0,
        max,
        transfer,
    };
    let reader = ChannelReader {
        rx,
        current: Bytes::new(),
        watch: watch.clone(),
        complete,
    };
    (sender, Box::new(reader), watch)
}

/// The async end of [`body_channel`].
pub(crate) struct BodySender {
    tx: mpsc::Sender<io::Result<Bytes>>,
    watch: Arc<BodyWatch>,
    /// Set by `finish`: the reader may end when the channel closes.
    complete: Arc<AtomicBool>,
    received: u64,
    max: u64,
    transfer: Option<Transfer>,
}

impl BodySender {
    /// Passes the next chunk on, waiting while the reader is behind; false when the reader
    /// is gone, or the body went over its limit (then the reader fails).
    pub(crate) async fn send(&mut self, bytes: Bytes) -> bool {
        self.received += bytes.len() as u64;
        if let Some(t) = &self.transfer {
            t.bytes(bytes.len());
        }
        if self.received > self.max {
            let max = self.max;
            self.fail(
                BodyFailure::OverLimit,
                format!("request body over the limit of {max} bytes"),
            )
            .await;
            return false;
        }
        self.tx.send(Ok(bytes)).await.is_ok()
    }

    /// The body failed before its end: the reader fails with `why`, and the watch says why.
    pub(crate) async fn fail(&self, failure: BodyFailure, why: String) {
        let _ = self.watch.failure.set(failure);
        let kind = match failure {
            BodyFailure::OverLimit => io::ErrorKind::InvalidData,
            BodyFailure::Stalled | BodyFailure::ClientGone => io::ErrorKind::ConnectionAborted,
        };
        let _ = self.tx.send(Err(io::Error::new(kind, why))).await;
    }

    /// The body is complete: the reader ends after the chunks sent.
    pub(crate) fn finish(self) {
        self.complete.store(true, Ordering::Release);
    }
}

struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    watch: Arc<BodyWatch>,
    complete: Arc<AtomicBool>,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.watch.reading(true);
        let filled = self.fill();
        self.watch.reading(false);
        filled?;
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

impl ChannelReader {
    /// Waits for the next chunk unless part of one is left; `current` stays empty at the end.
    fn fill(&mut self) -> io::Result<()> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => return Err(e),
                // The sender is gone: the end of the body only if it said so.
                None if self.complete.load(Ordering::Acquire) => return Ok(()),
                None => {
                    let _ = self.watch.failure.set(BodyFailure::ClientGone);
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "the request body ended before it was complete",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// True when `source` has nothing more to give.
fn ends_here(source: &mut ByteSource) -> bool {
    let mut probe = [0u8; 1];
    loop {
        match source.read(&mut probe) {
            Ok(0) => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            _ => return false,
        }
    }
}

/// Why copying a plugin's stream stopped before its end.
pub(crate) enum CopyFailure {
    /// The stream failed, or disagreed with the length its driver announced.
    Source(String),
    /// The writer failed (for a response body: the client went away).
    Sink(io::Error),
}

/// Copies a plugin's stream of exactly `length` bytes, as its driver announced, into `out`,
/// through `buf`; call it on a blocking thread. A stream that ends early, or goes on past
/// `length`, fails as it does in [`response_body`]: nothing past the announced length is
/// written.
pub(crate) fn copy_announced(
    source: &mut ByteSource,
    length: u64,
    buf: &mut [u8],
    out: &mut impl io::Write,
) -> Result<(), CopyFailure> {
    let mut copied = 0u64;
    while copied < length {
        let want = (length - copied).min(buf.len() as u64) as usize;
        match source.read(&mut buf[..want]) {
            Ok(0) => {
                return Err(CopyFailure::Source(format!(
                    "the driver's stream ended after {copied} of the {length} bytes it announced"
                )))
            }
            Ok(n) => {
                out.write_all(&buf[..n]).map_err(CopyFailure::Sink)?;
                copied += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(CopyFailure::Source(format!(
                    "the driver's stream failed midway: {e}"
                )))
            }
        }
    }
    if ends_here(source) {
        Ok(())
    } else {
        Err(CopyFailure::Source(format!(
            "the driver's stream does not end at the {length} bytes it announced"
        )))
    }
}

/// Bodies up to this size are read whole in the driver call that opens them: one hand-off
/// to the blocking pool per download instead of two (4 KiB downloads +30–50 %, see
/// docs/BENCHMARKS.md), and a broken stream is answered with its error before any byte.
pub(crate) const WHOLE_MAX: u64 = 64 * 1024;

/// Reads a body that must be exactly `length` bytes (at most [`WHOLE_MAX`]) from `source`;
/// call it inside the driver call (on its blocking thread, or on the quick lane). The inner
/// `Err` says how the stream disagreed with the length its driver announced.
pub(crate) fn read_whole(
    source: &mut ByteSource,
    length: u64,
) -> io::Result<Result<Bytes, String>> {
    debug_assert!(length <= WHOLE_MAX);
    let mut body = BytesMut::zeroed(length as usize);
    let mut filled = 0;
    while filled < body.len() {
        match source.read(&mut body[filled..]) {
            Ok(0) => {
                return Ok(Err(format!(
                    "the driver's stream ended after {filled} of the {length} bytes it announced"
                )))
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if !ends_here(source) {
        return Ok(Err(format!(
            "the driver's stream does not end at the {length} bytes it announced"
        )));
    }
    Ok(Ok(body.freeze()))
}

/// A plugin's byte stream as a response body, pulled on a blocking thread. When the client
/// goes away the pull stops and the plugin's stream is dropped. The response is cut (the
/// client sees a truncated body, never a complete-looking one) when the plugin leaves the
/// stream without a chunk for `stall_limit`, or when it sends more or fewer bytes than the
/// `length` it announced.
pub(crate) fn response_body(
    mut source: ByteSource,
    length: Option<u64>,
    stall_limit: Duration,
    transfer: Option<Transfer>,
) -> Body {
    let (tx, rx) = chunk_channel();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _span = span.enter();
        let mut sent = 0u64;
        loop {
            // Each chunk is read straight into the buffer that goes to the client (a copy
            // here cost a third of download throughput), sized to what is left to send.
            let want = length.map_or(CHUNK, |l| {
                l.saturating_sub(sent).clamp(1, CHUNK as u64) as usize
            });
            let mut chunk = BytesMut::zeroed(want);
            match source.read(&mut chunk) {
                Ok(0) => {
                    if let Some(length) = length.filter(|&l| sent < l) {
                        tracing::error!("the plugin's stream ended after {sent} of the {length} bytes it announced");
                        let _ = tx.blocking_send(Err(io::Error::other("plugin stream too short")));
                    }
                    break;
                }
                Ok(n) => {
                    sent += n as u64;
                    let complete = length == Some(sent);
                    // The chunk that completes the announced length goes out only once the
                    // stream is known to end there: sent first, a longer stream would look
                    // whole to the client.
                    if length.is_some_and(|l| sent > l) || (complete && !ends_here(&mut source)) {
                        tracing::error!(
                            "the plugin's stream does not end at the {} bytes it announced",
                            length.unwrap_or_default()
                        );
                        let _ = tx.blocking_send(Err(io::Error::other("plugin stream too long")));
                        break;
                    }
                    if let Some(t) = &transfer {
                        t.bytes(n);
                    }
                    chunk.truncate(n);
                    if tx.blocking_send(Ok(chunk.freeze())).is_err() || complete {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!("response stream failed midway: {e}");
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    stalling_body(rx, stall_limit)
}

/// A channel of chunks, filled by a blocking thread, as a response body that is cut when no
/// chunk comes for `stall_limit`. The timer runs only while the channel is empty: a slow
/// client, which leaves chunks waiting in the channel, never trips it.
pub(crate) fn stalling_body(rx: mpsc::Receiver<io::Result<Bytes>>, stall_limit: Duration) -> Body {
    let chunks =
        tokio_stream::StreamExt::timeout(ReceiverStream::new(rx), stall_limit).map(move |item| {
            item.unwrap_or_else(|_| {
                tracing::error!(
                    "response stream stalled: no chunk from the plugin in {stall_limit:?}"
                );
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "plugin stream stalled",
                ))
            })
        });
    Body::from_stream(chunks)
}

/// The channel a blocking thread fills for [`stalling_body`]: [`DEPTH`] chunks in flight.
pub(crate) fn chunk_channel() -> (
    mpsc::Sender<io::Result<Bytes>>,
    mpsc::Receiver<io::Result<Bytes>>,
) {
    mpsc::channel(DEPTH)
}
