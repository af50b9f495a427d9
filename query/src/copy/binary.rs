//! COPY's binary format (<https://www.postgresql.org/docs/15/sql-copy.html#id-1.9.3.55.9.4>):
//! the 11-byte signature, a 32-bit flags field, a header extension (its length, then bytes
//! skipped), then per tuple a 16-bit field count and per field a 32-bit length (-1: NULL) and
//! the value in its type's binary send/recv form ([`crate::types::from_binary`] /
//! [`crate::types::to_binary`], the extended protocol's), and a trailer of -1. Read with
//! PostgreSQL's errors (`CopyReadBinaryTupleData` and friends in copyfromparse.c).

use super::{bad_format, CopyIn, MAX_LINE_BYTES};
use crate::error::{code, Result, SqlError};
use crate::types;
use orbit_engine::table::{Datum, Row, SqlType};

/// `PGCOPY\n\377\r\n\0`.
pub const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// Header bit 16: the data has OIDs (no longer supported by PostgreSQL either).
const FLAG_OIDS: u32 = 1 << 16;

/// The header COPY TO writes: signature, no flags, no extension.
pub fn encode_header(out: &mut Vec<u8>) {
    out.extend_from_slice(SIGNATURE);
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
}

/// One tuple of COPY TO: the field count, then each value's length and binary form (`types`:
/// the columns' types where known, for the forms that depend on them, `"char"`'s).
pub fn encode_row(out: &mut Vec<u8>, values: &[Datum], types: &[SqlType]) {
    out.extend_from_slice(&(values.len() as i16).to_be_bytes());
    for (i, v) in values.iter().enumerate() {
        let form = match types.get(i) {
            Some(t) => types::to_binary_as(*t, v),
            None => types::to_binary(v),
        };
        match form {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                out.extend_from_slice(&b);
            }
        }
    }
}

/// The trailer: a field count of -1.
pub fn encode_trailer(out: &mut Vec<u8>) {
    out.extend_from_slice(&(-1i16).to_be_bytes());
}

fn i16_at(b: &[u8], at: usize) -> Option<i16> {
    Some(i16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Where a tuple that starts in the buffer ends, or the column it runs out of data in.
enum Tuple {
    /// The whole tuple is buffered: its end.
    Complete(usize),
    /// Data ends while reading this column (its index in COPY's list).
    ShortIn(usize),
}

impl CopyIn {
    fn binary_context(&self, column: Option<usize>) -> String {
        match column {
            Some(k) => {
                format!(
                    "COPY {}, line {}, column {}",
                    self.table.name, self.line, self.table.columns[self.columns[k]].name
                )
            }
            None => format!("COPY {}, line {}", self.table.name, self.line),
        }
    }

    /// Reads the header once it is buffered whole: Ok(false) while more bytes are needed
    /// (`at_end`: none will come, which is an error).
    fn binary_header(&mut self, at_end: bool) -> Result<bool> {
        let b = &self.buf[self.pos..];
        let short = |m: &str| if at_end { Err(bad_format(m.to_string())) } else { Ok(false) };
        if b.len() < SIGNATURE.len() {
            if at_end || !SIGNATURE.starts_with(b) {
                return Err(bad_format("COPY file signature not recognized"));
            }
            return Ok(false);
        }
        if &b[..SIGNATURE.len()] != SIGNATURE {
            return Err(bad_format("COPY file signature not recognized"));
        }
        let Some(flags) = i32_at(b, 11) else { return short("invalid COPY file header (missing flags)") };
        let flags = flags as u32;
        if flags & FLAG_OIDS != 0 {
            return Err(bad_format("invalid COPY file header (WITH OIDS)"));
        }
        if flags & 0xffff_0000 != 0 {
            return Err(bad_format("unrecognized critical flags in COPY file header"));
        }
        let Some(ext) = i32_at(b, 15) else { return short("invalid COPY file header (missing length)") };
        if ext < 0 {
            return Err(bad_format("invalid COPY file header (missing length)"));
        }
        let end = 19 + ext as usize;
        if b.len() < end {
            if ext as usize > MAX_LINE_BYTES {
                return Err(bad_format("invalid COPY file header (wrong length)"));
            }
            return short("invalid COPY file header (wrong length)");
        }
        self.pos += end;
        self.header_pending = false;
        Ok(true)
    }

    /// Walks the tuple starting at `pos` (its field count already checked) without reading it.
    fn binary_extent(&self, fields: usize) -> Result<Tuple> {
        let b = &self.buf;
        let mut at = self.pos + 2;
        for k in 0..fields {
            let Some(len) = i32_at(b, at) else { return Ok(Tuple::ShortIn(k)) };
            at += 4;
            if len < -1 {
                return Err(bad_format("invalid field size").context(self.binary_context(Some(k))));
            }
            if len > 0 {
                at += len as usize;
                if at > b.len() {
                    return Ok(Tuple::ShortIn(k));
                }
            }
        }
        Ok(Tuple::Complete(at))
    }

    /// Reads whole tuples into rows until `max` are pending or no whole tuple is left
    /// (`at_end`: CopyDone came, so a partial tuple is an error).
    pub(super) fn read_binary(&mut self, max: usize, at_end: bool) -> Result<()> {
        if self.header_pending && !self.binary_header(at_end)? {
            return Ok(());
        }
        while self.rows.len() < max {
            if self.ended {
                if self.pos < self.buf.len() {
                    return Err(bad_format("received copy data after EOF marker").context(self.binary_context(None)));
                }
                return Ok(());
            }
            // Fewer than two bytes left: the end of the data (at CopyDone), as in PostgreSQL.
            let Some(count) = i16_at(&self.buf, self.pos) else { break };
            self.line += 1;
            if count == -1 {
                self.ended = true;
                self.pos += 2;
                continue;
            }
            let want = self.columns.len();
            if count as i64 != want as i64 {
                return Err(bad_format(format!("row field count is {count}, expected {want}"))
                    .context(self.binary_context(None)));
            }
            let end = match self.binary_extent(want)? {
                Tuple::Complete(end) => end,
                Tuple::ShortIn(k) if at_end => {
                    // PostgreSQL reads field by field: the whole fields before the end are
                    // converted (and may fail) first.
                    self.binary_values(k)?;
                    return Err(bad_format("unexpected EOF in COPY data").context(self.binary_context(Some(k))));
                }
                Tuple::ShortIn(_) => {
                    // Wait for the rest of the tuple; it is counted again when it is read.
                    self.line -= 1;
                    if self.buf.len() - self.pos > MAX_LINE_BYTES {
                        return Err(SqlError::new(code::PROGRAM_LIMIT_EXCEEDED, "out of memory")
                            .detail(format!("Cannot enlarge string buffer beyond {MAX_LINE_BYTES} bytes."))
                            .context(self.binary_context(None)));
                    }
                    break;
                }
            };
            let row = self.binary_row(want)?;
            self.pos = end;
            self.rows.push(row);
            self.lines.push(self.line);
            self.count += 1;
        }
        Ok(())
    }

    /// The row of the buffered tuple at `pos` (whole, with `fields` fields).
    fn binary_row(&self, fields: usize) -> Result<Row> {
        let row = self.binary_values(fields)?;
        let mut probe = row.clone();
        for &i in self.filled_on_insert() {
            probe[i] = Datum::Bool(true);
        }
        crate::exec::check_row_except(&self.table, &probe, self.filled_on_insert())
            .map_err(|e| e.context(self.binary_context(None)))?;
        Ok(row)
    }

    /// A row with the first `fields` fields of the tuple at `pos` read into it (they are
    /// buffered whole), the other columns at their defaults.
    fn binary_values(&self, fields: usize) -> Result<Row> {
        let mut row: Row = self.table.columns.iter().map(|c| c.default.clone()).collect();
        let mut at = self.pos + 2;
        for k in 0..fields {
            let len = i32_at(&self.buf, at).unwrap_or(-1);
            at += 4;
            let value = if len < 0 {
                Datum::Null
            } else {
                let bytes = &self.buf[at..at + len as usize];
                at += len as usize;
                let ty = self.types[k];
                types::from_binary(ty, bytes, k + 1).map_err(|e| {
                    // The recv functions' words: too few bytes for a fixed-width type, or bytes
                    // left over.
                    let e = match e.code {
                        code::INVALID_BINARY_REPRESENTATION if ty.size() > 0 && (len as i64) < ty.size() as i64 => {
                            SqlError::new(code::PROTOCOL_VIOLATION, "insufficient data left in message")
                        }
                        code::INVALID_BINARY_REPRESENTATION => {
                            SqlError::new(code::INVALID_BINARY_REPRESENTATION, "incorrect binary data format")
                        }
                        _ => e,
                    };
                    e.context(self.binary_context(Some(k)))
                })?
            };
            row[self.columns[k]] = value;
        }
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::CopyOptions;
    use orbit_engine::table::{ColumnDef, SqlType, TableDef};
    use std::sync::Arc;

    fn reader() -> CopyIn {
        let col = |n: &str, ty| ColumnDef::new(n, ty);
        let table = Arc::new(TableDef {
            name: "t".into(),
            columns: vec![col("a", SqlType::Int4), col("b", SqlType::Text)],
            pk: vec![],
            pk_name: String::new(),
            oid: 1,
            ..TableDef::default_empty()
        });
        let mut opts = CopyOptions::text(2);
        opts.binary = true;
        CopyIn::new(table, vec![0, 1], opts)
    }

    fn stream(rows: &[Vec<Datum>]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_header(&mut out);
        for r in rows {
            encode_row(&mut out, r, &[]);
        }
        encode_trailer(&mut out);
        out
    }

    #[test]
    fn reads_what_it_writes_one_byte_at_a_time() {
        let rows = vec![vec![Datum::Int4(1), Datum::Text("x".into())], vec![Datum::Int4(-2), Datum::Null]];
        let data = stream(&rows);
        let mut r = reader();
        let mut got = Vec::new();
        for b in &data {
            r.feed(std::slice::from_ref(b));
            r.read_rows(1).unwrap();
            got.extend(r.take_rows());
        }
        r.finish().unwrap();
        got.extend(r.take_rows());
        assert_eq!(got, rows);
        assert_eq!(r.count, 2);
    }

    #[test]
    fn broken_streams_fail_with_postgresql_errors() {
        let fail = |data: &[u8]| {
            let mut r = reader();
            r.feed(data);
            r.read_rows(100).and_then(|()| r.finish()).unwrap_err()
        };
        assert_eq!(fail(b"PGCOPY\n\xff\r\n\x01").message, "COPY file signature not recognized");
        let mut data = stream(&[vec![Datum::Int4(1), Datum::Text("x".into())]]);
        data.extend_from_slice(b"z");
        let e = fail(&data);
        assert_eq!((e.code, e.message.as_str()), ("22P04", "received copy data after EOF marker"));
        assert_eq!(e.context_text(), Some("COPY t, line 2"));
        let mut data = stream(&[]);
        data.truncate(19);
        data.extend_from_slice(&2i16.to_be_bytes());
        data.extend_from_slice(&4i32.to_be_bytes());
        data.extend_from_slice(&[0, 0, 0]);
        let e = fail(&data);
        assert_eq!(e.message, "unexpected EOF in COPY data");
        assert_eq!(e.context_text(), Some("COPY t, line 1, column a"));
    }
}
