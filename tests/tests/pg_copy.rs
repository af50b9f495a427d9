//! COPY, tables without a primary key, ALTER TABLE ... ADD PRIMARY KEY, VACUUM/ANALYZE and
//! storage parameters, end to end: tokio-postgres's copy_in/copy_out, psql's `\copy`, restarts
//! and SIGKILLs of the real server, and `pgbench -i` / `pgbench -S` run unchanged against it.

use futures::{SinkExt, StreamExt};
use orbit_tests::{pg_connect, pg_runtime, Orbit};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use tokio_postgres::{Client, SimpleQueryMessage};

/// Rows of a query as text.
async fn rows(c: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect()),
            _ => None,
        })
        .collect()
}

async fn count(c: &Client, table: &str) -> i64 {
    c.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.unwrap().get(0)
}

async fn copy_in(c: &Client, sql: &str, data: &[u8]) -> Result<u64, tokio_postgres::Error> {
    let sink = c.copy_in::<_, bytes::Bytes>(sql).await?;
    let mut sink = Box::pin(sink);
    // Several CopyData messages, split mid-line, as clients do.
    for chunk in data.chunks(7) {
        sink.send(bytes::Bytes::copy_from_slice(chunk)).await?;
    }
    sink.as_mut().finish().await
}

async fn copy_out(c: &Client, sql: &str) -> String {
    let stream = c.copy_out(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut stream = Box::pin(stream);
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.expect("copy data"));
    }
    String::from_utf8(out).expect("utf8")
}

fn code(e: &tokio_postgres::Error) -> Option<&str> {
    e.as_db_error().map(|d| d.code().code())
}

#[test]
fn copy_in_and_out_in_text_and_csv() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE t (id int4 PRIMARY KEY, name text, qty int8 DEFAULT 7, note varchar(10))")
            .await
            .unwrap();
        let n = copy_in(&c, "COPY t FROM STDIN", b"1\tone\t10\tx\n2\ttab\\there\t\\N\t\\N\n3\tback\\\\slash\t30\ty\n")
            .await
            .unwrap();
        assert_eq!(n, 3);
        assert_eq!(
            rows(&c, "SELECT id, name, qty, note FROM t ORDER BY id").await,
            vec![
                vec![Some("1".into()), Some("one".into()), Some("10".into()), Some("x".into())],
                vec![Some("2".into()), Some("tab\there".into()), None, None],
                vec![Some("3".into()), Some("back\\slash".into()), Some("30".into()), Some("y".into())],
            ]
        );
        // A column list: the others take their defaults.
        let n = copy_in(
            &c,
            "COPY t (name, id) FROM STDIN WITH (FORMAT csv, HEADER true)",
            b"name,id\n\"a,\"\"b\"\"\",4\n,5\n",
        )
        .await
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            rows(&c, "SELECT name, qty FROM t WHERE id >= 4 ORDER BY id").await,
            vec![vec![Some("a,\"b\"".into()), Some("7".into())], vec![None, Some("7".into())]]
        );
        // The end-of-data marker and the pre-9.0 option syntax.
        let n = copy_in(&c, "COPY t FROM STDIN CSV DELIMITER '|' NULL 'nil'", b"6|six|nil|z\n\\.\n").await.unwrap();
        assert_eq!(n, 1);
        assert_eq!(count(&c, "t").await, 6);
        // Out: text (in no particular order across shards: sorted here), CSV with header, a query.
        let text = copy_out(&c, "COPY t (id, name, qty) TO STDOUT").await;
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort();
        assert_eq!(
            lines,
            ["1\tone\t10", "2\ttab\\there\t\\N", "3\tback\\\\slash\t30", "4\ta,\"b\"\t7", "5\t\\N\t7", "6\tsix\t\\N"]
        );
        let csv = copy_out(&c, "COPY (SELECT id, name FROM t WHERE id = 4) TO STDOUT WITH (FORMAT csv, HEADER)").await;
        assert_eq!(csv, "id,name\n4,\"a,\"\"b\"\"\"\n");
        let csv = copy_out(
            &c,
            "COPY (SELECT name FROM t WHERE id IN (2, 5) ORDER BY id) TO STDOUT WITH (FORMAT csv, FORCE_QUOTE *)",
        )
        .await;
        assert_eq!(csv, "\"tab\there\"\n\n");
        // A query with subqueries, WITH and set operations (PostgreSQL copies any query).
        let text = copy_out(
            &c,
            "COPY (SELECT id, (SELECT count(*) FROM t t2 WHERE t2.id <= t.id) FROM t \
             WHERE id IN (SELECT id FROM t WHERE qty = 7) ORDER BY id) TO STDOUT",
        )
        .await;
        assert_eq!(text, "4\t4\n5\t5\n");
        let text = copy_out(
            &c,
            "COPY (WITH w AS (SELECT 2 AS i UNION SELECT 3) SELECT id FROM t JOIN w ON id = i ORDER BY id) TO STDOUT",
        )
        .await;
        assert_eq!(text, "2\n3\n");
        // Errors as PostgreSQL words them, with CONTEXT.
        let e = copy_in(&c, "COPY t FROM STDIN", b"7\ta\t1\tq\n8\tb\t2\tq\n9\tc\tabc\tq\n").await.unwrap_err();
        let db = e.as_db_error().expect("db error");
        assert_eq!(db.code().code(), "22P02");
        assert_eq!(db.message(), "invalid input syntax for type bigint: \"abc\"");
        assert_eq!(db.where_(), Some("COPY t, line 3, column qty: \"abc\""));
        let e = copy_in(&c, "COPY t FROM STDIN", b"7\ta\n").await.unwrap_err();
        assert_eq!(code(&e), Some("22P04"));
        assert_eq!(e.as_db_error().unwrap().message(), "missing data for column \"qty\"");
        let e = copy_in(&c, "COPY t FROM STDIN", b"7\ta\t1\tq\textra\n").await.unwrap_err();
        assert_eq!(e.as_db_error().unwrap().message(), "extra data after last expected column");
        let e = copy_in(&c, "COPY t FROM STDIN", b"40\tnew\t1\tq\n1\tdup\t1\tq\n").await.unwrap_err();
        assert_eq!(code(&e), Some("23505"));
        assert_eq!(e.as_db_error().unwrap().where_(), Some("COPY t, line 2"));
        let e = copy_in(&c, "COPY t FROM STDIN", b"30\ta\t1\tq\n31\tb\t1\tq\n30\tc\t1\tq\n").await.unwrap_err();
        let db = e.as_db_error().unwrap();
        assert_eq!((db.detail(), db.where_()), (Some("Key (id)=(30) already exists."), Some("COPY t, line 3")));
        let e = copy_in(&c, "COPY t FROM STDIN", b"\\N\tnull key\t1\tq\n").await.unwrap_err();
        assert_eq!(code(&e), Some("23502"));
        let e = copy_in(&c, "COPY t FROM STDIN", b"10\ttoo long for ten\t1\tabcdefghijkl\n").await.unwrap_err();
        assert_eq!(code(&e), Some("22001"));
        // A client that gives up sends CopyFail: nothing of it stays (one batch, not flushed).
        {
            let sink = c.copy_in::<_, bytes::Bytes>("COPY t FROM STDIN").await.unwrap();
            let mut sink = Box::pin(sink);
            sink.send(bytes::Bytes::from_static(b"20	given up	1	q\n")).await.unwrap();
        }
        // The connection is fine after a failed COPY, and nothing of the failed ones stayed.
        assert_eq!(count(&c, "t").await, 6);
        // Server-side files and programs: refused as to a role without pg_read_server_files.
        let e = c.batch_execute("COPY t FROM '/etc/passwd'").await.unwrap_err();
        assert_eq!(code(&e), Some("42501"));
        let e = c.batch_execute("COPY t TO '/tmp/x'").await.unwrap_err();
        assert_eq!(code(&e), Some("42501"));
        let e = c.batch_execute("COPY t FROM PROGRAM 'ls'").await.unwrap_err();
        assert_eq!(code(&e), Some("42501"));
        // Option checks.
        for (sql, want) in [
            ("COPY t TO STDOUT WITH (FORMAT foo)", "22023"),
            ("COPY t TO STDOUT WITH (DELIMITER 'ab')", "0A000"),
            ("COPY t TO STDOUT WITH (QUOTE '''')", "0A000"),
            ("COPY t TO STDOUT WITH (BOGUS 1)", "42601"),
            ("COPY t TO STDOUT WITH (FORMAT csv, FORMAT text)", "42601"),
            ("COPY t (id, id) TO STDOUT", "42701"),
            ("COPY t (nope) TO STDOUT", "42703"),
            ("COPY nosuch FROM STDIN", "42P01"),
        ] {
            let e = c.batch_execute(sql).await.expect_err(sql);
            assert_eq!(code(&e), Some(want), "{sql}: {e:?}");
        }
    });
}

#[test]
fn copy_of_insert_update_delete_returning() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE d (id serial PRIMARY KEY, t text)").await.unwrap();
        // Outside a transaction block the COPY is its own transaction, committed.
        assert_eq!(
            copy_out(&c, "COPY (INSERT INTO d (t) VALUES ('f'), ('x') RETURNING id, t) TO STDOUT").await,
            "1\tf\n2\tx\n"
        );
        assert_eq!(count(&c, "d").await, 2);
        assert_eq!(copy_out(&c, "COPY (UPDATE d SET t = 'g' WHERE t = 'f' RETURNING id) TO STDOUT").await, "1\n");
        assert_eq!(
            copy_out(&c, "COPY (WITH g AS (DELETE FROM d WHERE t = 'g' RETURNING id) SELECT id * 10 FROM g) TO STDOUT")
                .await,
            "10\n"
        );
        assert_eq!(
            copy_out(&c, "COPY (DELETE FROM d WHERE t = 'x' RETURNING t) TO STDOUT WITH (FORMAT csv)").await,
            "x\n"
        );
        assert_eq!(count(&c, "d").await, 0);
        // Inside a block it is the block's: rolled back with it.
        c.batch_execute("BEGIN").await.unwrap();
        copy_out(&c, "COPY (INSERT INTO d (t) VALUES ('y') RETURNING id) TO STDOUT").await;
        assert_eq!(count(&c, "d").await, 1);
        c.batch_execute("ROLLBACK").await.unwrap();
        assert_eq!(count(&c, "d").await, 0);
        for sql in [
            "COPY (INSERT INTO d (t) VALUES ('z')) TO STDOUT",
            "COPY (UPDATE d SET t = 'q') TO STDOUT",
            "COPY (DELETE FROM d) TO STDOUT",
        ] {
            let e = c.batch_execute(sql).await.expect_err(sql);
            assert_eq!(code(&e), Some("0A000"), "{sql}: {e:?}");
            let message = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_default();
            assert_eq!(message, "COPY query must have a RETURNING clause");
        }
        assert_eq!(count(&c, "d").await, 0);
    });
}

#[test]
fn copy_inside_a_transaction_is_atomic_with_it() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE a (id int4 PRIMARY KEY, v int4)").await.unwrap();
        c.batch_execute("BEGIN").await.unwrap();
        let data: String = (0..2500).map(|i| format!("{i}\t{}\n", i * 2)).collect();
        assert_eq!(copy_in(&c, "COPY a FROM STDIN WITH (FREEZE ON)", data.as_bytes()).await.unwrap(), 2500);
        // Seen inside the transaction, not outside it.
        assert_eq!(count(&c, "a").await, 2500);
        let other = pg_connect(o.pg_port).await;
        assert_eq!(count(&other, "a").await, 0);
        c.batch_execute("ROLLBACK").await.unwrap();
        assert_eq!(count(&c, "a").await, 0);
        c.batch_execute("BEGIN; TRUNCATE a").await.unwrap();
        copy_in(&c, "COPY a FROM STDIN", data.as_bytes()).await.unwrap();
        c.batch_execute("COMMIT").await.unwrap();
        assert_eq!(count(&other, "a").await, 2500);
        let sum: i64 = other.query_one("SELECT sum(v) FROM a", &[]).await.unwrap().get(0);
        assert_eq!(sum, (0..2500i64).map(|i| i * 2).sum::<i64>());
    });
}

#[test]
fn tables_without_a_primary_key_keep_every_row_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = Orbit::start_in(dir.path(), &args);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE h (tid int, delta int, note text) WITH (fillfactor=100)").await.unwrap();
        // Equal rows are distinct rows; the row id is invisible.
        c.batch_execute("INSERT INTO h VALUES (1, 10, 'x'), (1, 10, 'x'), (2, 20, 'y')").await.unwrap();
        let data: String = (0..1000).map(|i| format!("{}\t{i}\tc\n", i % 7)).collect();
        assert_eq!(copy_in(&c, "COPY h FROM STDIN", data.as_bytes()).await.unwrap(), 1000);
        assert_eq!(rows(&c, "SELECT * FROM h WHERE delta = 10 AND note = 'x'").await.len(), 2);
        let cols = c.prepare("SELECT * FROM h").await.unwrap();
        assert_eq!(cols.columns().iter().map(|c| c.name()).collect::<Vec<_>>(), ["tid", "delta", "note"]);
        let e = c.batch_execute("INSERT INTO h VALUES (1, 2, 'a', 4)").await.unwrap_err();
        assert_eq!(code(&e), Some("42601"));
        assert_eq!(c.execute("UPDATE h SET delta = delta + 1 WHERE tid = 1 AND note = 'x'", &[]).await.unwrap(), 2);
        assert_eq!(c.execute("DELETE FROM h WHERE tid = 2 AND note = 'y'", &[]).await.unwrap(), 1);
        assert_eq!(count(&c, "h").await, 1002);
    });
    o.restart();
    o.wait_for_ping();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        assert_eq!(count(&c, "h").await, 1002);
        assert_eq!(rows(&c, "SELECT delta FROM h WHERE note = 'x'").await, vec![vec![Some("11".into())]; 2]);
        // Row ids handed out after the restart do not collide with the replayed ones.
        let data: String = (0..500).map(|i| format!("{i}\t{i}\tafter\n")).collect();
        copy_in(&c, "COPY h FROM STDIN", data.as_bytes()).await.unwrap();
        c.batch_execute("INSERT INTO h VALUES (9, 9, 'after')").await.unwrap();
        assert_eq!(count(&c, "h").await, 1503);
    });
    // A snapshot, more rows after it, a SIGKILL: snapshot plus log give every row back, and
    // ids handed out afterwards still do not collide.
    let _: String = redis::cmd("SAVE").query(&mut o.client()).expect("SAVE");
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        let data: String = (0..300).map(|i| format!("{i}	{i}	post-snapshot\n")).collect();
        copy_in(&c, "COPY h FROM STDIN", data.as_bytes()).await.unwrap();
        c.execute("DELETE FROM h WHERE note = 'after' AND tid < 100", &[]).await.unwrap();
    });
    o.restart();
    o.wait_for_ping();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        assert_eq!(count(&c, "h").await, 1503 + 300 - 101);
        c.batch_execute("INSERT INTO h SELECT tid, delta, 'copy' FROM h").await.unwrap();
        assert_eq!(count(&c, "h").await, 2 * (1503 + 300 - 101));
    });
}

/// Whether `h2` has its primary key (a duplicate insert fails) or not (it succeeds).
async fn has_primary_key(c: &Client) -> bool {
    match c.batch_execute("INSERT INTO h2 VALUES (1, 99)").await {
        Err(e) => {
            assert_eq!(code(&e), Some("23505"), "{e:?}");
            true
        }
        Ok(()) => {
            c.batch_execute("DELETE FROM h2 WHERE v = 99").await.unwrap();
            false
        }
    }
}

#[test]
fn alter_table_add_primary_key_rekeys_and_survives_restart_and_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = Orbit::start_in(dir.path(), &args);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE k (aid int, v text)").await.unwrap();
        c.batch_execute("INSERT INTO k VALUES (1, 'a'), (1, 'b'), (NULL, 'c')").await.unwrap();
        // PostgreSQL builds the unique index (duplicates) before it checks NOT NULL.
        let e = c.batch_execute("ALTER TABLE k ADD PRIMARY KEY (aid)").await.unwrap_err();
        let db = e.as_db_error().unwrap();
        assert_eq!((db.code().code(), db.message()), ("23505", "could not create unique index \"k_pkey\""));
        assert_eq!(db.detail(), Some("Key (aid)=(1) is duplicated."));
        c.batch_execute("DELETE FROM k WHERE v = 'b'").await.unwrap();
        let e = c.batch_execute("ALTER TABLE k ADD PRIMARY KEY (aid)").await.unwrap_err();
        assert_eq!(code(&e), Some("23502"));
        assert_eq!(e.as_db_error().unwrap().message(), "column \"aid\" of relation \"k\" contains null values");
        c.batch_execute("DELETE FROM k WHERE aid IS NULL").await.unwrap();
        let data: String = (2..3000).map(|i| format!("{i}\tv{i}\n")).collect();
        copy_in(&c, "COPY k FROM STDIN", data.as_bytes()).await.unwrap();
        c.batch_execute("ALTER TABLE k ADD CONSTRAINT k_by_aid PRIMARY KEY (aid)").await.unwrap();
        let e = c.batch_execute("ALTER TABLE k ADD PRIMARY KEY (v)").await.unwrap_err();
        assert_eq!(code(&e), Some("42P16"));
        let e = c.batch_execute("INSERT INTO k VALUES (5, 'again')").await.unwrap_err();
        assert_eq!(e.as_db_error().unwrap().message(), "duplicate key value violates unique constraint \"k_by_aid\"");
        assert_eq!(count(&c, "k").await, 2999);
    });
    o.restart();
    o.wait_for_ping();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        assert_eq!(count(&c, "k").await, 2999);
        // Point lookups find each row on the shard its new key hashes to.
        for aid in [1i32, 2, 777, 2999] {
            let r = c.query("SELECT v FROM k WHERE aid = $1", &[&aid]).await.unwrap();
            let want = if aid == 1 { "a".to_string() } else { format!("v{aid}") };
            assert_eq!(r.len(), 1, "aid {aid}");
            assert_eq!(r[0].get::<_, String>(0), want);
        }
        let e = c.batch_execute("INSERT INTO k VALUES (2, 'again')").await.unwrap_err();
        assert_eq!(code(&e), Some("23505"));
    });
    // A SIGKILL while ALTER TABLE runs leaves the old table or the new one, every row in it.
    for delay_ms in [0u64, 5, 30, 200] {
        rt.block_on(async {
            let c = pg_connect(o.pg_port).await;
            c.batch_execute("DROP TABLE IF EXISTS h2; CREATE TABLE h2 (aid int, v int)").await.unwrap();
            let data: String = (1..=20_000).map(|i| format!("{i}\t{}\n", i % 10)).collect();
            copy_in(&c, "COPY h2 FROM STDIN", data.as_bytes()).await.unwrap();
            // Sent, not awaited: the kill lands somewhere in it.
            let alter = c.batch_execute("ALTER TABLE h2 ADD PRIMARY KEY (aid)");
            let _ = tokio::time::timeout(Duration::from_millis(delay_ms), alter).await;
        });
        o.restart();
        o.wait_for_ping();
        rt.block_on(async {
            let c = pg_connect(o.pg_port).await;
            assert_eq!(count(&c, "h2").await, 20_000, "kill after {delay_ms} ms");
            let sum: i64 = c.query_one("SELECT sum(aid) FROM h2", &[]).await.unwrap().get(0);
            assert_eq!(sum, (1..=20_000i64).sum::<i64>());
            let keyed = has_primary_key(&c).await;
            eprintln!(
                "SIGKILL {delay_ms} ms into ALTER TABLE: {} table after restart",
                if keyed { "new" } else { "old" }
            );
            if keyed {
                assert_eq!(c.query("SELECT v FROM h2 WHERE aid = 1234", &[]).await.unwrap().len(), 1);
            } else {
                // The old table: the ALTER can run again.
                c.batch_execute("ALTER TABLE h2 ADD PRIMARY KEY (aid)").await.unwrap();
            }
            // No staging table is left behind under any name a client sees.
            c.batch_execute("CREATE TABLE probe (x int); DROP TABLE probe").await.unwrap();
        });
    }
}

#[test]
fn alter_table_waits_for_writers_and_keeps_their_rows() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        a.batch_execute("CREATE TABLE w (k int, v int)").await.unwrap();
        let data: String = (1..=100).map(|i| format!("{i}\t0\n")).collect();
        copy_in(&a, "COPY w FROM STDIN", data.as_bytes()).await.unwrap();
        // A transaction holds row locks on w while the ALTER starts.
        a.batch_execute("BEGIN; UPDATE w SET v = 1 WHERE k = 5; INSERT INTO w VALUES (101, 1)").await.unwrap();
        let alter = tokio::spawn(async move { b.batch_execute("ALTER TABLE w ADD PRIMARY KEY (k)").await.map(|_| b) });
        tokio::time::sleep(Duration::from_millis(300)).await;
        a.batch_execute("COMMIT").await.unwrap();
        let b = alter.await.unwrap().expect("ALTER after the writer committed");
        // The writer's changes are in the re-keyed table.
        assert_eq!(count(&b, "w").await, 101);
        assert_eq!(rows(&b, "SELECT v FROM w WHERE k = 5").await, vec![vec![Some("1".into())]]);
        assert_eq!(rows(&b, "SELECT v FROM w WHERE k = 101").await, vec![vec![Some("1".into())]]);
        let e = b.batch_execute("INSERT INTO w VALUES (5, 2)").await.unwrap_err();
        assert_eq!(code(&e), Some("23505"));
    });
}

#[test]
fn vacuum_analyze_and_storage_parameters() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE v (id int PRIMARY KEY, x int) WITH (fillfactor=100, autovacuum_enabled=false, \
             toast.autovacuum_enabled=off)",
        )
        .await
        .unwrap();
        c.batch_execute("INSERT INTO v VALUES (1, 1), (2, 2)").await.unwrap();
        for sql in [
            "VACUUM",
            "VACUUM v",
            "VACUUM FULL v",
            "VACUUM ANALYZE v",
            "VACUUM (VERBOSE, ANALYZE) v",
            "VACUUM FULL FREEZE VERBOSE ANALYZE v (x)",
            "ANALYZE",
            "ANALYZE v",
            "ANALYZE VERBOSE v (id, x)",
        ] {
            c.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        }
        for (sql, want, msg) in [
            ("VACUUM nosuch", "42P01", "relation \"nosuch\" does not exist"),
            ("ANALYZE nosuch", "42P01", "relation \"nosuch\" does not exist"),
            ("VACUUM (bogus) v", "42601", "unrecognized VACUUM option \"bogus\""),
            ("ANALYZE v (nope)", "42703", "column \"nope\" of relation \"v\" does not exist"),
            ("CREATE TABLE w (a int) WITH (foo=1)", "22023", "unrecognized parameter \"foo\""),
            ("CREATE TABLE w (a int) WITH (fillfactor=5)", "22023", "value 5 out of bounds for option \"fillfactor\""),
            (
                "CREATE TABLE w (a int) WITH (autovacuum_enabled=maybe)",
                "22023",
                "invalid value for boolean option \"autovacuum_enabled\": maybe",
            ),
        ] {
            let e = c.batch_execute(sql).await.expect_err(sql);
            let db = e.as_db_error().unwrap();
            assert_eq!((db.code().code(), db.message()), (want, msg), "{sql}");
        }
        let e = c.batch_execute("BEGIN; VACUUM v").await.unwrap_err();
        assert_eq!(code(&e), Some("25001"));
        c.batch_execute("ROLLBACK").await.unwrap();
    });
}

fn psql_available() -> bool {
    Command::new("psql").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn psql_backslash_copy() {
    if !psql_available() {
        eprintln!("SKIP: psql not found");
        return;
    }
    let o = Orbit::start(&["--shards", "2"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.csv");
    std::fs::write(&file, "id,name\n1,one\n2,\"t,wo\"\n").unwrap();
    let out = dir.path().join("out.txt");
    let psql = |cmd: &str| {
        let r = Command::new("psql")
            .args(["-X", "-h", "127.0.0.1", "-p", &o.pg_port.to_string(), "-U", "postgres", "-v", "ON_ERROR_STOP=1"])
            .args(["-c", cmd])
            .output()
            .expect("psql");
        assert!(r.status.success(), "{cmd}: {}", String::from_utf8_lossy(&r.stderr));
        String::from_utf8_lossy(&r.stdout).into_owned()
    };
    psql("CREATE TABLE p (id int PRIMARY KEY, name text)");
    assert_eq!(psql(&format!("\\copy p from '{}' with (format csv, header)", file.display())).trim(), "COPY 2");
    psql(&format!("\\copy (select * from p order by id) to '{}'", out.display()));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "1\tone\n2\tt,wo\n");
}

/// The query pgbench 15 runs to learn whether pgbench_accounts is partitioned (`GetTableInfo`).
const PGBENCH_PARTITION_QUERY: &str = "select o.n, p.partstrat, pg_catalog.count(i.inhparent) \
    from pg_catalog.pg_class as c \
    join pg_catalog.pg_namespace as n on (n.oid = c.relnamespace) \
    cross join lateral (select pg_catalog.array_position(pg_catalog.current_schemas(true), n.nspname)) as o(n) \
    left join pg_catalog.pg_partitioned_table as p on (p.partrelid = c.oid) \
    left join pg_catalog.pg_inherits as i on (c.oid = i.inhparent) \
    where c.relname = 'pgbench_accounts' and o.n is not null \
    group by 1, 2 \
    order by 1 asc \
    limit 1";

fn pgbench() -> Option<&'static str> {
    let p = "/usr/bin/pgbench";
    Path::new(p).exists().then_some(p)
}

fn run_pgbench(port: u16, args: &[&str]) -> (bool, String) {
    let out = Command::new(pgbench().expect("pgbench"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
        .args(args)
        .arg("postgres")
        .output()
        .expect("run pgbench");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn pgbench_initializes_and_runs_unchanged() {
    if pgbench().is_none() {
        eprintln!("SKIP: /usr/bin/pgbench not found");
        return;
    }
    let o = Orbit::start(&["--shards", "2"]);
    let (ok, out) = run_pgbench(o.pg_port, &["-i", "-s", "1"]);
    let full_init = ok;
    if !ok {
        // pgbench_history's `mtime timestamp` and the `char(n)` fillers need those types: until
        // they are there, the tables are made here with stand-ins and pgbench runs every
        // other initialization step (drop and create skipped): COPY ... WITH (FREEZE ON) inside
        // BEGIN/TRUNCATE/COMMIT, VACUUM ANALYZE, ALTER TABLE ... ADD PRIMARY KEY.
        assert!(out.contains("is not supported"), "pgbench -i failed for another reason:\n{out}");
        eprintln!("NOTE: pgbench's own CREATE TABLEs are refused here ({}); running -I gvp on stand-in tables", {
            out.lines().find(|l| l.contains("ERROR")).unwrap_or("")
        });
        pg_runtime().block_on(async {
            let c = pg_connect(o.pg_port).await;
            c.batch_execute(
                "CREATE TABLE pgbench_history(tid int,bid int,aid int,delta int,mtime text,filler varchar(22)); \
                 CREATE TABLE pgbench_tellers(tid int not null,bid int,tbalance int,filler varchar(84)) \
                   WITH (fillfactor=100); \
                 CREATE TABLE pgbench_accounts(aid int not null,bid int,abalance int,filler varchar(84)) \
                   WITH (fillfactor=100); \
                 CREATE TABLE pgbench_branches(bid int not null,bbalance int,filler varchar(88)) \
                   WITH (fillfactor=100)",
            )
            .await
            .unwrap();
        });
        let (ok, out) = run_pgbench(o.pg_port, &["-i", "-I", "gvp", "-s", "1"]);
        assert!(ok, "pgbench -i -I gvp:\n{out}");
    }
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        assert_eq!(count(&c, "pgbench_accounts").await, 100_000);
        assert_eq!(count(&c, "pgbench_tellers").await, 10);
        assert_eq!(count(&c, "pgbench_branches").await, 1);
        // The primary keys are there: a point lookup, and a duplicate refused.
        assert_eq!(c.query("SELECT abalance FROM pgbench_accounts WHERE aid = 4242", &[]).await.unwrap().len(), 1);
        let e = c.batch_execute("INSERT INTO pgbench_accounts VALUES (4242, 1, 0, '')").await.unwrap_err();
        assert_eq!(code(&e), Some("23505"));
        // pgbench 15's partition query, which it runs before a benchmark (on an error it
        // silently assumes pgbench_accounts is not partitioned): the answer PostgreSQL gives.
        let answer = rows(&c, PGBENCH_PARTITION_QUERY).await;
        assert_eq!(answer, vec![vec![Some("2".to_string()), None, Some("0".to_string())]]);
    });
    let (ok, out) = run_pgbench(o.pg_port, &["-S", "-T", "5", "-c", "2"]);
    assert!(ok, "pgbench -S:\n{out}");
    assert!(out.contains("number of failed transactions: 0"), "{out}");
    let processed = out
        .lines()
        .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
        .and_then(|n| n.trim().parse::<u64>().ok());
    assert!(processed.is_some_and(|n| n > 0), "{out}");
    if !full_init {
        return;
    }
    // The TPC-B-like script: its pgbench_history rows go into a table without a primary key,
    // one per transaction, and the balances stay consistent.
    let (ok, out) = run_pgbench(o.pg_port, &["-T", "3", "-c", "2"]);
    assert!(ok && out.contains("number of failed transactions: 0"), "pgbench tpcb-like:\n{out}");
    let processed = out
        .lines()
        .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
        .and_then(|n| n.trim().parse::<i64>().ok())
        .expect("processed count");
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        assert_eq!(count(&c, "pgbench_history").await, processed);
        let mut sums = Vec::new();
        for (t, col) in
            [("pgbench_history", "delta"), ("pgbench_accounts", "abalance"), ("pgbench_tellers", "tbalance")]
        {
            sums.push(rows(&c, &format!("SELECT sum({col}) FROM {t}")).await);
        }
        assert!(sums.windows(2).all(|w| w[0] == w[1]), "{sums:?}");
    });
}

#[test]
fn copy_computes_defaults_of_columns_it_leaves_out() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE ev (id serial PRIMARY KEY, name text, at date DEFAULT '2024-01-02', n int DEFAULT 3 * 4)",
        )
        .await
        .unwrap();
        let n = copy_in(&c, "COPY ev (name) FROM STDIN", b"a\nb\nc\n").await.unwrap();
        assert_eq!(n, 3);
        let got = rows(&c, "SELECT id, name, at, n FROM ev ORDER BY id").await;
        let want: Vec<Vec<Option<String>>> = [("1", "a"), ("2", "b"), ("3", "c")]
            .iter()
            .map(|(i, v)| vec![Some(i.to_string()), Some(v.to_string()), Some("2024-01-02".into()), Some("12".into())])
            .collect();
        assert_eq!(got, want);
        // In a transaction too, and the sequence goes on from there.
        c.batch_execute("BEGIN").await.unwrap();
        copy_in(&c, "COPY ev (name, n) FROM STDIN CSV", b"d,1\n").await.unwrap();
        c.batch_execute("COMMIT").await.unwrap();
        assert_eq!(
            rows(&c, "SELECT id, n FROM ev WHERE name = 'd'").await,
            vec![vec![Some("4".into()), Some("1".into())]]
        );
    });
}

/// `n` rows `i\tv<i>` from 1; row `bad` (if any) is replaced by `line`.
fn numbered(n: usize, bad: Option<(usize, &str)>) -> String {
    (1..=n)
        .map(|i| match bad {
            Some((at, line)) if at == i => format!("{line}\n"),
            _ => format!("{i}\tv{i}\n"),
        })
        .collect()
}

#[test]
fn copy_outside_a_transaction_is_all_or_nothing_and_durable() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = Orbit::start_in(dir.path(), &args);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE p (id int PRIMARY KEY, v text); CREATE TABLE q (id int, v text)").await.unwrap();
        c.batch_execute("INSERT INTO p VALUES (0, 'kept')").await.unwrap();
        // A bad value on line 3500, past three batches already inserted: none of its rows stay
        // (PostgreSQL's COPY is one transaction).
        for t in ["p", "q"] {
            let data = numbered(5000, Some((3500, "3500\tv\textra")));
            let e = copy_in(&c, &format!("COPY {t} FROM STDIN"), data.as_bytes()).await.unwrap_err();
            let db = e.as_db_error().unwrap();
            assert_eq!(db.message(), "extra data after last expected column");
            assert_eq!(db.where_(), Some(format!("COPY {t}, line 3500: \"3500\tv\textra\"").as_str()));
            let data = numbered(5000, Some((4200, "x\tv")));
            let e = copy_in(&c, &format!("COPY {t} (id, v) FROM STDIN"), data.as_bytes()).await.unwrap_err();
            assert_eq!(
                e.as_db_error().unwrap().where_(),
                Some(format!("COPY {t}, line 4200, column id: \"x\"").as_str())
            );
        }
        assert_eq!(count(&c, "p").await, 1);
        assert_eq!(count(&c, "q").await, 0);
        // A key taken by an earlier batch of the same COPY, and one taken by a committed row.
        let data = numbered(3000, Some((2500, "10\tagain")));
        let e = copy_in(&c, "COPY p FROM STDIN", data.as_bytes()).await.unwrap_err();
        let db = e.as_db_error().unwrap();
        assert_eq!((db.code().code(), db.where_()), ("23505", Some("COPY p, line 2500")));
        let data = numbered(3000, Some((1700, "0\ttaken")));
        let e = copy_in(&c, "COPY p FROM STDIN", data.as_bytes()).await.unwrap_err();
        let db = e.as_db_error().unwrap();
        assert_eq!((db.code().code(), db.detail()), ("23505", Some("Key (id)=(0) already exists.")));
        assert_eq!(count(&c, "p").await, 1);
        // A CHECK constraint failing on a later batch's row: none of the rows either.
        c.batch_execute("CREATE TABLE ck (id int PRIMARY KEY, v int CHECK (v < 5000))").await.unwrap();
        let data: String = (1..=3000).map(|i| format!("{i}\t{}\n", if i == 2600 { 9999 } else { i })).collect();
        let e = copy_in(&c, "COPY ck FROM STDIN", data.as_bytes()).await.unwrap_err();
        assert_eq!(code(&e), Some("23514"));
        assert_eq!(count(&c, "ck").await, 0);
        // CSV and FREEZE: the same, and a good COPY keeps every row.
        let csv: String = (1..=4000).map(|i| format!("{i},\"v,{i}\"\n")).collect();
        assert_eq!(copy_in(&c, "COPY q FROM STDIN (FORMAT csv, FREEZE)", csv.as_bytes()).await.unwrap(), 4000);
        assert_eq!(copy_in(&c, "COPY p FROM STDIN", numbered(4000, None).as_bytes()).await.unwrap(), 4000);
    });
    // Acknowledged under --fsync always: kept across a SIGKILL right after the reply.
    o.kill9();
    o.restart();
    o.wait_for_ping();
    let port = o.pg_port;
    rt.block_on(async {
        let c = pg_connect(port).await;
        assert_eq!(count(&c, "p").await, 4001);
        assert_eq!(count(&c, "q").await, 4000);
        assert_eq!(rows(&c, "SELECT v FROM q WHERE id = 3999").await, vec![vec![Some("v,3999".into())]]);
        // A COPY the server is killed in the middle of (batches of it already inserted, no
        // CopyDone yet): nothing of it after the restart.
        let sink = c.copy_in::<_, bytes::Bytes>("COPY q FROM STDIN").await.unwrap();
        let mut sink = Box::pin(sink);
        let more: String = (5000..=9000).map(|i| format!("{i}\tlost\n")).collect();
        sink.send(bytes::Bytes::from(more)).await.unwrap();
        sink.as_mut().flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        o.kill9();
    });
    o.restart();
    o.wait_for_ping();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        assert_eq!(count(&c, "q").await, 4000);
        assert_eq!(rows(&c, "SELECT count(*) FROM q WHERE v = 'lost'").await, vec![vec![Some("0".into())]]);
    });
}

#[test]
fn alter_table_waits_for_a_transaction_that_only_inserted() {
    // Rows of a table without a primary key take fresh row ids, and an insert locks one row
    // per shard, not each: that lock is what the ALTER must wait for.
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        a.batch_execute("CREATE TABLE w (k int, v int)").await.unwrap();
        a.batch_execute("BEGIN; INSERT INTO w SELECT g, 1 FROM generate_series(1, 300) g").await.unwrap();
        copy_in(&a, "COPY w FROM STDIN", b"301\t2\n302\t2\n").await.unwrap();
        let alter = tokio::spawn(async move { b.batch_execute("ALTER TABLE w ADD PRIMARY KEY (k)").await.map(|_| b) });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!alter.is_finished(), "the ALTER did not wait for the open transaction");
        a.batch_execute("COMMIT").await.unwrap();
        let b = alter.await.unwrap().expect("ALTER after the writer committed");
        assert_eq!(count(&b, "w").await, 302);
        assert_eq!(rows(&b, "SELECT sum(v) FROM w").await, vec![vec![Some("304".into())]]);
    });
}
