-- The planner tests' data set (tests/tests/planner.rs): a small orders schema with skew, so
-- that statistics decide join orders. Deterministic: every value is computed from its row
-- number.
CREATE TABLE region (r_id int PRIMARY KEY, r_name text NOT NULL);
CREATE TABLE nation (n_id int PRIMARY KEY, n_name text NOT NULL, n_region int NOT NULL);
CREATE TABLE customer (c_id int PRIMARY KEY, c_name text NOT NULL, c_nation int NOT NULL, c_segment text);
CREATE TABLE orders (o_id int PRIMARY KEY, o_cust int NOT NULL, o_status text NOT NULL, o_total numeric(10,2), o_day date);
CREATE TABLE item (i_order int, i_line int, i_qty int, i_price float8, PRIMARY KEY (i_order, i_line));
CREATE INDEX orders_cust ON orders (o_cust);
INSERT INTO region SELECT i, 'region' || i FROM generate_series(0, 4) AS g(i);
INSERT INTO nation SELECT i, 'nation' || i, i % 5 FROM generate_series(0, 24) AS g(i);
INSERT INTO customer SELECT i, 'cust' || i, i % 25, CASE i % 10 WHEN 0 THEN 'BUILDING' WHEN 1 THEN 'AUTO' ELSE 'HOUSEHOLD' END FROM generate_series(1, 600) AS g(i);
INSERT INTO orders SELECT i, 1 + (i * 7) % 600, CASE WHEN i % 20 = 0 THEN 'F' ELSE 'O' END, (i % 1000) + 0.5, DATE '2024-01-01' + (i % 365) FROM generate_series(1, 3000) AS g(i);
INSERT INTO item SELECT 1 + i / 4, i % 4, 1 + i % 50, (i % 97) * 1.25 FROM generate_series(0, 11999) AS g(i);
CREATE TABLE cust_note (c_id int PRIMARY KEY, note text NOT NULL);
INSERT INTO cust_note SELECT i, 'note' || (i % 13) FROM generate_series(1, 900) AS g(i) WHERE i % 3 <> 0;
-- Payments: most not matched to an order yet (NULL), for a join step whose rows so far mostly find nothing.
CREATE TABLE payment (p_id int PRIMARY KEY, p_order int, p_amount numeric(10,2));
INSERT INTO payment SELECT i, CASE WHEN i % 5 = 0 THEN 1 + (i * 11) % 3000 ELSE NULL END, (i % 500) + 0.25 FROM generate_series(1, 2400) AS g(i);
ANALYZE;
