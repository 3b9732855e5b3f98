//! Interrupted transfers (issue 7, item 6): clients that vanish in the middle of an upload or
//! a download, at offsets drawn from a seeded generator.
//!
//! Uploads are written by hand on a `TcpStream` (with `Content-Length`, or chunked) and the
//! socket is dropped after a random number of body bytes. Each target already exists with
//! known content (or is a new name that must not appear). "After cleanup" means: once the
//! host has noticed the disconnect, i.e. the folder on disk has settled back to exactly the
//! expected names (polled with a deadline). Downloads read a random number of bytes of a
//! large file and drop the socket.
//!
//! Goal: 0 partial files under target names, previous versions intact, no
//! `.wshost-upload-*.part` left behind, the host serving on, and its open file descriptors
//! back to their baseline. Set `WSHOST_TEST_SEED` to replay a run; the seed is printed.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wshost_tests::*;

const UPLOAD_CASES: usize = 50;
const DOWNLOAD_CASES: usize = 50;
/// Existing targets the uploads aim at (one case in five aims at a new name instead).
const TARGETS: usize = 8;
/// The file the downloads are cut from: large enough never to fit in socket buffers.
const BIG: usize = 32 << 20;
/// Descriptors the host may legitimately hold beyond its baseline (pooled connections,
/// a lazily opened log or database handle).
const FD_SLACK: usize = 4;
/// How long the host may take to notice a disconnect and clean up.
const SETTLE: Duration = Duration::from_secs(15);
/// Upload cases stop after this many failures: each costs a full [`SETTLE`] wait.
const MAX_FAILURES: usize = 5;

fn seed() -> u64 {
    std::env::var("WSHOST_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random)
}

/// The names in `dir` on disk, sorted.
fn names_on_disk(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The host's `wshost_active_transfers` gauge, both directions.
fn active_transfers(h: &Host) -> f64 {
    let text = h.metrics();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == "wshost_active_transfers")
        .map(|s| match s.value {
            prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

/// Polls until the host has noticed the disconnect (no transfer active) and the folder holds
/// exactly `want`; the last listing seen if that never happens.
fn settle(h: &Host, dir: &Path, want: &[String]) -> Result<(), Vec<String>> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let got = names_on_disk(dir);
        if got == want && active_transfers(h) == 0.0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(got);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The session headers as raw header lines.
fn auth_lines(h: &Host) -> String {
    h.session_headers("admin", ADMIN_PASSWORD)
        .iter()
        .map(|(k, v)| format!("{k}: {}\r\n", v.to_str().unwrap()))
        .collect()
}

/// Sends the start of an upload of `announced` bytes to `name` and drops the connection
/// after `cut` body bytes (`cut < announced`). Chunked bodies never send their last chunk.
fn cut_upload(
    addr: &str,
    auth: &str,
    name: &str,
    announced: usize,
    cut: usize,
    chunked: bool,
    rng: &mut StdRng,
) {
    let mut tcp = TcpStream::connect(addr).unwrap();
    let framing = if chunked {
        "Transfer-Encoding: chunked\r\n".to_owned()
    } else {
        format!("Content-Length: {announced}\r\n")
    };
    let head = format!(
        "POST /?get_action=upload&ws=files&name={name} HTTP/1.1\r\nHost: {addr}\r\n{auth}{framing}\r\n"
    );
    // The host may answer and close early (it never should for a valid upload); a failed
    // write is then just an earlier cut.
    if tcp.write_all(head.as_bytes()).is_err() {
        return;
    }
    let junk = pattern_chunk(rng.gen(), 0, cut);
    if chunked {
        let mut sent = 0;
        while sent < cut {
            // A chunk whose announced size may exceed what is left: the cut lands inside it.
            let size = rng.gen_range(1..=256 * 1024);
            let part = size.min(cut - sent);
            let mut frame = format!("{size:x}\r\n").into_bytes();
            frame.extend_from_slice(&junk[sent..sent + part]);
            if part == size {
                frame.extend_from_slice(b"\r\n");
            }
            if tcp.write_all(&frame).is_err() {
                return;
            }
            sent += part;
        }
    } else {
        let _ = tcp.write_all(&junk);
    }
    // Let the bytes leave before the socket goes, so the host sees a body that stops.
    let _ = tcp.flush();
    drop(tcp);
}

/// Opens a download of `big.bin` and drops it after reading `cut` bytes of the response (or
/// all of it, when it is shorter: the host closes the connection after answering).
fn cut_download(addr: &str, auth: &str, cut: usize, range: Option<(usize, usize)>) -> usize {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let range = range
        .map(|(a, b)| format!("Range: bytes={a}-{b}\r\n"))
        .unwrap_or_default();
    write!(
        tcp,
        "GET /?get_action=download&ws=files&file=big.bin HTTP/1.1\r\nHost: {addr}\r\n{auth}{range}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0;
    while got < cut {
        let want = buf.len().min(cut - got);
        match tcp.read(&mut buf[..want]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    drop(tcp);
    got
}

#[test]
fn interrupted_uploads_and_downloads_leave_no_trace() {
    let seed = seed();
    println!("interrupted transfers: seed {seed} (WSHOST_TEST_SEED={seed} to replay)");
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    let root = h.dir.path().join("root");
    let addr = h.url.trim_start_matches("http://").to_owned();
    let auth = auth_lines(&h);

    // The previous versions, uploaded through the host and checked on disk.
    let mut versions: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for t in 0..TARGETS {
        let name = format!("target-{t}.bin");
        let content = pattern_chunk(seed ^ 0xA5A5, t as u64, rng.gen_range(1..=512 * 1024));
        let (s, v) = h.post_bytes(
            &format!("get_action=upload&ws=files&name={name}"),
            content.clone(),
        );
        assert_eq!(s, 201, "{v}");
        versions.insert(name, content);
    }
    let big = pattern_chunk(seed ^ 0x5A5A, 99, BIG);
    let (s, v) = h.post_bytes("get_action=upload&ws=files&name=big.bin", big.clone());
    assert_eq!(s, 201, "{v}");
    let mut expected: Vec<String> = versions.keys().cloned().collect();
    expected.push("big.bin".into());
    expected.sort();
    settle(&h, &root, &expected).expect("a clean folder before the cuts");

    let pid = h.pid();
    // Every request so far used `h.client`'s pooled connection; it stays open throughout.
    let baseline = fd_count(pid);

    let mut failures: Vec<String> = Vec::new();
    let (mut chunked_cases, mut new_name_cases) = (0, 0);
    let mut upload_cases = 0;
    for case in 0..UPLOAD_CASES {
        if failures.len() >= MAX_FAILURES {
            break;
        }
        upload_cases += 1;
        let chunked = case % 2 == 1;
        chunked_cases += usize::from(chunked);
        let new_name = rng.gen_ratio(1, 5);
        new_name_cases += usize::from(new_name);
        let name = if new_name {
            format!("new-{case}.bin")
        } else {
            format!("target-{}.bin", rng.gen_range(0..TARGETS))
        };
        let announced = rng.gen_range(1..=8usize << 20);
        // Often early, often late, sometimes right at the start or one byte short.
        let cut = match rng.gen_range(0..10) {
            0 => 0,
            1 => announced - 1,
            _ => rng.gen_range(0..announced),
        };
        let what = format!(
            "upload case {case}: {name}, {} of {announced} bytes, {}",
            cut,
            if chunked { "chunked" } else { "content-length" }
        );
        cut_upload(&addr, &auth, &name, announced, cut, chunked, &mut rng);
        if let Err(got) = settle(&h, &root, &expected) {
            failures.push(format!("{what}: folder never settled: {got:?}"));
            // Start the next case from a clean folder so one failure is counted once.
            for n in got.iter().filter(|n| !expected.contains(n)) {
                let _ = std::fs::remove_file(root.join(n));
            }
        }
        if let Some(previous) = versions.get(&name) {
            let now = std::fs::read(root.join(&name)).unwrap_or_default();
            if &now != previous {
                failures.push(format!(
                    "{what}: previous version damaged ({} bytes now, {} before)",
                    now.len(),
                    previous.len()
                ));
                std::fs::write(root.join(&name), previous).unwrap();
            }
        }
    }
    let upload_failures = failures.len();
    println!(
        "interrupted uploads: {upload_cases} cases ({chunked_cases} chunked, {} content-length, {new_name_cases} to new names), {upload_failures} failures",
        upload_cases - chunked_cases
    );

    let mut read_total = 0usize;
    for case in 0..DOWNLOAD_CASES {
        let range = rng.gen_ratio(1, 4).then(|| {
            let a = rng.gen_range(0..BIG / 2);
            (a, rng.gen_range(a..BIG))
        });
        let cut = match rng.gen_range(0..10) {
            0 => rng.gen_range(0..200), // inside the status line and headers
            _ => rng.gen_range(0..BIG / 2),
        };
        read_total += cut_download(&addr, &auth, cut, range);
        if case % 10 == 9 {
            let (s, v) = h.get("get_action=stat&ws=files&file=big.bin");
            if s != 200 || v["size"].as_u64() != Some(BIG as u64) {
                failures.push(format!("download case {case}: stat answered {s} {v}"));
            }
        }
    }
    if std::fs::read(root.join("big.bin")).unwrap() != big {
        failures.push("big.bin changed on disk after the cut downloads".into());
    }
    println!(
        "interrupted downloads: {DOWNLOAD_CASES} cases ({} MiB read in all), {} failures",
        read_total >> 20,
        failures.len() - upload_failures
    );

    // Still serving: a full listing, a full download of every file, and a fresh upload.
    let (s, v) = h.get("get_action=ls&ws=files");
    let listed: Vec<String> = v["entries"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["name"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default();
    if s != 200 || listed != expected {
        failures.push(format!("ls after the cuts: {s} {listed:?}"));
    }
    for (name, content) in versions.iter().chain([(&"big.bin".to_owned(), &big)]) {
        let r = h
            .client
            .get(h.action_url(&format!("get_action=download&ws=files&file={name}")))
            .send()
            .unwrap();
        let status = r.status();
        let body = r.bytes().unwrap();
        if status != 200 || body.as_ref() != content.as_slice() {
            failures.push(format!(
                "download of {name} after the cuts: {status}, {} bytes",
                body.len()
            ));
        }
    }
    let (s, v) = h.post_bytes(
        "get_action=upload&ws=files&name=target-0.bin",
        b"after".to_vec(),
    );
    if s != 201 {
        failures.push(format!("upload after the cuts: {s} {v}"));
    }

    // Descriptors: the cut connections and the files they held are all closed in time.
    let deadline = Instant::now() + SETTLE;
    let mut fds = fd_count(pid);
    while fds > baseline + FD_SLACK && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        fds = fd_count(pid);
    }
    // Once every descriptor is closed no upload can still be running: look once more.
    if let Err(got) = settle(&h, &root, &expected) {
        failures.push(format!("folder after all the cuts: {got:?}"));
    }
    for (name, content) in &versions {
        if name != "target-0.bin" && std::fs::read(root.join(name)).unwrap_or_default() != *content
        {
            failures.push(format!("{name} changed after the cuts"));
        }
    }
    println!(
        "open descriptors of the host: {baseline} before the {} cuts, {fds} after (slack {FD_SLACK})",
        upload_cases + DOWNLOAD_CASES
    );
    if fds > baseline + FD_SLACK {
        failures.push(format!(
            "descriptor leak: {baseline} before, {fds} after: {:?}",
            std::fs::read_dir(format!("/proc/{pid}/fd"))
                .map(|d| d
                    .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                    .collect::<Vec<_>>())
                .unwrap_or_default()
        ));
    }
    println!(
        "interrupted transfers: {} cases, {} failures, {:.1} s (seed {seed})",
        upload_cases + DOWNLOAD_CASES,
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} failures (seed {seed}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A temporary file a killed host left deep in a workspace goes without anyone listing its
/// folder: the driver sweeps the whole tree soon after the workspace opens (and hourly). A
/// fresh one (an upload running on another host sharing the folder) stays, and the sweep
/// never follows a symlink out of the workspace (issue 22, trap 8).
#[test]
fn a_stale_upload_temporary_is_swept_without_a_listing() {
    let h = Host::start(HostSetup::new(
        fs_config(),
        vec![manifest("access.fs.toml")],
    ));
    let root = h.dir.path().join("root");
    let deep = root.join("deep/er");
    std::fs::create_dir_all(&deep).unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("out")).unwrap();
    let two_days_ago = std::time::SystemTime::now() - Duration::from_secs(48 * 3600);
    let plant = |path: &std::path::Path, old: bool| {
        std::fs::write(path, b"partial").unwrap();
        if old {
            std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(two_days_ago)
                .unwrap();
        }
    };
    let stale = deep.join(".wshost-upload-00000000000000ab.part");
    let fresh = deep.join(".wshost-upload-00000000000000cd.part");
    let beyond = outside.path().join(".wshost-upload-00000000000000ef.part");
    plant(&stale, true);
    plant(&fresh, false);
    plant(&beyond, true);
    // The workspace opens on its first request, which lists nothing.
    let (s, v) = h.get("get_action=stat&ws=files&file=deep");
    assert_eq!(s, 200, "{v}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while stale.exists() {
        assert!(
            Instant::now() < deadline,
            "the stale temporary is still there"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(fresh.exists(), "a running upload's file stays");
    assert!(
        beyond.exists(),
        "the sweep does not follow a symlink out of the workspace"
    );
}
