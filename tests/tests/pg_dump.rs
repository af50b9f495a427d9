//! Debian's `pg_dump` 15 against Orbit (`--shards 2`), unchanged (issue #5): the same schema and
//! rows are built in Orbit and in a real PostgreSQL 15, and
//! - the plain dumps (whole, `--schema-only`, `-t orders`) are the same text, line for line
//!   (comments and psql's `\restrict` key aside);
//! - Orbit's plain dump restores into a fresh PostgreSQL database (`psql -f`, stopping at the
//!   first error) with the same rows, constraints (a foreign key, CHECK or UNIQUE violation
//!   fails there too), indexes, view results and sequence values as the source;
//! - Orbit's `-Fc` dump restores with `pg_restore`;
//! - PostgreSQL's own plain dump restores into a fresh Orbit (`psql -f`, stopping at the first
//!   error: its ALTER SEQUENCE ... OWNED BY, ALTER COLUMN ... SET DEFAULT / ADD GENERATED AS
//!   IDENTITY, setval and ADD PRIMARY KEY after the UNIQUE constraints all run), and so does
//!   its `-Fc` dump with `pg_restore -d --single-transaction`, with the same rows, constraints, indexes, view
//!   results and sequence values as the source, and a dump of the restored Orbit is the
//!   source's dump, line for line;
//! - Orbit's own dumps restore into a fresh Orbit the same way.

use orbit_tests::{Orbit, RealPostgres};
use std::path::Path;
use std::process::{Command, Output};

/// Tables with PRIMARY KEY, UNIQUE, FOREIGN KEY, CHECK, DEFAULT and NOT NULL; SERIAL and
/// IDENTITY columns; stored generated columns; numeric, text, varchar, timestamp, timestamptz, json, array, bytea,
/// double, boolean and date columns; secondary, unique and expression indexes; a view; a
/// materialized view with an index and an unpopulated one; a second schema with a sequence of
/// its own.
const SCHEMA: &str = r#"
CREATE TABLE customers (
  id serial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name varchar(100) NOT NULL DEFAULT 'anon',
  balance numeric(12,2) DEFAULT 0,
  score int CHECK (score >= 0),
  created timestamp DEFAULT '2020-01-01 00:00:00',
  meta json,
  tags text[],
  avatar bytea
);
CREATE TABLE orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id int NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  amount numeric(10,2) NOT NULL,
  qty int NOT NULL DEFAULT 1,
  placed timestamptz,
  note text,
  CONSTRAINT qty_pos CHECK (qty > 0)
);
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE UNIQUE INDEX customers_name_email ON customers (name, email);
CREATE INDEX customers_lower_email ON customers (lower(email));
CREATE VIEW busy AS SELECT id, customer_id FROM orders WHERE qty > 1;
CREATE SCHEMA inv;
CREATE TABLE inv.items (sku text PRIMARY KEY, qty int NOT NULL DEFAULT 0, price double precision, flag boolean, d date, label text GENERATED ALWAYS AS (upper(sku)) STORED, twice int GENERATED ALWAYS AS (qty * 2) STORED);
CREATE SEQUENCE inv.counter START 100 INCREMENT 5;
SELECT nextval('inv.counter');
SELECT nextval('inv.counter');
INSERT INTO customers (email, name, balance, score, meta, tags, avatar) VALUES
  ('a@x', 'Ann', 10.5, 3, '{"k":1}', '{a,b}', '\x0102'),
  ('b@x', 'Bob', 0, NULL, NULL, NULL, NULL),
  ('c@x', 'O''Hara', 1234567.89, 0, '[1, "two"]', '{"with space","q\"uote"}', '\x');
INSERT INTO orders (customer_id, amount, qty, placed, note) VALUES
  (1, 150, 2, '2021-05-05 10:00:00+00', 'big'),
  (2, 5.25, 1, NULL, E'tab\tand\nnewline and back\\slash'),
  (3, 0.01, 7, '1999-12-31 23:59:59.5+00', NULL);
INSERT INTO inv.items VALUES ('s1', 3, 1.5, true, '2022-02-02'), ('s2', 0, NULL, NULL, NULL), ('s3', 9, -0.25, false, '1970-01-01');
CREATE MATERIALIZED VIEW order_totals AS SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id;
CREATE UNIQUE INDEX order_totals_customer ON order_totals (customer_id);
CREATE MATERIALIZED VIEW later AS SELECT id FROM customers WITH NO DATA;
"#;

/// Queries whose output must be the same on the source and on a restored copy.
const SAME_RESULTS: &[&str] = &[
    "SELECT * FROM public.customers ORDER BY id",
    "SELECT * FROM public.orders ORDER BY id",
    "SELECT * FROM inv.items ORDER BY sku",
    "SELECT * FROM public.busy ORDER BY id",
    "SELECT * FROM public.order_totals ORDER BY customer_id",
    "SELECT matviewname, ispopulated, hasindexes FROM pg_matviews ORDER BY 1",
    "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint \
     WHERE conrelid IN ('public.customers'::regclass, 'public.orders'::regclass, 'inv.items'::regclass) ORDER BY 1",
    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname IN ('public', 'inv') ORDER BY 1",
    "SELECT pg_get_serial_sequence('public.customers', 'id'), pg_get_serial_sequence('public.orders', 'id')",
    "SELECT sequencename, last_value, increment_by FROM pg_sequences ORDER BY 1",
];

/// Statements run on the source and on a restored copy that must fail the same way.
const SAME_FAILURES: &[(&str, &str)] = &[
    ("INSERT INTO public.orders (customer_id, amount) VALUES (999, 1)", "violates foreign key constraint"),
    ("INSERT INTO public.customers (email, score) VALUES ('z@x', -1)", "violates check constraint"),
    ("INSERT INTO public.customers (email) VALUES ('a@x')", "duplicate key value violates unique constraint"),
    ("INSERT INTO public.orders (id, customer_id, amount) VALUES (50, 1, 1)", "cannot insert a non-DEFAULT value"),
    ("INSERT INTO inv.items (sku, label) VALUES ('s9', 'x')", "cannot insert a non-DEFAULT value"),
];

/// Statements that move the sequences on; their results must be the same on both.
const NEXT_VALUES: &[&str] = &[
    "SELECT nextval('public.customers_id_seq'), nextval('inv.counter')",
    "INSERT INTO public.orders (customer_id, amount) VALUES (1, 7) RETURNING id",
    "INSERT INTO public.customers (email) VALUES ('new@x') RETURNING id, name, balance",
];

fn bin(name: &str) -> String {
    format!("{}/{name}", RealPostgres::BIN)
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"))
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// psql on `port`/`db` running `sql` (stops at the first error): (success, stdout + stderr).
fn psql(port: u16, db: &str, args: &[&str]) -> (bool, String) {
    let out = run(Command::new(bin("psql"))
        .args(["-X", "-q", "-A", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-U", "postgres", "-d", db])
        .args(args));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn sql(port: u16, db: &str, sql: &str) -> String {
    let (good, text) = psql(port, db, &["-c", sql]);
    assert!(good, "{sql} on port {port}/{db}: {text}");
    text
}

fn pg_dump(port: u16, db: &str, args: &[&str]) -> Output {
    run(Command::new(bin("pg_dump"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
        .args(args)
        .arg(db))
}

/// A plain dump without its comments and psql's `\restrict` / `\unrestrict` lines (their key is
/// random per dump), each COPY block's rows sorted (a table's rows come in storage order: by
/// shard in Orbit).
fn comparable(dump: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut rows: Option<Vec<&str>> = None;
    for l in dump.lines() {
        if l.starts_with("--") || l.starts_with("\\restrict") || l.starts_with("\\unrestrict") {
            continue;
        }
        match rows.as_mut() {
            Some(r) if l == "\\." => {
                r.sort_unstable();
                out.extend(r.drain(..).map(str::to_string));
                out.push(l.to_string());
                rows = None;
            }
            Some(r) => r.push(l),
            None => {
                if l.starts_with("COPY ") && l.ends_with(" FROM stdin;") {
                    rows = Some(Vec::new());
                }
                out.push(l.to_string());
            }
        }
    }
    out.join("\n")
}

fn create_database(pg: &RealPostgres, name: &str) {
    sql(pg.port, "postgres", &format!("DROP DATABASE IF EXISTS {name}"));
    sql(pg.port, "postgres", &format!("CREATE DATABASE {name}"));
}

/// Every query of [`SAME_RESULTS`] prints the same on `a` and `b`.
fn same_results(a: (u16, &str), b: (u16, &str)) {
    for q in SAME_RESULTS {
        assert_eq!(sql(a.0, a.1, q), sql(b.0, b.1, q), "{q}");
    }
}

/// The statements of [`SAME_FAILURES`] fail on both with the same error, and [`NEXT_VALUES`]
/// answer the same.
fn same_behaviour(a: (u16, &str), b: (u16, &str)) {
    for (stmt, error) in SAME_FAILURES {
        for (port, db) in [a, b] {
            let (good, text) = psql(port, db, &["-c", stmt]);
            assert!(!good && text.contains(error), "{stmt} on {port}/{db} should fail with '{error}': {text}");
        }
    }
    for q in NEXT_VALUES {
        assert_eq!(sql(a.0, a.1, q), sql(b.0, b.1, q), "{q}");
    }
}

/// A source PostgreSQL database `src` and an Orbit with the same schema and rows.
fn sources() -> Option<(RealPostgres, Orbit)> {
    let pg = match RealPostgres::start() {
        Ok(pg) => pg,
        Err(why) => {
            println!("skipped: no PostgreSQL 15 to compare with: {why}");
            return None;
        }
    };
    let orbit = Orbit::start(&["--shards", "2"]);
    create_database(&pg, "src");
    sql(pg.port, "src", SCHEMA);
    sql(orbit.pg_port, "postgres", SCHEMA);
    Some((pg, orbit))
}

#[test]
fn plain_dumps_are_postgresqls_and_restore_into_postgresql() {
    let Some((pg, orbit)) = sources() else { return };
    // The same dump text as PostgreSQL's own, whole, schema only and for one table.
    for args in [&[][..], &["--schema-only"][..], &["-t", "orders"][..], &["--data-only"][..]] {
        let want = ok(&pg_dump(pg.port, "src", args), "pg_dump of PostgreSQL");
        let out = pg_dump(orbit.pg_port, "postgres", args);
        let got = ok(&out, "pg_dump of Orbit");
        assert!(out.stderr.is_empty(), "pg_dump {args:?} warned: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(comparable(&want), comparable(&got), "pg_dump {args:?}");
    }
    // The whole dump restores into a fresh database, where everything reads and behaves as in
    // Orbit.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("orbit.sql");
    let dump = ok(&pg_dump(orbit.pg_port, "postgres", &["-f", &file.display().to_string()]), "pg_dump -f");
    assert!(dump.is_empty());
    create_database(&pg, "restored");
    restore_plain(&pg, "restored", &file);
    same_results((orbit.pg_port, "postgres"), (pg.port, "restored"));
    same_behaviour((orbit.pg_port, "postgres"), (pg.port, "restored"));
}

fn restore_plain(pg: &RealPostgres, db: &str, file: &Path) {
    let (good, text) = psql(pg.port, db, &["-f", &file.display().to_string()]);
    assert!(good && !text.contains("ERROR"), "restore of {}: {text}", file.display());
}

#[test]
fn schema_only_dump_restores_empty_tables_with_their_constraints() {
    let Some((pg, orbit)) = sources() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("schema.sql");
    ok(&pg_dump(orbit.pg_port, "postgres", &["--schema-only", "-f", &file.display().to_string()]), "pg_dump");
    let text = std::fs::read_to_string(&file).expect("read dump");
    assert!(!text.contains("\nCOPY "), "a schema-only dump has no data");
    create_database(&pg, "schema_only");
    restore_plain(&pg, "schema_only", &file);
    assert_eq!(
        sql(pg.port, "schema_only", "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM inv.items)"),
        "?column?\n0\n(1 row)\n"
    );
    // The sequences start where they were created to start.
    assert_eq!(sql(pg.port, "schema_only", "SELECT nextval('inv.counter')"), "nextval\n100\n(1 row)\n");
    let (good, text) = psql(pg.port, "schema_only", &["-c", "INSERT INTO orders (customer_id, amount) VALUES (1, 1)"]);
    assert!(!good && text.contains("violates foreign key constraint"), "{text}");
}

#[test]
fn custom_format_dump_restores_with_pg_restore() {
    let Some((pg, orbit)) = sources() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("orbit.dump");
    ok(&pg_dump(orbit.pg_port, "postgres", &["-Fc", "-f", &file.display().to_string()]), "pg_dump -Fc");
    create_database(&pg, "from_custom");
    let out = run(Command::new(bin("pg_restore"))
        .args(["-h", "127.0.0.1", "-p", &pg.port.to_string(), "-U", "postgres", "-d", "from_custom", "--exit-on-error"])
        .arg(&file));
    ok(&out, "pg_restore");
    same_results((orbit.pg_port, "postgres"), (pg.port, "from_custom"));
    same_behaviour((orbit.pg_port, "postgres"), (pg.port, "from_custom"));
}

/// pg_dump's `LOCK TABLE ... IN ACCESS SHARE MODE` (sent here through the extended protocol)
/// holds the table for the block: another session's ALTER TABLE waits until the block ends,
/// so the block never sees the table change under it.
#[test]
fn lock_table_holds_off_ddl_until_the_block_ends() {
    let o = Orbit::start(&["--shards", "2"]);
    let rt = orbit_tests::pg_runtime();
    rt.block_on(async {
        let a = orbit_tests::pg_connect(o.pg_port).await;
        let b = orbit_tests::pg_connect(o.pg_port).await;
        a.batch_execute("CREATE TABLE held (id int PRIMARY KEY)").await.unwrap();
        let outside = a.execute("LOCK TABLE held IN ACCESS SHARE MODE", &[]).await.unwrap_err();
        assert_eq!(outside.code().map(|c| c.code()), Some("25P01"));
        a.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await.unwrap();
        a.execute("LOCK TABLE held IN ACCESS SHARE MODE", &[]).await.unwrap();
        let alter = tokio::spawn(async move {
            b.batch_execute("ALTER TABLE held ADD COLUMN extra int").await.unwrap();
            b
        });
        // Until the ALTER is running (it then waits for the lock).
        loop {
            let rows = a
                .query("SELECT count(*)::int FROM pg_stat_activity WHERE query LIKE 'ALTER TABLE held%'", &[])
                .await
                .unwrap();
            if rows[0].get::<_, i32>(0) > 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        let columns = "SELECT count(*)::int FROM pg_attribute WHERE attrelid = 'held'::regclass AND attnum > 0";
        for _ in 0..20 {
            assert_eq!(
                a.query_one(columns, &[]).await.unwrap().get::<_, i32>(0),
                1,
                "the table changed under the lock"
            );
        }
        a.batch_execute("COMMIT").await.unwrap();
        let b = alter.await.unwrap();
        assert_eq!(b.query_one(columns, &[]).await.unwrap().get::<_, i32>(0), 2);
    });
}

/// PostgreSQL's dumps (plain through psql, `-Fc` through pg_restore) restore into a fresh Orbit
/// unchanged; the copy reads, behaves and dumps as the source.
#[test]
fn postgresql_dumps_restore_into_orbit() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    create_database(&pg, "src");
    sql(pg.port, "src", SCHEMA);
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = dir.path().join("pg.sql");
    ok(&pg_dump(pg.port, "src", &["-f", &plain.display().to_string()]), "pg_dump of PostgreSQL");
    let custom = dir.path().join("pg.dump");
    ok(&pg_dump(pg.port, "src", &["-Fc", "-f", &custom.display().to_string()]), "pg_dump -Fc of PostgreSQL");
    let want = comparable(&ok(&pg_dump(pg.port, "src", &[]), "pg_dump of PostgreSQL"));

    let from_plain = Orbit::start(&["--shards", "2"]);
    let (good, text) = psql(from_plain.pg_port, "postgres", &["-f", &plain.display().to_string()]);
    assert!(good && !text.contains("ERROR"), "restore of PostgreSQL's dump into Orbit: {text}");

    let from_custom = Orbit::start(&["--shards", "2"]);
    let out = run(Command::new(bin("pg_restore"))
        .args(["-h", "127.0.0.1", "-p", &from_custom.pg_port.to_string(), "-U", "postgres", "-d", "postgres"])
        // In one transaction block: the ALTERs' undo and the block's own sequences are in play.
        .args(["--exit-on-error", "--single-transaction"])
        .arg(&custom));
    ok(&out, "pg_restore into Orbit");

    for orbit in [&from_plain, &from_custom] {
        let out = pg_dump(orbit.pg_port, "postgres", &[]);
        let got = ok(&out, "pg_dump of the restored Orbit");
        assert_eq!(want, comparable(&got), "pg_dump of the restored Orbit");
        same_results((pg.port, "src"), (orbit.pg_port, "postgres"));
    }
    // Each copy moves its sequences on as the source does (a fresh source for the second).
    same_behaviour((pg.port, "src"), (from_plain.pg_port, "postgres"));
    create_database(&pg, "src2");
    sql(pg.port, "src2", SCHEMA);
    same_behaviour((pg.port, "src2"), (from_custom.pg_port, "postgres"));
}

/// A schema whose dump holds PostgreSQL's implicit casts (`CHECK ((v > (0)::numeric))`, a view's
/// `(a.v > (1)::numeric)`), a UNIQUE expression index, a SERIAL and an identity column behind a
/// foreign key, restored into Orbit and dumped back as the source's dump; it behaves alike.
const CAST_SCHEMA: &str = r#"
CREATE TABLE a (id serial PRIMARY KEY, name text UNIQUE NOT NULL, v numeric(10,2) DEFAULT 1.5 CHECK (v > 0));
CREATE TABLE b (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a_id int REFERENCES a(id) ON DELETE CASCADE,
  t timestamptz DEFAULT now(), j jsonb, arr int[]);
CREATE INDEX b_a_idx ON b (a_id);
CREATE UNIQUE INDEX a_lower_name ON a (lower(name));
CREATE VIEW av AS SELECT id, name FROM a WHERE v > 1;
CREATE SEQUENCE s START 10 INCREMENT 3;
SELECT nextval('s');
INSERT INTO a (name, v) VALUES ('x', 2), ('y', 1.5), ('z', 3);
INSERT INTO b (a_id, t, j, arr) VALUES (1, '2020-01-01 00:00:00+00', '{"a":1}', '{1,2}'), (2, '2020-01-01 00:00:00+00', NULL, NULL);
"#;

#[test]
fn postgresql_dump_with_implicit_casts_restores_into_orbit() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    create_database(&pg, "casts");
    sql(pg.port, "casts", CAST_SCHEMA);
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = dir.path().join("casts.sql");
    ok(&pg_dump(pg.port, "casts", &["-f", &plain.display().to_string()]), "pg_dump of PostgreSQL");
    let orbit = Orbit::start(&["--shards", "2"]);
    let (good, text) = psql(orbit.pg_port, "postgres", &["-f", &plain.display().to_string()]);
    assert!(good && !text.contains("ERROR"), "restore of PostgreSQL's dump into Orbit: {text}");
    let want = comparable(&ok(&pg_dump(pg.port, "casts", &[]), "pg_dump of PostgreSQL"));
    let got = comparable(&ok(&pg_dump(orbit.pg_port, "postgres", &[]), "pg_dump of Orbit"));
    assert_eq!(want, got, "pg_dump of the restored Orbit");
    let (src, copy) = ((pg.port, "casts"), (orbit.pg_port, "postgres"));
    for q in [
        "SELECT * FROM public.av ORDER BY id",
        "SELECT pg_get_serial_sequence('public.a', 'id'), pg_get_serial_sequence('public.b', 'id')",
        "INSERT INTO public.a (name) VALUES ('w') RETURNING id, v",
        "INSERT INTO public.b (a_id) VALUES (4) RETURNING id, a_id",
        "SELECT nextval('public.s')",
        "DELETE FROM public.a WHERE id = 1",
        "SELECT id, a_id FROM public.b ORDER BY id",
        "SELECT id, name FROM public.a WHERE name = 'y'",
    ] {
        assert_eq!(sql(src.0, src.1, q), sql(copy.0, copy.1, q), "{q}");
    }
    for (stmt, error) in [
        ("INSERT INTO public.a (name, v) VALUES ('q', -1)", "violates check constraint \"a_v_check\""),
        ("INSERT INTO public.a (name) VALUES ('Y')", "violates unique constraint \"a_lower_name\""),
        ("INSERT INTO public.a (name) VALUES ('y')", "violates unique constraint \"a_name_key\""),
        ("INSERT INTO public.a (id, name) VALUES (2, 'n')", "violates unique constraint \"a_pkey\""),
        ("INSERT INTO public.b (a_id) VALUES (99)", "violates foreign key constraint \"b_a_id_fkey\""),
    ] {
        for (port, db) in [src, copy] {
            let (good, text) = psql(port, db, &["-c", stmt]);
            assert!(!good && text.contains(error), "{stmt} on {port}/{db} should fail with '{error}': {text}");
        }
    }
}

/// Orbit's own dumps (plain through psql, `-Fc` through pg_restore) restore into a fresh Orbit;
/// the copy dumps as the source and reads and behaves alike.
#[test]
fn orbit_dumps_restore_into_orbit() {
    let Some((pg, orbit)) = sources() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = dir.path().join("orbit.sql");
    ok(&pg_dump(orbit.pg_port, "postgres", &["-f", &plain.display().to_string()]), "pg_dump of Orbit");
    let custom = dir.path().join("orbit.dump");
    ok(&pg_dump(orbit.pg_port, "postgres", &["-Fc", "-f", &custom.display().to_string()]), "pg_dump -Fc of Orbit");
    let want = comparable(&ok(&pg_dump(orbit.pg_port, "postgres", &[]), "pg_dump of Orbit"));

    let from_plain = Orbit::start(&["--shards", "2"]);
    let (good, text) = psql(from_plain.pg_port, "postgres", &["-f", &plain.display().to_string()]);
    assert!(good && !text.contains("ERROR"), "restore of Orbit's dump into Orbit: {text}");
    let from_custom = Orbit::start(&["--shards", "1"]);
    let out = run(Command::new(bin("pg_restore"))
        .args(["-h", "127.0.0.1", "-p", &from_custom.pg_port.to_string(), "-U", "postgres", "-d", "postgres"])
        .arg("--exit-on-error")
        .arg(&custom));
    ok(&out, "pg_restore of Orbit's dump into Orbit");
    for copy in [&from_plain, &from_custom] {
        let got = comparable(&ok(&pg_dump(copy.pg_port, "postgres", &[]), "pg_dump of the restored Orbit"));
        assert_eq!(want, got, "pg_dump of the restored Orbit");
        same_results((orbit.pg_port, "postgres"), (copy.pg_port, "postgres"));
    }
    same_behaviour((orbit.pg_port, "postgres"), (from_plain.pg_port, "postgres"));
    drop(pg);
}

/// SQL functions (CREATE FUNCTION ... LANGUAGE sql): overloads, DEFAULTs, STRICT, volatility,
/// SETOF and TABLE results, one in another schema, a body reading a table (dumped before the
/// table, restored under pg_dump's `check_function_bodies = false`).
const FUNCTION_SCHEMA: &str = r#"
CREATE TABLE items (id int PRIMARY KEY, name text);
INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three');
CREATE FUNCTION add_em(a integer, b integer DEFAULT 2) RETURNS integer LANGUAGE sql IMMUTABLE STRICT AS $$SELECT a + b$$;
CREATE FUNCTION add_em(a text, b text) RETURNS text LANGUAGE sql AS 'SELECT a || b';
CREATE FUNCTION names_from(k integer) RETURNS SETOF text LANGUAGE sql STABLE AS 'SELECT name FROM items WHERE id >= k';
CREATE FUNCTION pairs(n integer) RETURNS TABLE(i integer, label text) LANGUAGE sql AS $$SELECT id, name FROM items WHERE id <= n$$;
CREATE SCHEMA fns;
CREATE FUNCTION fns.triple(integer) RETURNS integer LANGUAGE sql AS 'SELECT $1 * 3';
"#;

/// Calls of [`FUNCTION_SCHEMA`]'s functions: the same on the source and a restored copy.
const FUNCTION_CALLS: &[&str] = &[
    "SELECT add_em(1), add_em(1, 5), add_em('x', 'y'), fns.triple(4)",
    "SELECT * FROM names_from(2) ORDER BY 1",
    "SELECT * FROM pairs(2) ORDER BY 1",
];

#[test]
fn sql_functions_dump_as_postgresqls_and_restore_both_ways() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    create_database(&pg, "fsrc");
    sql(pg.port, "fsrc", FUNCTION_SCHEMA);
    let orbit = Orbit::start(&["--shards", "2"]);
    sql(orbit.pg_port, "postgres", FUNCTION_SCHEMA);
    let want = comparable(&ok(&pg_dump(pg.port, "fsrc", &[]), "pg_dump of PostgreSQL"));
    let got = comparable(&ok(&pg_dump(orbit.pg_port, "postgres", &[]), "pg_dump of Orbit"));
    assert_eq!(want, got, "pg_dump of SQL functions");
    let dir = tempfile::tempdir().expect("temp dir");
    // Orbit's dump restores into PostgreSQL...
    let file = dir.path().join("orbit.sql");
    ok(&pg_dump(orbit.pg_port, "postgres", &["-f", &file.display().to_string()]), "pg_dump -f");
    create_database(&pg, "frestored");
    restore_plain(&pg, "frestored", &file);
    // ... and PostgreSQL's into Orbit, which dumps it back as the source.
    let plain = dir.path().join("pg.sql");
    ok(&pg_dump(pg.port, "fsrc", &["-f", &plain.display().to_string()]), "pg_dump of PostgreSQL");
    let copy = Orbit::start(&["--shards", "2"]);
    let (good, text) = psql(copy.pg_port, "postgres", &["-f", &plain.display().to_string()]);
    assert!(good && !text.contains("ERROR"), "restore of PostgreSQL's dump into Orbit: {text}");
    assert_eq!(want, comparable(&ok(&pg_dump(copy.pg_port, "postgres", &[]), "pg_dump of the copy")));
    for q in FUNCTION_CALLS {
        let source = sql(pg.port, "fsrc", q);
        assert_eq!(source, sql(orbit.pg_port, "postgres", q), "{q} on Orbit");
        assert_eq!(source, sql(pg.port, "frestored", q), "{q} on the restored PostgreSQL");
        assert_eq!(source, sql(copy.pg_port, "postgres", q), "{q} on the restored Orbit");
    }
}
