//! The object size functions (<https://www.postgresql.org/docs/15/functions-admin.html>,
//! "Database Object Size Functions"): `pg_relation_size(regclass [, fork])`,
//! `pg_table_size`, `pg_indexes_size`, `pg_total_relation_size`, `pg_database_size(name | oid)`,
//! `pg_tablespace_location(oid)` and `pg_size_pretty(bigint | numeric)`.
//!
//! **What a size is here.** Orbit keeps rows in memory, not in 8 kB pages, so a size is an
//! honest count of what Orbit holds for the relation, summed over every shard: each shard keeps,
//! per table, the bytes of its rows' encoded keys and of their values in memory
//! ([`orbit_engine::table::Table::size_bytes`], updated by every change). A table's main fork
//! is its values (and its keys when it has no primary key: the hidden row id is its key); its
//! primary key's index is its rows' keys (the rows are ordered by them); a secondary index is
//! its entries' keys and values (the index's own table); a sequence is its row in Orbit's
//! sequence table; views and system views hold nothing (0). The other forks (`fsm`, `vm`,
//! `init`) are 0. A database's size is everything its tables hold. Row versions kept for
//! REPEATABLE READ snapshots are not counted (PostgreSQL counts its dead tuples).
//!
//! Expressions are evaluated synchronously, so a statement whose binding used a size function
//! ([`note_used`]; `Prepared::reads_sizes`) first gathers every shard's counts (one step on
//! each, O(tables)) and runs with them ([`with_sizes`]), as one snapshot of the statement.

use crate::error::{code, Result, SqlError};
use crate::numeric::Num;
use num_bigint::BigInt;
use orbit_engine::table::Datum;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeFn {
    /// pg_relation_size(regclass [, fork text]).
    Relation,
    /// pg_table_size(regclass): the relation without its indexes.
    Table,
    /// pg_indexes_size(regclass): the indexes of a table.
    Indexes,
    /// pg_total_relation_size(regclass): the table and its indexes.
    Total,
    /// pg_database_size(name): 3D000 for another name.
    DatabaseByName,
    /// pg_database_size(oid): NULL for another OID.
    DatabaseByOid,
}

/// pg_size_pretty's units: (name, the limit below which it is used, whether the value is
/// rounded half away from zero, the unit's power of two) (PostgreSQL 15's `size_pretty_units`).
const UNITS: &[(&str, i64, bool, u32)] = &[
    ("bytes", 10 * 1024, false, 0),
    ("kB", 20 * 1024 - 1, true, 10),
    ("MB", 20 * 1024 - 1, true, 20),
    ("GB", 20 * 1024 - 1, true, 30),
    ("TB", 20 * 1024 - 1, true, 40),
    ("PB", 20 * 1024 - 1, true, 50),
];

/// The bits to divide by to go from unit `i` to unit `i + 1`: one less when the next unit
/// rounds (the rounding halves), one more when this one did.
fn shift(i: usize) -> u32 {
    let (this, next) = (UNITS[i], UNITS[i + 1]);
    next.3 - this.3 - next.2 as u32 + this.2 as u32
}

/// pg_size_pretty(bigint).
pub fn size_pretty(mut size: i64) -> String {
    for (i, &(name, limit, round, _)) in UNITS.iter().enumerate() {
        if i + 1 == UNITS.len() || size.unsigned_abs() < limit as u64 {
            if round {
                size = (size + if size < 0 { -1 } else { 1 }) / 2;
            }
            return format!("{size} {name}");
        }
        size /= 1i64 << shift(i);
    }
    unreachable!("the last unit is always taken")
}

/// pg_size_pretty(numeric): as for bigint, with numeric's truncating division (the value keeps
/// its scale while it is in bytes).
pub fn size_pretty_numeric(size: &Num) -> String {
    // NaN and the infinities compare above every limit and divide to themselves: "NaN PB".
    let (mut v, mut scale) = match size {
        Num::Fin(v, s) => (v.clone(), *s),
        special => return format!("{} {}", special.to_text(), UNITS[UNITS.len() - 1].0),
    };
    for (i, &(name, limit, round, _)) in UNITS.iter().enumerate() {
        let unit = BigInt::from(10u32).pow(scale);
        if i + 1 == UNITS.len() || v.magnitude() < (BigInt::from(limit) * &unit).magnitude() {
            if round {
                // numeric_half_rounded: (n + 1) / 2 truncated (n - 1 when n is negative).
                let one = if v.sign() == num_bigint::Sign::Minus { -unit.clone() } else { unit.clone() };
                v = (v + one) / (BigInt::from(2) * unit);
                scale = 0;
            }
            return format!("{} {name}", Num::Fin(v, scale).to_text());
        }
        // numeric_truncated_divide: an integer from here on.
        v /= BigInt::from(1i64 << shift(i)) * unit;
        scale = 0;
    }
    unreachable!("the last unit is always taken")
}

/// One relation's sizes in bytes: its main fork and its indexes'.
#[derive(Debug, Clone, Copy, Default)]
struct Rel {
    main: i64,
    indexes: i64,
}

/// The sizes a statement reads, gathered from every shard when it starts.
#[derive(Debug, Default)]
pub struct Sizes {
    relations: HashMap<i64, Rel>,
    database: i64,
}

thread_local! {
    /// The sizes of the statement running now on this shard (set before each of its polls).
    static CURRENT: RefCell<Option<Rc<Sizes>>> = const { RefCell::new(None) };
    /// Whether the statement being bound called a size function.
    static USED: Cell<bool> = const { Cell::new(false) };
}

/// Binding met a size function: the statement gathers sizes before it runs.
pub(crate) fn note_used() {
    USED.with(|u| u.set(true));
}

/// The outermost bind starts: no size function met yet.
pub(crate) fn bind_started() {
    USED.with(|u| u.set(false));
}

/// Whether the statement being (or last) bound called a size function.
pub(crate) fn used() -> bool {
    USED.with(|u| u.get())
}

/// What every shard holds: per table (incl. indexes' tables and system tables) its name and
/// (key bytes, value bytes), and per sequence its row's bytes.
type ShardSizes = (Vec<(String, usize, usize)>, Vec<(String, usize)>);

/// Gathers the sizes from every shard and resolves them to the relations' OIDs with this
/// shard's catalog.
pub async fn gather() -> Result<Sizes> {
    let parts: Vec<ShardSizes> = orbit_shards::mesh::run_on_all(|s| {
        let tables = s
            .tables
            .names()
            .filter_map(|n| s.tables.get(n).map(|t| (n.clone(), t.size_bytes())))
            .map(|(n, (k, v))| (n, k, v))
            .collect();
        let sequences = s.tables.get(crate::sequence::SEQ_TABLE).map_or_else(Vec::new, |t| {
            t.scan()
                .filter_map(|(k, r)| match r.first() {
                    Some(Datum::Text(n)) => Some((n.clone(), k.len() + r.iter().map(Datum::memory).sum::<usize>())),
                    _ => None,
                })
                .collect()
        });
        (tables, sequences)
    })
    .await
    .map_err(|e| SqlError::new(code::CONNECTION_EXCEPTION, format!("shard unavailable: {e}")))?;
    let mut tables: HashMap<String, (i64, i64)> = HashMap::new();
    let mut sizes = Sizes::default();
    for (ts, seqs) in parts {
        for (name, k, v) in ts {
            let e = tables.entry(name).or_default();
            e.0 += k as i64;
            e.1 += v as i64;
            sizes.database += (k + v) as i64;
        }
        for (name, bytes) in seqs {
            sizes.relations.entry(crate::catalog::sequence_oid(&name)).or_default().main += bytes as i64;
        }
    }
    let of = |name: &str| tables.get(name).copied().unwrap_or_default();
    for t in crate::catalog::user_tables() {
        if t.view.is_some() {
            sizes.relations.insert(t.oid as i64, Rel::default());
            continue;
        }
        let (keys, values) = of(&t.name);
        let mut rel = Rel { main: values, indexes: 0 };
        if t.has_row_id() {
            rel.main += keys;
        } else {
            rel.indexes += keys;
            sizes.relations.insert(t.oid as i64 + 1_000_000, Rel { main: keys, indexes: 0 });
        }
        for ix in &t.indexes {
            if let Ok(d) = crate::index::index_table(&t, ix) {
                let (k, v) = of(&d.name);
                rel.indexes += k + v;
                sizes.relations.insert(d.oid as i64, Rel { main: k + v, indexes: 0 });
            }
        }
        sizes.relations.insert(t.oid as i64, rel);
    }
    Ok(sizes)
}

/// Runs `fut` with the sizes gathered now when `used` (else as it is): the statement's size
/// functions read them, set before each poll as [`crate::schema::with_search_path`] sets the
/// search path.
pub async fn with_sizes<F: std::future::Future>(used: bool, fut: F) -> Result<F::Output> {
    let sizes = match used {
        true => Some(Rc::new(gather().await?)),
        false => None,
    };
    // The caller hands a boxed statement future (a pointer), so pinning it here copies little.
    let mut fut = std::pin::pin!(fut);
    let out = std::future::poll_fn(|cx| {
        let Some(sizes) = &sizes else { return fut.as_mut().poll(cx) };
        CURRENT.with(|c| *c.borrow_mut() = Some(sizes.clone()));
        let r = fut.as_mut().poll(cx);
        CURRENT.with(|c| *c.borrow_mut() = None);
        r
    })
    .await;
    Ok(out)
}

/// The OID a regclass/oid argument holds.
fn oid_arg(d: &Datum) -> Option<i64> {
    match d {
        Datum::Oid(_, o) => Some(*o as i64),
        d => d.as_i64(),
    }
}

fn text(d: &Datum) -> &str {
    match d {
        Datum::Text(s) => s,
        _ => "",
    }
}

/// A size function's result (NULL arguments give NULL: the functions are strict).
pub fn call(f: SizeFn, args: Vec<Datum>) -> Result<Datum> {
    if args.iter().any(Datum::is_null) {
        return Ok(Datum::Null);
    }
    let sizes = CURRENT.with(|c| c.borrow().clone()).ok_or_else(|| {
        SqlError::unsupported(
            "pg_relation_size() and the other size functions are not supported in a table's WHERE condition \
             (the shards evaluate it): compute them in the select list or a subquery",
        )
    })?;
    let a = |i: usize| args.get(i).unwrap_or(&Datum::Null);
    let oid = oid_arg(a(0)).unwrap_or(0);
    // A system view (below 16384) holds no rows: 0, as a view's size in PostgreSQL.
    let rel = sizes.relations.get(&oid).copied().or((oid > 0 && oid < 16384 && is_system(oid)).then(Rel::default));
    Ok(match f {
        SizeFn::Relation => {
            let Some(rel) = rel else { return Ok(Datum::Null) };
            match args.get(1).map(text).unwrap_or("main") {
                "main" => Datum::Int8(rel.main),
                "fsm" | "vm" | "init" => Datum::Int8(0),
                _ => {
                    return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, "invalid fork name")
                        .hint("Valid fork names are \"main\", \"fsm\", \"vm\", and \"init\"."))
                }
            }
        }
        SizeFn::Table => rel.map_or(Datum::Null, |r| Datum::Int8(r.main)),
        SizeFn::Indexes => rel.map_or(Datum::Null, |r| Datum::Int8(r.indexes)),
        SizeFn::Total => rel.map_or(Datum::Null, |r| Datum::Int8(r.main + r.indexes)),
        SizeFn::DatabaseByName => match text(a(0)) {
            DATABASE => Datum::Int8(sizes.database),
            other => return Err(SqlError::new("3D000", format!("database \"{other}\" does not exist"))),
        },
        SizeFn::DatabaseByOid => match oid_arg(a(0)) {
            Some(DATABASE_OID) => Datum::Int8(sizes.database),
            _ => Datum::Null,
        },
    })
}

/// Whether a system OID is one of Orbit's system views.
fn is_system(oid: i64) -> bool {
    crate::catalog::is_system_view_oid(oid)
}

/// Orbit's one database (pg_database) and its OID.
const DATABASE: &str = "postgres";
const DATABASE_OID: i64 = 5;

/// pg_tablespace_location(oid): the default and global tablespaces live in the data directory
/// (an empty string, as PostgreSQL prints for them); Orbit has no others (NULL: no such one).
pub fn tablespace_location(oid: &Datum) -> Datum {
    match oid_arg(oid) {
        None => Datum::Null,
        Some(0 | 1663 | 1664) => Datum::Text(String::new()),
        Some(_) => Datum::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_pretty_is_postgresqls() {
        // Figures from PostgreSQL 15.
        assert_eq!(size_pretty(10239), "10239 bytes");
        assert_eq!(size_pretty(10240), "10 kB");
        assert_eq!(size_pretty(-10240), "-10 kB");
        assert_eq!(size_pretty(10485247), "10239 kB");
        assert_eq!(size_pretty(10485248), "10 MB");
        assert_eq!(size_pretty(i64::MAX), "8192 PB");
        assert_eq!(size_pretty(i64::MIN), "-8192 PB");
        let n = |s: &str| size_pretty_numeric(&Num::parse(s).expect("numeric"));
        assert_eq!(n("123.456"), "123.456 bytes");
        assert_eq!(n("10240.5"), "10 kB");
        assert_eq!(n("-10239.99"), "-10239.99 bytes");
        assert_eq!(n("0.000"), "0.000 bytes");
        assert_eq!(n("1e30"), "888178419700125 PB");
        assert_eq!(n("-1e30"), "-888178419700125 PB");
        assert_eq!(n("10240000000000000000000"), "9094947 PB");
        assert_eq!(n("NaN"), "NaN PB");
        assert_eq!(n("-Infinity"), "-Infinity PB");
    }
}
