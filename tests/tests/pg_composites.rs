//! Composite types across a crash: the types (one nested in another), columns of them, a
//! composite primary key, an array of the type, rows written by literals, row constructors
//! and an UPDATE of a field, and a view with columns of a table's row type survive SIGKILL, on 1 and 2
//! shards; the key still finds its row.

use orbit_tests::simple_rows;

#[test]
fn composite_types_and_values_survive_sigkill() {
    orbit_tests::across_sigkill(
        async |c| {
            c.batch_execute(
                "CREATE TYPE pair AS (a int, b text);
                 CREATE TYPE nest AS (x pair, at timestamp, n numeric(6,2));
                 CREATE TABLE things (k pair PRIMARY KEY, v nest);
                 INSERT INTO things VALUES ('(1,one)', ROW(ROW(10, 'a b'), '2026-12-02 10:00', 1.5)),
                                           (ROW(2, 'two'), NULL),
                                           ('(3,\"x,y\")', '(\"(,\"\"\"\")\",,)')",
            )
            .await
            .unwrap();
            c.batch_execute(
                "UPDATE things SET v = ROW(ROW((k).a * 100, 'upd'), NULL, 2) WHERE k = ROW(2, 'two')::pair",
            )
            .await
            .unwrap();
            c.batch_execute(
                "CREATE TABLE lists (id int PRIMARY KEY, ps pair[]);
                 INSERT INTO lists VALUES (1, ARRAY[ROW(1, 'a b')::pair, NULL, ROW(NULL, '')::pair]), (2, '{}');
                 UPDATE lists SET ps = ps || ROW(5, 'e')::pair WHERE id = 2;
                 CREATE VIEW recs AS SELECT lists AS whole, ARRAY[lists] AS ar FROM lists",
            )
            .await
            .unwrap();
        },
        async |c, shards| {
            let rows = simple_rows(c, "SELECT k, v, (v).x.a FROM things ORDER BY k").await;
            assert_eq!(
                rows,
                [
                    r#"(1,one)|("(10,""a b"")","2026-12-02 10:00:00",1.50)|10"#,
                    r#"(2,two)|("(200,upd)",,2.00)|200"#,
                    r#"(3,"x,y")|("(,"""")",,)|NULL"#,
                ],
                "{shards} shards"
            );
            let rows = simple_rows(c, "SELECT (v).n FROM things WHERE k = '(1,one)'").await;
            assert_eq!(rows, ["1.50"], "{shards} shards");
            let rows = simple_rows(c, "SELECT id, ps, (ps[1]).b FROM lists ORDER BY id").await;
            assert_eq!(rows, [r#"1|{"(1,\"a b\")",NULL,"(,\"\")"}|a b"#, r#"2|{"(5,e)"}|e"#], "{shards} shards");
            // A view's columns of a table's row type are kept as `record` in its definition
            // (the log holds no record shape); bound again, its values have their shapes.
            let rows = simple_rows(c, "SELECT (whole).id, ar[1] FROM recs ORDER BY (whole).id").await;
            assert_eq!(
                rows,
                [r#"1|(1,"{""(1,\\""a b\\"")"",NULL,""(,\\""\\"")""}")"#, r#"2|(2,"{""(5,e)""}")"#],
                "{shards} shards"
            );
            let e = c.simple_query("INSERT INTO things VALUES (ROW(1, 'one'), NULL)").await.unwrap_err();
            assert_eq!(e.code().map(|c| c.code()), Some("23505"));
        },
    );
}
