//! COPY's sub-protocol (<https://www.postgresql.org/docs/15/protocol-flow.html#PROTOCOL-COPY>):
//! COPY ... FROM STDIN answers CopyInResponse and reads CopyData until CopyDone (or CopyFail),
//! turning the data into rows as it arrives ([`orbit_query::copy::CopyIn`]) and inserting them
//! a batch at a time into the transaction's write set (so the reader holds one CopyData
//! message and one batch; the write set holds the COPY's rows until COMMIT, see below);
//! COPY ... TO STDOUT answers CopyOutResponse, one CopyData per row and CopyDone.
//! FORMAT binary is PostgreSQL's binary COPY format ([`orbit_query::copy::binary`]), with the
//! overall and every column's format code 1 in the responses.
//! A child of `conn` (it reads and writes the connection's buffers).
//!
//! An error ends the COPY at once with ErrorResponse; CopyData/CopyDone/CopyFail the client
//! still sends are then dropped by the query loop (simple protocol) or skipped up to Sync
//! (extended), as in PostgreSQL.
//!
//! Inside a transaction (BEGIN ... COMMIT, or a multi-statement Query) the rows go into that
//! transaction, atomic with it. Outside one, the COPY is a transaction of its own, as in
//! PostgreSQL: an error on any row (or a crash before CopyDone's reply) leaves none of its
//! rows, and the reply comes once all of them are durable (one group commit for the COPY, not
//! one per batch). Either way the rows wait in the transaction's write set, bounded by
//! `orbit_query::txn::MAX_TXN_BYTES` (54000 past it).

use super::{new_txn, own_txn_ended, put, Conn, WRITE_FLUSH_BYTES};
use bytes::Bytes;
use orbit_query::copy::{binary, encode_header, encode_row, CopyIn, CopyPlan, CopySource, Header};
use orbit_query::error::code;
use orbit_query::{SqlError, Txn};
use pgwire::messages::copy::{CopyData, CopyDone, CopyInResponse, CopyOutResponse};
use pgwire::messages::PgWireFrontendMessage as F;

/// Rows inserted per batch.
const BATCH_ROWS: usize = 1000;

/// Runs a COPY on the connection; the command tag (`COPY n`) or the error to report.
pub(super) async fn run(c: &mut Conn, plan: &CopyPlan) -> Result<String, SqlError> {
    if plan.to {
        return copy_out(c, plan).await;
    }
    let r = copy_in(c, plan).await;
    // The notices its triggers raised, also when it then failed.
    let pid = c.activity.borrow().pid;
    super::send_notices(c, &orbit_query::plpgsql::take_notices(pid));
    r
}

fn lost(e: std::io::Error) -> SqlError {
    SqlError::new(code::CONNECTION_EXCEPTION, format!("connection lost during COPY: {e}"))
}

async fn copy_in(c: &mut Conn, plan: &CopyPlan) -> Result<String, SqlError> {
    let CopySource::Table { table, columns } = &plan.source else {
        return Err(SqlError::internal("COPY FROM a query"));
    };
    let width = plan.width() as i16;
    let format = plan.options.binary as i8;
    put(&mut c.out, CopyInResponse::new(format, width, vec![format as i16; plan.width()]));
    c.flush().await.map_err(lost)?;
    let mut reader = CopyIn::new(table.clone(), columns.clone(), plan.options.clone());
    reader.style = orbit_query::types::TextStyle::of_settings(&c.settings);
    if c.txn.is_some() {
        return read_in(c, None, &mut reader).await;
    }
    // A COPY outside a transaction block is one transaction: all its rows or none.
    let mut t = new_txn(c);
    t.settings = c.settings.clone();
    t.alone = true;
    match read_in(c, Some(&mut t), &mut reader).await {
        Ok(tag) => {
            let name = reader.table().name.clone();
            t.commit()
                .await
                .map_err(|e| if e.context_text().is_some() { e } else { e.context(format!("COPY {name}")) })?;
            Ok(tag)
        }
        Err(e) => {
            t.rollback().await;
            Err(e)
        }
    }
}

/// Reads CopyData until CopyDone, inserting the rows a batch at a time into `own` (the COPY's
/// own transaction) or else the connection's.
async fn read_in(c: &mut Conn, mut own: Option<&mut Txn>, reader: &mut CopyIn) -> Result<String, SqlError> {
    statement_triggers(c, own.as_deref_mut(), reader, true).await?;
    loop {
        let (t, msg) = c.message().await.map_err(lost)?;
        match super::decode(msg) {
            Some(F::CopyData(d)) => {
                reader.feed(&d.data);
                loop {
                    reader.read_rows(BATCH_ROWS)?;
                    if reader.pending() < BATCH_ROWS {
                        break;
                    }
                    insert_batch(c, own.as_deref_mut(), reader).await?;
                }
            }
            Some(F::CopyDone(_)) => {
                loop {
                    reader.read_rows(BATCH_ROWS)?;
                    if reader.pending() < BATCH_ROWS {
                        break;
                    }
                    insert_batch(c, own.as_deref_mut(), reader).await?;
                }
                reader.finish()?;
                insert_batch(c, own.as_deref_mut(), reader).await?;
                statement_triggers(c, own.as_deref_mut(), reader, false).await?;
                return Ok(format!("COPY {}", reader.count));
            }
            Some(F::CopyFail(f)) => {
                return Err(SqlError::new(code::QUERY_CANCELED, format!("COPY from stdin failed: {}", f.message)));
            }
            // Flush and Sync are ignored while copying in (the protocol says so).
            Some(F::Flush(_)) | Some(F::Sync(_)) => {}
            _ => {
                return Err(SqlError::new(
                    code::PROTOCOL_VIOLATION,
                    format!("unexpected message type 0x{t:02X} during COPY from stdin"),
                ))
            }
        }
    }
}

/// The table's statement-level INSERT triggers, before the first row or after the last.
async fn statement_triggers(
    c: &mut Conn,
    own: Option<&mut Txn>,
    reader: &CopyIn,
    before: bool,
) -> Result<(), SqlError> {
    let table = reader.table().clone();
    let t = match own {
        Some(t) => t,
        None => c.txn.as_mut().ok_or_else(|| SqlError::internal("COPY without a transaction"))?,
    };
    orbit_query::exec::copy_statement_triggers(t, &table, before).await
}

/// Inserts the rows read so far, through INSERT's path, into `own` or else the connection's
/// transaction.
async fn insert_batch(c: &mut Conn, own: Option<&mut Txn>, reader: &mut CopyIn) -> Result<(), SqlError> {
    let (rows, lines) = reader.take_batch();
    if rows.is_empty() {
        return Ok(());
    }
    let table = reader.table().clone();
    let defaults = reader.default_columns();
    // PostgreSQL names the line of the row that failed (`COPY t, line 3`).
    let context = |(e, at): (SqlError, Option<usize>)| match (e.context_text().is_some(), at.and_then(|i| lines.get(i)))
    {
        (true, _) => e,
        (false, Some(line)) => e.context(format!("COPY {}, line {line}", table.name)),
        (false, None) => e.context(format!("COPY {}", table.name)),
    };
    let t = match own {
        Some(t) => t,
        None => c.txn.as_mut().ok_or_else(|| SqlError::internal("COPY without a transaction"))?,
    };
    let read = rows.len();
    let inserted = orbit_query::exec::copy_insert(t, &table, rows, &defaults).await.map_err(context)?;
    // Rows a BEFORE ROW trigger skipped are not counted.
    reader.count -= (read - inserted) as u64;
    Ok(())
}

async fn copy_out(c: &mut Conn, plan: &CopyPlan) -> Result<String, SqlError> {
    if plan.options.binary {
        return copy_out_binary(c, plan).await;
    }
    // The session's parameters: the text of a timestamptz is local time in its TimeZone.
    let settings = c.settings.clone();
    let rows = match c.txn.as_mut() {
        Some(t) => {
            t.settings = settings;
            orbit_query::exec::copy_out(t, plan).await?
        }
        None => {
            let mut t = new_txn(c);
            t.settings = settings;
            t.alone = true;
            let r = orbit_query::exec::copy_out(&mut t, plan).await;
            own_txn_ended(t, r).await?
        }
    };
    put(&mut c.out, CopyOutResponse::new(0, plan.width() as i16, vec![0; plan.width()]));
    let mut line = Vec::new();
    if plan.options.header == Header::Yes {
        encode_header(&mut line, &plan.names, &plan.options);
        put(&mut c.out, CopyData::new(Bytes::from(std::mem::take(&mut line))));
    }
    for row in &rows {
        encode_row(&mut line, row, &plan.options);
        put(&mut c.out, CopyData::new(Bytes::from(std::mem::take(&mut line))));
        if c.out.len() >= WRITE_FLUSH_BYTES {
            c.flush().await.map_err(lost)?;
        }
    }
    put(&mut c.out, CopyDone::new());
    Ok(format!("COPY {}", rows.len()))
}

/// COPY TO in the binary format: the header in the first CopyData, one CopyData per tuple,
/// the trailer in the last.
async fn copy_out_binary(c: &mut Conn, plan: &CopyPlan) -> Result<String, SqlError> {
    let rows = match c.txn.as_mut() {
        Some(t) => orbit_query::exec::copy_out_values(t, plan).await?,
        None => {
            let mut t = new_txn(c);
            t.settings = c.settings.clone();
            t.alone = true;
            let r = orbit_query::exec::copy_out_values(&mut t, plan).await;
            own_txn_ended(t, r).await?
        }
    };
    put(&mut c.out, CopyOutResponse::new(1, plan.width() as i16, vec![1; plan.width()]));
    let mut data = Vec::new();
    binary::encode_header(&mut data);
    let types = plan.types();
    for row in &rows {
        binary::encode_row(&mut data, row, &types);
        put(&mut c.out, CopyData::new(Bytes::from(std::mem::take(&mut data))));
        if c.out.len() >= WRITE_FLUSH_BYTES {
            c.flush().await.map_err(lost)?;
        }
    }
    binary::encode_trailer(&mut data);
    put(&mut c.out, CopyData::new(Bytes::from(data)));
    put(&mut c.out, CopyDone::new());
    Ok(format!("COPY {}", rows.len()))
}
