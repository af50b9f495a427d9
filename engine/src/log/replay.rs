//! Replaying log and snapshot records into a keyspace. A command record runs through the same
//! command code that ran it first, with the clock it ran with, so lazy expiry and relative
//! arguments decide exactly as they did; keys whose deadline has passed by now are dropped by
//! [`crate::keyspace::Keyspace::purge_expired`] once replay is done.

use super::record::Record;
use crate::keyspace::{Entry, Keyspace};
use crate::redis::{self, Ctx, Exec};
use crate::table::Tables;
use crate::{Error, Result};
use rand::rngs::SmallRng;

/// Applies one data record to the keyspace or the tables. Structural records (headers, snapshot
/// markers) are ignored.
pub fn apply(ks: &mut Keyspace, tables: &mut Tables, rng: &mut SmallRng, rec: Record) -> Result<()> {
    match rec {
        Record::RedisCommand { db, now_ms, argv } => {
            let spec = redis::check(&argv).map_err(|e| Error::Corrupt(format!("logged command rejected: {e:?}")))?;
            if matches!(spec.exec, Exec::Conn) {
                return Err(Error::Corrupt(format!("logged command '{}' is not a data command", spec.name)));
            }
            let mut ctx = Ctx::new(ks, db, now_ms, rng);
            // The reply is what the client saw the first time; replay only wants the effect.
            let _ = redis::execute(spec, &mut ctx, &argv);
            ks.ready_keys.clear();
        }
        Record::RedisPut { db, key, value, expire_at_ms } => {
            ks.dbs[db].set_entry(key, Entry { value, expire_at_ms, access_s: 0, snap_mark: 0 });
        }
        Record::RedisDelete { db, key } => {
            ks.dbs[db].remove(&key);
        }
        Record::TableCreate { generation, def } => {
            tables.note_generation(generation);
            tables.create(std::sync::Arc::new(def), generation);
        }
        Record::TableDrop { generation, name } => {
            tables.note_generation(generation);
            tables.drop_table(&name, generation);
        }
        Record::RowPut { table, row } => {
            let t = tables.get_mut(&table).ok_or_else(|| no_table(&table))?;
            if row.len() != t.def.row_len() {
                return Err(Error::Corrupt(format!("row of {} values for table \"{table}\"", row.len())));
            }
            let key = t.def.key_of(&row);
            t.put(key, row);
        }
        Record::TableSwap { generation, staging } => {
            tables.note_generation(generation);
            tables.swap_in(&staging, generation);
        }
        Record::TableRename { generation, name, new_name } => {
            tables.note_generation(generation);
            tables.rename(&name, &new_name, generation);
        }
        Record::RowDelete { table, key } => {
            tables.get_mut(&table).ok_or_else(|| no_table(&table))?.delete(&key);
        }
        // Two-phase commit: a prepared part waits (unapplied) for its resolution; the rows of
        // a part applied are the RowPut/RowDelete records logged just before its TxnResolve,
        // so resolving only takes the part out. Parts still prepared after replay are settled
        // by the recovery of the shards (their coordinator's decision).
        Record::TxnPrepare { txid, part } => tables.in_doubt.prepare(txid, part),
        Record::TxnCommit { txid } => tables.in_doubt.decide(txid),
        Record::TxnResolve { txid, .. } => {
            tables.in_doubt.resolve(txid);
        }
        Record::LogHeader(_) | Record::SnapshotBegin(_) | Record::SnapshotEnd { .. } => {}
    }
    Ok(())
}

fn no_table(name: &str) -> Error {
    Error::Corrupt(format!("row record for table \"{name}\", which does not exist there"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use rand::SeedableRng;

    fn argv(parts: &[&str]) -> Vec<Bytes> {
        parts.iter().map(|p| Bytes::copy_from_slice(p.as_bytes())).collect()
    }

    #[test]
    fn commands_replay_with_their_own_clock() {
        let mut ks = Keyspace::new();
        let mut rng = SmallRng::seed_from_u64(1);
        // SET with a deadline 10 s after t0, APPEND at t0+1 s: the key was live then, so the
        // append keeps the deadline; replayed much later it must still do so.
        let t0 = 1_000_000;
        let set = Record::RedisCommand {
            db: 2,
            now_ms: t0,
            argv: argv(&["SET", "k", "v", "PXAT", &(t0 + 10_000).to_string()]),
        };
        apply(&mut ks, &mut Tables::new(), &mut rng, set).unwrap();
        apply(
            &mut ks,
            &mut Tables::new(),
            &mut rng,
            Record::RedisCommand { db: 2, now_ms: t0 + 1000, argv: argv(&["APPEND", "k", "x"]) },
        )
        .unwrap();
        let e = ks.dbs[2].peek(b"k").unwrap();
        assert_eq!(&e.value.type_name(), &"string");
        if let crate::value::Value::Str(s) = &e.value {
            assert_eq!(&s[..], b"vx");
        }
        assert_eq!(e.expire_at_ms, Some(t0 + 10_000));
        assert_eq!(ks.purge_expired(t0 + 20_000), 1);
        assert_eq!(ks.total_keys(), 0);
    }

    #[test]
    fn table_records_replay_in_order() {
        use crate::table::{ColumnDef, Datum, SqlType, TableDef};
        let mut ks = Keyspace::new();
        let mut ts = Tables::new();
        let mut rng = SmallRng::seed_from_u64(1);
        let col = |name: &str, ty| ColumnDef::new(name, ty);
        let def = TableDef {
            name: "t".into(),
            columns: vec![col("id", SqlType::Int8), col("v", SqlType::Text)],
            pk: vec![0],
            pk_name: "t_pkey".into(),
            oid: 16385,
            ..TableDef::default_empty()
        };
        let row = |i: i64, v: &str| vec![Datum::Int8(i), Datum::Text(v.into())];
        let mut recs = vec![
            Record::TableCreate { generation: 1, def: def.clone() },
            Record::RowPut { table: "t".into(), row: row(1, "a") },
            Record::RowPut { table: "t".into(), row: row(2, "b") },
            Record::RowPut { table: "t".into(), row: row(1, "c") },
            Record::RowDelete { table: "t".into(), key: def.key_of(&row(2, "")) },
        ];
        for r in recs.drain(..) {
            apply(&mut ks, &mut ts, &mut rng, r).unwrap();
        }
        let t = ts.get("t").unwrap();
        let rows: Vec<_> = t.scan().map(|(_, r)| r.clone()).collect();
        assert_eq!(rows, vec![row(1, "c")]);
        assert_eq!(ts.next_generation(), 2);
        // A row for a table that is not there, or of the wrong width, is damage.
        assert!(apply(&mut ks, &mut ts, &mut rng, Record::RowPut { table: "u".into(), row: row(1, "") }).is_err());
        assert!(apply(&mut ks, &mut ts, &mut rng, Record::RowPut { table: "t".into(), row: vec![] }).is_err());
        apply(&mut ks, &mut ts, &mut rng, Record::TableDrop { generation: 5, name: "t".into() }).unwrap();
        assert!(ts.get("t").is_none());
        assert_eq!(
            ts.catalog().map(|(n, g, t)| (n.clone(), g, t.is_some())).collect::<Vec<_>>(),
            vec![("t".into(), 5, false)]
        );
        assert_eq!(ts.next_generation(), 6);
    }

    #[test]
    fn connection_commands_are_rejected() {
        let mut ks = Keyspace::new();
        let mut rng = SmallRng::seed_from_u64(1);
        let r = apply(
            &mut ks,
            &mut Tables::new(),
            &mut rng,
            Record::RedisCommand { db: 0, now_ms: 0, argv: argv(&["SUBSCRIBE", "c"]) },
        );
        assert!(r.is_err());
        let r = apply(
            &mut ks,
            &mut Tables::new(),
            &mut rng,
            Record::RedisCommand { db: 0, now_ms: 0, argv: argv(&["NOPE"]) },
        );
        assert!(r.is_err());
    }
}
