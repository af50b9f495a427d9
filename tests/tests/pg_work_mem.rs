//! Run-time parameters with an effect a driver sees (issue #5). `work_mem` bounds one sort or
//! hash operator (hash tables `hash_mem_multiplier` times it): PostgreSQL spills past it, Orbit
//! fails the statement with 53200 and the session goes on. `bytea_output = escape` changes the
//! text a driver reads in result rows and COPY TO.

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use tokio_postgres::{Client, SimpleQueryMessage};

fn code(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

async fn one_i64(c: &Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

/// The DETAIL of a statement that must fail with 53200.
async fn out_of_memory(c: &Client, sql: &str) -> String {
    let e = c.query(sql, &[]).await.expect_err(sql);
    assert_eq!(code(&e), "53200", "{sql}: {e}");
    let db = e.as_db_error().expect("a server error");
    assert_eq!(db.message(), "out of memory");
    db.detail().unwrap_or_default().to_string()
}

const SORT: &str = "SELECT count(*) FROM (SELECT s FROM big ORDER BY s) x";
const HASH_JOIN: &str = "SELECT count(*) FROM big a JOIN big b ON a.v = b.v";
const SEMI: &str = "SELECT count(*) FROM big WHERE EXISTS (SELECT 1 FROM small WHERE small.v = big.v)";

#[test]
fn one_sort_or_hash_table_past_work_mem_fails_with_53200_and_the_session_goes_on() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        a.batch_execute(
            "CREATE TABLE big (id int PRIMARY KEY, v int, s text);
             INSERT INTO big SELECT g, g % 1000, 'row ' || g FROM generate_series(1, 20000) g;
             CREATE TABLE small (id int PRIMARY KEY, v int);
             INSERT INTO small SELECT g, g FROM generate_series(1, 3000) g;
             SET enable_mergejoin = off",
        )
        .await
        .unwrap();
        a.batch_execute("ANALYZE").await.unwrap();
        // Under the default (the statement bound's) both run.
        assert_eq!(one_i64(&a, SORT).await, 20_000);
        assert_eq!(one_i64(&a, HASH_JOIN).await, 400_000);
        assert_eq!(one_i64(&a, SEMI).await, 19_980);

        a.batch_execute("SET work_mem = '64kB'").await.unwrap();
        let detail = out_of_memory(&a, SORT).await;
        assert!(detail.contains("in sort: ") && detail.contains("work_mem is 65536 bytes"), "{detail}");
        // The session goes on, and a small sort still fits.
        assert_eq!(one_i64(&a, "SELECT count(*) FROM big").await, 20_000);
        assert_eq!(one_i64(&a, "SELECT count(*) FROM (SELECT id FROM big WHERE id <= 100 ORDER BY s) x").await, 100);
        // A hash table may hold work_mem times hash_mem_multiplier (2 by default).
        let detail = out_of_memory(&a, HASH_JOIN).await;
        assert!(detail.contains("in hash join build table: "), "{detail}");
        assert!(detail.contains("work_mem times hash_mem_multiplier is 131072 bytes"), "{detail}");
        let detail = out_of_memory(&a, "SELECT count(*) FROM (SELECT DISTINCT s FROM big) x").await;
        assert!(detail.contains("in DISTINCT: "), "{detail}");
        // A semi join's table, built on the shards (the inner rows broadcast) or here.
        let detail = out_of_memory(&a, SEMI).await;
        assert!(detail.contains("semi join") && detail.contains("hash_mem_multiplier is 131072 bytes"), "{detail}");
        // Another session is not bound by this one's work_mem.
        assert_eq!(one_i64(&b, SORT).await, 20_000);

        // A larger multiplier lets the hash table through, not the sort.
        a.batch_execute("SET hash_mem_multiplier = 1000").await.unwrap();
        assert_eq!(one_i64(&a, HASH_JOIN).await, 400_000);
        out_of_memory(&a, SORT).await;

        // Inside a transaction block the failure aborts it as any error does; SET LOCAL ends
        // with it.
        a.batch_execute("RESET work_mem; BEGIN; SET LOCAL work_mem = '64kB'").await.unwrap();
        out_of_memory(&a, SORT).await;
        assert_eq!(code(&a.batch_execute("SELECT 1").await.unwrap_err()), "25P02");
        a.batch_execute("ROLLBACK").await.unwrap();
        assert_eq!(one_i64(&a, SORT).await, 20_000);

        // Still under orbit.query_memory_limit: the smaller bound answers.
        a.batch_execute("SET work_mem = '1GB'; SET orbit.query_memory_limit = '64kB'").await.unwrap();
        let detail = out_of_memory(&a, SORT).await;
        assert!(detail.contains("orbit.query_memory_limit is 65536 bytes"), "{detail}");
    });
}

/// The text of the simple query's only row, column by column.
async fn text_row(c: &Client, sql: &str) -> Vec<Option<String>> {
    let messages = c.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let rows: Vec<_> = messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect()),
            _ => None,
        })
        .collect();
    assert_eq!(rows.len(), 1, "{sql}");
    rows.into_iter().next().unwrap_or_default()
}

#[test]
fn bytea_output_escape_reaches_a_driver_in_rows_and_copy() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE bin (id int PRIMARY KEY, b bytea); INSERT INTO bin VALUES (1, '\\x00015c41ff')")
            .await
            .unwrap();
        let sql = "SELECT b, ARRAY[b] FROM bin";
        assert_eq!(text_row(&c, sql).await, [Some("\\x00015c41ff".into()), Some("{\"\\\\x00015c41ff\"}".into())]);
        // pgAdmin's way of setting it.
        c.batch_execute("SELECT set_config('bytea_output', 'escape', false)").await.unwrap();
        assert_eq!(
            text_row(&c, sql).await,
            [Some("\\000\\001\\\\A\\377".into()), Some("{\"\\\\000\\\\001\\\\\\\\A\\\\377\"}".into())]
        );
        // The binary format is the bytes whatever the setting.
        let row = c.query_one("SELECT b FROM bin", &[]).await.unwrap();
        assert_eq!(row.get::<_, Vec<u8>>(0), vec![0u8, 1, b'\\', b'A', 0xff]);
        // COPY TO writes the escape text, its backslashes escaped once more by COPY.
        let copied = copy_out(&c, "COPY bin TO STDOUT").await;
        assert_eq!(copied, "1\t\\\\000\\\\001\\\\\\\\A\\\\377\n");
        c.batch_execute("RESET bytea_output").await.unwrap();
        assert_eq!(copy_out(&c, "COPY bin TO STDOUT").await, "1\t\\\\x00015c41ff\n");
    });
}

async fn copy_out(c: &Client, sql: &str) -> String {
    use futures::StreamExt;
    let stream = c.copy_out(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut stream = std::pin::pin!(stream);
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    String::from_utf8(out).unwrap()
}
