//! What tests/slt/pggaps.slt cannot show: the NOTICEs of DROP CONSTRAINT ... CASCADE and DROP
//! COLUMN ... CASCADE of a key foreign keys use (psql's output, compared with a real PostgreSQL
//! 15's), psql's
//! `\d+` of views (pg_get_viewdef(oid, true), byte for byte as PostgreSQL's psql prints it)
//! and `\d` of a table whose primary key was dropped.

use orbit_tests::{pg_connect, pg_runtime, Orbit, RealPostgres};

const FK_SETUP: &str = "
CREATE TABLE w (a int PRIMARY KEY, b int UNIQUE, c int);
CREATE TABLE wc1 (a int REFERENCES w);
CREATE TABLE wc2 (a int REFERENCES w, b int REFERENCES w (b), d int REFERENCES w);
CREATE TABLE s (id int PRIMARY KEY, parent int REFERENCES s);
INSERT INTO w VALUES (1, 10, 100), (2, 20, 200);
";

/// The cascades compared, each on fresh tables.
const CASCADES: &[&str] = &[
    "ALTER TABLE w DROP CONSTRAINT w_pkey CASCADE",
    "ALTER TABLE w DROP CONSTRAINT w_b_key CASCADE",
    "ALTER TABLE w DROP COLUMN a CASCADE",
    "ALTER TABLE s DROP CONSTRAINT s_pkey CASCADE",
    "ALTER TABLE s DROP COLUMN id CASCADE",
];

const TEARDOWN: &str = "DROP TABLE IF EXISTS wc1, wc2, s, w";

#[test]
fn drop_cascade_notices_as_on_postgresql() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let o = Orbit::start(&["--shards", "2"]);
    for sql in CASCADES {
        let mut out = Vec::new();
        for port in [pg.port, o.pg_port] {
            // Apart: a block that drops a table holds its index names until it ends in Orbit.
            psql(port, TEARDOWN);
            psql(port, FK_SETUP);
            out.push(psql(port, sql));
        }
        assert!(out[0].contains("NOTICE:  drop cascades to"), "{sql} on PostgreSQL: {}", out[0]);
        assert_eq!(out[1], out[0], "{sql}");
    }
    // The rows are all there after the primary key went (keyed by row ids now).
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        let n: i64 = c.query_one("SELECT count(*) FROM w", &[]).await.unwrap().get(0);
        assert_eq!(n, 2);
    });
}

/// psql's stdout and stderr for one command.
fn psql(port: u16, command: &str) -> String {
    orbit_tests::psql_output_with(port, &["-c", command], "")
}

const VIEW_SETUP: &str = "
CREATE TABLE t (a int, b text, c int, n numeric);
CREATE TABLE u (a int, d text);
CREATE TABLE k (id int PRIMARY KEY, v text NOT NULL);
ALTER TABLE k DROP CONSTRAINT k_pkey;
CREATE VIEW v1 AS SELECT a, b FROM t WHERE c > 1;
CREATE VIEW v2 AS SELECT t.a, u.d FROM t JOIN u ON t.a = u.a WHERE t.c > 1 ORDER BY t.a;
CREATE VIEW v3 AS SELECT b, count(*) AS n, sum(c) FROM t GROUP BY b HAVING count(*) > 1 ORDER BY b;
CREATE VIEW v4 AS SELECT * FROM t;
CREATE VIEW v5 AS SELECT a + 1 AS x, upper(b) FROM t WHERE b LIKE 'x%' AND c IS NOT NULL;
CREATE VIEW v6 AS SELECT t.a, u.d FROM t LEFT JOIN u USING (a);
CREATE VIEW v7 AS SELECT x.a, y.d FROM t x, u y WHERE x.a = y.a AND (x.c = 1 OR x.c = 2) AND x.b <> 'q' ORDER BY x.a DESC, y.d NULLS FIRST;
CREATE VIEW v8 AS SELECT a, c * 2 + 1 AS e, (c + 1) * 2 AS f, -c AS g, a = 1 AS h FROM t WHERE c BETWEEN 1 AND 3 AND NOT (c > 2) AND n > 1.5 LIMIT 3 OFFSET 2;
CREATE VIEW v9 (p, q) AS SELECT DISTINCT a, max(c) FROM t GROUP BY 1 ORDER BY 2 DESC;
CREATE VIEW v10 AS SELECT count(DISTINCT a), min(b), avg(c) FROM t JOIN u USING (a) WHERE t.c > -1;
CREATE VIEW v11 AS SELECT a FROM t WHERE c IN (1, 2) AND b NOT IN ('x', 'y');
CREATE VIEW v12 AS SELECT a FROM t WHERE b IN ('x') OR c NOT IN (3);
CREATE VIEW v13 AS SELECT a, b FROM v1 WHERE a > 0;
CREATE VIEW v14 AS SELECT a FROM t UNION SELECT a FROM u;
CREATE VIEW v15 (x, y) AS SELECT a, b FROM t INTERSECT SELECT a, d FROM u;
CREATE VIEW v16 AS SELECT a FROM t UNION ALL SELECT a FROM u UNION ALL SELECT c FROM t ORDER BY a DESC LIMIT 2;
CREATE VIEW v17 AS SELECT a::text AS at, c::bigint AS cb, CAST(a AS numeric), (a + 1)::text AS x FROM t WHERE b = 'x'::text AND a::text = '1' AND c = '5';
";

#[test]
fn view_definitions_print_as_on_postgresql() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let o = Orbit::start(&["--shards", "2"]);
    for port in [pg.port, o.pg_port] {
        orbit_tests::psql_script(port, VIEW_SETUP);
    }
    let mut differ = Vec::new();
    let mut commands: Vec<String> = (1..=17).map(|i| format!(r"\d+ v{i}")).collect();
    commands.push(r"\d k".to_string());
    for i in 1..=17 {
        commands.push(format!("SELECT pg_get_viewdef('v{i}'::regclass)"));
    }
    for cmd in &commands {
        let want = psql(pg.port, cmd);
        let got = psql(o.pg_port, cmd);
        assert!(!want.contains("ERROR"), "{cmd} fails on PostgreSQL: {want}");
        if want != got {
            differ.push(format!("{cmd}\n--- PostgreSQL:\n{want}\n--- Orbit:\n{got}"));
        }
    }
    assert!(differ.is_empty(), "psql prints differently:\n{}", differ.join("\n"));
}

/// A table whose primary key was dropped (its rows re-keyed by row ids, its unique index built
/// again) is the same after a SIGKILL (`--fsync always`): every row, the index enforcing, and
/// new rows getting ids no row has.
#[test]
fn dropped_primary_key_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = Orbit::start_in(dir.path(), &args);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE d (id int PRIMARY KEY, b int UNIQUE, v text)").await.unwrap();
        c.batch_execute("INSERT INTO d SELECT g, g * 10, 'v' || g FROM generate_series(1, 40) g").await.unwrap();
        c.batch_execute("ALTER TABLE d DROP COLUMN id").await.unwrap();
        c.batch_execute("INSERT INTO d VALUES (1000, 'late')").await.unwrap();
    });
    o.kill9();
    let o = Orbit::start_in(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        let count = |sql: &'static str| {
            let c = &c;
            async move { c.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
        };
        assert_eq!(count("SELECT count(*) FROM d").await, 41);
        let e = c.batch_execute("INSERT INTO d VALUES (100, 'dup')").await.expect_err("b is unique");
        assert_eq!(e.code().map(|c| c.code()), Some("23505"));
        c.batch_execute("INSERT INTO d SELECT 5000 + g, 'n' FROM generate_series(1, 20) g").await.unwrap();
        c.batch_execute("INSERT INTO d VALUES (9000, 'x'), (9001, 'x')").await.unwrap();
        assert_eq!(count("SELECT count(*) FROM d").await, 63);
        assert_eq!(count("SELECT count(*) FROM d WHERE b = 400").await, 1);
    });
}
