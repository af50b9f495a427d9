//! Index nested-loop joins: a join step whose next table has its primary key, or a secondary
//! index, covering the step's equality columns, and whose rows so far are few next to that
//! table, does not read the table. The distinct join-key values of the rows so far are
//! collected, grouped by the shard that holds them (a primary key by [`shard_of_key`]; the
//! entries of a unique index read in full by their own key; any other index's entries, keyed by
//! the indexed values and then the row's key, on every shard), and each shard gets one message
//! per batch of up to [`BATCH_KEYS`] keys; it answers with the rows of those keys that pass the
//! table's own pushed-down conditions. An index lookup then fetches the rows its entries point
//! at the same way. The rows found are joined as a hash join would join the whole table.
//!
//! The reads are the scan path's: `get_at`/`range_at` at the transaction's snapshot (REPEATABLE
//! READ) or the latest committed rows, overlaid with the transaction's own changes (its write
//! set, for the table and the index's entries); under READ COMMITTED a key a commit spanning
//! shards holds is read after that commit (as [`crate::exec::read_key`] does), and an index's
//! entries are read at one moment of the cross-shard order, as an index scan reads them.
//!
//! The planner ([`crate::join::order`]) costs each step with the cheaper of a hash join (reading
//! the whole table, unless it was read already) and the lookups ([`lookup_work`]), so the
//! choice is made from the estimated rows so far against the table's size; the executor decides
//! again from the rows it has ([`crate::join::rows_where`], [`crate::join::rows`]).

use crate::error::Result;
use crate::exec::{self, matches, on_every_shard_at, shard_of_key};
use crate::expr::Expr;
use crate::join::Split;
use crate::stats::TableColumns;
use crate::txn::{sql_db, Txn};
use orbit_engine::table::{key, Datum, Row, TableDef};
use orbit_shards::tx::{Intent, Mode};
use orbit_shards::{mesh, state};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;

/// Keys one message to a shard carries at most.
pub const BATCH_KEYS: usize = 10_000;

/// The work of looking up one key by primary key, in the planner's unit (a row a scan reads):
/// a tree descent, the key's encoding and its share of a message, next to reading the next row.
pub const PK_LOOKUP_WORK: f64 = 4.0;

/// The same through a secondary index: the entries' read, then the rows' lookups.
pub const INDEX_LOOKUP_WORK: f64 = 10.0;

/// What a lookup reads through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    PrimaryKey,
    /// The leading columns of a primary key of several: a range of keys, on every shard (rows
    /// hash by their whole key).
    PrimaryKeyPrefix,
    /// The table's `indexes[i]`.
    Index(usize),
}

/// How a join step reads its table by key: through what, and per key column (the primary key's
/// columns, or the index's leading ones, in order) the column of the rows so far that gives it
/// (`left`) and the table's own (`right`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub via: Via,
    pub left: Vec<usize>,
    pub right: Vec<usize>,
}

impl Lookup {
    /// The primary key's or the index's name, as EXPLAIN prints it.
    pub fn name<'a>(&self, def: &'a TableDef) -> &'a str {
        match self.via {
            Via::PrimaryKey | Via::PrimaryKeyPrefix => &def.pk_name,
            Via::Index(i) => def.indexes.get(i).map_or("", |ix| ix.name.as_str()),
        }
    }

    /// Whether each key finds at most one entry, on the one shard its key hashes to.
    pub(crate) fn point(&self, def: &TableDef) -> bool {
        match self.via {
            Via::PrimaryKey => true,
            Via::PrimaryKeyPrefix => false,
            Via::Index(i) => def.indexes.get(i).is_some_and(|ix| ix.unique && ix.columns.len() == self.left.len()),
        }
    }

    fn work(&self) -> f64 {
        match self.via {
            Via::PrimaryKey => PK_LOOKUP_WORK,
            Via::PrimaryKeyPrefix | Via::Index(_) => INDEX_LOOKUP_WORK,
        }
    }
}

/// The lookup a step can make into `def` given its equalities `eq` (column of the rows so far,
/// column of `def`): by primary key when the equalities cover all of it, else through the
/// index they cover most of (all of a unique index first, then the most leading columns).
pub fn path(def: &TableDef, eq: &[(usize, usize)]) -> Option<Lookup> {
    if eq.is_empty()
        || def.index_of.is_some()
        || crate::relation::is_derived(def)
        || crate::catalog::is_view(def)
        || def.view.is_some()
    {
        return None;
    }
    let source = |c: usize| eq.iter().find(|&&(_, r)| r == c).map(|&(l, _)| l);
    if !def.has_row_id() {
        if let Some(left) = def.pk.iter().map(|&c| source(c)).collect::<Option<Vec<usize>>>() {
            return Some(Lookup { via: Via::PrimaryKey, left, right: def.pk.clone() });
        }
    }
    let mut best: Option<(bool, usize, Lookup)> = None;
    if !def.has_row_id() {
        // Leading primary-key columns (TPC-H's lineitem by l_orderkey): a range per key, no
        // second read for the rows; an index must cover more columns to be preferred.
        let left: Vec<usize> = def.pk.iter().map_while(|&c| source(c)).collect();
        if !left.is_empty() {
            let right = def.pk[..left.len()].to_vec();
            best = Some((false, left.len(), Lookup { via: Via::PrimaryKeyPrefix, left, right }));
        }
    }
    for (i, ix) in def.indexes.iter().enumerate() {
        // A partial index lacks rows; an expression key is no column.
        if ix.is_special() {
            continue;
        }
        let left: Vec<usize> = ix.columns.iter().map_while(|&c| source(c)).collect();
        if left.is_empty() {
            continue;
        }
        let full = ix.unique && left.len() == ix.columns.len();
        let right = ix.columns[..left.len()].to_vec();
        let score = (full, left.len());
        if best.as_ref().is_none_or(|(f, n, _)| score > (*f, *n)) {
            best = Some((full, left.len(), Lookup { via: Via::Index(i), left, right }));
        }
    }
    best.map(|b| b.2)
}

/// The equalities that join table `t` to the tables in `mask`, as (column of the combined
/// row, column of `t`'s row).
pub(crate) fn equalities(sp: &Split, mask: usize, t: usize) -> Vec<(usize, usize)> {
    (0..sp.multi.len())
        .filter_map(|j| match sp.equality(j) {
            Some((a, ca, b, cb)) if b == t && mask & (1 << a) != 0 => Some((sp.offsets[a] + ca, cb)),
            Some((a, ca, b, cb)) if a == t && mask & (1 << b) != 0 => Some((sp.offsets[b] + cb, ca)),
            _ => None,
        })
        .collect()
}

/// The planner's work for joining table `t` to the `rows_before` rows of the tables in `mask`
/// by lookups (None when no key or index serves the step, or the table was read already,
/// `scanned`): a lookup per row so far, then the rows found.
pub(crate) fn lookup_work(
    sp: &Split,
    cols: &[TableColumns],
    mask: usize,
    t: usize,
    rows_before: f64,
    rows_after: f64,
    scanned: usize,
) -> Option<f64> {
    if scanned & (1 << t) != 0 {
        return None;
    }
    let l = path(cols[t].def, &equalities(sp, mask, t))?;
    // A lookup reads its table through its key or an index: an index scan, penalised as one
    // under enable_indexscan = off (the hash join reads the table whole).
    let penalty = if sp.methods.lookup { 0.0 } else { DISABLE_COST };
    Some(rows_before * l.work() + rows_after + penalty)
}

/// The join methods the planner switches `enable_hashjoin` and `enable_nestloop` allow, when the
/// statement was bound. As in PostgreSQL a switched-off method is penalised, not banned: a step
/// whose table a key or index serves is looked up by key (a nested loop) when hash joins are
/// off and hashed when nested loops are off, by cost when both or neither are; a step with no
/// such lookup is still hashed (or a nested loop without equalities).
///
/// `lookup`: whether reading a table through its key or an index is unpenalised
/// (`enable_indexscan`, or `enable_seqscan = off` too: [`crate::exec::index_scan::Paths`]);
/// off, a lookup step costs disable_cost more, as PostgreSQL's parameterized index scan does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Methods {
    pub hash: bool,
    pub nestloop: bool,
    pub lookup: bool,
}

/// What PostgreSQL adds to the cost of a switched-off plan (`disable_cost`).
pub const DISABLE_COST: f64 = 1.0e10;

impl Methods {
    pub const ALL: Methods = Methods { hash: true, nestloop: true, lookup: true };

    /// The session's switches, read by the binder (noted: a prepared statement binds again when
    /// they change).
    pub(crate) fn bound() -> Methods {
        let on = |name: &str| crate::settings::bound_value(name).is_none_or(|v| v == "on");
        Methods {
            hash: on("enable_hashjoin"),
            nestloop: on("enable_nestloop"),
            lookup: crate::exec::index_scan::Paths::bound().use_index(),
        }
    }

    /// Whether a step is looked up by key rather than hash joined, where the lookup is
    /// `lookup_cheaper` by cost: the path with fewer switched-off parts (each disable_cost),
    /// by cost when they have as many.
    pub fn prefer_lookup(self, lookup_cheaper: bool) -> bool {
        let lookup_off = usize::from(!self.nestloop) + usize::from(!self.lookup);
        let hash_off = usize::from(!self.hash);
        match lookup_off.cmp(&hash_off) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Greater => false,
            std::cmp::Ordering::Equal => lookup_cheaper,
        }
    }
}

/// Whether a step whose rows so far are `rows_before` reads `def` (of `table_rows` rows) by
/// `lookup` rather than whole: the executor's choice for a join in its written order, under
/// the planner switches `methods`.
pub(crate) fn cheaper(lookup: &Lookup, rows_before: f64, table_rows: f64, methods: Methods) -> bool {
    methods.prefer_lookup(rows_before * lookup.work() < table_rows)
}

/// The distinct keys of `left` (rows so far) for `lookup`: its values encoded as the table's
/// keys encode them; a row with a NULL among them matches nothing.
fn keys_of(lookup: &Lookup, left: &[Row]) -> BTreeSet<Vec<u8>> {
    let mut keys = BTreeSet::new();
    for r in left {
        let vals: Vec<&Datum> = lookup.left.iter().map(|&c| r.get(c).unwrap_or(&Datum::Null)).collect();
        if vals.iter().any(|v| v.is_null()) {
            continue;
        }
        keys.insert(key::encode(vals.into_iter()));
    }
    keys
}

/// The rows of `def` that the rows so far (`left`) find through `lookup`, passing `filter` (the
/// table's own conditions), as `txn` sees the table, cut to the columns `cols` (None: all of
/// them; the filter sees whole rows).
pub(crate) async fn rows(
    txn: &Txn,
    def: &Arc<TableDef>,
    lookup: &Lookup,
    left: &[Row],
    filter: Option<&Expr>,
    params: &[Datum],
    cols: Option<Arc<[usize]>>,
) -> Result<Vec<Row>> {
    let keys = keys_of(lookup, left);
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let found = match lookup.via {
        Via::PrimaryKey => by_keys(txn, def, keys.into_iter().collect(), filter, params, cols).await?,
        Via::PrimaryKeyPrefix => by_prefixes(txn, def, keys.into_iter().collect(), filter, params, cols).await?,
        Via::Index(i) => {
            let ix = &def.indexes[i];
            let idef = crate::index::index_table(def, ix)?;
            let entries: Vec<Row> = if lookup.point(def) {
                by_keys(txn, &idef, keys.into_iter().collect(), None, params, None)
                    .await?
                    .into_iter()
                    .map(|e| e.1)
                    .collect()
            } else {
                by_prefixes(txn, &idef, keys.into_iter().collect(), None, params, None)
                    .await?
                    .into_iter()
                    .map(|e| e.1)
                    .collect()
            };
            let pks: BTreeSet<Vec<u8>> = entries.iter().map(|e| def.key_of_entry(ix, e)).collect();
            by_keys(txn, def, pks.into_iter().collect(), filter, params, cols).await?
        }
    };
    Ok(found.into_iter().map(|(_, r)| r).collect())
}

/// The rows at `keys` of `table` that pass `filter`, as `txn` sees them: its own changes, then
/// the committed rows, one message per shard and batch of [`BATCH_KEYS`] keys, the shards in
/// parallel; each row cut to the columns `cols` (None: all of them).
async fn by_keys(
    txn: &Txn,
    table: &Arc<TableDef>,
    keys: Vec<Vec<u8>>,
    filter: Option<&Expr>,
    params: &[Datum],
    cols: Option<Arc<[usize]>>,
) -> Result<Vec<(Vec<u8>, Row)>> {
    let (_, n) = state::local();
    let mut out = Vec::new();
    let mut per_shard: BTreeMap<usize, Vec<Vec<u8>>> = BTreeMap::new();
    for k in keys {
        match txn.own(table, &k) {
            Some(Some(row)) => {
                if matches(filter, row, params)? {
                    out.push((k, exec::narrow(row, cols.as_deref())));
                }
            }
            Some(None) => {}
            None => {
                txn.note_read(table, || crate::serializable::Read::Key(k.clone()));
                per_shard.entry(shard_of_key(&k, n)).or_default().push(k)
            }
        }
    }
    let at = txn.read_at();
    let hops = per_shard.into_iter().map(|(shard, keys)| {
        let cols = cols.clone();
        async move {
            let mut got = Vec::new();
            for batch in keys.chunks(BATCH_KEYS) {
                got.extend(read_batch(table, shard, Arc::new(batch.to_vec()), filter, params, at, cols.clone()).await?);
                txn.check_cancel()?;
            }
            Ok::<_, crate::error::SqlError>(got)
        }
    });
    for part in futures::future::join_all(hops).await {
        out.extend(part?);
    }
    Ok(out)
}

/// One message to `shard`: the committed rows at `keys` that pass `filter`, at the snapshot
/// `at` (None: the latest, after any commit spanning shards that holds one of the keys), cut to
/// the columns `cols`.
async fn read_batch(
    table: &Arc<TableDef>,
    shard: usize,
    keys: Arc<Vec<Vec<u8>>>,
    filter: Option<&Expr>,
    params: &[Datum],
    at: Option<u64>,
    cols: Option<Arc<[usize]>>,
) -> Result<Vec<(Vec<u8>, Row)>> {
    let (name, oid) = (table.name.clone(), table.oid);
    let (filter, params) = (filter.cloned(), params.to_vec());
    let ks = keys.clone();
    let read = move |s: &mut orbit_shards::state::Shard, check: bool| {
        if check && at.is_none() && s.tx.blocks(false, ks.iter().map(|k| (sql_db(oid), k.as_slice()))) {
            return Ok(Err(()));
        }
        let t = s.tables.get(&name).filter(|t| t.def.oid == oid).ok_or_else(|| exec::no_table(&name))?;
        let mut got = Vec::new();
        for k in ks.iter() {
            if let Some(row) = t.get_at(k, at).map_err(exec::too_old)? {
                if matches(filter.as_ref(), row, &params)? {
                    got.push((k.clone(), exec::narrow(row, cols.as_deref())));
                }
            }
        }
        Ok::<_, crate::error::SqlError>(Ok(got))
    };
    let first = read.clone();
    match mesh::run_on(shard, move |s| first(s, true)).await.map_err(exec::gone)?? {
        Ok(got) => Ok(got),
        Err(()) => {
            let mut i = Intent::default();
            for k in keys.iter() {
                i.add_key(sql_db(oid), k, Mode::Shared);
            }
            let held = orbit_shards::tx::acquire(vec![(shard, i.seal())]).await.map_err(exec::gone)?;
            let r = mesh::run_on(shard, move |s| read(s, false)).await.map_err(exec::gone);
            held.release().await;
            Ok(r??.unwrap_or_default())
        }
    }
}

/// The entries of the index table `idef` whose keys start with one of `prefixes`, as `txn`
/// sees them: every shard in one message per batch, then the transaction's own entries.
async fn by_prefixes(
    txn: &Txn,
    idef: &Arc<TableDef>,
    prefixes: Vec<Vec<u8>>,
    filter: Option<&Expr>,
    params: &[Datum],
    cols: Option<Arc<[usize]>>,
) -> Result<Vec<(Vec<u8>, Row)>> {
    let at = txn.read_at();
    for p in &prefixes {
        txn.note_read(idef, || crate::serializable::Read::Range(p.clone(), crate::exec::index_scan::after_prefix(p)));
    }
    // Each shard checks the filter and cuts its rows to `cols` before they travel.
    let mut got: Vec<(Vec<u8>, Row)> = Vec::new();
    for batch in prefixes.chunks(BATCH_KEYS) {
        let batch = Arc::new(batch.to_vec());
        let (name, oid) = (idef.name.clone(), idef.oid);
        let (filter, params, cols) = (filter.cloned(), params.to_vec(), cols.clone());
        let parts = on_every_shard_at(at, move |s| {
            let Some(tb) = s.tables.get(&name).filter(|tb| tb.def.oid == oid) else { return Ok(Vec::new()) };
            let mut got = Vec::new();
            for p in batch.iter() {
                let end = exec::index_scan::after_prefix(p);
                let hi = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
                for (k, r) in tb.range_at(Bound::Included(p.as_slice()), hi, at).map_err(exec::too_old)? {
                    if matches(filter.as_ref(), r, &params)? {
                        got.push((k.clone(), exec::narrow(r, cols.as_deref())));
                    }
                }
            }
            Ok::<_, crate::error::SqlError>(got)
        })
        .await?;
        for part in parts {
            got.extend(part?);
        }
        txn.check_cancel()?;
    }
    if let Some(w) = txn.overlay(idef) {
        // The transaction's own writes replace what the shards have at their keys.
        let mut entries: BTreeMap<Vec<u8>, Row> = got.into_iter().collect();
        for p in &prefixes {
            let end = exec::index_scan::after_prefix(p);
            for (k, r) in w.rows.range(p.clone()..).take_while(|(k, _)| end.as_ref().is_none_or(|e| *k < e)) {
                match r {
                    Some(r) if matches(filter, r, params)? => {
                        entries.insert(k.clone(), exec::narrow(r, cols.as_deref()));
                    }
                    _ => {
                        entries.remove(k);
                    }
                }
            }
        }
        return Ok(entries.into_iter().collect());
    }
    // In key order (one shard's part already is: the sort finds one run), each key once.
    got.sort_by(|a, b| a.0.cmp(&b.0));
    got.dedup_by(|a, b| a.0 == b.0);
    Ok(got)
}
