//! Protocol-neutral replies. Commands return a [`Reply`]; `orbit-net` encodes it as RESP2 or
//! RESP3 (a `Map` is a flat array in RESP2, a `Double` a bulk string, and so on), so command code
//! never needs to know which protocol version the client speaks.

use bytes::Bytes;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`
    Ok,
    /// A simple string (`+PONG`).
    Simple(Cow<'static, str>),
    /// An error line, with its prefix: `ERR ...`, `WRONGTYPE ...`.
    Error(Cow<'static, str>),
    /// An error line that quotes client bytes as they came (not necessarily UTF-8), like
    /// Redis's `unknown command '...'`.
    ErrorBytes(Bytes),
    Int(i64),
    Bulk(Bytes),
    /// The null bulk string (`$-1` in RESP2, `_` in RESP3).
    Nil,
    /// The null array (`*-1` in RESP2, `_` in RESP3).
    NilArray,
    Array(Vec<Reply>),
    /// A map: a flat array of 2N elements in RESP2, `%` in RESP3.
    Map(Vec<(Reply, Reply)>),
    /// Pairs such as WITHSCORES member/score results and HRANDFIELD WITHVALUES: a flat array of
    /// 2N elements in RESP2, an array of N two-element arrays in RESP3 (as Redis 7.0 answers).
    Pairs(Vec<(Reply, Reply)>),
    /// A set: an array in RESP2, `~` in RESP3.
    Set(Vec<Reply>),
    /// A double: a bulk string in RESP2 (`%.17g`), `,` in RESP3.
    Double(f64),
    /// A boolean: an integer 1/0 in RESP2, `#t`/`#f` in RESP3.
    Bool(bool),
    /// Verbatim text (`=` in RESP3, a bulk string in RESP2), with its 3-letter format.
    Verbatim(&'static str, Bytes),
    /// An out-of-band push (`>` in RESP3, an array in RESP2).
    Push(Vec<Reply>),
}

impl Reply {
    pub fn err(msg: impl Into<Cow<'static, str>>) -> Reply {
        Reply::Error(msg.into())
    }

    pub fn simple(s: &'static str) -> Reply {
        Reply::Simple(Cow::Borrowed(s))
    }

    pub fn bulk(b: impl Into<Bytes>) -> Reply {
        Reply::Bulk(b.into())
    }

    pub fn bulk_copy(b: &[u8]) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(b))
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_) | Reply::ErrorBytes(_))
    }

    /// A bulk string holding the decimal text of `n`.
    pub fn bulk_int(n: i64) -> Reply {
        Reply::Bulk(Bytes::from(n.to_string()))
    }
}

/// Redis's error texts, worded exactly as redis-server 7.0 words them.
pub mod errors {
    use super::Reply;
    pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
    pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
    pub const NOT_FLOAT: &str = "ERR value is not a valid float";
    pub const SYNTAX: &str = "ERR syntax error";
    pub const NO_SUCH_KEY: &str = "ERR no such key";
    pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
    pub const INDEX_OUT_OF_RANGE: &str = "ERR index out of range";
    pub const INVALID_EXPIRE: &str = "ERR invalid expire time in '%s' command";
    pub const DB_INDEX: &str = "ERR DB index is out of range";
    pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
    pub const POSITIVE: &str = "ERR value is out of range, must be positive";
    pub const NAN: &str = "ERR increment would produce NaN or Infinity";

    /// `ERR wrong number of arguments for 'get' command`
    pub fn wrong_args(cmd: &str) -> String {
        format!("ERR wrong number of arguments for '{}' command", cmd.to_ascii_lowercase())
    }

    pub fn invalid_expire(cmd: &str) -> String {
        format!("ERR invalid expire time in '{}' command", cmd.to_ascii_lowercase())
    }

    /// A C string's view of client bytes: Redis formats them with `%s`, which stops at the
    /// first NUL.
    fn c_str(b: &[u8]) -> &[u8] {
        match b.iter().position(|&c| c == 0) {
            Some(i) => &b[..i],
            None => b,
        }
    }

    /// An error quoting client bytes, with \r and \n turned into spaces (`rejectCommand`).
    fn error_bytes(mut s: Vec<u8>) -> Reply {
        for c in s.iter_mut() {
            if *c == b'\r' || *c == b'\n' {
                *c = b' ';
            }
        }
        Reply::ErrorBytes(bytes::Bytes::from(s))
    }

    /// Redis's `unknown command` error: the name cut at 128 bytes, then the arguments quoted
    /// until the list passes 128 bytes (`'%.*s' `), each as C sees it (up to a NUL).
    pub fn unknown_command(name: &[u8], args: &[bytes::Bytes]) -> Reply {
        let mut list = Vec::new();
        for a in args {
            if list.len() >= 128 {
                break;
            }
            let room = 128 - list.len();
            let a = c_str(a);
            list.push(b'\'');
            list.extend_from_slice(&a[..a.len().min(room)]);
            list.extend_from_slice(b"' ");
        }
        let name = c_str(name);
        let mut s = b"ERR unknown command '".to_vec();
        s.extend_from_slice(&name[..name.len().min(128)]);
        s.extend_from_slice(b"', with args beginning with: ");
        s.extend_from_slice(&list);
        error_bytes(s)
    }

    /// `ERR unknown subcommand '<sub>'. Try <CMD> HELP.` with the subcommand as Redis prints
    /// it (`%.128s`).
    pub fn unknown_subcommand_reply(sub: &[u8], cmd: &str) -> Reply {
        let sub = c_str(sub);
        let mut s = b"ERR unknown subcommand '".to_vec();
        s.extend_from_slice(&sub[..sub.len().min(128)]);
        s.extend_from_slice(format!("'. Try {} HELP.", cmd.to_ascii_uppercase()).as_bytes());
        error_bytes(s)
    }

    pub fn unknown_subcommand(sub: &[u8], cmd: &str) -> String {
        format!("ERR unknown subcommand '{}'. Try {} HELP.", String::from_utf8_lossy(sub), cmd.to_ascii_uppercase())
    }
}
