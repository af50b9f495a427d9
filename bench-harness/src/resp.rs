//! RESP on the client side: a writer that encodes commands as arrays of bulk strings, and a
//! reader that finds where each reply ends in a buffer that may hold only part of it.
//! Spec: <https://redis.io/docs/latest/develop/reference/protocol-spec/>.

/// Deepest nesting of aggregate replies the reader accepts (Redis's own replies nest a few levels).
const MAX_DEPTH: usize = 32;
/// Largest bulk string the reader accepts (Redis's proto-max-bulk-len default).
const MAX_BULK_BYTES: i64 = 512 * 1024 * 1024;

#[derive(Debug, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RESP protocol error: {}", self.0)
    }
}

impl std::error::Error for ProtocolError {}

/// Appends one command (`*N\r\n` then N bulk strings) to `out`.
pub fn push_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    push_header(out, b'*', args.len());
    for a in args {
        push_header(out, b'$', a.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

fn push_header(out: &mut Vec<u8>, kind: u8, n: usize) {
    out.push(kind);
    push_decimal(out, n as u64);
    out.extend_from_slice(b"\r\n");
}

/// Writes `n` in decimal without going through `fmt` (this sits on the load generator's hot path).
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// A reply, owned; used by the control client (INFO, DBSIZE, PING), not on the load path.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    pub fn as_text(&self) -> Option<String> {
        match self {
            Reply::Simple(s) => Some(s.clone()),
            Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
}

/// Finds the end of the first reply in `buf` without copying it. Returns its length and whether
/// it (or, for an aggregate, any element in it) is an error; `None` when `buf` holds only part
/// of a reply and more bytes must be read.
pub fn skip_reply(buf: &[u8]) -> Result<Option<(usize, bool)>, ProtocolError> {
    skip_at(buf, 0, 0)
}

fn skip_at(buf: &[u8], pos: usize, depth: usize) -> Result<Option<(usize, bool)>, ProtocolError> {
    if depth > MAX_DEPTH {
        return Err(ProtocolError(format!("replies nested deeper than {MAX_DEPTH}")));
    }
    let Some((kind, line, next)) = line_at(buf, pos)? else {
        return Ok(None);
    };
    match kind {
        b'+' | b':' | b'_' | b',' | b'#' | b'(' => Ok(Some((next, false))),
        b'-' => Ok(Some((next, true))),
        b'$' | b'=' | b'!' => {
            let n = parse_int(line)?;
            if n < 0 {
                return Ok(Some((next, kind == b'!')));
            }
            if n > MAX_BULK_BYTES {
                return Err(ProtocolError(format!("bulk string of {n} bytes")));
            }
            let end = next + n as usize + 2;
            if buf.len() < end {
                return Ok(None);
            }
            if &buf[end - 2..end] != b"\r\n" {
                return Err(ProtocolError("bulk string not followed by CRLF".into()));
            }
            Ok(Some((end, kind == b'!')))
        }
        b'*' | b'~' | b'>' | b'%' => {
            let n = parse_int(line)?;
            if n < 0 {
                return Ok(Some((next, false)));
            }
            let elements = if kind == b'%' { n.saturating_mul(2) } else { n };
            let mut at = next;
            let mut error = false;
            for _ in 0..elements {
                match skip_at(buf, at, depth + 1)? {
                    Some((end, e)) => {
                        at = end;
                        error |= e;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((at, error)))
        }
        other => Err(ProtocolError(format!("unknown reply type byte 0x{other:02x}"))),
    }
}

/// Parses the first reply in `buf` into an owned [`Reply`]; `None` when it is incomplete.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(usize, Reply)>, ProtocolError> {
    let Some((len, _)) = skip_reply(buf)? else {
        return Ok(None);
    };
    let (end, reply) = parse_at(&buf[..len], 0)?;
    debug_assert_eq!(end, len);
    Ok(Some((end, reply)))
}

/// Parses a reply known (by [`skip_reply`]) to be complete in `buf`.
fn parse_at(buf: &[u8], pos: usize) -> Result<(usize, Reply), ProtocolError> {
    let incomplete = || ProtocolError("reply ended early".into());
    let (kind, line, next) = line_at(buf, pos)?.ok_or_else(incomplete)?;
    let text = || String::from_utf8_lossy(line).into_owned();
    Ok(match kind {
        b'+' | b',' | b'(' | b'#' => (next, Reply::Simple(text())),
        b'-' => (next, Reply::Error(text())),
        b':' => (next, Reply::Integer(parse_int(line)?)),
        b'_' => (next, Reply::Bulk(None)),
        b'$' | b'=' | b'!' => {
            let n = parse_int(line)?;
            if n < 0 {
                (next, Reply::Bulk(None))
            } else {
                let body = buf.get(next..next + n as usize).ok_or_else(incomplete)?.to_vec();
                let end = next + n as usize + 2;
                if kind == b'!' {
                    (end, Reply::Error(String::from_utf8_lossy(&body).into_owned()))
                } else {
                    (end, Reply::Bulk(Some(body)))
                }
            }
        }
        b'*' | b'~' | b'>' | b'%' => {
            let n = parse_int(line)?;
            if n < 0 {
                (next, Reply::Array(None))
            } else {
                let elements = if kind == b'%' { n * 2 } else { n };
                let mut items = Vec::with_capacity(elements.min(1024) as usize);
                let mut at = next;
                for _ in 0..elements {
                    let (end, r) = parse_at(buf, at)?;
                    items.push(r);
                    at = end;
                }
                (at, Reply::Array(Some(items)))
            }
        }
        other => return Err(ProtocolError(format!("unknown reply type byte 0x{other:02x}"))),
    })
}

/// A reply's first line: its type byte, the rest of the line without CRLF, the offset after it.
type Line<'a> = (u8, &'a [u8], usize);

/// The line starting at `pos`; `None` until its CRLF has arrived.
fn line_at(buf: &[u8], pos: usize) -> Result<Option<Line<'_>>, ProtocolError> {
    let Some(rest) = buf.get(pos..) else { return Ok(None) };
    let Some(nl) = memchr::memchr(b'\n', rest) else {
        if rest.len() > 64 * 1024 {
            return Err(ProtocolError("reply line longer than 64 KiB".into()));
        }
        return Ok(None);
    };
    if nl < 1 || rest[nl - 1] != b'\r' {
        return Err(ProtocolError("line not ended by CRLF".into()));
    }
    Ok(Some((rest[0], &rest[1..nl - 1], pos + nl + 1)))
}

fn parse_int(digits: &[u8]) -> Result<i64, ProtocolError> {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| ProtocolError(format!("bad integer {:?}", String::from_utf8_lossy(digits))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(args: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        push_command(&mut v, args);
        v
    }

    #[test]
    fn writer_encodes_arrays_of_bulk_strings() {
        assert_eq!(encoded(&[b"SET", b"k", b""]), b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
        let mut v = Vec::new();
        push_decimal(&mut v, 0);
        push_decimal(&mut v, u64::MAX);
        assert_eq!(v, b"018446744073709551615");
    }

    const STREAM: &[u8] = b"+OK\r\n-ERR no\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n*-1\r\n$4\r\na\r\nb\r\n*1\r\n-WRONGTYPE x\r\n";

    fn expected() -> Vec<Reply> {
        vec![
            Reply::Simple("OK".into()),
            Reply::Error("ERR no".into()),
            Reply::Integer(42),
            Reply::Bulk(Some(b"hello".to_vec())),
            Reply::Bulk(None),
            Reply::Array(Some(vec![Reply::Bulk(Some(b"a".to_vec())), Reply::Array(Some(vec![Reply::Integer(1)]))])),
            Reply::Array(None),
            // A bulk string may itself hold CRLF: the reader must go by its length.
            Reply::Bulk(Some(b"a\r\nb".to_vec())),
            Reply::Array(Some(vec![Reply::Error("WRONGTYPE x".into())])),
        ]
    }

    #[test]
    fn reader_parses_every_reply_kind() {
        let mut at = 0;
        let mut got = Vec::new();
        while at < STREAM.len() {
            let (n, r) = parse_reply(&STREAM[at..]).unwrap().expect("complete");
            at += n;
            got.push(r);
        }
        assert_eq!(got, expected());
    }

    /// Feeds the stream as a socket might deliver it, cut at every possible place, and checks the
    /// reader reports "incomplete" until each reply's last byte has arrived, then the same replies.
    #[test]
    fn reader_handles_input_split_anywhere() {
        fn has_error(r: &Reply) -> bool {
            match r {
                Reply::Error(_) => true,
                Reply::Array(Some(items)) => items.iter().any(has_error),
                _ => false,
            }
        }
        let errors: Vec<bool> = expected().iter().map(has_error).collect();
        for chunk in 1..=STREAM.len() {
            let mut buf: Vec<u8> = Vec::new();
            let mut fed = 0;
            let mut got = Vec::new();
            let mut skipped = Vec::new();
            while fed < STREAM.len() || !buf.is_empty() {
                loop {
                    let skip = skip_reply(&buf).unwrap();
                    let parsed = parse_reply(&buf).unwrap();
                    assert_eq!(skip.map(|s| s.0), parsed.as_ref().map(|p| p.0));
                    let Some((n, r)) = parsed else { break };
                    skipped.push(skip.map(|s| s.1).unwrap_or_default());
                    got.push(r);
                    buf.drain(..n);
                }
                if fed < STREAM.len() {
                    let end = (fed + chunk).min(STREAM.len());
                    buf.extend_from_slice(&STREAM[fed..end]);
                    fed = end;
                } else {
                    assert!(buf.is_empty(), "bytes left over with chunk {chunk}");
                }
            }
            assert_eq!(got, expected(), "chunk size {chunk}");
            assert_eq!(skipped, errors, "chunk size {chunk}");
        }
    }

    #[test]
    fn reader_rejects_malformed_input() {
        assert!(skip_reply(b"?x\r\n").is_err());
        assert!(skip_reply(b"$3\r\nabcd\r\n").is_err());
        // The skipping reader does not look inside integers; the parsing one does.
        assert!(parse_reply(b":12x\r\n").is_err());
        assert!(skip_reply(b"+OK\n").is_err());
        let deep = "*1\r\n".repeat(MAX_DEPTH + 2);
        assert!(skip_reply(deep.as_bytes()).is_err());
        // Incomplete is not an error.
        assert_eq!(skip_reply(b"$10\r\nabc").unwrap(), None);
        assert_eq!(skip_reply(b"").unwrap(), None);
    }
}
