//! Partitioned tables end to end: psql's `\d` and `\d+` of a partitioned table and of its
//! partitions print as on a real PostgreSQL 15; tokio-postgres's COPY FROM into the parent and
//! into a partition routes and checks each row as PostgreSQL does (23514), COPY TO of a
//! partition reads its rows and of the parent is refused (42809); the hierarchy and its rows
//! survive SIGKILL (on 1 and 2 shards), and rows written after the restart are routed again; a
//! block that creates or drops a partition holds the hierarchy until it ends, and a partition
//! an interrupted block created is undone at restart.

use futures::SinkExt;
use orbit_tests::{Orbit, RealPostgres};

const SETUP: &str = r#"
CREATE TABLE m (id int, region text, note text DEFAULT 'none') PARTITION BY LIST (region);
CREATE TABLE m_eu PARTITION OF m FOR VALUES IN ('de', 'fr');
CREATE TABLE m_us PARTITION OF m FOR VALUES IN ('us') PARTITION BY RANGE (id);
CREATE TABLE m_us_low PARTITION OF m_us FOR VALUES FROM (MINVALUE) TO (100);
CREATE TABLE m_other PARTITION OF m DEFAULT;
"#;

fn psql(port: u16, command: &str) -> String {
    orbit_tests::psql_output_with(port, &["-c", command], "")
}

#[test]
fn psql_describes_partitioned_tables_as_postgresql() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let o = Orbit::start(&["--shards", "2"]);
    orbit_tests::psql_script(pg.port, SETUP);
    orbit_tests::psql_script(o.pg_port, SETUP);
    let mut differ = Vec::new();
    for cmd in [r"\d m", r"\d+ m", r"\d m_eu", r"\d m_us", r"\d+ m_us", r"\d+ m_us_low", r"\d m_other", r"\d+ m_other"]
    {
        let want = psql(pg.port, cmd);
        let got = psql(o.pg_port, cmd);
        assert!(want.contains("Partition"), "{cmd} on PostgreSQL: {want}");
        if want != got {
            differ.push(format!("{cmd}\n--- PostgreSQL:\n{want}\n--- Orbit:\n{got}"));
        }
    }
    assert!(differ.is_empty(), "psql prints differently:\n{}", differ.join("\n"));
}

async fn copy_in(c: &tokio_postgres::Client, sql: &str, data: &str) -> Result<u64, tokio_postgres::Error> {
    let sink = c.copy_in::<_, bytes::Bytes>(sql).await?;
    let mut sink = Box::pin(sink);
    sink.send(bytes::Bytes::copy_from_slice(data.as_bytes())).await?;
    sink.as_mut().finish().await
}

async fn copy_out(c: &tokio_postgres::Client, sql: &str) -> Result<String, tokio_postgres::Error> {
    use futures::TryStreamExt;
    let stream = c.copy_out(sql).await?;
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await?;
    Ok(chunks.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect())
}

async fn rows(c: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    orbit_tests::simple_rows(c, sql).await
}

#[test]
fn copy_routes_rows_and_partitions_survive_sigkill() {
    orbit_tests::across_sigkill(
        async |c| {
            c.batch_execute(SETUP).await.unwrap();
            // Into the parent: each row to its partition, DEFAULTs filled.
            assert_eq!(
                copy_in(c, "COPY m FROM STDIN", "1\tde\tx\n2\tus\ty\n3\tjp\tz\n")
                    .await
                    .unwrap_or_else(|e| panic!("{e:?}")),
                3
            );
            assert_eq!(
                copy_in(c, "COPY m (id, region) FROM STDIN", "4\tfr\n").await.unwrap_or_else(|e| panic!("{e:?}")),
                1
            );
            // Into a partition: its constraint holds.
            assert_eq!(
                copy_in(c, "COPY m_eu FROM STDIN (FORMAT csv)", "5,de,csv\n").await.unwrap_or_else(|e| panic!("{e:?}")),
                1
            );
            let e = copy_in(c, "COPY m_eu FROM STDIN", "6\tus\tno\n").await.unwrap_err();
            assert_eq!(e.code().map(|c| c.code()), Some("23514"), "{e}");
            let db = e.as_db_error().expect("a server error");
            assert_eq!(db.message(), "new row for relation \"m_eu\" violates partition constraint");
            // No leaf of m_us takes id 500 (no DEFAULT there): the whole COPY fails.
            let e = copy_in(c, "COPY m FROM STDIN", "7\tde\tok\n500\tus\tfar\n").await.unwrap_err();
            assert_eq!(e.code().map(|c| c.code()), Some("23514"), "{e}");
            let db = e.as_db_error().expect("a server error");
            assert_eq!(db.message(), "no partition of relation \"m_us\" found for row");
            assert_eq!(db.detail(), Some("Partition key of the failing row contains (id) = (500)."));
            assert_eq!(copy_out(c, "COPY m_us_low TO STDOUT").await.unwrap(), "2\tus\ty\n");
            let e = copy_out(c, "COPY m TO STDOUT").await.unwrap_err();
            assert_eq!(e.code().map(|c| c.code()), Some("42809"), "{e}");
            // An UPDATE through the parent moves a row to the DEFAULT partition.
            c.batch_execute("UPDATE m SET region = 'br' WHERE id = 4").await.unwrap();
        },
        async |c, shards| {
            assert_eq!(
                rows(c, "SELECT id, region, note FROM m ORDER BY id").await,
                ["1|de|x", "2|us|y", "3|jp|z", "4|br|none", "5|de|csv"],
                "{shards} shards"
            );
            assert_eq!(rows(c, "SELECT id FROM m_eu ORDER BY id").await, ["1", "5"], "{shards} shards");
            assert_eq!(rows(c, "SELECT id FROM m_other ORDER BY id").await, ["3", "4"], "{shards} shards");
            assert_eq!(
                rows(
                    c,
                    "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_class c \
                     JOIN pg_inherits i ON i.inhrelid = c.oid ORDER BY 1"
                )
                .await,
                [
                    "m_eu|FOR VALUES IN ('de', 'fr')",
                    "m_other|DEFAULT",
                    "m_us|FOR VALUES IN ('us')",
                    "m_us_low|FOR VALUES FROM (MINVALUE) TO (100)"
                ],
                "{shards} shards"
            );
            // Routing after the restart.
            c.batch_execute("INSERT INTO m VALUES (8, 'us'), (9, 'fr')").await.unwrap();
            assert_eq!(rows(c, "SELECT id FROM m_us ORDER BY id").await, ["2", "8"], "{shards} shards");
            let e = c.batch_execute("INSERT INTO m VALUES (800, 'us')").await.unwrap_err();
            assert_eq!(e.code().map(|c| c.code()), Some("23514"), "{e}");
            c.batch_execute("DROP TABLE m_eu").await.unwrap();
            assert_eq!(rows(c, "SELECT id FROM m ORDER BY id").await, ["2", "3", "4", "8"], "{shards} shards");
            c.batch_execute("DROP TABLE m").await.unwrap();
            assert_eq!(rows(c, "SELECT count(*) FROM pg_class WHERE relname LIKE 'm%'").await, ["0"]);
        },
    );
}

/// A block that creates or drops a partition holds the hierarchy: another session's INSERT
/// waits for it and then routes by what the block left (ROLLBACK: no new partition, the
/// dropped one back).
#[test]
fn a_block_changing_partitions_holds_the_hierarchy() {
    let o = Orbit::start(&["--shards", "2"]);
    let rt = orbit_tests::pg_runtime();
    rt.block_on(async {
        let a = orbit_tests::pg_connect(o.pg_port).await;
        let b = orbit_tests::pg_connect(o.pg_port).await;
        a.batch_execute(
            "CREATE TABLE hp (x int) PARTITION BY RANGE (x);
             CREATE TABLE hp1 PARTITION OF hp FOR VALUES FROM (1) TO (10)",
        )
        .await
        .unwrap();
        a.batch_execute("BEGIN; CREATE TABLE hp2 PARTITION OF hp FOR VALUES FROM (10) TO (20)").await.unwrap();
        let waiting = tokio::spawn(async move {
            let r = b.execute("INSERT INTO hp VALUES (15)", &[]).await;
            (b, r)
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!waiting.is_finished(), "the INSERT did not wait for the block");
        a.batch_execute("ROLLBACK").await.unwrap();
        let (b, r) = waiting.await.unwrap();
        let e = r.expect_err("row 15 was routed to a partition the block rolled back");
        assert_eq!(e.code().map(|c| c.code()), Some("23514"), "{e}");
        a.batch_execute("INSERT INTO hp VALUES (5)").await.unwrap();
        a.batch_execute("BEGIN; DROP TABLE hp1").await.unwrap();
        let waiting = tokio::spawn(async move {
            let r = b.execute("INSERT INTO hp VALUES (6)", &[]).await;
            (b, r)
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!waiting.is_finished(), "the INSERT did not wait for the block");
        a.batch_execute("ROLLBACK").await.unwrap();
        let (_b, r) = waiting.await.unwrap();
        assert_eq!(r.unwrap(), 1);
        assert_eq!(rows(&a, "SELECT x FROM hp1 ORDER BY x").await, ["5", "6"]);
        assert_eq!(rows(&a, "SELECT count(*) FROM pg_class WHERE relname = 'hp2'").await, ["0"]);
    });
}

/// A partition created by a block a crash interrupts is gone after the restart, its parent
/// and the committed partitions intact.
#[test]
fn a_partition_an_interrupted_block_created_is_undone() {
    orbit_tests::across_sigkill(
        async |c| {
            c.batch_execute(
                "CREATE TABLE up (x int) PARTITION BY LIST (x);
                 CREATE TABLE up1 PARTITION OF up FOR VALUES IN (1);
                 INSERT INTO up VALUES (1)",
            )
            .await
            .unwrap();
            c.batch_execute("BEGIN; CREATE TABLE up2 PARTITION OF up FOR VALUES IN (2); INSERT INTO up VALUES (2)")
                .await
                .unwrap();
        },
        async |c, shards| {
            assert_eq!(rows(c, "SELECT x FROM up ORDER BY x").await, ["1"], "{shards} shards");
            assert_eq!(
                rows(c, "SELECT relname FROM pg_class WHERE relname LIKE 'up%' ORDER BY 1").await,
                ["up", "up1"],
                "{shards} shards"
            );
            let e = c.batch_execute("INSERT INTO up VALUES (2)").await.unwrap_err();
            assert_eq!(e.code().map(|c| c.code()), Some("23514"), "{e}");
        },
    );
}
