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
    /// Indexes into `columns` of the primary key, in key order. Never empty.
    pub pk: Vec<usize>,
    /// Name of the primary key constraint (PostgreSQL's `<table>_pkey` unless given).
    pub pk_name: String,
    /// A number unique to this definition (PostgreSQL's table OID, reported in RowDescription).
    pub oid: u32,
}

impl TableDef {
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The encoded primary key of `row`.
    pub fn key_of(&self, row: &[Datum]) -> Vec<u8> {
        key::encode(self.pk.iter().map(|&i| &row[i]))
    }
}

/// One shard's partition of a table: rows by encoded primary key.
#[derive(Debug, Clone)]
pub struct Table {
    pub def: Arc<TableDef>,
    rows: BTreeMap<Vec<u8>, Row>,
}

impl Table {
    pub fn new(def: Arc<TableDef>) -> Table {
        Table { def, rows: BTreeMap::new() }
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
            debug_assert_eq!(r.len(), self.def.columns.len());
            self.rows.insert(k, r);
        }
        Ok(())
    }

    /// Replaces (or inserts) the row at `key`.
    pub fn put(&mut self, key: Vec<u8>, row: Row) {
        debug_assert_eq!(row.len(), self.def.columns.len());
        self.rows.insert(key, row);
    }

    pub fn delete(&mut self, key: &[u8]) -> Option<Row> {
        self.rows.remove(key)
    }
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
