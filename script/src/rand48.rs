//! Redis's `rand.c`: the drand48 generator behind `math.random` in scripts, so a script sees the
//! numbers Redis 7.0 would give (the state is not reseeded per script in 7.0).

const A: u64 = 0x5_DEEC_E66D;
const C: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;
/// REDIS_LRAND48_MAX
const LRAND48_MAX: i64 = i32::MAX as i64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rand48 {
    x: u64,
}

impl Rand48 {
    /// The state Redis starts with (X2 X1 X0 = 0x1234 0xABCD 0x330E).
    pub fn new() -> Rand48 {
        Rand48 { x: 0x1234_ABCD_330E }
    }

    /// `redisSrand48`.
    pub fn seeded(seed: i32) -> Rand48 {
        Rand48 { x: ((seed as u32 as u64) << 16) | 0x330E }
    }

    /// `redisLrand48`: the next 31-bit value.
    pub fn next_lrand48(&mut self) -> i64 {
        self.x = (A.wrapping_mul(self.x).wrapping_add(C)) & MASK;
        ((self.x >> 17) & 0x7fff_ffff) as i64
    }

    /// The `r` of `redis_math_random`: a number in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_lrand48() % LRAND48_MAX) as f64 / LRAND48_MAX as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_values_match_a_fresh_redis() {
        // A fresh redis-server 7.0.15: EVAL "return {math.random(1000), math.random(1000),
        // tostring(math.random())}" 0 -> 397, 841, "0.35333609737146".
        let mut r = Rand48::new();
        assert_eq!((r.next_f64() * 1000.0).floor() + 1.0, 397.0);
        assert_eq!((r.next_f64() * 1000.0).floor() + 1.0, 841.0);
        assert_eq!(orbit_engine::value::fmt_g(r.next_f64(), 14), "0.35333609737146");
    }
}
