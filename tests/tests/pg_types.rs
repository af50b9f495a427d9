//! SQL types beyond the numbers and strings of the first slice: character(n), the date/time
//! types, uuid, json, jsonb and jsonpath. Text forms through the simple protocol, binary forms (what
//! tokio-postgres sends and reads for parameters and results) byte for byte as PostgreSQL's
//! `*send`/`*recv` functions write them, and the values back after a SIGKILL and restart.
//! Expected texts come from PostgreSQL 15 (UTC, DateStyle ISO, IntervalStyle postgres).

use orbit_tests::pgcmp::{Raw, RawParam};
use orbit_tests::{pg_connect, pg_runtime, Orbit, RealPostgres};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, SimpleQueryMessage};

/// The rows of a simple-protocol query as text ("NULL" for null), cells joined by '|'.
async fn text_rows(c: &Client, sql: &str) -> Vec<String> {
    let msgs = c.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    msgs.iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).unwrap_or("NULL")).collect::<Vec<_>>().join("|"))
            }
            _ => None,
        })
        .collect()
}

/// Checks each (statement, expected rows) pair; expected rows are joined by '\n'.
async fn check(c: &Client, cases: &[(&str, &str)]) {
    for (sql, want) in cases {
        let got = text_rows(c, sql).await.join("\n");
        assert_eq!(&got, want, "{sql}");
    }
}

/// Checks that each statement fails with (SQLSTATE, message).
async fn check_errors(c: &Client, cases: &[(&str, &str, &str)]) {
    for (sql, code, msg) in cases {
        let e = c.simple_query(sql).await.expect_err(sql);
        let db = e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e}"));
        assert_eq!((db.code().code(), db.message()), (*code, *msg), "{sql}");
    }
}

/// One value of each type, as a SQL literal, with its type's OID.
const VALUES: [(&str, u32); 13] = [
    ("'2024-01-02 03:04:05.5'::timestamp", 1114),
    ("'-infinity'::timestamp", 1114),
    ("'1999-12-31 23:59:59.999999+01'::timestamptz", 1184),
    ("'0044-03-15 BC'::date", 1082),
    ("'2024-02-29'::date", 1082),
    ("'23:59:59.000001'::time", 1083),
    ("'1 year -2 mons 3 days -04:05:06.789'::interval", 1186),
    ("'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid", 2950),
    ("'{\"b\": [1, 2.50], \"a\": null}'::json", 114),
    ("'{\"b\": [1, 2.50], \"a\": null, \"b\": 1e2}'::jsonb", 3802),
    ("'ab'::char(4)", 1042),
    ("'x'::bpchar", 1042),
    ("'$.a[*] ? (@ > 1)'::jsonpath", 4072),
];

/// Each value's binary form as sent, and as it comes back when sent as a binary parameter.
async fn binary_forms(c: &Client) -> Vec<(Vec<u8>, Vec<u8>)> {
    orbit_tests::pgcmp::binary_forms(c, &VALUES).await
}

#[test]
fn binary_forms_are_postgresqls() {
    let o = Orbit::start(&["--shards", "2"]);
    let rt = pg_runtime();
    let orbit = rt.block_on(async { binary_forms(&pg_connect(o.pg_port).await).await });
    // Every value comes back unchanged from its own binary form.
    for ((sent, back), (lit, _)) in orbit.iter().zip(VALUES) {
        assert_eq!(sent, back, "{lit}");
    }
    // Known layouts (timestamp_send, interval_send, uuid_send, jsonb_send): int64 microseconds
    // since 2000-01-01; microseconds, days, months; 16 bytes; a version byte and the text.
    let ts = (8767i64 * 86_400 + 3 * 3600 + 4 * 60 + 5) * 1_000_000 + 500_000;
    assert_eq!(orbit[0].0, ts.to_be_bytes());
    assert_eq!(orbit[1].0, i64::MIN.to_be_bytes());
    let mut iv = (-(4 * 3_600_000_000i64 + 5 * 60_000_000 + 6_789_000)).to_be_bytes().to_vec();
    iv.extend_from_slice(&3i32.to_be_bytes());
    iv.extend_from_slice(&10i32.to_be_bytes());
    assert_eq!(orbit[6].0, iv);
    assert_eq!(orbit[7].0[..4], [0xa0, 0xee, 0xbc, 0x99]);
    assert_eq!(orbit[9].0, b"\x01{\"a\": null, \"b\": 100}".to_vec());
    assert_eq!(orbit[10].0, b"ab  ".to_vec());
    // jsonpath_send: a version byte and the path as jsonpath_out prints it.
    assert_eq!(orbit[12].0, b"\x01$.\"a\"[*]?(@ > 1)".to_vec());
    // The same bytes as PostgreSQL 15's, where one is installed.
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
fn bad_binary_parameters_are_refused() {
    let o = Orbit::start(&[]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        let cases: [(Type, Vec<u8>, &str); 6] = [
            (Type::TIMESTAMP, vec![1, 2, 3], "22P03"),
            (Type::TIME, (-1i64).to_be_bytes().to_vec(), "22008"),
            (Type::UUID, vec![0; 15], "22P03"),
            (Type::JSONB, b"\x02{}".to_vec(), "22023"),
            // jsonpath_recv: elog's "unsupported jsonpath version number", then the path's own
            // syntax check.
            (Type::JSONPATH, b"\x02$".to_vec(), "XX000"),
            (Type::JSONPATH, b"\x01$$".to_vec(), "42601"),
        ];
        for (ty, bytes, code) in cases {
            let stmt = c.prepare_typed("SELECT $1", std::slice::from_ref(&ty)).await.unwrap();
            let e = c.query_one(&stmt, &[&RawParam(bytes)]).await.expect_err(ty.name());
            assert_eq!(e.code().map(|c| c.code()), Some(code), "{ty}: {e:?}");
        }
    });
}

#[test]
fn values_of_every_type_survive_a_restart() {
    let mut o = Orbit::start(&["--shards", "2", "--fsync", "always"]);
    let rt = pg_runtime();
    let select = "SELECT k, ts, tz, d, t, iv, u, j, jb, c, jp FROM alltypes ORDER BY k";
    let before = rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE alltypes (k timestamptz PRIMARY KEY, ts timestamp, tz timestamptz, d date, t time, \
             iv interval, u uuid, j json, jb jsonb, c char(5), jp jsonpath); \
             CREATE TABLE bykey (u uuid, d date, iv interval, c char(3), PRIMARY KEY (u, d, iv, c)); \
             INSERT INTO alltypes VALUES \
               ('2024-01-02 03:04:05.5+02', '2024-01-02 03:04:05.5', 'infinity', '0044-03-15 BC', '24:00', \
                '1 year -2 mons 3 days -04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', \
                '{\"b\": [1,  2], \"a\": null}', '{\"b\": 1, \"a\": [true]}', 'x', 'strict $.a ? (@ > 1)'), \
               ('-infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL); \
             INSERT INTO bykey VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-02-29', '1 mon', 'ab'); \
             UPDATE alltypes SET iv = iv * 2, t = t - interval '1 hour' WHERE k = '2024-01-02 01:04:05.5'",
        )
        .await
        .expect("populate");
        text_rows(&c, select).await
    });
    assert_eq!(before.len(), 2);
    assert!(before[1].ends_with("|strict $.\"a\"?(@ > 1)"), "{before:?}");
    assert!(before[1].contains("|1 year 8 mons 6 days -08:10:13.578|"), "{before:?}");
    o.restart();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        assert_eq!(text_rows(&c, select).await, before);
        // The keys still find their rows (and trailing spaces and '30 days' still match).
        let found = text_rows(
            &c,
            "SELECT c FROM bykey WHERE u = 'a0eebc999c0b4ef8bb6d6bb9bd380a11' AND d = '2024-02-29' \
             AND iv = '30 days' AND c = 'ab '",
        )
        .await;
        assert_eq!(found, ["ab "]);
        let e = c
            .batch_execute("INSERT INTO alltypes (k) VALUES ('2024-01-02 01:04:05.5+00')")
            .await
            .expect_err("duplicate timestamptz key");
        assert_eq!(e.code().map(|c| c.code()), Some("23505"));
    });
}

#[test]
fn now_is_the_transaction_start() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE hist (id int PRIMARY KEY, mtime timestamp, filler char(22))").await.unwrap();
        // As pgbench's TPC-B-like script: a prepared insert of CURRENT_TIMESTAMP.
        let ins = c.prepare("INSERT INTO hist (id, mtime) VALUES ($1, CURRENT_TIMESTAMP)").await.unwrap();
        c.batch_execute("BEGIN").await.unwrap();
        c.execute(&ins, &[&1i32]).await.unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        c.execute(&ins, &[&2i32]).await.unwrap();
        c.batch_execute("COMMIT").await.unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        c.execute(&ins, &[&3i32]).await.unwrap();
        let rows = text_rows(&c, "SELECT mtime FROM hist ORDER BY id").await;
        // One transaction, one time; the next transaction a later one.
        assert_eq!(rows[0], rows[1]);
        assert!(rows[2] > rows[1], "{rows:?}");
        let later = text_rows(&c, "SELECT count(*) FROM hist WHERE mtime <= localtimestamp").await;
        assert_eq!(later, ["3"]);
    });
}

#[test]
fn psycopg_values_round_trip() {
    let o = Orbit::start(&["--shards", "2"]);
    let script = orbit_tests::workspace_root().join("tests/python/psycopg_types.py");
    let out = std::process::Command::new("python3").arg(script).arg(o.pg_port.to_string()).output().expect("python3");
    assert!(
        out.status.success(),
        "psycopg types failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// psycopg in a New York session (PGTZ): the start-up zone, ParameterStatus after SET TIME
/// ZONE, text parameters, COPY and a prepared statement in the zone print the same on Orbit
/// as on PostgreSQL 15.
#[test]
fn psycopg_in_a_session_time_zone_matches_postgresql() {
    let run = |port: u16| {
        let script = orbit_tests::workspace_root().join("tests/python/psycopg_timezone.py");
        let out = std::process::Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .env("PGTZ", "America/New_York")
            .output()
            .expect("python3");
        assert!(out.status.success(), "psycopg_timezone.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let o = Orbit::start(&["--shards", "2"]);
    let orbit = run(o.pg_port);
    assert!(orbit.contains("zone after SET: Asia/Kolkata"), "{orbit}");
    assert!(orbit.contains("copy out: ['1\\t2026-03-08 13:00:00+05:30'"), "{orbit}");
    match RealPostgres::start() {
        Ok(pg) => assert_eq!(orbit, run(pg.port), "Orbit and PostgreSQL 15 differ"),
        Err(why) => println!("PostgreSQL 15 not available ({why}): checked on Orbit alone"),
    }
}

#[test]
fn character_n_is_blank_padded() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE pc (id char(4) PRIMARY KEY, f char(10), v int); \
             INSERT INTO pc VALUES ('a', 'x', 1), ('bb  ', 'yy', 2), ('c', 'abcdefghij   ', 3)",
        )
        .await
        .unwrap();
        check(
            &c,
            &[
                ("SELECT id || '|', f, length(f), f = 'yy', v FROM pc ORDER BY id", "a||x         |1|f|1\nbb||yy        |2|t|2\nc||abcdefghij|10|f|3"),
                // Trailing spaces do not count: the key 'bb' finds 'bb  '.
                ("SELECT v FROM pc WHERE id = 'bb'", "2"),
                ("SELECT v FROM pc WHERE id = 'bb      '", "2"),
                (
                    "SELECT 'a'::char(3) LIKE 'a', 'a'::char(3) || 'b', length('a  '::char(3)), 'a'::char(3) = 'a  '::text, \
                     'a '::char(3)::text, 'abc  '::char(3), 'abcd'::char(3), 'x'::bpchar, 'abc'::char",
                    "f|ab|1|f|a|abc|abc|x|a",
                ),
                ("SELECT max(f), min(f) || '|' FROM pc", "yy        |abcdefghij|"),
            ],
        )
        .await;
        check_errors(
            &c,
            &[
                ("INSERT INTO pc VALUES ('abcde', 'x', 3)", "22001", "value too long for type character(4)"),
                ("SELECT 'abc'::char(0)", "22023", "length for type char must be at least 1"),
                ("SELECT 'a'::char(3) = 1", "42883", "operator does not exist: character = integer"),
            ],
        )
        .await;
        // A parameter of a character(n) column is padded; the result's type is bpchar (1042).
        c.execute("INSERT INTO pc VALUES ($1, $2, 4)", &[&"d", &"zz"]).await.unwrap();
        let row = c.query_one("SELECT f FROM pc WHERE id = $1", &[&"d"]).await.unwrap();
        assert_eq!(row.columns()[0].type_().oid(), 1042);
        assert_eq!(row.get::<_, Raw>(0), Raw(b"zz        ".to_vec()));
        let e = c.execute("INSERT INTO pc VALUES ($1, 'x', 5)", &[&"toolong"]).await.unwrap_err();
        assert_eq!(e.code().map(|c| c.code()), Some("22001"));
    });
}

/// IntervalStyle given in the start-up packet's `options` (libpq's PGOPTIONS, as Rails'
/// `SET intervalstyle = iso_8601` and drivers' `options` do): psql's result rows, a prepared
/// statement's text parameter, COPY out and COPY in (sql_standard reads a leading minus for
/// every field) and ParameterStatus, compared with PostgreSQL 15 byte for byte. A bad option
/// closes the connection with PostgreSQL's FATAL message.
#[test]
fn interval_style_from_startup_options_matches_postgresql() {
    let script = r"
CREATE TABLE ivs (k int PRIMARY KEY, v interval);
INSERT INTO ivs VALUES (1, '1 year 2 mons 3 days 04:05:06.5'), (2, '-1 days +02:03:04'), (3, '-7 mons');
SHOW IntervalStyle;
SELECT k, v, v::text, ARRAY[v] FROM ivs ORDER BY k;
PREPARE p(interval) AS SELECT $1, $1 = interval '-1 days -02:03:04';
EXECUTE p('-1 2:03:04');
COPY (SELECT * FROM ivs ORDER BY k) TO STDOUT;
COPY ivs FROM STDIN;
4	-1 2:03:04
\.
SELECT v FROM ivs WHERE k = 4;
SET IntervalStyle = iso_8601;
SELECT k, v FROM ivs ORDER BY k;
";
    let run = |port: u16, options: &str| {
        let mut child = std::process::Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
            .args(["-d", "postgres", "-f", "-"])
            .env("PGOPTIONS", options)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run psql");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    };
    let o = Orbit::start(&["--shards", "2"]);
    let orbit = run(o.pg_port, "-c intervalstyle=sql_standard");
    assert!(orbit.contains(" sql_standard\n"), "{orbit}");
    assert!(orbit.contains(" 2 | +0-0 -1 +2:03:04 "), "{orbit}");
    assert!(orbit.contains(" -1 2:03:04 | t\n"), "{orbit}");
    assert!(orbit.contains(" P-1DT-2H-3M-4S\n"), "{orbit}");
    let bad = run(o.pg_port, "-x");
    assert!(bad.contains("FATAL:  invalid command-line argument for server process: -x"), "{bad}");
    if let Some(pg) = RealPostgres::start_or_skip() {
        assert_eq!(orbit, run(pg.port, "-c intervalstyle=sql_standard"), "Orbit and PostgreSQL 15 differ");
        let pg_bad = run(pg.port, "-x");
        assert_eq!(bad.replace(&o.pg_port.to_string(), "PORT"), pg_bad.replace(&pg.port.to_string(), "PORT"));
    }
}
