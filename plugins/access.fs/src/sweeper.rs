//! The sweep of left-over upload temporaries: a host killed mid-upload leaves its
//! `.wshost-upload-*.part` file behind, and a listing removes it only when someone lists that
//! folder. So one thread of the plugin walks every open workspace's tree: each new one soon
//! after it opens, all of them every [`SWEEP_EVERY`].
//!
//! Safe when several hosts share a folder: only a temporary file not written to for
//! [`STALE_AFTER`](crate::staging::STALE_AFTER) goes, and a running upload, on any host,
//! writes as its body arrives. Symlinks are never followed (a folder's entry type is read
//! without following), so the walk stays inside the workspace. One thread for every
//! workspace, not one each: a per-user workspace opens once per user.

use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime};

use cap_std::fs::Dir;

use crate::staging::{is_temp_name, remove_if_stale};

/// How often every open workspace is swept.
pub(crate) const SWEEP_EVERY: Duration = Duration::from_secs(60 * 60);
/// How deep the walk goes: deeper folders wait for a listing.
const MAX_DEPTH: usize = 64;

/// The roots to sweep: every open workspace's (dropped ones fall out), and those not swept
/// yet since they opened.
#[derive(Default)]
struct Roots {
    all: Vec<Weak<Dir>>,
    new: Vec<Weak<Dir>>,
}

struct Sweeper {
    roots: Mutex<Roots>,
    wake: Condvar,
}

/// Registers `root` for the sweep, starting the sweeping thread on first use.
pub(crate) fn watch(root: &Arc<Dir>) {
    static SWEEPER: OnceLock<Arc<Sweeper>> = OnceLock::new();
    let sweeper = SWEEPER.get_or_init(|| {
        let sweeper = Arc::new(Sweeper {
            roots: Mutex::default(),
            wake: Condvar::new(),
        });
        let running = sweeper.clone();
        // If the thread cannot start, listings still sweep the folders they read.
        let _ = std::thread::Builder::new()
            .name("access.fs sweep".into())
            .spawn(move || running.run());
        sweeper
    });
    let mut roots = sweeper.roots.lock().unwrap_or_else(|e| e.into_inner());
    roots.all.retain(|r| r.strong_count() > 0);
    roots.all.push(Arc::downgrade(root));
    roots.new.push(Arc::downgrade(root));
    sweeper.wake.notify_one();
}

impl Sweeper {
    fn run(&self) {
        let mut next_full = std::time::Instant::now() + SWEEP_EVERY;
        loop {
            let batch: Vec<Weak<Dir>> = {
                let mut roots = self.roots.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if !roots.new.is_empty() {
                        break std::mem::take(&mut roots.new);
                    }
                    let now = std::time::Instant::now();
                    if now >= next_full {
                        next_full = now + SWEEP_EVERY;
                        roots.all.retain(|r| r.strong_count() > 0);
                        break roots.all.clone();
                    }
                    roots = self
                        .wake
                        .wait_timeout(roots, next_full - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            };
            for root in batch.iter().filter_map(Weak::upgrade) {
                sweep(&root, SystemTime::now(), 0);
            }
        }
    }
}

/// Removes the stale temporaries in `dir` and the folders below it; best effort.
fn sweep(dir: &Dir, now: SystemTime, depth: usize) -> usize {
    let Ok(entries) = dir.entries() else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if is_temp_name(&name) {
            removed += usize::from(remove_if_stale(&entry, now));
        } else if depth < MAX_DEPTH && entry.file_type().is_ok_and(|t| t.is_dir()) {
            if let Ok(sub) = entry.open_dir() {
                removed += sweep(&sub, now, depth + 1);
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_tree_is_swept_of_stale_temporaries_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open_ambient_dir(tmp.path(), cap_std::ambient_authority()).unwrap();
        dir.create_dir_all("a/b").unwrap();
        for path in [
            "a/b/.wshost-upload-1.part",
            ".wshost-upload-2.part",
            "a/keep.txt",
        ] {
            dir.write(path, b"x").unwrap();
        }
        let later = SystemTime::now() + crate::staging::STALE_AFTER + Duration::from_secs(60);
        assert_eq!(sweep(&dir, SystemTime::now(), 0), 0, "fresh ones stay");
        assert_eq!(sweep(&dir, later, 0), 2);
        assert!(dir.exists("a/keep.txt"));
        assert!(!dir.exists("a/b/.wshost-upload-1.part"));
    }
}
