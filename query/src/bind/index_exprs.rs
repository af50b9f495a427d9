//! Expression keys and predicates of indexes: `CREATE INDEX ON t (lower(a), (b + 1)) WHERE
//! pred`. Both are kept as SQL text over the table's columns (as CHECK constraints are), bound
//! again when a shard first maintains or reads the index ([`bind_index`]), and printed as
//! PostgreSQL prints them for pg_get_indexdef / pg_get_expr ([`pg_text`]).

use super::constraints::{has_subquery, parse_stored};
use super::{fold, Binder, Scope};
use crate::error::{code, Result, SqlError};
use crate::expr::Expr;
use orbit_engine::table::{ColumnDef, IndexDef, IndexExpr, SqlType, TableDef};
use sqlparser::ast;

/// Functions PostgreSQL does not mark IMMUTABLE (their value can change between calls with
/// the same arguments), refused in index expressions and predicates with 42P17.
const NOT_IMMUTABLE: &[&str] = &[
    "now",
    "random",
    "random_normal",
    "setseed",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "timeofday",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtime",
    "localtimestamp",
    "nextval",
    "currval",
    "lastval",
    "setval",
    "gen_random_uuid",
    "uuid_generate_v4",
    "txid_current",
    "pg_backend_pid",
    "current_user",
    "session_user",
    "current_role",
    "user",
    "current_schema",
    "current_database",
    "current_setting",
    "set_config",
    "version",
    "pg_sleep",
    "age",
    // STABLE: they read the session's settings (DateStyle, the time zone).
    "to_date",
    "format",
    "to_char",
    "to_number",
    "concat",
    "concat_ws",
    "array_to_string",
    "make_timestamptz",
    // STABLE: they print their arguments with the types' output functions.
    "to_json",
    "to_jsonb",
    "array_to_json",
    "row_to_json",
    "json_build_object",
    "jsonb_build_object",
    "json_build_array",
    "jsonb_build_array",
    // STABLE: they read the catalogs.
    "pg_typeof",
    "format_type",
    "obj_description",
    "col_description",
];

/// Whether `e` calls a function PostgreSQL does not mark IMMUTABLE.
pub(super) fn calls_mutable(e: &ast::Expr) -> bool {
    use sqlparser::ast::Visit;
    struct Finder;
    impl ast::Visitor for Finder {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &ast::Expr) -> std::ops::ControlFlow<()> {
            if let ast::Expr::Function(f) = e {
                let name = f.name.0.last().and_then(|p| p.as_ident()).map(fold).unwrap_or_default();
                // to_timestamp(text, text) reads the session's settings; to_timestamp(float8) does not.
                let two_args = matches!(&f.args, ast::FunctionArguments::List(l) if l.args.len() == 2);
                if NOT_IMMUTABLE.contains(&name.as_str()) || (name == "to_timestamp" && two_args) {
                    return std::ops::ControlFlow::Break(());
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    e.visit(&mut Finder).is_break()
}

/// `e` without the parentheses around it (`((b + 1))` is the expression `b + 1`).
fn unnest(mut e: &ast::Expr) -> &ast::Expr {
    while let ast::Expr::Nested(inner) = e {
        e = inner;
    }
    e
}

/// An expression key's column name in the index, as PostgreSQL's FigureColname picks it: a
/// function's name, a cast's type's, else `expr`.
fn key_name(e: &ast::Expr) -> String {
    match unnest(e) {
        ast::Expr::Function(f) => f.name.0.last().and_then(|p| p.as_ident()).map(fold).unwrap_or_else(|| "expr".into()),
        _ => "expr".into(),
    }
}

impl Binder<'_> {
    /// An index's key expression over `def`'s rows, with PostgreSQL's refusals.
    fn index_key(&mut self, def: &TableDef, e: &ast::Expr) -> Result<Expr> {
        if has_subquery(e) {
            return Err(SqlError::new(code::FEATURE_NOT_SUPPORTED, "cannot use subquery in index expression"));
        }
        // Checked before binding: some of them Orbit does not have.
        if calls_mutable(e) {
            return Err(SqlError::new("42P17", "functions in index expression must be marked IMMUTABLE"));
        }
        let scope = Scope { def, alias: def.name.clone(), joined: None };
        self.aggs_banned_in = "index expressions";
        let saved = self.allow_aggs;
        self.allow_aggs = false;
        let bound = self.expr(e, Some(&scope));
        self.allow_aggs = saved;
        let bound = bound?;
        self.no_params()?;
        Ok(bound)
    }

    /// A partial index's predicate over `def`'s rows, with PostgreSQL's refusals.
    fn index_predicate(&mut self, def: &TableDef, e: &ast::Expr) -> Result<Expr> {
        if has_subquery(e) {
            return Err(SqlError::new(code::FEATURE_NOT_SUPPORTED, "cannot use subquery in index predicate"));
        }
        // Checked before binding: some of them Orbit does not have.
        if calls_mutable(e) {
            return Err(SqlError::new("42P17", "functions in index predicate must be marked IMMUTABLE"));
        }
        let scope = Scope { def, alias: def.name.clone(), joined: None };
        self.aggs_banned_in = "index predicates";
        let bound = self.condition(e, Some(&scope), "WHERE")?;
        self.no_params()?;
        Ok(bound)
    }

    fn no_params(&self) -> Result<()> {
        if !self.params.is_empty() {
            return Err(SqlError::new(code::UNDEFINED_PARAMETER, "there is no parameter $1"));
        }
        Ok(())
    }

    /// CREATE INDEX's key list over `table`: the key columns ([`IndexDef::EXPR`] for an
    /// expression), the expressions, and the names PostgreSQL builds the index's name from.
    pub(super) fn index_keys(&mut self, list: &[ast::IndexColumn], table: &TableDef) -> Result<IndexKeys> {
        let mut keys = IndexKeys::default();
        let IndexKeys { columns, exprs, names, options, opclasses } = &mut keys;
        for ic in list {
            options.push(crate::index_options::key_option(&ic.column.options)?);
            let e = unnest(&ic.column.expr);
            if matches!(e, ast::Expr::Identifier(_)) {
                let column = ast::OrderByExpr { expr: e.clone(), options: Default::default(), with_fill: None };
                let plain = ast::IndexColumn { column, operator_class: None };
                let i = self.key_columns(std::slice::from_ref(&plain), &table.columns, "")?;
                names.extend(i.iter().map(|&i| table.columns[i].name.clone()));
                for &i in &i {
                    opclasses.push(crate::index_options::opclass(ic.operator_class.as_ref(), table.columns[i].ty)?);
                }
                columns.extend(i);
                continue;
            }
            let bound = self.index_key(table, e)?;
            opclasses.push(crate::index_options::opclass(ic.operator_class.as_ref(), bound.ty())?);
            let name = key_name(e);
            names.push(name.clone());
            // The index's columns have distinct names, as in PostgreSQL (`expr`, `expr1`).
            let taken = |n: &str| exprs.iter().any(|x: &IndexExpr| x.name == n);
            let mut unique_name = name.clone();
            let mut pass = 0;
            while taken(&unique_name) {
                pass += 1;
                unique_name = format!("{name}{pass}");
            }
            columns.push(IndexDef::EXPR);
            exprs.push(IndexExpr { expr: e.to_string(), name: unique_name, ty: bound.ty() });
        }
        // PostgreSQL's ChooseIndexColumnNames: a name already used gets a number (`a`, `a1`).
        let mut unique: Vec<String> = Vec::with_capacity(names.len());
        for n in names.drain(..) {
            let mut candidate = n.clone();
            let mut pass = 0;
            while unique.contains(&candidate) {
                pass += 1;
                candidate = format!("{n}{pass}");
            }
            unique.push(candidate);
        }
        *names = unique;
        Ok(keys)
    }

    /// CREATE INDEX's INCLUDE columns (PostgreSQL takes key columns and repeats there too).
    pub(super) fn index_include(&mut self, names: &[ast::Ident], table: &TableDef) -> Result<Vec<usize>> {
        let mut out = Vec::with_capacity(names.len());
        for id in names {
            let n = fold(id);
            let i = table.column(&n).ok_or_else(|| {
                SqlError::new(code::UNDEFINED_COLUMN, format!("column \"{n}\" does not exist")).at(self.pos(&id.span))
            })?;
            out.push(i);
        }
        Ok(out)
    }

    /// CREATE INDEX's WHERE: checked over `table`, kept as text.
    pub(super) fn index_where(&mut self, pred: &ast::Expr, table: &TableDef) -> Result<String> {
        self.index_predicate(table, pred)?;
        Ok(unnest(pred).to_string())
    }
}

/// An index's expression keys (in key order) and predicate, bound over `def`'s rows.
pub fn bind_index(def: &TableDef, ix: &IndexDef) -> Result<(Vec<Expr>, Option<Expr>)> {
    let parse = |text: &str| {
        parse_stored(text)
            .map_err(|e| SqlError::internal(format!("stored expression of index \"{}\" does not parse: {e}", ix.name)))
    };
    let mut b = Binder::detached("index expressions");
    let mut keys = Vec::with_capacity(ix.exprs.len());
    for x in &ix.exprs {
        keys.push(b.index_key(def, &parse(&x.expr)?)?);
    }
    let pred = match &ix.predicate {
        Some(p) => Some(Binder::detached("index predicates").index_predicate(def, &parse(p)?)?),
        None => None,
    };
    Ok((keys, pred))
}

/// The names of the columns a stored index expression or predicate uses.
pub(crate) fn columns_used(ix: &IndexDef) -> Vec<String> {
    ix.exprs
        .iter()
        .map(|x| x.expr.as_str())
        .chain(ix.predicate.as_deref())
        .flat_map(super::constraints::check_columns)
        .collect()
}

/// A stored index expression or predicate as PostgreSQL prints it: every operation in
/// parentheses (`((b * 2) + 1)`, `(done = false)`), or with `pretty` only where precedence
/// needs them (`b * 2 + 1`); a string constant compared with a column carries its type
/// (`'x'::text`, the column cast to text when it is varchar). Text that does not parse is
/// returned as kept.
pub(crate) fn pg_text(def: &TableDef, text: &str, pretty: bool) -> String {
    match parse_stored(text) {
        Ok(e) => Deparse { def: Some(def), pretty }.expr(&e, 0),
        Err(_) => text.to_string(),
    }
}

/// pg_get_expr(text, relation, true): the text pg_index holds (PostgreSQL's form, as
/// [`pg_text`] printed it) printed again with only the parentheses precedence needs.
pub(crate) fn pretty_text(text: &str) -> String {
    match parse_stored(text) {
        // Only text this deparser printed (other catalogs' expressions stay as kept).
        Ok(e) if Deparse { def: None, pretty: false }.expr(&e, 0) == text => {
            Deparse { def: None, pretty: true }.expr(&e, 0)
        }
        Ok(_) => text.to_string(),
        Err(_) => text.to_string(),
    }
}

/// An index key as pg_get_indexdef lists it: a function call as is, another expression in
/// parentheses.
pub(crate) fn key_text(def: &TableDef, x: &IndexExpr, pretty: bool) -> String {
    let t = pg_text(def, &x.expr, pretty);
    match parse_stored(&x.expr) {
        Ok(e) if matches!(unnest(&e), ast::Expr::Function(_)) => t,
        _ => format!("({t})"),
    }
}

struct Deparse<'a> {
    def: Option<&'a TableDef>,
    pretty: bool,
}

/// Binding strength of an operator, as PostgreSQL's grammar has it (higher binds tighter).
fn precedence(op: &ast::BinaryOperator) -> u8 {
    use ast::BinaryOperator as B;
    match op {
        B::Or => 1,
        B::And => 2,
        B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => 4,
        B::Plus | B::Minus => 6,
        B::Multiply | B::Divide | B::Modulo => 7,
        _ => 5,
    }
}

impl Deparse<'_> {
    fn column_type(&self, e: &ast::Expr) -> Option<SqlType> {
        match unnest(e) {
            ast::Expr::Identifier(id) => {
                self.def?.columns.iter().find(|c: &&ColumnDef| c.name == fold(id)).map(|c| c.ty)
            }
            _ => None,
        }
    }

    fn is_string(e: &ast::Expr) -> bool {
        matches!(unnest(e), ast::Expr::Value(v) if matches!(v.value, ast::Value::SingleQuotedString(_)))
    }

    /// An argument of function `name`: a varchar column given to a text function shows the
    /// implicit cast to text (`upper((note)::text)`), as PostgreSQL prints it.
    fn text_arg(&self, name: &str, x: &ast::Expr) -> String {
        const TEXT_FUNCTIONS: &[&str] = &[
            "lower",
            "upper",
            "initcap",
            "length",
            "md5",
            "btrim",
            "ltrim",
            "rtrim",
            "substr",
            "left",
            "right",
            "replace",
            "reverse",
            "split_part",
            "strpos",
        ];
        let varchar = matches!(self.column_type(x), Some(SqlType::Varchar(_)));
        let col = self.expr(x, 0);
        match (varchar && TEXT_FUNCTIONS.contains(&name), self.pretty) {
            (false, _) => col,
            (true, true) => format!("{col}::text"),
            (true, false) => format!("({col})::text"),
        }
    }

    /// `e` inside an operator of binding strength `outer` (0: at the top).
    fn expr(&self, e: &ast::Expr, outer: u8) -> String {
        use ast::Expr as E;
        let wrap = |s: String, prec: u8| {
            if !self.pretty || prec < outer {
                format!("({s})")
            } else {
                s
            }
        };
        match e {
            E::Nested(inner) => self.expr(inner, outer),
            E::Identifier(id) => crate::regtypes::quote_ident(&fold(id)),
            E::Value(v) => match &v.value {
                // A constant of a cast keeps its type from the cast.
                ast::Value::SingleQuotedString(s) if outer == 9 => format!("'{}'", s.replace('\'', "''")),
                ast::Value::SingleQuotedString(s) => format!("'{}'::text", s.replace('\'', "''")),
                ast::Value::Boolean(b) => b.to_string(),
                other => other.to_string(),
            },
            E::BinaryOp { left, op, right } => {
                let p = precedence(op);
                let side = |a: &ast::Expr, other: &ast::Expr| {
                    let varchar = matches!(self.column_type(a), Some(SqlType::Varchar(_) | SqlType::Bpchar(_)));
                    if varchar && Self::is_string(other) && p == 4 {
                        let col = self.expr(a, 0);
                        if self.pretty {
                            format!("{col}::text")
                        } else {
                            format!("({col})::text")
                        }
                    } else {
                        self.expr(a, p)
                    }
                };
                // A right operand of the same strength keeps its parentheses: a - (b - c).
                let r = side(right, left);
                let r = match unnest(right) {
                    E::BinaryOp { op: rop, .. } if self.pretty && precedence(rop) == p => format!("({r})"),
                    _ => r,
                };
                wrap(format!("{} {op} {r}", side(left, right)), p)
            }
            E::UnaryOp { op: ast::UnaryOperator::Not, expr } => wrap(format!("NOT {}", self.expr(expr, 3)), 3),
            E::UnaryOp { op, expr } => format!("{op}{}", self.expr(expr, 8)),
            E::Cast { kind: ast::CastKind::DoubleColon, expr, data_type, format: None } => {
                // The type as format_type names it (`::integer` for `::int`).
                let ty = crate::bind::sql_type(data_type)
                    .map_or_else(|_| data_type.to_string().to_lowercase(), |t| t.name());
                let inner = self.expr(expr, 9);
                let literal = matches!(unnest(expr), E::Value(_));
                if self.pretty || literal {
                    format!("{inner}::{ty}")
                } else {
                    format!("({inner})::{ty}")
                }
            }
            E::IsNull(x) => wrap(format!("{} IS NULL", self.expr(x, 5)), 5),
            E::IsDistinctFrom(a, b) => wrap(format!("{} IS DISTINCT FROM {}", self.expr(a, 5), self.expr(b, 5)), 5),
            E::IsNotDistinctFrom(a, b) => {
                wrap(format!("{} IS NOT DISTINCT FROM {}", self.expr(a, 5), self.expr(b, 5)), 5)
            }
            E::IsNotNull(x) => wrap(format!("{} IS NOT NULL", self.expr(x, 5)), 5),
            E::Function(f) => {
                let args = match &f.args {
                    ast::FunctionArguments::List(l) if l.duplicate_treatment.is_none() && l.clauses.is_empty() => {
                        let mut out = Vec::new();
                        for a in &l.args {
                            match a {
                                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => {
                                    out.push(self.text_arg(&f.name.to_string().to_lowercase(), x))
                                }
                                _ => return e.to_string(),
                            }
                        }
                        out.join(", ")
                    }
                    _ => return e.to_string(),
                };
                format!("{}({args})", f.name.to_string().to_lowercase())
            }
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs() -> TableDef {
        let columns = [("b", SqlType::Int4), ("done", SqlType::Bool), ("email", SqlType::Text)]
            .into_iter()
            .map(|(n, t)| ColumnDef::new(n, t))
            .chain(std::iter::once(ColumnDef::new("status", SqlType::Varchar(Some(10)))))
            .collect();
        TableDef { name: "jobs".into(), columns, ..TableDef::default_empty() }
    }

    #[test]
    fn expressions_print_as_postgresql_prints_them() {
        // From PostgreSQL 15: pg_get_expr(indpred/indexprs, indrelid [, true]).
        let t = jobs();
        for (kept, plain, pretty) in [
            ("(b * 2) + 1", "((b * 2) + 1)", "b * 2 + 1"),
            ("b * (2 + 1)", "(b * (2 + 1))", "b * (2 + 1)"),
            ("email IS NOT NULL AND b > 0", "((email IS NOT NULL) AND (b > 0))", "email IS NOT NULL AND b > 0"),
            ("NOT done", "(NOT done)", "NOT done"),
            ("done", "done", "done"),
            ("done = false", "(done = false)", "done = false"),
            ("status = 'x'", "((status)::text = 'x'::text)", "status::text = 'x'::text"),
            ("lower(email)", "lower(email)", "lower(email)"),
            ("upper(status)", "upper((status)::text)", "upper(status::text)"),
        ] {
            assert_eq!(pg_text(&t, kept, false), plain, "{kept}");
            assert_eq!(pg_text(&t, kept, true), pretty, "{kept}");
            assert_eq!(pretty_text(plain), pretty, "{plain}");
        }
        let key = |e: &str| IndexExpr { expr: e.into(), name: "expr".into(), ty: SqlType::Int4 };
        assert_eq!(key_text(&t, &key("b + 1"), false), "((b + 1))");
        assert_eq!(key_text(&t, &key("b + 1"), true), "(b + 1)");
        assert_eq!(key_text(&t, &key("lower(email)"), false), "lower(email)");
        // Other catalogs' expressions are left as kept.
        assert_eq!(pretty_text("nextval('s'::regclass)"), "nextval('s'::regclass)");
    }
}

/// CREATE INDEX's keys: columns ([`IndexDef::EXPR`] for an expression), the expressions, the
/// names PostgreSQL builds the index's name from, and per key its indoption bits and operator
/// class ([`IndexDef::options`], [`IndexDef::opclasses`]).
#[derive(Default)]
pub(super) struct IndexKeys {
    pub columns: Vec<usize>,
    pub exprs: Vec<IndexExpr>,
    pub names: Vec<String>,
    pub options: Vec<u16>,
    pub opclasses: Vec<u32>,
}
