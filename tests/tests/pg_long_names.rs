//! Names longer than 63 bytes, as PostgreSQL 15 treats them: cut to 63 bytes on a character
//! boundary with a NOTICE when the query is parsed (simple and extended protocol), the names
//! PostgreSQL makes up for keys, sequences and constraints chopped to fit, a taken sequence
//! name numbered, and ASCII-only folding of unquoted names. psql's output on Orbit is compared
//! byte for byte with a real PostgreSQL 15's.

use orbit_tests::{pg_runtime, Orbit, RealPostgres};

const SCRIPT: &str = r#"
create table bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb (id serial primary key, cccccccccccccccccccccccccccccccccccccccccccc int unique, d int check (d > 0));
select relname from pg_class where relname like 'bbb%' order by 1;
select conname from pg_constraint where conname like 'bbb%' order by 1;
insert into bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbXXXXXXXX (cccccccccccccccccccccccccccccccccccccccccccc, d) values (7, 1) returning *;
drop table bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb;
create sequence t_id_seq;
create table t (id serial);
select relname from pg_class where relname like 't_id%' order by 1;
\d t
drop table t;
create table t (id int not null);
alter table t alter column id add generated always as identity;
\d t
drop table t;
drop sequence t_id_seq;
create table ÉTÉ (Ab int);
select relname, attname from pg_class join pg_attribute on attrelid = pg_class.oid where relname like 'É%' and attnum > 0;
drop table ÉtÉ;
select 1 as "ééééééééééééééééééééééééééééééééé", 2 as "q""uote""dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";
show max_identifier_length;
select name, setting, context, vartype, min_val, max_val from pg_settings where name = 'max_identifier_length';
"#;

/// psql's stdout and stderr for a script.
fn psql(port: u16, script: &str) -> String {
    orbit_tests::psql_output_with(port, &["-c", "set client_min_messages = notice", "-f", "-"], script)
}

#[test]
fn long_names_as_on_postgresql() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let o = Orbit::start(&["--shards", "2"]);
    let want = psql(pg.port, SCRIPT);
    assert!(want.contains("will be truncated to"), "PostgreSQL: {want}");
    assert_eq!(psql(o.pg_port, SCRIPT), want);
}

/// The NOTICEs an extended-protocol Parse of `sql` draws, and the column names it describes.
async fn parse_notices(port: u16, sql: &str) -> (Vec<String>, Vec<String>) {
    let (client, rx, reader) = orbit_tests::pg_connect_notices(port).await;
    let stmt = client.prepare(sql).await.expect("prepare");
    let columns = stmt.columns().iter().map(|c| c.name().to_string()).collect();
    drop(stmt);
    drop(client);
    reader.await.expect("reader");
    (rx.try_iter().map(|n| format!("{} {}", n.code().code(), n.message())).collect(), columns)
}

#[test]
fn extended_protocol_parse_sends_the_notice() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let o = Orbit::start(&[]);
    let sql = format!("select 1 as {}, $1::int as x", "Z".repeat(70));
    pg_runtime().block_on(async {
        let want = parse_notices(pg.port, &sql).await;
        assert_eq!(want.0.len(), 1, "PostgreSQL: {want:?}");
        assert!(want.0[0].starts_with("42622 identifier"), "PostgreSQL: {want:?}");
        assert_eq!(want.1[0], "z".repeat(63));
        assert_eq!(parse_notices(o.pg_port, &sql).await, want);
    });
}
