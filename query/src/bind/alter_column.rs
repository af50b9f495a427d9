//! `ALTER TABLE [ONLY] t ALTER [COLUMN] c ...`: SET DEFAULT / DROP DEFAULT, SET NOT NULL /
//! DROP NOT NULL and ADD GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY [(sequence options)], with
//! PostgreSQL's checks and messages (<https://www.postgresql.org/docs/15/sql-altertable.html>).
//! TYPE is `bind/alter_type.rs`. The other forms (SET STATISTICS, SET STORAGE, identity changes, ...) are 0A000.
//! Execution: `exec/alter_column.rs`.

use super::*;
use orbit_engine::table::Identity;

/// An ALTER COLUMN as bound: the table's new definition, and what must happen besides the
/// rewrite.
#[derive(Debug, Clone)]
pub struct AlterColumn {
    pub table: Arc<TableDef>,
    pub def: TableDef,
    /// SET NOT NULL: the column whose rows must hold no NULL (23502 otherwise).
    pub check_not_null: Option<usize>,
    /// ADD GENERATED ... AS IDENTITY: the sequence made for it (owned by the table).
    pub sequence: Option<crate::sequence::SeqDef>,
    /// SET DEFAULT nextval('s'): the sequence's catalog name and its name as written, which
    /// must exist when it runs (a sequence lives on the shard its name hashes to: the binder
    /// cannot look it up).
    pub default_sequence: Option<(String, String)>,
    /// ALTER COLUMN ... TYPE: every row's value converted (`bind/alter_type.rs`).
    pub retype: Option<super::alter_type::Retype>,
}

/// A DEFAULT of the form `nextval('s')` / `nextval('s'::regclass)`: the sequence's catalog name
/// and its name as written. Kept as a SERIAL column keeps it, `nextval('<catalog name>')`, so
/// the column counts as the sequence's own ([`crate::catalog_fns::column_sequence`]:
/// pg_get_serial_sequence, pg_depend, pg_dump).
fn nextval_default(e: &ast::Expr) -> Option<(String, String)> {
    let ast::Expr::Function(f) = e else { return None };
    let fname: Vec<String> = f.name.0.iter().filter_map(|p| p.as_ident()).map(fold).collect();
    if !matches!(fname.iter().map(String::as_str).collect::<Vec<_>>()[..], ["nextval"] | ["pg_catalog", "nextval"]) {
        return None;
    }
    let ast::FunctionArguments::List(list) = &f.args else { return None };
    let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(arg))] = list.args.as_slice() else { return None };
    let lit = match arg {
        ast::Expr::Value(v) => v,
        ast::Expr::Cast { expr, data_type, .. } if data_type.to_string().eq_ignore_ascii_case("regclass") => {
            let ast::Expr::Value(v) = expr.as_ref() else { return None };
            v
        }
        _ => return None,
    };
    let ast::Value::SingleQuotedString(s) = &lit.value else { return None };
    let name = match crate::regtypes::qualified_name(s).ok()?.as_slice() {
        [n] => crate::schema::qualify(crate::schema::path().first().map_or("public", String::as_str), n),
        [.., s, n] => crate::schema::qualify(s, n),
        [] => return None,
    };
    Some((name, s.clone()))
}

/// A column DEFAULT's text as kept: a string constant cast to the column's own type (pg_dump's
/// `DEFAULT 'x'::character varying`) is kept as the constant, as a DEFAULT 'x' is, so both read
/// back as PostgreSQL prints them ([`crate::catalog::literal_type_name`]).
pub(super) fn default_text(e: &ast::Expr, ty: SqlType) -> String {
    let qualified = sequences_qualified(e);
    let e = qualified.as_ref().unwrap_or(e);
    if let ast::Expr::Cast { kind: ast::CastKind::DoubleColon, expr, data_type, format: None } = e {
        if let ast::Expr::Value(v) = expr.as_ref() {
            if matches!(v.value, ast::Value::SingleQuotedString(_))
                && data_type.to_string().to_lowercase() == crate::catalog::literal_type_name(ty)
            {
                return v.to_string();
            }
        }
    }
    lower_cast_types(&e.to_string())
}

/// `e` with the unqualified sequence names of its nextval/currval/setval calls (`'s'` or
/// `'s'::regclass`) that resolve outside schema public written qualified (`'spx.s'`), so the
/// DEFAULT calls the same sequence whatever the search path of the INSERT (PostgreSQL keeps
/// the regclass constant's OID); None when there is none to qualify.
fn sequences_qualified(e: &ast::Expr) -> Option<ast::Expr> {
    use std::ops::ControlFlow;
    let mut out = e.clone();
    let mut changed = false;
    let _ = ast::visit_expressions_mut(&mut out, |x: &mut ast::Expr| {
        let ast::Expr::Function(f) = x else { return ControlFlow::<()>::Continue(()) };
        let name = f.name.0.last().and_then(|p| p.as_ident()).map(|i| i.value.to_ascii_lowercase());
        if !matches!(name.as_deref(), Some("nextval" | "currval" | "setval")) {
            return ControlFlow::Continue(());
        }
        let ast::FunctionArguments::List(l) = &mut f.args else { return ControlFlow::Continue(()) };
        let Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(arg))) = l.args.first_mut() else {
            return ControlFlow::Continue(());
        };
        let literal = match arg {
            ast::Expr::Cast { expr, data_type, .. } if data_type.to_string().eq_ignore_ascii_case("regclass") => {
                expr.as_mut()
            }
            other => other,
        };
        let ast::Expr::Value(v) = literal else { return ControlFlow::Continue(()) };
        let ast::Value::SingleQuotedString(rel) = &mut v.value else { return ControlFlow::Continue(()) };
        let plain = |n: &str| {
            !n.is_empty()
                && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
                && !n.starts_with(|c: char| c.is_ascii_digit())
        };
        if !plain(rel) {
            return ControlFlow::Continue(());
        }
        if let Ok(full) = crate::schema::resolve_unqualified_sequence(rel) {
            let (schema, r) = crate::schema::split(&full);
            if full.contains('.') && plain(schema) && !crate::temp_tables::is_temp_schema(schema) && r == rel.as_str() {
                *rel = format!("{schema}.{r}");
                changed = true;
            }
        }
        ControlFlow::Continue(())
    });
    changed.then_some(out)
}

/// SQL text as sqlparser prints it with the type names of its `::` casts in lower case, as
/// PostgreSQL prints them (`(0)::NUMERIC` → `(0)::numeric`, `::CHARACTER VARYING` →
/// `::character varying`): how a CHECK or DEFAULT written so (pg_dump writes PostgreSQL's
/// text) is kept.
pub(super) fn lower_cast_types(text: &str) -> String {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, text).tokenize_with_location() else { return text.to_string() };
    // The words that go on a type name after its first (`double precision`, `timestamp with
    // time zone`, `character varying`).
    const MORE: &[&str] = &["VARYING", "PRECISION", "WITH", "WITHOUT", "TIME", "ZONE"];
    // Byte offsets of the type names' words (only ASCII letters change: lengths stay).
    let mut starts: Vec<(u64, u64)> = Vec::new();
    let mut in_type = false;
    for (i, t) in tokens.iter().enumerate() {
        match &t.token {
            Token::DoubleColon => in_type = true,
            Token::Word(w) if in_type && w.quote_style.is_none() => {
                starts.push((t.span.start.line, t.span.start.column));
                let next = tokens[i + 1..].iter().find(|t| !matches!(t.token, Token::Whitespace(_)));
                in_type = matches!(next.map(|t| &t.token), Some(Token::Word(n)) if n.quote_style.is_none()
                    && MORE.iter().any(|m| n.value.eq_ignore_ascii_case(m)));
            }
            Token::Whitespace(_) => {}
            _ => in_type = false,
        }
    }
    if starts.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let (mut line, mut column) = (1u64, 1u64);
    let mut lowering = false;
    for ch in text.chars() {
        if starts.contains(&(line, column)) {
            lowering = true;
        }
        if lowering && !(ch.is_ascii_alphanumeric() || ch == '_') {
            lowering = false;
        }
        out.push(if lowering { ch.to_ascii_lowercase() } else { ch });
        if ch == '\n' {
            (line, column) = (line + 1, 1);
        } else {
            column += 1;
        }
    }
    out
}

impl Binder<'_> {
    /// `ALTER TABLE t ALTER [COLUMN] c <op>` (`table` resolved, not a view).
    pub(super) fn alter_column(
        &mut self,
        tname: &str,
        table: Arc<TableDef>,
        column: &ast::Ident,
        op: &ast::AlterColumnOperation,
    ) -> Result<Plan> {
        use ast::AlterColumnOperation as Op;
        let relname = crate::schema::relname(tname).to_string();
        if let Some((column, if_exists)) = super::generated::drop_expression_column(column) {
            return super::generated::drop_expression(tname, table, &column, if_exists, op);
        }
        let (column, seq_name) = match super::alter_sequence::identity_column(column) {
            Some((c, s)) => (c, Some(s)),
            None => (column.clone(), None),
        };
        let cn = fold(&column);
        let Some(i) = table.column(&cn) else {
            return Err(SqlError::new(
                code::UNDEFINED_COLUMN,
                format!("column \"{cn}\" of relation \"{relname}\" does not exist"),
            ));
        };
        let mut def = (*table).clone();
        let identity = def.columns[i].identity != Identity::No;
        let is_identity = |hint: bool| {
            let e = SqlError::new(
                code::SYNTAX_ERROR,
                format!("column \"{cn}\" of relation \"{relname}\" is an identity column"),
            );
            if hint {
                e.hint("Use ALTER TABLE ... ALTER COLUMN ... DROP IDENTITY instead.")
            } else {
                e
            }
        };
        let mut plan = AlterColumn {
            table: table.clone(),
            def: def.clone(),
            check_not_null: None,
            sequence: None,
            default_sequence: None,
            retype: None,
        };
        match op {
            Op::SetDefault { value } => {
                if identity {
                    return Err(is_identity(false));
                }
                if def.columns[i].generated.is_some() {
                    return Err(super::generated::is_generated(&cn, &relname, false));
                }
                let col = def.columns[i].clone();
                match nextval_default(value) {
                    Some((seq, written)) => {
                        // A bigint: assignable to any column type nextval's default can have.
                        def.columns[i].default_expr = Some(crate::sequence::nextval_default(&seq));
                        plan.default_sequence = Some((seq, written));
                    }
                    None => {
                        let b = self.expr(value, None)?;
                        let _ = self.assign(b, &col)?;
                        def.columns[i].default_expr = Some(default_text(value, col.ty));
                    }
                }
                def.columns[i].default = Datum::Null;
            }
            Op::DropDefault => {
                if identity {
                    return Err(is_identity(true));
                }
                if def.columns[i].generated.is_some() {
                    return Err(super::generated::is_generated(&cn, &relname, true));
                }
                def.columns[i].default_expr = None;
                def.columns[i].default = Datum::Null;
            }
            Op::SetNotNull => {
                def.columns[i].not_null = true;
                plan.check_not_null = (!table.columns[i].not_null).then_some(i);
            }
            Op::DropNotNull => {
                if identity {
                    return Err(is_identity(false));
                }
                if def.pk.contains(&i) {
                    return Err(SqlError::new(
                        code::INVALID_TABLE_DEFINITION,
                        format!("column \"{cn}\" is in a primary key"),
                    ));
                }
                def.columns[i].not_null = false;
            }
            Op::AddGenerated { generated_as, sequence_options } => {
                let col = &def.columns[i];
                if !col.ty.is_integer() {
                    return Err(SqlError::new(
                        code::INVALID_PARAMETER_VALUE,
                        "identity column type must be smallint, integer, or bigint",
                    ));
                }
                if !col.not_null {
                    return Err(SqlError::new(
                        "55000",
                        format!("column \"{cn}\" of relation \"{relname}\" must be declared NOT NULL before identity can be added"),
                    ));
                }
                if identity {
                    return Err(SqlError::new(
                        "55000",
                        format!("column \"{cn}\" of relation \"{relname}\" is already an identity column"),
                    ));
                }
                if col.default_expr.is_some() || !col.default.is_null() {
                    return Err(SqlError::new(
                        "55000",
                        format!("column \"{cn}\" of relation \"{relname}\" already has a default value"),
                    ));
                }
                let seq = match &seq_name {
                    Some(s) => new_object_name(self.sql, s)?,
                    None => super::constraints::choose_name(
                        tname,
                        Some(cn.as_str()),
                        "seq",
                        crate::regtypes::relation_named,
                    ),
                };
                let mut sdef = self.sequence_def(&seq, sequence_options.as_deref().unwrap_or(&[]), col.ty)?;
                sdef.owned_by = Some(tname.to_string());
                def.columns[i].identity = match generated_as {
                    Some(ast::GeneratedAs::ByDefault) => Identity::ByDefault,
                    _ => Identity::Always,
                };
                def.columns[i].default_expr = Some(crate::sequence::nextval_default(&sdef.name));
                plan.sequence = Some(sdef);
            }
            Op::SetDataType { data_type, using, .. } => {
                plan.retype = Some(self.alter_type(&mut def, i, data_type, using.as_ref())?);
            }
            Op::GenericOptions { .. } => {
                return Err(SqlError::unsupported("ALTER TABLE ... ALTER COLUMN ... OPTIONS is not supported yet"))
            }
        }
        if seq_name.is_some() && plan.sequence.is_none() {
            return Err(SqlError::syntax("SEQUENCE"));
        }
        plan.def = def;
        Ok(Plan::AlterColumn(Box::new(plan)))
    }
}

#[cfg(test)]
mod tests {
    use super::lower_cast_types;

    #[test]
    fn cast_type_names_print_in_lower_case_and_nothing_else_changes() {
        assert_eq!(lower_cast_types("(v > (0)::NUMERIC)"), "(v > (0)::numeric)");
        assert_eq!(
            lower_cast_types("'A''s'::CHARACTER VARYING || E'\\x41' || x::TIMESTAMP WITH TIME ZONE::TEXT AND B"),
            "'A''s'::character varying || E'\\x41' || x::timestamp with time zone::text AND B"
        );
        assert_eq!(lower_cast_types("a::\"MyType\" = 'X'"), "a::\"MyType\" = 'X'");
        assert_eq!(lower_cast_types("NOT NULL"), "NOT NULL");
    }
}
