//! Fuzzes the RESP request parser: any bytes, fed whole, byte by byte and in pieces, must never
//! panic and must parse the same way however they arrive. A crash found here is saved under
//! `fuzz/artifacts/resp_parse/`; commit it there and `orbit-net`'s `fuzz_corpus_replay` unit
//! test replays it in CI.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    orbit_net::resp::parse::fuzzing::check(data);
});
