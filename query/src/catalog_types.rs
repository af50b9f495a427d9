//! The types Orbit keeps as catalog entries — enum types ([`crate::enums`]) and domains
//! ([`crate::domains`]) — found the one way: a [`TableDef`] named `<mark><type>` on every
//! shard, whose type OID is its first relation OID (an empty `pk_name`) or the OID `pk_name`
//! holds once a later definition was swapped in.
//!
//! A [`Registry`] per kind finds a type by OID in the local shard's catalog copy through a
//! per-thread cache (each hit checked against the entry's relation OID, which every new
//! definition changes), by name as the binder sees the catalog, and along the search path; it
//! keeps the last definition any thread read in a process-wide map for threads whose shard
//! state is borrowed further up when a value is printed or checked. The DDL side (create,
//! swap, rename, drop of an entry) is `exec/catalog_types.rs`.

use orbit_engine::table::{TableDef, Tables};
use orbit_shards::rowlock::Owner;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::thread::LocalKey;

/// A kind of type kept as a catalog entry.
pub trait CatalogType: Sized + PartialEq + Send + Sync + 'static {
    /// The first character of its entries' names (a control character: no name a client
    /// writes).
    const MARK: char;

    /// The type a catalog entry describes (None for another entry).
    fn of_def(def: &TableDef) -> Option<Self>;

    /// Its type OID.
    fn oid(&self) -> u32;
}

/// The definitions of the catalog entries whose names start with `prefix`, as the binder sees
/// the catalog (not another open block's creations, nor what a DROP hides), in name order.
pub fn bound_with_prefix(prefix: &str) -> Vec<Arc<TableDef>> {
    let names: Vec<String> = orbit_shards::state::try_with_shard(|s| {
        s.tables
            .names_from(prefix)
            .take_while(|n| n.starts_with(prefix))
            .filter(|n| !n.contains(crate::exec::undo::HIDDEN))
            .cloned()
            .collect()
    })
    .unwrap_or_default();
    names.iter().filter_map(|n| crate::bind::lookup_table(n)).collect()
}

/// The definitions of the entries whose names start with `prefix` in the local shard's
/// catalog copy (what a DROP hides left out); None while the shard's state is borrowed.
pub fn local_with_prefix(prefix: &str) -> Option<Vec<Arc<TableDef>>> {
    orbit_shards::state::try_with_shard(|s| {
        s.tables
            .names_from(prefix)
            .take_while(|n| n.starts_with(prefix))
            .filter(|n| !n.contains(crate::exec::undo::HIDDEN))
            .filter_map(|n| s.tables.def(n))
            .collect()
    })
}

/// The catalog entry of type `name` (its catalog name) of kind `T`.
pub fn entry<T: CatalogType>(name: &str) -> String {
    format!("{}{name}", T::MARK)
}

/// Whether a catalog name is an entry of kind `T`.
pub fn is_entry<T: CatalogType>(name: &str) -> bool {
    name.starts_with(T::MARK)
}

/// The OID of the type a catalog entry describes: `pk_name` once written down, else the
/// entry's relation OID (its first definition).
pub fn type_oid(def: &TableDef) -> Option<u32> {
    if def.pk_name.is_empty() {
        Some(def.oid)
    } else {
        def.pk_name.parse().ok()
    }
}

/// One type in a thread's cache: the entry it was read from, and what the kind keeps beside
/// it (a domain's bound CHECKs).
pub struct Cached<T, X> {
    entry: String,
    rel_oid: u32,
    pub ty: Arc<T>,
    pub extra: Option<X>,
}

/// A thread's cache of a kind's types by OID.
pub type Cache<T, X> = RefCell<HashMap<u32, Cached<T, X>>>;

/// Where a kind's types are found (see the module comment).
pub struct Registry<T: CatalogType, X: 'static> {
    cache: &'static LocalKey<Cache<T, X>>,
    /// The most types a thread keeps (the cache starts over past it).
    max_cached: usize,
    last: RwLock<BTreeMap<u32, Arc<T>>>,
}

impl<T: CatalogType, X: Clone + 'static> Registry<T, X> {
    pub const fn new(cache: &'static LocalKey<Cache<T, X>>, max_cached: usize) -> Self {
        Registry { cache, max_cached, last: RwLock::new(BTreeMap::new()) }
    }

    fn remember(&self, ty: &Arc<T>) {
        if let Ok(mut r) = self.last.write() {
            if r.get(&ty.oid()).is_none_or(|t| **t != **ty) {
                r.insert(ty.oid(), ty.clone());
            }
        }
    }

    /// Puts `ty`, read from entry `def`, in this thread's cache with `extra`.
    pub fn cache(&self, def_name: &str, rel_oid: u32, ty: Arc<T>, extra: Option<X>) {
        self.cache.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() >= self.max_cached {
                c.clear();
            }
            c.insert(ty.oid(), Cached { entry: def_name.to_string(), rel_oid, ty, extra });
        });
    }

    /// What this thread's cache keeps beside type `oid`, while `rel_oid` is its definition's.
    pub fn extra(&self, oid: u32, rel_oid: u32) -> Option<X> {
        self.cache.with(|c| c.borrow().get(&oid).filter(|e| e.rel_oid == rel_oid).and_then(|e| e.extra.clone()))
    }

    /// Type `oid` in a shard's catalog copy.
    fn find_in(&self, tables: &Tables, oid: u32) -> Option<Arc<T>> {
        let hit = self.cache.with(|c| {
            let c = c.borrow();
            let e = c.get(&oid)?;
            (tables.def(&e.entry)?.oid == e.rel_oid).then(|| e.ty.clone())
        });
        if hit.is_some() {
            return hit;
        }
        let def = tables
            .names()
            .filter(|n| is_entry::<T>(n) && !n.contains(crate::exec::undo::HIDDEN))
            .filter_map(|n| tables.def(n))
            .find(|d| T::of_def(d).is_some_and(|t| t.oid() == oid))?;
        let ty = Arc::new(T::of_def(&def)?);
        self.cache(&def.name, def.oid, ty.clone(), None);
        self.remember(&ty);
        Some(ty)
    }

    /// Type `oid`: from the local shard's catalog copy, or where that is borrowed further up,
    /// from the process-wide copy every look-up refreshes.
    pub fn by_oid(&self, oid: u32) -> Option<Arc<T>> {
        match orbit_shards::state::try_with_shard(|s| self.find_in(&s.tables, oid)) {
            Some(found) => found,
            None => self.last.read().ok()?.get(&oid).cloned(),
        }
    }

    /// The type of catalog name `name`, as the binder sees the catalog (not another open
    /// block's creation).
    pub fn lookup_name(&self, name: &str) -> Option<Arc<T>> {
        // Off a shard thread (a unit test's parse) there is no catalog to hold one; borrowed
        // further up, the catalog cannot be read here either.
        orbit_shards::state::try_with_shard(|_| ())?;
        let def = crate::bind::lookup_table(&entry::<T>(name))?;
        let ty = Arc::new(T::of_def(&def)?);
        self.remember(&ty);
        Some(ty)
    }

    /// The type a (possibly schema-qualified) type name names, along the search path.
    pub fn resolve(&self, parts: &[String]) -> Option<Arc<T>> {
        match parts {
            [rel] => crate::schema::path().iter().find_map(|s| self.lookup_name(&crate::schema::qualify(s, rel))),
            [schema, rel] => self.lookup_name(&crate::schema::qualify(schema, rel)),
            _ => None,
        }
    }

    /// Every type of the kind in this shard's catalog copy, in OID order; those another open
    /// block created are left out for transaction `me`.
    pub fn all_seen_by(&self, me: Option<Owner>) -> Vec<Arc<T>> {
        let mut out: Vec<Arc<T>> = orbit_shards::state::with_shard(|s| {
            s.tables
                .names()
                .filter(|n| is_entry::<T>(n) && !n.contains(crate::exec::undo::HIDDEN))
                .filter(|n| me.is_none_or(|me| s.tables.get(n).is_none_or(|t| t.created_by.is_none_or(|o| o == me))))
                .filter_map(|n| s.tables.def(n))
                .filter_map(|d| T::of_def(&d).map(Arc::new))
                .collect()
        });
        out.sort_by_key(|t| t.oid());
        out
    }
}
