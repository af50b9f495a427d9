//! SQL behaviour files: every `tests/slt/*.slt` (sqllogictest format) runs on a real
//! PostgreSQL 15 and on Orbit (`--shards 2`), and must pass on both. The expected results in the
//! files are PostgreSQL's own, so a wrong expectation fails on PostgreSQL.
//!
//! Each file runs on a fresh state: a new database on the PostgreSQL cluster (one cluster for
//! the whole test), a fresh Orbit server. Statements go over the simple query protocol, so
//! every value is the server's own text form (bools `t`/`f`, floats as PostgreSQL prints them);
//! SQL NULL is written `NULL` and the empty string `(empty)`. Rows compare as sqllogictest's
//! default validator does: whitespace runs count as one space and leading/trailing whitespace
//! is dropped, so a test about spaces wraps the value (`'[' || x || ']'`).
//!
//! Column types: `query <types>` takes one letter per column, checked against the column's type
//! as the server describes it (the statement is prepared once more to learn the types; a
//! statement that cannot be prepared, e.g. two statements in one, gets `?` for every column):
//! `S` int2, `I` int4, `L` int8, `F` float4, `R` float8, `T` text/varchar/char/name, `B` bool,
//! `?` anything else.
//!
//! Errors: an error reads `<SQLSTATE>: <message>`, so `statement error 42P01: relation "t" does
//! not exist` checks both (the text after `error` is a regex), and `statement error (42P01)`
//! checks the SQLSTATE alone.
//!
//! Shards: Orbit runs with `--shards 2`, or once per count a file's `# orbit-shards: 1 2` line
//! names (a fresh server each time).
//!
//! Differences: a record that differs on Orbit is marked in the file, never left silent:
//! `skipif orbit` (with a comment line above saying why) skips it on Orbit; `onlyif orbit`
//! records say what Orbit answers instead. `skipif postgresql` / `onlyif postgresql` work
//! the same way.
//!
//! Regenerating expectations: `ORBIT_SLT_UPDATE=1 cargo test -p orbit-tests --test slt` runs the
//! files only on PostgreSQL and rewrites each record's expected output with PostgreSQL's
//! (sqllogictest's `update_test_file`); review the diff. `ORBIT_SLT_FILE=<substring>` runs only
//! the files whose name contains it. Without PostgreSQL 15 installed the files run on Orbit
//! alone (against the expectations committed from PostgreSQL).

use std::path::PathBuf;

use orbit_tests::{workspace_root, Orbit, RealPostgres};
use sqllogictest::{AsyncDB, ColumnType, DBOutput, Runner};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// A column type as the letter in a `query` record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Col(char);

impl ColumnType for Col {
    fn from_char(value: char) -> Option<Self> {
        Some(Col(value))
    }

    fn to_char(&self) -> char {
        self.0
    }
}

fn col_of(t: &Type) -> Col {
    Col(match *t {
        Type::INT2 => 'S',
        Type::INT4 => 'I',
        Type::INT8 => 'L',
        Type::FLOAT4 => 'F',
        Type::FLOAT8 => 'R',
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => 'T',
        Type::BOOL => 'B',
        _ => '?',
    })
}

/// An error as the files see it: `<SQLSTATE>: <message>`, or the client's own error.
#[derive(Debug)]
enum SltError {
    Db { code: String, message: String },
    Client(String),
}

impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SltError::Db { code, message } => write!(f, "{code}: {message}"),
            SltError::Client(e) => write!(f, "client error: {e}"),
        }
    }
}

impl std::error::Error for SltError {}

impl From<tokio_postgres::Error> for SltError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => SltError::Db { code: db.code().code().to_string(), message: db.message().to_string() },
            None => SltError::Client(e.to_string()),
        }
    }
}

struct Db {
    client: Client,
    engine: &'static str,
}

#[async_trait::async_trait]
impl AsyncDB for Db {
    type Error = SltError;
    type ColumnType = Col;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Col>, SltError> {
        let msgs = self.client.simple_query(sql).await?;
        let mut width = None;
        let mut rows = vec![];
        let mut count = 0;
        for m in msgs {
            match m {
                SimpleQueryMessage::RowDescription(cols) => width = Some(cols.len()),
                SimpleQueryMessage::Row(r) => {
                    width = Some(r.len());
                    rows.push(
                        (0..r.len())
                            .map(|i| match r.get(i) {
                                None => "NULL".to_string(),
                                Some("") => "(empty)".to_string(),
                                Some(v) => v.to_string(),
                            })
                            .collect(),
                    );
                }
                SimpleQueryMessage::CommandComplete(n) => count = n,
                _ => {}
            }
        }
        let Some(width) = width else {
            return Ok(DBOutput::StatementComplete(count));
        };
        // The simple protocol does not say the column types: ask for them by preparing the
        // statement (a statement list cannot be prepared: its columns read `?`).
        let types = match self.client.prepare(sql).await {
            Ok(st) if st.columns().len() == width => st.columns().iter().map(|c| col_of(c.type_())).collect(),
            _ => vec![Col('?'); width],
        };
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        self.engine
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await
    }

    fn error_sql_state(err: &SltError) -> Option<String> {
        match err {
            SltError::Db { code, .. } => Some(code.clone()),
            SltError::Client(_) => None,
        }
    }
}

async fn connect(port: u16, dbname: &str) -> Result<Client, SltError> {
    let (client, conn) =
        tokio_postgres::connect(&format!("host=127.0.0.1 port={port} user=postgres dbname={dbname}"), NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

/// A runner whose connections go to `port`/`dbname` under the engine name `engine`.
fn runner(port: u16, dbname: String, engine: &'static str) -> Runner<Db, impl sqllogictest::MakeConnection<Conn = Db>> {
    let mut r = Runner::new(move || {
        let dbname = dbname.clone();
        async move { Ok(Db { client: connect(port, &dbname).await?, engine }) }
    });
    r.with_column_validator(|actual: &Vec<Col>, expected: &Vec<Col>| actual == expected);
    r
}

fn slt_files() -> Vec<PathBuf> {
    let dir = workspace_root().join("tests").join("slt");
    let only = std::env::var("ORBIT_SLT_FILE").ok();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .filter(|p| only.as_deref().is_none_or(|o| p.to_string_lossy().contains(o)))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt files in {}", dir.display());
    files
}

/// The shard counts a file runs on Orbit with: those its `# orbit-shards: 1 2` line names (a
/// file whose plans differ with one shard, such as merge joins on the coordinator), else 2.
fn shard_counts(file: &std::path::Path) -> Vec<usize> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let named: Vec<usize> = text
        .lines()
        .find_map(|l| l.strip_prefix("# orbit-shards:"))
        .map(|l| l.split_whitespace().filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default();
    if named.is_empty() {
        vec![2]
    } else {
        named
    }
}

/// A fresh database on the PostgreSQL cluster for one file.
async fn fresh_pg_database(pg: &RealPostgres, file: &std::path::Path) -> String {
    let stem = file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    let name: String = format!("slt_{stem}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect();
    let admin = connect(pg.port, "postgres").await.unwrap_or_else(|e| panic!("connect to PostgreSQL: {e}"));
    // Two Query messages: CREATE DATABASE cannot run inside the implicit transaction of a list.
    for sql in [format!("DROP DATABASE IF EXISTS {name}"), format!("CREATE DATABASE {name}")] {
        admin.simple_query(&sql).await.unwrap_or_else(|e| panic!("{sql}: {}", SltError::from(e)));
    }
    name
}

#[test]
fn slt_files_pass_on_postgresql_and_orbit() {
    let update = std::env::var("ORBIT_SLT_UPDATE").is_ok_and(|v| v == "1");
    let pg = match RealPostgres::start() {
        Ok(pg) => Some(pg),
        Err(why) => {
            assert!(!update, "ORBIT_SLT_UPDATE=1 needs PostgreSQL 15: {why}");
            println!("PostgreSQL 15 not available ({why}): the files run on Orbit alone");
            None
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let files = slt_files();
    let mut failures = vec![];
    rt.block_on(async {
        for file in &files {
            let name = file.display().to_string();
            if let Some(pg) = &pg {
                let db = fresh_pg_database(pg, file).await;
                let mut r = runner(pg.port, db, "postgresql");
                if update {
                    let validator = sqllogictest::default_validator;
                    let normalizer = sqllogictest::default_normalizer;
                    let columns: sqllogictest::ColumnTypeValidator<Col> = |a, e| a == e;
                    if let Err(e) = r.update_test_file(file, " ", validator, normalizer, columns).await {
                        failures.push(format!("{name}: update from PostgreSQL failed: {e}"));
                    }
                    println!("{name}: expectations rewritten from PostgreSQL 15");
                    continue;
                }
                match r.run_file_async(file).await {
                    Ok(()) => println!("{name}: passes on PostgreSQL 15"),
                    Err(e) => {
                        failures.push(format!("{name} on PostgreSQL 15 (a wrong expectation?):\n{}", e.display(false)))
                    }
                }
            }
            for shards in shard_counts(file) {
                let orbit = Orbit::start(&["--shards", &shards.to_string()]);
                let mut r = runner(orbit.pg_port, "postgres".to_string(), "orbit");
                match r.run_file_async(file).await {
                    Ok(()) => println!("{name}: passes on Orbit ({shards} shards)"),
                    Err(e) => failures.push(format!("{name} on Orbit ({shards} shards):\n{}", e.display(false))),
                }
                drop(orbit);
            }
        }
    });
    assert!(failures.is_empty(), "{} file runs failed:\n\n{}", failures.len(), failures.join("\n\n"));
}
