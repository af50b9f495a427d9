//! Fuzzes the PostgreSQL message framing and decoding (net/src/pg/messages.rs): any bytes, fed
//! whole and a byte at a time, frame the same way and never panic. A crash found here is saved
//! under `fuzz/artifacts/pg_messages/`; commit it there and the crate's corpus replay test runs it
//! in CI (with seeded mutations of the corpus).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    orbit_net::pg::messages::fuzzing::check(data);
});
