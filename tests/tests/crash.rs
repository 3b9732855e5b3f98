//! Crash (issue 7, item 7): SIGKILL the host while 100 operations run concurrently (uploads,
//! workspace creations and edits, access grants), restart it on the same folder and store,
//! and check what survived.
//!
//! Each object (a file, a workspace, a grant) is changed by one worker only, one request at a
//! time, so after the kill its state is known up to one request: the last one the host
//! answered 2xx for (committed), or the one that was in flight when the host died (which may
//! or may not have landed). Goal: every committed change is there after the restart, nothing
//! else is (no phantom workspace, no unknown content), every visible file is one complete
//! version, and the `.wshost-upload-*.part` files an upload in flight leaves on disk are
//! never listed nor addressable. Three crash rounds accumulate on one store, with SQLite and,
//! when a server is available, PostgreSQL. `WSHOST_TEST_SEED` replays a run.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wshost_tests::*;

/// Operations per round, all issued concurrently by [`WORKERS`] workers.
const OPS: usize = 100;
const WORKERS: usize = 16;
const ROUNDS: usize = 3;
/// Files per worker, each overwritten with new full versions.
const FILES: usize = 3;
const USER: &str = "crash-user";

fn seed() -> u64 {
    std::env::var("WSHOST_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random)
}

/// What one object may be after the crash: the committed value (`None`: absent), and the
/// value of the request in flight when the host died, if any.
#[derive(Debug, Clone, Default)]
struct Known {
    committed: Option<String>,
    in_flight: Option<String>,
}

impl Known {
    fn allows(&self, seen: Option<&str>) -> bool {
        seen == self.committed.as_deref()
            || (self.in_flight.is_some() && seen == self.in_flight.as_deref())
    }
}

/// Everything the workers changed, by object key (`file:NAME`, `ws:ID`, `acl:ID`).
type Model = Arc<Mutex<BTreeMap<String, Known>>>;

/// The content of version `v` of file `name`: its size and bytes follow from both.
fn file_content(name: &str, v: u64) -> Vec<u8> {
    let h = name
        .bytes()
        .fold(v, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
    let len = 1 + (h % (2 << 20)) as usize;
    pattern_chunk(h, v, len)
}

/// A workspace value as the model stores it: `label|description`.
fn ws_value(label: &str, description: &str) -> String {
    format!("{label}|{description}")
}

struct Round {
    url: String,
    headers: reqwest::header::HeaderMap,
    ws_root: String,
    round: usize,
    seed: u64,
    model: Model,
    next_op: AtomicUsize,
    sent: AtomicUsize,
    answered: AtomicUsize,
    dead: AtomicBool,
    /// Non-2xx answers while the host was alive: each is a failure.
    refused: Mutex<Vec<String>>,
}

impl Round {
    fn set(&self, key: &str, f: impl FnOnce(&mut Known)) {
        f(self
            .model
            .lock()
            .unwrap()
            .entry(key.to_owned())
            .or_default());
    }

    /// Runs one worker's share of the operations until they run out or the host dies.
    fn worker(&self, w: usize) {
        let client = Client::builder()
            .default_headers(self.headers.clone())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let mut rng = StdRng::seed_from_u64(self.seed ^ ((self.round * 1000 + w) as u64));
        let mut workspaces: Vec<String> = Vec::new();
        let mut versions = [0u64; FILES];
        let mut edits = 0;
        while self.next_op.fetch_add(1, Ordering::SeqCst) < OPS {
            let pick = rng.gen_range(0..10);
            // (model key, value once done, request)
            let (key, value, request) = if pick < 5 {
                let f = rng.gen_range(0..FILES);
                let name = format!("r{}-w{w}-f{f}.bin", self.round);
                versions[f] += 1;
                let v = versions[f];
                let url = format!("{}/?get_action=upload&ws=files&name={name}", self.url);
                (
                    format!("file:{name}"),
                    v.to_string(),
                    client.post(url).body(file_content(&name, v)),
                )
            } else if pick < 7 || workspaces.is_empty() {
                let id = format!("r{}-w{w}-ws{}", self.round, workspaces.len());
                let body = json!({"id": id, "label": format!("{id} v0"), "driver": "access.fs",
                    "params": {"ROOT": format!("{}/{id}", self.ws_root), "CREATE": "true"}});
                workspaces.push(id.clone());
                (
                    format!("ws:{id}"),
                    ws_value(&format!("{id} v0"), ""),
                    client
                        .post(format!("{}/api/workspaces", self.url))
                        .json(&body),
                )
            } else if pick < 9 {
                let id = workspaces[rng.gen_range(0..workspaces.len())].clone();
                edits += 1;
                let (label, description) = (format!("{id} v{edits}"), format!("edit {edits}"));
                let body = json!({"label": label, "description": description, "driver": "access.fs",
                    "params": {"ROOT": format!("{}/{id}", self.ws_root), "CREATE": "true"}});
                (
                    format!("ws:{id}"),
                    ws_value(&label, &description),
                    client
                        .put(format!("{}/api/workspaces/{id}", self.url))
                        .json(&body),
                )
            } else {
                let id = workspaces[rng.gen_range(0..workspaces.len())].clone();
                let access = if rng.gen() { "r" } else { "rw" };
                (
                    format!("acl:{id}"),
                    access.to_owned(),
                    client
                        .put(format!("{}/api/workspaces/{id}/acl/{USER}", self.url))
                        .json(&json!({ "access": access })),
                )
            };
            // Edits only pick committed workspaces: a worker whose create went unanswered
            // has stopped.
            self.set(&key, |k| k.in_flight = Some(value.clone()));
            self.sent.fetch_add(1, Ordering::SeqCst);
            match request.send() {
                Ok(r) if r.status().is_success() => {
                    self.answered.fetch_add(1, Ordering::SeqCst);
                    self.set(&key, |k| {
                        k.committed = Some(value);
                        k.in_flight = None;
                    });
                }
                Ok(r) => {
                    let status = r.status();
                    let text = r.text().unwrap_or_default();
                    if !self.dead.load(Ordering::SeqCst) {
                        self.refused
                            .lock()
                            .unwrap()
                            .push(format!("{key} -> {value}: {status} {text}"));
                    }
                    return;
                }
                // The host is gone: this request stays in flight for ever.
                Err(_) => return,
            }
        }
    }
}

/// Kills the host with SIGKILL.
fn kill_9(h: &Host) {
    let status = Command::new("kill")
        .args(["-9", &h.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -9 failed");
}

/// Checks the restarted host against the model; answers the failures. Settles what was in
/// flight to what is seen, so the next round checks it exactly.
fn check(h: &Host, model: &Model) -> Vec<String> {
    let mut failures = Vec::new();
    let mut model = model.lock().unwrap();

    // Workspaces and grants through the API.
    let (s, v) = json_of(h.client.get(h.api("workspaces")).send().unwrap());
    assert_eq!(s, 200, "{v}");
    let mut seen: BTreeMap<String, Value> = BTreeMap::new();
    for ws in v["workspaces"].as_array().unwrap() {
        seen.insert(ws["id"].as_str().unwrap().to_owned(), ws.clone());
    }
    for id in seen.keys().filter(|id| *id != "files") {
        if !model.contains_key(&format!("ws:{id}")) {
            failures.push(format!("phantom workspace {id}"));
        }
    }
    let ws_root = h.dir.path().join("ws");
    for (key, known) in model.iter_mut() {
        let Some(id) = key.strip_prefix("ws:") else {
            continue;
        };
        let ws = seen.get(id);
        let value = ws.map(|ws| {
            ws_value(
                ws["label"].as_str().unwrap_or(""),
                ws["description"].as_str().unwrap_or(""),
            )
        });
        if !known.allows(value.as_deref()) {
            failures.push(format!("workspace {id}: {value:?}, expected {known:?}"));
        }
        if let Some(ws) = ws {
            let root = ws_root.join(id).display().to_string();
            if ws["params"]["ROOT"].as_str() != Some(root.as_str()) || !ws["error"].is_null() {
                failures.push(format!("workspace {id}: params or error wrong: {ws}"));
            }
        }
        known.committed = value;
        known.in_flight = None;
    }
    for (key, known) in model.iter_mut() {
        let Some(id) = key.strip_prefix("acl:") else {
            continue;
        };
        let (s, v) = json_of(
            h.client
                .get(h.api(&format!("workspaces/{id}/acl")))
                .send()
                .unwrap(),
        );
        let access = v["grants"].as_array().and_then(|g| {
            g.iter()
                .find(|g| g["user"] == USER)
                .and_then(|g| g["access"].as_str())
        });
        if s != 200 || !known.allows(access) {
            failures.push(format!("grant on {id}: {s} {access:?}, expected {known:?}"));
        }
        known.committed = access.map(str::to_owned);
        known.in_flight = None;
    }

    // Files through the file actions: only complete, known versions are visible.
    let (s, v) = h.get("get_action=ls&ws=files&limit=10000");
    assert_eq!(s, 200, "{v}");
    let listed: Vec<String> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    for name in &listed {
        if !model.contains_key(&format!("file:{name}")) {
            failures.push(format!("unexpected file listed: {name}"));
        }
    }
    for (key, known) in model.iter_mut() {
        let Some(name) = key.strip_prefix("file:") else {
            continue;
        };
        let r = h
            .client
            .get(h.action_url(&format!("get_action=download&ws=files&file={name}")))
            .send()
            .unwrap();
        let version = match r.status().as_u16() {
            404 => None,
            200 => {
                let body = r.bytes().unwrap();
                let candidates = [&known.committed, &known.in_flight];
                let hit = candidates.into_iter().flatten().find(|v| {
                    let v: u64 = v.parse().unwrap();
                    file_content(name, v) == body.as_ref()
                });
                match hit {
                    Some(v) => Some(v.clone()),
                    None => {
                        failures.push(format!(
                            "file {name}: {} bytes match no complete version ({known:?})",
                            body.len()
                        ));
                        known.committed.clone()
                    }
                }
            }
            other => {
                failures.push(format!("file {name}: download answered {other}"));
                known.committed.clone()
            }
        };
        if !known.allows(version.as_deref()) {
            failures.push(format!("file {name}: {version:?}, expected {known:?}"));
        }
        if version.is_some() != listed.contains(&name.to_owned()) {
            failures.push(format!("file {name}: listing and download disagree"));
        }
        known.committed = version;
        known.in_flight = None;
    }
    failures
}

/// The names of the temporary upload files in `root`.
fn part_names(root: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".wshost-upload-") && n.ends_with(".part"))
        .collect()
}

/// The temporary files the crashed uploads left in `root`, each checked unreachable.
fn stale_parts(h: &Host, failures: &mut Vec<String>) -> usize {
    let parts = part_names(&h.dir.path().join("root"));
    for part in &parts {
        for action in ["stat", "download"] {
            let (s, v) = h.get(&format!("get_action={action}&ws=files&file={part}"));
            if (200..300).contains(&s) {
                failures.push(format!("{action} of {part} answered {s}: {v}"));
            }
        }
        let (s, v) = h.post(&format!("get_action=delete&ws=files&file={part}"));
        if (200..300).contains(&s) {
            failures.push(format!("delete of {part} answered {s}: {v}"));
        }
    }
    parts.len()
}

fn crash_rounds(backend: &str, config: String) {
    let seed = seed();
    println!("crash ({backend}): seed {seed} (WSHOST_TEST_SEED={seed} to replay)");
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut h = Host::start(HostSetup::new(config, vec![manifest("access.fs.toml")]));
    h.add_user(USER, false);
    let ws_root = h.dir.path().join("ws").display().to_string();
    let model: Model = Arc::default();
    let mut failures: Vec<String> = Vec::new();
    let (mut sent_total, mut answered_total, mut in_flight_total, mut parts_total) = (0, 0, 0, 0);
    for round in 0..ROUNDS {
        let round_state = Arc::new(Round {
            url: h.url.clone(),
            headers: h.session_headers("admin", ADMIN_PASSWORD),
            ws_root: ws_root.clone(),
            round,
            seed,
            model: model.clone(),
            next_op: AtomicUsize::new(0),
            sent: AtomicUsize::new(0),
            answered: AtomicUsize::new(0),
            dead: AtomicBool::new(false),
            refused: Mutex::new(Vec::new()),
        });
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let r = round_state.clone();
                std::thread::spawn(move || r.worker(w))
            })
            .collect();
        // Kill once a random share of the operations has been answered.
        let kill_after = rng.gen_range(OPS / 5..OPS * 7 / 10);
        let deadline = Instant::now() + Duration::from_secs(60);
        while round_state.answered.load(Ordering::SeqCst) < kill_after
            && Instant::now() < deadline
            && !workers.iter().all(|w| w.is_finished())
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        round_state.dead.store(true, Ordering::SeqCst);
        kill_9(&h);
        for w in workers {
            w.join().expect("worker");
        }
        let answered = round_state.answered.load(Ordering::SeqCst);
        sent_total += round_state.sent.load(Ordering::SeqCst);
        let in_flight = model
            .lock()
            .unwrap()
            .values()
            .filter(|k| k.in_flight.is_some())
            .count();
        failures.extend(round_state.refused.lock().unwrap().iter().cloned());
        h.restart();
        let found = check(&h, &model);
        let parts = stale_parts(&h, &mut failures);
        println!(
            "crash ({backend}) round {round}: killed after {answered} answered operations, {in_flight} in flight, {} failures, {parts} stale .part files on disk",
            found.len()
        );
        failures.extend(found);
        answered_total += answered;
        in_flight_total += in_flight;
        parts_total = parts;
    }
    // What the crashes left is swept by a listing once it is a day old (access.fs only
    // removes temporary files nobody has written to for 24 hours): age them and list.
    let root = h.dir.path().join("root");
    let day_ago = std::time::SystemTime::now() - Duration::from_secs(25 * 3600);
    for part in part_names(&root) {
        std::fs::File::options()
            .write(true)
            .open(root.join(part))
            .and_then(|f| f.set_modified(day_ago))
            .expect("age a stale .part file");
    }
    assert_eq!(h.get("get_action=ls&ws=files").0, 200);
    let unswept = part_names(&root).len();
    if unswept != 0 {
        failures.push(format!("{unswept} stale .part files survived a listing"));
    }
    // Serving on after the last restart.
    let (s, v) = h.post_bytes("get_action=upload&ws=files&name=after.bin", vec![1; 1000]);
    if s != 201 {
        failures.push(format!("upload after the restarts: {s} {v}"));
    }
    let objects = model.lock().unwrap().len();
    println!(
        "crash ({backend}): {ROUNDS} kills, {sent_total} of {} operations sent, {answered_total} committed, {in_flight_total} in flight at the kills, {objects} objects checked, {} failures, {parts_total} stale .part files left on disk by the kills ({unswept} after aging them a day and listing), {:.1} s",
        ROUNDS * OPS,
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} failures ({backend}, seed {seed}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn sigkill_during_writes_and_edits_loses_nothing_committed_sqlite() {
    crash_rounds("sqlite", fs_config());
}

#[test]
fn sigkill_during_writes_and_edits_loses_nothing_committed_postgresql() {
    let db = PgDatabase::create();
    crash_rounds(
        "postgresql",
        format!("database = \"{}\"\n{}", db.url, fs_config()),
    );
}
