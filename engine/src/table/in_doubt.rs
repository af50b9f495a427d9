//! A shard's side of two-phase commit (a SQL transaction whose rows span shards): the parts
//! prepared here and not yet applied or dropped, and the COMMIT decisions this shard took as a
//! coordinator that some participant may still need. Both are rebuilt by replay (`TxnPrepare`,
//! `TxnCommit`, `TxnResolve` records) and written into snapshots, so a snapshot taken between
//! the phases loses neither. Protocol and recovery rules: docs/DURABILITY.md.

use super::Row;
use std::collections::{BTreeMap, BTreeSet};

/// One table's rows in a prepared part: encoded primary key → the row as the transaction
/// leaves it (None: deleted).
#[derive(Debug, Clone, PartialEq)]
pub struct PartTable {
    pub table: String,
    /// The table's OID when the transaction wrote it: a table dropped (and maybe created again
    /// under the same name) since is skipped when the part is applied.
    pub oid: u32,
    pub rows: Vec<(Vec<u8>, Option<Row>)>,
}

/// A participant's part of a transaction spanning shards, logged but not applied.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedPart {
    /// The shard whose log holds the transaction's decision.
    pub coordinator: u32,
    pub tables: Vec<PartTable>,
}

/// The two-phase commit state of one shard.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InDoubt {
    /// Parts prepared here, by transaction id, neither applied nor dropped yet.
    pub prepared: BTreeMap<u64, PreparedPart>,
    /// COMMIT decisions this shard logged as coordinator and still keeps (until every
    /// participant's part is durably applied). No entry: the transaction did not commit
    /// (presumed abort).
    pub decided: BTreeSet<u64>,
    /// The largest transaction id any record replayed or written here named: ids handed out
    /// after a restart start above every shard's, so a logged decision never matches a new
    /// transaction.
    pub max_txid: u64,
}

impl InDoubt {
    pub fn prepare(&mut self, txid: u64, part: PreparedPart) {
        self.note(txid);
        self.prepared.insert(txid, part);
    }

    pub fn decide(&mut self, txid: u64) {
        self.note(txid);
        self.decided.insert(txid);
    }

    /// Takes the prepared part of `txid` out (it is being applied or dropped).
    pub fn resolve(&mut self, txid: u64) -> Option<PreparedPart> {
        self.note(txid);
        self.prepared.remove(&txid)
    }

    /// Forgets the decision on `txid` (every participant applied its part durably).
    pub fn forget(&mut self, txid: u64) {
        self.decided.remove(&txid);
    }

    pub fn note(&mut self, txid: u64) {
        self.max_txid = self.max_txid.max(txid);
    }

    pub fn is_empty(&self) -> bool {
        self.prepared.is_empty() && self.decided.is_empty()
    }
}

/// The recovery rule for a part found prepared without its own resolution: it commits iff its
/// coordinator's recovered log holds the COMMIT decision (`decided(coordinator, txid)`);
/// otherwise no participant can have applied its part (parts are applied only after the
/// decision is durable), so every part is dropped.
pub fn commits(txid: u64, part: &PreparedPart, decided: impl Fn(u32, u64) -> bool) -> bool {
    decided(part.coordinator, txid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_parts_follow_their_coordinator() {
        let mut c = InDoubt::default();
        let mut p = InDoubt::default();
        let part = PreparedPart { coordinator: 0, tables: vec![] };
        c.prepare(7, part.clone());
        p.prepare(7, PreparedPart { coordinator: 0, tables: vec![] });
        let ask = |c: &InDoubt| {
            let d = c.decided.clone();
            move |shard: u32, txid: u64| shard == 0 && d.contains(&txid)
        };
        // Crash before the decision: both parts drop.
        assert!(!commits(7, &part, ask(&c)));
        c.decide(7);
        assert!(commits(7, &part, ask(&c)));
        assert_eq!(p.resolve(7), Some(part));
        assert!(p.resolve(7).is_none());
        c.forget(7);
        assert!(c.decided.is_empty());
        assert_eq!(c.max_txid, 7);
    }
}
