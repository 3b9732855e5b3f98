//! Fuzzes `wshost::internals::parse_manifest`: never panics, answers the same twice, and accepts only a
//! well-formed `type.name` id.
//! The checks live in `fuzz/checks.rs`, shared with `host/tests/fuzz_corpus.rs`.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_manifest(data));
