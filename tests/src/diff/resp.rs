//! A tiny RESP2/RESP3 client over a blocking `TcpStream`: it writes a command as a multibulk
//! frame and reads one reply into a [`Resp`] tree that keeps every distinction the wire makes
//! (null bulk vs null array vs RESP3 null, simple vs bulk string, the exact text of a double),
//! so two trees are equal exactly when the two servers sent the same bytes.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One reply as it came off the wire.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resp {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    /// `$-1`
    NilBulk,
    Bulk(Vec<u8>),
    /// `*-1`
    NilArray,
    Array(Vec<Resp>),
    /// RESP3 `_`
    Null,
    /// RESP3 `,` with its text as sent.
    Double(Vec<u8>),
    Bool(bool),
    /// RESP3 `(`
    BigNum(Vec<u8>),
    /// RESP3 `=`: format and text.
    Verbatim(Vec<u8>),
    Map(Vec<(Resp, Resp)>),
    Set(Vec<Resp>),
    Push(Vec<Resp>),
    /// RESP3 `|` attribute followed by the reply it decorates.
    Attribute(Vec<(Resp, Resp)>, Box<Resp>),
}

impl Resp {
    pub fn is_error(&self) -> bool {
        matches!(self, Resp::Error(_))
    }

    /// The elements of an array, set or push reply.
    pub fn items(&self) -> Option<&[Resp]> {
        match self {
            Resp::Array(v) | Resp::Set(v) | Resp::Push(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Resp::Bulk(b) | Resp::Simple(b) => Some(b),
            _ => None,
        }
    }
}

/// Writes bytes the way redis-cli shows them: printable ASCII as is, the rest escaped.
pub fn escape(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() + 2);
    s.push('"');
    let shown = b.len().min(200);
    for &c in &b[..shown] {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    if b.len() > shown {
        s.push_str(&format!("...({} bytes)", b.len()));
    }
    s
}

impl fmt::Display for Resp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resp::Simple(s) => write!(f, "+{}", String::from_utf8_lossy(s)),
            Resp::Error(s) => write!(f, "-{}", String::from_utf8_lossy(s)),
            Resp::Int(n) => write!(f, ":{n}"),
            Resp::NilBulk => write!(f, "$-1"),
            Resp::Bulk(b) => write!(f, "{}", escape(b)),
            Resp::NilArray => write!(f, "*-1"),
            Resp::Null => write!(f, "_"),
            Resp::Double(d) => write!(f, ",{}", String::from_utf8_lossy(d)),
            Resp::Bool(b) => write!(f, "#{}", if *b { 't' } else { 'f' }),
            Resp::BigNum(d) => write!(f, "({}", String::from_utf8_lossy(d)),
            Resp::Verbatim(t) => write!(f, "={}", escape(t)),
            Resp::Array(v) | Resp::Set(v) | Resp::Push(v) => {
                let open = match self {
                    Resp::Array(_) => "[",
                    Resp::Set(_) => "~[",
                    _ => ">[",
                };
                write!(f, "{open}")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    if i >= 40 {
                        write!(f, "...({} items)", v.len())?;
                        break;
                    }
                    write!(f, "{x}")?;
                }
                write!(f, "]")
            }
            Resp::Map(m) | Resp::Attribute(m, _) => {
                write!(f, "{{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    if i >= 40 {
                        write!(f, "...({} pairs)", m.len())?;
                        break;
                    }
                    write!(f, "{k}: {v}")?;
                }
                write!(f, "}}")?;
                if let Resp::Attribute(_, r) = self {
                    write!(f, " {r}")?;
                }
                Ok(())
            }
        }
    }
}

/// Formats a command for a report: `SET "k" "v"` (long argument lists cut after 20).
pub fn show_command(args: &[Vec<u8>]) -> String {
    let mut s = args.iter().take(20).map(|a| escape(a)).collect::<Vec<_>>().join(" ");
    if args.len() > 20 {
        s.push_str(&format!(" ...({} arguments)", args.len()));
    }
    s
}

/// A connection that sends commands and reads their replies one at a time.
pub struct RespConn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    pub port: u16,
}

/// The longest reply element a test accepts (a bound against a runaway server).
const MAX_ELEMENT_BYTES: usize = 64 * 1024 * 1024;

impl RespConn {
    pub fn connect(port: u16) -> io::Result<RespConn> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_nodelay(true)?;
        // A reply that never comes (a command that blocks forever) fails the test instead of
        // hanging it.
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(RespConn { reader: BufReader::with_capacity(64 * 1024, s.try_clone()?), writer: s, port })
    }

    pub fn set_read_timeout(&mut self, d: Duration) -> io::Result<()> {
        self.writer.set_read_timeout(Some(d))
    }

    /// Sends `args` as one multibulk frame and reads one reply.
    pub fn call(&mut self, args: &[Vec<u8>]) -> io::Result<Resp> {
        self.send(args)?;
        self.read()
    }

    pub fn send(&mut self, args: &[Vec<u8>]) -> io::Result<()> {
        let mut frame = Vec::with_capacity(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
        frame.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            frame.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            frame.extend_from_slice(a);
            frame.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&frame)
    }

    /// Sends raw bytes (inline commands, malformed frames).
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)
    }

    fn line(&mut self) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line)?;
        if line.is_empty() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"));
        }
        if line.len() < 2 || !line.ends_with(b"\r\n") {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("bad line {}", escape(&line))));
        }
        line.truncate(line.len() - 2);
        Ok(line)
    }

    fn number(s: &[u8]) -> io::Result<i64> {
        std::str::from_utf8(s)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("bad number {}", escape(s))))
    }

    fn blob(&mut self, n: i64) -> io::Result<Vec<u8>> {
        let n = usize::try_from(n).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "negative length"))?;
        if n > MAX_ELEMENT_BYTES {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "element too long"));
        }
        let mut b = vec![0u8; n + 2];
        self.reader.read_exact(&mut b)?;
        if &b[n..] != b"\r\n" {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "blob not followed by CRLF"));
        }
        b.truncate(n);
        Ok(b)
    }

    fn many(&mut self, n: i64) -> io::Result<Vec<Resp>> {
        let n = usize::try_from(n).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "negative count"))?;
        let mut v = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            v.push(self.read()?);
        }
        Ok(v)
    }

    fn pairs(&mut self, n: i64) -> io::Result<Vec<(Resp, Resp)>> {
        let n = usize::try_from(n).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "negative count"))?;
        let mut v = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            let k = self.read()?;
            v.push((k, self.read()?));
        }
        Ok(v)
    }

    /// Reads one reply.
    pub fn read(&mut self) -> io::Result<Resp> {
        let line = self.line()?;
        let (t, rest) = (line[0], &line[1..]);
        Ok(match t {
            b'+' => Resp::Simple(rest.to_vec()),
            b'-' => Resp::Error(rest.to_vec()),
            b':' => Resp::Int(Self::number(rest)?),
            b'$' => match Self::number(rest)? {
                -1 => Resp::NilBulk,
                n => Resp::Bulk(self.blob(n)?),
            },
            b'*' => match Self::number(rest)? {
                -1 => Resp::NilArray,
                n => Resp::Array(self.many(n)?),
            },
            b'_' => Resp::Null,
            b',' => Resp::Double(rest.to_vec()),
            b'#' => Resp::Bool(rest == b"t"),
            b'(' => Resp::BigNum(rest.to_vec()),
            b'=' => {
                let n = Self::number(rest)?;
                Resp::Verbatim(self.blob(n)?)
            }
            b'!' => {
                let n = Self::number(rest)?;
                Resp::Error(self.blob(n)?)
            }
            b'%' => {
                let n = Self::number(rest)?;
                Resp::Map(self.pairs(n)?)
            }
            b'~' => {
                let n = Self::number(rest)?;
                Resp::Set(self.many(n)?)
            }
            b'>' => {
                let n = Self::number(rest)?;
                Resp::Push(self.many(n)?)
            }
            b'|' => {
                let n = Self::number(rest)?;
                let attrs = self.pairs(n)?;
                Resp::Attribute(attrs, Box::new(self.read()?))
            }
            _ => return Err(io::Error::new(io::ErrorKind::InvalidData, format!("bad reply {}", escape(&line)))),
        })
    }
}
