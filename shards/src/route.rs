//! Key routing: which shard owns a key. The hash is Redis Cluster's CRC16 slot (so a future
//! cluster mode keeps the same slots), honouring hash tags: in `{user1}.a` only `user1` is
//! hashed, so related keys live on one shard. The slot is then spread over the shards.

pub type ShardId = usize;

/// Number of Redis Cluster hash slots.
pub const SLOTS: u16 = 16384;

/// The part of a key that is hashed: the first non-empty `{...}` section, else the whole key.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = memchr_byte(b'{', key) {
        if let Some(close) = memchr_byte(b'}', &key[open + 1..]) {
            if close > 0 {
                return &key[open + 1..open + 1 + close];
            }
        }
    }
    key
}

fn memchr_byte(b: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|&c| c == b)
}

/// Redis Cluster's key slot: CRC16-XMODEM of the hash tag, mod 16384.
pub fn key_slot(key: &[u8]) -> u16 {
    crc16(hash_tag(key)) % SLOTS
}

/// The shard that owns `key` among `shards` shards.
#[inline]
pub fn shard_for(key: &[u8], shards: usize) -> ShardId {
    if shards <= 1 {
        return 0;
    }
    key_slot(key) as usize % shards
}

/// The shard that owns a SQL row with this encoded primary key: CRC16 of the key modulo the
/// 16384 slots, then modulo the shard count (Redis Cluster's slot hash, without hash tags).
pub fn shard_for_row(key: &[u8], shards: usize) -> ShardId {
    if shards <= 1 {
        return 0;
    }
    (crc16(key) % SLOTS) as usize % shards
}

static CRC16_TABLE: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut j = 0;
        while j < 8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
            j += 1;
        }
        t[i] = crc;
        i += 1;
    }
    t
};

/// CRC16-CCITT (XMODEM), the checksum Redis Cluster uses for slots.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc = (crc << 8) ^ CRC16_TABLE[((crc >> 8) as u8 ^ b) as usize];
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis_cluster() {
        // Values from `CLUSTER KEYSLOT` on a real Redis.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"123456789"), 12739);
        assert_eq!(crc16(b"123456789"), 0x31C3);
    }

    #[test]
    fn hash_tags() {
        assert_eq!(hash_tag(b"{user1}.a"), b"user1");
        assert_eq!(hash_tag(b"{user1}.b"), b"user1");
        assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
        assert_eq!(shard_for(b"{user1}.a", 7), shard_for(b"{user1}.b", 7));
    }

    #[test]
    fn keys_spread_over_shards() {
        let mut counts = [0usize; 4];
        for i in 0..10_000 {
            counts[shard_for(format!("key:{i}").as_bytes(), 4)] += 1;
        }
        for c in counts {
            assert!(c > 2000, "uneven spread: {counts:?}");
        }
    }
}
