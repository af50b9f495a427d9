//! Arrays over the extended protocol with tokio-postgres: binary array parameters and results
//! (`Vec<i32>`, `Vec<Option<String>>`, ...), `= ANY($1)` with an array parameter, the array
//! type OIDs in RowDescription and ParameterDescription, the binary forms byte for byte as
//! PostgreSQL 15's `array_send` writes them, and array columns back after a SIGKILL under
//! `--fsync always`.

use orbit_tests::pgcmp::RawParam;
use orbit_tests::{pg_connect, pg_runtime, Orbit, RealPostgres};
use tokio_postgres::types::Type;
use tokio_postgres::Client;

/// Array literals with their type OIDs.
const VALUES: [(&str, u32); 9] = [
    ("'{1,NULL,-3}'::int4[]", 1007),
    ("'{}'::int8[]", 1016),
    ("'{{1,2},{3,4}}'::int2[]", 1005),
    ("'[0:1]={a,\"b c\"}'::text[]", 1009),
    ("ARRAY['x'::varchar, NULL]", 1015),
    ("'{1.5,NaN}'::float8[]", 1022),
    ("'{1.50,-2}'::numeric[]", 1231),
    ("'{t,f}'::bool[]", 1000),
    ("'{2024-02-29}'::date[]", 1182),
];

/// Each value's binary form as sent, and as it comes back when sent as a binary parameter.
async fn binary_forms(c: &Client) -> Vec<(Vec<u8>, Vec<u8>)> {
    orbit_tests::pgcmp::binary_forms(c, &VALUES).await
}

#[test]
fn binary_array_forms_are_postgresqls() {
    let o = Orbit::start(&["--shards", "2"]);
    let rt = pg_runtime();
    let orbit = rt.block_on(async { binary_forms(&pg_connect(o.pg_port).await).await });
    for ((sent, back), (lit, _)) in orbit.iter().zip(VALUES) {
        assert_eq!(sent, back, "{lit}");
    }
    // array_send: ndim, has-nulls flag, element OID, (length, lower bound) per dimension, then
    // each element's length (-1 for NULL) and bytes.
    let mut want = Vec::new();
    for v in [1i32, 1, 23, 3, 1, 4, 1, -1, 4, -3] {
        want.extend_from_slice(&v.to_be_bytes());
    }
    assert_eq!(orbit[0].0, want);
    assert_eq!(orbit[1].0, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20]);
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
fn driver_array_parameters_and_results() {
    let o = Orbit::start(&["--shards", "2"]);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE t (id int8 PRIMARY KEY, tags text[], nums int[])").await.unwrap();
        let ins = c.prepare("INSERT INTO t VALUES ($1, $2, $3)").await.unwrap();
        assert_eq!(ins.params(), &[Type::INT8, Type::TEXT_ARRAY, Type::INT4_ARRAY]);
        let tags: Vec<Option<String>> = vec![Some("a,b".into()), None, Some(String::new()), Some("\"q\"".into())];
        c.execute(&ins, &[&1i64, &tags, &vec![1i32, 2, 3]]).await.unwrap();
        c.execute(&ins, &[&2i64, &Vec::<Option<String>>::new(), &vec![4i32]]).await.unwrap();
        c.execute(&ins, &[&3i64, &None::<Vec<String>>, &None::<Vec<i32>>]).await.unwrap();

        let row = c.query_one("SELECT tags, nums FROM t WHERE id = 1", &[]).await.unwrap();
        assert_eq!(row.columns()[0].type_(), &Type::TEXT_ARRAY);
        assert_eq!(row.columns()[1].type_(), &Type::INT4_ARRAY);
        assert_eq!(row.get::<_, Vec<Option<String>>>(0), tags);
        assert_eq!(row.get::<_, Vec<i32>>(1), vec![1, 2, 3]);
        // The text form of the same value, over the simple protocol.
        let text = c.simple_query("SELECT tags FROM t WHERE id = 1").await.unwrap();
        let text = text.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        });
        assert_eq!(text.as_deref(), Some(r#"{"a,b",NULL,"","\"q\""}"#));

        // = ANY($1): the parameter is an array of the column's type.
        let any = c.prepare("SELECT id FROM t WHERE id = ANY($1) ORDER BY id").await.unwrap();
        assert_eq!(any.params(), &[Type::INT8_ARRAY]);
        let ids: Vec<i64> = c.query(&any, &[&vec![3i64, 1, 9]]).await.unwrap().iter().map(|r| r.get(0)).collect();
        assert_eq!(ids, vec![1, 3]);
        let none: Vec<i64> = Vec::new();
        assert!(c.query(&any, &[&none]).await.unwrap().is_empty());
        let not_in = c.prepare("SELECT id FROM t WHERE id <> ALL($1) ORDER BY id").await.unwrap();
        let ids: Vec<i64> = c.query(&not_in, &[&vec![2i64]]).await.unwrap().iter().map(|r| r.get(0)).collect();
        assert_eq!(ids, vec![1, 3]);

        // Results of array expressions and array_agg, read as Rust vectors.
        let row = c
            .query_one(
                "SELECT array_agg(id ORDER BY id), ARRAY[1.5::float8, 2], string_to_array('x,y', ',') FROM t",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, Vec<i64>>(0), vec![1, 2, 3]);
        assert_eq!(row.get::<_, Vec<f64>>(1), vec![1.5, 2.0]);
        assert_eq!(row.get::<_, Vec<String>>(2), vec!["x", "y"]);
        let n: Option<Vec<i32>> = c.query_one("SELECT nums FROM t WHERE id = 3", &[]).await.unwrap().get(0);
        assert_eq!(n, None);
        // Appending to a column through a parameter.
        c.execute("UPDATE t SET nums = array_append(nums, $1) WHERE id = 2", &[&5i32]).await.unwrap();
        let n: Vec<i32> = c.query_one("SELECT nums FROM t WHERE id = 2", &[]).await.unwrap().get(0);
        assert_eq!(n, vec![4, 5]);

        // A binary array of the wrong element type is refused as PostgreSQL refuses it.
        let stmt = c.prepare_typed("SELECT $1", &[Type::INT4_ARRAY]).await.unwrap();
        let mut bad = Vec::new();
        for v in [1i32, 0, 25, 1, 1, 1] {
            bad.extend_from_slice(&v.to_be_bytes());
        }
        bad.push(b'x');
        let e = c.query_one(&stmt, &[&RawParam(bad)]).await.expect_err("wrong element type");
        assert_eq!(e.as_db_error().map(|d| d.code().code()), Some("42804"));
    });
}

#[test]
fn array_columns_survive_sigkill_with_fsync_always() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = Orbit::start_in(dir.path(), &args);
    let rt = pg_runtime();
    let want = rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE a (k int[] PRIMARY KEY, t text[], v varchar(3)[], n numeric(5,2)[], m int[]);
             INSERT INTO a VALUES ('{1}', '{x,\"y z\",NULL}', '{ab}', '{1.5}', '{{1,2},{3,4}}'),
                                  ('{}', '{}', NULL, '{}', '[0:0]={9}'),
                                  ('{1,NULL}', NULL, '{\"\"}', '{-0.01,NULL}', NULL);
             UPDATE a SET t = t || 'w'::text WHERE k = '{1}';",
        )
        .await
        .unwrap();
        let ins = c.prepare("INSERT INTO a (k, t) VALUES ($1, $2)").await.unwrap();
        for i in 0..50i32 {
            c.execute(&ins, &[&vec![i, i + 1], &vec![format!("v{i}")]]).await.unwrap();
        }
        dump(&c).await
    });
    o.kill9();
    let o2 = Orbit::start_in(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o2.pg_port).await;
        assert_eq!(dump(&c).await, want);
        assert!(want.contains(&"{1}|{x,\"y z\",NULL,w}|{ab}|{1.50}|{{1,2},{3,4}}".to_string()), "{want:?}");
        // The column types came back too: a varchar(3) element is still checked.
        let e = c.batch_execute("INSERT INTO a (k, v) VALUES ('{7}', '{abcd}')").await.expect_err("too long");
        assert_eq!(e.as_db_error().map(|d| d.code().code()), Some("22001"));
        let row = c.query_one("SELECT t FROM a WHERE k = $1", &[&vec![3i32, 4]]).await.unwrap();
        assert_eq!(row.get::<_, Vec<String>>(0), vec!["v3"]);
    });
}

/// Every row of table `a` as text, in key order.
async fn dump(c: &Client) -> Vec<String> {
    orbit_tests::simple_rows(c, "SELECT k, t, v, n, m FROM a ORDER BY k").await
}
