//! CREATE TABLE ... PARTITION BY and CREATE TABLE ... PARTITION OF: the key and the bound
//! checked as PostgreSQL's transformPartitionSpec / transformPartitionBound /
//! check_new_partition_bound check them, with their messages (`crate::partitions` says how
//! partitions are kept).

use super::{fold_ident, lookup_table, Binder, Plan};
use crate::error::{code, Result, SqlError};
use crate::expr::{self, Ctx};
use crate::partitions::{self as parts, Key, Strategy};
use crate::types::CastContext;
use orbit_engine::table::{Datum, PartitionOf, SqlType, TableDef};
use sqlparser::ast;
use sqlparser::ast::Spanned;
use std::cmp::Ordering;

/// A bound value: a key column's value, or MINVALUE / MAXVALUE.
#[derive(Clone, Debug)]
enum Bound {
    Min,
    Value(Datum),
    Max,
}

fn cmp_bound(a: &Bound, b: &Bound) -> Ordering {
    match (a, b) {
        (Bound::Min, Bound::Min) | (Bound::Max, Bound::Max) => Ordering::Equal,
        (Bound::Min, _) | (_, Bound::Max) => Ordering::Less,
        (_, Bound::Min) | (Bound::Max, _) => Ordering::Greater,
        (Bound::Value(x), Bound::Value(y)) => expr::compare(x, y).unwrap_or(Ordering::Equal),
    }
}

fn cmp_bounds(a: &[Bound], b: &[Bound]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = cmp_bound(x, y);
        if o != Ordering::Equal {
            return o;
        }
        // After MINVALUE / MAXVALUE the rest does not count.
        if !matches!(x, Bound::Value(_)) {
            return Ordering::Equal;
        }
    }
    Ordering::Equal
}

/// A value as PostgreSQL's get_const_expr prints a partition bound's (no type shown): a
/// non-negative number bare, anything else a quoted literal.
fn literal(d: &Datum) -> String {
    match d {
        Datum::Null => "NULL".into(),
        Datum::Bool(b) => b.to_string(),
        Datum::Int2(_) | Datum::Int4(_) | Datum::Int8(_) | Datum::Numeric(_) => {
            let t = crate::types::to_text(d).unwrap_or_default();
            if t.starts_with('-') || t == "NaN" {
                format!("'{t}'")
            } else {
                t
            }
        }
        _ => format!("'{}'", crate::types::to_text(d).unwrap_or_default().replace('\'', "''")),
    }
}

fn bound_text(b: &[Bound]) -> String {
    let items: Vec<String> = b
        .iter()
        .map(|x| match x {
            Bound::Min => "MINVALUE".into(),
            Bound::Max => "MAXVALUE".into(),
            Bound::Value(d) => literal(d),
        })
        .collect();
    format!("({})", items.join(", "))
}

/// The bound's values as they were kept (`crate::partitions::parse_bound` of the text).
enum Parsed {
    Range(Vec<Bound>, Vec<Bound>),
    List(Vec<Datum>),
    Default,
}

impl Binder<'_> {
    /// `PARTITION BY RANGE | LIST (columns)` of a new table whose columns are `columns`.
    pub(super) fn partition_key(&mut self, by: &ast::Expr, def: &TableDef) -> Result<Key> {
        let ast::Expr::Function(f) = by else { return Err(SqlError::syntax(&by.to_string())) };
        let strategy = match f.name.to_string().to_ascii_lowercase().as_str() {
            "range" => Strategy::Range,
            "list" => Strategy::List,
            "hash" => Strategy::Hash,
            other => {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("unrecognized partitioning strategy \"{other}\""),
                ))
            }
        };
        let ast::FunctionArguments::List(list) = &f.args else { return Err(SqlError::syntax(&by.to_string())) };
        let mut columns = Vec::new();
        for a in &list.args {
            let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = a else {
                return Err(SqlError::syntax(&a.to_string()));
            };
            let inner = match e {
                ast::Expr::Nested(inner) => inner.as_ref(),
                e => e,
            };
            let (element, ty) = match inner {
                ast::Expr::Identifier(id) => {
                    let name = fold_ident(id);
                    let Some(column) = def.columns.iter().find(|c| c.name == name) else {
                        return Err(SqlError::new(
                            code::UNDEFINED_COLUMN,
                            format!("column \"{name}\" named in partition key does not exist"),
                        )
                        .at(self.pos(&id.span)));
                    };
                    (crate::regtypes::quote_ident(&name), column.ty)
                }
                e => {
                    // An expression over the row: bound to check it, kept as PostgreSQL prints it.
                    let mut reads = false;
                    let _ = ast::visit_expressions(e, |x| {
                        reads |= matches!(x, ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_));
                        std::ops::ControlFlow::<()>::Continue(())
                    });
                    if !reads {
                        return Err(SqlError::new("42P17", "cannot use constant expression as partition key"));
                    }
                    let ty = self.key_type(def, &e.to_string())?;
                    let shown = super::index_exprs::pg_text(def, &e.to_string(), false);
                    let element = if matches!(e, ast::Expr::Function(_)) { shown } else { format!("({shown})") };
                    (element, ty)
                }
            };
            if strategy == Strategy::Hash && !parts::hash::supported(ty) {
                return Err(parts::unsupported(&format!("HASH partitioning on a key of type {}", ty.name())));
            }
            columns.push(element);
        }
        if strategy == Strategy::List && columns.len() != 1 {
            return Err(SqlError::new("42P17", "cannot use \"list\" partition strategy with more than one column"));
        }
        // A unique constraint must cover the key (each partition's uniqueness is the whole's).
        let mut keys: Vec<(&str, Vec<usize>)> = Vec::new();
        if !def.pk.is_empty() {
            keys.push(("PRIMARY KEY", def.pk.clone()));
        }
        for ix in def.indexes.iter().filter(|i| i.unique) {
            keys.push(("UNIQUE", ix.columns.clone()));
        }
        for (what, cols) in keys {
            if columns.iter().any(|c| parts::key_column(c).is_none()) {
                return Err(SqlError::new(
                    code::FEATURE_NOT_SUPPORTED,
                    format!("unsupported {what} constraint with partition key definition"),
                )
                .detail(format!("{what} constraints cannot be used when partition keys include expressions.")));
            }
            let missing = columns
                .iter()
                .filter_map(|c| parts::key_column(c))
                .find(|c| !cols.iter().any(|&i| def.columns.get(i).is_some_and(|d| &d.name == c)));
            if let Some(missing) = missing {
                return Err(SqlError::new(
                    code::FEATURE_NOT_SUPPORTED,
                    "unique constraint on partitioned table must include all partitioning columns",
                )
                .detail(format!(
                    "{what} constraint on table \"{}\" lacks column \"{missing}\" which is part of the partition key.",
                    crate::schema::relname(&def.name)
                )));
            }
        }
        Ok(Key { strategy, columns })
    }

    /// CREATE TABLE name PARTITION OF parent FOR VALUES ... | DEFAULT [PARTITION BY ...].
    pub(super) fn create_partition(&mut self, ct: &ast::CreateTable, name: String) -> Result<Plan> {
        let parent_name = ct.partition_of.as_ref().expect("PARTITION OF");
        if lookup_table(&name).is_some() {
            let message = format!("relation \"{}\" already exists", crate::schema::relname(&name));
            if ct.if_not_exists {
                return Ok(Plan::Skipped { tag: "CREATE TABLE", notice: format!("{message}, skipping") });
            }
            return Err(SqlError::new(code::DUPLICATE_TABLE, message));
        }
        let (pname, parent) = self.resolve_table(parent_name)?;
        let Some(key) = parts::key(&parent) else {
            return Err(SqlError::new(
                code::WRONG_OBJECT_TYPE,
                format!("\"{}\" is not partitioned", crate::schema::relname(&pname)),
            ));
        };
        if !ct.columns.is_empty() || !ct.constraints.is_empty() {
            return Err(parts::unsupported("column definitions or constraints of a partition"));
        }
        let Some(for_values) = &ct.for_values else { return Err(SqlError::syntax("PARTITION")) };
        let rel = crate::schema::relname(&name).to_string();
        let siblings = parts::children(&parent.name);
        let bound = self.new_bound(&parent, &key, for_values, &rel, &siblings)?;
        let mut def = TableDef {
            name,
            columns: parent
                .columns
                .iter()
                .map(|c| {
                    let mut c = c.clone();
                    // The root computes DEFAULTs, identities and generated columns as rows go in.
                    c.identity = orbit_engine::table::Identity::No;
                    c
                })
                .collect(),
            partition_of: Some(Box::new(PartitionOf { parent: parent.name.clone(), bound })),
            ..TableDef::default_empty()
        };
        if let Some(by) = &ct.partition_by {
            def.partition_key = Some(self.partition_key(by, &def)?.text());
        }
        let root = parts::root(&parent);
        def.view = Some(format!("SELECT * FROM {}", parts::sql_name(&root.name)));
        // Rows of a DEFAULT sibling that the new bound takes would change partition.
        let probe = TableDef { oid: u32::MAX, ..def.clone() };
        let checks = default_check(&parent, &probe, &siblings, &root).into_iter().collect();
        Ok(Plan::CreatePartition { def, checks, session: super::binding_session() })
    }

    /// A new partition's bound (`FOR VALUES ...` as pg_get_expr prints it, or `DEFAULT`), checked
    /// against the key and the siblings' bounds as check_new_partition_bound checks it.
    fn new_bound(
        &mut self,
        parent: &TableDef,
        key: &Key,
        for_values: &ast::ForValues,
        rel: &str,
        siblings: &[std::sync::Arc<TableDef>],
    ) -> Result<String> {
        let overlap = |other: &TableDef| {
            SqlError::new(
                "42P17",
                format!("partition \"{rel}\" would overlap partition \"{}\"", crate::schema::relname(&other.name)),
            )
        };
        Ok(match (for_values, key.strategy) {
            (ast::ForValues::Default, Strategy::Hash) => {
                return Err(SqlError::new("42P16", "a hash-partitioned table may not have a default partition"));
            }
            (ast::ForValues::With { modulus, remainder }, Strategy::Hash) => {
                hash_bound(*modulus, *remainder, siblings, rel)?;
                format!("FOR VALUES WITH (modulus {modulus}, remainder {remainder})")
            }
            (_, Strategy::Hash) => {
                return Err(SqlError::new("42P16", "invalid bound specification for a hash partition"));
            }
            (ast::ForValues::Default, _) => {
                if let Some(d) = siblings.iter().find(|s| s.partition_of.as_ref().is_some_and(|p| p.bound == "DEFAULT"))
                {
                    return Err(SqlError::new(
                        "42P17",
                        format!(
                            "partition \"{rel}\" conflicts with existing default partition \"{}\"",
                            crate::schema::relname(&d.name)
                        ),
                    ));
                }
                "DEFAULT".to_string()
            }
            (ast::ForValues::In(values), Strategy::List) => {
                let ty = self.key_type(parent, &key.columns[0])?;
                let mut out: Vec<Datum> = Vec::new();
                for v in values {
                    let d = self.bound_value(v, &key.columns[0], ty)?;
                    if !out.iter().any(|x| same(x, &d)) {
                        out.push(d);
                    }
                }
                for s in siblings {
                    if let Some(Parsed::List(theirs)) = self.parsed(parent, s, key) {
                        if let Some(i) = out.iter().position(|d| theirs.iter().any(|t| same(t, d))) {
                            // PostgreSQL points at the value (the first one written so).
                            let at = values.iter().position(|v| {
                                self.bound_value(v, &key.columns[0], ty).is_ok_and(|d| same(&d, &out[i]))
                            });
                            let span = at.map(|j| values[j].span());
                            let mut e = overlap(s);
                            if let Some(span) = span {
                                e = e.at(self.pos(&span));
                            }
                            return Err(e);
                        }
                    }
                }
                let items: Vec<String> = out.iter().map(literal).collect();
                format!("FOR VALUES IN ({})", items.join(", "))
            }
            (ast::ForValues::From { from, to }, Strategy::Range) => {
                let lower = self.range_values(from, parent, key, "FROM")?;
                // Errors about the range point at its first lower bound datum.
                let at = match from.first() {
                    Some(ast::PartitionBoundValue::Expr(e)) => Some(self.pos(&e.span())),
                    _ => None,
                };
                let placed = |e: SqlError| match at {
                    Some(p) => e.at(p),
                    None => e,
                };
                let upper = self.range_values(to, parent, key, "TO")?;
                if cmp_bounds(&lower, &upper) != Ordering::Less {
                    return Err(placed(
                        SqlError::new("42P17", format!("empty range bound specified for partition \"{rel}\"")).detail(
                            format!(
                                "Specified lower bound {} is greater than or equal to upper bound {}.",
                                bound_text(&lower),
                                bound_text(&upper)
                            ),
                        ),
                    ));
                }
                for s in siblings {
                    if let Some(Parsed::Range(lo, hi)) = self.parsed(parent, s, key) {
                        if cmp_bounds(&lower, &hi) == Ordering::Less && cmp_bounds(&lo, &upper) == Ordering::Less {
                            return Err(placed(overlap(s)));
                        }
                    }
                }
                format!("FOR VALUES FROM {} TO {}", bound_text(&lower), bound_text(&upper))
            }
            (_, Strategy::List) => {
                return Err(SqlError::new("42P16", "invalid bound specification for a list partition"));
            }
            (_, Strategy::Range) => {
                return Err(SqlError::new("42P16", "invalid bound specification for a range partition"));
            }
        })
    }

    /// ALTER TABLE parent ATTACH PARTITION t FOR VALUES ... | DEFAULT: t's rows, checked to fit
    /// the bound, move into the root's storage and t becomes the partition — as statement steps
    /// (t renamed aside, the partition created under its name, the rows inserted through the
    /// root, the renamed table dropped), all or none. t's own indexes and constraints go with it.
    pub(super) fn attach_partition(
        &mut self,
        at: &ast::AlterTable,
        partition: &ast::ObjectName,
        for_values: &ast::ForValues,
    ) -> Result<Plan> {
        let (pname, parent) = self.resolve_table(&at.name)?;
        let Some(key) = parts::key(&parent) else {
            return Err(SqlError::new(
                "42P17",
                format!("table \"{}\" is not partitioned", crate::schema::relname(&pname)),
            ));
        };
        let (tname, table) = self.resolve_table(partition)?;
        let rel = crate::schema::relname(&tname).to_string();
        if table.partition_of.is_some() {
            return Err(SqlError::new(code::WRONG_OBJECT_TYPE, format!("\"{rel}\" is already a partition")));
        }
        if table.partition_key.is_some() {
            return Err(parts::unsupported("ATTACH PARTITION of a partitioned table"));
        }
        if table.matview.is_some() || table.view.is_some() {
            return Err(SqlError::new(code::WRONG_OBJECT_TYPE, format!("\"{rel}\" is not a table")));
        }
        // MergeAttributesIntoExisting's column checks.
        let parent_rel = crate::schema::relname(&pname);
        for c in &table.columns {
            match parent.columns.iter().find(|p| p.name == c.name) {
                None => {
                    return Err(SqlError::new(
                        code::DATATYPE_MISMATCH,
                        format!("table \"{rel}\" contains column \"{}\" not found in parent \"{parent_rel}\"", c.name),
                    )
                    .detail("The new partition may contain only the columns present in parent."));
                }
                Some(p) if p.ty != c.ty => {
                    return Err(SqlError::new(
                        code::DATATYPE_MISMATCH,
                        format!("child table \"{rel}\" has different type for column \"{}\"", c.name),
                    ));
                }
                Some(_) => {}
            }
        }
        if let Some(p) = parent.columns.iter().find(|p| !table.columns.iter().any(|c| c.name == p.name)) {
            return Err(SqlError::new(
                code::DATATYPE_MISMATCH,
                format!("child table is missing column \"{}\"", p.name),
            ));
        }
        // MergeConstraintsIntoExisting: the parent's CHECK constraints, by name and definition.
        for c in &parent.checks {
            match table.checks.iter().find(|t| t.name == c.name) {
                None => {
                    return Err(SqlError::new(
                        code::DATATYPE_MISMATCH,
                        format!("child table is missing constraint \"{}\"", c.name),
                    ));
                }
                Some(t) if t.expr != c.expr => {
                    return Err(SqlError::new(
                        code::DATATYPE_MISMATCH,
                        format!("child table \"{rel}\" has different definition for check constraint \"{}\"", c.name),
                    ));
                }
                Some(_) => {}
            }
        }
        let siblings = parts::children(&parent.name);
        let bound = self.new_bound(&parent, &key, for_values, &rel, &siblings)?;
        let probe = TableDef {
            name: tname.clone(),
            oid: u32::MAX,
            columns: parent.columns.clone(),
            partition_of: Some(Box::new(PartitionOf { parent: parent.name.clone(), bound: bound.clone() })),
            ..TableDef::default_empty()
        };
        let root = parts::root(&parent);
        let mut checks = Vec::new();
        if let Some(cond) = parts::constraint_upto(&probe, None) {
            checks.push((
                format!("SELECT 1 FROM {} WHERE NOT ({cond}) LIMIT 1", parts::sql_name(&tname)),
                code::CHECK_VIOLATION,
                format!("partition constraint of relation \"{rel}\" is violated by some row"),
            ));
        }
        checks.extend(default_check(&parent, &probe, &siblings, &root));
        let aside = crate::schema::qualify(crate::schema::split(&tname).0, &format!("orbit_attach_{}", table.oid));
        // Generated columns are computed again as the rows go in.
        let cols: Vec<String> = parent
            .columns
            .iter()
            .filter(|c| c.generated.is_none())
            .map(|c| crate::regtypes::quote_ident(&c.name))
            .collect();
        let cols = cols.join(", ");
        let rest = vec![
            format!(
                "ALTER TABLE {} RENAME TO {}",
                parts::sql_name(&tname),
                crate::regtypes::quote_ident(crate::schema::relname(&aside))
            ),
            format!("CREATE TABLE {} PARTITION OF {} {bound}", parts::sql_name(&tname), parts::sql_name(&parent.name)),
            format!(
                "INSERT INTO {} ({cols}) SELECT {cols} FROM {}",
                parts::sql_name(&root.name),
                parts::sql_name(&aside)
            ),
            format!("DROP TABLE {}", parts::sql_name(&aside)),
        ];
        let session = super::binding_session();
        Ok(Plan::Steps {
            first: Box::new(Plan::PartitionChecks {
                checks,
                session: session.clone(),
                hold: Some(parent.name.clone()),
            }),
            rest,
            select_tag: false,
            session,
        })
    }

    /// ALTER TABLE parent DETACH PARTITION p: p's rows leave the root for a table of its own,
    /// named p, with the root's columns, defaults and CHECK constraints (as statement steps, all
    /// or none). The partition's indexes are the root's and stay there.
    pub(super) fn detach_partition(&mut self, at: &ast::AlterTable, partition: &ast::ObjectName) -> Result<Plan> {
        let (pname, parent) = self.resolve_table(&at.name)?;
        if parent.partition_key.is_none() {
            return Err(SqlError::new(
                "42P17",
                format!("table \"{}\" is not partitioned", crate::schema::relname(&pname)),
            ));
        }
        let (tname, table) = self.resolve_table(partition)?;
        let rel = crate::schema::relname(&tname).to_string();
        if table.partition_of.as_ref().is_none_or(|p| p.parent != parent.name) {
            return Err(SqlError::new(
                code::UNDEFINED_TABLE,
                format!("relation \"{rel}\" is not a partition of relation \"{}\"", crate::schema::relname(&pname)),
            ));
        }
        if table.partition_key.is_some() {
            return Err(parts::unsupported("DETACH PARTITION of a partitioned partition"));
        }
        let root = parts::root(&parent);
        let aside = crate::schema::qualify(crate::schema::split(&tname).0, &format!("orbit_detach_{}", table.oid));
        let rest = vec![
            format!(
                "CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)",
                parts::sql_name(&aside),
                parts::sql_name(&root.name)
            ),
            format!("INSERT INTO {} SELECT * FROM {}", parts::sql_name(&aside), parts::sql_name(&tname)),
            format!("DROP TABLE {}", parts::sql_name(&tname)),
            format!("ALTER TABLE {} RENAME TO {}", parts::sql_name(&aside), crate::regtypes::quote_ident(&rel)),
        ];
        let session = super::binding_session();
        Ok(Plan::Steps {
            first: Box::new(Plan::PartitionChecks {
                checks: Vec::new(),
                session: session.clone(),
                hold: Some(parent.name.clone()),
            }),
            rest,
            select_tag: false,
            session,
        })
    }

    /// The type of key element `element` (SQL text) over `def`'s rows.
    fn key_type(&mut self, def: &TableDef, element: &str) -> Result<SqlType> {
        let scope = super::Scope { def, alias: crate::schema::relname(&def.name).to_string(), joined: None };
        let e = super::sql_functions::parse_expr(element)?;
        let banned = std::mem::replace(&mut self.aggs_banned_in, "partition key expressions");
        let bound = self.expr(&e, Some(&scope));
        self.aggs_banned_in = banned;
        Ok(bound?.ty())
    }

    fn bound_value(&mut self, v: &ast::Expr, element: &str, ty: SqlType) -> Result<Datum> {
        let column = parts::key_shown(element);
        if matches!(v, ast::Expr::Value(x) if matches!(x.value, ast::Value::Null)) {
            return Ok(Datum::Null);
        }
        // transformPartitionBoundValue's refusals: column references and subqueries (found
        // first in the text's order), then aggregates as the clause's.
        let mut found: Option<(bool, sqlparser::tokenizer::Span)> = None;
        let _ = ast::visit_expressions(v, |e| {
            let hit = match e {
                ast::Expr::Identifier(id) => Some((true, id.span)),
                ast::Expr::CompoundIdentifier(ids) => ids.first().map(|i| (true, i.span)),
                ast::Expr::Subquery(_) | ast::Expr::Exists { .. } => Some((false, e.span())),
                _ => None,
            };
            match hit {
                Some(h) => {
                    found = Some(h);
                    std::ops::ControlFlow::Break(())
                }
                None => std::ops::ControlFlow::Continue(()),
            }
        });
        match found {
            Some((true, span)) => {
                return Err(SqlError::new(
                    code::FEATURE_NOT_SUPPORTED,
                    "cannot use column reference in partition bound expression",
                )
                .at(self.pos(&span)));
            }
            Some((false, span)) => {
                return Err(SqlError::new(code::FEATURE_NOT_SUPPORTED, "cannot use subquery in partition bound")
                    .at(self.pos(&span)));
            }
            None => {}
        }
        let banned = std::mem::replace(&mut self.aggs_banned_in, "partition bound");
        let bound = self.expr(v, None);
        self.aggs_banned_in = banned;
        let bound = bound?;
        let bound = self.coerce(bound, ty, CastContext::Assignment, |from| {
            SqlError::new(
                code::DATATYPE_MISMATCH,
                format!("specified value cannot be cast to type {} for column \"{column}\"", ty.name()),
            )
            .detail(format!("from type {}", from.name()))
        })?;
        expr::eval(&bound, &Ctx { row: &[], params: &[], aggs: &[] })
    }

    fn range_values(
        &mut self,
        values: &[ast::PartitionBoundValue],
        parent: &TableDef,
        key: &Key,
        what: &str,
    ) -> Result<Vec<Bound>> {
        if values.len() != key.columns.len() {
            return Err(SqlError::new(
                "42P16",
                format!("{what} must specify exactly one value per partitioning column"),
            ));
        }
        let mut out = Vec::with_capacity(values.len());
        for (v, c) in values.iter().zip(&key.columns) {
            let b = match v {
                ast::PartitionBoundValue::MinValue => Bound::Min,
                ast::PartitionBoundValue::MaxValue => Bound::Max,
                ast::PartitionBoundValue::Expr(e) => {
                    let ty = self.key_type(parent, c)?;
                    let d = self.bound_value(e, c, ty)?;
                    if d == Datum::Null {
                        return Err(SqlError::new("22004", "cannot specify NULL in range bound"));
                    }
                    Bound::Value(d)
                }
            };
            out.push(b);
        }
        // After MINVALUE only MINVALUE, after MAXVALUE only MAXVALUE.
        for w in out.windows(2) {
            match (&w[0], &w[1]) {
                (Bound::Max, b) if !matches!(b, Bound::Max) => {
                    return Err(SqlError::new(
                        code::DATATYPE_MISMATCH,
                        "every bound following MAXVALUE must also be MAXVALUE",
                    ));
                }
                (Bound::Min, b) if !matches!(b, Bound::Min) => {
                    return Err(SqlError::new(
                        code::DATATYPE_MISMATCH,
                        "every bound following MINVALUE must also be MINVALUE",
                    ));
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// A sibling's bound read back as values.
    fn parsed(&mut self, parent: &TableDef, s: &TableDef, key: &Key) -> Option<Parsed> {
        let fv = parts::parse_bound(&s.partition_of.as_ref()?.bound)?;
        Some(match fv {
            ast::ForValues::Default => Parsed::Default,
            ast::ForValues::In(values) => {
                let ty = self.key_type(parent, &key.columns[0]).ok()?;
                Parsed::List(values.iter().filter_map(|v| self.bound_value(v, &key.columns[0], ty).ok()).collect())
            }
            ast::ForValues::From { from, to } => Parsed::Range(
                self.range_values(&from, parent, key, "FROM").ok()?,
                self.range_values(&to, parent, key, "TO").ok()?,
            ),
            ast::ForValues::With { .. } => return None,
        })
    }
}

/// The check that no row of `parent`'s DEFAULT partition falls within new partition `probe`'s
/// bound (rows would change partition), as a [`Plan::PartitionChecks`] check; None without a
/// DEFAULT partition or when `probe` is the DEFAULT one.
fn default_check(
    parent: &TableDef,
    probe: &TableDef,
    siblings: &[std::sync::Arc<TableDef>],
    root: &TableDef,
) -> Option<(String, &'static str, String)> {
    if probe.partition_of.as_ref().is_none_or(|p| p.bound == "DEFAULT") {
        return None;
    }
    let d = siblings.iter().find(|s| s.partition_of.as_ref().is_some_and(|p| p.bound == "DEFAULT"))?;
    let theirs = parts::constraint_upto(d, None).unwrap_or_else(|| "true".into());
    let mine = parts::bound_condition_of(parent, probe);
    Some((
        format!("SELECT 1 FROM {} WHERE ({theirs}) AND ({mine}) LIMIT 1", parts::sql_name(&root.name)),
        code::CHECK_VIOLATION,
        format!(
            "updated partition constraint for default partition \"{}\" would be violated by some row",
            crate::schema::relname(&d.name)
        ),
    ))
}

/// PostgreSQL's refusals to drop or retype a column a partition key of `def`'s hierarchy uses
/// (42P16); renaming one is not built here (the keys name their columns by text).
pub(super) fn key_columns_untouched(def: &TableDef, op: &ast::AlterTableOperation) -> Result<()> {
    let (column, what) = match op {
        ast::AlterTableOperation::DropColumn { column_names, .. } => match column_names.first() {
            Some(c) => (fold_ident(c), "drop"),
            None => return Ok(()),
        },
        ast::AlterTableOperation::RenameColumn { old_column_name, .. } => (fold_ident(old_column_name), "rename"),
        ast::AlterTableOperation::AlterColumn { column_name, op: ast::AlterColumnOperation::SetDataType { .. } } => {
            (fold_ident(column_name), "alter")
        }
        _ => return Ok(()),
    };
    let mut tables = vec![std::sync::Arc::new(def.clone())];
    tables.extend(parts::descendants(&def.name));
    for t in tables {
        let Some(key) = parts::key(&t) else { continue };
        let uses = key.columns.iter().any(|e| {
            let mut found = false;
            if let Ok(x) = super::sql_functions::parse_expr(e) {
                let _ = ast::visit_expressions(&x, |x| {
                    found |= matches!(x, ast::Expr::Identifier(id) if fold_ident(id) == column);
                    std::ops::ControlFlow::<()>::Continue(())
                });
            }
            found
        });
        if uses {
            let rel = crate::schema::relname(&t.name);
            if what == "rename" {
                return Err(parts::unsupported("renaming a column a partition key uses"));
            }
            return Err(SqlError::new(
                "42P16",
                format!(
                    "cannot {what} column \"{column}\" because it is part of the partition key of relation \"{rel}\""
                ),
            ));
        }
    }
    Ok(())
}

/// check_new_partition_bound's checks of a hash partition's (modulus, remainder) against its
/// siblings': every modulus a factor of the next larger one, no remainder covered twice.
fn hash_bound(modulus: u64, remainder: u64, siblings: &[std::sync::Arc<TableDef>], rel: &str) -> Result<()> {
    if modulus == 0 {
        return Err(SqlError::new("42P16", "modulus for hash partition must be an integer value greater than zero"));
    }
    if remainder >= modulus {
        return Err(SqlError::new("42P16", "remainder for hash partition must be less than modulus"));
    }
    let mut theirs: Vec<(u64, u64, String)> = siblings
        .iter()
        .filter_map(|s| match parts::parse_bound(&s.partition_of.as_ref()?.bound)? {
            ast::ForValues::With { modulus, remainder } => {
                Some((modulus, remainder, crate::schema::relname(&s.name).to_string()))
            }
            _ => None,
        })
        .collect();
    if theirs.is_empty() {
        return Ok(());
    }
    theirs.sort();
    let factor = |next: &(u64, u64, String)| {
        SqlError::new("42P17", "every hash partition modulus must be a factor of the next larger modulus").detail(
            format!(
                "The new modulus {modulus} is not a factor of {}, the modulus of existing partition \"{}\".",
                next.0, next.2
            ),
        )
    };
    match theirs.iter().rposition(|(m, r, _)| (*m, *r) <= (modulus, remainder)) {
        None if !theirs[0].0.is_multiple_of(modulus) => return Err(factor(&theirs[0])),
        None => {}
        Some(at) => {
            let prev = &theirs[at];
            if !modulus.is_multiple_of(prev.0) {
                return Err(SqlError::new(
                    "42P17",
                    "every hash partition modulus must be a factor of the next larger modulus",
                )
                .detail(format!(
                    "The new modulus {modulus} is not divisible by {}, the modulus of existing partition \"{}\".",
                    prev.0, prev.2
                )));
            }
            if let Some(next) = theirs.get(at + 1) {
                if !next.0.is_multiple_of(modulus) {
                    return Err(factor(next));
                }
            }
        }
    }
    // Every remainder of the greatest modulus the new partition would take, in order.
    let greatest = theirs.iter().map(|t| t.0).max().unwrap_or(modulus);
    let mut r = if remainder >= greatest { remainder % greatest } else { remainder };
    while r < greatest {
        if let Some(t) = theirs.iter().find(|(m, rem, _)| r % m == *rem) {
            return Err(SqlError::new("42P17", format!("partition \"{rel}\" would overlap partition \"{}\"", t.2)));
        }
        r += modulus;
    }
    Ok(())
}

/// The same list value (NULL is one value here).
fn same(a: &Datum, b: &Datum) -> bool {
    match (a, b) {
        (Datum::Null, Datum::Null) => true,
        (Datum::Null, _) | (_, Datum::Null) => false,
        _ => expr::compare(a, b) == Some(Ordering::Equal),
    }
}
