//! Enum types through real drivers and across a crash: tokio-postgres finds an enum result
//! column's type by its OID (pg_type, then pg_enum for the labels) and reads values in binary
//! (the label's bytes, as enum_send writes them); psycopg 3 fetches them as str; the types,
//! their added and renamed labels and the rows that use them survive SIGKILL, on 1 and 2 shards.

use orbit_tests::{pg_connect, pg_runtime, psql_output as psql, Orbit};
use tokio_postgres::types::{FromSql, Kind, Type};

/// An enum value read through tokio-postgres's type lookup: it accepts any enum type and
/// keeps the label (what postgres-derive's `#[derive(FromSql)]` enums do per label).
#[derive(Debug, PartialEq)]
struct Label(String);

impl<'a> FromSql<'a> for Label {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Label, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Label(std::str::from_utf8(raw)?.to_string()))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(ty.kind(), Kind::Enum(_))
    }
}

#[test]
fn tokio_postgres_reads_enums_through_its_type_lookup() {
    for shards in ["1", "2"] {
        let o = Orbit::start(&["--shards", shards]);
        pg_runtime().block_on(async {
            let c = pg_connect(o.pg_port).await;
            c.batch_execute(
                "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
                 CREATE TABLE person (id int PRIMARY KEY, m mood, ms mood[]);
                 INSERT INTO person VALUES (1, 'happy', '{ok,sad}'), (2, 'sad', NULL), (3, 'ok', '{}')",
            )
            .await
            .unwrap();
            let rows = c.query("SELECT id, m FROM person ORDER BY m", &[]).await.unwrap();
            let ty = rows[0].columns()[1].type_().clone();
            assert_eq!(ty.name(), "mood");
            assert_eq!(ty.kind(), &Kind::Enum(vec!["sad".into(), "ok".into(), "happy".into()]));
            let got: Vec<(i32, Label)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            assert_eq!(got, [(2, Label("sad".into())), (3, Label("ok".into())), (1, Label("happy".into()))]);
            // The array type: its element is the enum (typelem), read element by element.
            let rows = c.query("SELECT ms FROM person WHERE id = 1", &[]).await.unwrap();
            let arr: Vec<Label> = rows[0].get(0);
            assert_eq!(arr, [Label("ok".into()), Label("sad".into())]);
            // A parameter of the enum type is described with its OID; a text cast reads it.
            let st = c.prepare("SELECT id FROM person WHERE m = $1::text::mood").await.unwrap();
            let rows = c.query(&st, &[&"ok"]).await.unwrap();
            assert_eq!(rows.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>(), [3]);
            let st = c.prepare("SELECT $1::mood").await.unwrap();
            assert_eq!(st.params()[0].name(), "mood");
        });
    }
}

#[test]
fn psycopg_fetches_enums_as_str() {
    let o = Orbit::start(&["--shards", "2"]);
    let script = r#"
import sys, psycopg
with psycopg.connect(f"host=127.0.0.1 port={sys.argv[1]} user=postgres dbname=postgres", autocommit=True) as c:
    c.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
    c.execute("CREATE TABLE person (id int PRIMARY KEY, m mood)")
    c.execute("INSERT INTO person VALUES (%s, %s), (%s, %s)", (1, "happy", 2, "sad"))
    rows = c.execute("SELECT id, m FROM person ORDER BY m").fetchall()
    assert rows == [(2, "sad"), (1, "happy")], rows
    assert all(type(r[1]) is str for r in rows), rows
    # Binary results: enum_send's label bytes (psycopg, like with PostgreSQL, hands an
    # unregistered type's binary value over as bytes).
    rows = c.cursor(binary=True).execute("SELECT id, m FROM person ORDER BY m").fetchall()
    assert rows == [(2, b"sad"), (1, b"happy")], rows
    rows = c.execute("SELECT id FROM person WHERE m = %s", ("happy",)).fetchall()
    assert rows == [(1,)], rows
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
        "psycopg enums failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn enum_types_and_values_survive_sigkill() {
    orbit_tests::across_sigkill(
        async |c| {
            c.batch_execute(
                "CREATE TYPE mood AS ENUM ('sad', 'happy');
             CREATE TABLE person (m mood PRIMARY KEY, n int);
             INSERT INTO person VALUES ('happy', 1), ('sad', 2);
             ALTER TYPE mood ADD VALUE 'meh' BEFORE 'happy'",
            )
            .await
            .unwrap();
            // A new label is usable once committed (one query string is one transaction:
            // 55P04 within it, as in PostgreSQL).
            c.batch_execute(
                "INSERT INTO person VALUES ('meh', 3);
             ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';
             CREATE TYPE gone AS ENUM ('x');
             DROP TYPE gone",
            )
            .await
            .unwrap();
        },
        async |c, shards| {
            let rows = orbit_tests::simple_rows(c, "SELECT m, n FROM person ORDER BY m").await;
            assert_eq!(rows, ["blue|2", "meh|3", "happy|1"], "{shards} shards");
            // The key still finds its row; the dropped type stays dropped.
            let n: i32 = c.query_one("SELECT n FROM person WHERE m = 'meh'", &[]).await.unwrap().get(0);
            assert_eq!(n, 3);
            let e = c.simple_query("SELECT 'x'::gone").await.unwrap_err();
            assert_eq!(e.code().map(|c| c.code()), Some("42704"));
            c.batch_execute("INSERT INTO person VALUES ('blue', 9)").await.unwrap_err();
        },
    );
}

/// A block's CREATE TYPE, CREATE DOMAIN over it, ALTER TYPE ... ADD VALUE and a table of the
/// type, cut short by SIGKILL before COMMIT: after the restart none of them is there (the
/// names are free again) and the type the block altered has its committed labels only, as
/// PostgreSQL's crash recovery leaves an uncommitted transaction's catalog rows.
#[test]
fn a_block_creating_and_altering_types_is_undone_by_a_crash() {
    for shards in ["1", "2"] {
        let mut o = Orbit::start(&["--shards", shards, "--fsync", "always"]);
        let rt = pg_runtime();
        rt.block_on(async {
            let c = pg_connect(o.pg_port).await;
            c.batch_execute("CREATE TYPE kept AS ENUM ('k')").await.unwrap();
            c.batch_execute(
                "BEGIN;
                 CREATE TYPE crashed AS ENUM ('a');
                 CREATE DOMAIN crashed_d AS crashed CHECK (VALUE = 'a');
                 ALTER TYPE kept ADD VALUE 'added';
                 CREATE TABLE crashed_t (x crashed, y crashed_d, z kept)",
            )
            .await
            .unwrap();
            // Open: the block's objects are there for it.
            let n: i64 = c.query_one("SELECT count(*) FROM crashed_t", &[]).await.unwrap().get(0);
            assert_eq!(n, 0);
        });
        o.restart();
        rt.block_on(async {
            let c = pg_connect(o.pg_port).await;
            let names: Vec<String> = c
                .query(
                    "SELECT typname::text FROM pg_type WHERE typname IN ('kept', 'crashed', '_crashed', 'crashed_d') ORDER BY 1",
                    &[],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            assert_eq!(names, ["kept"], "{shards} shards");
            let labels = c.simple_query("SELECT enum_range(NULL::kept)::text").await.unwrap();
            let got = labels.iter().find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                _ => None,
            });
            assert_eq!(got.as_deref(), Some("{k}"), "{shards} shards");
            let e = c.simple_query("SELECT * FROM crashed_t").await.unwrap_err();
            assert_eq!(e.code().map(|c| c.code()), Some("42P01"));
            // The names are free again.
            c.batch_execute(
                "CREATE TYPE crashed AS ENUM ('b'); CREATE DOMAIN crashed_d AS int; ALTER TYPE kept ADD VALUE 'added'",
            )
            .await
            .unwrap();
        });
    }
}

/// DROP TYPE of an enum that columns, array columns and domains use: RESTRICT's DETAIL lists
/// them, CASCADE's NOTICE names what it drops, in PostgreSQL's order and words (which the slt
/// files cannot check).
#[test]
fn drop_type_names_its_dependents_as_postgresql_does() {
    const SCRIPT: &str = "
        CREATE TYPE mood AS ENUM ('sad', 'ok');
        CREATE TABLE p (id int PRIMARY KEY, m mood, ms mood[]);
        CREATE DOMAIN dm AS mood CHECK (VALUE <> 'sad');
        CREATE DOMAIN dm2 AS dm;
        CREATE TABLE q (id int PRIMARY KEY, d dm2, n int);
        CREATE TYPE one AS ENUM ('a');
        CREATE TABLE r (id int, x one);
        DROP TYPE mood;
        DROP TYPE mood CASCADE;
        DROP TYPE one CASCADE;
        SELECT attname FROM pg_attribute WHERE attrelid IN ('p'::regclass, 'q'::regclass, 'r'::regclass)
            AND attnum > 0 AND NOT attisdropped ORDER BY attrelid, attnum;
    ";
    let o = Orbit::start(&["--shards", "2"]);
    let orbit = psql(o.pg_port, SCRIPT);
    for line in [
        "NOTICE:  drop cascades to 5 other objects",
        "DETAIL:  drop cascades to column ms of table p",
        "drop cascades to column d of table q",
        "NOTICE:  drop cascades to column x of table r",
        "DETAIL:  column ms of table p depends on type mood[]",
        "type dm2 depends on type dm",
    ] {
        assert!(orbit.lines().any(|l| l == line), "missing {line:?} in:\n{orbit}");
    }
    match orbit_tests::RealPostgres::start() {
        Ok(pg) => assert_eq!(orbit, psql(pg.port, SCRIPT), "Orbit and PostgreSQL 15 differ"),
        Err(why) => println!("not compared with PostgreSQL 15: {why}"),
    }
}
