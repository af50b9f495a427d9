//! RESP2/RESP3 reply encoding. A [`Reply`] is protocol-neutral; this is where a map becomes a
//! flat array in RESP2, a double a `%.17g` bulk string, a null `$-1` or `*-1` (RESP2) or `_`
//! (RESP3), as Redis 7.0's `addReply*` functions write them.

use orbit_engine::reply::Reply;
use orbit_engine::value::fmt_g17;

/// Protocol version a connection speaks (HELLO 2 / HELLO 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Resp2,
    Resp3,
}

fn push_int(out: &mut Vec<u8>, prefix: u8, n: i64) {
    out.push(prefix);
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
    out.extend_from_slice(b"\r\n");
}

fn push_bulk(out: &mut Vec<u8>, b: &[u8]) {
    push_int(out, b'$', b.len() as i64);
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

/// A line for `+`/`-` replies: Redis replaces \r and \n in error and status strings by spaces.
fn push_line(out: &mut Vec<u8>, prefix: u8, s: impl AsRef<[u8]>) {
    out.push(prefix);
    out.extend(s.as_ref().iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }));
    out.extend_from_slice(b"\r\n");
}

/// Appends the encoding of `r` to `out`.
pub fn encode(out: &mut Vec<u8>, r: &Reply, proto: Proto) {
    match r {
        Reply::Ok => out.extend_from_slice(b"+OK\r\n"),
        Reply::Simple(s) => push_line(out, b'+', s.as_bytes()),
        Reply::Error(e) => push_line(out, b'-', e.as_bytes()),
        Reply::ErrorBytes(e) => push_line(out, b'-', e),
        Reply::Int(n) => push_int(out, b':', *n),
        Reply::Bulk(b) => push_bulk(out, b),
        Reply::Nil => match proto {
            Proto::Resp2 => out.extend_from_slice(b"$-1\r\n"),
            Proto::Resp3 => out.extend_from_slice(b"_\r\n"),
        },
        Reply::NilArray => match proto {
            Proto::Resp2 => out.extend_from_slice(b"*-1\r\n"),
            Proto::Resp3 => out.extend_from_slice(b"_\r\n"),
        },
        Reply::Array(items) => {
            push_int(out, b'*', items.len() as i64);
            for i in items {
                encode(out, i, proto);
            }
        }
        Reply::Set(items) => {
            push_int(out, if proto == Proto::Resp3 { b'~' } else { b'*' }, items.len() as i64);
            for i in items {
                encode(out, i, proto);
            }
        }
        Reply::Push(items) => {
            push_int(out, if proto == Proto::Resp3 { b'>' } else { b'*' }, items.len() as i64);
            for i in items {
                encode(out, i, proto);
            }
        }
        Reply::Map(pairs) => {
            match proto {
                Proto::Resp3 => push_int(out, b'%', pairs.len() as i64),
                Proto::Resp2 => push_int(out, b'*', 2 * pairs.len() as i64),
            }
            for (k, v) in pairs {
                encode(out, k, proto);
                encode(out, v, proto);
            }
        }
        Reply::Pairs(pairs) => match proto {
            Proto::Resp2 => {
                push_int(out, b'*', 2 * pairs.len() as i64);
                for (k, v) in pairs {
                    encode(out, k, proto);
                    encode(out, v, proto);
                }
            }
            Proto::Resp3 => {
                push_int(out, b'*', pairs.len() as i64);
                for (k, v) in pairs {
                    out.extend_from_slice(b"*2\r\n");
                    encode(out, k, proto);
                    encode(out, v, proto);
                }
            }
        },
        Reply::Double(d) => {
            let s = fmt_g17(*d);
            match proto {
                Proto::Resp2 => push_bulk(out, s.as_bytes()),
                Proto::Resp3 => {
                    out.push(b',');
                    out.extend_from_slice(s.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
            }
        }
        Reply::Bool(b) => match proto {
            Proto::Resp2 => push_int(out, b':', *b as i64),
            Proto::Resp3 => out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
        },
        Reply::Verbatim(fmt, text) => match proto {
            Proto::Resp2 => push_bulk(out, text),
            Proto::Resp3 => {
                push_int(out, b'=', (text.len() + 4) as i64);
                out.extend_from_slice(fmt.as_bytes());
                out.push(b':');
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn enc(r: Reply, p: Proto) -> String {
        let mut v = vec![];
        encode(&mut v, &r, p);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn resp2_and_resp3() {
        assert_eq!(enc(Reply::Ok, Proto::Resp2), "+OK\r\n");
        assert_eq!(enc(Reply::Int(-12), Proto::Resp2), ":-12\r\n");
        assert_eq!(enc(Reply::Nil, Proto::Resp2), "$-1\r\n");
        assert_eq!(enc(Reply::NilArray, Proto::Resp2), "*-1\r\n");
        assert_eq!(enc(Reply::Nil, Proto::Resp3), "_\r\n");
        assert_eq!(enc(Reply::Double(1.5), Proto::Resp2), "$3\r\n1.5\r\n");
        assert_eq!(enc(Reply::Double(1.5), Proto::Resp3), ",1.5\r\n");
        let m = Reply::Map(vec![(Reply::bulk("a"), Reply::Int(1))]);
        assert_eq!(enc(m.clone(), Proto::Resp2), "*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(m, Proto::Resp3), "%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(Reply::Bool(true), Proto::Resp3), "#t\r\n");
        assert_eq!(enc(Reply::Verbatim("txt", Bytes::from("hi")), Proto::Resp3), "=6\r\ntxt:hi\r\n");
        assert_eq!(enc(Reply::err("ERR a\r\nb"), Proto::Resp2), "-ERR a  b\r\n");
        assert_eq!(enc(Reply::Int(i64::MIN), Proto::Resp2), ":-9223372036854775808\r\n");
        let p = Reply::Pairs(vec![(Reply::bulk("a"), Reply::Double(1.0)), (Reply::bulk("b"), Reply::Double(2.5))]);
        assert_eq!(enc(p.clone(), Proto::Resp2), "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n");
        assert_eq!(enc(p, Proto::Resp3), "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n");
        assert_eq!(enc(Reply::Pairs(vec![]), Proto::Resp3), "*0\r\n");
        let e = Reply::ErrorBytes(Bytes::from_static(b"ERR '\xff'"));
        assert_eq!(
            {
                let mut v = vec![];
                encode(&mut v, &e, Proto::Resp2);
                v
            },
            b"-ERR '\xff'\r\n".to_vec()
        );
    }
}
