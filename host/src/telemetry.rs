//! Logs and metrics. Logs are `tracing` lines, human-readable or JSON, each line of a request
//! inside a span that carries its request id. Metrics go to the `metrics` facade and are
//! rendered in Prometheus text format by `metrics-exporter-prometheus`.
//!
//! Metric names (all prefixed `wshost_`): `requests_total{action,plugin,status}`,
//! `request_duration_seconds{action,plugin}`, `bytes_uploaded_total{plugin}`,
//! `bytes_downloaded_total{plugin}`, `active_transfers{direction}`,
//! `driver_errors_total{plugin,kind}`, `plugin_loaded{plugin}`, and what plugins report through
//! the `metrics` host extension, as `plugin_<name>{plugin,…}`.
//!
//! Every field of a text log line is escaped by its formatter (`fields`), so no value a
//! client sends can start a line of its own.

mod access_log;
mod fields;

pub(crate) use access_log::{
    acting_admin, layer as access_log, note_action, note_user, note_workspace,
};

use std::cell::RefCell;
use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// For people.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The default log filter of `serve`: everything from info up.
pub(crate) const SERVE_LOG_FILTER: &str = "info";

/// The default log filter of the other commands: warnings and errors, not the start-up's
/// info lines (store open, plugin loaded…) around a command's own output; the
/// administration lines (`wshost::admin`, naming `admin = "console"`) stay, for the audit.
pub(crate) const COMMAND_LOG_FILTER: &str = "warn,wshost::admin=info";

/// Installs the log subscriber; `WSHOST_LOG` holds the filter (default `default_filter`).
pub(crate) fn init_logging(format: LogFormat, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WSHOST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
        LogFormat::Text => builder
            .fmt_fields(fields::EscapedFields)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}

/// How often the histograms' recorded samples are folded into their buckets.
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// The Prometheus renderer, installed once per process as the global metrics recorder.
pub(crate) fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0, 30.0, 60.0,
                ])
                .expect("static buckets")
                .install_recorder()
                .expect("the metrics recorder is installed once");
            // A histogram keeps every sample recorded until upkeep (or a scrape) folds them
            // into its buckets: without it memory grows with each request (an unscraped host
            // reached 69 MiB after ~1.6 M requests, against 37 MiB with upkeep).
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(METRICS_UPKEEP);
                    upkeep.run_upkeep();
                })
                .expect("start the metrics upkeep thread");
            handle
        })
        .clone()
}

tokio::task_local! {
    /// The plugin that served the current request, filled in by the code that calls it.
    static SERVED_BY: RefCell<Option<String>>;
    /// The current request's id (the `x-request-id` header).
    static REQUEST_ID: String;
}

/// Runs a request future, answering what it returned and which plugin served it.
pub(crate) async fn track<F: std::future::Future>(
    request_id: String,
    fut: F,
) -> (F::Output, Option<String>) {
    REQUEST_ID
        .scope(
            request_id,
            SERVED_BY.scope(RefCell::new(None), async {
                let out = fut.await;
                (out, SERVED_BY.with(|p| p.borrow().clone()))
            }),
        )
        .await
}

/// The current request's id, or an empty string outside a request.
pub(crate) fn request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// Notes that `plugin` serves the current request (a no-op outside [`track_plugin`]).
pub(crate) fn served_by(plugin: &str) {
    let _ = SERVED_BY.try_with(|p| *p.borrow_mut() = Some(plugin.to_owned()));
}

/// The plugin [`served_by`] noted for the current request, if any.
pub(crate) fn serving_plugin() -> Option<String> {
    SERVED_BY.try_with(|p| p.borrow().clone()).ok().flatten()
}

/// Counts one finished request.
pub(crate) fn request(action: &str, plugin: Option<&str>, status: u16, took: Duration) {
    let plugin = plugin.unwrap_or("host").to_owned();
    metrics::counter!("wshost_requests_total", "action" => action.to_owned(), "plugin" => plugin.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("wshost_request_duration_seconds", "action" => action.to_owned(), "plugin" => plugin)
        .record(took.as_secs_f64());
}

/// Counts a driver error.
pub(crate) fn driver_error(plugin: &str, kind: &str) {
    metrics::counter!("wshost_driver_errors_total", "plugin" => plugin.to_owned(), "kind" => kind.to_owned())
        .increment(1);
}

/// Which way bytes flow.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Direction {
    Upload,
    Download,
}

/// Counts the bytes of one transfer and keeps `active_transfers` while it lives.
pub(crate) struct Transfer {
    direction: Direction,
    /// Looked up once: a lookup per chunk (labels allocated and hashed) showed in profiles.
    bytes: metrics::Counter,
}

impl Transfer {
    pub(crate) fn start(direction: Direction, plugin: &str) -> Transfer {
        metrics::gauge!("wshost_active_transfers", "direction" => direction.label()).increment(1.0);
        let name = match direction {
            Direction::Upload => "wshost_bytes_uploaded_total",
            Direction::Download => "wshost_bytes_downloaded_total",
        };
        Transfer {
            direction,
            bytes: metrics::counter!(name, "plugin" => plugin.to_owned()),
        }
    }

    pub(crate) fn bytes(&self, n: usize) {
        self.bytes.increment(n as u64);
    }
}

impl Drop for Transfer {
    fn drop(&mut self) {
        metrics::gauge!("wshost_active_transfers", "direction" => self.direction.label())
            .decrement(1.0);
    }
}

impl Direction {
    fn label(self) -> &'static str {
        match self {
            Direction::Upload => "upload",
            Direction::Download => "download",
        }
    }
}

/// Sets `plugin_loaded{plugin}` to 1 or 0.
pub(crate) fn plugin_loaded(plugin: &str, loaded: bool) {
    metrics::gauge!("wshost_plugin_loaded", "plugin" => plugin.to_owned()).set(if loaded {
        1.0
    } else {
        0.0
    });
}

/// A metric a plugin reports through the `metrics` host extension, as
/// `{"kind":"counter"|"histogram","name":"api_calls_total","labels":{"route":"…"},"value":1}`.
#[derive(serde::Deserialize)]
pub(crate) struct PluginMetric {
    kind: String,
    name: String,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
    value: f64,
}

/// Records a plugin's metric under `wshost_plugin_<name>` with a `plugin` label. Names and
/// labels are restricted to `[a-z0-9_]` so a plugin cannot break the exposition.
pub(crate) fn plugin_metric(plugin: &str, payload: &[u8]) -> Result<(), String> {
    let m: PluginMetric =
        serde_json::from_slice(payload).map_err(|e| format!("bad metric: {e}"))?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    if !ok(&m.name) || m.labels.len() > 4 || !m.labels.keys().all(|k| ok(k) && k != "plugin") {
        return Err("metric names and label names must be [a-z0-9_], at most 4 labels".into());
    }
    let mut labels: Vec<metrics::Label> = m
        .labels
        .into_iter()
        .map(|(k, v)| metrics::Label::new(k, v.chars().take(64).collect::<String>()))
        .collect();
    labels.push(metrics::Label::new("plugin", plugin.to_owned()));
    let name = format!("wshost_plugin_{}", m.name);
    match m.kind.as_str() {
        "counter" => metrics::counter!(name, labels).increment(m.value.max(0.0) as u64),
        "histogram" => metrics::histogram!(name, labels).record(m.value),
        other => return Err(format!("unknown metric kind '{other}'")),
    }
    Ok(())
}
