//! SQL-language functions (CREATE FUNCTION ... LANGUAGE sql) across a crash: functions, their
//! overloads, a CREATE OR REPLACE's new body, DEFAULTs and a schema's function survive SIGKILL
//! under `--fsync always` (on 1 and 2 shards); a DROP FUNCTION stays dropped; a CREATE FUNCTION
//! of a block that never committed is gone after the crash; pg_proc lists what is left.

use orbit_tests::{one_text, pg_connect, pg_runtime, sqlstate_of, Orbit};

const SETUP: &str = "
CREATE TABLE items (id int PRIMARY KEY, name text);
INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three');
CREATE FUNCTION add_em(a int, b int DEFAULT 100) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
CREATE FUNCTION add_em(a text, b text) RETURNS text LANGUAGE sql AS 'SELECT a || b';
CREATE FUNCTION item_name(k int) RETURNS text LANGUAGE sql STRICT AS 'SELECT name FROM items WHERE id = k';
CREATE FUNCTION names_from(k int) RETURNS SETOF text LANGUAGE sql AS 'SELECT name FROM items WHERE id >= k';
CREATE SCHEMA s;
CREATE FUNCTION s.triple(x int) RETURNS int LANGUAGE sql RETURN x * 3;
CREATE FUNCTION doomed() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE OR REPLACE FUNCTION add_em(a int, b int DEFAULT 100) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a * b';
";

#[test]
fn sql_functions_survive_sigkill() {
    for shards in ["1", "2"] {
        let mut o = Orbit::start(&["--shards", shards, "--fsync", "always"]);
        pg_runtime().block_on(async {
            let c = pg_connect(o.pg_port).await;
            c.batch_execute(SETUP).await.unwrap();
            c.batch_execute("DROP FUNCTION doomed()").await.unwrap();
            // A block that never ends: its function must not outlive the crash.
            c.batch_execute("BEGIN; CREATE FUNCTION uncommitted() RETURNS int LANGUAGE sql AS 'SELECT 7'")
                .await
                .unwrap();
        });
        o.restart();
        pg_runtime().block_on(async {
            let c = pg_connect(o.pg_port).await;
            let got = one_text(
                &c,
                "SELECT add_em(2, 3)::text || ' ' || add_em(2)::text || ' ' || add_em('x', 'y') || ' ' \
                 || item_name(2) || ' ' || coalesce(item_name(NULL), 'null') || ' ' || s.triple(5)::text",
            )
            .await;
            assert_eq!(got.as_deref(), Some("6 200 xy two null 15"), "shards {shards}");
            let rows = c.query("SELECT * FROM names_from(2) ORDER BY 1", &[]).await.unwrap();
            let names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            assert_eq!(names, ["three", "two"]);
            assert_eq!(sqlstate_of(&c, "SELECT doomed()").await, "42883");
            assert_eq!(sqlstate_of(&c, "SELECT uncommitted()").await, "42883");
            // Every shard has the catalog entry: a statement whose rows live on each shard.
            let rows = c.query("SELECT id, item_name(id) FROM items ORDER BY id", &[]).await.unwrap();
            let got: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            assert_eq!(got, [(1, "one".into()), (2, "two".into()), (3, "three".into())]);
            c.batch_execute("DROP FUNCTION add_em(text, text); DROP FUNCTION s.triple").await.unwrap();
        });
        o.restart();
        pg_runtime().block_on(async {
            let c = pg_connect(o.pg_port).await;
            assert_eq!(sqlstate_of(&c, "SELECT add_em('x'::text, 'y')").await, "42883");
            assert_eq!(sqlstate_of(&c, "SELECT s.triple(1)").await, "42883");
            let rows = c
                .query(
                    "SELECT proname::text, prosrc FROM pg_proc WHERE pronamespace = 'public'::regnamespace \
                     ORDER BY 1",
                    &[],
                )
                .await
                .unwrap();
            let got: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            assert_eq!(
                got,
                [
                    ("add_em".into(), "SELECT a * b".into()),
                    ("item_name".into(), "SELECT name FROM items WHERE id = k".into()),
                    ("names_from".into(), "SELECT name FROM items WHERE id >= k".into()),
                ]
            );
        });
    }
}
