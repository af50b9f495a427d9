//! COPY's data formats (<https://www.postgresql.org/docs/15/sql-copy.html>): the text format
//! (delimiter, `\N`, backslash escapes) and CSV (QUOTE, ESCAPE, NULL, HEADER, FORCE_*), read
//! ([`CopyIn`]: bytes from CopyData messages in, table rows out, with PostgreSQL's errors and
//! their `COPY t, line n, column c: "..."` CONTEXT) and written ([`encode_row`]); the binary
//! format in [`binary`]. The protocol side (CopyInResponse, CopyData, ...) is the
//! connection's; running the rows in is [`crate::exec::copy_insert`].

use crate::error::{code, Result, SqlError};
use crate::types;
use orbit_engine::table::{Datum, Row, SqlType, TableDef};
use std::sync::Arc;

pub mod binary;

/// The most bytes one line (one row) of COPY data may take: PostgreSQL's limit for a line is
/// its allocation limit, 1 GB - 1; a longer line fails the COPY (54000).
pub const MAX_LINE_BYTES: usize = 0x3fff_fffe;

/// HEADER: none, a line to skip (or write), or a line whose names must match the columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    No,
    Yes,
    Match,
}

/// COPY's options, checked as PostgreSQL's `ProcessCopyOptions` checks them.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyOptions {
    pub csv: bool,
    /// FORMAT binary ([`binary`]): the text options do not apply.
    pub binary: bool,
    pub delimiter: u8,
    pub null: String,
    pub header: Header,
    pub quote: u8,
    pub escape: u8,
    /// Per copied column (in COPY's column order).
    pub force_quote: Vec<bool>,
    pub force_not_null: Vec<bool>,
    pub force_null: Vec<bool>,
    /// FREEZE: accepted; Orbit's rows carry no visibility information to freeze.
    pub freeze: bool,
}

impl CopyOptions {
    pub fn text(columns: usize) -> CopyOptions {
        CopyOptions {
            csv: false,
            binary: false,
            delimiter: b'\t',
            null: "\\N".into(),
            header: Header::No,
            quote: b'"',
            escape: b'"',
            force_quote: vec![false; columns],
            force_not_null: vec![false; columns],
            force_null: vec![false; columns],
            freeze: false,
        }
    }
}

/// Where COPY reads from or writes to.
#[derive(Debug, Clone)]
pub enum CopySource {
    /// A table's columns (indexes into its definition, in COPY's order).
    Table { table: Arc<TableDef>, columns: Vec<usize> },
    /// `COPY (query) TO STDOUT`: a SELECT, or a query with subqueries, WITH or set
    /// operations (`Plan::Select` or `Plan::Query`).
    Query(Box<crate::bind::Plan>),
}

/// A bound COPY ... FROM STDIN or COPY ... TO STDOUT.
#[derive(Debug, Clone)]
pub struct CopyPlan {
    pub source: CopySource,
    /// TO STDOUT (else FROM STDIN).
    pub to: bool,
    /// The copied columns' names (for HEADER).
    pub names: Vec<String>,
    pub options: CopyOptions,
}

impl CopyPlan {
    /// Number of copied columns (the CopyInResponse/CopyOutResponse column count).
    pub fn width(&self) -> usize {
        self.names.len()
    }

    /// The copied columns' types, where the plan knows them (a table's columns).
    pub fn types(&self) -> Vec<SqlType> {
        match &self.source {
            CopySource::Table { table, columns } => columns.iter().map(|&i| table.columns[i].ty).collect(),
            CopySource::Query(_) => Vec::new(),
        }
    }
}

fn bad_format(msg: impl Into<String>) -> SqlError {
    SqlError::new(code::BAD_COPY_FILE_FORMAT, msg)
}

/// How a text-format file ends its lines (PostgreSQL decides from the first line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eol {
    Unknown,
    Nl,
    CrNl,
}

/// Reads COPY FROM STDIN data into rows of a table. Bytes are buffered only up to the end of
/// the current line; whole lines are turned into rows at once, so memory is bounded by one
/// line plus the rows the caller has not taken yet ([`CopyIn::take_rows`]).
pub struct CopyIn {
    table: Arc<TableDef>,
    columns: Vec<usize>,
    types: Vec<SqlType>,
    opts: CopyOptions,
    buf: Vec<u8>,
    /// Where the unread data starts in `buf`.
    pos: usize,
    /// Where scanning for the end of the line resumes in `buf` (and, for CSV, whether that
    /// point is inside quotes).
    scan_from: usize,
    in_quote: bool,
    line: u64,
    eol: Eol,
    header_pending: bool,
    /// `\.` was seen: the rest is ignored.
    ended: bool,
    rows: Vec<Row>,
    /// The line each of `rows` came from.
    lines: Vec<u64>,
    /// Rows read so far (the COPY n tag).
    pub count: u64,
    /// A row before its copied columns are read in: every column's constant DEFAULT.
    template: Row,
    /// The columns left out whose DEFAULT is an expression ([`CopyIn::default_columns`]).
    computed: Vec<usize>,
    /// Those and the generated columns: filled when the rows are inserted, so a row's NOT
    /// NULL check as it is read passes over them ([`CopyIn::filled_on_insert`]).
    filled: Vec<usize>,
    /// The current line's fields, and the buffer their unescaped values are built in.
    fields: Vec<Field>,
    scratch: Vec<u8>,
    /// The session's time zone and IntervalStyle: a timestamptz without an offset is local
    /// time there.
    pub style: types::TextStyle,
}

impl CopyIn {
    pub fn new(table: Arc<TableDef>, columns: Vec<usize>, opts: CopyOptions) -> CopyIn {
        let types = columns.iter().map(|&i| table.columns[i].ty).collect();
        // The binary format always starts with its header.
        let header_pending = opts.header != Header::No || opts.binary;
        let template = table.columns.iter().map(|c| c.default.clone()).collect();
        let computed = (0..table.columns.len())
            .filter(|i| {
                let c = &table.columns[*i];
                // A domain's DEFAULT is an expression too, for a column without its own.
                !columns.contains(i)
                    && (c.default_expr.is_some()
                        || (c.domain != 0 && c.default.is_null() && crate::domains::default_of(c.domain).is_some()))
            })
            .collect::<Vec<usize>>();
        let mut filled = computed.clone();
        filled.extend((0..table.columns.len()).filter(|&i| table.columns[i].generated.is_some()));
        CopyIn {
            table,
            columns,
            types,
            opts,
            buf: Vec::new(),
            pos: 0,
            scan_from: 0,
            in_quote: false,
            line: 0,
            eol: Eol::Unknown,
            header_pending,
            ended: false,
            rows: Vec::new(),
            lines: Vec::new(),
            count: 0,
            template,
            computed,
            filled,
            fields: Vec::new(),
            scratch: Vec::new(),
            style: types::TextStyle::default(),
        }
    }

    /// The columns left out of the column list whose DEFAULT is an expression: computed for
    /// every row when the rows are inserted.
    pub fn default_columns(&self) -> Vec<usize> {
        self.computed.clone()
    }

    /// The columns filled when the rows are inserted: [`CopyIn::default_columns`] and the
    /// generated columns.
    pub fn filled_on_insert(&self) -> &[usize] {
        &self.filled
    }

    pub fn table(&self) -> &Arc<TableDef> {
        &self.table
    }

    /// Rows read and not yet taken.
    pub fn pending(&self) -> usize {
        self.rows.len()
    }

    pub fn take_rows(&mut self) -> Vec<Row> {
        self.lines.clear();
        std::mem::take(&mut self.rows)
    }

    /// The rows read and not yet taken, with the line each came from.
    pub fn take_batch(&mut self) -> (Vec<Row>, Vec<u64>) {
        (std::mem::take(&mut self.rows), std::mem::take(&mut self.lines))
    }

    /// The line being read (1-based), for the CONTEXT of errors raised while inserting it.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Takes the bytes of one CopyData message (read into rows by [`CopyIn::read_rows`]).
    pub fn feed(&mut self, data: &[u8]) {
        // Binary data after the trailer is an error, so it is kept to be found.
        if !self.ended || self.opts.binary {
            self.buf.extend_from_slice(data);
        }
    }

    /// Reads whole lines into rows until `max` rows are pending or no whole line is left.
    pub fn read_rows(&mut self, max: usize) -> Result<()> {
        let r = if self.opts.binary { self.read_binary(max, false) } else { self.read_lines(max) };
        // Drop what was read in one go (not line by line: a message may hold many lines).
        self.buf.drain(..self.pos);
        self.scan_from = self.scan_from.saturating_sub(self.pos);
        self.pos = 0;
        r
    }

    fn read_lines(&mut self, max: usize) -> Result<()> {
        // The buffer is taken out while its lines are read, so a line is a slice of it (no
        // copy per line).
        let buf = std::mem::take(&mut self.buf);
        let r = self.read_lines_of(&buf, max);
        self.buf = buf;
        r
    }

    fn read_lines_of(&mut self, buf: &[u8], max: usize) -> Result<()> {
        while !self.ended && self.rows.len() < max {
            let Some(end) = self.find_line_end(buf) else { break };
            let mut line = &buf[self.pos..end];
            self.pos = end + 1;
            self.scan_from = self.pos;
            self.in_quote = false;
            self.line += 1;
            if self.eol == Eol::Unknown {
                self.eol = if line.last() == Some(&b'\r') { Eol::CrNl } else { Eol::Nl };
            }
            if self.eol == Eol::CrNl {
                if line.last() != Some(&b'\r') {
                    return Err(bad_format("literal newline found in data")
                        .hint("Use \"\\n\" to represent newline.")
                        .context(self.context_line(line)));
                }
                line = &line[..line.len() - 1];
            }
            self.line_in(line)?;
            if self.ended {
                self.pos = buf.len();
                self.scan_from = self.pos;
                return Ok(());
            }
        }
        if buf.len() - self.pos > MAX_LINE_BYTES {
            return Err(SqlError::new(code::PROGRAM_LIMIT_EXCEEDED, "out of memory")
                .detail(format!("Cannot enlarge string buffer beyond {MAX_LINE_BYTES} bytes."))
                .context(format!("COPY {}, line {}", self.table.name, self.line + 1)));
        }
        Ok(())
    }

    /// CopyDone (after [`CopyIn::read_rows`] has read every whole line): a last line without
    /// its newline is a row too.
    pub fn finish(&mut self) -> Result<()> {
        if self.opts.binary {
            return self.read_binary(usize::MAX, true);
        }
        if self.ended || self.buf.len() == self.pos {
            return Ok(());
        }
        if self.opts.csv && self.in_quote_at_end() {
            self.line += 1;
            return Err(bad_format("unterminated CSV quoted field").context(format!(
                "COPY {}, line {}: \"{}\"",
                self.table.name,
                self.line,
                show(&self.buf[self.pos..])
            )));
        }
        let line = self.buf.split_off(self.pos);
        self.line += 1;
        self.line_in(&line)
    }

    fn in_quote_at_end(&mut self) -> bool {
        let buf = std::mem::take(&mut self.buf);
        let _ = self.find_line_end(&buf);
        self.buf = buf;
        self.in_quote
    }

    /// The index of the newline ending the first line in `buf` (outside CSV quotes).
    fn find_line_end(&mut self, buf: &[u8]) -> Option<usize> {
        let (q, e) = (self.opts.quote, self.opts.escape);
        let mut i = self.scan_from;
        while i < buf.len() {
            let b = buf[i];
            if self.opts.csv {
                if self.in_quote && b == e && e != q && i + 1 < buf.len() && matches!(buf[i + 1], x if x == q || x == e)
                {
                    i += 2;
                    continue;
                }
                if self.in_quote && b == e && e != q && i + 1 == buf.len() {
                    // Wait for the next byte to know what the escape applies to.
                    self.scan_from = i;
                    return None;
                }
                if b == q {
                    self.in_quote = !self.in_quote;
                } else if b == b'\n' && !self.in_quote {
                    return Some(i);
                }
            } else if b == b'\\' && i + 1 < buf.len() {
                // An escaped character (a newline too) never ends the line.
                i += 2;
                continue;
            } else if b == b'\\' {
                self.scan_from = i;
                return None;
            } else if b == b'\n' {
                return Some(i);
            }
            i += 1;
        }
        self.scan_from = i;
        None
    }

    fn context_line(&self, line: &[u8]) -> String {
        format!("COPY {}, line {}: \"{}\"", self.table.name, self.line, show(line))
    }

    fn line_in(&mut self, line: &[u8]) -> Result<()> {
        if line == b"\\." {
            self.ended = true;
            return Ok(());
        }
        if !self.opts.csv {
            // In the text format an unescaped `\.` anywhere is the end-of-data marker: it must
            // end its line, and what comes before it on the line is the last row.
            if let Some(at) = end_marker(line) {
                if at + 2 != line.len() {
                    return Err(bad_format("end-of-copy marker corrupt")
                        .context(format!("COPY {}, line {}", self.table.name, self.line)));
                }
                self.ended = true;
                return self.row_in(&line[..at]);
            }
        }
        self.row_in(line)
    }

    fn row_in(&mut self, line: &[u8]) -> Result<()> {
        // The field list and the unescaping buffer are the reader's, reused line after line:
        // a row costs no allocation but its values'.
        let mut fields = std::mem::take(&mut self.fields);
        let mut scratch = std::mem::take(&mut self.scratch);
        fields.clear();
        scratch.clear();
        let r = self.row_from(line, &mut fields, &mut scratch);
        self.fields = fields;
        self.scratch = scratch;
        r
    }

    fn row_from(&mut self, line: &[u8], fields: &mut Vec<Field>, scratch: &mut Vec<u8>) -> Result<()> {
        if self.opts.csv {
            self.csv_fields(line, fields, scratch)?;
        } else {
            self.text_fields(line, fields, scratch)?;
        }
        if self.header_pending {
            self.header_pending = false;
            if self.opts.header == Header::Match {
                let texts: Vec<Option<String>> = fields
                    .iter()
                    .map(|f| f.bytes(line, scratch).map(|b| String::from_utf8_lossy(b).into_owned()))
                    .collect();
                self.check_header(&texts, line)?;
            }
            return Ok(());
        }
        if fields.len() > self.columns.len() {
            return Err(bad_format("extra data after last expected column").context(self.context_line(line)));
        }
        let mut row: Row = self.template.clone();
        for (k, &col) in self.columns.iter().enumerate() {
            let Some(f) = fields.get(k) else {
                let name = &self.table.columns[col].name;
                return Err(bad_format(format!("missing data for column \"{name}\"")).context(self.context_line(line)));
            };
            row[col] = match f.bytes(line, scratch) {
                None => Datum::Null,
                Some(bytes) => {
                    // Checked valid while the line was split.
                    let text = std::str::from_utf8(bytes).map_err(|_| SqlError::internal("COPY field not UTF-8"))?;
                    types::parse_text_in(self.types[k], text, &self.style).map_err(|e| {
                        e.context(format!(
                            "COPY {}, line {}, column {}: \"{}\"",
                            self.table.name, self.line, self.table.columns[col].name, text
                        ))
                    })?
                }
            };
            // A domain checks the value as its input function does, so the CONTEXT names the
            // column (PostgreSQL's domain_in).
            let domain = self.table.columns[col].domain;
            if domain != 0 {
                crate::domains::check(domain, &row[col]).map_err(|e| {
                    let input = match f.bytes(line, scratch) {
                        None => "null input".to_string(),
                        Some(b) => format!("\"{}\"", String::from_utf8_lossy(b)),
                    };
                    e.context(format!(
                        "COPY {}, line {}, column {}: {input}",
                        self.table.name, self.line, self.table.columns[col].name
                    ))
                })?;
            }
        }
        // Columns whose DEFAULT is an expression, and generated columns, are filled (and
        // checked) when inserted.
        if self.filled.is_empty() {
            crate::exec::check_not_null(&self.table, &row).map_err(|e| e.context(self.context_line(line)))?;
        } else {
            let mut probe = row.clone();
            for &i in &self.filled {
                probe[i] = Datum::Bool(true);
            }
            crate::exec::check_row_except(&self.table, &probe, &self.filled)
                .map_err(|e| e.context(self.context_line(line)))?;
        }
        self.rows.push(row);
        self.lines.push(self.line);
        self.count += 1;
        Ok(())
    }

    fn check_header(&self, fields: &[Option<String>], line: &[u8]) -> Result<()> {
        if fields.len() != self.columns.len() {
            return Err(bad_format(format!(
                "wrong number of fields in header line: got {}, expected {}",
                fields.len(),
                self.columns.len()
            ))
            .context(self.context_line(line)));
        }
        for (i, (f, &col)) in fields.iter().zip(&self.columns).enumerate() {
            let want = &self.table.columns[col].name;
            match f {
                Some(got) if got == want => {}
                Some(got) => {
                    return Err(bad_format(format!(
                        "column name mismatch in header line field {}: got \"{got}\", expected \"{want}\"",
                        i + 1
                    ))
                    .context(self.context_line(line)))
                }
                None => {
                    return Err(bad_format(format!(
                        "column name mismatch in header line field {}: got null value (\"{}\"), expected \"{want}\"",
                        i + 1,
                        self.opts.null
                    ))
                    .context(self.context_line(line)))
                }
            }
        }
        Ok(())
    }

    /// PostgreSQL's 22021 for bytes that are not UTF-8.
    fn check_utf8(&self, bytes: &[u8], line: &[u8]) -> Result<()> {
        std::str::from_utf8(bytes).map(|_| ()).map_err(|e| {
            let bad = bytes[e.valid_up_to()..].iter().take(2);
            let hex: Vec<String> = bad.map(|b| format!("0x{b:02x}")).collect();
            SqlError::new(
                code::CHARACTER_NOT_IN_REPERTOIRE,
                format!("invalid byte sequence for encoding \"UTF8\": {}", hex.join(" ")),
            )
            .context(self.context_line(line))
        })
    }

    /// Splits a text-format line into `fields`, undoing backslash escapes (into `scratch`; a
    /// field without a backslash stays a slice of the line). A delimiter after a backslash is
    /// data.
    fn text_fields(&self, line: &[u8], fields: &mut Vec<Field>, scratch: &mut Vec<u8>) -> Result<()> {
        let (d, null) = (self.opts.delimiter, self.opts.null.as_bytes());
        let mut start = 0;
        let mut escaped = false;
        let mut i = 0;
        loop {
            if i < line.len() && line[i] == b'\\' {
                escaped = true;
                i += 2;
                continue;
            }
            if i < line.len() && line[i] != d {
                i += 1;
                continue;
            }
            let raw = &line[start..i.min(line.len())];
            if raw == null {
                fields.push(Field::NULL);
            } else {
                if raw.contains(&b'\r') {
                    return Err(bad_format("literal carriage return found in data")
                        .hint("Use \"\\r\" to represent carriage return.")
                        .context(self.context_line(line)));
                }
                let field = if escaped {
                    let from = scratch.len();
                    unescape_text(raw, scratch);
                    Field { start: from, end: scratch.len(), src: Src::Scratch }
                } else {
                    Field { start, end: start + raw.len(), src: Src::Line }
                };
                self.check_utf8(field.bytes(line, scratch).unwrap_or_default(), line)?;
                fields.push(field);
            }
            if i >= line.len() {
                return Ok(());
            }
            i += 1;
            start = i;
            escaped = false;
        }
    }

    /// Splits a CSV line into `fields` (their values in `scratch`), PostgreSQL's way: an
    /// unquoted field equal to the NULL string is NULL (unless FORCE_NOT_NULL), a quoted one is
    /// not (unless FORCE_NULL).
    fn csv_fields(&self, line: &[u8], fields: &mut Vec<Field>, scratch: &mut Vec<u8>) -> Result<()> {
        let (d, q, e) = (self.opts.delimiter, self.opts.quote, self.opts.escape);
        let null = self.opts.null.as_bytes();
        let mut i = 0;
        loop {
            let from = scratch.len();
            let mut quoted = false;
            let mut in_quote = false;
            let start = i;
            while i < line.len() {
                let b = line[i];
                if in_quote {
                    if b == e
                        && i + 1 < line.len()
                        && (line[i + 1] == q || line[i + 1] == e)
                        && (e != q || line[i + 1] == q)
                    {
                        scratch.push(line[i + 1]);
                        i += 2;
                        continue;
                    }
                    if b == q {
                        in_quote = false;
                    } else {
                        scratch.push(b);
                    }
                } else if b == q {
                    in_quote = true;
                    quoted = true;
                } else if b == d {
                    break;
                } else {
                    // A run of plain bytes is copied at once.
                    let run = line[i..].iter().position(|&c| c == q || c == d).unwrap_or(line.len() - i);
                    scratch.extend_from_slice(&line[i..i + run]);
                    i += run;
                    continue;
                }
                i += 1;
            }
            if in_quote {
                return Err(bad_format("unterminated CSV quoted field").context(self.context_line(line)));
            }
            let k = fields.len();
            let value = &scratch[from..];
            let raw_is_null = !quoted && &line[start..i] == null;
            let force_not_null = self.opts.force_not_null.get(k).copied().unwrap_or(false);
            let force_null = self.opts.force_null.get(k).copied().unwrap_or(false);
            if (raw_is_null && !force_not_null) || (quoted && force_null && value == null) {
                scratch.truncate(from);
                fields.push(Field::NULL);
            } else {
                self.check_utf8(value, line)?;
                fields.push(Field { start: from, end: scratch.len(), src: Src::Scratch });
            }
            if i >= line.len() {
                return Ok(());
            }
            i += 1;
        }
    }
}

/// Where a field's value lies: in the line itself, in the reader's unescaping buffer, or
/// nowhere (NULL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Src {
    Null,
    Line,
    Scratch,
}

/// One field of the line being read.
#[derive(Debug, Clone, Copy)]
struct Field {
    start: usize,
    end: usize,
    src: Src,
}

impl Field {
    const NULL: Field = Field { start: 0, end: 0, src: Src::Null };

    /// The field's bytes (None: NULL).
    fn bytes<'a>(&self, line: &'a [u8], scratch: &'a [u8]) -> Option<&'a [u8]> {
        match self.src {
            Src::Null => None,
            Src::Line => Some(&line[self.start..self.end]),
            Src::Scratch => Some(&scratch[self.start..self.end]),
        }
    }
}

/// Where an unescaped `\.` starts in a text-format line.
fn end_marker(line: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i + 1 < line.len() {
        if line[i] == b'\\' {
            if line[i + 1] == b'.' {
                return Some(i);
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    None
}

/// PostgreSQL's text-format escapes: `\b \f \n \r \t \v`, `\` + 1-3 octal digits, `\x` + 1-2
/// hex digits; a backslash before any other character stands for that character.
fn unescape_text(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' || i + 1 >= raw.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let c = raw[i + 1];
        i += 2;
        match c {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = (c - b'0') as u32;
                for _ in 0..2 {
                    match raw.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + (d - b'0') as u32;
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' if raw.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut v = 0u32;
                for _ in 0..2 {
                    match raw.get(i).and_then(|&d| (d as char).to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            i += 1;
                        }
                        None => break,
                    }
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
    }
}

/// A line as PostgreSQL shows it in CONTEXT (invalid UTF-8 replaced).
fn show(line: &[u8]) -> String {
    String::from_utf8_lossy(line).into_owned()
}

/// Appends one row (values in COPY's column order) as a line of COPY TO output.
pub fn encode_row(out: &mut Vec<u8>, values: &[Option<String>], opts: &CopyOptions) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(opts.delimiter);
        }
        match v {
            None => out.extend_from_slice(opts.null.as_bytes()),
            Some(s) if opts.csv => {
                let force = opts.force_quote.get(i).copied().unwrap_or(false);
                csv_value(out, s, opts, force);
            }
            Some(s) => text_value(out, s, opts.delimiter),
        }
    }
    out.push(b'\n');
}

/// The header line of COPY TO ... HEADER: the column names.
pub fn encode_header(out: &mut Vec<u8>, names: &[String], opts: &CopyOptions) {
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(opts.delimiter);
        }
        if opts.csv {
            csv_value(out, n, opts, false);
        } else {
            text_value(out, n, opts.delimiter);
        }
    }
    out.push(b'\n');
}

fn text_value(out: &mut Vec<u8>, s: &str, delimiter: u8) {
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            11 => out.extend_from_slice(b"\\v"),
            _ if b == delimiter => {
                out.push(b'\\');
                out.push(b);
            }
            _ => out.push(b),
        }
    }
}

fn csv_value(out: &mut Vec<u8>, s: &str, opts: &CopyOptions, force: bool) {
    let bytes = s.as_bytes();
    let needs = force
        || s == opts.null
        || s == "\\."
        || bytes.iter().any(|&b| b == opts.delimiter || b == opts.quote || b == b'\n' || b == b'\r');
    if !needs {
        out.extend_from_slice(bytes);
        return;
    }
    out.push(opts.quote);
    for &b in bytes {
        if b == opts.quote || b == opts.escape {
            out.push(opts.escape);
        }
        out.push(b);
    }
    out.push(opts.quote);
}

/// The text of each value, for [`encode_row`], in the session's style.
pub fn texts(values: &[Datum], style: &types::TextStyle) -> Vec<Option<String>> {
    values.iter().map(|d| types::to_text_in(d, style)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use orbit_engine::table::ColumnDef;

    fn table() -> Arc<TableDef> {
        let col = |n: &str, ty| ColumnDef::new(n, ty);
        Arc::new(TableDef {
            name: "t".into(),
            columns: vec![col("a", SqlType::Int4), col("b", SqlType::Text), col("c", SqlType::Text)],
            pk: vec![],
            pk_name: String::new(),
            oid: 1,
            ..TableDef::default_empty()
        })
    }

    fn read(opts: CopyOptions, chunks: &[&[u8]]) -> Result<Vec<Row>> {
        let mut c = CopyIn::new(table(), vec![0, 1, 2], opts);
        let mut rows = Vec::new();
        for ch in chunks {
            c.feed(ch);
            // Two rows at a time, as a caller flushing batches would.
            loop {
                c.read_rows(2)?;
                if c.pending() < 2 {
                    break;
                }
                rows.extend(c.take_rows());
            }
        }
        c.finish()?;
        rows.extend(c.take_rows());
        Ok(rows)
    }

    #[test]
    fn text_format_reads_escapes_nulls_and_split_chunks() {
        let rows =
            read(CopyOptions::text(3), &[b"1\ta\\tb\t\\N\n2\t", b"x\\\\y\\ny\tz\\101\n3\t\\x41\t", b"c"]).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], vec![Datum::Int4(1), Datum::Text("a\tb".into()), Datum::Null]);
        assert_eq!(rows[1], vec![Datum::Int4(2), Datum::Text("x\\y\ny".into()), Datum::Text("zA".into())]);
        assert_eq!(rows[2], vec![Datum::Int4(3), Datum::Text("A".into()), Datum::Text("c".into())]);
        // The end marker stops reading.
        let rows = read(CopyOptions::text(3), &[b"1\ta\tb\n\\.\ngarbage\n"]).unwrap();
        assert_eq!(rows.len(), 1);
        // `\.` ending a line with data before it: that data is the last row.
        let rows = read(CopyOptions::text(3), &[b"1\ta\tb\n2\tc\td\\.\ngarbage\n"]).unwrap();
        assert_eq!(rows.len(), 2);
        let e = read(CopyOptions::text(3), &[b"1\ta\tb\n3\t\\.\t3\n"]).unwrap_err();
        assert_eq!((e.message.as_str(), e.context_text()), ("end-of-copy marker corrupt", Some("COPY t, line 2")));
    }

    #[test]
    fn text_format_errors_carry_postgresql_context() {
        let e = read(CopyOptions::text(3), &[b"1\ta\tb\n2\tb\tc\nabc\tx\ty\n"]).unwrap_err();
        assert_eq!(e.code, "22P02");
        assert_eq!(e.message, "invalid input syntax for type integer: \"abc\"");
        assert_eq!(e.context_text(), Some("COPY t, line 3, column a: \"abc\""));
        let e = read(CopyOptions::text(3), &[b"1\ta\n"]).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("22P04", "missing data for column \"c\""));
        assert_eq!(e.context_text(), Some("COPY t, line 1: \"1\ta\""));
        let e = read(CopyOptions::text(3), &[b"1\ta\tb\tc\n"]).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("22P04", "extra data after last expected column"));
    }

    #[test]
    fn csv_reads_quotes_across_lines_nulls_and_header() {
        let mut o = CopyOptions::text(3);
        o.csv = true;
        o.delimiter = b',';
        o.null = String::new();
        o.header = Header::Yes;
        let rows = read(o.clone(), &[b"a,b,c\n1,\"x,\"\"y\"\"\n", b"z\",\n2,\"\",\n"]).unwrap();
        assert_eq!(rows[0], vec![Datum::Int4(1), Datum::Text("x,\"y\"\nz".into()), Datum::Null]);
        assert_eq!(rows[1], vec![Datum::Int4(2), Datum::Text(String::new()), Datum::Null]);
        o.header = Header::Match;
        let e = read(o.clone(), &[b"a,x,c\n"]).unwrap_err();
        assert_eq!(e.message, "column name mismatch in header line field 2: got \"x\", expected \"b\"");
        o.header = Header::No;
        let e = read(o, &[b"1,\"abc\n"]).unwrap_err();
        assert_eq!(e.message, "unterminated CSV quoted field");
    }

    #[test]
    fn output_escapes_as_postgresql() {
        let mut out = Vec::new();
        let o = CopyOptions::text(3);
        encode_row(&mut out, &[Some("a\tb\\".into()), None, Some("x\ny".into())], &o);
        assert_eq!(out, b"a\\tb\\\\\t\\N\tx\\ny\n");
        let mut o = CopyOptions::text(3);
        o.csv = true;
        o.delimiter = b',';
        o.null = String::new();
        let mut out = Vec::new();
        encode_row(&mut out, &[Some("a,b".into()), None, Some(String::new())], &o);
        encode_row(&mut out, &[Some("q\"q".into()), Some("plain".into()), Some("\\.".into())], &o);
        assert_eq!(out, b"\"a,b\",,\"\"\n\"q\"\"q\",plain,\"\\.\"\n");
    }
}
