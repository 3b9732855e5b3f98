//! Micro-benchmarks of the per-request cost the host adds on top of the storage itself
//! (issue 8): routing a query, the store's rights checks, one driver call across the plugin
//! ABI, and one 256 KiB chunk across the stream boundary — each beside the same work done
//! directly, so the difference is the host's share.
//!
//! `cargo bench -p wshost --bench request_path`. The ABI benchmarks load the real
//! `libaccess_fs.so` from `target/release` (else `target/debug`, else `$WSHOST_BENCH_LIB`);
//! build it first (`cargo build --release -p access-fs`), or they are skipped, loudly.

// `criterion_group!` expands to an undocumented `pub fn`.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::Read;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use plugin_api::foreign::LoadedLibrary;
use plugin_api::testing::MemoryHost;
use plugin_api::{CallContext, Driver, WorkspaceConfig};

/// The size of one chunk, as the host reads them (`plugins/stream.rs`).
const CHUNK: usize = 256 * 1024;
/// The file read chunk by chunk; reopened at its end.
const FILE_SIZE: usize = 16 * 1024 * 1024;

fn routing(c: &mut Criterion) {
    let query = "get_action=download&ws=files&file=%2Fprojects%2F2024%2Freport%20final.pdf";
    let parsed = wshost::internals::parse_query(query);
    assert_eq!(parsed.file.as_deref(), Ok("projects/2024/report final.pdf"));
    c.bench_function("route: parse a ?get_action= query", |b| {
        b.iter(|| wshost::internals::parse_query(black_box(query)))
    });
}

fn rights(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let checks = wshost::internals::RequestChecks::open(dir.path()).expect("store");
    for per_request in [false, true] {
        assert_eq!(
            checks.check(per_request),
            Ok(true),
            "the grant must be found"
        );
    }
    c.bench_function("rights: token, grant and toggles from SQLite", |b| {
        b.iter(|| checks.check(false).expect("check"))
    });
    c.bench_function(
        "rights: the same in a request scope (generation snapshot)",
        |b| b.iter(|| checks.check(true).expect("check")),
    );
}

/// `libaccess_fs.so` from the workspace's target folder.
fn library() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("WSHOST_BENCH_LIB") {
        return Some(path.into());
    }
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    ["release", "debug"]
        .iter()
        .map(|profile| target.join(profile).join("libaccess_fs.so"))
        .find(|p| p.is_file())
}

fn abi(c: &mut Criterion) {
    let Some(path) = library() else {
        eprintln!(
            "\n!!! SKIPPED abi and stream benchmarks: no libaccess_fs.so in target/ \
             (cargo build --release -p access-fs) !!!\n"
        );
        return;
    };
    println!("plugin library: {}", path.display());
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::write(root.join("small.bin"), [7u8; 4096]).expect("write");
    std::fs::write(root.join("big.bin"), vec![7u8; FILE_SIZE]).expect("write");

    let lib = LoadedLibrary::load(&path).expect("load the plugin");
    let config = WorkspaceConfig {
        id: "bench".into(),
        params: BTreeMap::from([("ROOT".to_owned(), root.display().to_string())]),
    };
    let host = MemoryHost::new("http://127.0.0.1:8080");
    host.add_workspace(config.clone());
    let plugin = lib.init(host).expect("init");
    let driver = plugin.open(&config).expect("open");
    let ctx = CallContext {
        user: Some("bench".into()),
        workspace: Some("bench".into()),
        request_id: "bench".into(),
        extra: BTreeMap::new(),
    };
    assert_eq!(driver.stat(&ctx, "small.bin").expect("stat").size, 4096);

    let mut group = c.benchmark_group("one call across the ABI");
    group.bench_function("access.fs stat through the .so", |b| {
        b.iter(|| driver.stat(&ctx, black_box("small.bin")).expect("stat"))
    });
    let small = root.join("small.bin");
    group.bench_function("std::fs::metadata directly", |b| {
        b.iter(|| std::fs::metadata(black_box(&small)).expect("metadata"))
    });
    group.finish();

    let mut group = c.benchmark_group("one 256 KiB chunk across the stream boundary");
    group.throughput(criterion::Throughput::Bytes(CHUNK as u64));
    let mut buf = vec![0u8; CHUNK];
    let mut stream = driver.read(&ctx, "big.bin", None).expect("read").content;
    group.bench_function("read from the plugin's stream", |b| {
        b.iter(|| {
            if stream.read(&mut buf).expect("read") == 0 {
                stream = driver.read(&ctx, "big.bin", None).expect("read").content;
            }
        })
    });
    let big = root.join("big.bin");
    let mut file = std::fs::File::open(&big).expect("open");
    group.bench_function("read from the file directly", |b| {
        b.iter(|| {
            if file.read(&mut buf).expect("read") == 0 {
                file = std::fs::File::open(&big).expect("open");
            }
        })
    });
    group.finish();
}

criterion_group!(benches, routing, rights, abi);
criterion_main!(benches);
