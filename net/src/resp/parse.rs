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
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && line[i + 2].is_ascii_hexdigit()
                    && line[i + 3].is_ascii_hexdigit()
                {
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

/// Support for fuzzing the parser (the `fuzz/` target and the unit tests replay the same
/// checks): parse a buffer whole, or fed in pieces as a socket would deliver it.
pub mod fuzzing {
    use super::{Limits, Parser, ProtocolError, INLINE_MAX_BYTES};
    use bytes::{Bytes, BytesMut};

    /// What a connection would make of some bytes: the commands parsed, and the protocol error
    /// that ended them, if any.
    pub type Outcome = (Vec<Vec<Bytes>>, Option<ProtocolError>);

    /// Feeds `data` in pieces of the given lengths (the rest in one piece at the end), parsing
    /// every complete command after each piece, as the connection loop does.
    pub fn parse_in_pieces(data: &[u8], pieces: impl IntoIterator<Item = usize>) -> Outcome {
        let lim = Limits::default();
        let mut p = Parser::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut fed = 0;
        let mut pieces = pieces.into_iter();
        while fed < data.len() {
            let n = pieces.next().unwrap_or(data.len()).clamp(1, data.len() - fed);
            buf.extend_from_slice(&data[fed..fed + n]);
            fed += n;
            loop {
                match p.next(&mut buf, &lim) {
                    Ok(Some(args)) => out.push(args),
                    Ok(None) => break,
                    Err(e) => return (out, Some(e)),
                }
            }
        }
        (out, None)
    }

    /// Parses `data` whole, byte by byte, and in pieces of the sizes its own bytes suggest;
    /// panics if the parser panics or if the outcomes differ. (Past `INLINE_MAX_BYTES` the
    /// outcome may depend on the pieces, as in Redis: only "no panic" is checked there.)
    pub fn check(data: &[u8]) {
        let whole = parse_in_pieces(data, std::iter::empty());
        let bytewise = parse_in_pieces(data, std::iter::repeat(1));
        let sizes = parse_in_pieces(data, data.iter().map(|&b| 1 + (b as usize % 17)));
        if data.len() < INLINE_MAX_BYTES {
            assert_eq!(whole, bytewise, "whole vs byte at a time");
            assert_eq!(whole, sizes, "whole vs pieces");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

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

    /// Random bytes, and random mutations of valid frames: the parser never panics and gives
    /// the same result however the bytes arrive.
    #[test]
    fn fuzz_random_bytes() {
        let mut rng = SmallRng::seed_from_u64(0x5eed_0001);
        let alphabet: &[u8] = b"*$\r\n0123456789-+ \"'\\x abcSETGET\t\0";
        for _ in 0..3000 {
            let len = rng.gen_range(0..200);
            let data: Vec<u8> = (0..len)
                .map(|_| if rng.gen_bool(0.7) { alphabet[rng.gen_range(0..alphabet.len())] } else { rng.gen() })
                .collect();
            fuzzing::check(&data);
            let cuts: Vec<usize> = (0..20).map(|_| rng.gen_range(1..8)).collect();
            let _ = fuzzing::parse_in_pieces(&data, cuts);
        }
        // Mutated valid frames reach deeper states (bulk headers, partial bulks).
        for _ in 0..3000 {
            let cmds = random_commands(&mut rng);
            let mut data = encode_all(&cmds, &mut rng);
            for _ in 0..rng.gen_range(1..4) {
                if data.is_empty() {
                    break;
                }
                let i = rng.gen_range(0..data.len());
                match rng.gen_range(0..3) {
                    0 => data[i] = rng.gen(),
                    1 => {
                        data.remove(i);
                    }
                    _ => data.insert(i, alphabet[rng.gen_range(0..alphabet.len())]),
                }
            }
            fuzzing::check(&data);
        }
    }

    fn random_commands(rng: &mut SmallRng) -> Vec<Vec<Bytes>> {
        (0..rng.gen_range(1..5))
            .map(|_| {
                (0..rng.gen_range(1..6))
                    .map(|_| {
                        let len = if rng.gen_bool(0.02) { rng.gen_range(30_000..70_000) } else { rng.gen_range(0..40) };
                        Bytes::from((0..len).map(|_| rng.gen::<u8>()).collect::<Vec<u8>>())
                    })
                    .collect()
            })
            .collect()
    }

    /// Multibulk frames, or inline lines for commands of plain words.
    fn encode_all(cmds: &[Vec<Bytes>], rng: &mut SmallRng) -> Vec<u8> {
        let mut out = Vec::new();
        for c in cmds {
            let plain = c.iter().all(|a| !a.is_empty() && a.iter().all(|b| b.is_ascii_alphanumeric()));
            if plain && rng.gen_bool(0.5) {
                for (i, a) in c.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    out.extend_from_slice(a);
                }
                out.extend_from_slice(if rng.gen_bool(0.5) { b"\r\n" } else { b"\n" });
                continue;
            }
            out.extend_from_slice(format!("*{}\r\n", c.len()).as_bytes());
            for a in c {
                out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                out.extend_from_slice(a);
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }

    /// Valid frames split at random points parse to exactly the commands sent.
    #[test]
    fn fuzz_valid_frames_split_anywhere() {
        let mut rng = SmallRng::seed_from_u64(0x5eed_0002);
        for _ in 0..1500 {
            let cmds: Vec<Vec<Bytes>> = random_commands(&mut rng)
                .into_iter()
                .map(|c| {
                    if rng.gen_bool(0.3) {
                        // Plain words, sent inline half the time.
                        (0..c.len()).map(|i| Bytes::from(format!("w{i}x{}", rng.gen_range(0..1000)))).collect()
                    } else {
                        c
                    }
                })
                .collect();
            let data = encode_all(&cmds, &mut rng);
            let whole = fuzzing::parse_in_pieces(&data, std::iter::empty());
            assert_eq!(whole, (cmds.clone(), None));
            let cuts: Vec<usize> = (0..64).map(|_| rng.gen_range(1..300)).collect();
            assert_eq!(fuzzing::parse_in_pieces(&data, cuts), (cmds.clone(), None));
            if data.len() < 4096 {
                assert_eq!(fuzzing::parse_in_pieces(&data, std::iter::repeat(1)), (cmds, None));
            }
        }
    }

    /// Replays the cargo-fuzz corpus (`fuzz/corpus/resp_parse/`) and every crash saved next to
    /// it (`fuzz/artifacts/resp_parse/`) through the same checks as the fuzz target.
    #[test]
    fn fuzz_corpus_replay() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        let mut replayed = 0;
        for dir in ["corpus/resp_parse", "artifacts/resp_parse"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
            for e in entries.flatten() {
                let data = std::fs::read(e.path()).expect("read corpus file");
                fuzzing::check(&data);
                replayed += 1;
            }
        }
        assert!(replayed >= 10, "expected the committed corpus in fuzz/corpus/resp_parse, found {replayed} files");
    }
}
