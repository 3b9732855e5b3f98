//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`, and any regression inputs
//! committed under `fuzz/artifacts/<target>/`) through the fuzz targets' own checks, so the
//! ordinary test command guards what fuzzing found without needing cargo-fuzz or nightly.
//! Fuzzing itself is `fuzz/run.sh`.

use std::panic;
use std::path::{Path, PathBuf};

#[path = "../../fuzz/checks.rs"]
mod checks;

/// Every file under `fuzz/<kind>/<target>/`, sorted; none when the folder does not exist.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(kind)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable fuzz folder").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on every input of `target`, reporting each failing file by name.
fn replay(target: &str, check: fn(&[u8])) {
    let corpus = inputs("corpus", target);
    let regressions = inputs("artifacts", target);
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{target}/ is missing or empty: the seed corpus is committed"
    );
    let mut failures = Vec::new();
    for file in corpus.iter().chain(&regressions) {
        let data = std::fs::read(file).expect("readable corpus file");
        if panic::catch_unwind(|| check(&data)).is_err() {
            failures.push(file.display().to_string());
        }
    }
    println!(
        "fuzz corpus {target}: {} inputs run ({} seeds, {} regressions), {} failures",
        corpus.len() + regressions.len(),
        corpus.len(),
        regressions.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "inputs breaking an invariant: {failures:#?}"
    );
}

#[test]
fn manifest_corpus() {
    replay("manifest", checks::check_manifest);
}

#[test]
fn query_corpus() {
    replay("query", checks::check_query);
}

#[test]
fn path_corpus() {
    replay("path", checks::check_path);
}
