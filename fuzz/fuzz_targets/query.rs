//! Fuzzes `wshost::internals::parse_query`: agrees with an independent decoding of the query, its `file`
//! obeys the normalizer's invariants, and action, workspace and file survive a round trip.
//! The checks live in `fuzz/checks.rs`, shared with `host/tests/fuzz_corpus.rs`.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_query(data));
