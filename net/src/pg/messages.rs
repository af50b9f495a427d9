//! Framing and bounds for what a client sends, and the backend messages we write, encoded with
//! `pgwire`'s codecs. Every message's declared length is checked before it is buffered: at most
//! 10000 bytes for a startup packet and the small messages, 1 GB - 1 for Query, Parse, Bind and
//! CopyData (PostgreSQL's PQ_SMALL/LARGE_MESSAGE_LIMIT); beyond that the connection gets a FATAL
//! 08P01 and is closed.

use bytes::{BufMut, BytesMut};
use orbit_query::SqlError;
use pgwire::messages::{DecodeContext, Message, PgWireFrontendMessage, ProtocolVersion};

/// PostgreSQL's MAX_STARTUP_PACKET_LENGTH and PQ_SMALL_MESSAGE_LIMIT.
pub const SMALL_MESSAGE_LIMIT: usize = 10_000;
/// PQ_LARGE_MESSAGE_LIMIT: MaxAllocSize - 1.
pub const LARGE_MESSAGE_LIMIT: usize = 0x3fff_fffe;
/// PG_MAX_AUTH_TOKEN_LENGTH, for password and SASL messages.
pub const AUTH_MESSAGE_LIMIT: usize = 65_535;

/// What the framing found in the read buffer.
pub enum Frame {
    /// Not all there yet.
    Incomplete,
    /// A whole message (type byte, length and body), split off the buffer.
    Message(u8, BytesMut),
    /// The length field is out of bounds: the connection must close.
    BadLength,
}

/// Splits one typed message off `buf` if it is complete.
pub fn next_message(buf: &mut BytesMut) -> Frame {
    if buf.len() < 5 {
        return Frame::Incomplete;
    }
    let ty = buf[0];
    let len = i32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
    let max = match ty {
        b'Q' | b'P' | b'B' | b'd' => LARGE_MESSAGE_LIMIT,
        b'p' => AUTH_MESSAGE_LIMIT,
        _ => SMALL_MESSAGE_LIMIT,
    };
    if len < 4 || len as usize > max {
        return Frame::BadLength;
    }
    let total = 1 + len as usize;
    if buf.len() < total {
        buf.reserve(total - buf.len());
        return Frame::Incomplete;
    }
    Frame::Message(ty, buf.split_to(total))
}

/// Decodes a whole typed message with pgwire. pgwire's decoders index into the body without
/// checking every length, so a malformed message could panic: that is caught and reported as a
/// malformed message, and never takes the shard down.
pub fn decode(mut msg: BytesMut) -> Option<PgWireFrontendMessage> {
    let mut ctx = DecodeContext::new(ProtocolVersion::PROTOCOL3_0);
    ctx.awaiting_frontend_ssl = false;
    ctx.awaiting_frontend_startup = false;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let r = PgWireFrontendMessage::decode(&mut msg, &ctx);
        match r {
            Ok(Some(m)) if msg.is_empty() => Some(m),
            _ => None,
        }
    }))
    .ok()
    .flatten()
}

/// Encodes a backend message. Encoding fails only for a message over pgwire's size bounds; that
/// is reported to the client as an error instead.
pub fn put<M: Message>(out: &mut BytesMut, m: M) {
    let mark = out.len();
    if m.encode(out).is_err() {
        out.truncate(mark);
        let e = SqlError::new("54000", "result message too large");
        put_error(out, &e, "ERROR");
    }
}

/// ErrorResponse (`severity` ERROR or FATAL) or, with NOTICE/WARNING, NoticeResponse, with the
/// fields PostgreSQL sends: S, V, C, M, and D, H, P, W, s, t, c, n when set
/// (<https://www.postgresql.org/docs/15/protocol-error-fields.html>).
pub fn put_error(out: &mut BytesMut, e: &SqlError, severity: &str) {
    let mut fields = vec![
        (b'S', severity.to_string()),
        (b'V', severity.to_string()),
        (b'C', e.code.to_string()),
        (b'M', e.message.clone()),
    ];
    if let Some(d) = &e.detail {
        fields.push((b'D', d.clone()));
    }
    if let Some(h) = &e.hint {
        fields.push((b'H', h.clone()));
    }
    if let Some(p) = e.position {
        fields.push((b'P', p.to_string()));
    }
    if let Some(o) = &e.fields {
        for (tag, v) in
            [(b'W', &o.context), (b's', &o.schema), (b't', &o.table), (b'c', &o.column), (b'n', &o.constraint)]
        {
            if let Some(v) = v {
                fields.push((tag, v.clone()));
            }
        }
    }
    if severity == "ERROR" || severity == "FATAL" {
        put(out, pgwire::messages::response::ErrorResponse::new(fields));
    } else {
        put(out, pgwire::messages::response::NoticeResponse::new(fields));
    }
}

/// A DataRow from already encoded column values (None: NULL).
pub fn put_data_row(out: &mut BytesMut, cols: &[Option<Vec<u8>>]) {
    let mut data = BytesMut::with_capacity(cols.iter().map(|c| 4 + c.as_ref().map_or(0, |v| v.len())).sum());
    for c in cols {
        match c {
            None => data.put_i32(-1),
            Some(v) => {
                data.put_i32(v.len() as i32);
                data.put_slice(v);
            }
        }
    }
    put(out, pgwire::messages::data::DataRow::new(data, cols.len() as i16));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_bounded() {
        let mut b = BytesMut::from(&b"Q\x00\x00\x00\x02"[..]);
        assert!(matches!(next_message(&mut b), Frame::BadLength));
        let mut b = BytesMut::from(&b"S\x00\x01\x00\x00"[..]);
        assert!(matches!(next_message(&mut b), Frame::BadLength));
        let mut b = BytesMut::from(&b"Q\x7f\xff\xff\xff"[..]);
        assert!(matches!(next_message(&mut b), Frame::BadLength));
        let mut b = BytesMut::from(&b"Q\x00\x00\x00\x0aSELEC"[..]);
        assert!(matches!(next_message(&mut b), Frame::Incomplete));
        b.extend_from_slice(b"\0");
        assert!(matches!(next_message(&mut b), Frame::Message(b'Q', _)));
    }

    #[test]
    fn malformed_bodies_do_not_panic() {
        // A Bind whose body stops short, a Parse without terminators.
        for raw in [&b"B\x00\x00\x00\x04"[..], b"P\x00\x00\x00\x06ab", b"E\x00\x00\x00\x05x", b"D\x00\x00\x00\x04"] {
            let _ = decode(BytesMut::from(raw));
        }
    }
}

/// What the fuzz target `pg_messages` (and the corpus replay in CI) checks: any bytes after
/// start-up, fed whole and a byte at a time, frame into the same messages and never panic.
pub mod fuzzing {
    use super::{decode, next_message, Frame};
    use bytes::BytesMut;

    /// Per message: its type and whether it decoded; `true` at the end if a bad length closed
    /// the connection.
    pub type Outcome = (Vec<(u8, bool)>, bool);

    pub fn frame_in_pieces(data: &[u8], piece: usize) -> Outcome {
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in data.chunks(piece.max(1)) {
            buf.extend_from_slice(chunk);
            loop {
                match next_message(&mut buf) {
                    Frame::Incomplete => break,
                    Frame::BadLength => return (out, true),
                    Frame::Message(t, m) => out.push((t, decode(m).is_some())),
                }
            }
        }
        (out, false)
    }

    pub fn check(data: &[u8]) {
        let whole = frame_in_pieces(data, data.len());
        let bytewise = frame_in_pieces(data, 1);
        assert_eq!(whole, bytewise, "framing depends on how the bytes arrive");
    }

    #[cfg(test)]
    mod tests {
        /// Replays the committed corpus, then 20,000 seeded mutations of it (byte flips,
        /// truncations, splices): fuzzing's cheap cousin, run in CI where nightly is not.
        #[test]
        fn corpus_and_mutations() {
            orbit_query::fuzzing::replay("pg_messages", 5, 20_000, 5, &super::check);
        }
    }
}
