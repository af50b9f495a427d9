//! SERIALIZABLE isolation: REPEATABLE READ's snapshot plus a check at COMMIT of what the
//! transaction read (backward validation, as optimistic concurrency control does it).
//!
//! A SERIALIZABLE transaction records what it reads ([`ReadSet`]): the keys it looks up, the key
//! ranges it scans (a primary-key prefix, an index range) and the tables it reads whole. When it
//! commits having written something, every shard its reads or writes touch checks, in one step:
//! - that no commit after its snapshot changed, inserted or deleted a row it read (the table's
//!   kept row versions say when each key last changed: [`orbit_engine::table::Table`]);
//! - that no commit spanning shards has prepared a change to a row it read there and not applied
//!   it yet (such a commit may apply before this one does);
//! - that none of its own writes there falls in what another SERIALIZABLE transaction read that
//!   is between its check and its apply (a commit spanning shards, [`register`]).
//!
//! Any of these fails the COMMIT with 40001 ([`failure`]), as PostgreSQL's SSI does at commit.
//! On a shard the check and the apply of the transaction's part are one step; a commit spanning
//! shards checks each part in the step that prepares it (and checks the shards it only read in a
//! step that [`register`]s its reads there until it has applied everywhere).
//!
//! Why that is serializable: order the committed writers by the moment their commit has applied
//! everywhere (their commit point). If T read a row that U wrote, without seeing U's change,
//! T must come before U. It does: had U applied that row before T checked it, T would have seen
//! the change after its snapshot and failed; had U prepared it (spanning shards) and not yet
//! applied it, T would have failed too; and if U wrote it after T checked it, U's own check
//! (in the step that applies it, or prepares it) finds T's reads registered while T is between
//! its check and its apply — U fails — or T has already applied. Write/write conflicts are the
//! row locks' and first-updater-wins' (REPEATABLE READ's), and a snapshot sees only applied
//! commits. So every dependency goes forward in commit-point order: the updaters serialize in
//! that order. A read-only transaction needs no check: its snapshot is taken while no commit is
//! half applied (shared intents on every shard), so it is a prefix of that order, and it
//! serializes at that point. It never fails with 40001, and `DEFERRABLE` (PostgreSQL's wait
//! for a safe snapshot) has nothing to wait for: every snapshot is safe here. As in PostgreSQL,
//! the first of two conflicting writers to commit wins; a writer that has not committed holds
//! no one up.
//!
//! Where Orbit aborts more often than PostgreSQL: PostgreSQL fails a transaction only on a
//! dangerous structure (two consecutive read/write conflicts with the right commit order);
//! here one read/write conflict with a concurrent commit is enough (T read a row U changed and
//! committed after T's snapshot: T fails even if nothing depends on T). Reads are kept per key,
//! range or table (a table a scan read whole, or one past the bound below, conflicts with any
//! change to it), where PostgreSQL's predicate locks follow the index pages a scan touched.
//! Guarantees hold among SERIALIZABLE transactions, as in PostgreSQL: a READ COMMITTED or
//! REPEATABLE READ commit never fails for them (its writes are not checked against the reads
//! of SERIALIZABLE commits in progress), though a SERIALIZABLE commit fails for its changes.
//!
//! Memory: a transaction's read set holds at most [`MAX_READ_BYTES`] of keys and
//! [`MAX_RANGES`] ranges per table; past either, the table's reads are promoted to the whole
//! table (as PostgreSQL's predicate locks are promoted from tuples to pages to the relation).

use crate::error::SqlError;
use orbit_engine::table::TableDef;
use orbit_shards::rowlock::Owner;
use orbit_shards::state::Shard;
use orbit_shards::ShardId;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

/// Bytes of keys and range bounds one transaction's read set holds before tables are promoted
/// to whole-table reads.
pub const MAX_READ_BYTES: usize = 1 << 20;

/// Ranges one table's reads keep before they are promoted to the whole table.
pub const MAX_RANGES: usize = 64;

/// What a read covered, in encoded primary keys of the table (or index) it read.
#[derive(Debug, Clone)]
pub(crate) enum Read {
    /// One key (a lookup; the row may not exist).
    Key(Vec<u8>),
    /// The keys in `[from, to)` (None: unbounded above).
    Range(Vec<u8>, Option<Vec<u8>>),
    /// Every row.
    Table,
}

/// What one transaction read of one table.
#[derive(Debug, Clone, Default)]
pub(crate) struct TableReads {
    pub name: String,
    pub oid: u32,
    /// The whole table (a scan, or promoted past the bounds).
    pub whole: bool,
    pub keys: BTreeSet<Vec<u8>>,
    pub ranges: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl TableReads {
    fn bytes(&self) -> usize {
        self.keys.iter().map(|k| k.len() + 32).sum::<usize>()
            + self.ranges.iter().map(|(f, t)| f.len() + t.as_ref().map_or(0, Vec::len) + 32).sum::<usize>()
    }

    /// Whether a write at `key` falls in what was read.
    fn covers(&self, key: &[u8]) -> bool {
        self.whole
            || self.keys.contains(key)
            || self.ranges.iter().any(|(f, t)| key >= f.as_slice() && t.as_ref().is_none_or(|t| key < t.as_slice()))
    }

    /// The part of these reads a shard checks: the keys that live there, every range.
    fn on_shard(&self, shard: ShardId, n: usize) -> Option<TableReads> {
        let keys: BTreeSet<Vec<u8>> =
            self.keys.iter().filter(|k| orbit_shards::route::shard_for_row(k, n) == shard).cloned().collect();
        if !self.whole && keys.is_empty() && self.ranges.is_empty() {
            return None;
        }
        Some(TableReads {
            name: self.name.clone(),
            oid: self.oid,
            whole: self.whole,
            keys,
            ranges: self.ranges.clone(),
        })
    }
}

/// A SERIALIZABLE transaction's reads, by table name.
#[derive(Debug, Default)]
pub(crate) struct ReadSet {
    tables: BTreeMap<String, TableReads>,
    bytes: usize,
}

impl ReadSet {
    /// Notes a read of `def` (a table or an index table).
    pub(crate) fn note(&mut self, def: &TableDef, read: Read) {
        let t = self.tables.entry(def.name.clone()).or_insert_with(|| TableReads {
            name: def.name.clone(),
            oid: def.oid,
            ..TableReads::default()
        });
        if t.oid != def.oid {
            // Dropped and created again since: the new table's reads.
            self.bytes = self.bytes.saturating_sub(t.bytes());
            *t = TableReads { name: def.name.clone(), oid: def.oid, ..TableReads::default() };
        }
        if t.whole {
            return;
        }
        match read {
            Read::Table => {
                self.bytes = self.bytes.saturating_sub(t.bytes());
                promote(t);
            }
            Read::Key(k) => {
                let size = k.len() + 32;
                if t.keys.insert(k) {
                    self.bytes += size;
                }
            }
            Read::Range(f, to) => {
                if t.ranges.len() >= MAX_RANGES {
                    self.bytes = self.bytes.saturating_sub(t.bytes());
                    promote(t);
                } else {
                    self.bytes += f.len() + to.as_ref().map_or(0, Vec::len) + 32;
                    t.ranges.push((f, to));
                }
            }
        }
        if self.bytes > MAX_READ_BYTES {
            // Promote the tables holding most until the set fits again.
            let mut by_size: Vec<(usize, String)> =
                self.tables.values().filter(|t| !t.whole).map(|t| (t.bytes(), t.name.clone())).collect();
            by_size.sort_unstable_by(|a, b| b.cmp(a));
            for (size, name) in by_size {
                if self.bytes <= MAX_READ_BYTES {
                    break;
                }
                if let Some(t) = self.tables.get_mut(&name) {
                    promote(t);
                }
                self.bytes = self.bytes.saturating_sub(size);
            }
        }
    }

    /// The reads each shard checks (a key on its own shard; ranges and whole tables on all).
    pub(crate) fn per_shard(&self, n: usize) -> BTreeMap<ShardId, Vec<TableReads>> {
        let mut out: BTreeMap<ShardId, Vec<TableReads>> = BTreeMap::new();
        for shard in 0..n {
            let here: Vec<TableReads> = self.tables.values().filter_map(|t| t.on_shard(shard, n)).collect();
            if !here.is_empty() {
                out.insert(shard, here);
            }
        }
        out
    }
}

fn promote(t: &mut TableReads) {
    t.whole = true;
    t.keys.clear();
    t.ranges.clear();
}

/// The error of a commit whose reads conflict (PostgreSQL's texts).
pub(crate) fn failure() -> SqlError {
    SqlError::new("40001", "could not serialize access due to read/write dependencies among transactions")
        .detail("Reason code: Canceled on identification as a pivot, during commit attempt.")
        .hint("The transaction might succeed if retried.")
}

thread_local! {
    /// This shard's SERIALIZABLE commits between their check here and their apply everywhere:
    /// their reads on this shard. A commit writing into them fails.
    static COMMITTING: RefCell<HashMap<Owner, Vec<TableReads>>> = RefCell::new(HashMap::new());
}

/// One table's rows a commit writes on this shard.
pub(crate) struct Written<'a> {
    pub table: &'a str,
    pub oid: u32,
    pub keys: Vec<&'a [u8]>,
}

/// Whether the commit of `owner` (snapshot at `at`) must fail on this shard: something it read
/// here (`reads`) changed since its snapshot or is locked by a writer, or something it writes
/// here (`writes`) was read by a commit in progress. Runs on the shard, in the step that
/// applies or prepares the commit's part (or registers its reads).
pub(crate) fn conflicts(s: &Shard, owner: Owner, at: u64, reads: &[TableReads], writes: &[Written<'_>]) -> bool {
    for r in reads {
        let Some(t) = s.tables.get(&r.name).filter(|t| t.def.oid == r.oid) else {
            // Dropped (or created again) since it was read.
            return true;
        };
        // A snapshot whose kept versions are gone ("snapshot too old") cannot be checked: fail.
        let changed = if r.whole {
            t.changed_any_since(at).unwrap_or(true)
        } else {
            r.keys.iter().any(|k| t.changed_since(k, at).unwrap_or(true))
                || r.ranges.iter().any(|(f, to)| {
                    let hi = to.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
                    t.changed_in_since(Bound::Included(f), hi, at).unwrap_or(true)
                })
        };
        // A commit spanning shards that prepared its part here and has not applied it yet.
        let prepared = || {
            s.tables.in_doubt.prepared.iter().any(|(txid, part)| {
                *txid != owner && part.tables.iter().any(|p| p.oid == r.oid && p.rows.iter().any(|(k, _)| r.covers(k)))
            })
        };
        if changed || prepared() {
            return true;
        }
    }
    if writes.is_empty() {
        return false;
    }
    COMMITTING.with(|c| {
        c.borrow().iter().any(|(o, theirs)| {
            *o != owner
                && theirs.iter().any(|r| {
                    writes.iter().any(|w| w.oid == r.oid && w.table == r.name && w.keys.iter().any(|k| r.covers(k)))
                })
        })
    })
}

/// The shards that may keep a commit's reads ([`register`]): [`Registered::forget`] once it has
/// applied everywhere (or failed); dropped without that (the commit's task went away), the shards
/// forget them in the background, so no registration outlives its commit.
pub(crate) struct Registered {
    owner: Owner,
    shards: Vec<ShardId>,
}

impl Registered {
    pub(crate) fn new(owner: Owner) -> Registered {
        Registered { owner, shards: Vec::new() }
    }

    pub(crate) fn add(&mut self, shards: impl IntoIterator<Item = ShardId>) {
        self.shards.extend(shards);
    }

    pub(crate) async fn forget(mut self) {
        let owner = self.owner;
        for shard in std::mem::take(&mut self.shards) {
            let _ = orbit_shards::mesh::post(shard, move |_| unregister(owner)).await;
        }
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if self.shards.is_empty() {
            return;
        }
        let rest = Registered { owner: self.owner, shards: std::mem::take(&mut self.shards) };
        orbit_shards::rt::spawn(rest.forget());
    }
}

/// Keeps `owner`'s reads on this shard as those of a commit in progress, until [`unregister`].
pub(crate) fn register(owner: Owner, reads: Vec<TableReads>) {
    COMMITTING.with(|c| c.borrow_mut().insert(owner, reads));
}

/// `owner`'s commit has applied everywhere, or failed.
fn unregister(owner: Owner) {
    COMMITTING.with(|c| c.borrow_mut().remove(&owner));
}

/// `BEGIN`/`START TRANSACTION`/`SET TRANSACTION`/`SET SESSION CHARACTERISTICS`'s
/// `DEFERRABLE` and `NOT DEFERRABLE`, which sqlparser does not take, rewritten into modes it
/// does: `DEFERRABLE` becomes one `ISOLATION LEVEL SNAPSHOT`, `NOT DEFERRABLE` two (a level
/// PostgreSQL does not have, so never written by a user: a statement that names SNAPSHOT is left
/// as it is, and [`crate::bind`] rejects a parsed one as PostgreSQL's grammar does). Each
/// statement of a several-statement string is rewritten on its own. None when nothing was.
/// PostgreSQL's DEFERRABLE makes a SERIALIZABLE READ ONLY transaction wait for a safe snapshot;
/// every snapshot is safe here (module doc), so the mode is kept (SHOW transaction_deferrable)
/// and there is nothing to wait for.
pub(crate) fn deferrable_syntax(sql: &str) -> Option<String> {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize().ok()?;
    let word = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k && w.quote_style.is_none());
    let blank = |t: &Token| matches!(t, Token::Whitespace(_));
    let mut out = String::with_capacity(sql.len() + 32);
    let mut found = false;
    for statement in tokens.split(|t| matches!(t, Token::SemiColon)) {
        let mut words = statement.iter().filter(|t| !blank(t));
        let (first, second) = (words.next(), words.next());
        let modes = match (first, second) {
            (Some(f), _) if word(f, Keyword::BEGIN) || word(f, Keyword::START) => true,
            (Some(f), Some(s)) if word(f, Keyword::SET) => word(s, Keyword::TRANSACTION) || word(s, Keyword::SESSION),
            _ => false,
        };
        if modes && statement.iter().any(|t| word(t, Keyword::SNAPSHOT)) {
            return None;
        }
        let mut kept: Vec<String> = Vec::with_capacity(statement.len());
        for t in statement {
            if !(modes && word(t, Keyword::DEFERRABLE)) {
                kept.push(t.to_string());
                continue;
            }
            found = true;
            let mut i = kept.len();
            while i > 0 && kept[i - 1].trim().is_empty() {
                i -= 1;
            }
            let negated = i > 0 && kept[i - 1].eq_ignore_ascii_case("not");
            if negated {
                kept.truncate(i - 1);
                kept.push("ISOLATION LEVEL SNAPSHOT, ISOLATION LEVEL SNAPSHOT".into());
            } else {
                kept.push("ISOLATION LEVEL SNAPSHOT".into());
            }
        }
        out.extend(kept);
        out.push(';');
    }
    out.pop();
    found.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use orbit_engine::table::{ColumnDef, SqlType};

    fn def() -> TableDef {
        TableDef {
            name: "t".into(),
            oid: 7,
            columns: vec![ColumnDef::new("id", SqlType::Int4)],
            pk: vec![0],
            ..TableDef::default_empty()
        }
    }

    #[test]
    fn reads_past_the_bounds_become_whole_table_reads() {
        let mut set = ReadSet::default();
        for i in 0..MAX_RANGES {
            set.note(&def(), Read::Range(vec![i as u8], Some(vec![i as u8 + 1])));
        }
        assert!(!set.tables["t"].whole);
        assert!(set.tables["t"].covers(&[3, 9]));
        assert!(!set.tables["t"].covers(&[200]));
        set.note(&def(), Read::Range(vec![250], None));
        assert!(set.tables["t"].whole && set.tables["t"].ranges.is_empty());
        // Keys: about MAX_READ_BYTES of them, then the table.
        let mut set = ReadSet::default();
        let mut i: u64 = 0;
        while !set.tables.get("t").is_some_and(|t| t.whole) {
            set.note(&def(), Read::Key(i.to_be_bytes().to_vec()));
            i += 1;
        }
        assert!(i as usize > MAX_READ_BYTES / 64, "{i}");
        assert!(set.bytes <= MAX_READ_BYTES);
        assert!(set.tables["t"].keys.is_empty());
    }

    #[test]
    fn deferrable_becomes_a_marker_mode() {
        let one = "ISOLATION LEVEL SNAPSHOT";
        let two = "ISOLATION LEVEL SNAPSHOT, ISOLATION LEVEL SNAPSHOT";
        let cases = [
            (
                "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE",
                format!("BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY {one}"),
            ),
            ("begin read only, deferrable", format!("begin read only, {one}")),
            ("BEGIN NOT DEFERRABLE", format!("BEGIN {two}")),
            ("BEGIN DEFERRABLE, READ ONLY", format!("BEGIN {one}, READ ONLY")),
            ("SET TRANSACTION READ ONLY, NOT DEFERRABLE", format!("SET TRANSACTION READ ONLY, {two}")),
            ("select 1; begin deferrable; select 'deferrable'", format!("select 1; begin {one}; select 'deferrable'")),
        ];
        for (sql, want) in cases {
            assert_eq!(deferrable_syntax(sql).as_deref(), Some(want.as_str()), "{sql}");
        }
        assert_eq!(deferrable_syntax("SELECT 'DEFERRABLE'"), None);
        assert_eq!(deferrable_syntax("BEGIN READ ONLY"), None);
        assert_eq!(deferrable_syntax("BEGIN ISOLATION LEVEL SNAPSHOT DEFERRABLE"), None);
        assert_eq!(deferrable_syntax("SET x = deferrable"), None);
    }
}
