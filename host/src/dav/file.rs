//! Files opened by dav-server: a [`ReadFile`] streams the driver's read from the position
//! dav-server seeks to (a Range request), and a [`WriteFile`] feeds the PUT body, frame by
//! frame, to one driver write, so memory stays at a few chunks whatever the size. The
//! driver's write is complete only when dav-server flushes at the end of the body: a PUT cut
//! short drops the file unflushed, the driver's reader fails, and the driver discards what it
//! wrote (the previous version stays).

use std::io::SeekFrom;
use std::sync::Mutex;

use bytes::{Buf, Bytes};
use dav_server::fs::{DavFile, DavMetaData, FsError, FsFuture, FsResult};
use futures_util::{FutureExt, StreamExt};
use plugin_api::{Entry, WriteOptions};
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::fs::{DavMeta, DriverFs};
use crate::app::error::AppError;
use crate::plugins::read::{Content, Download};
use crate::plugins::stream::{body_channel, response_body, BodySender};
use crate::telemetry::{self, Direction, Transfer};

type Chunks =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, axum::Error>> + Send>>;

/// A file opened for reading.
pub(super) struct ReadFile {
    fs: DriverFs,
    path: String,
    entry: Entry,
    /// The next byte dav-server reads.
    pos: u64,
    /// The driver's read from the position it was opened at, once a byte is asked.
    open: Option<Mutex<Chunks>>,
    /// What is left of the last chunk.
    left: Bytes,
}

impl std::fmt::Debug for ReadFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadFile")
            .field("path", &self.path)
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl ReadFile {
    /// A file to read, with the whole read already made when a GET asked its entry (see
    /// `DriverFs::meta`).
    pub(super) fn new(
        fs: DriverFs,
        path: String,
        entry: Entry,
        made: Option<Download>,
    ) -> ReadFile {
        let mut file = ReadFile {
            fs,
            path,
            entry,
            pos: 0,
            open: None,
            left: Bytes::new(),
        };
        if let Some(read) = made {
            file.stream(read);
        }
        file
    }

    /// Starts the driver's read at `pos`: the whole file, or from `pos` to its end.
    async fn start(&mut self) -> FsResult<()> {
        let target = self.fs.target.clone().ok_or(FsError::Forbidden)?;
        let range = (self.pos > 0).then(|| format!("bytes={}-", self.pos));
        let read = target
            .driver
            .read(&self.fs.state, self.path.clone(), range)
            .await
            .map_err(|e| self.fs.failed(e))?;
        self.stream(read);
        Ok(())
    }

    /// Reads from `read`'s content from now on.
    fn stream(&mut self, read: Download) {
        let length = read.length();
        let plugin = telemetry::serving_plugin().unwrap_or_default();
        let chunks: Chunks = match read.content {
            Content::Whole(bytes) => {
                Transfer::start(Direction::Download, &plugin).bytes(bytes.len());
                self.left = bytes;
                futures_util::stream::empty().boxed()
            }
            Content::Stream(source) => response_body(
                source,
                Some(length),
                self.fs.state.config.limits.plugin_timeout,
                Some(Transfer::start(Direction::Download, &plugin)),
            )
            .into_data_stream()
            .boxed(),
        };
        self.open = Some(Mutex::new(chunks));
    }

    async fn read(&mut self, count: usize) -> FsResult<Bytes> {
        if self.pos >= self.entry.size || count == 0 {
            return Ok(Bytes::new());
        }
        if self.open.is_none() {
            self.start().await?;
        }
        if self.left.is_empty() {
            let chunks = self.open.as_mut().expect("started");
            let next = chunks.get_mut().expect("read stream").next().await;
            match next {
                Some(Ok(chunk)) => self.left = chunk,
                // The stream is cut (the driver failed, stalled, or sent fewer bytes than the
                // file holds): an error, never bytes made up to fill the length.
                Some(Err(e)) => {
                    tracing::warn!(path = %self.path, "WebDAV read failed midway: {e}");
                    return Err(FsError::GeneralFailure);
                }
                None => return Err(FsError::GeneralFailure),
            }
        }
        let n = count.min(self.left.len());
        self.pos += n as u64;
        Ok(self.left.split_to(n))
    }
}

impl DavFile for ReadFile {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta: Box<dyn DavMetaData> = Box::new(DavMeta::of(&self.entry));
        std::future::ready(Ok(meta)).boxed()
    }

    fn write_buf(&mut self, _buf: Box<dyn Buf + Send>) -> FsFuture<'_, ()> {
        std::future::ready(Err(FsError::Forbidden)).boxed()
    }

    fn write_bytes(&mut self, _buf: Bytes) -> FsFuture<'_, ()> {
        std::future::ready(Err(FsError::Forbidden)).boxed()
    }

    fn read_bytes(&mut self, count: usize) -> FsFuture<'_, Bytes> {
        self.read(count).boxed()
    }

    fn seek(&mut self, pos: SeekFrom) -> FsFuture<'_, u64> {
        let size = self.entry.size;
        let to = match pos {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let result = match to {
            Some(to) if to <= size => {
                if to != self.pos {
                    // A new position is a new read from there.
                    self.open = None;
                    self.left = Bytes::new();
                    self.pos = to;
                }
                Ok(to)
            }
            _ => Err(FsError::GeneralFailure),
        };
        std::future::ready(result).boxed()
    }

    fn flush(&mut self) -> FsFuture<'_, ()> {
        std::future::ready(Ok(())).boxed()
    }
}

/// A file opened for writing: one driver write, fed by the PUT body.
pub(super) struct WriteFile {
    fs: DriverFs,
    path: String,
    /// The body's end, until flushed.
    sender: Option<BodySender>,
    /// The driver's write, until it answers.
    write: Option<JoinHandle<Result<Entry, AppError>>>,
    written: u64,
    /// The size the client announced (Content-Length or Finder's X-Expected-Entity-Length).
    expected: Option<u64>,
    /// The entry the driver answered once the write completed.
    done: Option<Entry>,
}

impl std::fmt::Debug for WriteFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteFile")
            .field("path", &self.path)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl WriteFile {
    /// Starts the driver's write of `path`, which reads what [`DavFile::write_bytes`] sends.
    pub(super) fn start(fs: DriverFs, path: String, expected: Option<u64>) -> WriteFile {
        let target = fs
            .target
            .clone()
            .expect("a write is in the request's workspace");
        let limits = fs.state.config.limits;
        let transfer = Transfer::start(
            Direction::Upload,
            &telemetry::serving_plugin().unwrap_or_default(),
        );
        let (sender, reader, watch) = body_channel(limits.max_upload, Some(transfer));
        let options = WriteOptions {
            overwrite: true,
            size_hint: expected,
        };
        let (state, file) = (fs.state.clone(), path.clone());
        let write = tokio::spawn(
            async move {
                target
                    .driver
                    .write(&state, file, reader, options, &watch)
                    .await
            }
            .instrument(tracing::Span::current()),
        );
        WriteFile {
            fs,
            path,
            sender: Some(sender),
            write: Some(write),
            written: 0,
            expected,
            done: None,
        }
    }

    async fn send(&mut self, bytes: Bytes) -> FsResult<()> {
        self.written += bytes.len() as u64;
        let sender = self.sender.as_mut().ok_or(FsError::GeneralFailure)?;
        if sender.send(bytes).await {
            return Ok(());
        }
        // The driver stopped reading: its answer says why.
        self.sender = None;
        match self.finish().await {
            Ok(()) => Err(FsError::GeneralFailure),
            Err(e) => Err(e),
        }
    }

    /// The driver's answer to the write.
    async fn finish(&mut self) -> FsResult<()> {
        let write = self.write.take().ok_or(FsError::GeneralFailure)?;
        match write.await {
            Ok(Ok(entry)) => {
                self.fs.changed();
                self.done = Some(entry);
                Ok(())
            }
            Ok(Err(e)) => Err(self.fs.failed(e)),
            Err(e) => Err(self
                .fs
                .failed(AppError::Internal(format!("WebDAV write task: {e}")))),
        }
    }

    async fn flush_write(&mut self) -> FsResult<()> {
        if self.done.is_some() {
            return Ok(());
        }
        let sender = self.sender.take().ok_or(FsError::GeneralFailure)?;
        if self.expected.is_some_and(|n| n != self.written) {
            // Fewer or more bytes than announced: dropping the sender unfinished makes the
            // driver's reader fail, so nothing is committed.
            drop(sender);
            let _ = self.finish().await;
            return Err(self.fs.failed(AppError::BadRequest(format!(
                "the body held {} bytes, not the {} announced",
                self.written,
                self.expected.unwrap_or_default()
            ))));
        }
        sender.finish();
        self.finish().await
    }
}

impl DavFile for WriteFile {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta = self
            .done
            .as_ref()
            .map(|e| Box::new(DavMeta::of(e)) as Box<dyn DavMetaData>)
            .ok_or(FsError::GeneralFailure);
        std::future::ready(meta).boxed()
    }

    fn write_buf(&mut self, mut buf: Box<dyn Buf + Send>) -> FsFuture<'_, ()> {
        let bytes = buf.copy_to_bytes(buf.remaining());
        self.send(bytes).boxed()
    }

    fn write_bytes(&mut self, buf: Bytes) -> FsFuture<'_, ()> {
        self.send(buf).boxed()
    }

    fn read_bytes(&mut self, _count: usize) -> FsFuture<'_, Bytes> {
        std::future::ready(Err(FsError::Forbidden)).boxed()
    }

    fn seek(&mut self, pos: SeekFrom) -> FsFuture<'_, u64> {
        // Drivers write whole files: a partial PUT (Content-Range) cannot be honoured.
        let result = match pos {
            SeekFrom::Start(0) if self.written == 0 => Ok(0),
            _ => Err(FsError::NotImplemented),
        };
        std::future::ready(result).boxed()
    }

    fn flush(&mut self) -> FsFuture<'_, ()> {
        self.flush_write().boxed()
    }
}
