//! Index nested-loop joins read what the transaction sees: under REPEATABLE READ the rows a
//! join looks up by key (primary key or secondary index) are the snapshot's, not rows another
//! session committed since. Orbit `--shards 2`, so the looked-up keys cross shards.

use orbit_tests::{pg_connect, pg_runtime, Orbit};

/// The joined rows of `sql` as text, one string per row.
async fn rows(c: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in c.simple_query(sql).await.expect("query") {
        if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
            out.push((0..r.len()).map(|i| r.get(i).unwrap_or("NULL").to_string()).collect::<Vec<_>>().join(","));
        }
    }
    out
}

#[test]
fn lookups_read_the_repeatable_read_snapshot() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        for stmt in [
            "CREATE TABLE big (id int PRIMARY KEY, grp int, name text)",
            "INSERT INTO big SELECT g, g % 10, 'n' || g FROM generate_series(1, 2000) g",
            "CREATE INDEX big_grp ON big (grp)",
            "CREATE TABLE small (k int, j int)",
            "INSERT INTO small VALUES (1, 1), (2, 2), (1500, 9)",
            "ANALYZE big",
            "ANALYZE small",
        ] {
            a.batch_execute(stmt).await.expect(stmt);
        }
        let by_key = "SELECT s.k, b.name FROM small s JOIN big b ON b.id = s.k ORDER BY s.k";
        let by_index =
            "SELECT s.j, count(b.id), sum(b.id) FROM small s JOIN big b ON b.grp = s.j GROUP BY s.j ORDER BY s.j";
        let plan = rows(&a, &format!("EXPLAIN (COSTS OFF) {by_key}")).await.join("\n");
        assert!(plan.contains("Index Scan using big_pkey on big"), "{plan}");
        let plan = rows(&a, &format!("EXPLAIN (COSTS OFF) {by_index}")).await.join("\n");
        assert!(plan.contains("Index Scan using big_grp on big"), "{plan}");

        a.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ").await.expect("begin");
        let keyed = rows(&a, by_key).await;
        assert_eq!(keyed, ["1,n1", "2,n2", "1500,n1500"]);
        let grouped = rows(&a, by_index).await;
        assert_eq!(grouped, ["1,200,199200", "2,200,199400", "9,200,200800"]);
        // Another session changes the looked-up rows and their index entries, and commits.
        b.batch_execute(
            "UPDATE big SET name = 'new' WHERE id IN (1, 1500);
             DELETE FROM big WHERE id = 2;
             UPDATE big SET grp = 1 WHERE id = 3;
             INSERT INTO big VALUES (5001, 9, 'x')",
        )
        .await
        .expect("concurrent changes");
        assert_eq!(rows(&a, by_key).await, keyed, "the snapshot's rows");
        assert_eq!(rows(&a, by_index).await, grouped, "the snapshot's index entries");
        a.batch_execute("COMMIT").await.expect("commit");
        // A new statement outside the block sees the changes.
        assert_eq!(rows(&a, by_key).await, ["1,new", "1500,new"]);
        assert_eq!(rows(&a, by_index).await, ["1,201,199203", "2,199,199398", "9,201,205801"]);
    });
}
