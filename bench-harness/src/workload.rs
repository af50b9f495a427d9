//! The RESP workloads: which command each request sends, drawn from a seeded generator so the
//! same seed gives every server the same sequence of commands on each connection.

use crate::keys::{key_name, KeyDist};
use crate::resp::push_command;
use clap::ValueEnum;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// GET (read) and SET (write) on string keys `key:N`.
    GetSet,
    /// INCR on counters `counter:N` (every request reads and writes).
    Incr,
    /// LPUSH (write) and RPOP (read) on lists `list:N`.
    LpushRpop,
    /// ZADD member score (write) and ZRANGE 0 9 (read) on sorted sets `zset:N`.
    ZaddZrange,
    /// Each request picks a family at random: strings GET/SET, INCR, hashes HGET/HSET, lists
    /// RPOP/LPUSH, sets SISMEMBER/SADD, sorted sets ZRANGE/ZADD; then read or write by the mix.
    Mixed,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::GetSet => "get-set",
            Workload::Incr => "incr",
            Workload::LpushRpop => "lpush-rpop",
            Workload::ZaddZrange => "zadd-zrange",
            Workload::Mixed => "mixed",
        }
    }
}

/// Reads to writes, e.g. 10:1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mix {
    pub reads: u32,
    pub writes: u32,
}

impl std::str::FromStr for Mix {
    type Err = String;
    fn from_str(s: &str) -> Result<Mix, String> {
        let bad = || format!("'{s}' is not READS:WRITES, e.g. 1:1 or 10:1");
        let (r, w) = s.split_once(':').ok_or_else(bad)?;
        let mix = Mix { reads: r.trim().parse().map_err(|_| bad())?, writes: w.trim().parse().map_err(|_| bad())? };
        if mix.reads == 0 && mix.writes == 0 {
            return Err(bad());
        }
        Ok(mix)
    }
}

impl std::fmt::Display for Mix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.reads, self.writes)
    }
}

/// Everything that shapes the commands sent.
#[derive(Debug, Clone)]
pub struct Shape {
    pub workload: Workload,
    pub mix: Mix,
    pub keys: KeyDist,
    pub value_size: usize,
    /// Distinct members per sorted set and set (scores and members are drawn from `0..members`).
    pub members: u64,
}

/// One connection's command source.
pub struct CommandGen {
    shape: Shape,
    rng: SmallRng,
    value: Vec<u8>,
    key: [u8; 48],
    arg: [u8; 48],
}

impl CommandGen {
    /// `stream` tells connections apart: each gets its own sequence derived from the seed.
    pub fn new(shape: Shape, seed: u64, stream: u64) -> CommandGen {
        let rng = SmallRng::seed_from_u64(seed ^ stream.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let value = vec![b'x'; shape.value_size];
        CommandGen { shape, rng, value, key: [0; 48], arg: [0; 48] }
    }

    fn is_read(&mut self) -> bool {
        let Mix { reads, writes } = self.shape.mix;
        self.rng.gen_range(0..reads + writes) < reads
    }

    /// Appends the next command to `out`.
    pub fn push_next(&mut self, out: &mut Vec<u8>) {
        let family = match self.shape.workload {
            Workload::GetSet => 0,
            Workload::Incr => 1,
            Workload::LpushRpop => 3,
            Workload::ZaddZrange => 5,
            Workload::Mixed => self.rng.gen_range(0..6),
        };
        let mixed = self.shape.workload == Workload::Mixed;
        let read = self.is_read();
        let index = self.shape.keys.sample(&mut self.rng);
        // In the mixed workload each family has its own key prefix, so no request meets a key
        // of another type (WRONGTYPE would measure the error path, not the family).
        let prefix: &[u8] = match (family, mixed) {
            (0, false) => b"key:",
            (0, true) => b"str:",
            (1, _) => b"counter:",
            (2, _) => b"hash:",
            (3, _) => b"list:",
            (4, _) => b"set:",
            _ => b"zset:",
        };
        let member = self.rng.gen_range(0..self.shape.members);
        let key = key_name(&mut self.key, prefix, index);
        let arg = key_name(&mut self.arg, b"m:", member);
        match (family, read) {
            (0, true) => push_command(out, &[b"GET", key]),
            (0, false) => push_command(out, &[b"SET", key, &self.value]),
            (1, _) => push_command(out, &[b"INCR", key]),
            (2, true) => push_command(out, &[b"HGET", key, arg]),
            (2, false) => push_command(out, &[b"HSET", key, arg, &self.value]),
            (3, true) => push_command(out, &[b"RPOP", key]),
            (3, false) => push_command(out, &[b"LPUSH", key, &self.value]),
            (4, true) => push_command(out, &[b"SISMEMBER", key, arg]),
            (4, false) => push_command(out, &[b"SADD", key, arg]),
            (_, true) => push_command(out, &[b"ZRANGE", key, b"0", b"9"]),
            (_, false) => {
                let mut score = [0u8; 20];
                let score = decimal(&mut score, member);
                push_command(out, &[b"ZADD", key, score, arg])
            }
        }
    }
}

fn decimal(out: &mut [u8; 20], mut n: u64) -> &[u8] {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &out[i..];
        }
    }
}

/// Commands that fill the key space before a read-heavy run, so GET and HGET find values
/// (a GET of a missing key is a cheaper request than the one the workload means to measure).
pub fn preload_commands(
    workload: Workload,
    keys: u64,
    value_size: usize,
    members: u64,
    mut each: impl FnMut(&[u8], usize),
) {
    let value = vec![b'x'; value_size];
    let mut k = [0u8; 48];
    let mut f = [0u8; 48];
    let mut buf = Vec::with_capacity(128);
    for i in 0..keys {
        buf.clear();
        match workload {
            Workload::GetSet => {
                push_command(&mut buf, &[b"SET", key_name(&mut k, b"key:", i), &value]);
                each(&buf, 1);
            }
            Workload::Mixed => {
                push_command(&mut buf, &[b"SET", key_name(&mut k, b"str:", i), &value]);
                let field = key_name(&mut f, b"m:", i % members.max(1));
                push_command(&mut buf, &[b"HSET", key_name(&mut k, b"hash:", i), field, &value]);
                each(&buf, 2);
            }
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::parse_reply;

    fn shape(workload: Workload, mix: &str) -> Shape {
        Shape { workload, mix: mix.parse().unwrap(), keys: KeyDist::Uniform(100), value_size: 3, members: 10 }
    }

    /// Decodes the commands in `buf` (a command is an array of bulk strings, which the reply
    /// reader parses too) and returns their names.
    fn names(buf: &[u8]) -> Vec<String> {
        let mut at = 0;
        let mut out = Vec::new();
        while at < buf.len() {
            let (n, r) = parse_reply(&buf[at..]).unwrap().unwrap();
            let crate::resp::Reply::Array(Some(args)) = r else { panic!("not an array") };
            out.push(args[0].as_text().unwrap());
            at += n;
        }
        out
    }

    #[test]
    fn mix_parses_and_is_honoured() {
        assert!("1:x".parse::<Mix>().is_err());
        assert!("0:0".parse::<Mix>().is_err());
        let mut g = CommandGen::new(shape(Workload::GetSet, "10:1"), 1, 0);
        let mut buf = Vec::new();
        for _ in 0..11_000 {
            g.push_next(&mut buf);
        }
        let n = names(&buf);
        let gets = n.iter().filter(|c| *c == "GET").count();
        let sets = n.iter().filter(|c| *c == "SET").count();
        assert_eq!(gets + sets, 11_000);
        // 10:1 reads to writes: 10/11 of 11000 is 10000; a fixed seed keeps this exact run close.
        assert!((9_700..10_300).contains(&gets), "{gets} GETs");
    }

    #[test]
    fn same_seed_same_commands_other_stream_other_commands() {
        let run = |stream| {
            let mut g = CommandGen::new(shape(Workload::Mixed, "1:1"), 42, stream);
            let mut buf = Vec::new();
            for _ in 0..200 {
                g.push_next(&mut buf);
            }
            buf
        };
        assert_eq!(run(0), run(0));
        assert_ne!(run(0), run(1));
        let all = names(&run(0));
        for family in ["GET", "SET", "INCR", "HGET", "HSET", "RPOP", "LPUSH", "SISMEMBER", "SADD", "ZRANGE", "ZADD"] {
            assert!(all.iter().any(|c| c == family), "mixed never sent {family}");
        }
    }

    #[test]
    fn preload_covers_the_key_space() {
        let mut n = 0;
        preload_commands(Workload::GetSet, 5, 3, 10, |c, count| {
            assert_eq!(count, 1);
            assert!(c.starts_with(b"*3\r\n$3\r\nSET\r\n$16\r\nkey:00000000000"));
            n += 1;
        });
        assert_eq!(n, 5);
        preload_commands(Workload::Incr, 5, 3, 10, |_, _| panic!("nothing to preload for INCR"));
    }
}
