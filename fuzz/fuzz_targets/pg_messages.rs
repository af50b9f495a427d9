//! Fuzzes the PostgreSQL message framing and decoding (net/src/pg/messages.rs): any bytes, fed
//! whole and a byte at a time, frame the same way and never panic. A crash found here is saved
//! under `fuzz/artifacts/pg_messages/`; commit it there and the crate's corpus replay test runs it
//! in CI (with seeded mutations of the corpus).
#![no_main]

use libfuzzer_sys::fuzz_target;

// pgwire's decoders can panic on a malformed body; `messages::decode` catches that (the server
// runs with panic = "unwind") and reports 08P01. libFuzzer's default hook aborts on any panic,
// caught or not: a silent hook here lets caught ones be, and a panic that escapes `check` still
// reaches libfuzzer-sys's catch_unwind, which aborts and records the crash.
fuzz_target!(init: std::panic::set_hook(Box::new(|_| {})), |data: &[u8]| {
    orbit_net::pg::messages::fuzzing::check(data);
});
