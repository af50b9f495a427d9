//! CHECK and UNIQUE constraints and secondary indexes: CREATE TABLE's constraint clauses,
//! CREATE [UNIQUE] INDEX and DROP INDEX, with PostgreSQL's names for what is left unnamed and
//! its errors. Index maintenance and checking rows are [`crate::index`]'s.

use super::{fold, object_name, Binder, Plan, Scope};
use crate::error::{code, Result, SqlError};
use crate::expr::Expr;
use orbit_engine::table::{CheckDef, ColumnDef, IndexDef, TableDef};
use sqlparser::ast;
use std::sync::Arc;

/// PostgreSQL's identifier length limit (NAMEDATALEN - 1).
const MAX_NAME: usize = 63;

/// PostgreSQL's `makeObjectName`: `name1_name2_label`, the longer of name1 and name2 chopped
/// first until it fits in 63 bytes.
pub(crate) fn make_object_name(name1: &str, name2: Option<&str>, label: &str) -> String {
    let mut n1: Vec<char> = name1.chars().collect();
    let mut n2: Vec<char> = name2.map(|n| n.chars().collect()).unwrap_or_default();
    let overhead = name2.map_or(0, |_| 1) + if label.is_empty() { 0 } else { label.len() + 1 };
    let avail = MAX_NAME.saturating_sub(overhead);
    let bytes = |v: &[char]| v.iter().map(|c| c.len_utf8()).sum::<usize>();
    while bytes(&n1) + bytes(&n2) > avail {
        if bytes(&n1) > bytes(&n2) {
            n1.pop();
        } else {
            n2.pop();
        }
    }
    let mut out: String = n1.into_iter().collect();
    if name2.is_some() {
        out.push('_');
        out.extend(n2);
    }
    if !label.is_empty() {
        out.push('_');
        out.push_str(label);
    }
    out
}

/// PostgreSQL's `ChooseRelationName`/`ChooseConstraintName`: the first of `label`, `label1`,
/// `label2`, ... that gives a name `taken` does not reject.
pub(crate) fn choose_name(name1: &str, name2: Option<&str>, label: &str, taken: impl Fn(&str) -> bool) -> String {
    // A table's indexes are relations of its schema; its CHECK constraints are not relations.
    let (schema, rel) = crate::schema::split(name1);
    let mut pass = 0;
    loop {
        let l = if pass == 0 { label.to_string() } else { format!("{label}{pass}") };
        let name = make_object_name(rel, name2, &l);
        let name = if label == "check" { name } else { crate::schema::qualify(schema, &name) };
        if !taken(&name) {
            return name;
        }
        pass += 1;
    }
}

/// A relation (table, index, view of the catalog) of that name exists.
fn relation_exists(name: &str) -> bool {
    super::lookup_table(name).is_some()
}

/// The columns an expression names, in order, repeats included.
fn columns_named(e: &ast::Expr) -> Vec<String> {
    use sqlparser::ast::Visit;
    struct Refs(Vec<String>);
    impl ast::Visitor for Refs {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &ast::Expr) -> std::ops::ControlFlow<()> {
            match e {
                ast::Expr::Identifier(id) => self.0.push(fold(id)),
                ast::Expr::CompoundIdentifier(ids) => self.0.extend(ids.last().map(fold)),
                _ => {}
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut r = Refs(Vec::new());
    let _ = e.visit(&mut r);
    r.0
}

/// The one column an expression names, if it names exactly one (PostgreSQL names an unnamed
/// CHECK after its column when it references a single column, however often).
fn single_column(e: &ast::Expr) -> Option<String> {
    let mut cols = columns_named(e);
    cols.sort();
    cols.dedup();
    match cols.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// The columns a stored CHECK expression names (empty if it does not parse).
pub(crate) fn check_columns(text: &str) -> Vec<String> {
    parse_stored(text).map(|e| columns_named(&e)).unwrap_or_default()
}

pub(super) fn parse_stored(text: &str) -> std::result::Result<ast::Expr, sqlparser::parser::ParserError> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    sqlparser::parser::Parser::new(&dialect).try_with_sql(text).and_then(|mut p| p.parse_expr())
}

/// A table definition after `ALTER TABLE ... DROP COLUMN` of column `i` (already removed from
/// `def.columns`): the indexes and CHECK constraints that use it go too, as in PostgreSQL, and
/// the other indexes' column numbers follow the columns.
pub(crate) fn drop_column_constraints(def: &mut TableDef, i: usize, name: &str) {
    def.indexes.retain(|x| {
        !x.columns.contains(&i)
            && !x.include.contains(&i)
            && !super::index_exprs::columns_used(x).iter().any(|n| n == name)
    });
    for x in &mut def.indexes {
        for c in x.columns.iter_mut().chain(x.include.iter_mut()) {
            if *c > i && *c != IndexDef::EXPR {
                *c -= 1;
            }
        }
    }
    def.checks.retain(|c| !check_columns(&c.expr).iter().any(|n| n == name));
    // Foreign keys on the column go with it (PostgreSQL drops them too); a foreign key of the
    // table to itself also names the columns it references by number.
    let own = def.name.clone();
    def.foreign_keys.retain(|f| !(f.columns.contains(&i) || (f.parent == own && f.parent_columns.contains(&i))));
    for f in &mut def.foreign_keys {
        for c in &mut f.columns {
            if *c > i {
                *c -= 1;
            }
        }
        if f.parent == own {
            for c in &mut f.parent_columns {
                if *c > i {
                    *c -= 1;
                }
            }
        }
    }
}

/// A table definition after `ALTER TABLE ... RENAME COLUMN old TO new`: CHECK, generation and
/// index expressions name the column by its new name.
pub(crate) fn rename_column_in_checks(def: &mut TableDef, old: &str, new: &str) -> Result<()> {
    for c in &mut def.checks {
        let mut e = parse_stored(&c.expr)
            .map_err(|e| SqlError::internal(format!("stored CHECK constraint \"{}\" does not parse: {e}", c.name)))?;
        rename_in_expr(&mut e, old, new);
        c.expr = e.to_string();
    }
    super::generated::rename_column(def, old, new)?;
    rename_column_in_indexes(def, old, new)
}

/// `e` with column `old` named `new` (quoted).
pub(super) fn rename_in_expr(e: &mut ast::Expr, old: &str, new: &str) {
    use sqlparser::ast::VisitMut;
    struct Rename<'a>(&'a str, &'a str);
    impl ast::VisitorMut for Rename<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &mut ast::Expr) -> std::ops::ControlFlow<()> {
            let id = match e {
                ast::Expr::Identifier(id) => Some(id),
                ast::Expr::CompoundIdentifier(ids) => ids.last_mut(),
                _ => None,
            };
            if let Some(id) = id {
                if fold(id) == self.0 {
                    *id = ast::Ident::with_quote('"', self.1);
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = e.visit(&mut Rename(old, new));
}

/// Index expressions and predicates after RENAME COLUMN.
fn rename_column_in_indexes(def: &mut TableDef, old: &str, new: &str) -> Result<()> {
    for x in &mut def.indexes {
        let name = x.name.clone();
        let rename = |text: &mut String| -> Result<()> {
            let mut e = parse_stored(text).map_err(|e| {
                SqlError::internal(format!("stored expression of index \"{name}\" does not parse: {e}"))
            })?;
            rename_in_expr(&mut e, old, new);
            *text = e.to_string();
            Ok(())
        };
        for k in &mut x.exprs {
            rename(&mut k.expr)?;
        }
        if let Some(p) = &mut x.predicate {
            rename(p)?;
        }
    }
    Ok(())
}

/// Whether an expression holds a subquery (not allowed in CHECK).
pub(super) fn has_subquery(e: &ast::Expr) -> bool {
    use sqlparser::ast::Visit;
    struct Finder;
    impl ast::Visitor for Finder {
        type Break = ();
        fn pre_visit_query(&mut self, _: &ast::Query) -> std::ops::ControlFlow<()> {
            std::ops::ControlFlow::Break(())
        }
    }
    e.visit(&mut Finder).is_break()
}

/// A CHECK constraint's expression bound over `def`'s rows (a NULL result passes).
pub fn bind_check(def: &TableDef, check: &CheckDef) -> Result<Expr> {
    let parsed = parse_stored(&check.expr)
        .map_err(|e| SqlError::internal(format!("stored CHECK constraint \"{}\" does not parse: {e}", check.name)))?;
    let mut b = Binder::detached("check constraints");
    b.check_expr(def, &parsed)
}

impl Binder<'_> {
    /// A CHECK expression over `def`'s columns, with PostgreSQL's refusals.
    fn check_expr(&mut self, def: &TableDef, e: &ast::Expr) -> Result<Expr> {
        if has_subquery(e) {
            return Err(SqlError::new(code::FEATURE_NOT_SUPPORTED, "cannot use subquery in check constraint"));
        }
        let scope = Scope { def, alias: def.name.clone(), joined: None };
        self.aggs_banned_in = "check constraints";
        let bound = self.condition(e, Some(&scope), "CHECK")?;
        if !self.params.is_empty() {
            return Err(SqlError::new(code::UNDEFINED_PARAMETER, "there is no parameter $1"));
        }
        Ok(bound)
    }

    /// The CHECK and UNIQUE constraints of a new table `def` (its columns and primary key set):
    /// CHECKs bound (to report errors now) and kept as text, UNIQUEs as indexes; unnamed ones
    /// named as PostgreSQL names them.
    pub(super) fn add_constraints(
        &mut self,
        def: &mut TableDef,
        checks: Vec<(Option<String>, ast::Expr)>,
        uniques: Vec<(Option<String>, Vec<usize>)>,
    ) -> Result<()> {
        for (name, e) in checks {
            self.check_expr(def, &e)?;
            let name = match name {
                Some(n) => {
                    if def.checks.iter().any(|c| c.name == n) {
                        return Err(SqlError::new(
                            code::DUPLICATE_OBJECT,
                            format!("check constraint \"{n}\" already exists"),
                        ));
                    }
                    n
                }
                None => {
                    let col = single_column(&e);
                    choose_name(&def.name, col.as_deref(), "check", |n| def.checks.iter().any(|c| c.name == n))
                }
            };
            // Kept without the parentheses around it (pg_dump writes `CHECK ((a > 0))`):
            // pg_get_constraintdef adds its own.
            let mut bare = &e;
            while let ast::Expr::Nested(inner) = bare {
                bare = inner;
            }
            def.checks.push(CheckDef::new(name, super::alter_column::lower_cast_types(&bare.to_string())));
        }
        for (name, columns) in uniques {
            // A UNIQUE on the primary key's columns, or on those of an earlier UNIQUE, adds
            // nothing (PostgreSQL drops such a redundant index).
            if columns == def.pk || def.indexes.iter().any(|x| x.columns == columns) {
                continue;
            }
            let name = match name {
                // A UNIQUE constraint's index is a relation of the table's schema.
                Some(n) => crate::schema::qualify(crate::schema::split(&def.name).0, &n),
                None => {
                    let cols: Vec<&str> = columns.iter().map(|&i| def.columns[i].name.as_str()).collect();
                    let joined = cols.join("_");
                    let taken =
                        |n: &str| relation_exists(n) || def.indexes.iter().any(|x| x.name == n) || n == def.pk_name;
                    choose_name(&def.name, Some(&joined), "key", taken)
                }
            };
            if def.indexes.iter().any(|x| x.name == name) || name == def.pk_name || name == def.name {
                return Err(SqlError::new(code::DUPLICATE_TABLE, format!("relation \"{name}\" already exists")));
            }
            def.indexes.push(IndexDef::on_columns(name, columns, true, true));
        }
        Ok(())
    }

    /// The columns of a UNIQUE constraint or index, as indexes into `columns`.
    pub(super) fn key_columns(
        &self,
        list: &[ast::IndexColumn],
        columns: &[ColumnDef],
        what: &str,
    ) -> Result<Vec<usize>> {
        let mut idx = Vec::new();
        for ic in list {
            let ast::Expr::Identifier(id) = &ic.column.expr else {
                return Err(SqlError::unsupported("indexes on expressions are not supported yet"));
            };
            if ic.operator_class.is_some()
                || ic.column.options.sort.is_some()
                || ic.column.options.nulls_first.is_some()
            {
                return Err(SqlError::unsupported("operator classes and orderings in indexes are not supported yet"));
            }
            let cn = fold(id);
            let i = columns.iter().position(|c| c.name == cn).ok_or_else(|| {
                let what = if what.is_empty() { String::new() } else { format!(" {what}") };
                SqlError::new(code::UNDEFINED_COLUMN, format!("column \"{cn}\"{what} does not exist"))
                    .at(self.pos(&id.span))
            })?;
            idx.push(i);
        }
        Ok(idx)
    }

    /// `ALTER TABLE t ADD [CONSTRAINT c] CHECK (...) | UNIQUE (...)` and `ALTER TABLE t DROP
    /// CONSTRAINT [IF EXISTS] c` (None: another action).
    pub(super) fn alter_constraint(&mut self, at: &ast::AlterTable) -> Result<Option<Plan>> {
        let [op] = at.operations.as_slice() else { return Ok(None) };
        let is_ours = matches!(
            op,
            ast::AlterTableOperation::AddConstraint {
                constraint: ast::TableConstraint::Check(_)
                    | ast::TableConstraint::Unique(_)
                    | ast::TableConstraint::ForeignKey(_),
                ..
            } | ast::AlterTableOperation::DropConstraint { .. }
                | ast::AlterTableOperation::ValidateConstraint { .. }
        );
        if !is_ours {
            return Ok(None);
        }
        if at.if_exists {
            let tname = self.relation_name(&at.name)?;
            if super::lookup_table(&tname).is_none() {
                return Ok(Some(Plan::Skipped {
                    tag: "ALTER TABLE",
                    notice: format!("relation \"{tname}\" does not exist, skipping"),
                }));
            }
        }
        // A partitioned table's CHECK and FOREIGN KEY constraints are its root's, which holds
        // every row of the hierarchy (`crate::partitions`).
        let unique =
            matches!(op, ast::AlterTableOperation::AddConstraint { constraint: ast::TableConstraint::Unique(_), .. });
        let verb = if unique { "alter" } else { "alter constraints of" };
        let (tname, table) = self.resolve_table_to(&at.name, verb)?;
        if crate::catalog::is_view(&table) {
            return Err(crate::catalog::read_only(&table));
        }
        match op {
            ast::AlterTableOperation::AddConstraint { constraint: ast::TableConstraint::Check(cc), not_valid } => {
                let mut def = (*table).clone();
                let name = cc.name.as_ref().map(fold);
                if let Some(n) = &name {
                    if def.checks.iter().any(|c| c.name == *n)
                        || def.indexes.iter().any(|x| crate::schema::relname(&x.name) == n)
                        || (!def.pk.is_empty() && def.pk_name == *n)
                    {
                        return Err(SqlError::new(
                            code::DUPLICATE_OBJECT,
                            format!("constraint \"{n}\" for relation \"{tname}\" already exists"),
                        ));
                    }
                }
                self.add_constraints(&mut def, vec![(name, (*cc.expr).clone())], vec![])?;
                // NOT VALID: the rows there now are not checked (VALIDATE CONSTRAINT does that);
                // rows written from now on are.
                if *not_valid {
                    if let Some(added) = def.checks.last_mut() {
                        added.not_valid = true;
                    }
                    return Ok(Some(Plan::RewriteTable { table, def, change: super::ColumnChange::Rename }));
                }
                Ok(Some(Plan::RewriteTable { table, def, change: super::ColumnChange::Check }))
            }
            ast::AlterTableOperation::AddConstraint { constraint: ast::TableConstraint::ForeignKey(fk), not_valid } => {
                let mut def = (*table).clone();
                self.add_foreign_keys(&mut def, vec![fk.clone()])?;
                // NOT VALID: the rows there now are not checked (VALIDATE CONSTRAINT does that).
                if let Some(added) = def.foreign_keys.last_mut().filter(|_| *not_valid) {
                    added.not_valid = true;
                }
                // Rows unchanged; they are checked against the new constraint first.
                Ok(Some(Plan::RewriteTable { table, def, change: super::ColumnChange::Rename }))
            }
            ast::AlterTableOperation::AddConstraint { constraint: ast::TableConstraint::Unique(uc), .. } => {
                if uc.characteristics.is_some() || !uc.include.is_empty() {
                    return Err(SqlError::unsupported("DEFERRABLE and INCLUDE are not supported yet"));
                }
                let columns = self.key_columns(&uc.columns, &table.columns, "named in key")?;
                let name = match uc.name.as_ref().map(fold) {
                    Some(n) => crate::schema::qualify(crate::schema::split(&table.name).0, &n),
                    None => {
                        let cols: Vec<&str> = columns.iter().map(|&i| table.columns[i].name.as_str()).collect();
                        choose_name(&table.name, Some(&cols.join("_")), "key", relation_exists)
                    }
                };
                Ok(Some(Plan::CreateIndex {
                    table,
                    index: IndexDef::on_columns(name, columns, true, true),
                    if_not_exists: false,
                    concurrently: false,
                }))
            }
            ast::AlterTableOperation::ValidateConstraint { name } => {
                // A NOT VALID foreign key or CHECK: its rows are checked as ADD's are, then it is
                // valid.
                let n = fold(name);
                // A NOT VALID CHECK: every row checked, then it is valid.
                if let Some(k) = table.checks.iter().position(|c| c.name == n && c.not_valid) {
                    let mut def = (*table).clone();
                    def.checks[k].not_valid = false;
                    return Ok(Some(Plan::RewriteTable { table, def, change: super::ColumnChange::Check }));
                }
                let Some(k) = table.foreign_keys.iter().position(|c| c.name == n) else {
                    if table.checks.iter().any(|c| c.name == n)
                        || (!table.pk.is_empty() && table.pk_name == n)
                        || table.indexes.iter().any(|x| x.constraint && crate::schema::relname(&x.name) == n)
                    {
                        return Ok(Some(Plan::Skipped { tag: "ALTER TABLE", notice: String::new() }));
                    }
                    return Err(SqlError::new(
                        code::UNDEFINED_OBJECT,
                        format!("constraint \"{n}\" of relation \"{tname}\" does not exist"),
                    ));
                };
                let mut def = (*table).clone();
                def.foreign_keys[k].not_valid = false;
                Ok(Some(Plan::RewriteTable { table, def, change: super::ColumnChange::Rename }))
            }
            ast::AlterTableOperation::DropConstraint { if_exists, name, drop_behavior } => {
                // CASCADE changes nothing for a constraint nothing depends on; a primary key or
                // UNIQUE constraint a foreign key uses is 2BP01 without it (bind/drop_key.rs).
                let cascade = matches!(drop_behavior, Some(ast::DropBehavior::Cascade));
                let n = fold(name);
                if table.foreign_keys.iter().any(|c| c.name == n) {
                    let mut def = (*table).clone();
                    def.foreign_keys.retain(|c| c.name != n);
                    return Ok(Some(Plan::RewriteTable { table, def, change: super::ColumnChange::Rename }));
                }
                if table.checks.iter().any(|c| c.name == n) {
                    let mut def = (*table).clone();
                    def.checks.retain(|c| c.name != n);
                    return Ok(Some(Plan::RewriteTable { table, def, change: super::ColumnChange::Rename }));
                }
                let index = crate::schema::qualify(crate::schema::split(&table.name).0, &n);
                if let Some(ix) = table.indexes.iter().find(|x| x.constraint && x.name == index).cloned() {
                    return super::drop_key::drop_key_constraint(table, Some(&ix), index, &n, cascade).map(Some);
                }
                if !table.pk.is_empty() && table.pk_name == n {
                    return super::drop_key::drop_key_constraint(table, None, index, &n, cascade).map(Some);
                }
                let msg = format!("constraint \"{n}\" of relation \"{tname}\" does not exist");
                if *if_exists {
                    return Ok(Some(Plan::Skipped { tag: "ALTER TABLE", notice: format!("{msg}, skipping") }));
                }
                Err(SqlError::new(code::UNDEFINED_OBJECT, msg))
            }
            _ => Ok(None),
        }
    }

    /// `CREATE [UNIQUE] INDEX [IF NOT EXISTS] [name] ON table (column, ...)`.
    pub(super) fn create_index(&mut self, ci: &ast::CreateIndex) -> Result<Plan> {
        if !ci.with.is_empty() {
            return Err(SqlError::unsupported("CREATE INDEX ... WITH (storage parameters) is not supported yet"));
        }
        match &ci.using {
            None => {}
            Some(ast::IndexType::BTree) => {}
            Some(other) => {
                return Err(SqlError::new(
                    code::UNDEFINED_OBJECT,
                    format!("access method \"{}\" does not exist", other.to_string().to_lowercase()),
                ))
            }
        }
        let (_, table) = self.resolve_table_to(&ci.table_name, "create indexes on")?;
        if crate::catalog::is_view(&table) {
            return Err(SqlError::new(
                code::WRONG_OBJECT_TYPE,
                format!("cannot create index on relation \"{}\"", table.name),
            )
            .detail("This operation is not supported for views."));
        }
        let super::index_exprs::IndexKeys { columns, exprs, names: key_names, options, opclasses } =
            self.index_keys(&ci.columns, &table)?;
        let predicate = ci.predicate.as_ref().map(|p| self.index_where(p, &table)).transpose()?;
        let include = self.index_include(&ci.include, &table)?;
        let name = match &ci.name {
            // An index is in its table's schema (PostgreSQL's grammar has no schema there).
            Some(n) => match n.0.as_slice() {
                [part] => match part.as_ident() {
                    Some(id) => crate::schema::qualify(
                        crate::schema::split(&table.name).0,
                        &super::schema::relation_part(&fold(id))?,
                    ),
                    None => return Err(SqlError::syntax(&n.to_string())),
                },
                _ => return Err(SqlError::syntax(".")),
            },
            None => choose_name(&table.name, Some(&key_names.join("_")), "idx", relation_exists),
        };
        Ok(Plan::CreateIndex {
            table,
            index: IndexDef {
                name,
                columns,
                unique: ci.unique,
                constraint: false,
                exprs,
                predicate,
                include,
                nulls_not_distinct: ci.nulls_distinct == Some(false),
                options,
                opclasses,
            },
            if_not_exists: ci.if_not_exists,
            concurrently: ci.concurrently,
        })
    }
}

/// `DROP INDEX [IF EXISTS] name [, ...]`: the names, checked when it runs.
pub(super) fn drop_index(sql: &str, names: &[ast::ObjectName], if_exists: bool, cascade: bool) -> Result<Plan> {
    if cascade {
        return Err(SqlError::unsupported("DROP INDEX ... CASCADE is not supported yet"));
    }
    let names = names.iter().map(|n| object_name(sql, n)).collect::<Result<Vec<_>>>()?;
    Ok(Plan::DropIndex { names, if_exists })
}

/// The base table of the index `name`, if it is one (an index whose table no longer lists it,
/// left by a crash between its two steps, has none).
pub(crate) fn index_owner(index: &TableDef) -> Option<Arc<TableDef>> {
    let base = super::lookup_table(index.index_of.as_deref()?)?;
    base.indexes.iter().any(|x| x.name == index.name).then_some(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_fit_postgresql_limit() {
        assert_eq!(make_object_name("t", Some("a"), "check"), "t_a_check");
        assert_eq!(make_object_name("t", None, "check"), "t_check");
        let long = "x".repeat(70);
        let n = make_object_name(&long, Some("col"), "key");
        assert_eq!(n.len(), 63);
        assert!(n.ends_with("_col_key"));
        assert_eq!(choose_name("t", Some("a"), "key", |n| n == "t_a_key" || n == "t_a_key1"), "t_a_key2");
    }
}
