//! CREATE / DROP / ALTER SCHEMA ([`crate::schema`]). A schema is a catalog entry, so it is
//! created and dropped the way a table is: decided on shard 0, applied on every shard, logged
//! with the table records, and undone by ROLLBACK through the transaction's created/hidden
//! objects ([`super::undo`]). DROP SCHEMA ... CASCADE hides the schema's views (and views
//! elsewhere that read them) and tables (dropped at COMMIT, as DROP TABLE's), drops its
//! sequences keeping their rows for ROLLBACK (as DROP SEQUENCE), then hides the schema.

use super::{check_drop_tables, create_table, undo, views, QueryResult};
use crate::error::{code, Result, SqlError};
use crate::schema::{self, SchemaPlan};
use crate::txn::Txn;
use orbit_engine::table::{Datum, TableDef};
use std::sync::Arc;

pub(super) async fn run(txn: &mut Txn, plan: &SchemaPlan) -> Result<QueryResult> {
    match plan {
        SchemaPlan::Create { name, if_not_exists } => create(txn, name, *if_not_exists).await,
        SchemaPlan::Drop { names, if_exists, cascade } => drop(txn, names, *if_exists, *cascade).await,
        SchemaPlan::Rename { name, new_name } => rename(name, new_name).await,
    }
}

fn exists_error(name: &str) -> SqlError {
    SqlError::new("42P06", format!("schema \"{name}\" already exists"))
}

fn missing(name: &str) -> SqlError {
    SqlError::new("3F000", format!("schema \"{name}\" does not exist"))
}

async fn create(txn: &mut Txn, name: &str, if_not_exists: bool) -> Result<QueryResult> {
    let mut r = QueryResult { tag: "CREATE SCHEMA".into(), ..Default::default() };
    let skip = |mut r: QueryResult| {
        r.notices.push(SqlError::new("42P06", format!("schema \"{name}\" already exists, skipping")));
        r
    };
    if schema::BUILT_IN.iter().any(|(_, n)| *n == name) {
        return if if_not_exists { Ok(skip(r)) } else { Err(exists_error(name)) };
    }
    let def = TableDef { name: schema::entry(name), ..TableDef::default_empty() };
    // Shard 0 decides: a schema that exists there (created meanwhile too) is a notice or 42P06.
    let made = create_table(def, true).await?;
    if !made.notices.is_empty() {
        return if if_not_exists { Ok(skip(r)) } else { Err(exists_error(name)) };
    }
    if let Some(d) = crate::bind::lookup_table(&schema::entry(name)) {
        txn.created.push(undo::Created::Relation { name: d.name.clone(), oid: d.oid, view: false });
    }
    r.notices.clear();
    Ok(r)
}

/// What a schema holds, in the order PostgreSQL reports it (by creation: OID order; sequences
/// made by CREATE SEQUENCE, read from their rows, after them by name): the object's kind and
/// catalog name.
async fn contents(name: &str) -> Result<Vec<(&'static str, String)>> {
    let prefix = format!("{name}.");
    let mut rels: Vec<Arc<TableDef>> =
        crate::catalog::user_tables().into_iter().filter(|d| d.name.starts_with(&prefix)).collect();
    rels.sort_by_key(|d| d.oid);
    let mut out: Vec<(&'static str, String)> = rels.iter().map(|d| (views::kind(d), d.name.clone())).collect();
    // Indexes of tables elsewhere (CREATE INDEX names them in the table's schema, so only a
    // crash could leave one) and free-standing sequences.
    let mut seqs: Vec<String> = crate::catalog::sequence_rows()
        .await?
        .into_iter()
        .filter(|r| r.get(8).is_none_or(|o| o.is_null()))
        .filter_map(|r| match r.first() {
            Some(Datum::Text(n)) if n.starts_with(&prefix) => Some(n.clone()),
            _ => None,
        })
        .collect();
    seqs.sort();
    out.extend(seqs.into_iter().map(|s| ("sequence", s)));
    Ok(out)
}

use schema::shown;

async fn drop(txn: &mut Txn, names: &[String], if_exists: bool, cascade: bool) -> Result<QueryResult> {
    let mut r = QueryResult { tag: "DROP SCHEMA".into(), ..Default::default() };
    // PostgreSQL checks every name before dropping anything.
    let mut present = Vec::new();
    for n in names {
        match n.as_str() {
            "pg_catalog" | "information_schema" => {
                return Err(SqlError::new(
                    code::DEPENDENT_OBJECTS_STILL_EXIST,
                    format!("cannot drop schema {n} because it is required by the database system"),
                ))
            }
            schema::PUBLIC => return Err(SqlError::unsupported("DROP SCHEMA public is not supported")),
            _ => {}
        }
        match crate::bind::lookup_table(&schema::entry(n)) {
            Some(d) => {
                if !present.iter().any(|p: &Arc<TableDef>| p.name == d.name) {
                    present.push(d)
                }
            }
            None if if_exists => {
                r.notices.push(SqlError::new("00000", format!("schema \"{n}\" does not exist, skipping")))
            }
            None => return Err(missing(n)),
        }
    }
    let mut objects = Vec::new();
    for d in &present {
        let n = &d.name[schema::MARK.len_utf8()..];
        objects.extend(contents(n).await?.into_iter().map(|(k, o)| (k, o, n.to_string())));
    }
    // A partition hierarchy goes whole with its root: a partition is no object of its own in
    // the listing (PostgreSQL drops it with its table, unlisted). One that crosses the schemas'
    // edge would leave a partition without its root, or rows of a dropped partition in a root
    // that stays: not built.
    let members: Vec<String> = objects.iter().map(|o| o.1.clone()).collect();
    let mut partitions: Vec<String> = Vec::new();
    for o in &objects {
        let Some(def) = crate::bind::lookup_table(&o.1) else { continue };
        let crosses = (def.partition_of.is_some() && !members.contains(&crate::partitions::root(&def).name))
            || (def.partition_key.is_some()
                && crate::partitions::descendants(&def.name).iter().any(|d| !members.contains(&d.name)));
        if crosses {
            return Err(crate::partitions::unsupported(
                "DROP SCHEMA of a schema holding part of a partition hierarchy that reaches other schemas",
            ));
        }
        if def.partition_of.is_some() {
            partitions.push(o.1.clone());
        }
    }
    // Views elsewhere that read the schema's tables and views go with them under CASCADE
    // (PostgreSQL's cascade reaches them too).
    let relations: Vec<String> = objects.iter().filter(|o| o.0 != "sequence").map(|o| o.1.clone()).collect();
    let dependents = views::dependents(&relations);
    let outside: Vec<String> = dependents.iter().map(|v| v.name.clone()).collect();
    // Each outside view right after the first object it reads, with what it depends on, as
    // PostgreSQL lists them: (kind, name, what it depends on).
    let mut listed: Vec<(&str, String, String)> = Vec::new();
    for (k, o, s) in objects.iter().filter(|o| !partitions.contains(&o.1)) {
        listed.push((*k, o.clone(), format!("schema {s}")));
        let mut i = listed.len() - 1;
        while i < listed.len() {
            let read = listed[i].1.clone();
            let kind = listed[i].0;
            for v in &dependents {
                if !listed.iter().any(|l| l.1 == v.name) && views::reads(v).contains(&read) {
                    listed.push((views::kind(v), v.name.clone(), format!("{kind} {}", shown(&read))));
                }
            }
            i += 1;
        }
    }
    // Domains in the schemas: depend on it as in PostgreSQL; dropping them with it under
    // CASCADE is not built (0A000), rather than leaving them without their schema.
    let schemas: Vec<&str> = present.iter().map(|d| &d.name[schema::MARK.len_utf8()..]).collect();
    let domains: Vec<String> = crate::domains::all_seen_by(None)
        .iter()
        .filter(|d| schemas.contains(&schema::split(&d.name).0))
        .map(|d| d.name.clone())
        .collect();
    // SQL functions: dropped with it under CASCADE (nothing else keeps a dependency on one).
    let in_schemas: Vec<Arc<crate::functions_sql::SqlFunction>> = crate::functions_sql::all_seen_by(None)
        .into_iter()
        .filter(|f| schemas.contains(&schema::split(&f.name).0))
        .collect();
    let functions: Vec<String> = in_schemas
        .iter()
        .map(|f| {
            format!(
                "function {}.{} depends on schema {}",
                schema::split(&f.name).0,
                {
                    let s = f.signature();
                    s.rsplit_once('.').map_or(s.clone(), |(_, x)| x.to_string())
                },
                schema::split(&f.name).0
            )
        })
        .collect();
    if !domains.is_empty() || (!functions.is_empty() && !cascade) {
        if cascade {
            return Err(SqlError::unsupported(
                "DROP SCHEMA ... CASCADE of a schema holding domains is not supported yet (drop them first)",
            ));
        }
        let mut detail: Vec<String> =
            listed.iter().map(|(k, o, on)| format!("{k} {} depends on {on}", shown(o))).collect();
        detail.extend(
            domains
                .iter()
                .map(|d| format!("type {} depends on schema {}", crate::enums::display_name(d), schema::split(d).0)),
        );
        detail.extend(functions);
        return Err(SqlError::new(
            code::DEPENDENT_OBJECTS_STILL_EXIST,
            format!("cannot drop schema {} because other objects depend on it", names.join(", ")),
        )
        .detail(detail.join("\n"))
        .hint("Use DROP ... CASCADE to drop the dependent objects too."));
    }
    // Under CASCADE the functions are listed and dropped with the relations.
    let function_lines: Vec<String> = in_schemas
        .iter()
        .map(|f| {
            let s = f.signature();
            let bare = s.rsplit_once('.').map_or(s.clone(), |(_, x)| x.to_string());
            // (PostgreSQL 15 says `function` of a procedure here too.)
            format!("drop cascades to function {}.{bare}", schema::split(&f.name).0)
        })
        .collect();
    if !objects.is_empty() || !function_lines.is_empty() {
        if !cascade {
            let detail: Vec<String> =
                listed.iter().map(|(k, o, on)| format!("{k} {} depends on {on}", shown(o))).collect();
            return Err(SqlError::new(
                code::DEPENDENT_OBJECTS_STILL_EXIST,
                format!("cannot drop schema {} because other objects depend on it", names.join(", ")),
            )
            .detail(detail.join("\n"))
            .hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        let mut lines: Vec<String> =
            listed.iter().map(|(k, o, _)| format!("drop cascades to {k} {}", shown(o))).collect();
        lines.extend(function_lines);
        r.notices.push(match lines.as_slice() {
            [one] => SqlError::new("00000", one.clone()),
            _ => SqlError::new("00000", format!("drop cascades to {} other objects", lines.len()))
                .detail(lines.join("\n")),
        });
    }
    let of = |kind: &str| -> Vec<String> { objects.iter().filter(|o| o.0 == kind).map(|o| o.1.clone()).collect() };
    let (view_names, seq_names) = (of("view"), of("sequence"));
    // A materialized view goes as a table does (rows, indexes).
    let table_names: Vec<String> = of("table").into_iter().chain(of("materialized view")).collect();
    // Views first (those reading others before them), hidden until COMMIT like the tables.
    let views: Vec<Arc<TableDef>> =
        outside.iter().rev().chain(&view_names).filter_map(|n| crate::bind::lookup_table(n)).collect();
    if !views.is_empty() {
        super::triggers::drop_of_tables(txn, &views).await?;
        undo::drop_at_commit(txn, &views).await?;
    }
    if !table_names.is_empty() {
        let (_, tables) = check_drop_tables(&table_names, true, None).await?;
        super::triggers::drop_of_tables(txn, &tables).await?;
        undo::drop_at_commit(txn, &tables).await?;
    }
    for f in &in_schemas {
        super::functions::drop_one(txn, f).await?;
    }
    if !seq_names.is_empty() {
        // Their rows are kept for ROLLBACK, as DROP SEQUENCE's.
        let mut kept = Vec::new();
        if !txn.alone {
            for n in &seq_names {
                kept.extend(crate::sequence::row_of(n).await?.map(|row| undo::Created::DroppedSequence { row }));
            }
        }
        crate::sequence::drop(&seq_names).await?;
        undo::keep(txn, kept)?;
    }
    undo::drop_at_commit(txn, &present).await?;
    Ok(r)
}

/// ALTER SCHEMA ... RENAME TO: the relations of a schema carry its name in their catalog
/// names, index names, sequence rows and SQL texts, so only a schema that holds nothing is
/// renamed yet.
async fn rename(name: &str, new_name: &str) -> Result<QueryResult> {
    if schema::BUILT_IN.iter().any(|(_, n)| *n == name) {
        return Err(SqlError::unsupported(format!("ALTER SCHEMA {name} is not supported")));
    }
    let Some(def) = crate::bind::lookup_table(&schema::entry(name)) else { return Err(missing(name)) };
    if schema::exists(new_name) {
        return Err(exists_error(new_name));
    }
    if !contents(name).await?.is_empty() {
        return Err(SqlError::unsupported(format!(
            "ALTER SCHEMA ... RENAME TO of schema \"{name}\", which holds relations, is not supported yet"
        )));
    }
    super::rename::rename_everywhere(&def, &schema::entry(new_name)).await.map_err(|e| match e.code {
        code::DUPLICATE_TABLE => exists_error(new_name),
        _ => e,
    })?;
    Ok(QueryResult { tag: "ALTER SCHEMA".into(), ..Default::default() })
}
