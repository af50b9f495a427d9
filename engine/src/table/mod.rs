//! SQL tables: typed values ([`Datum`], [`SqlType`]), table definitions and one shard's
//! partition of each table's rows, kept in primary-key order. Synchronous, no runtime: the query
//! engine (`orbit-query`) decides which shard holds a row and what a statement does; this module
//! only stores. The shard logs each change it makes here (orbit-shards `tables`); replay of
//! those records ([`crate::log::replay`]) makes the same calls in the same order.

pub mod datum;
pub mod key;

pub use datum::{Datum, Interval, SqlType};

use std::collections::BTreeMap;
use std::sync::Arc;

/// One row: a value per column of the table, in column order.
pub type Row = Vec<Datum>;

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: SqlType,
    pub not_null: bool,
    /// The DEFAULT constant (NULL when none was given).
    pub default: Datum,
}

/// A table's definition, the same on every shard (the catalog is replicated).
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    pub name: String,
    pub columns: Vec<ColumnDef>,
    /// Indexes into `columns` of the primary key, in key order. Empty for a table created
    /// without a primary key: its rows then carry a hidden row id ([`Datum::Int8`], after the
    /// columns), which is their key; see [`TableDef::has_row_id`].
    pub pk: Vec<usize>,
    /// Name of the primary key constraint (PostgreSQL's `<table>_pkey` unless given; empty
    /// without one).
    pub pk_name: String,
    /// A number unique to this definition (PostgreSQL's table OID, reported in RowDescription).
    pub oid: u32,
}

impl TableDef {
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Whether rows are keyed by a hidden row id (the table has no primary key). The id is the
    /// row's last value, after the visible columns: SELECT *, INSERT's column list and
    /// RowDescription only ever see `columns`. It is unique across shards and restarts: a shard
    /// hands out only ids whose key hashes to itself, above every id it holds
    /// ([`Table::next_row_id`], recovered by replay and snapshots through [`Table::put`]).
    pub fn has_row_id(&self) -> bool {
        self.pk.is_empty()
    }

    /// Values a stored row holds: the columns, and the row id if the table has one.
    pub fn row_len(&self) -> usize {
        self.columns.len() + self.has_row_id() as usize
    }

    /// The encoded primary key of `row` (its row id for a table without a primary key).
    pub fn key_of(&self, row: &[Datum]) -> Vec<u8> {
        if self.has_row_id() {
            return key::encode(row.get(self.columns.len()).into_iter());
        }
        key::encode(self.pk.iter().map(|&i| &row[i]))
    }
}

/// One shard's partition of a table: rows by encoded primary key.
#[derive(Debug, Clone)]
pub struct Table {
    pub def: Arc<TableDef>,
    rows: BTreeMap<Vec<u8>, Row>,
    /// For a table with row ids: every id this shard holds (or has replayed) is below this.
    next_row_id: i64,
    /// The row count the last ANALYZE found on this shard (PostgreSQL's pg_class.reltuples,
    /// summed over shards). Not logged: a restart forgets it, as if never analyzed.
    pub analyzed_rows: Option<u64>,
    /// ALTER TABLE is re-keying the table: no transaction may take a row lock on it (the
    /// query layer refuses); in memory only.
    pub altering: bool,
}

impl Table {
    pub fn new(def: Arc<TableDef>) -> Table {
        Table { def, rows: BTreeMap::new(), next_row_id: 1, analyzed_rows: None, altering: false }
    }

    /// The smallest row id this shard may hand out: above every id it holds or has replayed.
    pub fn next_row_id(&self) -> i64 {
        self.next_row_id
    }

    /// Notes that ids below `id` are taken (handed out, not necessarily inserted yet).
    pub fn reserve_row_ids_below(&mut self, id: i64) {
        self.next_row_id = self.next_row_id.max(id);
    }

    fn note_row(&mut self, row: &[Datum]) {
        if let Some(Datum::Int8(id)) = row.get(self.def.columns.len()) {
            if self.def.has_row_id() {
                self.next_row_id = self.next_row_id.max(id.saturating_add(1));
            }
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn get(&self, key: &[u8]) -> Option<&Row> {
        self.rows.get(key)
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.rows.contains_key(key)
    }

    /// Rows in primary-key order.
    pub fn scan(&self) -> impl Iterator<Item = (&Vec<u8>, &Row)> {
        self.rows.iter()
    }

    /// Inserts every row or none: returns the key of the first row whose key is already taken
    /// (in the table or earlier in `rows`).
    pub fn insert_all(&mut self, rows: Vec<(Vec<u8>, Row)>) -> std::result::Result<(), Vec<u8>> {
        let mut seen = std::collections::HashSet::with_capacity(rows.len());
        for (k, _) in &rows {
            if self.rows.contains_key(k) || !seen.insert(k.as_slice()) {
                return Err(k.clone());
            }
        }
        for (k, r) in rows {
            debug_assert_eq!(r.len(), self.def.row_len());
            self.note_row(&r);
            self.rows.insert(k, r);
        }
        Ok(())
    }

    /// Replaces (or inserts) the row at `key`.
    pub fn put(&mut self, key: Vec<u8>, row: Row) {
        debug_assert_eq!(row.len(), self.def.row_len());
        self.note_row(&row);
        self.rows.insert(key, row);
    }

    pub fn delete(&mut self, key: &[u8]) -> Option<Row> {
        self.rows.remove(key)
    }
}

/// The name of the staging table ALTER TABLE ... ADD PRIMARY KEY builds for `table` under
/// catalog generation `generation`: `<table>\0<generation>`. No client can name it (a NUL
/// cannot appear in a query), and each ALTER's is unique.
pub fn staging_name(table: &str, generation: u64) -> String {
    format!("{table}\0{generation}")
}

/// The table a staging table was built for, and the generation it was built under; None for
/// a table name that is not a staging table.
pub fn staging_target(staging: &str) -> Option<(&str, u64)> {
    let (table, generation) = staging.split_once('\0')?;
    Some((table, generation.parse().ok()?))
}

/// What recovery does with a staging table left by an ALTER TABLE that a crash interrupted
/// ([`Tables::staging_outcomes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StagingOutcome {
    /// The catalog owner committed the swap: apply it here too.
    Commit { staging: String, generation: u64 },
    /// It did not: drop the staging table (dropping under `generation`).
    Abort { staging: String, generation: u64 },
}

/// The tables of one shard, with the catalog generation of each name so that DDL replicated
/// from several coordinators converges: a change applies only if it is newer than the last one
/// applied to that name.
#[derive(Debug, Default, Clone)]
pub struct Tables {
    tables: BTreeMap<String, Table>,
    generations: BTreeMap<String, u64>,
    next_generation: u64,
}

impl Tables {
    pub fn new() -> Tables {
        Tables::default()
    }

    pub fn def(&self, name: &str) -> Option<Arc<TableDef>> {
        self.tables.get(name).map(|t| t.def.clone())
    }

    pub fn get(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Table> {
        self.tables.get_mut(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.tables.keys()
    }

    /// Every name the catalog knows a generation of, with that generation and the table if it
    /// exists (a dropped name keeps its generation so that older DDL still loses). In name order.
    pub fn catalog(&self) -> impl Iterator<Item = (&String, u64, Option<&Table>)> {
        self.generations.iter().map(|(n, &g)| (n, g, self.tables.get(n)))
    }

    /// Number of tables.
    pub fn len(&self) -> usize {
        self.tables.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Notes a generation seen in the log, so that generations handed out later are greater.
    pub fn note_generation(&mut self, generation: u64) {
        self.next_generation = self.next_generation.max(generation);
    }

    /// The newest catalog generation this shard has seen.
    pub fn generation_seen(&self) -> u64 {
        self.next_generation
    }

    /// Takes the next catalog generation (only the catalog owner, shard 0, hands them out).
    pub fn next_generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    fn newer(&mut self, name: &str, generation: u64) -> bool {
        let last = self.generations.get(name).copied().unwrap_or(0);
        if generation <= last {
            return false;
        }
        self.generations.insert(name.to_string(), generation);
        true
    }

    /// Creates the table unless a newer change to its name was applied. Returns false if a
    /// table of that name exists.
    pub fn create(&mut self, def: Arc<TableDef>, generation: u64) -> bool {
        if self.tables.contains_key(&def.name) {
            return false;
        }
        if self.newer(&def.name, generation) {
            self.tables.insert(def.name.clone(), Table::new(def));
        }
        true
    }

    /// Replaces the table a staging table was built for with it (ALTER TABLE ... ADD PRIMARY
    /// KEY's commit) unless a newer change to that table was applied; the staging table goes
    /// either way. Returns false if there was no such staging table.
    pub fn swap_in(&mut self, staging: &str, generation: u64) -> bool {
        let Some((target, _)) = staging_target(staging) else { return false };
        let Some(mut t) = self.tables.remove(staging) else { return false };
        self.generations.remove(staging);
        if self.newer(target, generation) {
            let mut def = (*t.def).clone();
            def.name = target.to_string();
            t.def = Arc::new(def);
            self.tables.insert(target.to_string(), t);
        }
        true
    }

    /// The catalog as the catalog owner (shard 0) has it: name, generation and whether the
    /// table exists. Recovery hands it to every shard to settle staging tables.
    pub fn catalog_view(&self) -> Vec<(String, u64, bool)> {
        self.catalog().map(|(n, g, t)| (n.clone(), g, t.is_some())).collect()
    }

    /// For each staging table here, whether the ALTER TABLE that built it committed, going by
    /// the catalog owner's catalog `owner` ([`Tables::catalog_view`] of shard 0 after its
    /// replay): the owner swaps first, so its staging table is gone and its table's
    /// generation is at least the staging table's exactly when the swap committed there.
    pub fn staging_outcomes(&self, owner: &[(String, u64, bool)]) -> Vec<StagingOutcome> {
        let mut out = Vec::new();
        for name in self.tables.keys() {
            let Some((target, generation)) = staging_target(name) else { continue };
            let owner_has_staging = owner.iter().any(|(n, _, exists)| n == name && *exists);
            let owner_target = owner.iter().find(|(n, _, _)| n == target).map(|(_, g, _)| *g).unwrap_or(0);
            if !owner_has_staging && owner_target >= generation {
                out.push(StagingOutcome::Commit { staging: name.clone(), generation });
            } else {
                let last = self.generations.get(name).copied().unwrap_or(generation);
                out.push(StagingOutcome::Abort { staging: name.clone(), generation: last + 1 });
            }
        }
        out
    }

    /// Drops the table unless a newer change to its name was applied. Returns false if there was
    /// no such table.
    pub fn drop_table(&mut self, name: &str, generation: u64) -> bool {
        if !self.tables.contains_key(name) {
            let _ = self.newer(name, generation);
            return false;
        }
        if self.newer(name, generation) {
            self.tables.remove(name);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> Arc<TableDef> {
        Arc::new(TableDef {
            name: "t".into(),
            columns: vec![
                ColumnDef { name: "id".into(), ty: SqlType::Int4, not_null: true, default: Datum::Null },
                ColumnDef { name: "v".into(), ty: SqlType::Text, not_null: false, default: Datum::Null },
            ],
            pk: vec![0],
            pk_name: "t_pkey".into(),
            oid: 16384,
        })
    }

    #[test]
    fn insert_all_is_all_or_nothing() {
        let d = def();
        let mut t = Table::new(d.clone());
        let row = |i: i32| vec![Datum::Int4(i), Datum::Text(format!("v{i}"))];
        let rows: Vec<_> = [1, 2].iter().map(|&i| (d.key_of(&row(i)), row(i))).collect();
        t.insert_all(rows).unwrap();
        let dup: Vec<_> = [3, 1].iter().map(|&i| (d.key_of(&row(i)), row(i))).collect();
        assert_eq!(t.insert_all(dup).unwrap_err(), d.key_of(&row(1)));
        assert_eq!(t.len(), 2);
        let twice: Vec<_> = [4, 4].iter().map(|&i| (d.key_of(&row(i)), row(i))).collect();
        assert!(t.insert_all(twice).is_err());
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn row_ids_key_rows_and_are_recovered_from_rows() {
        let mut d = (*def()).clone();
        d.pk = vec![];
        d.pk_name = String::new();
        let d = Arc::new(d);
        assert!(d.has_row_id());
        assert_eq!(d.row_len(), 3);
        let mut t = Table::new(d.clone());
        assert_eq!(t.next_row_id(), 1);
        let row = |id: i64| vec![Datum::Int4(1), Datum::Null, Datum::Int8(id)];
        // Two rows equal in every column differ by their row id.
        t.insert_all(vec![(d.key_of(&row(7)), row(7)), (d.key_of(&row(3)), row(3))]).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.next_row_id(), 8);
        t.put(d.key_of(&row(20)), row(20));
        assert_eq!(t.next_row_id(), 21);
        assert_ne!(d.key_of(&row(7)), d.key_of(&row(3)));
    }

    #[test]
    fn staging_tables_swap_in_and_settle_by_the_owner_catalog() {
        assert_eq!(staging_target(&staging_name("t", 12)), Some(("t", 12)));
        assert_eq!(staging_target("t"), None);
        let mut ts = Tables::new();
        assert!(ts.create(def(), 1));
        let mut staged = (*def()).clone();
        staged.name = staging_name("t", 2);
        staged.pk_name = "t_pk2".into();
        assert!(ts.create(Arc::new(staged), 2));
        // The owner has not swapped: abort.
        let owner = ts.catalog_view();
        assert!(matches!(ts.staging_outcomes(&owner).as_slice(), [StagingOutcome::Abort { .. }]));
        // The owner swapped: commit.
        let mut owner_ts = ts.clone();
        assert!(owner_ts.swap_in(&staging_name("t", 2), 2));
        assert_eq!(owner_ts.def("t").unwrap().pk_name, "t_pk2");
        assert_eq!(owner_ts.len(), 1);
        let outcomes = ts.staging_outcomes(&owner_ts.catalog_view());
        assert_eq!(outcomes, vec![StagingOutcome::Commit { staging: staging_name("t", 2), generation: 2 }]);
        // A swap older than the table's last change only removes the staging table.
        let mut older = Tables::new();
        older.create(def(), 5);
        let mut staged = (*def()).clone();
        staged.name = staging_name("t", 3);
        older.create(Arc::new(staged), 3);
        assert!(older.swap_in(&staging_name("t", 3), 3));
        assert_eq!(older.len(), 1);
        assert_eq!(older.def("t").unwrap().pk_name, "t_pkey");
    }

    #[test]
    fn catalog_changes_apply_in_generation_order() {
        let mut ts = Tables::new();
        // A drop with generation 2 arrives before the create with generation 1.
        assert!(!ts.drop_table("t", 2));
        assert!(ts.create(def(), 1));
        assert!(ts.get("t").is_none());
        assert!(ts.create(def(), 3));
        assert!(ts.get("t").is_some());
        assert!(!ts.create(def(), 4));
    }
}
