//! What the fuzz targets `sql_parse`, `copy_in` and `jsonpath` check (cargo-fuzz, `fuzz/`), also
//! run in CI over the committed corpus and seeded mutations of it: no input panics; COPY reads
//! the same rows (or the same error) whether its data arrives whole or a byte at a time; a
//! jsonpath prints a text that reads back to itself.

use crate::copy::{CopyIn, CopyOptions};
use orbit_engine::table::{ColumnDef, Row, SqlType, TableDef};
use std::sync::Arc;

/// Parses any text as SQL (PostgreSQL dialect): an error is fine, a panic is not.
pub fn check_sql(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::bind::parse(text);
    }
}

/// Reads any text as a jsonpath: an error is fine, a panic is not. What parses prints a text
/// that reads back to the same text (or fails to read: PostgreSQL's printer drops the
/// parentheses of `(expr).accessor` inside a filter, and Orbit prints as it does), and is
/// evaluated over a small document, raising errors and silent.
pub fn check_jsonpath(data: &[u8]) {
    use crate::json::path_eval::{call, PathFn};
    use orbit_engine::table::Datum;
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(printed) = crate::json::path::normalize(text) else { return };
    if let Ok(again) = crate::json::path::normalize(&printed) {
        assert_eq!(again, printed, "{text:?} printed as {printed:?} reads back differently");
    }
    let doc = Datum::Jsonb(r#"{"a": [1, "x", {"b": 2.5}, [null, true]], "c": {"d": "e"}}"#.into());
    let vars = Datum::Jsonb(r#"{"min": 1, "max v": [2]}"#.into());
    for f in [PathFn::Exists, PathFn::Match, PathFn::Query, PathFn::QueryArray, PathFn::QueryFirst] {
        for silent in [false, true] {
            let _ = call(f, &[doc.clone(), Datum::Text(printed.clone()), vars.clone(), Datum::Bool(silent)]);
        }
        let _ = call(f, &[doc.clone(), Datum::Text(printed.clone())]);
    }
}

fn table() -> Arc<TableDef> {
    Arc::new(TableDef {
        name: "f".into(),
        columns: vec![
            ColumnDef::new("a", SqlType::Int4),
            ColumnDef::new("b", SqlType::Text),
            ColumnDef::new("c", SqlType::Bytea),
        ],
        pk: vec![0],
        pk_name: "f_pkey".into(),
        oid: 16384,
        ..TableDef::default_empty()
    })
}

/// Rows (or the first error's text) read from `data` fed in pieces of `piece` bytes; `binary`
/// puts the binary format's header before the data, so mutations reach the tuples.
fn copy_in_pieces(data: &[u8], csv: bool, binary: bool, piece: usize) -> Result<Vec<Row>, String> {
    let mut opts = CopyOptions::text(3);
    opts.binary = binary;
    let mut header = Vec::new();
    if binary {
        crate::copy::binary::encode_header(&mut header);
    }
    let data = &[header.as_slice(), data].concat();
    if csv {
        opts.csv = true;
        opts.delimiter = b',';
        opts.null = String::new();
    }
    let mut c = CopyIn::new(table(), vec![0, 1, 2], opts);
    let mut rows = Vec::new();
    for chunk in data.chunks(piece.max(1)) {
        c.feed(chunk);
        c.read_rows(usize::MAX).map_err(|e| format!("{} {}", e.code, e.message))?;
        rows.extend(c.take_rows());
    }
    c.finish().map_err(|e| format!("{} {}", e.code, e.message))?;
    rows.extend(c.take_rows());
    Ok(rows)
}

/// COPY's text, CSV and binary readers: never panic, same outcome however the data is split.
pub fn check_copy(data: &[u8]) {
    for (csv, binary) in [(false, false), (true, false), (false, true)] {
        let whole = copy_in_pieces(data, csv, binary, data.len() + 19);
        let bytewise = copy_in_pieces(data, csv, binary, 1);
        assert_eq!(whole, bytewise, "COPY (csv: {csv}, binary: {binary}) depends on how the data arrives");
    }
}

/// Replays the committed corpus of a cargo-fuzz target (`fuzz/corpus/<name>` and
/// `fuzz/artifacts/<name>`, at least `min` files), then `rounds` seeded mutations of it (byte
/// flips, truncations, splices of other inputs) through `check`: fuzzing's cheap cousin, run by
/// the unit tests in CI where nightly Rust is not.
pub fn replay(name: &str, min: usize, rounds: usize, seed: u64, check: &dyn Fn(&[u8])) {
    use rand::{Rng, SeedableRng};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut corpus = Vec::new();
    for dir in [format!("corpus/{name}"), format!("artifacts/{name}")] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        for e in entries.flatten() {
            corpus.push(std::fs::read(e.path()).expect("read corpus file"));
        }
    }
    assert!(corpus.len() >= min, "expected the committed corpus in fuzz/corpus/{name}");
    for c in &corpus {
        check(c);
    }
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    for _ in 0..rounds {
        let mut d = corpus[rng.gen_range(0..corpus.len())].clone();
        for _ in 0..rng.gen_range(1..4) {
            match rng.gen_range(0..3) {
                0 if !d.is_empty() => {
                    let i = rng.gen_range(0..d.len());
                    d[i] = rng.gen();
                }
                1 if !d.is_empty() => d.truncate(rng.gen_range(0..d.len())),
                _ => {
                    let other = &corpus[rng.gen_range(0..corpus.len())];
                    let at = rng.gen_range(0..=d.len());
                    let piece = &other[..rng.gen_range(0..=other.len())];
                    d.splice(at..at, piece.iter().copied());
                }
            }
        }
        check(&d);
    }
}

#[cfg(test)]
mod tests {
    use super::replay;

    #[test]
    fn sql_corpus_and_mutations() {
        replay("sql_parse", 3, 5_000, 7, &super::check_sql);
    }

    #[test]
    fn jsonpath_corpus_and_mutations() {
        replay("jsonpath", 20, 5_000, 7, &super::check_jsonpath);
    }

    #[test]
    fn copy_corpus_and_mutations() {
        replay("copy_in", 3, 5_000, 7, &super::check_copy);
    }
}
