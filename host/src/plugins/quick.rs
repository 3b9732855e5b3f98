//! The quick lane: `stat` and `read` calls of a driver that declares
//! [`plugin_api::Capabilities::QUICK`], made on the async thread that serves the request
//! instead of tokio's blocking pool, whose two thread hand-offs cost more than a local stat.
//!
//! A call on the async thread cannot be abandoned at the plugin deadline, and while it waits
//! it holds up its thread and requests queued on it (with two async threads, a test saw a
//! request to another workspace wait until a stuck call returned). So a workspace's lane
//! closes for [`PAUSE`], sending its calls back to the pool, after a call that took over
//! [`BUDGET`] *and* waited (a voluntary context switch: a cold disk, a slow mount). A call
//! that was only preempted does not count: on a busy machine a call of a few microseconds can
//! take milliseconds of wall time, and would be no faster on the pool. Drivers declare quick
//! calls only where they cannot hang on a network (access.fs checks its folder's filesystem).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plugin_api::foreign::ForeignDriver;

/// A call slower than this, that waited, would have been better on the pool…
const BUDGET: Duration = Duration::from_millis(10);
/// …where the workspace's quick calls then go for this long.
const PAUSE: Duration = Duration::from_secs(60);

/// The quick lane of one open driver.
pub(crate) struct QuickLane {
    workspace: String,
    paused_until: Mutex<Option<Instant>>,
}

impl QuickLane {
    pub(crate) fn new(workspace: &str) -> QuickLane {
        QuickLane {
            workspace: workspace.to_owned(),
            paused_until: Mutex::default(),
        }
    }
}

/// One call on a quick lane, from its start to its drop (which records how it went).
pub(crate) struct QuickCall {
    lane: Arc<QuickLane>,
    driver: Arc<ForeignDriver>,
    started: Instant,
    waits: Option<i64>,
}

impl QuickCall {
    /// Starts a call on `driver`'s lane; `None` if the lane is closed.
    pub(crate) fn start(lane: Arc<QuickLane>, driver: Arc<ForeignDriver>) -> Option<QuickCall> {
        let paused_until = *lane.paused_until.lock().expect("quick lane");
        let now = Instant::now();
        if paused_until.is_some_and(|until| now < until) {
            return None;
        }
        Some(QuickCall {
            lane,
            driver,
            started: now,
            waits: voluntary_switches(),
        })
    }

    pub(crate) fn driver(&self) -> &ForeignDriver {
        &self.driver
    }
}

impl Drop for QuickCall {
    fn drop(&mut self) {
        let took = self.started.elapsed();
        let waited = match (self.waits, voluntary_switches()) {
            (Some(before), Some(after)) => after != before,
            _ => true,
        };
        if took > BUDGET && waited {
            *self.lane.paused_until.lock().expect("quick lane") = Some(Instant::now() + PAUSE);
            tracing::warn!(
                workspace = %self.lane.workspace,
                took_ms = took.as_millis() as u64,
                "a quick driver call waited: the workspace's calls go through the blocking pool \
                 for the next {} s",
                PAUSE.as_secs()
            );
        }
    }
}

/// How many times the calling thread gave up the CPU to wait.
fn voluntary_switches() -> Option<i64> {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_THREAD)
        .ok()
        .map(|usage| usage.voluntary_context_switches())
}
