//! Zip downloads of a folder and of a selection, on access.fs through HTTP against the real
//! binary, unpacked by Python's `zipfile` (a reader written by others) and compared byte for
//! byte with the files on disk: nested folders, unicode names, an empty file and a file of a
//! few hundred MiB, with the host's peak memory during the download printed and bounded.
//! Also: the limits refuse before the first byte, and a client that goes away stops the reads.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use wshost_tests::*;

/// The large file's size: a few hundred MiB, so that holding it would show in the peak.
const BIG: usize = 300 << 20;
/// What the zip transfer may add to the host's resident memory (the host's bound).
const RSS_GROWTH_LIMIT_KIB: u64 = 32 * 1024;

fn host(limits: &str) -> Host {
    Host::start(HostSetup::new(
        format!("{}[limits]\n{limits}\n", fs_config()),
        vec![manifest("access.fs.toml")],
    ))
}

fn python() -> PathBuf {
    let python = root().join("tests/.venv/bin/python");
    if !python.exists() {
        require(
            "the Python venv tests/.venv (python3 -m venv, from tests/python/requirements.txt)",
        );
    }
    python
}

/// Writes `len` deterministic bytes to `path`, one MiB at a time.
fn write_pattern(path: &Path, seed: u64, len: usize) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..len.div_ceil(1 << 20) {
        let n = (len - (i << 20)).min(1 << 20);
        f.write_all(&pattern_chunk(seed, i as u64, n)).unwrap();
    }
}

/// The tree under `photos/`: nested folders, unicode and space names, an empty file.
fn plant(root: &Path, big: bool) {
    let photos = root.join("photos");
    std::fs::create_dir_all(photos.join("nested/deeper")).unwrap();
    std::fs::create_dir_all(photos.join("été")).unwrap();
    std::fs::create_dir_all(photos.join("empty folder")).unwrap();
    std::fs::write(photos.join("a.txt"), "hello").unwrap();
    std::fs::write(photos.join("empty.bin"), "").unwrap();
    std::fs::write(photos.join("été/naïve – ü.txt"), "ünïcödé").unwrap();
    write_pattern(&photos.join("nested/deeper/x.bin"), 1, 300_000);
    if big {
        write_pattern(&photos.join("big.bin"), 2, BIG);
    }
}

/// GET `/?query` into `out`; answers the response's headers.
fn download(h: &Host, query: &str, out: &Path) -> reqwest::header::HeaderMap {
    let mut r = h.client.get(h.action_url(query)).send().unwrap();
    assert_eq!(r.status(), 200, "{query}: {}", r.text().unwrap_or_default());
    let headers = r.headers().clone();
    let mut f = std::fs::File::create(out).unwrap();
    std::io::copy(&mut r, &mut f).unwrap();
    headers
}

/// Unpacks `archive` into `dest` with Python's zipfile (or only checks it, without `dest`);
/// answers its report.
fn unzip(archive: &Path, dest: impl Into<Option<PathBuf>>) -> Value {
    let out = Command::new(python())
        .arg(root().join("tests/python/unzip.py"))
        .arg(archive)
        .args(dest.into())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zipfile refused the archive: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every file under `dir`: relative path (folders with a trailing `/`).
fn names(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for item in std::fs::read_dir(dir).unwrap().flatten() {
            let path = item.path();
            let rel = path.strip_prefix(base).unwrap().display().to_string();
            if path.is_dir() {
                out.push(format!("{rel}/"));
                walk(base, &path, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Whether two files hold the same bytes, compared a MiB at a time.
fn same_bytes(a: &Path, b: &Path) -> bool {
    let (mut a, mut b) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut x, mut y) = (vec![0; 1 << 20], vec![0; 1 << 20]);
    loop {
        let n = a.read(&mut x).unwrap();
        let mut m = 0;
        while m < n {
            let k = b.read(&mut y[m..n]).unwrap();
            if k == 0 {
                return false;
            }
            m += k;
        }
        if n == 0 {
            return b.read(&mut y).unwrap() == 0;
        }
        if x[..n] != y[..n] {
            return false;
        }
    }
}

/// Asserts that `unpacked` holds exactly `expected` (paths under `source`), byte for byte.
fn assert_same_tree(unpacked: &Path, source: &Path, expected: &[String]) {
    assert_eq!(names(unpacked), expected);
    for name in expected.iter().filter(|n| !n.ends_with('/')) {
        assert!(
            same_bytes(&unpacked.join(name), &source.join(name)),
            "{name} differs from the file on disk"
        );
    }
}

#[test]
fn a_folder_and_a_selection_unpack_byte_for_byte_with_pythons_zipfile() {
    let h = host("");
    let root = h.dir.path().join("root");
    plant(&root, true);
    let work = tempfile::tempdir().unwrap();
    let pid = h.pid();

    // The folder, whole: the archive holds the folder itself.
    let rss_before = proc_status(pid, "VmRSS");
    // Resets the peak (VmHWM) to the current size, so the peak read after is the download's.
    let reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
    let started = Instant::now();
    let archive = work.path().join("photos.zip");
    let headers = download(&h, "get_action=download&ws=files&file=photos", &archive);
    let took = started.elapsed();
    let peak = proc_status(pid, "VmHWM");
    assert_eq!(headers["content-type"], "application/zip");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename=\"photos.zip\""),
        "{headers:?}"
    );
    let size = std::fs::metadata(&archive).unwrap().len();
    println!(
        "zip: a folder of {} MiB in {:.1} s ({:.0} MiB/s); host VmRSS {} MiB before, peak {} MiB during{} (growth limit {} MiB)",
        size >> 20,
        took.as_secs_f64(),
        (size >> 20) as f64 / took.as_secs_f64(),
        rss_before / 1024,
        peak / 1024,
        if reset { "" } else { " (peak not reset: since start)" },
        RSS_GROWTH_LIMIT_KIB / 1024,
    );
    assert!(
        peak.saturating_sub(rss_before) <= RSS_GROWTH_LIMIT_KIB,
        "the zip download grew the host by {} MiB",
        peak.saturating_sub(rss_before) / 1024
    );
    let out = work.path().join("folder");
    let report = unzip(&archive, out.clone());
    let mut expected = names(&root);
    expected.retain(|n| n.starts_with("photos/"));
    assert_same_tree(&out, &root, &expected);
    let entries = report["entries"].as_array().unwrap();
    let unicode = entries
        .iter()
        .find(|e| e["name"] == "photos/été/naïve – ü.txt")
        .expect("the unicode entry");
    assert_eq!(
        unicode["utf8"], true,
        "a unicode name is flagged UTF-8: {unicode}"
    );
    assert!(
        entries.iter().all(|e| e["method"] == "stored"),
        "stored by default: {report}"
    );
    assert!(
        entries.iter().any(|e| e["name"] == "photos/empty folder/"),
        "{report}"
    );
    std::fs::remove_file(&archive).unwrap();
    std::fs::remove_dir_all(&out).unwrap();

    // A selection in one folder: the archive holds the selected names, deflated on request.
    let archive = work.path().join("selection.zip");
    let headers = download(
        &h,
        "get_action=download&ws=files&nodes[]=photos%2Fa.txt&nodes[]=photos%2F%C3%A9t%C3%A9&nodes[]=photos%2Fnested&compression=deflate",
        &archive,
    );
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("photos.zip"));
    let out = work.path().join("selection");
    let report = unzip(&archive, out.clone());
    let source = root.join("photos");
    let expected = [
        "a.txt",
        "nested/",
        "nested/deeper/",
        "nested/deeper/x.bin",
        "été/",
        "été/naïve – ü.txt",
    ];
    let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    assert_same_tree(&out, &source, &expected);
    let x = report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "nested/deeper/x.bin")
        .unwrap();
    assert_eq!(x["method"], "deflated", "{report}");

    // One file as a zip on request, named as asked.
    let archive = work.path().join("one.zip");
    let headers = download(
        &h,
        "get_action=download&ws=files&file=photos%2Fa.txt&archive=zip&archive_name=mine",
        &archive,
    );
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("mine.zip"));
    let report = unzip(&archive, work.path().join("one"));
    assert_eq!(report["entries"][0]["name"], "a.txt", "{report}");

    // The workspace's root: its entries at the archive's root, named after the workspace.
    let archive = work.path().join("root.zip");
    let headers = download(&h, "get_action=download&ws=files&file=%2F", &archive);
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("files.zip"));
    let report = unzip(&archive, None);
    let names: Vec<&str> = report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"photos/") && names.contains(&"photos/a.txt"),
        "{names:?}"
    );
}

#[test]
fn the_limits_refuse_an_archive_before_its_first_byte() {
    let h = host("max_archive_entries = 5\nmax_archive_bytes = 200000");
    let root = h.dir.path().join("root");
    plant(&root, false);
    let (s, v) = h.get("get_action=download&ws=files&file=photos");
    assert_eq!((s, code(&v)), (400, "invalid_parameter"), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than 5 entries"),
        "{v}"
    );
    let (s, v) =
        h.get("get_action=download&ws=files&nodes[]=photos%2Fnested&nodes[]=photos%2Fa.txt");
    assert_eq!((s, code(&v)), (413, "too_large"), "{v}");
    let (s, v) = h.get("get_action=download&ws=files&file=photos%2Fa.txt&archive=tar");
    assert_eq!((s, code(&v)), (400, "invalid_parameter"), "{v}");
    let (s, v) = h.get("get_action=download&ws=files&nodes[]=photos%2Fa.txt&nodes[]=..%2Fx");
    assert_eq!((s, code(&v)), (400, "batch_refused"), "{v}");
}

/// `wshost_bytes_downloaded_total` of access.fs, from the host's metrics.
fn downloaded(h: &Host) -> f64 {
    h.metrics()
        .lines()
        .find(|l| l.starts_with("wshost_bytes_downloaded_total{plugin=\"access.fs\"}"))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn a_client_that_goes_away_stops_the_reads() {
    let h = host("");
    let root = h.dir.path().join("root");
    std::fs::create_dir_all(root.join("many")).unwrap();
    const FILES: usize = 40;
    const EACH: usize = 4 << 20;
    for i in 0..FILES {
        write_pattern(&root.join(format!("many/f{i:02}.bin")), i as u64, EACH);
    }
    let mut r = h
        .client
        .get(h.action_url("get_action=download&ws=files&file=many"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut first = vec![0; 1 << 20];
    r.read_exact(&mut first).unwrap();
    drop(r);

    assert!(
        h.logged("zip download stopped after"),
        "the host never noticed the client left:\n{}",
        h.log()
    );
    let at_stop = downloaded(&h);
    std::thread::sleep(Duration::from_secs(1));
    let later = downloaded(&h);
    let total = (FILES * EACH) as f64;
    println!(
        "zip cut: {:.1} MiB of {:.0} MiB sent when the client left after 1 MiB",
        at_stop / f64::from(1 << 20),
        total / f64::from(1 << 20)
    );
    assert_eq!(at_stop, later, "reads went on after the stop");
    assert!(
        at_stop < total / 4.0,
        "most of the archive was read for a client that left: {at_stop} bytes"
    );
}

/// ZIP64 where the classic format ends: a file of 4 GiB and more (sparse on disk, so the test
/// costs reads, not disk), and more than 65,535 entries.
#[test]
fn zip64_holds_a_file_over_4_gib_and_more_than_65535_entries() {
    const HUGE: u64 = (4 << 30) + 12_345;
    const ENTRIES: usize = 66_000;
    let h = host("");
    let root = h.dir.path().join("root");
    std::fs::create_dir_all(root.join("huge")).unwrap();
    let huge = std::fs::File::create(root.join("huge/sparse.bin")).unwrap();
    huge.set_len(HUGE).unwrap();
    std::fs::write(root.join("huge/tail.txt"), "after the big one").unwrap();
    std::fs::create_dir_all(root.join("many")).unwrap();
    for i in 0..ENTRIES {
        std::fs::File::create(root.join(format!("many/{i:05}"))).unwrap();
    }
    let work = tempfile::tempdir_in(h.dir.path()).unwrap();

    let archive = work.path().join("huge.zip");
    let started = Instant::now();
    download(&h, "get_action=download&ws=files&file=huge", &archive);
    let report = unzip(&archive, None);
    println!(
        "zip64: {} GiB file archived and checked by zipfile in {:.1} s",
        HUGE >> 30,
        started.elapsed().as_secs_f64()
    );
    let entries = report["entries"].as_array().unwrap();
    let sparse = entries
        .iter()
        .find(|e| e["name"] == "huge/sparse.bin")
        .unwrap();
    assert_eq!(sparse["size"].as_u64(), Some(HUGE), "{report}");
    assert!(
        entries.iter().any(|e| e["name"] == "huge/tail.txt"),
        "{report}"
    );
    std::fs::remove_file(&archive).unwrap();

    let archive = work.path().join("many.zip");
    let started = Instant::now();
    download(&h, "get_action=download&ws=files&file=many", &archive);
    let report = unzip(&archive, None);
    println!(
        "zip64: {ENTRIES} entries archived and checked by zipfile in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        report["zip64"], true,
        "more than 65,535 entries need ZIP64's end records"
    );
    assert_eq!(report["entries"].as_array().unwrap().len(), ENTRIES + 1);
}

/// A misbehaving driver (tests/plugins/access-faulty) under a zip download: a read that stalls
/// past the plugin deadline, fails midway or runs past the length it announced cuts the archive (the client never sees a
/// complete-looking one); a stat that hangs refuses it before the first byte; the host lives on.
#[test]
fn the_plugin_deadline_holds_for_each_read_of_an_archive() {
    let mut h = Host::start(HostSetup::new(
        format!(
            "{}[[workspaces]]\nid = \"faulty\"\ndriver = \"access.faulty\"\n[limits]\nplugin_timeout_secs = 1\n",
            fs_config()
        ),
        vec![manifest("access.fs.toml"), manifest("access.faulty.toml")],
    ));
    for (node, why) in [
        ("big-stream-hang", "response stream stalled"),
        ("big-stream-error", "failed midway"),
        ("big-stream-garbage", "does not end at the"),
    ] {
        let started = Instant::now();
        let query = format!("get_action=download&ws=faulty&nodes[]=hello.txt&nodes[]={node}");
        // The cut may come before the answer's head has left (the request fails) or after
        // (its body does): either way no complete-looking archive arrives.
        if let Ok(r) = h.client.get(h.action_url(&query)).send() {
            assert_eq!(r.status(), 200, "{node}");
            assert!(
                r.bytes().is_err(),
                "{node}: a cut archive must not look complete"
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{node}: cut after {:?}",
            started.elapsed()
        );
        // Logged by the writer's thread, which may finish just after the client saw the cut.
        assert!(h.logged(why), "{node}: the log says why:\n{}", h.log());
    }
    let (s, v) = h.get("get_action=download&ws=faulty&nodes[]=hello.txt&nodes[]=hang");
    assert_eq!((s, code(&v)), (504, "plugin_timeout"), "{v}");
    assert!(h.alive(), "host died:\n{}", h.log());
    let (s, _) = h.get("get_action=stat&ws=faulty&file=hello.txt");
    assert_eq!(s, 200);
}
