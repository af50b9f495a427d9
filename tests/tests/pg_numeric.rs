//! numeric over the wire and on disk: binary results byte for byte as PostgreSQL 15 sends them
//! (numeric_send), binary parameters read as numeric_recv reads them, and numeric cells and
//! keys that survive a restart (log replay). tokio-postgres has no numeric type of its own
//! without a feature, so the test carries the raw bytes (`Raw`) and decodes them itself.

use bytes::BytesMut;
use orbit_tests::{pg_connect, Orbit, RealPostgres};
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use tokio_postgres::{Client, SimpleQueryMessage};

/// A numeric's binary form as it crosses the wire.
#[derive(Debug, Clone, PartialEq)]
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Raw, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

impl ToSql for Raw {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.0);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }

    to_sql_checked!();
}

/// Decodes numeric_send's form (ndigits, weight, sign, dscale, base-10000 digits) to the text
/// numeric_out prints, independently of the server's code.
fn decode(b: &[u8]) -> String {
    let u = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
    let (ndigits, weight, sign, dscale) = (u(0) as usize, u(2) as i16 as i64, u(4), u(6) as usize);
    match sign {
        0xC000 => return "NaN".into(),
        0xD000 => return "Infinity".into(),
        0xF000 => return "-Infinity".into(),
        _ => {}
    }
    assert_eq!(b.len(), 8 + 2 * ndigits);
    let digits: Vec<u16> = (0..ndigits).map(|i| u(8 + 2 * i)).collect();
    let mut int = String::new();
    for w in (0..=weight.max(0)).rev() {
        let idx = weight - w;
        let d = if idx >= 0 && (idx as usize) < ndigits { digits[idx as usize] } else { 0 };
        int.push_str(&format!("{d:04}"));
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let mut frac = String::new();
    let mut w = -1;
    while frac.len() < dscale {
        let idx = weight - w;
        let d = if idx >= 0 && (idx as usize) < ndigits { digits[idx as usize] } else { 0 };
        frac.push_str(&format!("{d:04}"));
        w -= 1;
    }
    frac.truncate(dscale);
    let sign = if sign == 0x4000 { "-" } else { "" };
    if dscale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

async fn text_rows(c: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    let mut out = Vec::new();
    for m in c.simple_query(sql).await.expect(sql) {
        if let SimpleQueryMessage::Row(r) = m {
            out.push((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect());
        }
    }
    out
}

const VALUES: &[&str] = &[
    "0",
    "0.000",
    "1.50",
    "-1.5",
    "10000",
    "9999.9999",
    "0.0001",
    "0.00001",
    "-0.000012345",
    "123456789012345678901234567890.123456789",
    "1e20",
    "12345678.9",
    "NaN",
    "Infinity",
    "-Infinity",
];

#[test]
fn binary_numerics_match_postgresql_byte_for_byte() {
    let pg = match RealPostgres::start() {
        Ok(pg) => Some(pg),
        Err(why) => {
            println!("no PostgreSQL 15 to compare with ({why}): checking Orbit's bytes against the decoder only");
            None
        }
    };
    let orbit = Orbit::start(&["--shards", "2"]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(async {
        let o = pg_connect(orbit.pg_port).await;
        let p = match &pg {
            Some(pg) => Some(pg_connect(pg.port).await),
            None => None,
        };
        for v in VALUES {
            // Results in binary (tokio-postgres asks for binary result columns).
            let sql = format!("SELECT '{v}'::numeric, '{v}'::numeric / 7, '{v}'::numeric * 3");
            let row = o.query_one(&sql, &[]).await.expect(&sql);
            let got: Vec<Raw> = (0..3).map(|i| row.get(i)).collect();
            let text = &text_rows(&o, &sql).await[0];
            for (raw, t) in got.iter().zip(text) {
                assert_eq!(Some(decode(&raw.0)), *t, "{sql}: binary and text forms disagree");
            }
            if let Some(p) = &p {
                let row = p.query_one(&sql, &[]).await.expect(&sql);
                let want: Vec<Raw> = (0..3).map(|i| row.get(i)).collect();
                assert_eq!(got, want, "{sql}: bytes differ from PostgreSQL's");
            }
            // A binary parameter, as a client sends it, reads back as the same value.
            let raw = got[0].clone();
            let back: Raw = o.query_one("SELECT $1::numeric", &[&raw]).await.expect("param").get(0);
            assert_eq!(back, raw, "{v}: parameter round trip");
        }
        // A parameter typed by a numeric(8,2) column is rounded to its scale.
        o.batch_execute("CREATE TABLE m (id numeric PRIMARY KEY, amount numeric(8,2))").await.unwrap();
        let ins = o.prepare("INSERT INTO m VALUES ($1, $2)").await.unwrap();
        assert_eq!(ins.params(), &[Type::NUMERIC, Type::NUMERIC]);
        let one = Raw(vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 1]); // 1
        let amount = Raw(vec![0, 2, 0, 0, 0, 0, 0, 3, 0, 1, 0x13, 0xEC]); // 1.510
        o.execute(&ins, &[&one, &amount]).await.unwrap();
        let err =
            o.execute(&ins, &[&Raw(vec![0, 0, 0, 0, 0, 0, 0, 2]), &Raw(vec![0, 1, 0, 2, 0, 0, 0, 0, 0, 1])]).await;
        let err = err.expect_err("1e8 does not fit numeric(8,2)");
        assert_eq!(err.code().map(|c| c.code()), Some("22003"), "{err:?}");
        // A digit over 9999 is not a numeric.
        let bad = o.query_one("SELECT $1::numeric", &[&Raw(vec![0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10])]).await;
        assert_eq!(bad.expect_err("digit 10000").code().map(|c| c.code()), Some("22P03"));
        assert_eq!(text_rows(&o, "SELECT id, amount FROM m").await, vec![vec![Some("1".into()), Some("1.51".into())]]);
    });
}

#[test]
fn numeric_rows_and_keys_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let args = ["--shards", "2", "--fsync", "always"];
    let mut orbit = Orbit::start_in(dir.path(), &args);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let want = vec![
        vec![Some("-2.50".into()), Some("NaN".into())],
        vec![Some("0.001".into()), Some("-Infinity".into())],
        vec![Some("1".into()), Some("123456789012345678901234567890.12".into())],
    ];
    rt.block_on(async {
        let c = pg_connect(orbit.pg_port).await;
        c.batch_execute(
            "CREATE TABLE n (k numeric PRIMARY KEY, v numeric); \
             INSERT INTO n VALUES (1, 123456789012345678901234567890.12), (-2.50, 'NaN'), (0.001, '-Infinity')",
        )
        .await
        .unwrap();
        assert_eq!(text_rows(&c, "SELECT k, v FROM n ORDER BY k").await, want);
    });
    // Killed: the rows come back from the log.
    orbit.kill9();
    let orbit = Orbit::start_in(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(orbit.pg_port).await;
        assert_eq!(text_rows(&c, "SELECT k, v FROM n ORDER BY k").await, want);
        // The key is the value: 1.00 finds (and collides with) the row stored as 1.
        assert_eq!(text_rows(&c, "SELECT k FROM n WHERE k = 1.00").await, vec![vec![Some("1".into())]]);
        let e = c.batch_execute("INSERT INTO n VALUES (1.0, 0)").await.expect_err("duplicate key");
        assert_eq!(e.code().map(|c| c.code()), Some("23505"));
        assert_eq!(text_rows(&c, "DELETE FROM n WHERE k = -2.5 RETURNING v").await, vec![vec![Some("NaN".into())]]);
    });
}

#[test]
fn psycopg_decimals_round_trip() {
    let o = Orbit::start(&["--shards", "2"]);
    let script = orbit_tests::workspace_root().join("tests/python/psycopg_numeric.py");
    let out = std::process::Command::new("python3").arg(script).arg(o.pg_port.to_string()).output().expect("python3");
    assert!(
        out.status.success(),
        "psycopg numeric failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
