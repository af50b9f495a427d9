// An ordinary node-postgres (`pg` 8) program, run by tests/tests/node_pg.rs against Orbit and
// against a real PostgreSQL 15; the test compares the two outputs line by line.
//
// Usage: TZ=UTC node tests/node/pg_app.js PORT
//
// Every section prints what the driver returned, as pg parsed it, in a normalized text form (no
// pids, secret keys or timestamps that differ between servers). A section that throws prints
// the error's SQLSTATE and message and the program goes on, so one difference does not hide
// the others.
'use strict'

const pg = require('pg')

const port = Number(process.argv[2])
const config = { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' }

function show(v) {
  if (v === null || v === undefined) return String(v)
  if (Buffer.isBuffer(v)) return 'Buffer<' + v.toString('hex') + '>'
  if (v instanceof Date) return 'Date<' + (isNaN(v.getTime()) ? 'invalid' : v.toISOString()) + '>'
  if (Array.isArray(v)) return '[' + v.map(show).join(',') + ']'
  if (typeof v === 'object') {
    // postgres-interval objects and parsed json alike: their own fields, in order.
    const kind = v.constructor && v.constructor.name !== 'Object' ? v.constructor.name : ''
    return kind + '{' + Object.keys(v).map((k) => k + ':' + show(v[k])).join(',') + '}'
  }
  return typeof v + ':' + String(v)
}

function printRows(res) {
  for (const row of res.rows) {
    if (Array.isArray(row)) console.log(row.map(show).join('|'))
    else console.log(Object.keys(row).map((k) => k + '=' + show(row[k])).join('|'))
  }
}

function printError(e) {
  if (e && e.code) {
    console.log(`ERROR ${e.code} ${e.message} position=${e.position} detail=${e.detail} ` +
      `table=${e.table} column=${e.column} constraint=${e.constraint} severity=${e.severity}`)
  } else {
    console.log('EXCEPTION ' + (e && e.message))
  }
}

async function section(name, body) {
  console.log('== ' + name)
  try {
    await body()
  } catch (e) {
    printError(e)
  }
}

async function main() {
  const c = new pg.Client(config)
  await c.connect()

  await section('simple queries', async () => {
    await c.query('DROP TABLE IF EXISTS np_child; DROP TABLE IF EXISTS np_items; DROP TABLE IF EXISTS np_types')
    const r = await c.query(
      'CREATE TABLE np_items (id int PRIMARY KEY, name text NOT NULL UNIQUE, price numeric(10,2), qty int DEFAULT 0)')
    console.log(r.command, r.rowCount)
    const ins = await c.query("INSERT INTO np_items VALUES (1, 'apple', 1.25, 10), (2, 'pear', 2.5, 3), (3, 'plum', NULL, 0)")
    console.log(ins.command, ins.rowCount)
    const sel = await c.query('SELECT * FROM np_items ORDER BY id')
    console.log(sel.command, sel.rowCount, sel.fields.map((f) => f.name + ':' + f.format).join(','))
    printRows(sel)
    // Several statements in one simple query: one result each.
    const many = await c.query("SELECT 1 AS a; UPDATE np_items SET qty = qty + 1 WHERE id < 3; SELECT 'x' AS b")
    for (const res of many) {
      console.log(res.command, res.rowCount)
      printRows(res)
    }
    const del = await c.query('DELETE FROM np_items WHERE id = 99')
    console.log(del.command, del.rowCount)
  })

  await section('parameterized queries', async () => {
    let r = await c.query('SELECT name, qty FROM np_items WHERE id = $1', [2])
    printRows(r)
    r = await c.query('SELECT $1::int + $2::int AS sum, $3::text AS t, $4::bool AS b, $5::numeric * 2 AS n',
      [40, '2', 'héllo', true, '1.5'])
    printRows(r)
    r = await c.query('UPDATE np_items SET price = $1 WHERE name = $2 RETURNING id, price', ['9.99', 'plum'])
    console.log(r.command, r.rowCount)
    printRows(r)
    r = await c.query('SELECT count(*) FROM np_items WHERE price > $1 OR price IS NULL', [2])
    printRows(r)
    r = await c.query('SELECT $1::text IS NULL AS is_null, $2::int[] AS arr, $3::jsonb AS doc',
      [null, [1, 2, 3], JSON.stringify({ k: [true, null] })])
    printRows(r)
    r = await c.query('INSERT INTO np_items (id, name) VALUES ($1, $2)', [4, 'fig'])
    console.log(r.command, r.rowCount)
  })

  await section('named prepared statements', async () => {
    for (let i = 1; i <= 4; i++) {
      const r = await c.query({ name: 'by-id', text: 'SELECT id, name, qty * $2 AS q FROM np_items WHERE id = $1', values: [i, i] })
      printRows(r)
    }
    for (let i = 0; i < 3; i++) {
      const r = await c.query({ name: 'bump', text: 'UPDATE np_items SET qty = qty + $1 WHERE id = $2', values: [1, 1] })
      console.log(r.command, r.rowCount)
    }
    const r = await c.query({ name: 'by-id', text: 'SELECT id, name, qty * $2 AS q FROM np_items WHERE id = $1', values: [1, 10] })
    printRows(r)
    // The prepared statement is listed by the server.
    const ps = await c.query("SELECT name, statement, parameter_types::text FROM pg_prepared_statements ORDER BY name")
    printRows(ps)
  })

  await section('types as pg parses them', async () => {
    await c.query('CREATE TABLE np_types (id int PRIMARY KEY, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, ' +
      'n numeric(12,4), t text, vc varchar(20), b bool, by bytea, d date, tm time, ts timestamp, tz timestamptz, ' +
      'iv interval, u uuid, j json, jb jsonb, ai int[], at text[], ab bool[], an numeric[])')
    await c.query("INSERT INTO np_types VALUES (1, 12, 123456, 9007199254740993, 1.5, 2.25, 12345.6789, 'hello', 'vc', " +
      "true, '\\x00ff10', '2024-02-29', '13:14:15.5', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.5+02', " +
      "'1 year 2 mons 3 days 04:05:06.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2]}', " +
      "'{\"b\": 1, \"a\": null}', '{1,NULL,3}', '{\"x y\",z,\"q\\\"r\"}', '{t,f}', '{1.5,-2}')")
    await c.query('INSERT INTO np_types (id) VALUES (2)')
    await c.query("INSERT INTO np_types VALUES (3, -32768, -2147483648, -9223372036854775808, 'NaN', '-Infinity', " +
      "-0.0001, '', '', false, '\\x', '0001-01-01', '00:00:00', '1999-12-31 23:59:59', '1970-01-01 00:00:00+00', " +
      "'-1 days -00:00:01', '00000000-0000-0000-0000-000000000000', '[]', '[1, \"x\", {\"k\": true}]', '{}', '{}', " +
      "'{}', '{}')")
    // The simple protocol, then the extended one (text results both).
    const simple = await c.query('SELECT * FROM np_types ORDER BY id')
    console.log(simple.fields.map((f) => f.name + ':' + f.dataTypeSize + ':' + f.format).join(','))
    printRows(simple)
    const ext = await c.query('SELECT * FROM np_types WHERE id = ANY($1) ORDER BY id', [[1, 2, 3]])
    printRows(ext)
    const values = await c.query('SELECT $1::int8 AS i8, $2::bytea AS by, $3::date AS d, $4::timestamptz AS tz, ' +
      '$5::timestamp AS ts, $6::text[] AS at, $7::json AS j, $8::float8 AS f',
      ['123', Buffer.from([0, 1, 254]), '2020-01-31', new Date(Date.UTC(2020, 0, 31, 23, 59, 58, 250)),
        '2020-01-31 08:00:00', ['a', 'b,c', null], { k: 'v' }, 0.1])
    printRows(values)
  })

  await section('rowMode array', async () => {
    const r = await c.query({ text: 'SELECT id, name, price FROM np_items WHERE id <= $1 ORDER BY id', values: [3], rowMode: 'array' })
    console.log(r.fields.map((f) => f.name).join(','))
    printRows(r)
    const s = await c.query({ text: "SELECT 1 AS one, 1 AS one, 'dup' AS one", rowMode: 'array' })
    printRows(s)
  })

  await section('transactions', async () => {
    await c.query('BEGIN')
    await c.query('UPDATE np_items SET qty = 1000 WHERE id = 1')
    await c.query('ROLLBACK')
    printRows(await c.query('SELECT qty FROM np_items WHERE id = 1'))
    await c.query('BEGIN')
    await c.query('UPDATE np_items SET qty = 500 WHERE id = 1')
    await c.query('SAVEPOINT s1')
    await c.query('UPDATE np_items SET qty = 7 WHERE id = 1')
    await c.query('ROLLBACK TO SAVEPOINT s1')
    await c.query('COMMIT')
    printRows(await c.query('SELECT qty FROM np_items WHERE id = 1'))
    // An error aborts the block until ROLLBACK.
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ')
    printRows(await c.query('SHOW transaction_isolation'))
    try {
      await c.query('SELECT * FROM np_missing')
    } catch (e) {
      printError(e)
    }
    try {
      await c.query('SELECT $1::int', [1])
    } catch (e) {
      printError(e)
    }
    const end = await c.query('COMMIT')
    console.log(end.command)
    printRows(await c.query('SELECT qty FROM np_items WHERE id = 1'))
  })

  await section('errors', async () => {
    const cases = [
      ["INSERT INTO np_items VALUES (1, 'dup')", []],
      ['SELEC 1', []],
      ['SELECT * FROM np_missing WHERE x = $1', [1]],
      ['SELECT nope FROM np_items', []],
      ['SELECT 1/$1::int', [0]],
      ['INSERT INTO np_items (id) VALUES ($1)', [77]],
      ['SELECT $1::int', ['abc']],
      ["SELECT 'a' + 1", []],
    ]
    for (const [text, values] of cases) {
      try {
        await c.query(text, values)
        console.log('no error: ' + text)
      } catch (e) {
        printError(e)
      }
    }
    printRows(await c.query("SELECT 'still usable' AS s"))
  })

  await section('pool in parallel', async () => {
    const pool = new pg.Pool({ ...config, max: 4 })
    const jobs = []
    for (let i = 0; i < 24; i++) {
      jobs.push(pool.query('SELECT $1::int * 2 AS v, (SELECT count(*) FROM np_items) AS n', [i]))
    }
    const results = await Promise.all(jobs)
    console.log(results.map((r) => r.rows[0].v + '/' + r.rows[0].n).join(' '))
    // Several clients each in its own transaction, writing different rows at once.
    await Promise.all([10, 11, 12, 13].map(async (id) => {
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        await client.query('INSERT INTO np_items (id, name) VALUES ($1, $2)', [id, 'pooled' + id])
        await client.query('UPDATE np_items SET qty = qty + 1 WHERE id = $1', [id])
        await client.query('COMMIT')
      } finally {
        client.release()
      }
    }))
    printRows(await pool.query('SELECT id, name, qty FROM np_items WHERE id >= 10 ORDER BY id'))
    console.log('total', pool.totalCount <= 4)
    await pool.end()
  })

  await section('cancel and timeouts', async () => {
    // A statement waiting for a row lock another session holds, cancelled three ways.
    const holder = new pg.Client(config)
    await holder.connect()
    await holder.query('BEGIN')
    await holder.query('UPDATE np_items SET qty = qty WHERE id = 2')

    const waiter = new pg.Client(config)
    await waiter.connect()
    const q = waiter.query('UPDATE np_items SET qty = 0 WHERE id = 2')
    const canceller = new pg.Client(config)
    // Wait until the server shows the waiter's statement as running, then cancel it.
    await waitUntilWaiting(c)
    canceller.cancel(waiter, waiter.activeQuery)
    try {
      await q
      console.log('not cancelled')
    } catch (e) {
      printError(e)
    }
    printRows(await waiter.query('SELECT 1 AS after_cancel'))
    await waiter.end()

    const timed = new pg.Client({ ...config, statement_timeout: 300 })
    await timed.connect()
    printRows(await timed.query('SHOW statement_timeout'))
    try {
      await timed.query('UPDATE np_items SET qty = 0 WHERE id = 2')
      console.log('no timeout')
    } catch (e) {
      printError(e)
    }
    await timed.query('SET statement_timeout = 0')
    await timed.end()

    // query_timeout is the client's own: the promise is rejected, the statement goes on.
    const impatient = new pg.Client({ ...config, query_timeout: 300 })
    await impatient.connect()
    const late = impatient.query('UPDATE np_items SET qty = 42 WHERE id = 2')
    try {
      await late
      console.log('no timeout')
    } catch (e) {
      printError(e)
    }
    await holder.query('COMMIT')
    await holder.end()
    printRows(await impatient.query('SELECT qty FROM np_items WHERE id = 2'))
    await impatient.end()
  })

  await c.end()
  console.log('done')
}

/** Polls until some other session waits for a lock (PostgreSQL: pg_locks; Orbit the same). */
async function waitUntilWaiting(c) {
  for (let i = 0; i < 500; i++) {
    const r = await c.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' " +
      "AND query LIKE 'UPDATE np_items SET qty = 0%'")
    if (r.rows[0].n > 0) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error('the waiting statement never showed up in pg_stat_activity')
}

main().catch((e) => {
  console.log('FATAL ' + (e && e.stack))
  process.exit(1)
})
