//! The functions of the `uuid-ossp` extension ([`crate::extensions`]), as RFC 4122 defines the
//! versions: uuid_generate_v1 (time and node; Orbit has no MAC address to give, so the node
//! is a random one chosen once per process with the multicast bit set, as RFC 4122 section
//! 4.5 prescribes for a node that is not a MAC), uuid_generate_v1mc (a random node per call),
//! uuid_generate_v3 (MD5 of namespace and name), uuid_generate_v4 (random), uuid_generate_v5
//! (SHA-1), uuid_nil and the namespace constants uuid_ns_dns/_url/_oid/_x500.

use md5::Digest;
use orbit_engine::table::Datum;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UuidFn {
    V1,
    V1mc,
    V3,
    V4,
    V5,
    Nil,
    NsDns,
    NsUrl,
    NsOid,
    NsX500,
}

impl UuidFn {
    pub fn of_name(name: &str) -> Option<UuidFn> {
        Some(match name {
            "uuid_generate_v1" => UuidFn::V1,
            "uuid_generate_v1mc" => UuidFn::V1mc,
            "uuid_generate_v3" => UuidFn::V3,
            "uuid_generate_v4" => UuidFn::V4,
            "uuid_generate_v5" => UuidFn::V5,
            "uuid_nil" => UuidFn::Nil,
            "uuid_ns_dns" => UuidFn::NsDns,
            "uuid_ns_url" => UuidFn::NsUrl,
            "uuid_ns_oid" => UuidFn::NsOid,
            "uuid_ns_x500" => UuidFn::NsX500,
            _ => return None,
        })
    }

    /// How many arguments it takes: (namespace uuid, name text) for v3 and v5, none else.
    pub fn arity(self) -> usize {
        if matches!(self, UuidFn::V3 | UuidFn::V5) {
            2
        } else {
            0
        }
    }

    /// Whether two calls may differ (v1, v1mc, v4).
    pub fn is_volatile(self) -> bool {
        matches!(self, UuidFn::V1 | UuidFn::V1mc | UuidFn::V4)
    }
}

/// The namespace UUIDs of RFC 4122 appendix C; the last byte of the first group differs.
fn namespace(last: u8) -> [u8; 16] {
    [0x6b, 0xa7, 0xb8, last, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8]
}

/// RFC 4122's 60-bit timestamp (100 ns intervals since 1582-10-15) and a 14-bit clock sequence
/// with `node`.
fn time_based(node: [u8; 6]) -> [u8; 16] {
    static CLOCK_SEQ: OnceLock<AtomicU16> = OnceLock::new();
    const GREGORIAN_OFFSET: u64 = 0x01B2_1DD2_1381_4000;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let ts = (now.as_nanos() / 100) as u64 + GREGORIAN_OFFSET;
    // A new clock sequence value per call keeps two calls in one 100 ns tick apart.
    let seq = CLOCK_SEQ.get_or_init(|| AtomicU16::new(rand::random())).fetch_add(1, Ordering::Relaxed) & 0x3fff;
    let mut u = [0u8; 16];
    u[0..4].copy_from_slice(&((ts & 0xffff_ffff) as u32).to_be_bytes());
    u[4..6].copy_from_slice(&(((ts >> 32) & 0xffff) as u16).to_be_bytes());
    u[6..8].copy_from_slice(&((((ts >> 48) & 0x0fff) as u16) | 0x1000).to_be_bytes());
    u[8] = ((seq >> 8) as u8 & 0x3f) | 0x80;
    u[9] = seq as u8;
    u[10..16].copy_from_slice(&node);
    u
}

fn random_node() -> [u8; 6] {
    let mut n: [u8; 6] = rand::random();
    n[0] |= 0x01;
    n
}

/// A name-based UUID: the hash of namespace and name, with `version`.
fn name_based(digest: &[u8], version: u8) -> [u8; 16] {
    let mut u = [0u8; 16];
    u.copy_from_slice(&digest[..16]);
    u[6] = (u[6] & 0x0f) | (version << 4);
    u[8] = (u[8] & 0x3f) | 0x80;
    u
}

pub fn call(f: UuidFn, args: &[Datum]) -> Datum {
    static NODE: OnceLock<[u8; 6]> = OnceLock::new();
    let uuid = match f {
        UuidFn::V1 => time_based(*NODE.get_or_init(random_node)),
        UuidFn::V1mc => time_based(random_node()),
        UuidFn::V4 => crate::types::random_uuid(),
        UuidFn::V3 | UuidFn::V5 => {
            let (Some(Datum::Uuid(ns)), Some(Datum::Text(name))) = (args.first(), args.get(1)) else {
                return Datum::Null;
            };
            if f == UuidFn::V3 {
                let mut h = md5::Md5::new();
                h.update(ns);
                h.update(name.as_bytes());
                name_based(&h.finalize(), 3)
            } else {
                let mut h = sha1_smol::Sha1::new();
                h.update(ns);
                h.update(name.as_bytes());
                name_based(&h.digest().bytes(), 5)
            }
        }
        UuidFn::Nil => [0u8; 16],
        UuidFn::NsDns => namespace(0x10),
        UuidFn::NsUrl => namespace(0x11),
        UuidFn::NsOid => namespace(0x12),
        UuidFn::NsX500 => namespace(0x14),
    };
    Datum::Uuid(uuid)
}
