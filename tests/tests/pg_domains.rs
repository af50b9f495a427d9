//! Domains (CREATE DOMAIN) through real clients and across a crash: the domains, their
//! constraints and defaults survive SIGKILL (on 1 and 2 shards); COPY FROM checks every row
//! against the columns' domains; tokio-postgres reads a domain column as its base type (the
//! RowDescription names the base type's OID, as PostgreSQL's does); psql's `\dD` and `\d t` print
//! what they print against a real PostgreSQL 15 with the same objects, byte for byte.

use futures::SinkExt;
use orbit_tests::{pg_connect, pg_runtime, psql_output as psql, Orbit, RealPostgres};
use tokio_postgres::types::Type;
use tokio_postgres::Client;

const SETUP: &str = "
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE DOMAIN label AS varchar(10) NOT NULL DEFAULT 'none';
CREATE SCHEMA s;
CREATE DOMAIN s.small AS int CONSTRAINT under100 CHECK (VALUE < 100);
CREATE TABLE items (id int PRIMARY KEY, qty posint, name label, size s.small);
";

/// The error of a statement that must fail: its SQLSTATE and message.
async fn error_of(c: &Client, sql: &str) -> (String, String) {
    let e = c.batch_execute(sql).await.expect_err(sql);
    let db = e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e}"));
    (db.code().code().to_string(), db.message().to_string())
}

async fn copy_in(c: &Client, sql: &str, data: &str) -> Result<u64, tokio_postgres::Error> {
    let sink = c.copy_in::<_, bytes::Bytes>(sql).await?;
    let mut sink = Box::pin(sink);
    sink.send(bytes::Bytes::copy_from_slice(data.as_bytes())).await?;
    sink.as_mut().finish().await
}

#[test]
fn domains_survive_sigkill_and_copy_checks_them() {
    for shards in ["1", "2"] {
        let mut o = Orbit::start(&["--shards", shards, "--fsync", "always"]);
        pg_runtime().block_on(async {
            let c = pg_connect(o.pg_port).await;
            c.batch_execute(SETUP).await.unwrap();
            c.batch_execute("ALTER DOMAIN posint ADD CONSTRAINT lt1000 CHECK (VALUE < 1000)").await.unwrap();
            c.batch_execute("INSERT INTO items (id, qty, size) VALUES (1, 5, 50)").await.unwrap();
            // COPY FROM: a row a domain refuses fails the COPY; none of its rows stay.
            let e = copy_in(&c, "COPY items (id, qty, name) FROM STDIN", "2\t3\tok\n3\t-3\tok\n").await.unwrap_err();
            let db = e.as_db_error().expect("db error");
            assert_eq!(db.code().code(), "23514");
            assert_eq!(db.message(), "value for domain posint violates check constraint \"posint_check\"");
            assert_eq!(db.where_(), Some("COPY items, line 2, column qty: \"-3\""));
            let e = copy_in(&c, "COPY items (id, size) FROM STDIN", "4\t300\n").await.unwrap_err();
            assert_eq!(
                e.as_db_error().map(|d| d.message().to_string()).as_deref(),
                Some("value for domain s.small violates check constraint \"under100\"")
            );
            let e = copy_in(&c, "COPY items (id, qty, name) FROM STDIN", "5\t3\t\\N\n").await.unwrap_err();
            let db = e.as_db_error().expect("db error");
            assert_eq!((db.code().code(), db.message()), ("23502", "domain label does not allow null values"));
            assert_eq!(db.where_(), Some("COPY items, line 1, column name: null input"));
            // A column left out of COPY's list takes its domain's DEFAULT.
            let n = copy_in(&c, "COPY items (id, qty) FROM STDIN", "6\t7\n7\t8\n").await.unwrap();
            assert_eq!(n, 2);
        });
        o.restart();
        pg_runtime().block_on(async {
            let c = pg_connect(o.pg_port).await;
            let rows = c.query("SELECT id, qty, name FROM items ORDER BY id", &[]).await.unwrap();
            let got: Vec<(i32, i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
            assert_eq!(got, [(1, 5, "none".into()), (6, 7, "none".into()), (7, 8, "none".into())]);
            // The constraints, the one ALTER DOMAIN added included, and the domain over a domain.
            assert_eq!(
                error_of(&c, "INSERT INTO items (id, qty) VALUES (10, 0)").await,
                ("23514".into(), "value for domain posint violates check constraint \"posint_check\"".into())
            );
            assert_eq!(
                error_of(&c, "INSERT INTO items (id, qty) VALUES (10, 5000)").await,
                ("23514".into(), "value for domain posint violates check constraint \"lt1000\"".into())
            );
            assert_eq!(
                error_of(&c, "INSERT INTO items (id, size) VALUES (10, 200)").await,
                ("23514".into(), "value for domain s.small violates check constraint \"under100\"".into())
            );
            assert_eq!(
                error_of(&c, "UPDATE items SET name = NULL").await,
                ("23502".into(), "domain label does not allow null values".into())
            );
            assert_eq!(
                error_of(&c, "DROP DOMAIN posint").await.0,
                "2BP01",
                "the columns still depend on the domain after the restart"
            );
            // Dropped durably too.
            c.batch_execute("ALTER TABLE items DROP COLUMN size; DROP DOMAIN s.small").await.unwrap();
        });
        o.restart();
        pg_runtime().block_on(async {
            let c = pg_connect(o.pg_port).await;
            let rows = c.query("SELECT typname::text FROM pg_type WHERE typtype = 'd' ORDER BY 1", &[]).await.unwrap();
            let names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            assert_eq!(names, ["label", "posint"]);
        });
    }
}

/// What tokio-postgres sees of a domain column: the base type (OID and value).
async fn driver_view(c: &Client) -> (Vec<Type>, i32, String) {
    let rows = c.query("SELECT qty, name FROM items WHERE id = 1", &[]).await.unwrap();
    let types = rows[0].columns().iter().map(|col| col.type_().clone()).collect();
    (types, rows[0].get(0), rows[0].get(1))
}

const COMMANDS: &[&str] = &[r"\dD", r"\dD s.*", r"\dD posint", r"\d items"];

fn differences(pg: u16, orbit: u16) -> Vec<String> {
    let mut differ = Vec::new();
    for cmd in COMMANDS {
        let want = psql(pg, cmd);
        let got = psql(orbit, cmd);
        assert!(!want.contains("ERROR") && !want.contains("Did not find"), "{cmd} fails on PostgreSQL: {want}");
        if want != got {
            differ.push(format!("{cmd}\n--- PostgreSQL:\n{want}\n--- Orbit:\n{got}"));
        }
    }
    differ
}

#[test]
fn psql_and_drivers_see_domains_as_on_postgresql() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let mut o = Orbit::start(&["--shards", "2", "--fsync", "always"]);
    for port in [pg.port, o.pg_port] {
        orbit_tests::psql_script(port, SETUP);
        orbit_tests::psql_script(port, "INSERT INTO items VALUES (1, 5, 'box', 10)");
    }
    let differ = differences(pg.port, o.pg_port);
    assert!(differ.is_empty(), "psql prints differently:\n{}", differ.join("\n"));
    pg_runtime().block_on(async {
        let want = driver_view(&pg_connect(pg.port).await).await;
        assert_eq!(want, (vec![Type::INT4, Type::VARCHAR], 5, "box".to_string()), "PostgreSQL");
        assert_eq!(driver_view(&pg_connect(o.pg_port).await).await, want, "Orbit");
    });
    o.restart();
    let differ = differences(pg.port, o.pg_port);
    assert!(differ.is_empty(), "psql prints differently after a SIGKILL:\n{}", differ.join("\n"));
}

/// psycopg 3 reads a domain column as its base type (numeric as Decimal, described with
/// numeric's OID, in text and in binary) and gets the domain's error with its constraint name,
/// as against PostgreSQL.
#[test]
fn psycopg_reads_domain_columns_as_their_base_type() {
    let o = Orbit::start(&["--shards", "2"]);
    let script = r#"
import sys, psycopg
from decimal import Decimal
with psycopg.connect(f"host=127.0.0.1 port={sys.argv[1]} user=postgres dbname=postgres", autocommit=True) as c:
    c.execute("CREATE DOMAIN price AS numeric(6,2) CHECK (VALUE >= 0)")
    c.execute("CREATE TABLE pt (v price, n text)")
    c.execute("INSERT INTO pt VALUES (%s, %s)", (12.5, "a"))
    for binary in (False, True):
        cur = c.cursor(binary=binary).execute("SELECT v, n FROM pt")
        assert [(d.name, d.type_code) for d in cur.description] == [("v", 1700), ("n", 25)], cur.description
        rows = cur.fetchall()
        assert rows == [(Decimal("12.50"), "a")], rows
    try:
        c.execute("INSERT INTO pt VALUES (%s, 'b')", (-1,))
        raise SystemExit("a negative price was taken")
    except psycopg.errors.CheckViolation as e:
        assert str(e).startswith('value for domain price violates check constraint "price_check"'), str(e)
        assert e.diag.constraint_name == "price_check", e.diag.constraint_name
print("ok")
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(o.pg_port.to_string())
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "psycopg domains failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
