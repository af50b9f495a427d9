//! The precision (typmod) of timestamp, timestamptz, time and interval through real clients:
//! psql's output on Orbit (`\d`, the WARNING for a precision above 6, COPY FROM rounding the
//! values it reads) equals a real PostgreSQL 15's byte for byte; RowDescription carries a
//! column's typmod (tokio-postgres's `type_modifier`) as PostgreSQL's does; and a table's
//! precisions survive SIGKILL (the log keeps the column's typmod), on 1 and 2 shards.

use orbit_tests::{pg_connect, pg_runtime, Orbit, RealPostgres};

const SCRIPT: &str = r#"
set timezone = 'UTC';
create table tp (k int primary key, a timestamp(3) not null default '2020-01-01 00:00:00.00051', b timestamptz(0), c time(2), d interval(1), e timestamp(6)[]);
\d tp
copy tp (k, a, b, c, d) from stdin;
1	2021-03-04 05:06:07.123456	2021-03-04 05:06:07.5+00	05:06:07.125	1 day 00:00:01.25
2	1999-12-31 23:59:59.9995	\N	23:59:59.995	-00:00:01.25
\.
insert into tp (k, c) values (3, '00:00:00.005');
select k, a, b, c, d from tp order by k;
select format_type(atttypid, atttypmod), atttypmod from pg_attribute where attrelid = 'tp'::regclass and attnum > 1 order by attnum;
"#;

/// psql's stdout and stderr for a script.
fn psql(port: u16, script: &str) -> String {
    orbit_tests::psql_output_with(port, &["-f", "-"], script)
}

#[test]
fn precision_through_psql_as_on_postgresql() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let o = Orbit::start(&["--shards", "2"]);
    let want = psql(pg.port, SCRIPT);
    assert!(want.contains("timestamp(3) without time zone"), "PostgreSQL: {want}");
    assert_eq!(psql(o.pg_port, SCRIPT), want);
}

const ABOVE_SIX: &str = r#"
create table tbig (a timestamp(7), b timestamp(8) with time zone, c time(9), d interval(10));
\d tbig
select '2021-01-01 00:00:00.1234567'::timestamp(7)::text;
create view vbig as select '2021-01-01 00:00:00.1234567'::timestamp(7) as x;
"#;

/// A precision above 6 is 6, with PostgreSQL's WARNING. Orbit sends each WARNING once and
/// without the position PostgreSQL gives it (PostgreSQL warns twice for a column's type: when
/// it reads the statement and again when it creates the table), so only the lines are compared.
#[test]
fn precision_above_six_warns_and_is_six() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let o = Orbit::start(&["--shards", "2"]);
    let lines = |out: String| -> Vec<String> {
        let mut v: Vec<String> =
            out.lines().filter(|l| !l.starts_with("LINE ") && !l.trim().starts_with('^')).map(String::from).collect();
        v.dedup();
        v
    };
    let want = lines(psql(pg.port, ABOVE_SIX));
    assert!(
        want.iter().any(|l| l.ends_with("WARNING:  TIMESTAMP(7) precision reduced to maximum allowed, 6")),
        "PostgreSQL: {want:?}"
    );
    assert!(want.iter().any(|l| l.contains("interval(6)")), "PostgreSQL: {want:?}");
    let got = lines(psql(o.pg_port, ABOVE_SIX));
    let mut want_set = want.clone();
    want_set.sort();
    want_set.dedup();
    let mut got_set = got;
    got_set.sort();
    got_set.dedup();
    assert_eq!(got_set, want_set);
    // The view warned when it was created; reading it warns no more.
    let read = "select x::text from vbig;";
    let want = psql(pg.port, read);
    assert!(!want.contains("WARNING"), "PostgreSQL: {want}");
    assert_eq!(psql(o.pg_port, read), want);
}

/// Each result column's (type OID, typmod) as RowDescription gives them.
async fn described(port: u16, sql: &str) -> Vec<(u32, i32)> {
    let c = pg_connect(port).await;
    c.batch_execute(
        "CREATE TABLE td (k int PRIMARY KEY, a timestamp(3), b timestamptz(0), c time(2), d interval(1), e timestamp(4)[], f timestamp)",
    )
    .await
    .expect("create");
    let st = c.prepare(sql).await.expect("prepare");
    st.columns().iter().map(|c| (c.type_().oid(), c.type_modifier())).collect()
}

#[test]
fn row_description_carries_the_typmod_as_postgresql() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let o = Orbit::start(&["--shards", "2"]);
    let sql = "SELECT a, b, c, d, e, f, a + interval '1 s', a::timestamp(1), now()::timestamptz(2), '1'::interval(5), \
               k, current_timestamp(2), localtimestamp(0), localtime(4), max(a) OVER (), coalesce(c, c) FROM td";
    pg_runtime().block_on(async {
        let want = described(pg.port, sql).await;
        assert_eq!(want[0], (1114, 3), "PostgreSQL: {want:?}");
        assert_eq!(described(o.pg_port, sql).await, want);
    });
}

use orbit_tests::simple_rows as rows;

#[test]
fn precision_survives_sigkill() {
    orbit_tests::across_sigkill(
        async |c| {
            c.batch_execute(
            "SET TimeZone = 'UTC';
             CREATE TABLE tk (k int PRIMARY KEY, a timestamp(3), b timestamptz(0), c time(2), d interval(1), e timestamp(1)[], f timestamp);
             INSERT INTO tk VALUES (1, '2021-03-04 05:06:07.123456', '2021-03-04 05:06:07.5', '05:06:07.125', '1.25 s', '{2021-03-04 05:06:07.16}', '2021-03-04 05:06:07.123456');
             ALTER TABLE tk ALTER COLUMN f TYPE timestamp(0)",
        )
        .await
        .unwrap();
        },
        async |c, shards| {
            let types = rows(
            c,
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'tk'::regclass AND attnum > 1 ORDER BY attnum",
        )
        .await;
            assert_eq!(
                types,
                [
                    "timestamp(3) without time zone",
                    "timestamp(0) with time zone",
                    "time(2) without time zone",
                    "interval(1)",
                    "timestamp(1) without time zone[]",
                    "timestamp(0) without time zone",
                ],
                "{shards} shards"
            );
            // A row written after the restart is rounded by the precision read back.
            c.batch_execute(
            "SET TimeZone = 'UTC';
             INSERT INTO tk VALUES (2, '2022-01-01 00:00:00.0005', '2022-01-01 00:00:00.4', '00:00:00.005', '-0.05 s', '{2022-01-01 00:00:00.05}', '2022-01-01 00:00:00.5')",
        )
        .await
        .unwrap();
            assert_eq!(
            rows(c, "SELECT k, a, b, c, d, e, f FROM tk ORDER BY k").await,
            [
                "1|2021-03-04 05:06:07.123|2021-03-04 05:06:08+00|05:06:07.13|00:00:01.3|{\"2021-03-04 05:06:07.2\"}|2021-03-04 05:06:07",
                "2|2022-01-01 00:00:00.001|2022-01-01 00:00:00+00|00:00:00.01|-00:00:00.1|{\"2022-01-01 00:00:00.1\"}|2022-01-01 00:00:01",
            ],
            "{shards} shards"
        );
        },
    );
}
