//! Load (issue 7, item 8): 10,000 mixed file requests (ls, stat, download, upload, mkdir,
//! delete) from 64 concurrent keep-alive connections on loopback, against the real binary
//! and access.fs.
//!
//! Each connection works in its own folder and keeps a model of it, so every answer is
//! checked exactly (status, sizes, listing counts, downloaded bytes); downloads also read one
//! shared file. Goal: 0 errors, the run bounded in time, and the host's peak resident memory
//! (`VmHWM`) reported and bounded. `WSHOST_TEST_SEED` replays the same request mix.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wshost_tests::*;

const REQUESTS: usize = 10_000;
const CONNECTIONS: usize = 64;
/// The whole run must finish within this (a debug build on two loaded cores).
const TIME_LIMIT: Duration = Duration::from_secs(240);
/// Peak resident memory allowed to the (debug) host.
const RSS_LIMIT_KIB: u64 = 256 * 1024;
const SHARED_SIZE: usize = 1 << 20;

const ACTIONS: [&str; 6] = ["ls", "stat", "download", "upload", "mkdir", "delete"];

fn seed() -> u64 {
    std::env::var("WSHOST_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random)
}

/// What one connection did.
#[derive(Default)]
struct Tally {
    done: [usize; 6],
    errors: Vec<String>,
    latencies: Vec<Duration>,
}

/// One connection's folder as it should be.
struct Folder {
    dir: String,
    /// (name, size, content seed)
    files: Vec<(String, usize, u64)>,
    dirs: Vec<String>,
    made: usize,
}

fn content(seed: u64, size: usize) -> Vec<u8> {
    pattern_chunk(seed, 0, size)
}

/// Runs `count` requests on one keep-alive connection.
fn connection(
    url: &str,
    headers: reqwest::header::HeaderMap,
    c: usize,
    count: usize,
    seed: u64,
    shared: &[u8],
) -> Tally {
    let client = Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(seed ^ (c as u64).wrapping_mul(0x9E37_79B9));
    let mut tally = Tally::default();
    let mut folder = Folder {
        dir: format!("c{c}"),
        files: Vec::new(),
        dirs: Vec::new(),
        made: 0,
    };
    let action_url = |q: String| format!("{url}/?{q}");
    // The connection's folder is its first request (a mkdir).
    let mut first = true;
    for _ in 0..count {
        // ls 25 %, stat 20 %, download 20 %, upload 15 %, mkdir 10 %, delete 10 %.
        let roll = rng.gen_range(0..100);
        let mut action = match roll {
            0..=24 => 0,
            25..=44 => 1,
            45..=64 => 2,
            65..=79 => 3,
            80..=89 => 4,
            _ => 5,
        };
        if first {
            action = 4;
        } else if action == 5 && folder.files.is_empty() && folder.dirs.is_empty() {
            action = 3;
        }
        let dir = folder.dir.clone();
        let started = Instant::now();
        let outcome: Result<(), String> = (|| {
            match action {
                0 => {
                    let r = client
                        .get(action_url(format!("get_action=ls&ws=files&dir={dir}")))
                        .send()
                        .map_err(|e| e.to_string())?;
                    let (s, v) = json_of(r);
                    let n = v["entries"].as_array().map_or(usize::MAX, Vec::len);
                    let want = folder.files.len() + folder.dirs.len();
                    if s != 200 || n != want {
                        return Err(format!("ls {dir}: {s}, {n} entries, expected {want}"));
                    }
                }
                1 | 2 => {
                    // One read in four is of the shared file.
                    let (path, size, bytes) = match rng.gen_range(0..4) {
                        0 => ("shared.bin".to_owned(), SHARED_SIZE, None),
                        _ if folder.files.is_empty() => {
                            ("shared.bin".to_owned(), SHARED_SIZE, None)
                        }
                        _ => {
                            let (name, size, s) =
                                folder.files[rng.gen_range(0..folder.files.len())].clone();
                            (format!("{dir}/{name}"), size, Some(s))
                        }
                    };
                    let q = if action == 1 { "stat" } else { "download" };
                    let r = client
                        .get(action_url(format!("get_action={q}&ws=files&file={path}")))
                        .send()
                        .map_err(|e| e.to_string())?;
                    let status = r.status().as_u16();
                    if action == 1 {
                        let (s, v) = json_of(r);
                        if s != 200 || v["size"].as_u64() != Some(size as u64) {
                            return Err(format!("stat {path}: {s} {v}, expected size {size}"));
                        }
                    } else {
                        let body = r.bytes().map_err(|e| e.to_string())?;
                        let ok = match bytes {
                            None => body.as_ref() == shared,
                            Some(seed) => body.as_ref() == content(seed, size).as_slice(),
                        };
                        if status != 200 || !ok {
                            return Err(format!(
                                "download {path}: {status}, {} bytes, expected {size}",
                                body.len()
                            ));
                        }
                    }
                }
                3 => {
                    // A new file, or a new version of one (mostly small, sometimes 1 MiB).
                    let replace = !folder.files.is_empty() && rng.gen_ratio(1, 3);
                    let name = if replace {
                        folder.files[rng.gen_range(0..folder.files.len())].0.clone()
                    } else {
                        folder.made += 1;
                        format!("f{}.bin", folder.made)
                    };
                    let size = if rng.gen_ratio(1, 20) {
                        1 << 20
                    } else {
                        rng.gen_range(0..=64 * 1024)
                    };
                    let s: u64 = rng.gen();
                    let r = client
                        .post(action_url(format!(
                            "get_action=upload&ws=files&dir={dir}&name={name}"
                        )))
                        .body(content(s, size))
                        .send()
                        .map_err(|e| e.to_string())?;
                    let (status, v) = json_of(r);
                    if status != 201 || v["size"].as_u64() != Some(size as u64) {
                        return Err(format!("upload {dir}/{name}: {status} {v}"));
                    }
                    folder.files.retain(|f| f.0 != name);
                    folder.files.push((name, size, s));
                }
                4 => {
                    let (parent, name) = if first {
                        ("/".to_owned(), dir.clone())
                    } else {
                        folder.made += 1;
                        (dir.clone(), format!("d{}", folder.made))
                    };
                    let r = client
                        .post(action_url(format!(
                            "get_action=mkdir&ws=files&dir={parent}&dirname={name}"
                        )))
                        .send()
                        .map_err(|e| e.to_string())?;
                    let (s, v) = json_of(r);
                    if s != 201 {
                        return Err(format!("mkdir {parent}/{name}: {s} {v}"));
                    }
                    if !first {
                        folder.dirs.push(name);
                    }
                }
                _ => {
                    let pick = rng.gen_range(0..folder.files.len() + folder.dirs.len());
                    let name = if pick < folder.files.len() {
                        folder.files.remove(pick).0
                    } else {
                        folder.dirs.remove(pick - folder.files.len())
                    };
                    let r = client
                        .post(action_url(format!(
                            "get_action=delete&ws=files&file={dir}/{name}"
                        )))
                        .send()
                        .map_err(|e| e.to_string())?;
                    let (s, v) = json_of(r);
                    if s != 200 {
                        return Err(format!("delete {dir}/{name}: {s} {v}"));
                    }
                }
            }
            Ok(())
        })();
        tally.latencies.push(started.elapsed());
        tally.done[action] += 1;
        first = false;
        if let Err(e) = outcome {
            tally.errors.push(format!("connection {c}: {e}"));
        }
    }
    tally
}

#[test]
fn ten_thousand_mixed_requests_on_64_connections() {
    let seed = seed();
    println!("load: seed {seed} (WSHOST_TEST_SEED={seed} to replay)");
    let h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    let pid = h.pid();
    let shared = Arc::new(content(seed, SHARED_SIZE));
    let (s, v) = h.post_bytes(
        "get_action=upload&ws=files&name=shared.bin",
        shared.to_vec(),
    );
    assert_eq!(s, 201, "{v}");
    let rss_before = proc_status(pid, "VmRSS");
    let headers = h.session_headers("admin", ADMIN_PASSWORD);

    let total = Arc::new(Mutex::new(Tally::default()));
    let finished = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            let count = REQUESTS / CONNECTIONS + usize::from(c < REQUESTS % CONNECTIONS);
            let (url, headers, shared) = (h.url.clone(), headers.clone(), shared.clone());
            let (total, finished) = (total.clone(), finished.clone());
            std::thread::spawn(move || {
                let t = connection(&url, headers, c, count, seed, &shared);
                let mut all = total.lock().unwrap();
                for (a, n) in all.done.iter_mut().zip(t.done) {
                    *a += n;
                }
                all.errors.extend(t.errors);
                all.latencies.extend(t.latencies);
                finished.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    // Sample the resident size while the load runs (VmHWM keeps the peak anyway).
    let mut threads_peak = 0;
    while finished.load(Ordering::SeqCst) < CONNECTIONS && started.elapsed() < TIME_LIMIT {
        threads_peak = threads_peak.max(proc_status(pid, "Threads"));
        std::thread::sleep(Duration::from_millis(100));
    }
    let elapsed = started.elapsed();
    assert!(
        finished.load(Ordering::SeqCst) == CONNECTIONS,
        "the load did not finish within {TIME_LIMIT:?}"
    );
    for t in threads {
        t.join().expect("connection thread");
    }
    let peak_kib = proc_status(pid, "VmHWM");
    let rss_after = proc_status(pid, "VmRSS");
    let mut all = total.lock().unwrap();
    let sent: usize = all.done.iter().sum();
    all.latencies.sort();
    let pct = |p: usize| all.latencies[(all.latencies.len() - 1) * p / 100];
    let mix: Vec<String> = ACTIONS
        .iter()
        .zip(all.done)
        .map(|(a, n)| format!("{a} {n}"))
        .collect();
    println!("load: mix: {}", mix.join(", "));
    println!(
        "load: {sent} requests on {CONNECTIONS} connections in {:.1} s ({:.0} req/s), latency p50 {:?} p99 {:?} max {:?}",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64(),
        pct(50),
        pct(99),
        pct(100)
    );
    println!(
        "load: host memory: VmHWM (peak) {} MiB, VmRSS {} MiB before and {} MiB after, {threads_peak} threads at most (limit {} MiB)",
        peak_kib / 1024,
        rss_before / 1024,
        rss_after / 1024,
        RSS_LIMIT_KIB / 1024
    );
    println!("load: {sent} cases, {} errors", all.errors.len());
    for e in all.errors.iter().take(20) {
        println!("  {e}");
    }
    assert_eq!(sent, REQUESTS);
    assert!(
        all.errors.is_empty(),
        "{} errors (seed {seed}), first: {:?}",
        all.errors.len(),
        all.errors.first()
    );
    assert!(
        peak_kib > 0 && peak_kib < RSS_LIMIT_KIB,
        "peak RSS {peak_kib} KiB"
    );
    // Still serving.
    assert_eq!(h.get("get_action=stat&ws=files&file=shared.bin").0, 200);
}

/// Issue 15, finding 4: an anonymous login flood — 150 logins with 1 MB user names, then 300
/// failed logins under distinct short names, 32 at a time — leaves the host's memory and log
/// bounded. Before the fix the long names grew the log by 150 MB (each logged whole, and kept
/// as a throttle key), and the short ones took the host from 27 MB to 2.8 GB (an argon2id
/// computation of 19 MiB per attempt, all at once on up to 512 threads), 2 GB of it still
/// resident when idle. Figures: peak RSS (`VmHWM`), idle RSS, log growth, answers by status.
#[test]
fn a_login_flood_leaves_memory_and_the_log_bounded() {
    const LONG_NAMES: usize = 150;
    const SHORT_NAMES: usize = 300;
    const AT_ONCE: usize = 32;
    /// Peak resident memory allowed to the (debug) host during the flood.
    const FLOOD_RSS_LIMIT_KIB: u64 = 192 * 1024;
    /// What the flood may add to the log.
    const LOG_LIMIT: usize = 1 << 20;
    let h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    let pid = h.pid();
    let rss_before = proc_status(pid, "VmRSS");
    let log_before = h.log().len();
    // Under `max_body` (1 MiB) with its JSON around it, so it reaches the login.
    let long_name = Arc::new("a".repeat(1_000_000));
    let statuses = Arc::new(Mutex::new(std::collections::BTreeMap::<u16, usize>::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..AT_ONCE)
        .map(|_| {
            let (url, long_name, statuses, next) = (
                h.url.clone(),
                long_name.clone(),
                statuses.clone(),
                next.clone(),
            );
            std::thread::spawn(move || {
                let client = Client::builder()
                    .timeout(Duration::from_secs(120))
                    .build()
                    .unwrap();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= LONG_NAMES + SHORT_NAMES {
                        break;
                    }
                    let name = if i < LONG_NAMES {
                        long_name.to_string()
                    } else {
                        format!("flood{i}")
                    };
                    let status = client
                        .post(format!("{url}/api/login"))
                        .json(&json!({ "username": name, "password": "wrong" }))
                        .send()
                        .map_or(0, |r| r.status().as_u16());
                    *statuses.lock().unwrap().entry(status).or_default() += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("flood thread");
    }
    let elapsed = started.elapsed();
    let peak_kib = proc_status(pid, "VmHWM");
    std::thread::sleep(Duration::from_secs(1));
    let rss_idle = proc_status(pid, "VmRSS");
    let log_growth = h.log().len() - log_before;
    let statuses = statuses.lock().unwrap().clone();
    println!(
        "login flood: {LONG_NAMES} logins with 1 MB names + {SHORT_NAMES} failed logins, {AT_ONCE} at a time, in {:.1} s; answers by status {statuses:?}",
        elapsed.as_secs_f64()
    );
    println!(
        "login flood: host memory VmRSS {} MiB before, VmHWM (peak) {} MiB, VmRSS {} MiB idle after (limit {} MiB); log growth {} KiB (limit {} KiB)",
        rss_before / 1024,
        peak_kib / 1024,
        rss_idle / 1024,
        FLOOD_RSS_LIMIT_KIB / 1024,
        log_growth / 1024,
        LOG_LIMIT / 1024
    );
    assert_eq!(
        statuses.get(&400).copied(),
        Some(LONG_NAMES),
        "a name no user can have is refused at once: {statuses:?}"
    );
    assert!(
        statuses.keys().all(|s| matches!(s, 400 | 401 | 503)),
        "only refusals, and 503 when the password slots are full: {statuses:?}"
    );
    assert!(
        statuses.get(&401).copied().unwrap_or(0) > 0,
        "passwords were checked: {statuses:?}"
    );
    assert!(
        peak_kib > 0 && peak_kib < FLOOD_RSS_LIMIT_KIB,
        "peak RSS {peak_kib} KiB"
    );
    assert!(log_growth < LOG_LIMIT, "the log grew by {log_growth} bytes");
    // Still serving, and logins work once the flood is over.
    let (s, v) = json_of(
        Client::new()
            .post(h.api("login"))
            .json(&json!({ "username": "admin", "password": ADMIN_PASSWORD }))
            .send()
            .unwrap(),
    );
    assert_eq!(s, 200, "{v}");
}
