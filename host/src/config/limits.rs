//! `[limits]`: what one client, or one plugin call, may take, with defaults safe on the open
//! network.

use std::time::Duration;

use serde::Deserialize;

/// Bounds on what one client, or one plugin call, may take (`[limits]` in host.toml). Every
/// bound has a default safe for a host on the open network; operators raise them knowingly.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Largest upload body, in bytes (413 beyond).
    pub(crate) max_upload: u64,
    /// Largest other request body (forms, JSON of the API and the UI), in bytes.
    pub(crate) max_body: usize,
    /// Largest request head (request line and headers), in bytes (431 beyond).
    pub(crate) max_header_bytes: usize,
    /// Time a client has to send its request head (and an idle keep-alive connection to
    /// start the next one): slow-loris clients are cut.
    pub(crate) header_timeout: Duration,
    /// Longest pause while a client sends a body: a stalled upload is cut and discarded.
    pub(crate) body_idle_timeout: Duration,
    /// Largest listing page a client may ask for.
    pub(crate) max_page: u32,
    /// Most nodes one batch request (`nodes[]`) may name.
    pub(crate) max_batch: u32,
    /// Largest file `get_content` answers and `put_content` accepts, in bytes.
    pub(crate) max_content: u64,
    /// Largest total of file bytes one zip download may hold.
    pub(crate) max_archive_bytes: u64,
    /// Most entries (files and folders) one zip download may hold.
    pub(crate) max_archive_entries: u32,
    /// Failed logins for one user name before attempts are refused ...
    pub(crate) login_failures: u32,
    /// ... for this long.
    pub(crate) login_window: Duration,
    /// Longest a plugin may take to answer a call, or to move a stream forward; the request
    /// then fails with 504 (the plugin's thread cannot be stopped and finishes on its own).
    pub(crate) plugin_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_upload: 16 << 30,
            max_body: 1 << 20,
            max_header_bytes: 16 << 10,
            header_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(60),
            max_page: 10_000,
            max_batch: 1000,
            max_content: 1 << 20,
            max_archive_bytes: 64 << 30,
            max_archive_entries: 100_000,
            login_failures: 5,
            login_window: Duration::from_secs(60),
            plugin_timeout: Duration::from_secs(60),
        }
    }
}

/// `[limits]` as written: sizes as "16 GiB" or a number of bytes, durations in seconds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileLimits {
    max_upload: Option<Size>,
    max_body: Option<Size>,
    max_header_bytes: Option<Size>,
    header_timeout_secs: Option<u64>,
    body_idle_timeout_secs: Option<u64>,
    max_page: Option<u32>,
    max_batch: Option<u32>,
    max_content: Option<Size>,
    max_archive_bytes: Option<Size>,
    max_archive_entries: Option<u32>,
    login_failures: Option<u32>,
    login_window_secs: Option<u64>,
    plugin_timeout_secs: Option<u64>,
}

/// A size in the config file: a number of bytes or a string such as "512 KiB".
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Size {
    Bytes(u64),
    Text(String),
}

/// Resolves `[limits]` over the defaults, reporting values out of range to `problem` (with
/// the default kept for them).
pub(super) fn limits(file: FileLimits, problem: &mut dyn FnMut(&'static str, String)) -> Limits {
    let default = Limits::default();
    let mut size = |key: &'static str, value: Option<Size>, min: u64, fallback: u64| -> u64 {
        let bytes = match value {
            None => return fallback,
            Some(Size::Bytes(n)) => Ok(n),
            Some(Size::Text(t)) => t.parse::<bytesize::ByteSize>().map(|b| b.as_u64()),
        };
        match bytes {
            Ok(n) if n >= min => n,
            Ok(n) => {
                problem(key, format!("expected at least {min} bytes, got {n}"));
                fallback
            }
            Err(e) => {
                problem(
                    key,
                    format!("expected a size like \"64 MiB\" or a number of bytes: {e}"),
                );
                fallback
            }
        }
    };
    let max_upload = size("limits.max_upload", file.max_upload, 1, default.max_upload);
    let max_content = size(
        "limits.max_content",
        file.max_content,
        1,
        default.max_content,
    );
    let max_archive_bytes = size(
        "limits.max_archive_bytes",
        file.max_archive_bytes,
        1,
        default.max_archive_bytes,
    );
    let max_body = size(
        "limits.max_body",
        file.max_body,
        1024,
        default.max_body as u64,
    );
    // hyper refuses head buffers under 8 KiB.
    let max_header_bytes = size(
        "limits.max_header_bytes",
        file.max_header_bytes,
        8 << 10,
        default.max_header_bytes as u64,
    );
    let mut secs = |key: &'static str, value: Option<u64>, fallback: Duration| match value {
        None => fallback,
        Some(0) => {
            problem(key, "expected a number of seconds of at least 1".into());
            fallback
        }
        Some(n) => Duration::from_secs(n),
    };
    let header_timeout = secs(
        "limits.header_timeout_secs",
        file.header_timeout_secs,
        default.header_timeout,
    );
    let body_idle_timeout = secs(
        "limits.body_idle_timeout_secs",
        file.body_idle_timeout_secs,
        default.body_idle_timeout,
    );
    let login_window = secs(
        "limits.login_window_secs",
        file.login_window_secs,
        default.login_window,
    );
    let plugin_timeout = secs(
        "limits.plugin_timeout_secs",
        file.plugin_timeout_secs,
        default.plugin_timeout,
    );
    let mut count = |key: &'static str, value: Option<u32>, fallback: u32| match value {
        Some(0) => {
            problem(key, "expected a whole number of at least 1".into());
            fallback
        }
        v => v.unwrap_or(fallback),
    };
    Limits {
        max_upload,
        max_body: usize::try_from(max_body).unwrap_or(usize::MAX),
        max_header_bytes: usize::try_from(max_header_bytes).unwrap_or(usize::MAX),
        header_timeout,
        body_idle_timeout,
        max_page: count("limits.max_page", file.max_page, default.max_page),
        max_batch: count("limits.max_batch", file.max_batch, default.max_batch),
        max_content,
        max_archive_bytes,
        max_archive_entries: count(
            "limits.max_archive_entries",
            file.max_archive_entries,
            default.max_archive_entries,
        ),
        login_failures: count(
            "limits.login_failures",
            file.login_failures,
            default.login_failures,
        ),
        login_window,
        plugin_timeout,
    }
}
