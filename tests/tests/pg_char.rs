//! `"char"` over the extended protocol with binary results, as drivers use it: tokio-postgres
//! decodes a `"char"` column as `i8` (one byte, type 18) and sends an `i8` parameter as one.
//! The same checks run on a real PostgreSQL 15 when it is installed.

use orbit_tests::{pg_connect, pg_runtime, Orbit, RealPostgres};
use tokio_postgres::types::Type;
use tokio_postgres::Client;

async fn checks(c: &Client, server: &str) {
    c.batch_execute(
        "DROP TABLE IF EXISTS pc; CREATE TABLE pc (id int PRIMARY KEY, k \"char\"); \
         INSERT INTO pc VALUES (1, 'a'), (2, ''), (3, '\\310'), (4, NULL)",
    )
    .await
    .unwrap();
    let st = c.prepare("SELECT relkind, relpersistence FROM pg_class WHERE relname = 'pc'").await.unwrap();
    assert_eq!(st.columns()[0].type_(), &Type::CHAR, "{server}");
    let r = c.query_one(&st, &[]).await.unwrap();
    assert_eq!((r.get::<_, i8>(0), r.get::<_, i8>(1)), (b'r' as i8, b'p' as i8), "{server}");
    let r = c.query_one("SELECT contype FROM pg_constraint WHERE conname = 'pc_pkey'", &[]).await.unwrap();
    assert_eq!(r.get::<_, i8>(0), b'p' as i8, "{server}");
    let rows = c.query("SELECT k FROM pc ORDER BY id", &[]).await.unwrap();
    let got: Vec<Option<i8>> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(got, [Some(b'a' as i8), Some(0), Some(-56), None], "{server}");
    // An i8 parameter is a "char" in its binary form.
    let r = c.query_one("SELECT id FROM pc WHERE k = $1", &[&(b'a' as i8)]).await.unwrap();
    assert_eq!(r.get::<_, i32>(0), 1, "{server}");
    let r = c.query_one("SELECT $1::\"char\"::int, $1::\"char\"::text", &[&(-56i8)]).await.unwrap();
    assert_eq!((r.get::<_, i32>(0), r.get::<_, String>(1)), (-56, "\\310".to_string()), "{server}");
    c.execute("INSERT INTO pc VALUES (5, $1)", &[&(b'z' as i8)]).await.unwrap();
    let r = c.query_one("SELECT k::text FROM pc WHERE id = 5", &[]).await.unwrap();
    assert_eq!(r.get::<_, String>(0), "z", "{server}");
}

#[test]
fn char_columns_decode_as_one_byte() {
    let rt = pg_runtime();
    let orbit = Orbit::start(&["--shards", "2"]);
    rt.block_on(async { checks(&pg_connect(orbit.pg_port).await, "orbit").await });
    match RealPostgres::start() {
        Ok(pg) => rt.block_on(async { checks(&pg_connect(pg.port).await, "postgresql").await }),
        Err(why) => println!("PostgreSQL 15 not available ({why}): checked on Orbit alone"),
    }
}
