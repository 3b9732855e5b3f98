//! Test plugin `access.faulty`: a read-only driver with two files whose operations panic or
//! fail on purpose, so tests can check that the host survives a misbehaving plugin.
//!
//! - `stat`/`read` of `panic` panic inside the driver; `read` of `panic-stream` returns a
//!   stream that panics after its first chunk; `stat` of `error-<kind>` answers that kind.
//! - Action `faulty_panic` (plugin-level) panics; `faulty_echo` (on a workspace) answers its
//!   workspace and query as JSON.

use std::io::Read;

use plugin_api::*;

/// The plugin.
pub struct Faulty;

impl Plugin for Faulty {
    type Driver = FaultyDriver;
    const ID: &'static str = "access.faulty";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const ACTIONS: &'static [&'static str] = &["faulty_panic", "faulty_echo"];

    fn new(_host: Host) -> Result<Self> {
        Ok(Faulty)
    }

    fn open(&self, _config: WorkspaceConfig) -> Result<FaultyDriver> {
        Ok(FaultyDriver)
    }

    fn action(&self, _: &CallContext, req: ActionRequest) -> Result<ActionResponse> {
        match req.name.as_str() {
            "faulty_panic" => panic!("faulty_panic was called"),
            other => Err(PluginError::unsupported(&format!("plugin action {other}"))),
        }
    }
}

/// The driver.
pub struct FaultyDriver;

const CONTENT: &[u8] = b"hello from a faulty plugin\n";

impl Driver for FaultyDriver {
    fn capabilities(&self) -> Capabilities {
        Capabilities::READ_ONLY
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
        if path == "panic" {
            panic!("stat of 'panic' panics on purpose");
        }
        if let Some(kind) = path.strip_prefix("error-") {
            let kind = ErrorKind::ALL
                .into_iter()
                .find(|k| k.as_str() == kind)
                .unwrap_or(ErrorKind::Internal);
            return Err(PluginError::new(kind, format!("asked for {kind}")));
        }
        match path {
            "" => Ok(Entry::dir("")),
            "hello.txt" | "panic-stream" => Ok(Entry::file(path, CONTENT.len() as u64)),
            _ => Err(PluginError::not_found(format!("no '{path}'"))),
        }
    }

    fn list(&self, ctx: &CallContext, path: &WsPath, _: PageRequest) -> Result<ListPage> {
        self.stat(ctx, path)?;
        Ok(ListPage {
            entries: vec![Entry::file("hello.txt", CONTENT.len() as u64)],
            next_cursor: None,
        })
    }

    fn read(&self, ctx: &CallContext, path: &WsPath, _: Option<ByteRange>) -> Result<ReadResult> {
        let entry = self.stat(ctx, path)?;
        let content: ByteSource = if path == "panic-stream" {
            Box::new(PanickyStream { sent: false })
        } else {
            Box::new(std::io::Cursor::new(CONTENT))
        };
        Ok(ReadResult {
            entry,
            range: None,
            content,
        })
    }
}

struct PanickyStream {
    sent: bool,
}

impl Read for PanickyStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.sent {
            panic!("the stream panics after its first chunk");
        }
        self.sent = true;
        let n = buf.len().min(4);
        buf[..n].copy_from_slice(&CONTENT[..n]);
        Ok(n)
    }
}

export_plugin!(Faulty);
