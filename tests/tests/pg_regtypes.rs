//! oid and the OID alias types over the extended protocol with binary formats: the column type
//! OIDs in RowDescription (26 oid, 2205 regclass, 2206 regtype, 4089 regnamespace, 24 regproc,
//! 1028 oid[]), their binary forms (a big-endian uint32), read back as binary parameters, and
//! the same bytes as PostgreSQL 15's; `oid` parameters from tokio-postgres's u32.

use orbit_tests::{pg_connect, pg_runtime, Orbit, RealPostgres};
use tokio_postgres::Client;

const VALUES: [(&str, u32); 8] = [
    ("'pg_class'::regclass", 2205),
    ("'int4'::regtype", 2206),
    ("'character varying'::regtype", 2206),
    ("'public'::regnamespace", 4089),
    ("'-'::regproc", 24),
    ("4294967295::oid", 26),
    ("'-2'::oid", 26),
    ("ARRAY[1, 2]::oid[]", 1028),
];

async fn binary_forms(c: &Client) -> Vec<(Vec<u8>, Vec<u8>)> {
    orbit_tests::pgcmp::binary_forms(c, &VALUES).await
}

#[test]
fn binary_forms_and_type_oids_are_postgresqls() {
    let o = Orbit::start(&["--shards", "2"]);
    let rt = pg_runtime();
    let orbit = rt.block_on(async { binary_forms(&pg_connect(o.pg_port).await).await });
    for ((sent, back), (lit, _)) in orbit.iter().zip(VALUES) {
        assert_eq!(sent, back, "{lit}");
    }
    assert_eq!(orbit[0].0, 1259u32.to_be_bytes());
    assert_eq!(orbit[1].0, 23u32.to_be_bytes());
    assert_eq!(orbit[3].0, 2200u32.to_be_bytes());
    assert_eq!(orbit[4].0, 0u32.to_be_bytes());
    assert_eq!(orbit[5].0, u32::MAX.to_be_bytes());
    assert_eq!(orbit[6].0, (u32::MAX - 1).to_be_bytes());
    match RealPostgres::start() {
        Ok(pg) => {
            let real = rt.block_on(async { binary_forms(&pg_connect(pg.port).await).await });
            for ((o, p), (lit, _)) in orbit.iter().zip(&real).zip(VALUES) {
                assert_eq!(o, p, "{lit}");
            }
        }
        Err(why) => eprintln!("PostgreSQL 15 not available, binary forms not compared with it: {why}"),
    }
}

#[test]
fn oid_parameters_and_results_map_to_u32() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE rel (id int PRIMARY KEY)").await.unwrap();
        // An oid parameter (tokio-postgres sends u32 as oid) printed as a relation's name.
        let sql = "SELECT $1::oid::regclass::text, $1::oid::regtype::text";
        let row = c.query_one(sql, &[&1259u32]).await.unwrap();
        assert_eq!((row.get::<_, String>(0), row.get::<_, String>(1)), ("pg_class".into(), "1259".into()));
        // A regclass read as an oid (u32) equals the table's pg_class OID.
        let oid: u32 = c.query_one("SELECT 'rel'::regclass::oid", &[]).await.unwrap().get(0);
        let relid: i64 = c.query_one("SELECT oid FROM pg_class WHERE relname = 'rel'", &[]).await.unwrap().get(0);
        assert_eq!(oid as i64, relid);
        let name: String = c.query_one("SELECT relname FROM pg_class WHERE oid = $1", &[&oid]).await.unwrap().get(0);
        assert_eq!(name, "rel");
        let e = c.query_one("SELECT 'nosuch'::regclass", &[]).await.expect_err("no such relation");
        assert_eq!(e.code().map(|c| c.code()), Some("42P01"));
    });
}
