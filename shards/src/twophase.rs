//! The shard side of two-phase commit for SQL transactions whose rows span shards. Each step
//! logs its record and changes the shard's [`InDoubt`] state in one synchronous step, so a
//! snapshot (which copies the tables, that state included) is never between the two.
//!
//! Protocol (the coordinating code is `orbit_query::txn::apply_together`): every participant
//! logs its part as `TxnPrepare` without applying it ([`prepare`]); once all are durable the
//! coordinator shard logs `TxnCommit` ([`decide`]), the commit point; once that is durable each
//! participant applies its part (RowPut/RowDelete records, then `TxnResolve`). Row locks stay
//! held until a shard has applied, so nothing logged after a `TxnPrepare` touches its rows
//! before its resolution: a part settled at recovery ([`settle`]) can be applied at the end of
//! the replayed log as if in place. Rules: docs/DURABILITY.md.

use crate::state::Shard;
use crate::tables as shard_tables;
use orbit_engine::table::in_doubt::{self, InDoubt, PreparedPart};

/// Logs `part` of transaction `txid` as prepared, unapplied. Returns its sequence number
/// (0 without a log); Err while the log refuses writes.
pub fn prepare(s: &mut Shard, txid: u64, part: PreparedPart) -> Result<u64, String> {
    shard_tables::writable(s)?;
    let seq = s.wal.append_txn_prepare(txid, &part);
    s.tables.in_doubt.prepare(txid, part);
    Ok(seq)
}

/// Logs the COMMIT decision for `txid` on the coordinator shard: once durable, the transaction
/// is committed, whatever crashes after.
pub fn decide(s: &mut Shard, txid: u64) -> Result<u64, String> {
    shard_tables::writable(s)?;
    let seq = s.wal.append_txn_commit(txid);
    s.tables.in_doubt.decide(txid);
    Ok(seq)
}

/// Drops this shard's prepared part of `txid` (the transaction did not reach its decision),
/// logging that. Never refused: while the log cannot be written the record queues for retry,
/// after the `TxnPrepare` it resolves.
pub fn drop_part(s: &mut Shard, txid: u64) {
    if s.tables.in_doubt.resolve(txid).is_some() {
        s.wal.append_txn_resolve(txid, false);
    }
}

/// The coordinator no longer needs its decision on `txid`: every participant's `TxnResolve`
/// is durable, so no recovery will ask for it.
pub fn forget(s: &mut Shard, txid: u64) {
    s.tables.in_doubt.forget(txid);
}

/// Applies a committed part (recovery's path: rows logged as RowPut/RowDelete like any
/// change, then the part's `TxnResolve`). Rows of a table dropped, or dropped and created
/// again, since the part was prepared are skipped, as a commit at run time skips them. No
/// snapshot exists during start-up, so no replaced versions are kept (no commit timestamp).
fn apply(s: &mut Shard, txid: u64, part: PreparedPart) {
    for t in part.tables {
        if s.tables.get(&t.table).is_none_or(|x| x.def.oid != t.oid) {
            continue;
        }
        let (puts, dels): (Vec<_>, Vec<_>) = t.rows.into_iter().partition(|(_, r)| r.is_some());
        let keys: Vec<Vec<u8>> = dels.into_iter().map(|(k, _)| k).collect();
        if !keys.is_empty() {
            shard_tables::delete(s, &t.table, &keys, None);
        }
        let puts: Vec<_> = puts.into_iter().filter_map(|(k, r)| r.map(|r| (k, r))).collect();
        if !puts.is_empty() {
            if let Err(e) = shard_tables::put(s, &t.table, puts, None) {
                tracing::error!(txid, table = %t.table, error = ?e, "recovery: cannot apply a committed part");
            }
        }
    }
    s.wal.append_txn_resolve(txid, true);
}

/// Settles, at start-up, every part this shard found prepared without its resolution: applies
/// it when its coordinator's recovered log holds the COMMIT decision (`decided(coordinator,
/// txid)`), else drops it (presumed abort: no participant can have applied it). Returns how
/// many parts were settled; the caller makes their records durable before any coordinator
/// forgets a decision.
pub fn settle(s: &mut Shard, decided: impl Fn(u32, u64) -> bool) -> usize {
    let parts = std::mem::take(&mut s.tables.in_doubt.prepared);
    let n = parts.len();
    for (txid, part) in parts {
        if in_doubt::commits(txid, &part, &decided) {
            tracing::info!(txid, coordinator = part.coordinator, "recovery: applying a committed cross-shard part");
            apply(s, txid, part);
        } else {
            tracing::info!(txid, coordinator = part.coordinator, "recovery: dropping an undecided cross-shard part");
            s.wal.append_txn_resolve(txid, false);
        }
    }
    n
}

/// Settles prepared parts without logging (re-sharding, which writes the result as a snapshot):
/// the committed parts' rows that `keep(key)` selects go into `tables`.
pub fn settle_into(
    tables: &mut orbit_engine::table::Tables,
    parts: Vec<(u64, PreparedPart)>,
    decided: impl Fn(u32, u64) -> bool,
    keep: impl Fn(&[u8]) -> bool,
) {
    for (txid, part) in parts {
        if !in_doubt::commits(txid, &part, &decided) {
            continue;
        }
        for t in part.tables {
            let Some(to) = tables.get_mut(&t.table).filter(|x| x.def.oid == t.oid) else { continue };
            for (k, r) in t.rows {
                if !keep(&k) {
                    continue;
                }
                match r {
                    Some(r) => to.put(k, r),
                    None => {
                        to.delete(&k);
                    }
                }
            }
        }
    }
}

/// What recovery publishes of a shard's two-phase commit state for the others.
pub fn decisions_of(d: &InDoubt) -> Vec<u64> {
    d.decided.iter().copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use orbit_engine::table::in_doubt::PartTable;
    use orbit_engine::table::{key, ColumnDef, Datum, SqlType, TableDef};
    use std::sync::Arc;

    fn shard_with_table() -> (Shard, Arc<TableDef>) {
        let mut s = Shard::new(0, 2);
        let def = Arc::new(TableDef {
            name: "t".into(),
            columns: vec![ColumnDef::new("id", SqlType::Int8), ColumnDef::new("v", SqlType::Int8)],
            pk: vec![0],
            pk_name: "t_pkey".into(),
            oid: 16385,
            ..TableDef::default_empty()
        });
        s.tables.create(def.clone(), 1);
        for i in 1..=3 {
            s.tables.get_mut("t").unwrap().put(key_of(i), vec![Datum::Int8(i), Datum::Int8(0)]);
        }
        (s, def)
    }

    fn key_of(i: i64) -> Vec<u8> {
        key::encode(std::iter::once(&Datum::Int8(i)))
    }

    /// Sets v = 1 on row 1, deletes row 2, inserts row 9.
    fn part(oid: u32) -> PreparedPart {
        PreparedPart {
            coordinator: 1,
            tables: vec![PartTable {
                table: "t".into(),
                oid,
                rows: vec![
                    (key_of(1), Some(vec![Datum::Int8(1), Datum::Int8(1)])),
                    (key_of(2), None),
                    (key_of(9), Some(vec![Datum::Int8(9), Datum::Int8(1)])),
                ],
            }],
        }
    }

    fn rows(s: &Shard) -> Vec<(i64, i64)> {
        s.tables
            .get("t")
            .unwrap()
            .scan()
            .map(|(_, r)| match (&r[0], &r[1]) {
                (Datum::Int8(a), Datum::Int8(b)) => (*a, *b),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_prepared_part_changes_nothing_until_settled_by_its_coordinator() {
        let (mut s, def) = shard_with_table();
        prepare(&mut s, 5, part(def.oid)).unwrap();
        prepare(&mut s, 6, part(def.oid)).unwrap();
        assert_eq!(rows(&s), vec![(1, 0), (2, 0), (3, 0)]);
        // The coordinator (shard 1) decided 5, not 6.
        assert_eq!(settle(&mut s, |c, txid| c == 1 && txid == 5), 2);
        assert_eq!(rows(&s), vec![(1, 1), (3, 0), (9, 1)]);
        assert!(s.tables.in_doubt.prepared.is_empty());
    }

    #[test]
    fn an_undecided_part_is_dropped_and_a_dropped_table_skipped() {
        let (mut s, def) = shard_with_table();
        prepare(&mut s, 5, part(def.oid)).unwrap();
        drop_part(&mut s, 5);
        assert!(s.tables.in_doubt.prepared.is_empty());
        prepare(&mut s, 6, part(def.oid + 1)).unwrap();
        assert_eq!(settle(&mut s, |_, _| true), 1);
        assert_eq!(rows(&s), vec![(1, 0), (2, 0), (3, 0)]);
    }

    #[test]
    fn resharding_keeps_the_committed_rows_it_owns() {
        let (mut s, def) = shard_with_table();
        let parts = vec![(5, part(def.oid)), (6, part(def.oid))];
        let decided = |_: u32, txid: u64| txid == 5;
        settle_into(&mut s.tables, parts, decided, |k| k != key_of(9).as_slice());
        assert_eq!(rows(&s), vec![(1, 1), (3, 0)]);
    }
}
