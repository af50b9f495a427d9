//! SQL types beyond the numbers and strings of the first slice: character(n), the date/time
//! types, uuid, json and jsonb. Text forms through the simple protocol, binary forms (what
//! tokio-postgres sends and reads for parameters and results) byte for byte as PostgreSQL's
//! `*send`/`*recv` functions write them, and the values back after a SIGKILL and restart.
//! Expected texts come from PostgreSQL 15 (UTC, DateStyle ISO, IntervalStyle postgres).

use orbit_tests::Orbit;
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

async fn connect(port: u16) -> Client {
    let (client, conn) =
        tokio_postgres::connect(&format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"), NoTls)
            .await
            .expect("connect");
    tokio::spawn(conn);
    client
}

/// The rows of a simple-protocol query as text ("NULL" for null), cells joined by '|'.
async fn text_rows(c: &Client, sql: &str) -> Vec<String> {
    let msgs = c.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    msgs.iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).unwrap_or("NULL")).collect::<Vec<_>>().join("|"))
            }
            _ => None,
        })
        .collect()
}

/// Checks each (statement, expected rows) pair; expected rows are joined by '\n'.
async fn check(c: &Client, cases: &[(&str, &str)]) {
    for (sql, want) in cases {
        let got = text_rows(c, sql).await.join("\n");
        assert_eq!(&got, want, "{sql}");
    }
}

/// Checks that each statement fails with (SQLSTATE, message).
async fn check_errors(c: &Client, cases: &[(&str, &str, &str)]) {
    for (sql, code, msg) in cases {
        let e = c.simple_query(sql).await.expect_err(sql);
        let db = e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e}"));
        assert_eq!((db.code().code(), db.message()), (*code, *msg), "{sql}");
    }
}

/// A value's binary form, whatever its type: what the server sent, byte for byte.
#[derive(Debug, PartialEq)]
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Raw, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

#[test]
fn character_n_is_blank_padded() {
    let o = Orbit::start(&["--shards", "2"]);
    rt().block_on(async {
        let c = connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE pc (id char(4) PRIMARY KEY, f char(10), v int); \
             INSERT INTO pc VALUES ('a', 'x', 1), ('bb  ', 'yy', 2), ('c', 'abcdefghij   ', 3)",
        )
        .await
        .unwrap();
        check(
            &c,
            &[
                ("SELECT id || '|', f, length(f), f = 'yy', v FROM pc ORDER BY id", "a||x         |1|f|1\nbb||yy        |2|t|2\nc||abcdefghij|10|f|3"),
                // Trailing spaces do not count: the key 'bb' finds 'bb  '.
                ("SELECT v FROM pc WHERE id = 'bb'", "2"),
                ("SELECT v FROM pc WHERE id = 'bb      '", "2"),
                (
                    "SELECT 'a'::char(3) LIKE 'a', 'a'::char(3) || 'b', length('a  '::char(3)), 'a'::char(3) = 'a  '::text, \
                     'a '::char(3)::text, 'abc  '::char(3), 'abcd'::char(3), 'x'::bpchar, 'abc'::char",
                    "f|ab|1|f|a|abc|abc|x|a",
                ),
                ("SELECT max(f), min(f) || '|' FROM pc", "yy        |abcdefghij|"),
            ],
        )
        .await;
        check_errors(
            &c,
            &[
                ("INSERT INTO pc VALUES ('abcde', 'x', 3)", "22001", "value too long for type character(4)"),
                ("SELECT 'abc'::char(0)", "22023", "length for type char must be at least 1"),
                ("SELECT 'a'::char(3) = 1", "42883", "operator does not exist: character = integer"),
            ],
        )
        .await;
        // A parameter of a character(n) column is padded; the result's type is bpchar (1042).
        c.execute("INSERT INTO pc VALUES ($1, $2, 4)", &[&"d", &"zz"]).await.unwrap();
        let row = c.query_one("SELECT f FROM pc WHERE id = $1", &[&"d"]).await.unwrap();
        assert_eq!(row.columns()[0].type_().oid(), 1042);
        assert_eq!(row.get::<_, Raw>(0), Raw(b"zz        ".to_vec()));
        let e = c.execute("INSERT INTO pc VALUES ($1, 'x', 5)", &[&"toolong"]).await.unwrap_err();
        assert_eq!(e.code().map(|c| c.code()), Some("22001"));
    });
}
