//! PL/pgSQL over the wire: RAISE's NOTICE / INFO / WARNING messages (with their severity,
//! SQLSTATE and order, also those raised before the statement fails) and the errors' CONTEXT
//! lines as a real PostgreSQL 15 sends them to tokio-postgres; and PL/pgSQL functions,
//! triggers, and the rows they wrote, across SIGKILL under `--fsync always` (a trigger created
//! by a block that never committed is gone, one dropped stays dropped).

use orbit_tests::{pg_connect, pg_runtime, Orbit, RealPostgres};

const FUNCTIONS: &str = "
CREATE TABLE audit (id int PRIMARY KEY, what text NOT NULL);
CREATE FUNCTION inner_fail(x int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'inner got %', x;
  IF x > 1 THEN
    RAISE EXCEPTION 'too big: %', x USING DETAIL = 'x was ' || x, HINT = 'pass 1';
  END IF;
  RETURN x;
END $$;
CREATE FUNCTION outer_call(x int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  r int;
BEGIN
  r := inner_fail(x) + 1;
  RETURN r;
END $$;
CREATE FUNCTION note(id int, what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit VALUES (id, what);
END $$;
";

/// What a statement sent: each notice as `SEVERITY CODE message`, then `ERROR CODE message |
/// detail | hint | context` if it failed.
async fn messages(port: u16, setup: &str, statements: &[&str]) -> Vec<Vec<String>> {
    let (client, rx, reader) = orbit_tests::pg_connect_notices(port).await;
    client.batch_execute(setup).await.expect("setup");
    let mut out = Vec::new();
    for s in statements {
        let r = match s.split_once('\n').filter(|(head, _)| head.ends_with("FROM STDIN")) {
            // COPY FROM STDIN with its data after the first line.
            Some((head, data)) => copy_in(&client, head, data).await.map(|_| Vec::new()),
            None => client.simple_query(s).await,
        };
        // The notices of a statement arrive before its result.
        let mut got: Vec<String> = Vec::new();
        tokio::task::yield_now().await;
        got.extend(rx.try_iter().map(|n| format!("{} {} {}", n.severity(), n.code().code(), n.message())));
        if let Err(e) = r {
            let d = e.as_db_error().unwrap_or_else(|| panic!("{s}: {e}"));
            got.push(format!(
                "ERROR {} {} | {} | {} | {}",
                d.code().code(),
                d.message(),
                d.detail().unwrap_or(""),
                d.hint().unwrap_or(""),
                d.where_().unwrap_or("")
            ));
        }
        out.push(got);
    }
    drop(client);
    reader.await.expect("reader");
    out
}

async fn copy_in(c: &tokio_postgres::Client, sql: &str, data: &str) -> Result<u64, tokio_postgres::Error> {
    use futures::SinkExt;
    let sink = c.copy_in::<_, bytes::Bytes>(sql).await?;
    let mut sink = Box::pin(sink);
    sink.send(bytes::Bytes::copy_from_slice(data.as_bytes())).await?;
    sink.as_mut().finish().await
}

const STATEMENTS: &[&str] = &[
    "DO $$ BEGIN RAISE NOTICE 'n %', 1; RAISE INFO 'i'; RAISE WARNING 'w' USING ERRCODE = '01000'; \
     RAISE DEBUG 'hidden'; END $$",
    "SELECT outer_call(1)",
    "SELECT outer_call(5)",
    "DO $$ BEGIN PERFORM note(1, 'a'); PERFORM note(1, 'b'); END $$",
    "DO $$ DECLARE x int := 1 / 0; BEGIN END $$",
    "DO $$ BEGIN RAISE NOTICE 'before'; PERFORM 1 / 0; END $$",
    "SET client_min_messages = warning",
    "DO $$ BEGIN RAISE NOTICE 'quiet'; RAISE INFO 'loud'; RAISE WARNING 'heard'; END $$",
];

#[test]
fn notices_and_errors_as_postgresql() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let want = messages(pg.port, FUNCTIONS, STATEMENTS).await;
        assert!(want[2].iter().any(|m| m.starts_with("ERROR P0001 too big: 5")), "PostgreSQL: {want:?}");
        let got = messages(o.pg_port, FUNCTIONS, STATEMENTS).await;
        for ((s, w), g) in STATEMENTS.iter().zip(&want).zip(&got) {
            assert_eq!(g, w, "{s}");
        }
    });
}

/// Triggers that say when they fire (and change the rows a BEFORE ROW trigger sees), for every
/// kind of write.
const EVERY_WRITE: &str = "
CREATE TABLE t (k int PRIMARY KEY, v text);
CREATE TABLE src (k int, v text);
CREATE TABLE par (id int PRIMARY KEY);
CREATE TABLE chi (id int PRIMARY KEY, p int REFERENCES par ON DELETE CASCADE ON UPDATE SET NULL, v text);
CREATE FUNCTION say() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE '% % % % old=% new=%', TG_TABLE_NAME, TG_WHEN, TG_LEVEL, TG_OP,
    CASE WHEN TG_LEVEL = 'ROW' THEN OLD::text END, CASE WHEN TG_LEVEL = 'ROW' THEN NEW::text END;
  IF TG_LEVEL = 'ROW' AND TG_WHEN = 'BEFORE' AND TG_OP <> 'DELETE' THEN
    IF NEW.v = 'skip' THEN RETURN NULL; END IF;
    NEW.v := NEW.v || '!';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER b_row BEFORE INSERT OR UPDATE OR DELETE ON t FOR EACH ROW EXECUTE FUNCTION say();
CREATE TRIGGER a_row AFTER INSERT OR UPDATE OR DELETE ON t FOR EACH ROW EXECUTE FUNCTION say();
CREATE TRIGGER b_stmt BEFORE INSERT OR UPDATE OR DELETE ON t FOR EACH STATEMENT EXECUTE FUNCTION say();
CREATE TRIGGER a_stmt AFTER INSERT OR UPDATE OR DELETE ON t FOR EACH STATEMENT EXECUTE FUNCTION say();
CREATE TRIGGER b_row BEFORE UPDATE OR DELETE ON chi FOR EACH ROW EXECUTE FUNCTION say();
CREATE TRIGGER a_row AFTER UPDATE OR DELETE ON chi FOR EACH ROW EXECUTE FUNCTION say();
CREATE TRIGGER a_stmt AFTER UPDATE OR DELETE ON chi FOR EACH STATEMENT EXECUTE FUNCTION say();
INSERT INTO src VALUES (1, 's'), (2, 'u');
INSERT INTO par VALUES (1), (2);
INSERT INTO chi VALUES (1, 1, 'x'), (2, 2, 'y');
";

/// Each statement changes at most one row per table, so the order of the notices is the
/// statement's own (not that of a scan).
const WRITES: &[&str] = &[
    "INSERT INTO t VALUES (1, 'a') ON CONFLICT (k) DO UPDATE SET v = excluded.v",
    "INSERT INTO t VALUES (1, 'b') ON CONFLICT (k) DO UPDATE SET v = excluded.v",
    "INSERT INTO t VALUES (1, 'c') ON CONFLICT DO NOTHING",
    "INSERT INTO t VALUES (1, 'skip') ON CONFLICT (k) DO UPDATE SET v = 'never'",
    "UPDATE t SET v = src.v FROM src WHERE src.k = t.k",
    "MERGE INTO t USING (SELECT * FROM src WHERE k = 2) s ON s.k = t.k \
     WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (s.k, s.v)",
    "MERGE INTO t USING (SELECT * FROM src WHERE k = 1) s ON s.k = t.k \
     WHEN MATCHED THEN UPDATE SET v = 'm' WHEN NOT MATCHED THEN INSERT VALUES (s.k, s.v)",
    "DELETE FROM t USING src WHERE src.k = t.k AND src.k = 2",
    "COPY t (k, v) FROM STDIN\n5\tc\n6\tskip\n7\td\n",
    "DELETE FROM par WHERE id = 1",
    "UPDATE par SET id = 3 WHERE id = 2",
    "SELECT string_agg(k || '=' || v, ' ' ORDER BY k) FROM t",
    "SELECT string_agg(id || '=' || coalesce(p::text, 'null') || v, ' ' ORDER BY id) FROM chi",
];

#[test]
fn triggers_fire_from_every_write_as_postgresql() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let want = messages(pg.port, EVERY_WRITE, WRITES).await;
        assert!(want.iter().all(|m| m.iter().all(|l| !l.starts_with("ERROR"))), "PostgreSQL: {want:?}");
        assert_eq!(want[0].len(), 6, "PostgreSQL's notices of the first INSERT: {want:?}");
        let got = messages(o.pg_port, EVERY_WRITE, WRITES).await;
        for ((s, w), g) in WRITES.iter().zip(&want).zip(&got) {
            assert_eq!(g, w, "{s}");
        }
        // The rows the statements left, as PostgreSQL's.
        for sql in ["SELECT k, v FROM t ORDER BY k", "SELECT id, p, v FROM chi ORDER BY id"] {
            let rows = |port| async move {
                let c = pg_connect(port).await;
                let rows = c.simple_query(sql).await.expect(sql);
                rows.iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(r) => {
                            Some((0..r.len()).map(|i| r.get(i).unwrap_or("NULL").to_string()).collect::<Vec<_>>())
                        }
                        _ => None,
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(rows(o.pg_port).await, rows(pg.port).await, "{sql}");
        }
    });
}

const TRIGGERS: &str = "
CREATE TABLE watched (k int PRIMARY KEY, v text);
CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.v := upper(NEW.v) || '!';
  RETURN NEW;
END $$;
CREATE FUNCTION audit_it() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit VALUES ((SELECT coalesce(max(id), 99) + 1 FROM audit WHERE id >= 100), TG_OP || ' ' || NEW.k);
  RETURN NEW;
END $$;
CREATE TRIGGER shout_watched BEFORE INSERT ON watched FOR EACH ROW EXECUTE FUNCTION shout();
CREATE TRIGGER audit_watched AFTER INSERT OR UPDATE ON watched FOR EACH ROW EXECUTE FUNCTION audit_it();
CREATE TRIGGER doomed AFTER DELETE ON watched FOR EACH STATEMENT EXECUTE FUNCTION audit_it();
DROP TRIGGER doomed ON watched;
";

#[test]
fn plpgsql_functions_and_their_writes_survive_sigkill() {
    for shards in ["1", "2"] {
        let mut o = Orbit::start(&["--shards", shards, "--fsync", "always"]);
        pg_runtime().block_on(async {
            let c = pg_connect(o.pg_port).await;
            c.batch_execute(FUNCTIONS).await.unwrap();
            c.batch_execute(
                "CREATE OR REPLACE FUNCTION outer_call(x int) RETURNS int LANGUAGE plpgsql AS \
                 $$ BEGIN RETURN inner_fail(x) * 10; END $$",
            )
            .await
            .unwrap();
            for i in 1..=20 {
                c.execute("SELECT note($1, 'row ' || $1)", &[&i]).await.unwrap();
            }
            c.batch_execute("DO $$ BEGIN FOR i IN 21..30 LOOP PERFORM note(i, 'do'); END LOOP; END $$").await.unwrap();
            c.batch_execute(TRIGGERS).await.unwrap();
            c.batch_execute("INSERT INTO watched VALUES (1, 'a'), (2, 'b'); UPDATE watched SET v = 'c' WHERE k = 2")
                .await
                .unwrap();
            // A block that never ends: its trigger must not outlive the crash.
            let other = pg_connect(o.pg_port).await;
            other
                .batch_execute(
                    "BEGIN; CREATE TRIGGER uncommitted BEFORE INSERT ON watched FOR EACH ROW EXECUTE FUNCTION shout()",
                )
                .await
                .unwrap();
        });
        o.restart();
        pg_runtime().block_on(async {
            let c = pg_connect(o.pg_port).await;
            let n: i64 = c.query_one("SELECT count(*) FROM audit WHERE id < 100", &[]).await.unwrap().get(0);
            assert_eq!(n, 30, "shards {shards}");
            let v: i32 = c.query_one("SELECT outer_call(1)", &[]).await.unwrap().get(0);
            assert_eq!(v, 10);
            let e = c.query_one("SELECT outer_call(2)", &[]).await.expect_err("raises");
            assert_eq!(e.as_db_error().map(|d| d.code().code()), Some("P0001"));
            let rows = c.query("SELECT id, outer_call(1) FROM audit WHERE id <= 3 ORDER BY id", &[]).await.unwrap();
            let got: Vec<(i32, i32)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            assert_eq!(got, [(1, 10), (2, 10), (3, 10)]);
            // The triggers fired before the crash wrote their rows; they fire after it too.
            let rows = c.query("SELECT what FROM audit WHERE id >= 100 ORDER BY id", &[]).await.unwrap();
            let got: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            assert_eq!(got, ["INSERT 1", "INSERT 2", "UPDATE 2"], "shards {shards}");
            c.batch_execute("INSERT INTO watched VALUES (3, 'x')").await.unwrap();
            let v: String = c.query_one("SELECT v FROM watched WHERE k = 3", &[]).await.unwrap().get(0);
            assert_eq!(v, "X!");
            let names: Vec<String> = c
                .query("SELECT tgname::text FROM pg_trigger ORDER BY 1", &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            assert_eq!(names, ["audit_watched", "shout_watched"]);
        });
    }
}
