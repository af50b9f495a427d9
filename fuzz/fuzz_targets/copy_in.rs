//! Fuzzes COPY FROM STDIN's text and CSV readers: any data must read the same rows (or fail the
//! same way) whether it arrives whole or a byte at a time, and never panic. A crash found here is
//! saved under `fuzz/artifacts/copy_in/`; commit it there and the crate's corpus replay test runs
//! it in CI (with seeded mutations of the corpus).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    orbit_query::fuzzing::check_copy(data);
});
