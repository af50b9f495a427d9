//! Which key a request touches: uniform over the key space, or zipfian (a few keys hot, a long
//! tail cold), and how a key index is written as a key name.

use rand::Rng;

/// Zipfian ranks in `0..n` with skew `theta` (0 < theta < 1), drawn in O(1) per sample with the
/// method of Gray et al., "Quickly Generating Billion-Record Synthetic Databases" (SIGMOD 1994),
/// as YCSB's `ZipfianGenerator` implements it. Rank 0 is the most popular:
/// P(rank i) = (1 / (i+1)^theta) / zeta(n, theta).
#[derive(Debug, Clone)]
pub struct Zipfian {
    n: u64,
    theta: f64,
    alpha: f64,
    zeta_n: f64,
    eta: f64,
    /// 1 + 0.5^theta: below it (scaled by zeta_n) the sample is rank 1.
    half_pow_theta_plus_1: f64,
}

/// zeta(n, theta) = sum over i in 1..=n of 1 / i^theta.
pub fn zeta(n: u64, theta: f64) -> f64 {
    (1..=n).map(|i| 1.0 / (i as f64).powf(theta)).sum()
}

impl Zipfian {
    /// `n` >= 1 items; `theta` in (0, 1). YCSB's default theta is 0.99.
    pub fn new(n: u64, theta: f64) -> Zipfian {
        assert!(n >= 1, "zipfian over an empty key space");
        assert!(theta > 0.0 && theta < 1.0, "zipfian theta must be in (0, 1)");
        let zeta_n = zeta(n, theta);
        let zeta_2 = zeta(2.min(n), theta);
        let eta = if n >= 2 { (1.0 - (2.0 / n as f64).powf(1.0 - theta)) / (1.0 - zeta_2 / zeta_n) } else { 0.0 };
        Zipfian { n, theta, alpha: 1.0 / (1.0 - theta), zeta_n, eta, half_pow_theta_plus_1: 1.0 + 0.5f64.powf(theta) }
    }

    /// The probability the method gives rank `i` exactly for ranks 0 and 1 (later ranks are
    /// approximated by the closed form).
    pub fn probability(&self, rank: u64) -> f64 {
        1.0 / ((rank + 1) as f64).powf(self.theta) / self.zeta_n
    }

    pub fn sample(&self, rng: &mut impl Rng) -> u64 {
        let u: f64 = rng.gen();
        let uz = u * self.zeta_n;
        if uz < 1.0 {
            return 0;
        }
        if uz < self.half_pow_theta_plus_1 && self.n >= 2 {
            return 1;
        }
        let rank = (self.n as f64 * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64;
        rank.min(self.n - 1)
    }
}

/// How keys are drawn from `0..n`.
#[derive(Debug, Clone)]
pub enum KeyDist {
    Uniform(u64),
    /// Zipfian ranks, scattered over the key space by a hash (YCSB's "scrambled zipfian") so
    /// the hot keys do not all sit next to each other — and so do not all hash to one shard.
    Zipfian(Zipfian),
}

impl KeyDist {
    pub fn sample(&self, rng: &mut impl Rng) -> u64 {
        match self {
            KeyDist::Uniform(n) => rng.gen_range(0..*n),
            KeyDist::Zipfian(z) => fnv1a64(z.sample(rng)) % z.n,
        }
    }
}

/// FNV-1a over the 8 little-endian bytes of `v` (YCSB scrambles with FNV too).
pub fn fnv1a64(v: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in v.to_le_bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Writes `prefix` and `index` zero-padded to 12 digits (redis-benchmark's `key:000000012345`
/// form) into `out`, returning the bytes written.
pub fn key_name<'a>(out: &'a mut [u8; 48], prefix: &[u8], index: u64) -> &'a [u8] {
    let p = prefix.len().min(out.len() - 20);
    out[..p].copy_from_slice(&prefix[..p]);
    let mut digits = [b'0'; 20];
    let mut i = digits.len();
    let mut n = index;
    while n > 0 {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let width = (digits.len() - i).max(12);
    out[p..p + width].copy_from_slice(&digits[digits.len() - width..]);
    &out[..p + width]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    /// Over a fixed seed, the share of samples that are rank 0 and rank 1 matches the theory
    /// (these two ranks the method draws exactly), and the head of the distribution holds the
    /// mass zipf says it should.
    #[test]
    fn zipfian_matches_theory() {
        let n = 1000;
        let z = Zipfian::new(n, 0.99);
        let mut rng = SmallRng::seed_from_u64(7);
        let samples = 1_000_000;
        let mut counts = vec![0u64; n as usize];
        for _ in 0..samples {
            let r = z.sample(&mut rng);
            assert!(r < n);
            counts[r as usize] += 1;
        }
        for rank in [0u64, 1] {
            let seen = counts[rank as usize] as f64 / samples as f64;
            let want = z.probability(rank);
            assert!((seen - want).abs() / want < 0.02, "rank {rank}: seen {seen}, theory {want}");
        }
        // zeta(1000, 0.99) ~ 7.4, so rank 0 alone is ~13% of all requests.
        assert!((0.12..0.15).contains(&z.probability(0)), "{}", z.probability(0));
        // The 10 hottest ranks: closed form is approximate beyond rank 1, so a looser bound.
        let head: u64 = counts[..10].iter().sum();
        let want: f64 = (0..10).map(|r| z.probability(r)).sum();
        let seen = head as f64 / samples as f64;
        assert!((seen - want).abs() / want < 0.10, "top 10: seen {seen}, theory {want}");
        // Popularity falls with rank.
        assert!(counts[0] > counts[1] && counts[1] > counts[10] && counts[10] > counts[500]);
    }

    #[test]
    fn zipfian_edge_sizes() {
        let mut rng = SmallRng::seed_from_u64(1);
        let one = Zipfian::new(1, 0.99);
        assert!((0..1000).all(|_| one.sample(&mut rng) == 0));
        let two = Zipfian::new(2, 0.5);
        assert!((0..1000).all(|_| two.sample(&mut rng) < 2));
    }

    #[test]
    fn uniform_and_scrambled_stay_in_range() {
        let mut rng = SmallRng::seed_from_u64(3);
        let u = KeyDist::Uniform(10);
        let z = KeyDist::Zipfian(Zipfian::new(10, 0.99));
        for _ in 0..10_000 {
            assert!(u.sample(&mut rng) < 10);
            assert!(z.sample(&mut rng) < 10);
        }
    }

    #[test]
    fn key_names_are_zero_padded() {
        let mut buf = [0u8; 48];
        assert_eq!(key_name(&mut buf, b"key:", 12345), b"key:000000012345");
        assert_eq!(key_name(&mut buf, b"k", 0), b"k000000000000");
        assert_eq!(key_name(&mut buf, b"", 1234567890123), b"1234567890123");
    }
}
