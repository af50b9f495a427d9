//! Fuzzes the jsonpath reader, printer and evaluator (`orbit_query::fuzzing::check_jsonpath`):
//! any text must parse or fail, never panic; what parses prints a text that reads back to the
//! same text (or, as PostgreSQL's own printer allows, fails to read), and evaluates over a small
//! document without panicking. A crash found here is saved under `fuzz/artifacts/jsonpath/`;
//! commit it there and the crate's corpus replay test runs it in CI.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    orbit_query::fuzzing::check_jsonpath(data);
});
