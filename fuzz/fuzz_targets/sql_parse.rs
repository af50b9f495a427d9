//! Fuzzes the SQL parser (sqlparser, PostgreSQL dialect, as orbit-query calls it): any text must
//! parse or fail, never panic. A crash found here is saved under `fuzz/artifacts/sql_parse/`;
//! commit it there and the crate's corpus replay test runs it in CI (with seeded mutations of the
//! corpus).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    orbit_query::fuzzing::check_sql(data);
});
