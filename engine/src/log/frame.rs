//! The frame around every log and snapshot record (byte layout in docs/DURABILITY.md):
//!
//! ```text
//! 0   u32 LE  body length in bytes
//! 4   u32 LE  CRC32C of bytes 0..4 followed by bytes 8..20+len (kind, reserved, seq, body)
//! 8   u16 LE  record kind (see [`Kind`])
//! 10  u16     reserved, zero
//! 12  u64 LE  sequence number (consecutive within a file, and across a shard's log files)
//! 20  body    a flatbuffer whose root table the kind names
//! ```
//!
//! [`scan`] walks a buffer of frames and says how it ends: cleanly (end of data or zero
//! padding), torn (a partial or damaged frame with nothing valid after it: a write that a crash
//! cut short) or corrupt (a damaged frame followed by a valid later one: damage in the middle,
//! which replay must not skip silently).

use std::fmt;

pub const HEADER_BYTES: usize = 20;

/// Record kinds, grouped by data model (see engine/schema/log.fbs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Kind {
    RedisCommand = 1,
    RedisPut = 2,
    RedisDelete = 3,
    LogHeader = 16,
    SnapshotBegin = 17,
    SnapshotEnd = 18,
    TableCreate = 32,
    TableDrop = 33,
    RowPut = 34,
    RowDelete = 35,
    TableSwap = 36,
    TxnPrepare = 37,
    TxnCommit = 38,
    TxnResolve = 39,
    TableRename = 40,
}

impl Kind {
    pub fn from_u16(v: u16) -> Option<Kind> {
        Some(match v {
            1 => Kind::RedisCommand,
            2 => Kind::RedisPut,
            3 => Kind::RedisDelete,
            16 => Kind::LogHeader,
            17 => Kind::SnapshotBegin,
            18 => Kind::SnapshotEnd,
            32 => Kind::TableCreate,
            33 => Kind::TableDrop,
            34 => Kind::RowPut,
            35 => Kind::RowDelete,
            36 => Kind::TableSwap,
            37 => Kind::TxnPrepare,
            38 => Kind::TxnCommit,
            39 => Kind::TxnResolve,
            40 => Kind::TableRename,
            _ => return None,
        })
    }
}

/// Appends one frame holding `body` to `out`.
pub fn encode(out: &mut Vec<u8>, kind: Kind, seq: u64, body: &[u8]) {
    let len = u32::try_from(body.len()).expect("record body over 4 GiB");
    let start = out.len();
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&(kind as u16).to_le_bytes());
    out.extend_from_slice(&[0u8; 2]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(body);
    let crc = checksum(&out[start..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// The CRC32C of a whole frame, its own CRC field excluded.
fn checksum(frame: &[u8]) -> u32 {
    let c = crc32c::crc32c(&frame[0..4]);
    crc32c::crc32c_append(c, &frame[8..])
}

/// One decoded frame, borrowing its body from the scanned buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub kind: Kind,
    pub seq: u64,
    pub body: &'a [u8],
    /// Offset of the frame's first byte in the scanned buffer.
    pub offset: usize,
}

impl Frame<'_> {
    pub fn len(&self) -> usize {
        HEADER_BYTES + self.body.len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

/// How a scan ended. Every variant carries the offset where valid data stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// End of the buffer or zero padding after the last frame.
    Clean { offset: usize },
    /// A partial or damaged frame with nothing valid after it.
    Torn { offset: usize, reason: String },
    /// A damaged frame with a valid frame after it.
    Corrupt { offset: usize, reason: String },
}

impl End {
    pub fn offset(&self) -> usize {
        match self {
            End::Clean { offset } | End::Torn { offset, .. } | End::Corrupt { offset, .. } => *offset,
        }
    }
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            End::Clean { offset } => write!(f, "clean end at offset {offset}"),
            End::Torn { offset, reason } => write!(f, "torn record at offset {offset}: {reason}"),
            End::Corrupt { offset, reason } => write!(f, "corrupt record at offset {offset}: {reason}"),
        }
    }
}

/// Tries to decode the frame at `pos`. `expect_seq`, when given, is the only sequence number
/// accepted; otherwise any sequence number greater than `after_seq` is.
fn frame_at(buf: &[u8], pos: usize, expect_seq: Option<u64>, after_seq: Option<u64>) -> Result<Frame<'_>, String> {
    let rest = &buf[pos..];
    if rest.len() < HEADER_BYTES {
        return Err(format!("{} bytes left, a frame header needs {HEADER_BYTES}", rest.len()));
    }
    let len = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
    let kind_raw = u16::from_le_bytes(rest[8..10].try_into().expect("2 bytes"));
    let reserved = u16::from_le_bytes(rest[10..12].try_into().expect("2 bytes"));
    let seq = u64::from_le_bytes(rest[12..20].try_into().expect("8 bytes"));
    let Some(kind) = Kind::from_u16(kind_raw) else {
        return Err(format!("unknown record kind {kind_raw}"));
    };
    if reserved != 0 {
        return Err("reserved header bits are set".into());
    }
    match (expect_seq, after_seq) {
        (Some(e), _) if seq != e => return Err(format!("sequence number {seq}, expected {e}")),
        (None, Some(a)) if seq <= a => return Err(format!("sequence number {seq} not after {a}")),
        _ => {}
    }
    if len > rest.len() - HEADER_BYTES {
        return Err(format!("body of {len} bytes runs past the end ({} left)", rest.len() - HEADER_BYTES));
    }
    let frame = &rest[..HEADER_BYTES + len];
    let actual = checksum(frame);
    if actual != crc {
        return Err(format!("checksum mismatch (stored {crc:08x}, computed {actual:08x})"));
    }
    Ok(Frame { kind, seq, body: &frame[HEADER_BYTES..], offset: pos })
}

/// Is there any valid frame after `from` with a sequence number after `last_seq`? (Decides
/// between a torn tail and damage in the middle.)
fn valid_frame_after(buf: &[u8], from: usize, last_seq: Option<u64>) -> Option<usize> {
    let mut p = from + 1;
    while p + HEADER_BYTES <= buf.len() {
        // Cheap header checks first; the CRC only where they pass.
        let kind = u16::from_le_bytes([buf[p + 8], buf[p + 9]]);
        if Kind::from_u16(kind).is_some()
            && buf[p + 10] == 0
            && buf[p + 11] == 0
            && frame_at(buf, p, None, last_seq).is_ok()
        {
            return Some(p);
        }
        p += 1;
    }
    None
}

/// Walks the frames of `buf` in order, calling `f` for each, and says how the data ends.
/// `first_seq` is the sequence number the first frame must carry (None: any); each later frame
/// must carry the next number. An error from `f` stops the scan and is returned as is.
pub fn scan<'a, E>(
    buf: &'a [u8],
    first_seq: Option<u64>,
    mut f: impl FnMut(Frame<'a>) -> Result<(), E>,
) -> Result<End, E> {
    let mut pos = 0;
    let mut expect = first_seq;
    let mut last: Option<u64> = first_seq.and_then(|s| s.checked_sub(1));
    loop {
        if pos == buf.len() {
            return Ok(End::Clean { offset: pos });
        }
        match frame_at(buf, pos, expect, None) {
            Ok(frame) => {
                pos += frame.len();
                expect = Some(frame.seq + 1);
                last = Some(frame.seq);
                f(frame)?;
            }
            Err(reason) => {
                if let Some(at) = valid_frame_after(buf, pos, last) {
                    return Ok(End::Corrupt {
                        offset: pos,
                        reason: format!("{reason}; a valid record follows at offset {at}"),
                    });
                }
                if buf[pos..].iter().all(|&b| b == 0) {
                    return Ok(End::Clean { offset: pos });
                }
                return Ok(End::Torn { offset: pos, reason });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<u8>, Vec<usize>) {
        let mut buf = Vec::new();
        let mut starts = Vec::new();
        for i in 0..12u64 {
            starts.push(buf.len());
            let body: Vec<u8> = (0..(i * 7 % 23) as u8).collect();
            let kind = [Kind::RedisCommand, Kind::RedisPut, Kind::RedisDelete][i as usize % 3];
            encode(&mut buf, kind, 100 + i, &body);
        }
        (buf, starts)
    }

    fn collect(buf: &[u8]) -> (Vec<(Kind, u64, Vec<u8>)>, End) {
        let mut out = Vec::new();
        let end = scan::<()>(buf, Some(100), |f| {
            out.push((f.kind, f.seq, f.body.to_vec()));
            Ok(())
        })
        .unwrap();
        (out, end)
    }

    #[test]
    fn round_trip() {
        let (buf, _) = sample();
        let (frames, end) = collect(&buf);
        assert_eq!(end, End::Clean { offset: buf.len() });
        assert_eq!(frames.len(), 12);
        for (i, (kind, seq, body)) in frames.iter().enumerate() {
            assert_eq!(*seq, 100 + i as u64);
            assert_eq!(*kind, [Kind::RedisCommand, Kind::RedisPut, Kind::RedisDelete][i % 3]);
            assert_eq!(body.len(), i * 7 % 23);
        }
    }

    #[test]
    fn zero_padding_is_a_clean_end() {
        let (mut buf, _) = sample();
        let len = buf.len();
        buf.resize(len + 4096, 0);
        let (frames, end) = collect(&buf);
        assert_eq!(frames.len(), 12);
        assert_eq!(end, End::Clean { offset: len });
    }

    #[test]
    fn torn_tail_at_every_byte_offset() {
        let (buf, starts) = sample();
        for cut in 0..buf.len() {
            let (frames, end) = collect(&buf[..cut]);
            // Frames wholly before the cut survive.
            let whole = starts
                .iter()
                .zip(starts.iter().skip(1).chain(std::iter::once(&buf.len())))
                .filter(|(_, &e)| e <= cut)
                .count();
            assert_eq!(frames.len(), whole, "cut at {cut}");
            if starts.contains(&cut) {
                assert_eq!(end, End::Clean { offset: cut }, "cut at {cut}");
            } else {
                // A partial frame is torn; one whose bytes so far are all zero cannot be told
                // from padding and reads as a clean end. Both cut the log at the same offset.
                let at = starts[whole];
                if buf[at..cut].iter().all(|&b| b == 0) {
                    assert_eq!(end, End::Clean { offset: at }, "cut at {cut}");
                } else {
                    assert!(matches!(end, End::Torn { offset, .. } if offset == at), "cut at {cut}: {end}");
                }
            }
        }
    }

    #[test]
    fn torn_tail_with_garbage_after_it() {
        let (mut buf, starts) = sample();
        let last = *starts.last().unwrap();
        buf.truncate(last + 5);
        buf.extend_from_slice(&[0xAB; 100]);
        let (frames, end) = collect(&buf);
        assert_eq!(frames.len(), 11);
        assert!(matches!(end, End::Torn { offset, .. } if offset == last), "{end}");
    }

    #[test]
    fn flipped_bit_in_the_middle_is_corruption_at_its_frame() {
        let (buf, starts) = sample();
        // Every byte of every frame but the last; one bit each.
        let last = *starts.last().unwrap();
        for byte in 0..last {
            let mut b = buf.clone();
            b[byte] ^= 1 << (byte % 8);
            let frame_start = *starts.iter().rfind(|&&s| s <= byte).unwrap();
            let (frames, end) = collect(&b);
            assert_eq!(frames.len(), starts.iter().position(|&s| s == frame_start).unwrap(), "flip at {byte}");
            assert!(
                matches!(&end, End::Corrupt { offset, .. } if *offset == frame_start),
                "flip at byte {byte}: {end}"
            );
        }
    }

    #[test]
    fn flipped_bit_in_the_last_frame_reads_as_torn() {
        let (mut buf, starts) = sample();
        let last = *starts.last().unwrap();
        buf[last + 14] ^= 0x10;
        let (frames, end) = collect(&buf);
        assert_eq!(frames.len(), 11);
        assert!(matches!(end, End::Torn { offset, .. } if offset == last), "{end}");
    }

    #[test]
    fn wrong_first_sequence_is_rejected() {
        let (buf, _) = sample();
        let end = scan::<()>(&buf, Some(7), |_| Ok(())).unwrap();
        assert!(matches!(end, End::Torn { offset: 0, .. } | End::Corrupt { offset: 0, .. }), "{end}");
    }
}
