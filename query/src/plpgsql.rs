//! PL/pgSQL (<https://www.postgresql.org/docs/15/plpgsql.html>): functions in
//! `LANGUAGE plpgsql` and `DO` blocks, run by an interpreter on the coordinator.
//!
//! A body is read into statements (`plpgsql/parse.rs`) when the function is created (so a
//! syntax error is CREATE's, as PostgreSQL's validator reports it) and again, once per
//! thread, when it is first called. Names of variables and parameters are resolved while
//! reading: each expression and SQL statement of the body is kept as SQL text with the
//! variables it reads written as `$n` parameters ([`Sql`]), which is how PostgreSQL runs them
//! (`SELECT expr` with the variables as parameters). The interpreter (`plpgsql/run.rs`) binds
//! each such text with the variables' types and runs it in the calling statement's
//! transaction; DML and DDL inside a function are part of that transaction. A block with an
//! EXCEPTION clause runs under a savepoint, rolled back when a handler catches an error.
//!
//! A call of a PL/pgSQL function is `Builtin::PlCall(oid)` in an expression; it cannot run on
//! a shard (it runs statements over every shard), so the coordinator replaces each call by
//! its value before the row it is in is evaluated (`plpgsql/calls.rs`), as nextval's are: in a
//! SELECT's select list (the call's arguments computed by the query, the calls then made
//! row by row in the result's order), in the WHERE of a query of one table without aggregates
//! (the other conditions filter on the shards; the calling ones on the coordinator, before
//! LIMIT), in INSERT's VALUES and UPDATE's SET (over each row as it was), and set-returning
//! calls' rows. Elsewhere (DELETE's or UPDATE's WHERE, a join's, an aggregate's argument) a call
//! is 0A000.
//!
//! Differences from PostgreSQL: a name that is both a variable and a column of a table the
//! statement reads is the variable (PostgreSQL's `plpgsql.variable_conflict = use_variable`;
//! its default is an error); cursors, `RETURN NEXT`/`RETURN QUERY` (set-returning
//! functions), `GET STACKED DIAGNOSTICS` beyond MESSAGE_TEXT / RETURNED_SQLSTATE, and
//! triggers are not built.

mod calls;
mod parse;
mod run;
pub(crate) mod scan;

pub use calls::{any_calls, not_here, resolve_rows, select_per_row};
pub(crate) use parse::literal_text;
pub use parse::{parse, parse_with_outs};
pub use run::{call, do_block, fire, row_type, take_notices, when, Firing};

use orbit_engine::table::SqlType;

/// PostgreSQL's OID of language `plpgsql` (pg_language, as a PostgreSQL 15 cluster's
/// initdb gives it).
pub const LANG_PLPGSQL: u32 = 13563;

/// One variable (or parameter) of a function.
#[derive(Debug, Clone)]
pub struct Var {
    pub name: String,
    pub ty: VarType,
    pub constant: bool,
    pub not_null: bool,
    /// Its DEFAULT (or `:=` initial value), evaluated each time its block is entered.
    pub default: Option<Sql>,
}

/// A variable's declared type.
#[derive(Debug, Clone, PartialEq)]
pub enum VarType {
    /// A parameter's type, known from the function's signature.
    Known(SqlType),
    /// A type as written (`int`, `numeric(10,2)`, `t.col%TYPE`), resolved when its block is
    /// entered.
    Written(String),
    /// `record`: takes the columns of whatever row is assigned to it.
    Record,
    /// `t%ROWTYPE`: a record of table t's columns.
    RowType(String),
}

/// An expression or SQL statement of the body: its text with the variables it reads as
/// `$1`, `$2`, ... in the order of `refs`.
#[derive(Debug, Clone)]
pub struct Sql {
    pub text: String,
    pub refs: Vec<Ref>,
    /// Its line in the body (1-based), for CONTEXT.
    pub line: u32,
    /// The text as written (CONTEXT's `PL/pgSQL expression "..."`).
    pub written: String,
}

/// What a `$n` of a [`Sql`] stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum Ref {
    Var(usize),
    /// A field of a record variable (`r.f`).
    Field(usize, String),
}

/// Where an assignment or INTO writes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Var(usize),
    Field(usize, String),
}

/// `BEGIN ... [EXCEPTION ...] END`, with the variables DECLARE gave it.
#[derive(Debug, Clone)]
pub struct Block {
    pub label: Option<String>,
    pub vars: Vec<usize>,
    pub body: Vec<Stmt>,
    pub handlers: Vec<Handler>,
    pub line: u32,
}

/// `WHEN cond [OR cond ...] THEN statements`.
#[derive(Debug, Clone)]
pub struct Handler {
    pub conditions: Vec<Condition>,
    pub body: Vec<Stmt>,
}

/// An exception condition: a SQLSTATE (five characters; a class when it ends in `000`) or
/// OTHERS.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Others,
    State(String),
}

/// A RAISE's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Log,
    Info,
    Notice,
    Warning,
    Exception,
}

/// `INTO [STRICT] targets`.
#[derive(Debug, Clone)]
pub struct Into {
    pub strict: bool,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone)]
pub enum Stmt {
    Block(Block),
    /// `OPEN cursor ...`: the cursor variable (its value the portal's name, given one when
    /// NULL), SCROLL / NO SCROLL.
    Open {
        var: usize,
        scroll: Option<bool>,
        source: OpenSource,
        line: u32,
    },
    /// `FETCH [direction] cursor INTO targets` (`into` None: MOVE); FOUND says whether a row
    /// was there.
    Fetch {
        var: usize,
        op: FetchDirection,
        count: Option<Sql>,
        into: Option<Vec<Target>>,
        line: u32,
    },
    Close {
        var: usize,
        line: u32,
    },
    /// `FOR rec IN cursor [(args)] LOOP`: the bound cursor opened, each row in turn, closed.
    ForCursor {
        label: Option<String>,
        target: Target,
        var: usize,
        args: Vec<Sql>,
        body: Vec<Stmt>,
        line: u32,
    },
    Assign {
        target: Target,
        value: Sql,
    },
    If {
        arms: Vec<(Sql, Vec<Stmt>)>,
        otherwise: Vec<Stmt>,
        line: u32,
    },
    /// `CASE [subject] WHEN ... THEN ... [ELSE ...] END CASE`; without ELSE, no arm matching
    /// is 20000. The subject is evaluated once into its hidden variable, which each arm's
    /// `$k IN (values)` reads.
    Case {
        subject: Option<(Sql, usize)>,
        arms: Vec<(Sql, Vec<Stmt>)>,
        otherwise: Option<Vec<Stmt>>,
        line: u32,
    },
    Loop {
        label: Option<String>,
        body: Vec<Stmt>,
        line: u32,
    },
    While {
        label: Option<String>,
        cond: Sql,
        body: Vec<Stmt>,
        line: u32,
    },
    ForInt {
        label: Option<String>,
        var: usize,
        reverse: bool,
        lo: Sql,
        hi: Sql,
        step: Option<Sql>,
        body: Vec<Stmt>,
        line: u32,
    },
    /// `FOR target IN query LOOP` (or `IN EXECUTE text [USING ...]`).
    ForQuery {
        label: Option<String>,
        targets: Vec<Target>,
        query: Sql,
        dynamic: Option<Vec<Sql>>,
        body: Vec<Stmt>,
        line: u32,
    },
    Foreach {
        label: Option<String>,
        target: Target,
        slice: usize,
        array: Sql,
        body: Vec<Stmt>,
        line: u32,
    },
    /// EXIT (or CONTINUE: `again`) [label] [WHEN cond].
    Exit {
        again: bool,
        label: Option<String>,
        cond: Option<Sql>,
        line: u32,
    },
    Return {
        value: Option<Sql>,
        line: u32,
    },
    /// `RETURN NEXT [expr]`: one more row of a set-returning function (without a value, the
    /// OUT variables').
    ReturnNext {
        value: Option<Sql>,
        line: u32,
    },
    /// `RETURN QUERY query` (or `RETURN QUERY EXECUTE text [USING ...]`): its rows.
    ReturnQuery {
        query: Sql,
        dynamic: Option<Vec<Sql>>,
        line: u32,
    },
    Raise {
        level: Level,
        condition: Option<String>,
        message: Option<String>,
        args: Vec<Sql>,
        options: Vec<(String, Sql)>,
        line: u32,
    },
    /// `RAISE;` in a handler: the error it caught, again.
    Reraise {
        line: u32,
    },
    Perform {
        query: Sql,
    },
    /// A SQL statement, with INTO for SELECT / RETURNING.
    Exec {
        sql: Sql,
        into: Option<Into>,
    },
    /// `EXECUTE text [INTO ...] [USING ...]`.
    Dynamic {
        text: Sql,
        into: Option<Into>,
        using: Vec<Sql>,
        line: u32,
    },
    /// `GET DIAGNOSTICS` (or `GET STACKED DIAGNOSTICS`: `stacked`) target = item, ...
    GetDiagnostics {
        stacked: bool,
        items: Vec<(Target, String)>,
        line: u32,
    },
    Assert {
        cond: Sql,
        message: Option<Sql>,
        line: u32,
    },
    Null,
}

/// A function body as read.
#[derive(Debug, Clone)]
pub struct Function {
    /// Every variable: the parameters first (`$1` is variable 0), then FOUND, then the
    /// declared ones and loop variables.
    pub vars: Vec<Var>,
    pub block: Block,
    /// FOUND's variable.
    pub found: usize,
    /// A trigger function: its variables after FOUND are `parse::TRIGGER_VARS`.
    pub trigger: bool,
    /// The OUT parameters' (or TABLE columns') variables.
    pub outs: Vec<usize>,
    /// The bound cursors its DECLARE sections declare (`c CURSOR [(args)] FOR query`).
    pub cursors: Vec<CursorDecl>,
}

/// A bound cursor variable's declaration: its query, and the variables its arguments are
/// (visible in the query only).
#[derive(Debug, Clone)]
pub struct CursorDecl {
    pub var: usize,
    pub args: Vec<usize>,
    pub query: Sql,
    /// SCROLL (Some(true)), NO SCROLL (Some(false)) or neither.
    pub scroll: Option<bool>,
}

/// FETCH's and MOVE's direction (its count, when it takes one, is the statement's `count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchDirection {
    Next,
    Prior,
    First,
    Last,
    Absolute,
    Relative,
    Forward,
    Backward,
    /// FORWARD ALL / ALL (MOVE).
    ForwardAll,
    BackwardAll,
}

/// Where OPEN takes a cursor's rows from.
#[derive(Debug, Clone)]
pub enum OpenSource {
    /// A bound cursor's own query, with its arguments.
    Bound(Vec<Sql>),
    /// `OPEN c FOR query`.
    Query(Sql),
    /// `OPEN c FOR EXECUTE text [USING ...]`.
    Dynamic(Sql, Vec<Sql>),
}
