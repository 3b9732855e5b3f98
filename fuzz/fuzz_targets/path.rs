//! Fuzzes `wshost::internals::normalize_path`: the output is relative, free of `..`, backslashes and
//! control characters, a fixed point, and only hostile or overlong paths are refused.
//! The checks live in `fuzz/checks.rs`, shared with `host/tests/fuzz_corpus.rs`.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_path(data));
