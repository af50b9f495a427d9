//! Stored generated columns (`GENERATED ALWAYS AS (expr) STORED`) end to end: psql's `\d` and
//! `\d+` print them as on a real PostgreSQL 15 (the Default column's `generated always as (...)
//! stored`); tokio-postgres's COPY FROM computes them, with and without a column list; the
//! definitions, the stored values and a DROP EXPRESSION survive SIGKILL (on 1 and 2 shards),
//! and writes after the restart compute them again.

use futures::SinkExt;
use orbit_tests::{Orbit, RealPostgres};

/// Tables with generated columns: over one and over several columns, text and numbers, one in
/// the primary key, one NOT NULL, one added by ALTER TABLE, one whose column was renamed.
const SETUP: &str = r#"
CREATE TABLE g (a int PRIMARY KEY, b int GENERATED ALWAYS AS (a * 2) STORED, c text, d text GENERATED ALWAYS AS (upper(c) || '!') STORED);
CREATE TABLE gk (x int, y numeric(10,2), k int GENERATED ALWAYS AS (x + 1) STORED PRIMARY KEY, total numeric GENERATED ALWAYS AS (y + y) STORED NOT NULL);
CREATE TABLE gr (a int, b int GENERATED ALWAYS AS (a + 1) STORED);
ALTER TABLE gr ADD COLUMN e text GENERATED ALWAYS AS (a::text || 'e') STORED;
ALTER TABLE gr RENAME COLUMN a TO "First A";
"#;

/// psql's stdout and stderr for one command.
fn psql(port: u16, command: &str) -> String {
    orbit_tests::psql_output_with(port, &["-c", command], "")
}

#[test]
fn psql_describes_generated_columns_as_postgresql() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let o = Orbit::start(&["--shards", "2"]);
    orbit_tests::psql_script(pg.port, SETUP);
    orbit_tests::psql_script(o.pg_port, SETUP);
    let mut differ = Vec::new();
    for cmd in [r"\d g", r"\d+ g", r"\d gk", r"\d gr", r"\d+ gr"] {
        let want = psql(pg.port, cmd);
        let got = psql(o.pg_port, cmd);
        assert!(want.contains("generated always as"), "{cmd} on PostgreSQL: {want}");
        if want != got {
            differ.push(format!("{cmd}\n--- PostgreSQL:\n{want}\n--- Orbit:\n{got}"));
        }
    }
    assert!(differ.is_empty(), "psql prints differently:\n{}", differ.join("\n"));
}

/// `(a, b, c, d)` rows of `g` as text, in key order.
async fn rows_of_g(c: &tokio_postgres::Client) -> Vec<String> {
    let rows = c.query("SELECT a, b, c, d FROM g ORDER BY a", &[]).await.unwrap();
    rows.iter()
        .map(|r| {
            let (a, b): (i32, i32) = (r.get(0), r.get(1));
            let (c, d): (Option<String>, Option<String>) = (r.get(2), r.get(3));
            format!("{a}|{b}|{}|{}", c.unwrap_or("NULL".into()), d.unwrap_or("NULL".into()))
        })
        .collect()
}

async fn copy_in(c: &tokio_postgres::Client, sql: &str, data: &str) -> u64 {
    let sink = c.copy_in::<_, bytes::Bytes>(sql).await.unwrap();
    let mut sink = Box::pin(sink);
    sink.send(bytes::Bytes::copy_from_slice(data.as_bytes())).await.unwrap();
    sink.as_mut().finish().await.unwrap()
}

#[test]
fn copy_computes_and_definitions_survive_sigkill() {
    orbit_tests::across_sigkill(
        async |c| {
            c.batch_execute(SETUP).await.unwrap();
            c.batch_execute("INSERT INTO g (a, c) VALUES (1, 'x'), (2, NULL)").await.unwrap();
            // COPY without a column list takes the other columns; with one, those named.
            assert_eq!(copy_in(c, "COPY g FROM STDIN", "3\tcopy\n4\t\\N\n").await, 2);
            assert_eq!(copy_in(c, "COPY g (c, a) FROM STDIN (FORMAT csv)", "csv,5\n").await, 1);
            // A generated column named in the list is refused (PostgreSQL's 42P10).
            let Err(e) = c.copy_in::<_, bytes::Bytes>("COPY g (a, b) FROM STDIN").await else {
                panic!("COPY naming a generated column was taken");
            };
            assert_eq!(e.code().map(|c| c.code()), Some("42P10"), "{e}");
            assert_eq!(
                rows_of_g(c).await,
                ["1|2|x|X!", "2|4|NULL|NULL", "3|6|copy|COPY!", "4|8|NULL|NULL", "5|10|csv|CSV!"]
            );
            // A NOT NULL generated column is checked once computed, not as the row is read.
            assert_eq!(copy_in(c, "COPY gk (x, y) FROM STDIN", "1000\t2.25\n").await, 1);
            let sink = c.copy_in::<_, bytes::Bytes>("COPY gk (x) FROM STDIN").await.unwrap();
            let mut sink = Box::pin(sink);
            sink.send(bytes::Bytes::from_static(b"1001\n")).await.unwrap();
            let e = sink.as_mut().finish().await.unwrap_err();
            assert_eq!(e.code().map(|c| c.code()), Some("23502"), "{e}");
            let r = c.query_one("SELECT k, total::text FROM gk WHERE x = 1000", &[]).await.unwrap();
            assert_eq!((r.get::<_, i32>(0), r.get::<_, String>(1)), (1001, "4.50".to_string()));
            c.batch_execute("DELETE FROM gk").await.unwrap();
            // Rows placed by a generated key, moved by an UPDATE of the column it reads.
            c.batch_execute(
                "INSERT INTO gk (x, y) SELECT i, 1.5 FROM generate_series(1, 10) i;
             UPDATE gk SET x = x + 100 WHERE x <= 5;
             INSERT INTO gr VALUES (7);
             CREATE TABLE gde (a int, b int GENERATED ALWAYS AS (a + 1) STORED);
             INSERT INTO gde VALUES (1);
             ALTER TABLE gde ALTER COLUMN b DROP EXPRESSION",
            )
            .await
            .unwrap();
        },
        async |c, shards| {
            assert_eq!(
                rows_of_g(c).await,
                ["1|2|x|X!", "2|4|NULL|NULL", "3|6|copy|COPY!", "4|8|NULL|NULL", "5|10|csv|CSV!"],
                "{shards} shards"
            );
            // The definitions came back: computed for new rows, refused as explicit values.
            c.batch_execute("INSERT INTO g (a, c) VALUES (6, 'after'); UPDATE g SET c = 'y' WHERE a = 1")
                .await
                .unwrap();
            let r = c.query_one("SELECT b, d FROM g WHERE a = 6", &[]).await.unwrap();
            assert_eq!((r.get::<_, i32>(0), r.get::<_, String>(1)), (12, "AFTER!".to_string()));
            let r = c.query_one("SELECT d FROM g WHERE a = 1", &[]).await.unwrap();
            assert_eq!(r.get::<_, String>(0), "Y!");
            let e = c.batch_execute("INSERT INTO g VALUES (7, 14)").await.unwrap_err();
            assert_eq!(e.code().map(|c| c.code()), Some("428C9"), "{e}");
            let exprs: Vec<(String, String)> = c
                .query(
                    "SELECT table_name::text, generation_expression::text FROM information_schema.columns \
                 WHERE is_generated = 'ALWAYS' ORDER BY table_name, ordinal_position",
                    &[],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            let want = [
                ("g", "(a * 2)"),
                ("g", "(upper(c) || '!'::text)"),
                ("gk", "(x + 1)"),
                ("gk", "(y + y)"),
                ("gr", "(\"First A\" + 1)"),
                ("gr", "((\"First A\")::text || 'e'::text)"),
            ];
            let want: Vec<(String, String)> = want.iter().map(|(t, e)| (t.to_string(), e.to_string())).collect();
            assert_eq!(exprs, want, "{shards} shards");
            // The moved rows are found by their new keys.
            let r = c.query_one("SELECT x, total::text FROM gk WHERE k = 104", &[]).await.unwrap();
            assert_eq!((r.get::<_, i32>(0), r.get::<_, String>(1)), (103, "3.00".to_string()));
            let n: i64 = c.query_one("SELECT count(*) FROM gk WHERE k > 100", &[]).await.unwrap().get(0);
            assert_eq!(n, 5);
            // DROP EXPRESSION lasted: an ordinary column with its value.
            c.batch_execute("INSERT INTO gde VALUES (5, 50)").await.unwrap();
            let got: Vec<(i32, i32)> = c
                .query("SELECT a, b FROM gde ORDER BY a", &[])
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            assert_eq!(got, [(1, 2), (5, 50)]);
            let r = c.query_one("SELECT b, e FROM gr", &[]).await.unwrap();
            assert_eq!((r.get::<_, i32>(0), r.get::<_, String>(1)), (8, "7e".to_string()));
        },
    );
}
