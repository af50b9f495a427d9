// An ordinary JDBC program (pgjdbc, Debian's libpostgresql-jdbc-java), run by tests/tests/jdbc.rs
// against Orbit and against a real PostgreSQL 15; the test compares the two outputs line by line.
//
// Usage: java -Duser.timezone=UTC -cp /usr/share/java/postgresql.jar JdbcApp.java PORT
//
// Every section prints what the driver returned in a normalized text form (no OIDs, pids or
// timestamps that differ between servers). A section that throws prints its SQLSTATE and
// message instead and the program goes on, so one difference does not hide the others.

import java.math.BigDecimal;
import java.sql.*;
import java.util.*;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

public class JdbcApp {
    static String port;

    interface Body {
        void run() throws Exception;
    }

    static void section(String name, Body body) {
        System.out.println("== " + name);
        try {
            body.run();
        } catch (SQLException e) {
            System.out.println("ERROR " + e.getSQLState() + " " + firstLine(e.getMessage()));
        } catch (Exception e) {
            System.out.println("EXCEPTION " + e.getClass().getName() + " " + firstLine(e.getMessage()));
        }
    }

    static String firstLine(String s) {
        if (s == null) return "null";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    static Connection connect(String options) throws SQLException {
        String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres" + (options.isEmpty() ? "" : "?" + options);
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        return DriverManager.getConnection(url, p);
    }

    /** Every row of a result set, one line each, columns separated by '|'. */
    static void printRows(ResultSet rs) throws SQLException {
        int n = rs.getMetaData().getColumnCount();
        while (rs.next()) {
            StringBuilder b = new StringBuilder();
            for (int i = 1; i <= n; i++) {
                if (i > 1) b.append('|');
                b.append(rs.getString(i));
            }
            System.out.println(b);
        }
    }

    /** The named columns of every row of a metadata result set. */
    static void printColumns(ResultSet rs, String... cols) throws SQLException {
        List<String> lines = new ArrayList<>();
        while (rs.next()) {
            StringBuilder b = new StringBuilder();
            for (String c : cols) {
                if (b.length() > 0) b.append('|');
                b.append(rs.getString(c));
            }
            lines.add(b.toString());
        }
        for (String l : lines) System.out.println(l);
    }

    static void query(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            printRows(rs);
        }
    }

    public static void main(String[] args) throws Exception {
        port = args[0];
        try (Connection c = connect("")) {
            section("startup settings", () -> {
                // pgjdbc's start-up sent these; SHOW answers what the server took.
                for (String p : new String[] {"extra_float_digits", "DateStyle", "client_encoding", "TimeZone",
                        "standard_conforming_strings", "integer_datetimes", "IntervalStyle", "server_encoding",
                        "application_name"}) {
                    query(c, "SHOW " + p);
                }
                System.out.println(c.getMetaData().getDatabaseProductName());
                System.out.println(c.getMetaData().getDatabaseMajorVersion());
                System.out.println(c.getAutoCommit() + " " + c.getTransactionIsolation() + " " + c.isReadOnly());
                System.out.println(c.getSchema() + " " + c.getCatalog());
                c.setReadOnly(true);
                query(c, "SHOW transaction_read_only");
                c.setReadOnly(false);
                c.setSchema("public");
                System.out.println(c.getSchema());
                c.setClientInfo("ApplicationName", "jdbc-app");
                query(c, "SHOW application_name");
                System.out.println(c.isValid(5));
            });
            section("setup", () -> {
                try (Statement s = c.createStatement()) {
                    s.execute("DROP TABLE IF EXISTS jd_child");
                    s.execute("DROP TABLE IF EXISTS jd_items");
                    s.execute("DROP TABLE IF EXISTS jd_types");
                    s.execute("DROP TABLE IF EXISTS jd_copy");
                    s.execute("CREATE TABLE jd_items (id serial PRIMARY KEY, name varchar(40) NOT NULL UNIQUE, "
                            + "price numeric(10,2), qty int DEFAULT 0, note text)");
                    s.execute("CREATE TABLE jd_child (cid bigint PRIMARY KEY, item_id int NOT NULL REFERENCES jd_items(id), "
                            + "label text)");
                    s.execute("CREATE INDEX jd_child_label ON jd_child (label)");
                    System.out.println(s.getUpdateCount());
                }
            });
            section("statement", () -> {
                try (Statement s = c.createStatement()) {
                    System.out.println(s.executeUpdate("INSERT INTO jd_items (name, price, qty) VALUES ('apple', 1.25, 10), "
                            + "('pear', 2.50, 3), ('plum', NULL, 0)"));
                    boolean isQuery = s.execute("SELECT id, name, price, qty FROM jd_items ORDER BY id");
                    System.out.println(isQuery);
                    printRows(s.getResultSet());
                    System.out.println(s.execute("UPDATE jd_items SET qty = qty + 1 WHERE qty < 5") + " " + s.getUpdateCount());
                    System.out.println(s.executeUpdate("DELETE FROM jd_items WHERE name = 'nothing'"));
                    // Several statements in one Query message: one result each.
                    s.execute("SELECT 1 AS a; SELECT 'two' AS b; UPDATE jd_items SET note = 'n' WHERE id = 1");
                    do {
                        ResultSet rs = s.getResultSet();
                        if (rs != null) printRows(rs);
                        else System.out.println("count " + s.getUpdateCount());
                    } while (s.getMoreResults() || s.getUpdateCount() != -1);
                    s.setMaxRows(2);
                    query(c, "SELECT count(*) FROM jd_items");
                    try (ResultSet rs = s.executeQuery("SELECT name FROM jd_items ORDER BY name")) {
                        printRows(rs);
                    }
                }
            });
            section("prepared statement past prepareThreshold", () -> {
                // pgjdbc switches to a named server-side statement on the 5th execution.
                try (PreparedStatement ps = c.prepareStatement("SELECT name, qty * ? AS q FROM jd_items WHERE id = ?")) {
                    for (int i = 1; i <= 10; i++) {
                        ps.setInt(1, i);
                        ps.setInt(2, 1 + i % 3);
                        try (ResultSet rs = ps.executeQuery()) {
                            printRows(rs);
                        }
                    }
                }
                try (PreparedStatement ps = c.prepareStatement("UPDATE jd_items SET qty = qty + ? WHERE name = ?")) {
                    for (int i = 1; i <= 10; i++) {
                        ps.setInt(1, 1);
                        ps.setString(2, i % 2 == 0 ? "apple" : "pear");
                        System.out.print(ps.executeUpdate());
                    }
                    System.out.println();
                }
                query(c, "SELECT name, qty FROM jd_items ORDER BY id");
                // A prepared statement reused after a DDL change of its table.
                try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM jd_items WHERE qty > ?")) {
                    for (int i = 0; i < 7; i++) {
                        ps.setInt(1, i);
                        try (ResultSet rs = ps.executeQuery()) {
                            printRows(rs);
                        }
                    }
                }
            });
            section("setup types", () -> {
                try (Statement s = c.createStatement()) {
                    s.execute("CREATE TABLE jd_types (id int PRIMARY KEY, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, "
                            + "n numeric(12,4), t text, vc varchar(20), b bool, by bytea, d date, tm time, ts timestamp, "
                            + "tz timestamptz, iv interval, u uuid, j json, jb jsonb, ai int[], at text[])");
                    s.execute("INSERT INTO jd_types VALUES (1, 12, 123456, 9007199254740993, 1.5, 2.25, 12345.6789, 'hello', "
                            + "'vc', true, '\\x00ff10', '2024-02-29', '13:14:15.5', '2024-02-29 13:14:15.123456', "
                            + "'2024-02-29 13:14:15.5+02', '1 year 2 mons 3 days 04:05:06.5', "
                            + "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2]}', '{\"b\": 1, \"a\": null}', "
                            + "'{1,NULL,3}', '{\"x y\",z}')");
                    s.execute("INSERT INTO jd_types (id) VALUES (2)");
                    s.execute("INSERT INTO jd_types VALUES (3, -32768, -2147483648, -9223372036854775808, 'NaN', '-Infinity', "
                            + "-0.0001, '', '', false, '\\x', '0001-01-01', '00:00:00', '1999-12-31 23:59:59', "
                            + "'1970-01-01 00:00:00+00', '-1 days -00:00:01', '00000000-0000-0000-0000-000000000000', "
                            + "'[]', '[1, \"x\", {\"k\": true}]', '{}', '{}')");
                }
            });
            for (String opts : new String[] {"", "prepareThreshold=-1", "prepareThreshold=1&binaryTransfer=true"}) {
                section("getters " + (opts.isEmpty() ? "text" : opts), () -> {
                    try (Connection c2 = connect(opts);
                            PreparedStatement ps = c2.prepareStatement("SELECT * FROM jd_types WHERE id = ?")) {
                        for (int round = 0; round < 2; round++) {
                            for (int id = 1; id <= 3; id++) {
                                ps.setInt(1, id);
                                try (ResultSet rs = ps.executeQuery()) {
                                    while (rs.next()) printTypedRow(rs);
                                }
                            }
                        }
                    }
                });
            }
            section("setters", () -> {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO jd_types (id, i2, i4, i8, f4, f8, n, t, vc, b, by, "
                        + "d, tm, ts, tz, iv, u, j, jb, ai, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::interval, ?, "
                        + "?::json, ?::jsonb, ?, ?)")) {
                    ps.setInt(1, 10);
                    ps.setShort(2, (short) 7);
                    ps.setInt(3, 70000);
                    ps.setLong(4, 1L << 40);
                    ps.setFloat(5, 0.25f);
                    ps.setDouble(6, 1e-3);
                    ps.setBigDecimal(7, new BigDecimal("-42.1250"));
                    ps.setString(8, "it's");
                    ps.setString(9, "vchar");
                    ps.setBoolean(10, true);
                    ps.setBytes(11, new byte[] {1, 2, (byte) 0xfe});
                    ps.setDate(12, java.sql.Date.valueOf("2023-07-01"));
                    ps.setTime(13, java.sql.Time.valueOf("08:30:00"));
                    ps.setTimestamp(14, java.sql.Timestamp.valueOf("2023-07-01 08:30:00.25"));
                    ps.setObject(15, java.time.OffsetDateTime.parse("2023-07-01T08:30:00+05:30"));
                    ps.setString(16, "2 hours 3 minutes");
                    ps.setObject(17, UUID.fromString("123e4567-e89b-12d3-a456-426614174000"));
                    ps.setString(18, "{\"k\": \"v\"}");
                    ps.setString(19, "[3, 2, 1]");
                    ps.setArray(20, c.createArrayOf("int4", new Integer[] {5, null, 6}));
                    ps.setArray(21, c.createArrayOf("text", new String[] {"p", "q,r"}));
                    System.out.println(ps.executeUpdate());
                    ps.setInt(1, 11);
                    for (int i = 2; i <= 21; i++) ps.setNull(i, Types.NULL);
                    ps.setNull(2, Types.SMALLINT);
                    ps.setNull(8, Types.VARCHAR);
                    ps.setNull(11, Types.BINARY);
                    System.out.println(ps.executeUpdate());
                }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO jd_types (id, i8, n, d, ts, b, t) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
                    ps.setObject(1, 12);
                    ps.setObject(2, 5L);
                    ps.setObject(3, new BigDecimal("3.14159"));
                    ps.setObject(4, java.time.LocalDate.of(2020, 1, 31));
                    ps.setObject(5, java.time.LocalDateTime.of(2020, 1, 31, 23, 59, 58));
                    ps.setObject(6, Boolean.FALSE);
                    ps.setObject(7, "obj", Types.VARCHAR);
                    System.out.println(ps.executeUpdate());
                }
                try (PreparedStatement ps = c.prepareStatement("SELECT * FROM jd_types WHERE id >= ? ORDER BY id")) {
                    ps.setInt(1, 10);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) printTypedRow(rs);
                    }
                }
                // A parameter of no declared type compared with a column.
                try (PreparedStatement ps = c.prepareStatement("SELECT id FROM jd_types WHERE i8 = ? OR t = ? ORDER BY id")) {
                    ps.setObject(1, 5L);
                    ps.setString(2, "hello");
                    try (ResultSet rs = ps.executeQuery()) {
                        printRows(rs);
                    }
                }
            });
            section("batch", () -> batches(c));
            section("batch reWriteBatchedInserts", () -> {
                try (Connection c2 = connect("reWriteBatchedInserts=true")) {
                    batches(c2);
                }
            });
            section("generated keys", () -> {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO jd_items (name, price) VALUES (?, ?)",
                        Statement.RETURN_GENERATED_KEYS)) {
                    ps.setString(1, "kiwi");
                    ps.setBigDecimal(2, new BigDecimal("0.99"));
                    ps.executeUpdate();
                    try (ResultSet rs = ps.getGeneratedKeys()) {
                        printColumns(rs, "name", "price", "qty");
                    }
                }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO jd_items (name) VALUES (?)", new String[] {"name", "qty"})) {
                    ps.setString(1, "lime");
                    ps.executeUpdate();
                    try (ResultSet rs = ps.getGeneratedKeys()) {
                        printRows(rs);
                    }
                }
                try (Statement s = c.createStatement()) {
                    s.executeUpdate("UPDATE jd_items SET qty = 99 WHERE name IN ('kiwi', 'lime')", new String[] {"name", "qty"});
                    try (ResultSet rs = s.getGeneratedKeys()) {
                        List<String> rows = new ArrayList<>();
                        while (rs.next()) rows.add(rs.getString(1) + "|" + rs.getInt(2));
                        Collections.sort(rows);
                        System.out.println(rows);
                    }
                }
                query(c, "SELECT name, qty FROM jd_items WHERE id > 3 ORDER BY name");
            });
            section("transactions", () -> transactions(c));
            section("fetch size (suspended portal)", () -> {
                // With autocommit off pgjdbc runs a named portal and fetches fetchSize rows at a time.
                c.setAutoCommit(false);
                try (PreparedStatement ps = c.prepareStatement("SELECT cid, label FROM jd_child WHERE cid > ? ORDER BY cid")) {
                    ps.setFetchSize(3);
                    ps.setLong(1, 2);
                    try (ResultSet rs = ps.executeQuery()) {
                        StringBuilder b = new StringBuilder();
                        while (rs.next()) b.append(rs.getLong(1)).append(':').append(rs.getString(2)).append(' ');
                        System.out.println(b);
                    }
                } finally {
                    c.commit();
                    c.setAutoCommit(true);
                }
            });
            section("query timeout and warnings", () -> {
                try (Connection holder = connect("")) {
                    holder.setAutoCommit(false);
                    try (Statement h = holder.createStatement()) {
                        h.executeUpdate("UPDATE jd_items SET qty = qty WHERE id = 1");
                    }
                    // setQueryTimeout cancels (CancelRequest) a statement still waiting for the row lock.
                    try (Statement s = c.createStatement()) {
                        s.setQueryTimeout(1);
                        s.executeUpdate("UPDATE jd_items SET qty = 0 WHERE id = 1");
                        System.out.println("not cancelled");
                    } catch (SQLException e) {
                        System.out.println(e.getSQLState() + " " + firstLine(e.getMessage()));
                    }
                    holder.rollback();
                }
                query(c, "SELECT qty FROM jd_items WHERE id = 1");
                try (Statement s = c.createStatement()) {
                    s.execute("DROP TABLE IF EXISTS jd_nothing");
                    SQLWarning w = s.getWarnings();
                    System.out.println(w == null ? "no warning" : w.getSQLState() + " " + w.getMessage());
                }
            });
            section("errors", () -> {
                try (Statement s = c.createStatement()) {
                    for (String sql : new String[] {"INSERT INTO jd_items (id, name) VALUES (1, 'dup')", "SELEC 1",
                            "SELECT * FROM jd_missing", "SELECT nope FROM jd_items", "SELECT 1/0",
                            "INSERT INTO jd_child VALUES (1, 12345, 'x')", "INSERT INTO jd_items (name) VALUES (NULL)",
                            "SELECT 'abc'::int"}) {
                        try {
                            s.execute(sql);
                            System.out.println("no error: " + sql);
                        } catch (SQLException e) {
                            System.out.println(e.getSQLState() + " " + firstLine(e.getMessage()));
                            if (e instanceof org.postgresql.util.PSQLException) {
                                org.postgresql.util.ServerErrorMessage m = ((org.postgresql.util.PSQLException) e).getServerErrorMessage();
                                if (m != null) {
                                    System.out.println("  severity=" + m.getSeverity() + " position=" + m.getPosition()
                                            + " detail=" + m.getDetail() + " table=" + m.getTable() + " constraint=" + m.getConstraint());
                                }
                            }
                        }
                    }
                }
                // The same in a prepared statement, and the connection stays usable.
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO jd_items (id, name) VALUES (?, ?)")) {
                    ps.setInt(1, 2);
                    ps.setString(2, "dup2");
                    ps.executeUpdate();
                } catch (SQLException e) {
                    System.out.println(e.getSQLState() + " " + firstLine(e.getMessage()));
                }
                query(c, "SELECT 'still usable'");
            });
            metadata(c);
            section("result set metadata", () -> {
                try (PreparedStatement ps = c.prepareStatement("SELECT id, name, price, qty, note, price * 2 AS dbl, 'lit' AS l, "
                        + "count(*) OVER () AS cnt FROM jd_items WHERE id = ?")) {
                    ps.setInt(1, 1);
                    try (ResultSet rs = ps.executeQuery()) {
                        printMeta(rs.getMetaData());
                    }
                }
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT * FROM jd_types LIMIT 0")) {
                    printMeta(rs.getMetaData());
                }
                // Through a derived table and a WITH query: the base table's columns still.
                try (Statement s = c.createStatement();
                        ResultSet rs = s.executeQuery("WITH w AS (SELECT id, name FROM jd_items) SELECT d.id, d.n2, w.name "
                                + "FROM (SELECT id, note || 'x' AS n2 FROM jd_items) d JOIN w ON w.id = d.id LIMIT 0")) {
                    printMeta(rs.getMetaData());
                }
                // Metadata of a prepared statement before it runs (Parse/Describe).
                try (PreparedStatement ps = c.prepareStatement("SELECT i2, n, ts FROM jd_types WHERE id = ?")) {
                    printMeta(ps.getMetaData());
                    ParameterMetaData pm = ps.getParameterMetaData();
                    System.out.println("params " + pm.getParameterCount() + " " + pm.getParameterTypeName(1));
                }
            });
            section("copy", () -> {
                CopyManager cm = c.unwrap(PGConnection.class).getCopyAPI();
                try (Statement s = c.createStatement()) {
                    s.execute("CREATE TABLE jd_copy (id int PRIMARY KEY, name text, amount numeric)");
                }
                long in = cm.copyIn("COPY jd_copy FROM STDIN", new java.io.StringReader("1\tone\t1.5\n2\t\\N\t-2\n3\tthree\\ttab\t0\n"));
                System.out.println("in " + in);
                long inCsv = cm.copyIn("COPY jd_copy (id, name) FROM STDIN WITH (FORMAT csv, HEADER true)",
                        new java.io.StringReader("id,name\n4,\"quoted, comma\"\n5,\n"));
                System.out.println("in csv " + inCsv);
                java.io.StringWriter out = new java.io.StringWriter();
                long n = cm.copyOut("COPY (SELECT * FROM jd_copy ORDER BY id) TO STDOUT", out);
                System.out.println("out " + n);
                System.out.print(out);
                out = new java.io.StringWriter();
                cm.copyOut("COPY (SELECT id, name FROM jd_copy ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)", out);
                System.out.print(out);
                try {
                    cm.copyIn("COPY jd_copy FROM STDIN", new java.io.StringReader("1\tdup\t0\n"));
                } catch (SQLException e) {
                    System.out.println(e.getSQLState() + " " + firstLine(e.getMessage()));
                }
                try {
                    cm.copyIn("COPY jd_copy FROM STDIN", new java.io.StringReader("x\ty\tz\n"));
                } catch (SQLException e) {
                    System.out.println(e.getSQLState() + " " + firstLine(e.getMessage()));
                }
                query(c, "SELECT count(*) FROM jd_copy");
            });
        }
        System.out.println("done");
    }

    static void printMeta(ResultSetMetaData md) throws SQLException {
        for (int i = 1; i <= md.getColumnCount(); i++) {
            System.out.println(md.getColumnName(i) + "|" + md.getColumnLabel(i) + "|" + md.getColumnType(i) + "|"
                    + md.getColumnTypeName(i) + "|" + md.getColumnClassName(i) + "|" + md.isNullable(i) + "|"
                    + md.getPrecision(i) + "|" + md.getScale(i) + "|" + md.getColumnDisplaySize(i) + "|"
                    + md.isAutoIncrement(i) + "|" + md.isSigned(i) + "|" + md.getTableName(i) + "|"
                    + md.getSchemaName(i) + "|" + md.isCaseSensitive(i));
        }
    }

    /** One row of jd_types, each column read by the getter for its type. */
    static void printTypedRow(ResultSet rs) throws SQLException {
        StringBuilder b = new StringBuilder();
        b.append(rs.getInt("id"));
        short i2 = rs.getShort("i2");
        b.append(" i2=").append(rs.wasNull() ? "null" : i2);
        int i4 = rs.getInt("i4");
        b.append(" i4=").append(rs.wasNull() ? "null" : i4);
        long i8 = rs.getLong("i8");
        b.append(" i8=").append(rs.wasNull() ? "null" : i8);
        float f4 = rs.getFloat("f4");
        b.append(" f4=").append(rs.wasNull() ? "null" : f4);
        double f8 = rs.getDouble("f8");
        b.append(" f8=").append(rs.wasNull() ? "null" : f8);
        b.append(" n=").append(rs.getBigDecimal("n"));
        b.append(" t=").append(rs.getString("t"));
        b.append(" vc=").append(rs.getString("vc"));
        boolean bo = rs.getBoolean("b");
        b.append(" b=").append(rs.wasNull() ? "null" : bo);
        byte[] by = rs.getBytes("by");
        b.append(" by=").append(by == null ? "null" : HexFormat.of().formatHex(by));
        b.append(" d=").append(rs.getDate("d")).append("/").append(rs.getObject("d", java.time.LocalDate.class));
        b.append(" tm=").append(rs.getTime("tm")).append("/").append(rs.getObject("tm", java.time.LocalTime.class));
        b.append(" ts=").append(rs.getTimestamp("ts")).append("/").append(rs.getObject("ts", java.time.LocalDateTime.class));
        b.append(" tz=").append(rs.getTimestamp("tz")).append("/").append(rs.getObject("tz", java.time.OffsetDateTime.class));
        b.append(" iv=").append(rs.getString("iv")).append("/").append(rs.getObject("iv"));
        b.append(" u=").append(rs.getObject("u")).append("/").append(rs.getString("u"));
        b.append(" j=").append(rs.getString("j"));
        b.append(" jb=").append(rs.getString("jb"));
        Array ai = rs.getArray("ai");
        b.append(" ai=").append(ai == null ? "null" : ai.getBaseTypeName() + Arrays.toString((Object[]) ai.getArray()));
        Array at = rs.getArray("at");
        b.append(" at=").append(at == null ? "null" : at.getBaseTypeName() + Arrays.toString((Object[]) at.getArray()));
        b.append(" obj=");
        for (String col : new String[] {"i2", "i8", "f4", "n", "b", "d", "ts", "tz", "u"}) {
            Object o = rs.getObject(col);
            b.append(o == null ? "null" : o.getClass().getSimpleName()).append(',');
        }
        System.out.println(b);
    }

    static void batches(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("DELETE FROM jd_child");
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO jd_child (cid, item_id, label) VALUES (?, ?, ?)")) {
            for (int i = 1; i <= 12; i++) {
                ps.setLong(1, i);
                ps.setInt(2, 1 + i % 3);
                if (i % 4 == 0) ps.setNull(3, Types.VARCHAR);
                else ps.setString(3, "label" + i);
                ps.addBatch();
            }
            System.out.println(Arrays.toString(ps.executeBatch()));
        }
        try (Statement s = c.createStatement()) {
            s.addBatch("UPDATE jd_child SET label = 'u' WHERE cid <= 3");
            s.addBatch("DELETE FROM jd_child WHERE cid = 12");
            s.addBatch("INSERT INTO jd_child VALUES (100, 1, 'x')");
            System.out.println(Arrays.toString(s.executeBatch()));
        }
        // A batch with a failing row: BatchUpdateException names the row's error.
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO jd_child (cid, item_id, label) VALUES (?, ?, ?)")) {
            for (long id : new long[] {200, 201, 1, 202}) {
                ps.setLong(1, id);
                ps.setInt(2, 1);
                ps.setString(3, "b");
                ps.addBatch();
            }
            ps.executeBatch();
            System.out.println("batch with a duplicate went through");
        } catch (BatchUpdateException e) {
            System.out.println(e.getSQLState() + " " + Arrays.toString(e.getUpdateCounts()));
            SQLException next = e.getNextException();
            System.out.println(next == null ? "no next" : next.getSQLState() + " " + firstLine(next.getMessage()));
        }
        query(c, "SELECT cid, item_id, label FROM jd_child ORDER BY cid");
    }

    static void transactions(Connection c) throws SQLException {
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            s.executeUpdate("UPDATE jd_items SET qty = 1000 WHERE id = 1");
            c.rollback();
            query(c, "SELECT qty FROM jd_items WHERE id = 1");
            s.executeUpdate("UPDATE jd_items SET qty = 500 WHERE id = 1");
            c.commit();
            query(c, "SELECT qty FROM jd_items WHERE id = 1");
            s.executeUpdate("UPDATE jd_items SET qty = 1 WHERE id = 1");
            Savepoint sp = c.setSavepoint("before_two");
            s.executeUpdate("UPDATE jd_items SET qty = 2 WHERE id = 1");
            c.rollback(sp);
            query(c, "SELECT qty FROM jd_items WHERE id = 1");
            Savepoint anon = c.setSavepoint();
            s.executeUpdate("UPDATE jd_items SET qty = 3 WHERE id = 1");
            c.releaseSavepoint(anon);
            c.commit();
            query(c, "SELECT qty FROM jd_items WHERE id = 1");
            // An error inside a transaction aborts it until rollback.
            try {
                s.execute("SELECT * FROM jd_missing");
            } catch (SQLException e) {
                System.out.println(e.getSQLState());
            }
            try {
                s.execute("SELECT 1");
            } catch (SQLException e) {
                System.out.println(e.getSQLState() + " " + firstLine(e.getMessage()));
            }
            c.rollback();
            // A savepoint taken before an error lets the transaction go on.
            s.executeUpdate("UPDATE jd_items SET qty = 4 WHERE id = 1");
            Savepoint guard = c.setSavepoint("guard");
            try {
                s.execute("INSERT INTO jd_items (id, name) VALUES (1, 'dup')");
            } catch (SQLException e) {
                System.out.println(e.getSQLState());
                c.rollback(guard);
            }
            c.commit();
            query(c, "SELECT qty FROM jd_items WHERE id = 1");
            // The isolation level can change only between transactions.
            c.commit();
            for (int level : new int[] {Connection.TRANSACTION_SERIALIZABLE, Connection.TRANSACTION_REPEATABLE_READ,
                    Connection.TRANSACTION_READ_COMMITTED, Connection.TRANSACTION_READ_UNCOMMITTED}) {
                c.setTransactionIsolation(level);
                System.out.print(c.getTransactionIsolation() + " ");
                query(c, "SHOW transaction_isolation");
                c.commit();
            }
            c.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
        } finally {
            c.setAutoCommit(true);
        }
    }

    /** The DatabaseMetaData calls tools make, each its own section. */
    static void metadata(Connection c) throws SQLException {
        DatabaseMetaData md = c.getMetaData();
        section("metadata", () -> {
            System.out.println(md.getDatabaseProductName() + " " + md.getDatabaseMajorVersion() + " "
                    + md.getDatabaseProductVersion().replaceAll("^(\\d+)\\..*", "$1.x"));
            System.out.println(md.getIdentifierQuoteString() + " " + md.supportsTransactions() + " " + md.supportsSavepoints()
                    + " " + md.getDefaultTransactionIsolation() + " " + md.getUserName());
        });
        section("metadata getSchemas", () -> {
            printColumns(md.getSchemas(), "TABLE_SCHEM", "TABLE_CATALOG");
        });
        section("metadata getCatalogs", () -> {
            printColumns(md.getCatalogs(), "TABLE_CAT");
        });
        section("metadata getTableTypes", () -> {
            try (ResultSet rs = md.getTableTypes()) {
                List<String> types = new ArrayList<>();
                while (rs.next()) types.add(rs.getString(1));
                System.out.println(types);
            }
        });
        section("metadata getTables", () -> {
            printColumns(md.getTables(null, "public", "jd_%", new String[] {"TABLE"}), "TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME",
                    "TABLE_TYPE", "REMARKS");
            printColumns(md.getTables(null, null, "jd_items", null), "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE");
        });
        section("metadata getColumns", () -> {
            printColumns(md.getColumns(null, "public", "jd_items", null), "TABLE_NAME", "COLUMN_NAME", "DATA_TYPE", "TYPE_NAME",
                    "COLUMN_SIZE", "DECIMAL_DIGITS", "NUM_PREC_RADIX", "NULLABLE", "REMARKS", "COLUMN_DEF", "CHAR_OCTET_LENGTH",
                    "ORDINAL_POSITION", "IS_NULLABLE", "IS_AUTOINCREMENT", "IS_GENERATEDCOLUMN");
            printColumns(md.getColumns(null, "public", "jd_types", "%"), "COLUMN_NAME", "DATA_TYPE", "TYPE_NAME", "COLUMN_SIZE",
                    "DECIMAL_DIGITS", "NULLABLE", "ORDINAL_POSITION");
        });
        section("metadata getPrimaryKeys", () -> {
            printColumns(md.getPrimaryKeys(null, "public", "jd_items"), "TABLE_NAME", "COLUMN_NAME", "KEY_SEQ", "PK_NAME");
            printColumns(md.getPrimaryKeys(null, null, "jd_child"), "TABLE_NAME", "COLUMN_NAME", "KEY_SEQ", "PK_NAME");
        });
        section("metadata getBestRowIdentifier", () -> {
            printColumns(md.getBestRowIdentifier(null, "public", "jd_child", DatabaseMetaData.bestRowSession, true), "SCOPE",
                    "COLUMN_NAME", "DATA_TYPE", "TYPE_NAME", "COLUMN_SIZE", "DECIMAL_DIGITS", "PSEUDO_COLUMN");
        });
        section("metadata getImportedKeys", () -> {
            printColumns(md.getImportedKeys(null, "public", "jd_child"), "PKTABLE_NAME", "PKCOLUMN_NAME", "FKTABLE_NAME",
                    "FKCOLUMN_NAME", "KEY_SEQ", "UPDATE_RULE", "DELETE_RULE", "FK_NAME", "PK_NAME", "DEFERRABILITY");
        });
        section("metadata getExportedKeys", () -> {
            printColumns(md.getExportedKeys(null, "public", "jd_items"), "PKTABLE_NAME", "FKTABLE_NAME", "FKCOLUMN_NAME", "FK_NAME");
        });
        section("metadata getIndexInfo", () -> {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE INDEX jd_child_item_label ON jd_child (item_id DESC, label NULLS FIRST)");
            }
            printColumns(md.getIndexInfo(null, "public", "jd_child", false, false), "TABLE_NAME", "NON_UNIQUE", "INDEX_NAME",
                    "TYPE", "ORDINAL_POSITION", "COLUMN_NAME", "ASC_OR_DESC", "FILTER_CONDITION");
            printColumns(md.getIndexInfo(null, "public", "jd_items", true, false), "TABLE_NAME", "NON_UNIQUE", "INDEX_NAME",
                    "ORDINAL_POSITION", "COLUMN_NAME", "ASC_OR_DESC");
        });
        section("metadata getTypeInfo (the types Orbit has)", () -> {
            Set<String> ours = new HashSet<>(Arrays.asList("bool", "bytea", "int8", "int2", "int4", "text", "float4", "float8",
                    "varchar", "bpchar", "date", "time", "timestamp", "timestamptz", "interval", "numeric", "uuid", "json", "jsonb",
                    "_int4", "_text", "oid"));
            try (ResultSet rs = md.getTypeInfo()) {
                List<String> lines = new ArrayList<>();
                while (rs.next()) {
                    if (!ours.contains(rs.getString("TYPE_NAME"))) continue;
                    lines.add(rs.getString("TYPE_NAME") + "|" + rs.getInt("DATA_TYPE") + "|" + rs.getInt("PRECISION") + "|"
                            + rs.getString("LITERAL_PREFIX") + "|" + rs.getInt("NULLABLE") + "|" + rs.getBoolean("CASE_SENSITIVE")
                            + "|" + rs.getInt("SEARCHABLE") + "|" + rs.getBoolean("UNSIGNED_ATTRIBUTE") + "|"
                            + rs.getBoolean("AUTO_INCREMENT"));
                }
                Collections.sort(lines);
                for (String l : lines) System.out.println(l);
            }
        });
    }
}
