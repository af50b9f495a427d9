//! What this session's definition options keep across a crash (SIGKILL under `--fsync
//! always`): a table's storage parameters (CREATE TABLE ... WITH, ALTER TABLE ... SET /
//! RESET) in pg_class.reloptions, a CHECK added NOT VALID (still not validated, still checking
//! new rows; VALIDATE then makes it valid), and a function's COST, ROWS and LEAKPROOF.

use orbit_tests::{one_text, pg_connect, pg_runtime, sqlstate_of, Orbit};

#[test]
fn definition_options_survive_sigkill() {
    let mut o = Orbit::start(&["--shards", "2", "--fsync", "always"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE t (a int PRIMARY KEY, b int) WITH (fillfactor = 70, autovacuum_enabled = off);
             INSERT INTO t VALUES (1, 5), (2, 30);
             ALTER TABLE t SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.01);
             ALTER TABLE t RESET (autovacuum_enabled);
             ALTER TABLE t ADD CONSTRAINT b_big CHECK (b > 10) NOT VALID;
             CREATE FUNCTION f(int) RETURNS SETOF int LANGUAGE sql LEAKPROOF COST 7 ROWS 3 AS 'SELECT $1';",
        )
        .await
        .unwrap();
    });
    o.restart();
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        let options = one_text(&c, "SELECT reloptions::text FROM pg_class WHERE relname = 't'").await;
        assert_eq!(options.as_deref(), Some("{fillfactor=80,autovacuum_vacuum_scale_factor=0.01}"));
        let check = one_text(
            &c,
            "SELECT convalidated::text || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'b_big'",
        )
        .await;
        assert_eq!(check.as_deref(), Some("false CHECK ((b > 10)) NOT VALID"));
        assert_eq!(sqlstate_of(&c, "INSERT INTO t VALUES (3, 4)").await, "23514");
        assert_eq!(sqlstate_of(&c, "ALTER TABLE t VALIDATE CONSTRAINT b_big").await, "23514");
        let function = one_text(
            &c,
            "SELECT procost::text || ' ' || prorows::text || ' ' || proleakproof::text FROM pg_proc WHERE proname = 'f'",
        )
        .await;
        assert_eq!(function.as_deref(), Some("7 3 true"));
        c.batch_execute("DELETE FROM t WHERE b <= 10; ALTER TABLE t VALIDATE CONSTRAINT b_big").await.unwrap();
    });
    o.restart();
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        let valid = one_text(&c, "SELECT convalidated::text FROM pg_constraint WHERE conname = 'b_big'").await;
        assert_eq!(valid.as_deref(), Some("true"));
    });
}
