//! Bridges between async HTTP bodies and the blocking byte streams of the plugin ABI, both
//! with a small bounded channel: memory per transfer stays at a few chunks whatever the file
//! size, and a slow side slows the other (backpressure) instead of buffering.

use std::io::{self, Read};

use axum::body::Body;
use bytes::{Buf, Bytes};
use futures_util::StreamExt;
use plugin_api::ByteSource;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::telemetry::Transfer;

/// Chunks in flight per transfer.
const DEPTH: usize = 4;
/// Bytes read from a plugin per chunk.
pub(crate) const CHUNK: usize = 256 * 1024;

/// A request body as a blocking reader for a plugin. Must be called inside the runtime; the
/// reader must be used from a blocking thread. A client that disconnects mid-body makes the
/// reader fail, so the driver discards the partial upload.
pub(crate) fn body_reader(body: Body, transfer: Option<Transfer>) -> ByteSource {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(DEPTH);
    tokio::spawn(async move {
        let mut frames = body.into_data_stream();
        while let Some(frame) = frames.next().await {
            if let (Some(t), Ok(bytes)) = (&transfer, &frame) {
                t.bytes(bytes.len());
            }
            let failed = frame.is_err();
            let item = frame.map_err(|e| {
                io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    format!("request body: {e}"),
                )
            });
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    Box::new(ChannelReader {
        rx,
        current: Bytes::new(),
    })
}

struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

/// A plugin's byte stream as a response body, pulled on a blocking thread. When the client
/// goes away the pull stops and the plugin's stream is dropped.
pub(crate) fn response_body(mut source: ByteSource, transfer: Option<Transfer>) -> Body {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(DEPTH);
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _span = span.enter();
        let mut buf = vec![0u8; CHUNK];
        loop {
            match source.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if let Some(t) = &transfer {
                        t.bytes(n);
                    }
                    if tx
                        .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
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
    Body::from_stream(ReceiverStream::new(rx))
}
