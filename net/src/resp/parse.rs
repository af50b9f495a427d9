//! Incremental RESP request parser (<https://redis.io/docs/reference/protocol-spec/>).
//!
//! A client sends either multibulk frames (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) or inline commands
//! (`PING\r\n`, as typed in telnet). The parser keeps its position inside a partly received frame,
//! so a frame that arrives one byte at a time costs O(n) overall, not O(n²). Complete frames are
//! taken off the read buffer, each argument copied once into its own allocation.
//! Limits and error texts follow Redis's `processMultibulkBuffer`/`processInlineBuffer`.

use bytes::{Bytes, BytesMut};
use std::ops::Range;

/// The longest inline command or `*N`/`$N` header line (Redis's PROTO_INLINE_MAX_SIZE).
pub const INLINE_MAX_BYTES: usize = 64 * 1024;
/// Largest multibulk count Redis accepts (INT_MAX).
pub const MAX_MULTIBULK: i64 = i32::MAX as i64;

#[derive(Debug, Clone)]
pub struct Limits {
    /// `proto-max-bulk-len`.
    pub max_bulk_bytes: i64,
    /// Clients that must still AUTH get Redis's smaller bounds (10 args, 16 KiB bulks).
    pub unauthenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bulk_bytes: 512 * 1024 * 1024, unauthenticated: false }
    }
}

/// A protocol error: the client gets `-ERR Protocol error: <msg>` and is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl ProtocolError {
    fn new(s: &str) -> Self {
        ProtocolError(s.to_string())
    }
}

#[derive(Debug, Default)]
pub struct Parser {
    /// Bytes of the current frame already examined.
    pos: usize,
    /// Arguments (byte ranges in the buffer) of the current multibulk frame.
    args: Vec<Range<usize>>,
    /// Bulks still expected in the current multibulk frame (None: no frame started).
    remaining: Option<usize>,
    /// Length of the bulk whose `$N` header was read, waiting for its data.
    bulk_len: Option<usize>,
}

/// Finds the end of a header line as Redis does: the first '\r' (the byte after it is taken to
/// be '\n'); None while that '\r' is not followed by one more byte.
fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let i = from + memchr::memchr(b'\r', &buf[from..])?;
    if i + 1 < buf.len() {
        Some(i)
    } else {
        None
    }
}

/// Parses a `*N` / `$N` count as Redis's `string2ll` (strict decimal).
fn parse_count(s: &[u8]) -> Option<i64> {
    orbit_engine::value::parse_i64_strict(s)
}

impl Parser {
    pub fn new() -> Parser {
        Parser::default()
    }

    /// True while a frame is partly parsed (for the query-buffer accounting of a client).
    pub fn in_frame(&self) -> bool {
        self.remaining.is_some() || self.pos > 0
    }

    /// Tries to take one complete command from the front of `buf`. `Ok(None)`: need more bytes.
    /// An empty inline line yields `Ok(Some(vec![]))` (Redis ignores it).
    pub fn next(&mut self, buf: &mut BytesMut, lim: &Limits) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        if buf.is_empty() {
            return Ok(None);
        }
        if self.remaining.is_none() && buf[0] != b'*' {
            return self.inline(buf);
        }
        self.multibulk(buf, lim)
    }

    fn inline(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let Some(nl) = memchr::memchr(b'\n', buf) else {
            if buf.len() > INLINE_MAX_BYTES {
                return Err(ProtocolError::new("too big inline request"));
            }
            return Ok(None);
        };
        let line_end = if nl > 0 && buf[nl - 1] == b'\r' { nl - 1 } else { nl };
        let line = buf.split_to(nl + 1).freeze();
        let args = split_args(&line[..line_end]).ok_or_else(|| ProtocolError::new("unbalanced quotes in request"))?;
        Ok(Some(args))
    }

    fn multibulk(&mut self, buf: &mut BytesMut, lim: &Limits) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        if self.remaining.is_none() {
            let Some(end) = find_crlf(buf, 0) else {
                if buf.len() > INLINE_MAX_BYTES {
                    return Err(ProtocolError::new("too big mbulk count string"));
                }
                return Ok(None);
            };
            let n = parse_count(&buf[1..end]);
            let n = match n {
                Some(n) if n <= MAX_MULTIBULK => n,
                _ => return Err(ProtocolError::new("invalid multibulk length")),
            };
            if n > 10 && lim.unauthenticated {
                return Err(ProtocolError::new("unauthenticated multibulk length"));
            }
            self.pos = end + 2;
            if n <= 0 {
                // `*0` and `*-1` are empty commands, skipped like Redis does.
                bytes::Buf::advance(buf, self.pos);
                self.reset();
                return Ok(Some(Vec::new()));
            }
            self.remaining = Some(n as usize);
            self.args.clear();
            self.args.reserve((n as usize).min(1024));
        }
        while let Some(rem) = self.remaining {
            if rem == 0 {
                break;
            }
            match self.bulk_len {
                None => {
                    if self.pos >= buf.len() {
                        return Ok(None);
                    }
                    let Some(end) = find_crlf(buf, self.pos) else {
                        if buf.len() - self.pos > INLINE_MAX_BYTES {
                            return Err(ProtocolError::new("too big bulk count string"));
                        }
                        return Ok(None);
                    };
                    if buf[self.pos] != b'$' {
                        return Err(ProtocolError(format!("expected '$', got '{}'", buf[self.pos] as char)));
                    }
                    let len = parse_count(&buf[self.pos + 1..end]);
                    let len = match len {
                        Some(l) if l >= 0 && l <= lim.max_bulk_bytes => l,
                        _ => return Err(ProtocolError::new("invalid bulk length")),
                    };
                    if lim.unauthenticated && len > 16384 {
                        return Err(ProtocolError::new("unauthenticated bulk length"));
                    }
                    self.pos = end + 2;
                    self.bulk_len = Some(len as usize);
                }
                Some(len) => {
                    if buf.len() < self.pos + len + 2 {
                        // Make room for the whole bulk at once, as Redis does for big args.
                        let need = self.pos + len + 2 - buf.len();
                        if need > 32 * 1024 {
                            buf.reserve(need);
                        }
                        return Ok(None);
                    }
                    self.args.push(self.pos..self.pos + len);
                    self.pos += len + 2;
                    self.bulk_len = None;
                    self.remaining = Some(rem - 1);
                }
            }
        }
        // Each argument gets its own allocation, as Redis gives each its own object: a key or
        // element stored in the keyspace must not pin the whole read buffer it arrived in.
        let args = self.args.drain(..).map(|r| Bytes::copy_from_slice(&buf[r])).collect();
        bytes::Buf::advance(buf, self.pos);
        self.reset();
        Ok(Some(args))
    }

    fn reset(&mut self) {
        self.pos = 0;
        self.remaining = None;
        self.bulk_len = None;
    }
}

/// Splits an inline command line like Redis's `sdssplitargs`: spaces separate arguments,
/// "double quotes" take \n \r \t \b \a \\ \" and \xHH escapes, 'single quotes' take \'.
/// A closing quote must be followed by a space or the end. None on unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Bytes>> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= n {
            return Some(out);
        }
        let mut cur = Vec::new();
        let (mut inq, mut insq) = (false, false);
        loop {
            if inq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 3 < n && line[i + 1] == b'x' && line[i + 2].is_ascii_hexdigit() && line[i + 3].is_ascii_hexdigit() {
                    let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                    cur.push(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if insq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        i += 1;
                        break;
                    }
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(Bytes::from(cur));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut p = Parser::new();
        let mut buf = BytesMut::from(input);
        let mut out = vec![];
        while let Some(a) = p.next(&mut buf, &Limits::default())? {
            out.push(a);
        }
        Ok(out)
    }

    #[test]
    fn multibulk_and_inline() {
        let r = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n").unwrap();
        assert_eq!(r, vec![vec![Bytes::from("GET"), Bytes::from("k")], vec![Bytes::from("PING")]]);
        let r = parse_all(b"set k \"a b\\x41\"\n").unwrap();
        assert_eq!(r, vec![vec![Bytes::from("set"), Bytes::from("k"), Bytes::from("a bA")]]);
    }

    #[test]
    fn byte_at_a_time() {
        let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$10\r\n0123456789\r\n*1\r\n$4\r\nPING\r\n";
        let mut p = Parser::new();
        let mut buf = BytesMut::new();
        let mut got = vec![];
        for &b in input.iter() {
            buf.extend_from_slice(&[b]);
            while let Some(a) = p.next(&mut buf, &Limits::default()).unwrap() {
                got.push(a);
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(got[0][2], Bytes::from("0123456789"));
        assert!(buf.is_empty());
    }

    #[test]
    fn protocol_errors() {
        assert_eq!(parse_all(b"*x\r\n").unwrap_err().0, "invalid multibulk length");
        assert_eq!(parse_all(b"*1\r\n+x\r\n").unwrap_err().0, "expected '$', got '+'");
        assert_eq!(parse_all(b"*1\r\n$-5\r\n").unwrap_err().0, "invalid bulk length");
        assert_eq!(parse_all(b"*1\r\n$600000000\r\n").unwrap_err().0, "invalid bulk length");
        assert_eq!(parse_all(b"set \"a\n").unwrap_err().0, "unbalanced quotes in request");
        let big = vec![b'a'; INLINE_MAX_BYTES + 1];
        assert_eq!(parse_all(&big).unwrap_err().0, "too big inline request");
    }

    #[test]
    fn empty_frames_are_skipped() {
        assert_eq!(parse_all(b"*0\r\n\r\n").unwrap(), vec![Vec::<Bytes>::new(), vec![]]);
    }
}
