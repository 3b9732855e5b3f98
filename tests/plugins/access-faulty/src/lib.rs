//! Test plugin `access.faulty`: a driver whose every operation misbehaves on request, so tests
//! can check that the host survives a misbehaving plugin and answers each fault cleanly.
//!
//! The fault is chosen by the path the operation is given (for `rename` and `copy`, either
//! path), in every operation (`stat`, `list`, `read`, `write`, `mkdir`, `delete`, `rename`,
//! `copy`):
//! - `panic`: panics;
//! - `hang`: sleeps [`HANG`] (past the host's deadline in the tests), then answers;
//! - `error-<kind>`: answers that error kind (`internal` for an unknown kind);
//! - `garbage`: answers entries no driver may answer — names with `..`, `/`, NUL, an empty
//!   name, a path that is not the one asked — and, for `read`, a stream longer than the size
//!   it announced;
//! - `stream-panic`, `stream-hang`, `stream-error`, `stream-garbage` (read only): a stream
//!   that sends one chunk, then panics, stalls for [`HANG`] twice, fails, or goes on a
//!   megabyte past the size announced; with a `big-` prefix the same, announcing [`BIG`]
//!   bytes (the host reads small bodies whole before answering, and streams large ones);
//! - `write-<fault>` (write only): `write` acts out `<fault>` while `stat` finds nothing
//!   there, so a door that looks before it writes (WebDAV's PUT) reaches the write.
//!
//! With the workspace parameter `QUICK = true` the driver declares `Capabilities::QUICK`;
//! with `READ_ONLY = true` it declares only `Capabilities::READ_ONLY` (no write, mkdir,
//! delete, rename or copy), and with `NO_MKDIR = true` everything but `Capabilities::MKDIR`:
//! the doors must refuse what is not declared before calling the driver.
//!
//! Other paths: `hello.txt` exists; writes, mkdirs, deletes, renames and copies succeed
//! without storing anything. Actions: `faulty_panic` (plugin-level) panics, `faulty_hang`
//! (plugin-level) sleeps [`HANG`], `faulty_echo` (on a workspace) answers its workspace and
//! query as JSON. With `FAULTY_INIT_HANG_SECS=N` in its environment, `Plugin::new` sleeps N s.

use std::io::Read;
use std::time::Duration;

use plugin_api::*;

/// How long `hang` faults sleep: longer than the 1 s plugin deadline the tests configure,
/// short enough that the blocking threads they hold come back during a test.
const HANG: Duration = Duration::from_millis(2500);

/// The plugin.
pub struct Faulty;

impl Plugin for Faulty {
    type Driver = FaultyDriver;
    const ID: &'static str = "access.faulty";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const ACTIONS: &'static [&'static str] = &["faulty_panic", "faulty_hang", "faulty_echo"];

    fn new(_host: Host) -> Result<Self> {
        // A plugin whose initialization hangs (a backend it waits for at start): the host
        // must load it off its async threads, within its deadline, and serve the others.
        if let Some(secs) = std::env::var("FAULTY_INIT_HANG_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
        {
            std::thread::sleep(Duration::from_secs(secs));
        }
        Ok(Faulty)
    }

    fn open(&self, config: WorkspaceConfig) -> Result<FaultyDriver> {
        let mut caps = if config.get_bool("READ_ONLY", false)? {
            Capabilities::READ_ONLY
        } else if config.get_bool("NO_MKDIR", false)? {
            Capabilities::READ_ONLY
                | Capabilities::WRITE
                | Capabilities::DELETE
                | Capabilities::RENAME
                | Capabilities::COPY
        } else {
            Capabilities::ALL
        };
        if config.get_bool("QUICK", false)? {
            caps = caps | Capabilities::QUICK;
        }
        Ok(FaultyDriver { caps })
    }

    fn action(&self, _: &CallContext, req: ActionRequest) -> Result<ActionResponse> {
        match req.name.as_str() {
            "faulty_panic" => panic!("faulty_panic was called"),
            "faulty_hang" => {
                std::thread::sleep(HANG);
                Ok(ActionResponse::json("{\"late\":true}".to_owned()))
            }
            other => Err(PluginError::unsupported(&format!("plugin action {other}"))),
        }
    }
}

/// The driver.
pub struct FaultyDriver {
    /// What it declares: [`Capabilities::QUICK`] with `QUICK` (its faults then happen on the
    /// host's async threads), fewer with `READ_ONLY` or `NO_MKDIR`.
    caps: Capabilities,
}

const CONTENT: &[u8] = b"hello from a faulty plugin\n";

/// Acts out the fault `path` names, if any: panics, sleeps, or answers an error.
fn fault(op: &str, path: &str) -> Result<()> {
    match path {
        "panic" => panic!("{op} of 'panic' panics on purpose"),
        "hang" => {
            std::thread::sleep(HANG);
            Ok(())
        }
        _ => match path.strip_prefix("error-") {
            Some(kind) => {
                let kind = ErrorKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == kind)
                    .unwrap_or(ErrorKind::Internal);
                Err(PluginError::new(kind, format!("{op}: asked for {kind}")))
            }
            None => Ok(()),
        },
    }
}

/// An entry no driver may answer for `asked`: its path is another one, with `..` in it.
fn garbage_entry() -> Entry {
    Entry::file("../../outside/\u{0}secret", u64::MAX)
}

impl Driver for FaultyDriver {
    fn capabilities(&self) -> Capabilities {
        self.caps
    }

    fn action(&self, ctx: &CallContext, req: ActionRequest) -> Result<ActionResponse> {
        match req.name.as_str() {
            "faulty_echo" => {
                let pairs: Vec<String> = req
                    .query
                    .iter()
                    .map(|(k, v)| format!("\"{k}\":\"{v}\""))
                    .collect();
                let ws = ctx.workspace.clone().unwrap_or_default();
                Ok(ActionResponse::json(format!(
                    "{{\"workspace\":\"{ws}\",\"query\":{{{}}}}}",
                    pairs.join(",")
                ))
                .with_status(202))
            }
            other => Err(PluginError::unsupported(&format!("driver action {other}"))),
        }
    }

    fn stat(&self, _: &CallContext, path: &WsPath) -> Result<Entry> {
        fault("stat", path)?;
        match path {
            "" => Ok(Entry::dir("")),
            "garbage" => Ok(garbage_entry()),
            "hello.txt" | "hang" => Ok(Entry::file(path, CONTENT.len() as u64)),
            _ => match stream_fault(path) {
                Some((_, size)) => Ok(Entry::file(path, size)),
                None => Err(PluginError::not_found(format!("no '{path}'"))),
            },
        }
    }

    fn list(&self, ctx: &CallContext, path: &WsPath, _: PageRequest) -> Result<ListPage> {
        fault("list", path)?;
        if path == "garbage" {
            return Ok(ListPage {
                entries: vec![
                    Entry::file("garbage/ok.txt", 1),
                    Entry::file("garbage/../../escape", 1),
                    Entry::file("elsewhere/file", 1),
                    Entry::file("garbage/", 1),
                    Entry::file("garbage/a\u{0}b", 1),
                ],
                next_cursor: None,
            });
        }
        self.stat(ctx, path)?;
        Ok(ListPage {
            entries: vec![Entry::file("hello.txt", CONTENT.len() as u64)],
            next_cursor: None,
        })
    }

    fn read(&self, ctx: &CallContext, path: &WsPath, _: Option<ByteRange>) -> Result<ReadResult> {
        let entry = self.stat(ctx, path)?;
        let content: ByteSource = match stream_fault(path) {
            Some(("stream-garbage", size)) => {
                Box::new(std::io::repeat(b'x').take(size + (1 << 20)))
            }
            Some((fault, _)) => Box::new(FaultyStream {
                fault: fault.to_owned(),
                sent: false,
            }),
            None => Box::new(std::io::Cursor::new(CONTENT)),
        };
        Ok(ReadResult {
            entry,
            range: None,
            content,
        })
    }

    fn write(
        &self,
        _: &CallContext,
        path: &WsPath,
        mut body: ByteSource,
        _: WriteOptions,
    ) -> Result<Entry> {
        fault("write", path.strip_prefix("write-").unwrap_or(path))?;
        let size = std::io::copy(&mut body, &mut std::io::sink())
            .map_err(|e| PluginError::new(ErrorKind::Unavailable, format!("body: {e}")))?;
        if path == "garbage" {
            return Ok(garbage_entry());
        }
        Ok(Entry::file(path, size))
    }

    fn mkdir(&self, _: &CallContext, path: &WsPath) -> Result<Entry> {
        fault("mkdir", file_name(path))?;
        if file_name(path) == "garbage" {
            return Ok(garbage_entry());
        }
        Ok(Entry::dir(path))
    }

    fn delete(&self, _: &CallContext, path: &WsPath) -> Result<()> {
        fault("delete", path)
    }

    fn rename(&self, _: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        fault("rename", from)?;
        fault("rename", to)?;
        if from == "garbage" {
            return Ok(garbage_entry());
        }
        Ok(Entry::file(to, 0))
    }

    fn copy(&self, _: &CallContext, from: &WsPath, to: &WsPath) -> Result<Entry> {
        fault("copy", from)?;
        fault("copy", to)?;
        if from == "garbage" {
            return Ok(garbage_entry());
        }
        Ok(Entry::file(to, 0))
    }
}

/// The size `big-` stream faults announce.
const BIG: u64 = 1 << 20;

/// The stream fault `path` names, and the size it announces.
fn stream_fault(path: &str) -> Option<(&str, u64)> {
    let (fault, size) = match path.strip_prefix("big-") {
        Some(fault) => (fault, BIG),
        None => (path, CONTENT.len() as u64),
    };
    matches!(
        fault,
        "stream-panic" | "stream-hang" | "stream-error" | "stream-garbage"
    )
    .then_some((fault, size))
}

/// Sends four bytes, then acts out its fault on the next read.
struct FaultyStream {
    fault: String,
    sent: bool,
}

impl Read for FaultyStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.sent {
            match self.fault.as_str() {
                "stream-panic" => panic!("the stream panics after its first chunk"),
                "stream-hang" => std::thread::sleep(HANG * 2),
                _ => {
                    return Err(std::io::Error::other(
                        "the stream fails after its first chunk",
                    ))
                }
            }
            return Ok(0);
        }
        self.sent = true;
        let n = buf.len().min(4);
        buf[..n].copy_from_slice(&CONTENT[..n]);
        Ok(n)
    }
}

export_plugin!(Faulty);
