//! `oid` and the OID alias types `regclass`, `regtype`, `regnamespace` and `regproc`: their
//! text input and output as PostgreSQL's `oidin`/`regclassin`/`regclassout`/... write them.
//! An alias type reads a name and stores the object's OID, and prints the OID back as the
//! name, against this shard's copy of the catalog (every shard has one, so any shard can).
//!
//! Name lookup reads the shard's catalog. Expressions over a user table's rows are evaluated
//! on the shards while the shard's state is borrowed; there the last directory this thread
//! built is used (refreshed whenever the catalog can be read, at the latest when a statement
//! is bound), so a name printed there can lag behind DDL run in the meantime.

use crate::error::{code, Result, SqlError};
use orbit_engine::table::{OidKind, SqlType};
use std::cell::RefCell;
use std::sync::Arc;

/// A relation the catalog knows: OID, namespace OID, name.
#[derive(Debug, Clone)]
struct Relation {
    oid: u32,
    namespace: u32,
    name: String,
    /// pg_class.relkind.
    kind: char,
}

thread_local! {
    /// The last relation directory built on this thread (see the module comment), and the
    /// catalog version it was built at.
    static DIRECTORY: RefCell<Arc<Vec<Relation>>> = RefCell::new(Arc::new(Vec::new()));
    static DIRECTORY_VERSION: std::cell::Cell<u64> = const { std::cell::Cell::new(u64::MAX) };
}

/// Builds the relation directory again if the shard's catalog changed since it was built: run
/// before each mesh job (`orbit_shards::state::set_before_job`), where the shard is not yet
/// borrowed, so that a job's expressions (`oid::regclass::text` in a grouped query's keys on a
/// shard that bound nothing) read the catalog as it is, not as it was.
pub fn refresh_if_stale() {
    if DIRECTORY_VERSION.with(|v| v.get()) != orbit_engine::table::catalog_version() {
        directory();
    }
}

/// Every relation: user tables, their indexes, the sequences, the system views.
fn directory() -> Arc<Vec<Relation>> {
    let version = orbit_engine::table::catalog_version();
    let tables = orbit_shards::state::try_with_shard(|s| {
        (crate::catalog::user_tables_in(&s.tables), crate::sequence::entries_in(&s.tables))
    });
    let Some((tables, sequences)) = tables else { return DIRECTORY.with(|d| d.borrow().clone()) };
    let dir = Arc::new(
        crate::catalog::relations(&tables, &sequences)
            .into_iter()
            .map(|(oid, namespace, name, kind)| Relation { oid, namespace, name, kind })
            .collect::<Vec<_>>(),
    );
    DIRECTORY.with(|d| *d.borrow_mut() = dir.clone());
    DIRECTORY_VERSION.with(|v| v.set(version));
    dir
}

/// pg_relation_is_publishable(relation): whether the relation is a user table (NULL for an
/// OID no relation has).
pub fn relation_is_publishable(oid: u32) -> Option<bool> {
    directory().iter().find(|r| r.oid == oid).map(|r| r.kind == 'r' && r.namespace == 2200)
}

/// pg_table_is_visible(relation): false for a relation in a schema off the search path
/// (information_schema); true otherwise.
pub fn relation_is_visible(oid: u32) -> bool {
    directory().iter().find(|r| r.oid == oid).is_none_or(|r| r.namespace == 11 || visible(r))
}

/// Whether a user relation is found by its bare name along the search path.
fn visible(r: &Relation) -> bool {
    match crate::schema::name_of(r.namespace) {
        Some(s) => crate::schema::relation_path().contains(&s) && first_on_path(&r.name) == Some(r.namespace),
        None => false,
    }
}

/// The namespace of the first relation named `name` along the search path.
fn first_on_path(name: &str) -> Option<u32> {
    let dir = directory();
    crate::schema::relation_path()
        .iter()
        .filter_map(|s| crate::schema::oid_of(s))
        .find(|ns| dir.iter().any(|r| r.namespace == *ns && r.name == name))
}

/// Whether a relation of this name is in this shard's catalog (tables, indexes, primary keys'
/// indexes, sequences, system views).
pub fn relation_named(name: &str) -> bool {
    let (schema, rel) = crate::schema::split(name);
    let ns = crate::schema::oid_of(schema);
    directory().iter().any(|r| r.name == rel && Some(r.namespace) == ns)
}

/// Reads the text form of a value of `kind`.
pub fn parse(kind: OidKind, s: &str) -> Result<u32> {
    if kind != OidKind::Oid {
        // Every alias type reads "-" as InvalidOid and a number as the OID itself.
        if s == "-" {
            return Ok(0);
        }
        let t = s.trim();
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            return parse_oid(s);
        }
    }
    match kind {
        OidKind::Oid => parse_oid(s),
        OidKind::RegClass => regclass_in(s),
        OidKind::RegType => regtype_in(s),
        OidKind::RegNamespace => {
            let names = qualified_name(s)?;
            let [name] = &names[..] else { return Err(invalid_name()) };
            namespace_oid(name)
        }
        OidKind::RegProc => regproc_in(s),
        OidKind::RegProcedure => regprocedure_in(s),
    }
}

/// regproc's input of a function name: the type I/O functions Orbit lists in pg_type
/// (`'pg_catalog.array_in'::regproc`, which pgjdbc compares `typinput` with to tell arrays),
/// bare or qualified by pg_catalog, and the SQL functions CREATE FUNCTION made. Orbit's
/// pg_proc lists no built-in function, so any other name is 0A000 rather than PostgreSQL's
/// 42883 for a function that may well exist there.
fn regproc_in(s: &str) -> Result<u32> {
    let names = qualified_name(s)?;
    if let Some(oid) = sql_function_oid(&names)? {
        return Ok(oid);
    }
    let name = match &names[..] {
        [name] => name,
        [schema, name] if schema == "pg_catalog" => name,
        _ => return Err(unsupported_proc(s)),
    };
    crate::catalog_builtin::proc_oid(name).ok_or_else(|| unsupported_proc(s))
}

/// The SQL function (CREATE FUNCTION) a regproc name names: None when none has the name,
/// 42725 when several do (PostgreSQL's regprocin).
fn sql_function_oid(names: &[String]) -> Result<Option<u32>> {
    match crate::functions_sql::resolve(names).as_slice() {
        [] => Ok(None),
        [f] => Ok(Some(f.oid)),
        _ => Err(SqlError::new("42725", format!("more than one function named \"{}\"", names.join(".")))),
    }
}

/// regprocedure's input, `name(type, ...)`: a listed function ([`regproc_in`]) whose argument
/// types are the ones written (each read as a type name, `int4` as `integer`; the pseudo-types
/// `cstring`, `internal`, `anyarray` by name).
fn regprocedure_in(s: &str) -> Result<u32> {
    let open =
        s.find('(').ok_or_else(|| SqlError::new(code::INVALID_TEXT_REPRESENTATION, "expected a left parenthesis"))?;
    let inner = s[open + 1..].trim_end();
    let inner = inner
        .strip_suffix(')')
        .ok_or_else(|| SqlError::new(code::INVALID_TEXT_REPRESENTATION, "expected a right parenthesis"))?;
    let written: Vec<String> = if inner.trim().is_empty() {
        Vec::new()
    } else {
        inner.split(',').map(arg_type_name).collect::<Result<_>>()?
    };
    // A SQL function (CREATE FUNCTION) of that name and those argument types.
    let names = qualified_name(&s[..open])?;
    let sql_functions = crate::functions_sql::resolve(&names);
    if let Some(f) = sql_functions.iter().find(|f| f.args.iter().map(|a| a.ty.name()).eq(written.iter().cloned())) {
        return Ok(f.oid);
    }
    if !sql_functions.is_empty() {
        return Err(SqlError::new(code::UNDEFINED_FUNCTION, format!("function \"{}\" does not exist", s.trim())));
    }
    let oid = regproc_in(&s[..open])?;
    let args = crate::catalog_builtin::proc_args(oid).unwrap_or_default();
    if written.len() != args.len() || written.iter().zip(&args).any(|(w, a)| w != a) {
        return Err(unsupported_proc(s));
    }
    Ok(oid)
}

/// A type name as format_type prints it: Orbit's types by their OID, the pseudo-types the
/// listed functions take by their (folded) name.
fn arg_type_name(t: &str) -> Result<String> {
    if let Some(ty) = regtype_in(t).ok().and_then(SqlType::from_oid) {
        return Ok(ty.name());
    }
    let folded = t.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_lowercase();
    match folded.as_str() {
        "cstring" | "internal" | "anyarray" | "anyenum" | "cstring[]" | "_cstring" => {
            Ok(folded.replace("_cstring", "cstring[]"))
        }
        _ => Err(SqlError::new(code::UNDEFINED_OBJECT, format!("type \"{}\" does not exist", t.trim()))),
    }
}

fn unsupported_proc(s: &str) -> SqlError {
    SqlError::unsupported(format!(
        "regproc input of a function other than a type's I/O function is not supported (Orbit has no pg_proc): \"{s}\""
    ))
}

/// to_regclass(), to_regtype(), to_regnamespace(): the type's input, but None where nothing
/// has the name (PostgreSQL 15 still raises syntax errors), and no numeric OIDs (a number is
/// a name nothing has).
pub fn to_reg(kind: OidKind, s: &str) -> Result<Option<u32>> {
    let t = s.trim();
    if t == "-" || (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())) {
        return Ok(None);
    }
    match parse(kind, s) {
        Ok(oid) => Ok(Some(oid)),
        Err(e) if matches!(e.code, code::UNDEFINED_TABLE | code::UNDEFINED_OBJECT | "3F000") => Ok(None),
        Err(e) => Err(e),
    }
}

/// The text form of a value of `kind` with OID `v`.
pub fn format(kind: OidKind, v: u32) -> String {
    if kind != OidKind::Oid && v == 0 {
        return "-".into();
    }
    let name = match kind {
        OidKind::Oid => None,
        OidKind::RegProc => crate::catalog_builtin::proc_name(v)
            .map(str::to_string)
            .or_else(|| crate::functions_sql::by_oid(v).map(|f| crate::enums::display_name(&f.name))),
        OidKind::RegProcedure => crate::catalog_builtin::proc_name(v)
            .zip(crate::catalog_builtin::proc_args(v))
            .map(|(name, args)| format!("{name}({})", args.join(",")))
            .or_else(|| {
                crate::functions_sql::by_oid(v).map(|f| {
                    let args: Vec<String> = f.args.iter().map(|a| a.ty.name()).collect();
                    format!("{}({})", crate::enums::display_name(&f.name), args.join(","))
                })
            }),
        // A relation found by its bare name along the search path prints bare; others
        // qualified by their schema.
        OidKind::RegClass => directory().iter().find(|r| r.oid == v).map(|r| {
            if r.namespace == 11 || visible(r) {
                quote_ident(&r.name)
            } else {
                let ns = namespace_name(r.namespace).unwrap_or_default();
                format!("{}.{}", quote_ident(&ns), quote_ident(&r.name))
            }
        }),
        OidKind::RegType if v == orbit_engine::table::RECORD_OID => Some("record".to_string()),
        OidKind::RegType if v == orbit_engine::table::array::RECORD_ARRAY_OID => Some("record[]".to_string()),
        OidKind::RegType if crate::domains::by_oid(v).is_some() => crate::domains::by_oid(v).map(|d| d.shown()),
        OidKind::RegType => SqlType::from_oid(v)
            .filter(|t| match t.elem().unwrap_or(*t) {
                SqlType::Enum(o) => crate::enums::by_oid(o).is_some(),
                _ => true,
            })
            .map(|t| t.name()),
        OidKind::RegNamespace => namespace_name(v).map(|n| quote_ident(&n)),
    };
    name.unwrap_or_else(|| v.to_string())
}

/// `oidin`: an unsigned 32-bit number; negative numbers down to -2^31 wrap around, as
/// PostgreSQL's strtoul-based reader lets them.
fn parse_oid(s: &str) -> Result<u32> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SqlError::invalid_text("oid", s));
    }
    let out_of_range =
        || SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, format!("value \"{s}\" is out of range for type oid"));
    let v: i64 = t.parse().map_err(|_| out_of_range())?;
    if v > u32::MAX as i64 || v < i32::MIN as i64 {
        return Err(out_of_range());
    }
    Ok(v as u32)
}

fn invalid_name() -> SqlError {
    SqlError::new("42602", "invalid name syntax")
}

/// PostgreSQL's stringToQualifiedNameList: dot-separated identifiers, each either quoted
/// (`""` for a quote) or folded to lower case, blanks allowed around each.
pub(crate) fn qualified_name(s: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut name = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(invalid_name()),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        name.push('"');
                    }
                    Some('"') => break,
                    Some(c) => name.push(c),
                }
            }
            if name.is_empty() {
                return Err(invalid_name());
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' || c.is_whitespace() {
                    break;
                }
                name.push(c.to_ascii_lowercase());
                chars.next();
            }
            if name.is_empty() {
                return Err(invalid_name());
            }
        }
        // Identifiers are truncated to NAMEDATALEN - 1 bytes, on a character boundary.
        while name.len() > 63 {
            name.pop();
        }
        names.push(name);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => return Ok(names),
            Some('.') => {}
            Some(_) => return Err(invalid_name()),
        }
    }
}

fn namespace_oid(name: &str) -> Result<u32> {
    let temp = if name == "pg_temp" { crate::temp_tables::current() } else { None };
    crate::schema::oid_of(temp.as_deref().unwrap_or(name))
        .ok_or_else(|| SqlError::new("3F000", format!("schema \"{name}\" does not exist")))
}

fn namespace_name(oid: u32) -> Option<String> {
    crate::schema::name_of(oid)
}

/// `regclassin`: a relation name, optionally qualified by its schema (and the database).
fn regclass_in(s: &str) -> Result<u32> {
    let names = qualified_name(s)?;
    let (schema, name) = match &names[..] {
        [n] => (None, n),
        [s, n] => (Some(s.as_str()), n),
        [db, s, n] => {
            if db != "postgres" {
                return Err(SqlError::unsupported(format!(
                    "cross-database references are not implemented: \"{}\"",
                    names.join(".")
                )));
            }
            (Some(s.as_str()), n)
        }
        _ => {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                format!("improper relation name (too many dotted names): {}", names.join(".")),
            ))
        }
    };
    let namespaces: Vec<u32> = match schema {
        Some(s) => vec![namespace_oid(s)?],
        // The session's temporary schema, pg_catalog, then the search path.
        None => {
            let temp = crate::temp_tables::current().and_then(|s| crate::schema::oid_of(&s));
            temp.into_iter()
                .chain(std::iter::once(11))
                .chain(crate::schema::path().iter().filter_map(|s| crate::schema::oid_of(s)))
                .collect()
        }
    };
    let dir = directory();
    for ns in namespaces {
        if let Some(r) = dir.iter().find(|r| r.namespace == ns && &r.name == name) {
            return Ok(r.oid);
        }
    }
    let shown = match schema {
        Some(s) => format!("{s}.{name}"),
        None => name.clone(),
    };
    Err(SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{shown}\" does not exist")))
}

/// `regtypein`: a type name as SQL writes it (`integer`, `character varying(10)`, `int4[]`,
/// `pg_catalog.int8`); a modifier is read and dropped.
fn regtype_in(s: &str) -> Result<u32> {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;
    let not_found = || {
        let shown = s.trim().to_lowercase();
        SqlError::new(code::UNDEFINED_OBJECT, format!("type \"{shown}\" does not exist"))
    };
    let dialect = PostgreSqlDialect {};
    let mut p = Parser::new(&dialect).try_with_sql(s).map_err(|_| not_found())?;
    let dt = p.parse_data_type().map_err(|_| not_found())?;
    if p.peek_token().token != sqlparser::tokenizer::Token::EOF {
        let near = p.peek_token().token.to_string();
        return Err(SqlError::syntax(&near).context(format!("invalid type name \"{s}\"")));
    }
    // A domain's own OID (sql_type gives its base type).
    if let Some(oid) = crate::bind::domain_oid(&dt)? {
        return Ok(oid);
    }
    let ty = crate::bind::sql_type(&dt)?;
    Ok(ty.oid())
}

/// An identifier as PostgreSQL's quote_ident writes it: quoted unless lower case letters,
/// digits and underscores not starting with a digit.
pub(crate) fn quote_ident(s: &str) -> String {
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_input_wraps_and_bounds_as_postgresql() {
        assert_eq!(parse(OidKind::Oid, " 12 "), Ok(12));
        assert_eq!(parse(OidKind::Oid, "-1"), Ok(4_294_967_295));
        assert_eq!(parse(OidKind::Oid, "-2147483648"), Ok(2_147_483_648));
        assert_eq!(parse(OidKind::Oid, "-2147483649").unwrap_err().code, "22003");
        assert_eq!(
            parse(OidKind::Oid, "99999999999").unwrap_err().message,
            "value \"99999999999\" is out of range for type oid"
        );
        assert_eq!(parse(OidKind::Oid, "abc").unwrap_err().message, "invalid input syntax for type oid: \"abc\"");
        assert_eq!(parse(OidKind::Oid, "").unwrap_err().code, "22P02");
    }

    #[test]
    fn names_split_and_fold_as_postgresql() {
        assert_eq!(qualified_name(" Foo . \"Bar\"\"x\" "), Ok(vec!["foo".to_string(), "Bar\"x".to_string()]));
        assert_eq!(qualified_name("").unwrap_err().code, "42602");
        assert_eq!(qualified_name("a b").unwrap_err().code, "42602");
        assert_eq!(qualified_name("t.").unwrap_err().code, "42602");
        assert_eq!(qualified_name("\"\"").unwrap_err().code, "42602");
    }

    #[test]
    fn regproc_reads_the_listed_io_functions_by_name() {
        assert_eq!(parse(OidKind::RegProc, "pg_catalog.array_in"), Ok(750));
        assert_eq!(parse(OidKind::RegProc, "int4in"), Ok(42));
        assert_eq!(parse(OidKind::RegProc, "public.array_in").unwrap_err().code, "0A000");
        assert_eq!(parse(OidKind::RegProc, "no_such_function").unwrap_err().code, "0A000");
    }

    #[test]
    fn alias_types_read_numbers_and_dashes_without_the_catalog() {
        assert_eq!(parse(OidKind::RegClass, "-"), Ok(0));
        assert_eq!(parse(OidKind::RegClass, "16385"), Ok(16385));
        assert_eq!(format(OidKind::RegType, 0), "-");
        assert_eq!(format(OidKind::RegType, 1043), "character varying");
        assert_eq!(format(OidKind::RegType, 1007), "integer[]");
        assert_eq!(format(OidKind::RegType, 2205), "regclass");
        assert_eq!(format(OidKind::RegType, 99999), "99999");
        assert_eq!(format(OidKind::RegNamespace, 11), "pg_catalog");
        assert_eq!(format(OidKind::RegProc, 1299), "1299");
        assert_eq!(format(OidKind::RegProc, 42), "int4in");
        assert_eq!(format(OidKind::Oid, 0), "0");
        assert_eq!(parse(OidKind::RegType, "character varying(10)"), Ok(1043));
        assert_eq!(parse(OidKind::RegType, "pg_catalog.int8"), Ok(20));
        assert_eq!(parse(OidKind::RegType, "int4[]"), Ok(1007));
        assert_eq!(parse(OidKind::RegType, "nosuch").unwrap_err().message, "type \"nosuch\" does not exist");
        assert_eq!(parse(OidKind::RegNamespace, "public"), Ok(2200));
        assert_eq!(parse(OidKind::RegNamespace, "nosuch").unwrap_err().code, "3F000");
        assert_eq!(parse(OidKind::RegNamespace, "a.b").unwrap_err().code, "42602");
    }
}
