//! Repartitioned join steps ([`Distribution::Repartition`](crate::dist_join::Distribution)):
//! neither side is sent whole to every shard; each row goes to one shard, the one its join key
//! names, and every shard joins what it has.
//!
//! - The rows so far (cut to the columns the step reads, as broadcast cuts them) are split on
//!   the coordinating shard by their join key ([`shard_of`]: FxHash of the key, high bits), a
//!   row with a NULL key matching nothing and going nowhere.
//! - When the table is partitioned on the step's keys already (its whole primary key is among
//!   them, [`crate::dist_join::partitioned_on`]) a row so far goes instead to the shard that
//!   holds the table's rows of its key ([`crate::exec::shard_of_key`] of the key's encoding:
//!   equal join keys encode alike), and the table does not move: one round, in which each shard
//!   probes its part of the table with the rows so far it was sent ([`partitioned`]).
//! - Otherwise both sides move, shard to shard, in three rounds the coordinator drives
//!   ([`shuffled`]): (1) each shard gets its part of the rows so far, kept in a per-shard
//!   exchange table under the step's id ([`PARTS`]); (2) each shard reads its part of the table
//!   at the transaction's snapshot (its own conditions applied, cut to the columns sent), keeps
//!   the rows whose keys hash to it and sends each other shard the rows that hash there, one
//!   mesh message per shard, from a task it spawns (a mesh job runs to completion and cannot
//!   wait), answering the coordinator once every peer has stored them; (3) each shard hashes
//!   its rows so far, probes with the table's rows it holds and sends back the matches, as a
//!   broadcast step's shards do ([`crate::dist_join::Matched`]).
//!
//! Why this cannot deadlock: the only waits on a shard are the sending task's, for room in a
//! bounded mesh channel and for the peer's reply; the job it sends only appends rows to the
//! exchange table ([`deposit`]) and never waits, and every shard's mesh receivers run such jobs
//! as they arrive, so every send completes. Rows only go into a part that round 1 created (a
//! late message after the step ended finds none and is dropped), so nothing outlives the step:
//! round 3 takes each part, and a step that ends another way (an error, a cancel, the statement
//! dropped) removes them ([`Exchange`]).
//!
//! Memory: each shard counts the rows it holds for the step (those it is sending, those it was
//! sent, its hash table and matches) on top of what the statement held when the step began, and
//! fails with 53200 past `orbit.query_memory_limit`, as a broadcast step's shards do; the rows
//! so far and the matches that come back count on the coordinator. A cancel or
//! `statement_timeout` is checked between the rounds. The rows the transaction wrote to the
//! table are probed on the coordinator in place of the shards' versions, as broadcast does.

use crate::dist_join::{Matched, Probe};
use crate::error::{Result, SqlError};
use crate::exec::{self, each_row, key_range, narrow, no_table, on_every_shard_at};
use crate::expr::Expr;
use crate::join_key::{self, FastHasher, JoinKey};
use crate::txn::Txn;
use orbit_engine::table::{key, Datum, Row, TableDef};
use orbit_shards::{mesh, state};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The shard among `shards` that a join key goes to (equal keys, equal shards).
pub(crate) fn shard_of(k: &JoinKey<'_>, shards: usize) -> usize {
    let mut h = FastHasher::default();
    k.hash(&mut h);
    // The high bits: FxHash's last step is a multiply, which mixes every input bit upwards.
    ((h.finish() as u128 * shards as u128) >> 64) as usize
}

/// One shard's part of a repartitioned step (both sides moving), while it runs.
struct Part {
    /// The rows so far sent here, and how the table's rows match them.
    probe: Probe,
    /// The table's rows sent here (cut to the columns shipped), with their keys when the
    /// transaction wrote to the table.
    rows: Vec<(Option<Vec<u8>>, Row)>,
    /// What this shard holds for the statement (what the coordinator held when the step began,
    /// plus the rows here) and its bound.
    bytes: usize,
    limit: usize,
    /// Set once the rows sent here went past the bound: the step fails (every later message
    /// gets the same error) and the rows are dropped.
    failed: Option<SqlError>,
}

thread_local! {
    /// This shard's parts of the steps running, by step id.
    static PARTS: RefCell<HashMap<u64, Part>> = RefCell::new(HashMap::new());
    /// The next step id this shard coordinates.
    static NEXT_ID: Cell<u64> = const { Cell::new(0) };
}

/// A step id unique over the shards: the coordinating shard's number, then its count.
fn new_id() -> u64 {
    let (me, _) = state::local();
    let n = NEXT_ID.with(|c| {
        let n = c.get();
        c.set(n + 1);
        n
    });
    ((me as u64) << 48) | (n & ((1 << 48) - 1))
}

fn lost() -> SqlError {
    SqlError::internal("repartition join: a shard's part of the step is gone")
}

/// Stores rows of the table sent to this shard for step `id`.
fn deposit(id: u64, rows: Vec<(Option<Vec<u8>>, Row)>) -> Result<()> {
    PARTS.with(|p| {
        let mut p = p.borrow_mut();
        let part = p.get_mut(&id).ok_or_else(lost)?;
        if let Some(e) = &part.failed {
            return Err(e.clone());
        }
        let size: usize =
            rows.iter().map(|(k, r)| crate::memory::row_bytes(r) + k.as_ref().map_or(0, |k| k.len())).sum();
        part.bytes += size;
        if part.bytes > part.limit {
            let e = crate::memory::out_of_memory("repartition join", size, part.bytes - size, part.limit);
            // The step fails; what this shard held for it goes now.
            part.rows = Vec::new();
            part.failed = Some(e.clone());
            return Err(e);
        }
        part.rows.extend(rows);
        Ok(())
    })
}

/// Removes step `id`'s parts on every shard when it ends without taking them (an error, a
/// cancel, the statement's future dropped).
struct Exchange {
    id: u64,
    open: bool,
}

impl Drop for Exchange {
    fn drop(&mut self) {
        if self.open {
            let id = self.id;
            orbit_shards::rt::spawn_deferred(async move {
                let _ = mesh::run_on_all(move |_| {
                    PARTS.with(|p| p.borrow_mut().remove(&id));
                })
                .await;
            });
        }
    }
}

/// What a repartitioned step needs besides its [`Probe`] (over the whole rows so far, whose
/// `right_keys` are the table's columns as stored and `cols` the columns sent back).
pub(crate) struct Step<'a> {
    pub table: &'a Arc<TableDef>,
    pub filter: Option<&'a Expr>,
    /// Per primary-key column of the table, the position in the step's keys that gives it,
    /// when the table is partitioned on them ([`crate::dist_join::partitioned_on`]).
    pub partitioned: Option<Vec<usize>>,
}

/// The rows of `step.table` that pass its conditions and match rows of `probe.left` (the rows
/// so far), each once with the positions in `probe.left` it matched, the step run
/// repartitioned (module doc); also the rows that passed the conditions (EXPLAIN ANALYZE's
/// rows for the table).
pub(crate) async fn scan(txn: &Txn, step: Step<'_>, probe: Probe) -> Result<(Vec<Matched>, usize)> {
    let table = step.table;
    let params = probe.params.clone();
    let range = key_range(table, step.filter, &params)?;
    exec::note_scan(txn, table, range.as_ref());
    // The rows the transaction wrote to the table, probed here with all the rows so far.
    let own = txn.overlay(table);
    let mut mine = Vec::new();
    let mut checked = 0;
    if let Some(w) = own {
        let index = probe.index();
        let mut scratch = Vec::new();
        for r in w.rows.values().flatten() {
            if exec::matches(step.filter, r, &params)? {
                checked += 1;
                if let Some((row, with)) = probe.probe(&index, r, &mut scratch)? {
                    mine.push(Matched { key: None, row, with });
                }
            }
        }
    }
    let (_, n) = state::local();
    let Probe { left, left_keys, right_keys, on, cols, params: _ } = probe;
    // Each row so far to its shard (a NULL key matches nothing: it goes nowhere).
    let mut parts: Vec<(Vec<Row>, Vec<u32>)> = (0..n).map(|_| (Vec::new(), Vec::new())).collect();
    for (i, row) in left.into_iter().enumerate() {
        let to = match &step.partitioned {
            Some(pk) => {
                let vals: Vec<&Datum> = pk.iter().map(|&k| row.get(left_keys[k]).unwrap_or(&Datum::Null)).collect();
                if vals.iter().any(|v| v.is_null()) {
                    continue;
                }
                exec::shard_of_key(&key::encode(vals.into_iter()), n)
            }
            None => match join_key::of(&row, &left_keys) {
                Some(k) => shard_of(&k, n),
                None => continue,
            },
        };
        parts[to].0.push(row);
        parts[to].1.push(i as u32);
    }
    let positions: Vec<Vec<u32>> = parts.iter_mut().map(|p| std::mem::take(&mut p.1)).collect();
    let lefts: Vec<Vec<Row>> = parts.into_iter().map(|p| p.0).collect();
    let with_keys = own.is_some();
    let run = Run { txn, table, filter: step.filter, range, with_keys, params };
    let (parts, seen) = match step.partitioned {
        Some(_) => {
            let probes = lefts
                .into_iter()
                .map(|left| Probe {
                    left,
                    left_keys: left_keys.clone(),
                    right_keys: right_keys.clone(),
                    on: on.clone(),
                    cols: cols.clone(),
                    params: run.params.clone(),
                })
                .collect();
            partitioned(&run, probes).await?
        }
        None => shuffled(&run, lefts, &left_keys, &right_keys, on, cols).await?,
    };
    checked += seen;
    // The matches, their positions in the rows so far; the shards' versions of rows the
    // transaction wrote give way to its own.
    let mut all = Vec::new();
    for (h, rows) in parts.into_iter().enumerate() {
        for mut m in rows {
            if own.is_some_and(|w| m.key.as_ref().is_some_and(|k| w.rows.contains_key(k))) {
                continue;
            }
            for p in m.with.iter_mut() {
                *p = positions[h][*p as usize];
            }
            all.push(m);
        }
    }
    all.extend(mine);
    let mut held = crate::memory::Held::new(txn.memory(), "rows from shards");
    held.add(all.iter().map(|m| crate::memory::row_bytes(&m.row) + m.with.len() * 4).sum())?;
    held.keep();
    Ok((all, checked))
}

/// Columns of a row to keep (None: all).
type Columns = Option<Arc<[usize]>>;

/// The parts of a step every round reads.
struct Run<'a> {
    txn: &'a Txn,
    table: &'a Arc<TableDef>,
    filter: Option<&'a Expr>,
    range: Option<exec::KeyRange>,
    with_keys: bool,
    params: Vec<Datum>,
}

impl Run<'_> {
    /// What the statement holds now and its bound: each shard's account starts there.
    fn memory(&self) -> (usize, usize) {
        (self.txn.memory().used(), self.txn.memory().limit())
    }
}

/// Matches of `probe`'s rows so far against the rows `each` yields (a whole row of the table
/// as stored, its key), on a shard whose account starts at `bytes`.
fn probe_rows(
    probe: &Probe,
    mut bytes: usize,
    limit: usize,
    with_keys: bool,
    rows: impl FnOnce(&mut dyn FnMut(&Vec<u8>, &Row) -> Result<()>) -> Result<()>,
) -> Result<Vec<Matched>> {
    let index = probe.index();
    bytes += index.bytes();
    if bytes > limit {
        return Err(crate::memory::out_of_memory("repartition join build table", index.bytes(), bytes, limit));
    }
    let (mut out, mut scratch) = (Vec::new(), Vec::new());
    rows(&mut |k: &Vec<u8>, row: &Row| {
        if let Some((row, with)) = probe.probe(&index, row, &mut scratch)? {
            let size = crate::memory::row_bytes(&row) + with.len() * 4 + if with_keys { k.len() } else { 0 };
            bytes += size;
            if bytes > limit {
                return Err(crate::memory::out_of_memory("repartition join", size, bytes - size, limit));
            }
            out.push(Matched { key: with_keys.then(|| k.clone()), row, with });
        }
        Ok(())
    })?;
    Ok(out)
}

/// The table partitioned on the keys: shard `h` probes its part of the table with `probes[h]`
/// (one round). Per shard its matches; and the rows that passed the table's conditions.
async fn partitioned(run: &Run<'_>, probes: Vec<Probe>) -> Result<(Vec<Vec<Matched>>, usize)> {
    let probes = Arc::new(probes);
    let (used, limit) = run.memory();
    let (name, f, at, range, with_keys) =
        (run.table.name.clone(), run.filter.cloned(), run.txn.read_at(), run.range.clone(), run.with_keys);
    let parts = on_every_shard_at(at, move |s| {
        let t = s.tables.get(&name).ok_or_else(|| no_table(&name))?;
        let probe = &probes[s.id];
        let mut checked = 0usize;
        let out = probe_rows(probe, used, limit, with_keys, |keep| {
            each_row(t, f.as_ref(), &probe.params, at, range.as_ref(), |k, row| {
                checked += 1;
                keep(k, row)
            })
        })?;
        Ok::<_, SqlError>((out, checked))
    })
    .await?;
    run.txn.check_cancel()?;
    let (mut all, mut checked) = (Vec::with_capacity(parts.len()), 0);
    for part in parts {
        let (rows, c) = part?;
        all.push(rows);
        checked += c;
    }
    Ok((all, checked))
}

/// Both sides move (module doc, rounds 1 to 3): shard `h` gets `lefts[h]`, and the rows of the
/// table whose keys (`right_keys`, as stored) hash to it. Per shard its matches (positions in
/// `lefts[h]`); and the rows that passed the table's conditions.
async fn shuffled(
    run: &Run<'_>,
    lefts: Vec<Vec<Row>>,
    left_keys: &[usize],
    right_keys: &[usize],
    on: Option<Expr>,
    cols: Option<Arc<[usize]>>,
) -> Result<(Vec<Vec<Matched>>, usize)> {
    let txn = run.txn;
    // The table's rows travel cut to the columns sent back, plus any key column those lack;
    // the receiving shard finds the keys at their places in the cut row.
    let (ship, shipped_keys, back): (Columns, Vec<usize>, Columns) = match &cols {
        None => (None, right_keys.to_vec(), None),
        Some(c) => {
            let mut ship: Vec<usize> = c.to_vec();
            let keys = right_keys
                .iter()
                .map(|r| match ship.iter().position(|x| x == r) {
                    Some(p) => p,
                    None => {
                        ship.push(*r);
                        ship.len() - 1
                    }
                })
                .collect();
            let back = (ship.len() > c.len()).then(|| Arc::from((0..c.len()).collect::<Vec<_>>()));
            (Some(Arc::from(ship)), keys, back)
        }
    };
    let (used, limit) = run.memory();
    let id = new_id();
    let mut exchange = Exchange { id, open: true };
    // Round 1: each shard's part of the rows so far.
    let creates = lefts.into_iter().enumerate().map(|(h, left)| {
        let probe = Probe {
            left,
            left_keys: left_keys.to_vec(),
            right_keys: shipped_keys.clone(),
            on: on.clone(),
            cols: back.clone(),
            params: run.params.clone(),
        };
        mesh::run_on(h, move |_| {
            let bytes = used;
            PARTS.with(|p| p.borrow_mut().insert(id, Part { probe, rows: Vec::new(), bytes, limit, failed: None }));
        })
    });
    for r in futures::future::join_all(creates).await {
        r.map_err(exec::gone)?;
    }
    txn.check_cancel()?;
    // Round 2: every shard reads its part of the table and sends each row to its key's shard.
    let (name, f, at, range, with_keys) =
        (run.table.name.clone(), run.filter.cloned(), txn.read_at(), run.range.clone(), run.with_keys);
    let (params, keys) = (Arc::new(run.params.clone()), Arc::new(right_keys.to_vec()));
    let sent = on_every_shard_at(at, move |s| {
        let t = s.tables.get(&name).ok_or_else(|| no_table(&name))?;
        let (me, n) = (s.id, s.count);
        let mut buckets: Vec<Vec<(Option<Vec<u8>>, Row)>> = (0..n).map(|_| Vec::new()).collect();
        let (mut bytes, mut checked) = (used, 0usize);
        each_row(t, f.as_ref(), &params, at, range.as_ref(), |k, row| {
            checked += 1;
            let Some(key) = join_key::of(row, &keys) else { return Ok(()) };
            let to = shard_of(&key, n);
            let row = narrow(row, ship.as_deref());
            let size = crate::memory::row_bytes(&row) + if with_keys { k.len() } else { 0 };
            bytes += size;
            if bytes > limit {
                return Err(crate::memory::out_of_memory("repartition join", size, bytes - size, limit));
            }
            buckets[to].push((with_keys.then(|| k.clone()), row));
            Ok(())
        })?;
        deposit(id, std::mem::take(&mut buckets[me]))?;
        // The others' rows go from a task of this shard (a job cannot wait; the task starts
        // once this job has returned, as the shard's state is borrowed until then); it answers
        // once every peer has stored them.
        let (tx, rx) = futures::channel::oneshot::channel::<Result<()>>();
        orbit_shards::rt::spawn_deferred(async move {
            let sends =
                buckets.into_iter().enumerate().filter(|(h, b)| *h != me && !b.is_empty()).map(
                    |(h, rows)| async move { mesh::run_on(h, move |_| deposit(id, rows)).await.map_err(exec::gone)? },
                );
            let done = futures::future::join_all(sends).await.into_iter().collect::<Result<Vec<()>>>();
            let _ = tx.send(done.map(|_| ()));
        });
        Ok::<_, SqlError>((checked, rx))
    })
    .await?;
    // Every shard's sends are awaited, even after one failed: no rows are in flight after this.
    let mut first_error = None;
    let mut checked = 0;
    let mut waits = Vec::new();
    for r in sent {
        match r {
            Ok((c, rx)) => {
                checked += c;
                waits.push(rx);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    for r in futures::future::join_all(waits).await {
        let r = r.unwrap_or_else(|_| Err(lost()));
        if let Err(e) = r {
            first_error.get_or_insert(e);
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    txn.check_cancel()?;
    // Round 3: each shard joins what it holds.
    let found = mesh::run_on_all(move |_| {
        let part = PARTS.with(|p| p.borrow_mut().remove(&id)).ok_or_else(lost)?;
        let Part { probe, rows, bytes, limit, failed } = part;
        if let Some(e) = failed {
            return Err(e);
        }
        probe_rows(&probe, bytes, limit, with_keys, |keep| {
            for (k, row) in &rows {
                keep(k.as_ref().unwrap_or(&Vec::new()), row)?;
            }
            Ok(())
        })
    })
    .await
    .map_err(exec::gone)?;
    exchange.open = false;
    txn.check_cancel()?;
    found.into_iter().collect::<Result<Vec<_>>>().map(|parts| (parts, checked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_go_to_one_shard_and_keys_spread() {
        let a = [Datum::Int4(7)];
        let b = [Datum::Int8(7)];
        let ka = join_key::of(&a, &[0]).unwrap();
        let kb = join_key::of(&b, &[0]).unwrap();
        assert_eq!(shard_of(&ka, 2), shard_of(&kb, 2));
        let t = [Datum::Text("x".into())];
        let c = [Datum::Bpchar("x   ".into())];
        assert_eq!(shard_of(&join_key::of(&t, &[0]).unwrap(), 5), shard_of(&join_key::of(&c, &[0]).unwrap(), 5));
        // Even keys alone (a common skew) still reach every shard.
        for n in [2usize, 3, 4] {
            let mut seen = vec![0usize; n];
            for i in 0..1000 {
                let r = [Datum::Int8(i * 2)];
                let s = shard_of(&join_key::of(&r, &[0]).unwrap(), n);
                seen[s] += 1;
            }
            assert!(seen.iter().all(|&c| c > 1000 / n / 2), "{seen:?}");
        }
    }
}
