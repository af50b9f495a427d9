//! Repartitioned join steps read what the transaction sees: under REPEATABLE READ every shard
//! reads its part of the step's table at the transaction's snapshot (rows another session
//! committed since are not joined), under READ COMMITTED the latest commit. Both forms: the
//! table partitioned on the join key (only the rows so far move) and both sides moving shard to
//! shard. Orbit `--shards 2` (the data set is `tests/slt/shuffle.slt`'s, whose results are
//! compared with PostgreSQL's there).

use orbit_tests::{pg_connect, pg_runtime, Orbit};

/// The rows of `sql` as text, one string per row.
async fn rows(c: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in c.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}")) {
        if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
            out.push((0..r.len()).map(|i| r.get(i).unwrap_or("NULL").to_string()).collect::<Vec<_>>().join(","));
        }
    }
    out
}

const SETUP: &[&str] = &[
    "CREATE TABLE sh_big (id int PRIMARY KEY, grp int, v int, pad text)",
    "INSERT INTO sh_big SELECT i, i % 7, i % 101, repeat('x', 20 + i % 30) FROM generate_series(1, 8000) AS i",
    "CREATE TABLE sh_ref (id int PRIMARY KEY, big_id bigint, w int)",
    "INSERT INTO sh_ref SELECT i, CASE WHEN i % 7 = 0 THEN (i * 13) % 3000 WHEN i % 7 = 3 THEN 8000 + i ELSE NULL END, i % 10 \
     FROM generate_series(1, 6000) AS i",
    "CREATE TABLE sh_t (id int PRIMARY KEY, u int, v int, pad text)",
    "INSERT INTO sh_t SELECT i, (i * 7) % 10007, i % 13, repeat('y', 10 + i % 40) FROM generate_series(1, 10000) AS i",
    "CREATE TABLE sh_l (id int PRIMARY KEY, lu bigint, w int)",
    "INSERT INTO sh_l SELECT i, CASE WHEN i % 20 = 0 THEN (i * 3) % 4000 WHEN i = 7 THEN 14 ELSE NULL END, i % 9 \
     FROM generate_series(1, 5200) AS i",
    "ANALYZE",
];

const PARTITIONED: &str = "SELECT count(*), sum(b.v), sum(r.w) FROM sh_ref r JOIN sh_big b ON b.id = r.big_id";
const SHUFFLED: &str = "SELECT count(*), sum(t.v), sum(l.w) FROM sh_l l JOIN sh_t t ON t.u = l.lu";

#[test]
fn repartitioned_steps_read_the_snapshot() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        for stmt in SETUP {
            a.batch_execute(stmt).await.expect(stmt);
        }
        let plan = rows(&a, &format!("EXPLAIN (COSTS OFF) {PARTITIONED}")).await.join("\n");
        assert!(plan.contains("Distribution: repartition of the rows so far (2 shards)"), "{plan}");
        let plan = rows(&a, &format!("EXPLAIN (COSTS OFF) {SHUFFLED}")).await.join("\n");
        assert!(plan.contains("Distribution: repartition (2 shards)"), "{plan}");
        let before = (rows(&a, PARTITIONED).await, rows(&a, SHUFFLED).await);

        a.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ").await.expect("begin");
        assert_eq!(rows(&a, PARTITIONED).await, before.0);
        // Another session commits rows that join: a new row of each table, a changed one.
        b.batch_execute(
            "INSERT INTO sh_big VALUES (8800, 1, 1000, 'new'); \
             UPDATE sh_big SET v = v + 1000 WHERE id = (SELECT big_id FROM sh_ref WHERE big_id <= 8000 ORDER BY id LIMIT 1); \
             INSERT INTO sh_ref VALUES (7001, 8800, 5); \
             INSERT INTO sh_t VALUES (10001, 20, 700, 'new'); \
             UPDATE sh_t SET v = v + 1000 WHERE u = 60",
        )
        .await
        .expect("commit of the other session");
        assert_eq!(rows(&a, PARTITIONED).await, before.0, "the snapshot's rows (table partitioned on the key)");
        assert_eq!(rows(&a, SHUFFLED).await, before.1, "the snapshot's rows (both sides moved)");
        a.batch_execute("COMMIT").await.expect("commit");

        // READ COMMITTED: the latest commit.
        let after = (rows(&a, PARTITIONED).await, rows(&a, SHUFFLED).await);
        let nums = |r: &[String]| -> Vec<i64> { r[0].split(',').map(|x| x.parse().expect("a number")).collect() };
        let (p0, p1) = (nums(&before.0), nums(&after.0));
        // The changed row (the first key among sh_ref's) joins as often as sh_ref names it.
        let first = "(SELECT big_id FROM sh_ref WHERE big_id <= 8000 ORDER BY id LIMIT 1)";
        let named = rows(&a, &format!("SELECT count(*) FROM sh_ref WHERE big_id = {first}")).await[0]
            .parse::<i64>()
            .expect("count");
        assert_eq!(p1[0], p0[0] + 1, "one more pair: {before:?} {after:?}");
        assert_eq!(p1[1], p0[1] + 1000 + 1000 * named, "the new row's v and the changed row's: {before:?} {after:?}");
        let (s0, s1) = (nums(&before.1), nums(&after.1));
        let twenty = rows(&a, "SELECT count(*) FROM sh_l WHERE lu = 20").await[0].parse::<i64>().expect("count");
        let sixty = rows(&a, "SELECT count(*) FROM sh_l WHERE lu = 60").await[0].parse::<i64>().expect("count");
        assert_eq!(s1[0], s0[0] + twenty, "{before:?} {after:?}");
        assert_eq!(s1[1], s0[1] + 700 * twenty + 1000 * sixty, "{before:?} {after:?}");

        // A step that fails on a shard (memory) leaves the session, and the next steps, working.
        a.batch_execute("SET orbit.query_memory_limit = '300kB'").await.expect("set");
        for q in [PARTITIONED, SHUFFLED] {
            let q = q.replace("count(*)", "count(*), sum(length(pad))");
            let e = a.simple_query(&q).await.expect_err("past the memory bound");
            assert_eq!(e.code().map(|c| c.code()), Some("53200"), "{e:?}");
        }
        a.batch_execute("RESET orbit.query_memory_limit").await.expect("reset");
        assert_eq!(rows(&a, PARTITIONED).await, after.0);
        assert_eq!(rows(&a, SHUFFLED).await, after.1);
    });
}

/// A SERIALIZABLE transaction notes the tables a join step read on the shards (broadcast and
/// repartitioned alike): a concurrent commit that changed one of them fails its COMMIT (40001),
/// as it does after a plain scan of the table.
#[test]
fn serializable_commit_checks_what_a_step_on_the_shards_read() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        for stmt in SETUP {
            a.batch_execute(stmt).await.expect(stmt);
        }
        let broadcast = "SELECT count(*) FROM sh_big b JOIN sh_ref r ON r.big_id = b.id WHERE b.id < 200";
        for (q, line, table) in [
            (PARTITIONED, "Distribution: repartition of the rows so far (2 shards)", "sh_big"),
            (SHUFFLED, "Distribution: repartition (2 shards)", "sh_t"),
            (broadcast, "Distribution: broadcast (2 shards)", "sh_ref"),
        ] {
            let plan = rows(&a, &format!("EXPLAIN (COSTS OFF) {q}")).await.join("\n");
            assert!(plan.contains(line), "{plan}");
            a.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE").await.expect("begin");
            rows(&a, q).await;
            b.batch_execute(&format!("UPDATE {table} SET id = id + 100000 WHERE id = 5000")).await.expect("update");
            a.batch_execute("INSERT INTO sh_l VALUES (99999, NULL, 0)").await.expect("insert");
            let e = a.batch_execute("COMMIT").await.expect_err("a read/write conflict");
            assert_eq!(e.code().map(|c| c.code()), Some("40001"), "{q}: {e:?}");
        }
    });
}
