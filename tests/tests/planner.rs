//! Planner tests (issue 6), in the style of RisingWave's planner tests: a fixed data set
//! (`tests/planner/setup.sql`, then ANALYZE) and a list of queries with their recorded plans
//! (`tests/planner/plans.test`). Each query's `EXPLAIN (COSTS OFF)` on the real binary
//! (`--shards 2`) must print the recorded plan, so a change of plan (a join order picked from
//! different statistics, an index no longer used) shows up in review as a diff of that file.
//!
//! `ORBIT_RECORD_PLANS=1 cargo test -p orbit-tests --test planner` rewrites the recorded plans
//! with what the binary prints now; review the diff before committing it.
//!
//! File format: a record is a `-- <title>` line, the query on the lines after it, a `----` line,
//! then the plan, one line per line, up to a blank line. Lines starting with `#` are comments.
//! A query's leading `SET ...` lines (planner switches) run before its EXPLAIN and are undone
//! by `RESET ALL` after it.

use orbit_tests::{pg_connect, pg_runtime, workspace_root, Orbit};
use std::fmt::Write as _;

struct Record {
    title: String,
    query: String,
    plan: Vec<String>,
}

fn parse(text: &str) -> Vec<Record> {
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(title) = line.strip_prefix("-- ") else { continue };
        let mut query = Vec::new();
        for l in lines.by_ref() {
            if l == "----" {
                break;
            }
            query.push(l);
        }
        let mut plan = Vec::new();
        while let Some(l) = lines.peek() {
            if l.trim().is_empty() {
                break;
            }
            plan.push(l.to_string());
            lines.next();
        }
        out.push(Record { title: title.to_string(), query: query.join("\n"), plan });
    }
    out
}

fn render(header: &str, records: &[Record]) -> String {
    let mut s = header.to_string();
    for r in records {
        let _ = writeln!(s, "-- {}\n{}\n----", r.title, r.query);
        for l in &r.plan {
            let _ = writeln!(s, "{l}");
        }
        s.push('\n');
    }
    s
}

/// A record's leading `SET ...` lines and the query after them.
fn settings_and_query(text: &str) -> (Vec<String>, String) {
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.iter().take_while(|l| l.starts_with("SET ")).count();
    (lines[..n].iter().map(|l| l.to_string()).collect(), lines[n..].join("\n"))
}

/// The first column of the rows `q` returns (an EXPLAIN's lines), each trimmed if `trim`.
async fn first_column(c: &tokio_postgres::Client, q: String, trim: bool) -> Vec<String> {
    c.simple_query(&q)
        .await
        .unwrap()
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                r.get(0).map(|l| if trim { l.trim().to_string() } else { l.to_string() })
            }
            _ => None,
        })
        .collect()
}

#[test]
fn plans_are_as_recorded() {
    let dir = workspace_root().join("tests/planner");
    let setup = std::fs::read_to_string(dir.join("setup.sql")).expect("tests/planner/setup.sql");
    let path = dir.join("plans.test");
    let text = std::fs::read_to_string(&path).expect("tests/planner/plans.test");
    let header: String = text.lines().take_while(|l| l.starts_with('#')).map(|l| format!("{l}\n")).collect();
    let header = format!("{header}\n");
    let mut records = parse(&text);
    assert!(records.len() >= 10, "too few records in {}", path.display());
    let record = std::env::var("ORBIT_RECORD_PLANS").is_ok_and(|v| v == "1");
    let o = Orbit::start(&["--shards", "2"]);
    let mut mismatches = Vec::new();
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        // One statement at a time: ANALYZE runs alone, as in PostgreSQL's grammar for it here.
        for stmt in setup.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
            c.batch_execute(stmt).await.unwrap_or_else(|e| panic!("setup.sql: {stmt}: {e}"));
        }
        for r in records.iter_mut() {
            let (sets, query) = settings_and_query(&r.query);
            for set in &sets {
                c.batch_execute(set).await.unwrap_or_else(|e| panic!("{set} for {:?} failed: {e}", r.title));
            }
            let rows = c
                .simple_query(&format!("EXPLAIN (COSTS OFF) {query}"))
                .await
                .unwrap_or_else(|e| panic!("EXPLAIN of {:?} failed: {e}", r.title));
            if !sets.is_empty() {
                c.batch_execute("RESET ALL").await.unwrap();
            }
            let got: Vec<String> = rows
                .iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
                    _ => None,
                })
                .collect();
            if got != r.plan {
                mismatches.push(format!(
                    "-- {}\n{}\nrecorded:\n{}\nnow:\n{}\n",
                    r.title,
                    r.query,
                    r.plan.join("\n"),
                    got.join("\n")
                ));
                r.plan = got;
            }
        }
        // The recorded plans run too: every query answers (no plan is only drawn).
        for r in records.iter() {
            let (sets, query) = settings_and_query(&r.query);
            for set in &sets {
                c.batch_execute(set).await.unwrap();
            }
            c.simple_query(&query).await.unwrap_or_else(|e| panic!("{:?} failed: {e}", r.title));
            if !sets.is_empty() {
                c.batch_execute("RESET ALL").await.unwrap();
            }
        }
    });
    if record {
        std::fs::write(&path, render(&header, &records)).expect("rewrite plans.test");
        return;
    }
    assert!(
        mismatches.is_empty(),
        "plans changed (ORBIT_RECORD_PLANS=1 rewrites tests/planner/plans.test):\n{}",
        mismatches.join("\n")
    );
}

/// Merge joins with one shard (the recorded plans run with two): the coordinator merges two
/// primary-key-ordered scans, also on a key prefix; EXPLAIN draws `Merge ... Join` with its
/// `Merge Cond`, EXPLAIN ANALYZE the rows each node had, and `enable_mergejoin = off` gives the
/// hash join back; with two shards, EXPLAIN ANALYZE of a FULL join merged on every shard.
async fn count_of(c: &tokio_postgres::Client, q: &str) -> i64 {
    c.query_one(q, &[]).await.unwrap().get::<_, i64>(0)
}

#[test]
fn merge_joins_with_one_and_two_shards() {
    let o = Orbit::start(&["--shards", "1"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE o (o_id bigint PRIMARY KEY, tag text);
             CREATE TABLE l (l_o bigint, l_n int, qty int, PRIMARY KEY (l_o, l_n));
             INSERT INTO o SELECT i, 't' || (i % 3) FROM generate_series(1, 500) AS g(i) WHERE i % 4 <> 1;
             INSERT INTO l SELECT 1 + i / 4, i % 4, i % 7 FROM generate_series(0, 2399) AS g(i);",
        )
        .await
        .unwrap();
        c.batch_execute("ANALYZE").await.unwrap();
        let lines = |q: String| first_column(&c, q, false);
        let full = "SELECT count(*) FROM o FULL JOIN l ON l.l_o = o.o_id";
        assert_eq!(
            lines(format!("EXPLAIN (COSTS OFF) {full}")).await,
            [
                "Aggregate",
                "  ->  Merge Full Join (on the coordinating shard)",
                "        Merge Cond: (o.o_id = l.l_o)",
                "        ->  Gather (shards: 1, in parallel)",
                "              ->  Seq Scan on o",
                "        ->  Gather (shards: 1, in parallel)",
                "              ->  Seq Scan on l",
            ]
        );
        // An inner join the planner reorders: its first step merges (a lookup by key would
        // cost more here than reading both sides).
        let inner = "SELECT count(*) FROM o a, o b WHERE a.o_id = b.o_id AND b.tag <> 't1'";
        let plan = lines(format!("EXPLAIN (COSTS OFF) {inner}")).await;
        assert!(plan.get(1).is_some_and(|l| l.contains("Merge Join (on the coordinating shard)")), "{plan:?}");
        assert!(
            plan.iter()
                .any(|l| l.trim() == "Merge Cond: (a.o_id = b.o_id)" || l.trim() == "Merge Cond: (b.o_id = a.o_id)"),
            "{plan:?}"
        );
        assert_eq!(count_of(&c, inner).await, 250);
        // EXPLAIN ANALYZE: the join's rows (the 375 orders' 1500 lines, the 900 lines of the
        // other 225 order numbers padded, every order has lines) and each input's.
        let analyzed = lines(format!("EXPLAIN ANALYZE {full}")).await;
        let text = analyzed.join("\n");
        let merge = analyzed.iter().find(|l| l.contains("Merge Full Join")).expect(&text);
        assert!(merge.ends_with("(actual rows=2400)"), "{text}");
        // (A scan's actual rows are on its Gather.)
        let input = |table: &str, rows: &str| {
            analyzed.windows(2).any(|w| w[0].ends_with(rows) && w[1].contains(&format!("Seq Scan on {table} ")))
        };
        assert!(input("o", "(actual rows=375)") && input("l", "(actual rows=2400)"), "{text}");
        let count = |q: &'static str| count_of(&c, q);
        assert_eq!(count("SELECT count(*) FROM o FULL JOIN l ON l.l_o = o.o_id").await, 2400);
        // The hash join again, with the same rows.
        c.batch_execute("SET enable_mergejoin = off").await.unwrap();
        let plan = lines(format!("EXPLAIN (COSTS OFF) {full}")).await;
        assert!(plan.iter().any(|l| l.contains("Hash Full Join")), "{plan:?}");
        assert_eq!(count("SELECT count(*) FROM o FULL JOIN l ON l.l_o = o.o_id").await, 2400);
        // The transaction's own rows: the step hash-joins (they are not in key order), EXPLAIN
        // ANALYZE shows it.
        c.batch_execute("RESET enable_mergejoin; BEGIN; INSERT INTO o VALUES (1, 'own')").await.unwrap();
        let analyzed = lines(format!("EXPLAIN ANALYZE {full}")).await;
        assert!(analyzed.iter().any(|l| l.contains("Hash Full Join")), "{analyzed:?}");
        assert_eq!(count("SELECT count(*) FROM o FULL JOIN l ON l.l_o = o.o_id").await, 2400);
        c.batch_execute("ROLLBACK").await.unwrap();
    });
    // With two shards a FULL join on both whole keys merges on every shard; EXPLAIN ANALYZE
    // shows the rows as they came back from the shards.
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE a (id int PRIMARY KEY, v int);
             CREATE TABLE b (id int PRIMARY KEY, w int);
             INSERT INTO a SELECT i, i FROM generate_series(1, 300) AS g(i);
             INSERT INTO b SELECT i, i FROM generate_series(201, 600) AS g(i);",
        )
        .await
        .unwrap();
        c.batch_execute("ANALYZE").await.unwrap();
        let rows = c.simple_query("EXPLAIN ANALYZE SELECT count(*) FROM a FULL JOIN b ON a.id = b.id").await.unwrap();
        let lines: Vec<String> = rows
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                _ => None,
            })
            .collect();
        let text = lines.join("\n");
        // 100 pairs, 200 rows of a and 300 of b padded.
        let merge = lines.iter().find(|l| l.contains("Merge Full Join (on every shard)")).expect(&text);
        assert!(merge.ends_with("(actual rows=600)"), "{text}");
        assert!(lines.iter().any(|l| l.trim() == "Distribution: co-located (2 shards)"), "{text}");
        assert!(lines.iter().any(|l| l.ends_with("(actual rows=300)")), "{text}");
        assert!(lines.iter().any(|l| l.ends_with("(actual rows=400)")), "{text}");
    });
}

#[test]
fn estimates_follow_the_statistics() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE e (id int PRIMARY KEY, flag int);
             INSERT INTO e SELECT i, CASE WHEN i <= 900 THEN 1 ELSE i END FROM generate_series(1, 1000) AS g(i);",
        )
        .await
        .unwrap();
        let first_line = |q: &'static str| {
            let c = &c;
            async move {
                let rows = c.simple_query(q).await.unwrap();
                rows.iter()
                    .find_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                        _ => None,
                    })
                    .unwrap()
            }
        };
        // Before ANALYZE: PostgreSQL's default equality selectivity (0.005 of 1000 rows).
        let before = first_line("EXPLAIN SELECT * FROM e WHERE flag = 1").await;
        assert!(before.contains("rows=5 "), "{before}");
        c.batch_execute("ANALYZE e").await.unwrap();
        // After: the most common value's frequency (900 of 1000 rows) ...
        let common = first_line("EXPLAIN SELECT * FROM e WHERE flag = 1").await;
        assert!(common.contains("rows=900 "), "{common}");
        // ... and a rare value: the rest spread over the other distinct values.
        let rare = first_line("EXPLAIN SELECT * FROM e WHERE flag = 950").await;
        assert!(rare.contains("rows=1 "), "{rare}");
        // A range from the histogram of ids 1..=1000 (bounds 1, 10, 20, ..., 1000): 251 is a
        // tenth into the bucket after 25 of 100, so 0.251 of the rows.
        let range = first_line("EXPLAIN SELECT * FROM e WHERE id < 251").await;
        assert!(range.contains("rows=251 "), "{range}");
        // EXPLAIN ANALYZE shows the estimate and the actual rows.
        let analyzed = first_line("EXPLAIN ANALYZE SELECT * FROM e WHERE flag = 1").await;
        assert!(analyzed.contains("rows=900 ") && analyzed.ends_with("(actual rows=900)"), "{analyzed}");
        // COSTS OFF drops the estimates.
        let off = first_line("EXPLAIN (COSTS OFF) SELECT * FROM e WHERE flag = 1").await;
        assert_eq!(off, "Gather (shards: 2, in parallel)");
    });
}

#[test]
fn explain_analyze_shows_estimated_and_actual_rows_per_node() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE a (id int PRIMARY KEY, tag int);
             CREATE TABLE b (id int PRIMARY KEY, a_id int);
             INSERT INTO a SELECT i, i % 10 FROM generate_series(1, 100) AS g(i);
             INSERT INTO b SELECT i, 1 + i % 100 FROM generate_series(1, 400) AS g(i);",
        )
        .await
        .unwrap();
        c.batch_execute("ANALYZE").await.unwrap();
        let rows =
            c.simple_query("EXPLAIN ANALYZE SELECT b.id FROM a, b WHERE b.a_id = a.id AND a.tag = 3").await.unwrap();
        let lines: Vec<String> = rows
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                _ => None,
            })
            .collect();
        let text = lines.join("\n");
        // The join (40 rows: 10 rows of a with tag 3, 4 rows of b each), a with its 10 rows,
        // b with all 400: each with its estimate and its actual rows.
        assert!(
            lines[0].starts_with("Hash Inner Join")
                && lines[0].contains("rows=40 ")
                && lines[0].ends_with("(actual rows=40)"),
            "{text}"
        );
        assert!(
            lines.iter().any(|l| l.contains("Gather") && l.contains("rows=10 ") && l.ends_with("(actual rows=10)")),
            "{text}"
        );
        assert!(
            lines.iter().any(|l| l.contains("Gather") && l.contains("rows=400 ") && l.ends_with("(actual rows=400)")),
            "{text}"
        );
        assert!(lines.last().is_some_and(|l| l.starts_with("Execution Time: ")), "{text}");
    });
}

/// The join switches `enable_nestloop` and `enable_hashjoin` (issue #5), as PostgreSQL has them:
/// off is a penalty, not a ban. A few orders joined to many customers are looked up by key
/// (Nested Loop over an Index Scan) until nested loops are off, then hashed; many orders are
/// hashed until hash joins are off, then looked up. A join that has nothing but the
/// switched-off methods still plans and answers, its EXPLAIN costs carrying PostgreSQL's
/// disable_cost. The rows are the same in every plan.
#[test]
fn join_switches_penalise_a_method_and_keep_the_rows() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE cust (id int PRIMARY KEY, name text);
             CREATE TABLE few (id int PRIMARY KEY, cust int);
             CREATE TABLE many (id int PRIMARY KEY, cust int);
             INSERT INTO cust SELECT g, 'c' || g FROM generate_series(1, 2000) g;
             INSERT INTO few SELECT g, g * 97 % 2000 + 1 FROM generate_series(1, 20) g;
             INSERT INTO many SELECT g, g % 2000 + 1 FROM generate_series(1, 4000) g",
        )
        .await
        .unwrap();
        c.batch_execute("ANALYZE").await.unwrap();
        let plan = |q: &'static str| first_column(&c, format!("EXPLAIN (COSTS OFF) {q}"), true);
        let few = "SELECT count(*) FROM few JOIN cust ON cust.id = few.cust";
        let many = "SELECT count(*) FROM many JOIN cust ON cust.id = many.cust";
        let looked_up = |p: &[String]| {
            p.iter().any(|l| l == "->  Nested Loop") && p.iter().any(|l| l == "->  Index Scan using cust_pkey on cust")
        };
        let hashed = |p: &[String]| p.iter().any(|l| l.starts_with("->  Hash Inner Join"));

        let p = plan(few).await;
        assert!(looked_up(&p) && !hashed(&p), "{p:?}");
        assert_eq!(count_of(&c, few).await, 20);
        // An outer join, planned in its written order, the same way.
        let left = "SELECT count(cust.name) FROM few LEFT JOIN cust ON cust.id = few.cust";
        let p = plan(left).await;
        assert!(p.iter().any(|l| l == "->  Nested Loop Left Join"), "{p:?}");
        c.batch_execute("SET enable_nestloop = off").await.unwrap();
        let p = plan(few).await;
        assert!(hashed(&p) && !looked_up(&p), "{p:?}");
        assert_eq!(count_of(&c, few).await, 20);
        let p = plan(left).await;
        assert!(p.iter().any(|l| l.starts_with("->  Hash Left Join")), "{p:?}");
        assert_eq!(count_of(&c, left).await, 20);
        c.batch_execute("RESET enable_nestloop").await.unwrap();

        let p = plan(many).await;
        assert!(hashed(&p) && !looked_up(&p), "{p:?}");
        assert_eq!(count_of(&c, many).await, 4000);
        c.batch_execute("SET enable_hashjoin = off").await.unwrap();
        let p = plan(many).await;
        assert!(looked_up(&p) && !hashed(&p), "{p:?}");
        assert_eq!(count_of(&c, many).await, 4000);
        // A prepared statement is planned again under the session's switches.
        c.batch_execute("PREPARE m AS SELECT count(*) FROM many JOIN cust ON cust.id = many.cust").await.unwrap();
        assert_eq!(count_of(&c, "EXECUTE m").await, 4000);
        c.batch_execute("RESET enable_hashjoin").await.unwrap();
        assert_eq!(count_of(&c, "EXECUTE m").await, 4000);

        // Every method off: the cheapest penalised plan still runs.
        c.batch_execute("SET enable_hashjoin = off; SET enable_nestloop = off; SET enable_mergejoin = off")
            .await
            .unwrap();
        assert!(!plan(many).await.is_empty());
        assert_eq!(count_of(&c, many).await, 4000);
        // EXPLAIN's costs carry PostgreSQL's disable_cost (1e10) for the switched-off method
        // planned anyway, up to the top node.
        let costed = c.simple_query(&format!("EXPLAIN {many}")).await.unwrap();
        let top = costed.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        });
        assert!(top.as_deref().is_some_and(|l| l.contains("(cost=100000")), "{top:?}");
        assert_eq!(count_of(&c, "SELECT count(*) FROM many JOIN cust ON cust.name = 'c' || many.cust").await, 4000);
        assert_eq!(count_of(&c, few).await, 20);
    });
}

/// `enable_hashagg`, `enable_seqscan` and `enable_indexscan`: a switched-off path that runs all
/// the same (no other) costs PostgreSQL's disable_cost (1e10) more in EXPLAIN; a protocol-level
/// prepared statement is planned again when a switch changes, and its rows stay the same.
#[test]
fn scan_and_aggregate_switches_penalise_a_path_and_keep_the_rows() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE s (id int PRIMARY KEY, g int, v int);
             CREATE INDEX s_g ON s (g);
             INSERT INTO s SELECT i, i % 7, i % 5 FROM generate_series(1, 700) AS i",
        )
        .await
        .unwrap();
        c.batch_execute("ANALYZE").await.unwrap();
        let plan = |q: String| first_column(&c, q, true);
        // The node's startup cost is at least disable_cost (a penalised node below adds its own).
        let startup = |l: &str| -> f64 {
            l.split("(cost=").nth(1).and_then(|c| c.split("..").next()).and_then(|c| c.parse().ok()).unwrap_or(0.0)
        };
        let penalised = |p: &[String], node: &str| {
            p.iter().any(|l| l.trim_start_matches("->  ").starts_with(node) && startup(l) >= 1.0e10)
        };
        // No index serves `v = 3`: the Seq Scan runs under enable_seqscan = off, penalised.
        let unserved = "SELECT count(*) FROM s WHERE v = 3";
        c.batch_execute("SET enable_seqscan = off").await.unwrap();
        let p = plan(format!("EXPLAIN {unserved}")).await;
        assert!(penalised(&p, "Seq Scan on s"), "{p:?}");
        assert_eq!(count_of(&c, unserved).await, 140);
        // An index serves `g = 3`: read through it, not penalised.
        let served = "SELECT count(*) FROM s WHERE g = 3";
        let p = plan(format!("EXPLAIN {served}")).await;
        assert!(p.iter().any(|l| l.contains("Index Scan using s_g on s")) && !penalised(&p, "Index Scan"), "{p:?}");
        // Both off: the index still (the cheapest penalised path), at disable_cost more.
        c.batch_execute("SET enable_indexscan = off").await.unwrap();
        let p = plan(format!("EXPLAIN {served}")).await;
        assert!(penalised(&p, "Index Scan using s_g on s"), "{p:?}");
        // Index scans off alone: the table is read whole, also for a primary-key lookup.
        c.batch_execute("RESET enable_seqscan").await.unwrap();
        let p = plan(format!("EXPLAIN (COSTS OFF) {served}")).await;
        assert!(p.iter().any(|l| l == "->  Seq Scan on s") && !p.iter().any(|l| l.contains("Index")), "{p:?}");
        assert_eq!(count_of(&c, served).await, 100);
        let p = plan("EXPLAIN (COSTS OFF) SELECT * FROM s WHERE id = 42".into()).await;
        assert!(p.iter().any(|l| l == "->  Seq Scan on s"), "{p:?}");
        assert_eq!(count_of(&c, "SELECT count(*) FROM s WHERE id = 42").await, 1);
        c.batch_execute("RESET ALL").await.unwrap();

        // A join step that looks its table up by key for few rows so far hashes it instead
        // under enable_indexscan = off (the lookup is an index scan).
        c.batch_execute("CREATE TABLE few (id int PRIMARY KEY, s_id int); INSERT INTO few VALUES (1, 10), (2, 20), (3, 30); ANALYZE few").await.unwrap();
        let join = "SELECT count(*) FROM few JOIN s ON s.id = few.s_id";
        let p = plan(format!("EXPLAIN (COSTS OFF) {join}")).await;
        assert!(p.iter().any(|l| l == "->  Index Scan using s_pkey on s"), "{p:?}");
        c.batch_execute("SET enable_indexscan = off").await.unwrap();
        let p = plan(format!("EXPLAIN (COSTS OFF) {join}")).await;
        assert!(p.iter().any(|l| l.contains("Hash Inner Join")) && !p.iter().any(|l| l.contains("Index")), "{p:?}");
        assert_eq!(count_of(&c, join).await, 3);
        c.batch_execute("RESET ALL").await.unwrap();

        // enable_hashagg = off: sorted groups; ROLLUP has no sorted plan in Orbit and hashes at
        // disable_cost more.
        c.batch_execute("SET enable_hashagg = off").await.unwrap();
        let p = plan("EXPLAIN SELECT g, count(*) FROM s GROUP BY g".into()).await;
        assert!(p[0].starts_with("Finalize GroupAggregate") && startup(&p[0]) < 1.0e10, "{p:?}");
        let p = plan("EXPLAIN SELECT g, v, count(*) FROM s GROUP BY ROLLUP (g, v)".into()).await;
        assert!(penalised(&p, "Finalize HashAggregate") && penalised(&p, "Partial HashAggregate"), "{p:?}");
        c.batch_execute("RESET enable_hashagg").await.unwrap();

        // A prepared statement (extended protocol) follows the session's switch.
        let st = c.prepare("SELECT g, sum(v) FROM s WHERE g >= $1 GROUP BY g").await.unwrap();
        let keys = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<i32>>();
        let mut hashed = keys(c.query(&st, &[&2i32]).await.unwrap());
        c.batch_execute("SET enable_hashagg = off").await.unwrap();
        let sorted = keys(c.query(&st, &[&2i32]).await.unwrap());
        assert_eq!(sorted, vec![2, 3, 4, 5, 6]);
        hashed.sort();
        assert_eq!(hashed, sorted);
    });
}

/// The first column of a simple query's first row, as text.
async fn first_text(c: &tokio_postgres::Client, sql: &str) -> String {
    c.simple_query(sql)
        .await
        .unwrap()
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .unwrap()
}

/// EXPLAIN (FORMAT JSON | YAML): one row (of type json for JSON) holding PostgreSQL's document shape (an array of
/// one object whose "Plan" is the top node, "Plans" below it), the keys PostgreSQL writes for
/// a node, and under ANALYZE the rows each node gave and the execution time.
#[test]
fn explain_format_json_is_postgresql_s_document() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE j (id int PRIMARY KEY, v text); INSERT INTO j SELECT g, 'v' || g FROM generate_series(1, 50) g",
        )
        .await
        .unwrap();
        let doc = |sql: &str| {
            let c = &c;
            let sql = sql.to_string();
            async move {
                let row = c.query_one(&sql, &[]).await.unwrap();
                assert_eq!(row.columns()[0].type_(), &tokio_postgres::types::Type::JSON);
                serde_json::from_str::<serde_json::Value>(&first_text(c, &sql).await).unwrap()
            }
        };
        let d = doc("EXPLAIN (FORMAT JSON) SELECT * FROM j WHERE id = 7").await;
        let plan = &d[0]["Plan"];
        assert_eq!(plan["Node Type"], "Index Scan");
        assert_eq!(plan["Relation Name"], "j");
        assert_eq!(plan["Index Name"], "j_pkey");
        assert_eq!(plan["Index Cond"], "(id = 7)");
        assert_eq!(plan["Parallel Aware"], false);
        assert!(plan["Total Cost"].is_number() && plan["Plan Rows"].is_number());

        let d = doc("EXPLAIN (ANALYZE, COSTS OFF, FORMAT JSON) SELECT v FROM j ORDER BY v LIMIT 3").await;
        let plan = &d[0]["Plan"];
        assert_eq!(plan["Node Type"], "Limit");
        assert_eq!(plan["Actual Rows"], 3);
        assert!(plan.get("Total Cost").is_none(), "COSTS OFF: {plan}");
        let sort = &plan["Plans"][0];
        assert_eq!((sort["Node Type"].as_str(), sort["Parent Relationship"].as_str()), (Some("Sort"), Some("Outer")));
        assert_eq!(sort["Sort Key"], serde_json::json!(["v"]));
        assert!(d[0]["Execution Time"].is_number());

        let d = doc("EXPLAIN (FORMAT JSON) SELECT count(*) FROM j a JOIN j b ON a.id = b.id + 1 GROUP BY a.v").await;
        let mut types = Vec::new();
        let mut stack = vec![&d[0]["Plan"]];
        while let Some(n) = stack.pop() {
            types.push(n["Node Type"].as_str().unwrap().to_string());
            if let Some(kids) = n["Plans"].as_array() {
                stack.extend(kids);
            }
        }
        assert!(types.contains(&"Aggregate".to_string()), "{types:?}");
        assert!(types.iter().any(|t| t.ends_with("Join") || t == "Nested Loop"), "{types:?}");
        // YAML: the same fields, laid out as PostgreSQL 15 lays them out for this plan (Orbit
        // adds the shard the key goes to).
        let yaml = first_text(&c, "EXPLAIN (FORMAT YAML, COSTS OFF) SELECT * FROM j WHERE id = 7").await;
        let want = [
            "- Plan: ",
            "    Node Type: \"Index Scan\"",
            "    Parallel Aware: false",
            "    Async Capable: false",
            "    Scan Direction: \"Forward\"",
            "    Index Name: \"j_pkey\"",
            "    Relation Name: \"j\"",
            "    Alias: \"j\"",
            "    Index Cond: \"(id = 7)\"",
        ];
        assert_eq!(yaml.lines().take(want.len()).collect::<Vec<_>>(), want);
        let e = c.batch_execute("EXPLAIN (FORMAT XML) SELECT 1").await.unwrap_err();
        assert_eq!(e.code().map(|c| c.code()), Some("0A000"));
    });
}
