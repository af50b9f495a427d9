//! Seeded generators of random Redis commands, one per command family. Keys come from small
//! pools (so commands collide, and hash-tagged keys land on one shard while plain keys spread
//! over shards); arguments mix valid values with the invalid ones Redis must reject (non-numbers,
//! out-of-range numbers, unknown options, wrong arity), binary data and the odd huge value.
//! Each command carries how its reply is compared ([`Cmp`]): exactly, unless Redis leaves the
//! order or the choice unspecified.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How the replies of Redis and Orbit to one command are compared. In every mode an error reply
/// on either side is compared exactly.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmp {
    Exact,
    /// Order unspecified (SMEMBERS, SINTER, KEYS, ...): the elements as a multiset.
    Unordered,
    /// Field/value pairs in unspecified order (HGETALL of a large hash): a multiset of pairs,
    /// still telling a flat RESP2 array from RESP3 nested pairs or a map.
    UnorderedPairs,
    /// A random choice (SRANDMEMBER, RANDOMKEY, ...): equal once every string is blanked out.
    Shape,
    /// A random choice that changed the key (SPOP with a small count): compared as `Shape`,
    /// then the key is deleted on both sides so that they hold the same data again.
    ShapeThenDel(Vec<u8>),
    /// Time to live (TTL, PTTL, EXPIRETIME): integers within this distance, as the servers
    /// run the command a few milliseconds apart.
    Near(i64),
    /// A SCAN-family command iterated from cursor 0 to the end (the cursor is argument
    /// `cursor_at`): everything returned, as a multiset (`pairs`: of field/value pairs).
    ScanAll {
        cursor_at: usize,
        pairs: bool,
    },
    /// One SCAN page from some cursor: errors compared exactly; the elements only when both
    /// sides finished in this page (cursor 0).
    ScanPage,
}

#[derive(Debug, Clone)]
pub struct Cmd {
    /// Commands run (and compared exactly) before this one, to set up a state it needs.
    pub pre: Vec<Vec<Vec<u8>>>,
    pub args: Vec<Vec<u8>>,
    pub cmp: Cmp,
}

/// Anything that can be a command argument.
pub trait Arg {
    fn arg(self) -> Vec<u8>;
}

impl Arg for &str {
    fn arg(self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
impl Arg for String {
    fn arg(self) -> Vec<u8> {
        self.into_bytes()
    }
}
impl Arg for Vec<u8> {
    fn arg(self) -> Vec<u8> {
        self
    }
}
impl Arg for &[u8] {
    fn arg(self) -> Vec<u8> {
        self.to_vec()
    }
}
impl Arg for &Vec<u8> {
    fn arg(self) -> Vec<u8> {
        self.clone()
    }
}
impl Arg for i64 {
    fn arg(self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

/// `args![a, b, c]`: a `Vec<Vec<u8>>` of arguments.
macro_rules! args {
    ($($x:expr),* $(,)?) => { vec![$(Arg::arg($x)),*] };
}

/// A family: its name and its generator.
pub type Family = (&'static str, fn(&mut Gen) -> Cmd);

pub const FAMILIES: &[Family] = &[
    ("strings", strings),
    ("keys", keys),
    ("bitmaps", bitmaps),
    ("hashes", hashes),
    ("lists", lists),
    ("sets", sets),
    ("zsets", zsets),
    ("hll", hll),
    ("errors", errors),
];

/// Plain keys (spread over shards) and hash-tagged keys (one shard).
const KEYS: &[&str] = &["k1", "k2", "k3", "{t}a", "{t}b", "{t}c", "key:with:colons"];

const VALUES: &[&[u8]] = &[
    b"",
    b"a",
    b"b",
    b"c",
    b"foo",
    b"bar",
    b"hello world",
    b"0",
    b"1",
    b"-1",
    b"7",
    b"10",
    b"42",
    b"3.14",
    b"-2.5",
    b"1e3",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"9223372036854775808",
    b"inf",
    b"nan",
    b"\x00",
    b"\x00\x01\xff\xfe",
    b"a\r\nb",
    b" 1",
    b"1 ",
    b"+1",
    b"01",
    b"0x10",
    b"\xc3\xa9t\xc3\xa9",
    b"*",
    b"?",
    b"[a-c]",
];

const BAD_INTS: &[&str] = &[
    "abc",
    "1.5",
    "",
    " 1",
    "1 ",
    "+1",
    "01",
    "-0",
    "0x10",
    "9223372036854775808",
    "-9223372036854775809",
    "1e3",
    "99999999999999999999999",
];

const EDGE_INTS: &[&str] = &["9223372036854775807", "-9223372036854775808", "2147483647", "-2147483648", "4294967296"];

const FLOATS: &[&str] = &[
    "0",
    "1",
    "-1",
    "1.5",
    "0.1",
    "-0.25",
    "2.5",
    "-0",
    "inf",
    "-inf",
    "+inf",
    "10",
    "1e3",
    "-1e3",
    "5.0e3",
    ".5",
    "5.",
    "3.0000000000000001",
    "1e-5",
    "123456789.123",
];

const BAD_FLOATS: &[&str] =
    &["nan", "abc", "", " 1", "1 ", "1e400", "-1e400", "0x10", "1e-400", "1,5", "1.5.1", "infinity", "NaN", "--1"];

pub struct Gen {
    rng: StdRng,
    /// Unix time (seconds) when the run started, for EXPIREAT-like arguments.
    pub now_s: u64,
}

impl Gen {
    pub fn new(seed: u64) -> Gen {
        let now_s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(1_700_000_000);
        Gen { rng: StdRng::seed_from_u64(seed), now_s }
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p.clamp(0.0, 1.0))
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.rng.gen_range(0..n.max(1))
    }

    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng.gen_range(lo..=hi)
    }

    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }

    pub fn key(&mut self) -> Vec<u8> {
        self.pick(KEYS).arg()
    }

    /// 1..=n keys (duplicates allowed, as clients may send them).
    pub fn keys(&mut self, n: usize) -> Vec<Vec<u8>> {
        let c = 1 + self.below(n);
        (0..c).map(|_| self.key()).collect()
    }

    /// A random byte string: printable, binary, numeric, or long.
    pub fn value(&mut self) -> Vec<u8> {
        match self.below(20) {
            0..=11 => self.pick(VALUES).arg(),
            12..=13 => self.range(-1000, 1000).arg(),
            14 => (0..self.below(12)).map(|_| self.rng.gen::<u8>()).collect(),
            15 => {
                let n = 45 + self.below(60);
                (0..n).map(|i| b'a' + (i % 26) as u8).collect()
            }
            16 => format!("v{}", self.below(30)).arg(),
            _ => self.pick(&["x", "y", "z", "1", "2", "3"]).arg(),
        }
    }

    /// A short value that keeps a hash or list small-encoded (at most 64 bytes).
    pub fn short_value(&mut self) -> Vec<u8> {
        loop {
            let v = self.value();
            if v.len() <= 64 {
                return v;
            }
        }
    }

    /// A huge value (100-600 KiB), rarely.
    pub fn huge_value(&mut self) -> Vec<u8> {
        let n = 100 * 1024 + self.below(500 * 1024);
        let c = b'a' + self.below(26) as u8;
        let mut v = vec![c; n];
        v[n / 2] = 0;
        v
    }

    /// An integer argument: mostly small, sometimes an edge or an invalid one.
    pub fn int(&mut self, lo: i64, hi: i64) -> Vec<u8> {
        match self.below(30) {
            0 => self.pick(BAD_INTS).arg(),
            1 => self.pick(EDGE_INTS).arg(),
            _ => self.range(lo, hi).arg(),
        }
    }

    /// An index for LRANGE/GETRANGE/...: small, negative, out of range, or an edge.
    pub fn index(&mut self) -> Vec<u8> {
        match self.below(40) {
            0 => self.pick(BAD_INTS).arg(),
            1..=2 => self.pick(&["9223372036854775807", "-9223372036854775808", "1000000", "-1000000"]).arg(),
            _ => self.range(-12, 12).arg(),
        }
    }

    /// A float argument, sometimes invalid.
    pub fn float(&mut self) -> Vec<u8> {
        if self.chance(0.08) {
            self.pick(BAD_FLOATS).arg()
        } else if self.chance(0.3) {
            self.range(-20, 20).arg()
        } else {
            self.pick(FLOATS).arg()
        }
    }

    /// A count for SPOP/LPOP/...: small, zero, negative, huge or invalid.
    pub fn count(&mut self) -> Vec<u8> {
        match self.below(25) {
            0 => self.pick(BAD_INTS).arg(),
            1 => "-1".arg(),
            2 => "0".arg(),
            3 => "9223372036854775807".arg(),
            4 => "100000".arg(),
            _ => self.range(1, 8).arg(),
        }
    }

    /// A timeout for the blocking commands: short enough to run out quickly when there is
    /// nothing to pop (both servers then answer with their timeout reply), or invalid.
    pub fn timeout(&mut self) -> Vec<u8> {
        match self.below(20) {
            0 => self.pick(&["-1", "abc", "-0.5", "nan", "", "1e400"]).arg(),
            // Not "-0.0001": Redis truncates it to 0, which blocks forever on an empty key.
            1 => "0.001".arg(),
            2 => "0.01".arg(),
            _ => self.pick(&["0.01", "0.02", ".01"]).arg(),
        }
    }

    /// A junk word for bad options.
    pub fn junk(&mut self) -> Vec<u8> {
        self.pick(&["FOO", "bogus", "-", "", "1", "WITHSCORESX", "LIMITS", "COUNTS"]).arg()
    }

    /// Absolute unix seconds in the future / the past (EXPIREAT-like arguments).
    pub fn unix_s(&mut self) -> Vec<u8> {
        match self.below(6) {
            0 => "1000".arg(),
            1 => "0".arg(),
            _ => ((self.now_s + 100_000 + self.below(100_000) as u64) as i64).arg(),
        }
    }

    pub fn unix_ms(&mut self) -> Vec<u8> {
        match self.below(6) {
            0 => "1000".arg(),
            1 => "0".arg(),
            _ => ((self.now_s as i64 + 100_000 + self.below(100_000) as i64) * 1000 + self.range(0, 999)).arg(),
        }
    }

    /// A relative expire in seconds: long enough never to expire during a run, or invalid,
    /// or non-positive (which deletes the key at once).
    pub fn expire_s(&mut self) -> Vec<u8> {
        match self.below(25) {
            0 => "0".arg(),
            1 => "-5".arg(),
            2 => self.pick(BAD_INTS).arg(),
            3 => self.pick(&["9223372036854775807", "9223372036854775", "-9223372036854775808", "9223372036854"]).arg(),
            _ => self.range(5000, 50000).arg(),
        }
    }

    fn shuffle_opts(&mut self, v: &mut [Vec<Vec<u8>>]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }

    /// A command that stores a value of some type at `key` (for WRONGTYPE errors).
    pub fn plant(&mut self, key: Vec<u8>) -> Cmd {
        let v = self.short_value();
        let args = match self.below(6) {
            0 => args!["SET", key, v],
            1 => args!["RPUSH", key, v, "x"],
            2 => args!["SADD", key, v, "1"],
            3 => args!["HSET", key, "f", v],
            4 => args!["ZADD", key, "1", v],
            _ => args!["PFADD", key, v],
        };
        exact(args)
    }
}

pub fn exact(args: Vec<Vec<u8>>) -> Cmd {
    Cmd { pre: Vec::new(), args, cmp: Cmp::Exact }
}

fn with(args: Vec<Vec<u8>>, cmp: Cmp) -> Cmd {
    Cmd { pre: Vec::new(), args, cmp }
}

/// Sometimes drops the last argument or adds a junk one: arity and option-parsing errors.
/// (Only a junk argument for commands compared loosely: a dropped count would turn SPOP k N
/// into a SPOP k whose single random pick cannot be compared as a whole set.)
pub fn mangle(g: &mut Gen, mut c: Cmd) -> Cmd {
    let exact = matches!(c.cmp, Cmp::Exact | Cmp::Near(_));
    // Without their count these pick at random: keep the count (SPOP k 0 -> SPOP k).
    let random_when_short = ["SPOP", "SRANDMEMBER", "HRANDFIELD", "ZRANDMEMBER"]
        .iter()
        .any(|n| c.args[0].eq_ignore_ascii_case(n.as_bytes()));
    if exact && !random_when_short && c.args.len() > 1 && g.chance(0.03) {
        c.args.pop();
    } else if g.chance(0.03) {
        let j = g.junk();
        c.args.push(j);
    }
    c
}

// ---------------------------------------------------------------------------------------------
// strings

/// Keys that LCS reads: only ever set to short strings (LCS is O(N*M)).
const LCS_KEYS: &[&str] = &["lcs:{l}1", "lcs:{l}2", "lcs:3"];

fn set_options(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut opts: Vec<Vec<Vec<u8>>> = Vec::new();
    if g.chance(0.3) {
        opts.push(vec![g.pick(&["NX", "XX", "nx", "xx"]).arg()]);
    }
    if g.chance(0.2) {
        opts.push(vec!["GET".arg()]);
    }
    if g.chance(0.4) {
        let o = match g.below(6) {
            0 => vec!["EX".arg(), g.expire_s()],
            1 => vec!["PX".arg(), g.range(5_000_000, 50_000_000).arg()],
            2 => vec!["EXAT".arg(), g.unix_s()],
            3 => vec!["PXAT".arg(), g.unix_ms()],
            4 => vec!["KEEPTTL".arg()],
            _ => vec![g.pick(&["PX", "EX"]).arg(), g.pick(&["0", "-1", "abc"]).arg()],
        };
        opts.push(o);
    }
    if g.chance(0.05) {
        // Conflicting options: a syntax error.
        opts.push(vec![g.pick(&["NX", "XX", "KEEPTTL", "EX"]).arg()]);
    }
    if g.chance(0.03) {
        opts.push(vec![g.junk()]);
    }
    g.shuffle_opts(&mut opts);
    opts.into_iter().flatten().collect()
}

pub fn strings(g: &mut Gen) -> Cmd {
    let k = g.key();
    let c = match g.below(34) {
        0..=2 => exact(args!["GET", k]),
        3..=5 => {
            let v = if g.chance(0.01) { g.huge_value() } else { g.value() };
            let mut a = args!["SET", k, v];
            a.extend(set_options(g));
            exact(a)
        }
        6 => exact(args!["SETNX", k, g.value()]),
        7 => exact(args!["SETEX", k, g.expire_s(), g.value()]),
        8 if g.chance(0.5) => {
            let ms = if g.chance(0.8) {
                g.range(5_000_000, 50_000_000).arg()
            } else {
                g.pick(&["0", "-5", "abc", "9223372036854775807", "9223372036854775"]).arg()
            };
            exact(args!["PSETEX", k, ms, g.value()])
        }
        8 => {
            let mut a = args!["MGET"];
            a.extend(g.keys(5));
            exact(a)
        }
        9 => {
            let mut a = args![g.pick(&["MSET", "MSETNX"])];
            for _ in 0..1 + g.below(4) {
                a.push(g.key());
                a.push(g.value());
            }
            exact(a)
        }
        10 => exact(args!["GETSET", k, g.value()]),
        11 => exact(args!["GETDEL", k]),
        12 => {
            let mut a = args!["GETEX", k];
            match g.below(8) {
                0 => a.extend(args!["EX", g.expire_s()]),
                1 => a.extend(args!["PX", g.range(5_000_000, 50_000_000)]),
                2 => a.extend(args!["EXAT", g.unix_s()]),
                3 => a.extend(args!["PXAT", g.unix_ms()]),
                4 => a.extend(args!["PERSIST"]),
                5 => a.extend(args![g.pick(&["EX", "PERSIST", "KEEPTTL", "GET"]), g.junk()]),
                _ => {}
            }
            exact(a)
        }
        13..=14 => exact(args!["APPEND", k, if g.chance(0.005) { g.huge_value() } else { g.value() }]),
        15 => exact(args!["STRLEN", k]),
        16..=17 => exact(args![g.pick(&["GETRANGE", "SUBSTR"]), k, g.index(), g.index()]),
        18..=19 => {
            let v = if g.chance(0.1) { Vec::new() } else { g.value() };
            match g.below(20) {
                0 => exact(args!["SETRANGE", k, g.pick(&["-1", "abc", "536870912", "9223372036854775807"]), v]),
                // Past 512 MiB by the value's length (an empty value creates nothing).
                1 => exact(args!["SETRANGE", k, "536870911", g.pick(&["ab", ""])]),
                2 if g.chance(0.1) => exact(args!["SETRANGE", k, "1000000", v]),
                _ => exact(args!["SETRANGE", k, g.range(0, 40), v]),
            }
        }
        20 => exact(args![g.pick(&["INCR", "DECR"]), k]),
        21..=22 => exact(args![g.pick(&["INCRBY", "DECRBY"]), k, g.int(-100, 100)]),
        23..=24 => {
            let inc = match g.below(10) {
                0 => g.pick(BAD_FLOATS).arg(),
                1 => g.pick(&["inf", "-inf", "1.7976931348623157e308"]).arg(),
                _ => {
                    g.pick(&["0.1", "1.5", "-2.25", "3", "1e3", "-1e3", "5.0e3", "0", "-0.5", "10.5", ".5", "7"]).arg()
                }
            };
            exact(args!["INCRBYFLOAT", k, inc])
        }
        25..=27 => {
            let lk = g.pick(LCS_KEYS).arg();
            let v: Vec<u8> = (0..g.below(24)).map(|_| b"abcde"[g.below(5)]).collect();
            exact(args!["SET", lk, v])
        }
        28..=30 => {
            let mut a = args!["LCS", g.pick(LCS_KEYS), g.pick(LCS_KEYS)];
            let mut opts: Vec<Vec<Vec<u8>>> = Vec::new();
            if g.chance(0.3) {
                opts.push(args!["LEN"]);
            }
            if g.chance(0.5) {
                opts.push(args!["IDX"]);
            }
            if g.chance(0.3) {
                opts.push(args!["MINMATCHLEN", g.int(0, 4)]);
            }
            if g.chance(0.3) {
                opts.push(args!["WITHMATCHLEN"]);
            }
            if g.chance(0.05) {
                opts.push(vec![g.junk()]);
            }
            g.shuffle_opts(&mut opts);
            a.extend(opts.into_iter().flatten());
            exact(a)
        }
        31 => {
            let lk = g.pick(LCS_KEYS).arg();
            g.plant(lk)
        }
        32 => exact(args!["TYPE", k]),
        _ => g.plant(k),
    };
    mangle(g, c)
}

// ---------------------------------------------------------------------------------------------
// keys

fn expire_flag(g: &mut Gen) -> Vec<Vec<u8>> {
    match g.below(10) {
        0 => args!["NX"],
        1 => args!["XX"],
        2 => args!["GT"],
        3 => args!["LT"],
        4 => args![g.pick(&["NX", "GT"]), g.pick(&["XX", "LT", "GT"])],
        5 => vec![g.junk()],
        _ => vec![],
    }
}

fn object_encoding(g: &mut Gen) -> Cmd {
    let k = g.key();
    exact(args!["OBJECT", "ENCODING", k])
}

pub fn keys(g: &mut Gen) -> Cmd {
    let k = g.key();
    let c = match g.below(36) {
        0..=5 => {
            // Values of every type, including integer strings and big collections.
            let v = g.value();
            match g.below(8) {
                0 => exact(args!["SET", k, v]),
                1 => exact(args!["SET", k, g.range(-100, 100000)]),
                2 => exact(args!["RPUSH", k, v, "x", "y"]),
                3 => exact(args!["SADD", k, g.range(0, 20), g.range(0, 20)]),
                4 => exact(args!["SADD", k, v]),
                5 => exact(args!["HSET", k, "f", v, "g", "1"]),
                6 => exact(args!["ZADD", k, g.float(), g.short_value()]),
                _ => exact(args!["PFADD", k, v]),
            }
        }
        6..=7 => {
            let mut a = args![g.pick(&["DEL", "UNLINK"])];
            a.extend(g.keys(4));
            exact(a)
        }
        8..=9 => {
            let mut a = args![g.pick(&["EXISTS", "TOUCH"])];
            a.extend(g.keys(5));
            exact(a)
        }
        10 => exact(args!["TYPE", k]),
        11 => exact(args![g.pick(&["RENAME", "RENAMENX"]), k, g.key()]),
        12 => {
            let mut a = args!["COPY", k, g.key()];
            if g.chance(0.4) {
                a.extend(args!["REPLACE"]);
            }
            if g.chance(0.2) {
                a.extend(args!["DB", g.pick(&["0", "1", "16", "-1", "abc"])]);
            }
            if g.chance(0.05) {
                a.push(g.junk());
            }
            exact(a)
        }
        13 => exact(args!["MOVE", k, g.pick(&["0", "1", "1", "16", "x"])]),
        14..=15 => {
            let mut a = args![g.pick(&["EXPIRE", "PEXPIRE"]), k];
            let secs = g.expire_s();
            a.push(if a[0] == b"PEXPIRE" && secs.len() < 7 && secs != b"0" && secs != b"-5" {
                let mut s = secs;
                s.extend_from_slice(b"000");
                s
            } else {
                secs
            });
            a.extend(expire_flag(g));
            exact(a)
        }
        16 => {
            let mut a = args!["EXPIREAT", k, g.unix_s()];
            a.extend(expire_flag(g));
            exact(a)
        }
        17 => {
            let mut a = args!["PEXPIREAT", k, g.unix_ms()];
            a.extend(expire_flag(g));
            exact(a)
        }
        18..=19 => with(args!["TTL", k], Cmp::Near(1)),
        20 => with(args!["PTTL", k], Cmp::Near(250)),
        21 => with(args!["EXPIRETIME", k], Cmp::Near(1)),
        22 => with(args!["PEXPIRETIME", k], Cmp::Near(250)),
        23 => exact(args!["PERSIST", k]),
        24..=25 => object_encoding(g),
        26 => match g.below(4) {
            0 => exact(args!["OBJECT", g.pick(&["FOO", "encodingx"]), k]),
            1 => exact(args!["OBJECT", "ENCODING"]),
            2 => exact(args!["OBJECT", "REFCOUNT", k]),
            _ => exact(args!["OBJECT", "ENCODING", k, "extra"]),
        },
        27 => exact(args!["DBSIZE"]),
        28 => with(
            args!["KEYS", g.pick(&["*", "k*", "{t}*", "k[12]", "*:*", "?1", "[a-z]*", "\\{t\\}a", "nomatch*"])],
            Cmp::Unordered,
        ),
        29 => {
            let mut a = args!["SCAN", "0"];
            if g.chance(0.4) {
                a.extend(args!["MATCH", g.pick(&["*", "k*", "{t}*", "*a"])]);
            }
            if g.chance(0.4) {
                a.extend(args!["COUNT", g.pick(&["1", "2", "10", "1000"])]);
            }
            if g.chance(0.3) {
                a.extend(args!["TYPE", g.pick(&["string", "list", "set", "zset", "hash", "nosuchtype"])]);
            }
            with(a, Cmp::ScanAll { cursor_at: 1, pairs: false })
        }
        30 => {
            // Bad cursors and options, and odd spellings of cursor 0 (Redis reads the cursor
            // with strtoul). A valid cursor other than 0 names a position in Redis's hash
            // table, which orbit's cursors do not share: those only reach an option error.
            let cur = g.pick(&["abc", "", "+0", "-0", "18446744073709551616", "1.5", " 0", "0", "0x0", "+", "-"]);
            let mut a = args!["SCAN", cur];
            match g.below(5) {
                0 => a.extend(args!["COUNT", g.pick(&["0", "-1", "abc"])]),
                1 => a.extend(args!["MATCH"]),
                2 => a.push(g.junk()),
                _ => {}
            }
            if g.chance(0.2) {
                a = args!["SCAN", g.pick(&["-1", "18446744073709551615", "-18446744073709551615", "7"]), "COUNT", "0"];
            }
            with(a, Cmp::ScanPage)
        }
        31 => with(args!["RANDOMKEY"], Cmp::Shape),
        32 => exact(args!["SELECT", g.pick(&["0", "0", "0", "1", "16", "abc"])]),
        33 => {
            if g.chance(0.2) {
                exact(args!["FLUSHDB"])
            } else {
                exact(args!["SWAPDB", g.pick(&["0", "1"]), g.pick(&["0", "1", "16", "x"])])
            }
        }
        34 => {
            let v = g.huge_value();
            exact(args!["SET", k, v])
        }
        _ => g.plant(k),
    };
    mangle(g, c)
}

// ---------------------------------------------------------------------------------------------
// bitmaps

fn bit_offset(g: &mut Gen) -> Vec<u8> {
    match g.below(30) {
        0 => g.pick(&["-1", "4294967296", "abc", "1.5", "9223372036854775807"]).arg(),
        1 => g.range(1000, 100_000).arg(),
        _ => g.range(0, 200).arg(),
    }
}

fn bitfield_type(g: &mut Gen) -> Vec<u8> {
    match g.below(20) {
        0 => g.pick(&["u64", "i65", "u0", "i0", "x8", "u", "8", "U8"]).arg(),
        _ => format!("{}{}", g.pick(&["u", "i"]), g.range(1, 63)).arg(),
    }
}

fn bitfield_offset(g: &mut Gen) -> Vec<u8> {
    match g.below(20) {
        0 => g.pick(&["-1", "#-1", "abc", "#", "4294967296", "#99999999999"]).arg(),
        1..=5 => format!("#{}", g.range(0, 20)).arg(),
        _ => g.range(0, 150).arg(),
    }
}

pub fn bitmaps(g: &mut Gen) -> Cmd {
    let k = g.key();
    let c = match g.below(26) {
        0..=4 => exact(args!["SETBIT", k, bit_offset(g), g.pick(&["0", "1", "1", "2", "-1", "x"])]),
        5..=6 => exact(args!["GETBIT", k, bit_offset(g)]),
        7..=9 => {
            let mut a = args!["BITCOUNT", k];
            if g.chance(0.7) {
                a.push(g.index());
                a.push(g.index());
                if g.chance(0.5) {
                    a.push(g.pick(&["BYTE", "BIT", "bit", "WORD"]).arg());
                }
            }
            exact(a)
        }
        10..=12 => {
            let mut a = args!["BITPOS", k, g.pick(&["0", "1", "1", "2", "x"])];
            if g.chance(0.7) {
                a.push(g.index());
                if g.chance(0.6) {
                    a.push(g.index());
                    if g.chance(0.5) {
                        a.push(g.pick(&["BYTE", "BIT", "bit", "WORD"]).arg());
                    }
                }
            }
            exact(a)
        }
        13..=14 => {
            let op = g.pick(&["AND", "OR", "XOR", "NOT", "not", "and", "NAND"]);
            let mut a = args!["BITOP", op, g.key()];
            let n = if op.eq_ignore_ascii_case("not") && g.chance(0.8) { 1 } else { 1 + g.below(3) };
            for _ in 0..n {
                a.push(g.key());
            }
            exact(a)
        }
        15..=19 => {
            let ro = g.chance(0.2);
            let mut a = args![if ro { "BITFIELD_RO" } else { "BITFIELD" }, k];
            for _ in 0..g.below(4) + 1 {
                let op = if ro { 0 } else { g.below(5) };
                match op {
                    0 => a.extend(args!["GET", bitfield_type(g), bitfield_offset(g)]),
                    1 => a.extend(args!["SET", bitfield_type(g), bitfield_offset(g), g.int(-300, 300)]),
                    2 => a.extend(args!["INCRBY", bitfield_type(g), bitfield_offset(g), g.int(-300, 300)]),
                    3 => a.extend(args!["OVERFLOW", g.pick(&["WRAP", "SAT", "FAIL", "fail", "BAD"])]),
                    _ => a.push(g.pick(&["GET", "SET", "INCRBY", "OVERFLOW", "FOO"]).arg()),
                }
            }
            exact(a)
        }
        20 => exact(args!["GET", k]),
        21 => exact(args!["SET", k, g.value()]),
        22 => exact(args!["STRLEN", k]),
        23 => exact(args!["APPEND", k, g.value()]),
        24 => exact(args!["DEL", k]),
        _ => g.plant(k),
    };
    mangle(g, c)
}

// ---------------------------------------------------------------------------------------------
// hashes

/// Hashes in these keys stay small (few short fields): Redis keeps them as listpacks, whose
/// order is insertion order, so their replies are compared in order.
const SMALL_HASHES: &[&str] = &["h1", "{h}2", "{h}3"];
/// Hashes here grow past the listpack limits (order unspecified).
const BIG_HASHES: &[&str] = &["hb1", "{h}b2"];

fn hash_key(g: &mut Gen) -> (Vec<u8>, bool) {
    match g.below(10) {
        0..=5 => (g.pick(SMALL_HASHES).arg(), false),
        6..=8 => (g.pick(BIG_HASHES).arg(), true),
        _ => (g.key(), true),
    }
}

fn field(g: &mut Gen, big: bool) -> Vec<u8> {
    if big && g.chance(0.7) {
        format!("field:{}", g.below(300)).arg()
    } else {
        g.pick(&["f", "g", "h", "1", "2", "-3", "", "a b", "\x00x", "num", "fl"]).arg()
    }
}

fn hash_value(g: &mut Gen, big: bool) -> Vec<u8> {
    if big && g.chance(0.1) {
        vec![b'v'; 65 + g.below(100)]
    } else {
        g.short_value()
    }
}

pub fn hashes(g: &mut Gen) -> Cmd {
    let (k, big) = hash_key(g);
    let order = if big { Cmp::Unordered } else { Cmp::Exact };
    let pairs = if big { Cmp::UnorderedPairs } else { Cmp::Exact };
    let c = match g.below(30) {
        0..=5 => {
            let mut a = args![g.pick(&["HSET", "HSET", "HMSET"]), &k];
            for _ in 0..1 + g.below(if big { 20 } else { 3 }) {
                a.push(field(g, big));
                a.push(hash_value(g, big));
            }
            exact(a)
        }
        6 => exact(args!["HSETNX", &k, field(g, big), hash_value(g, big)]),
        7..=8 => exact(args!["HGET", &k, field(g, big)]),
        9 => {
            let mut a = args!["HMGET", &k];
            for _ in 0..1 + g.below(4) {
                a.push(field(g, big));
            }
            exact(a)
        }
        10..=11 => {
            let mut a = args!["HDEL", &k];
            for _ in 0..1 + g.below(3) {
                a.push(field(g, big));
            }
            exact(a)
        }
        12 => exact(args!["HEXISTS", &k, field(g, big)]),
        13 => exact(args!["HLEN", &k]),
        14 => exact(args!["HSTRLEN", &k, field(g, big)]),
        15 => with(args!["HKEYS", &k], order),
        16 => with(args!["HVALS", &k], order),
        17..=18 => with(args!["HGETALL", &k], pairs),
        19..=20 => exact(args!["HINCRBY", &k, g.pick(&["num", "f", "1", "nf"]), g.int(-50, 50)]),
        21..=22 => {
            let inc = if g.chance(0.1) {
                // Not 1e400 on the small hashes: its 400-digit result would make Redis convert
                // the hash to a hash table, whose order is unspecified.
                let bad = g.pick(BAD_FLOATS);
                if !big && bad.ends_with("e400") {
                    "abc".arg()
                } else {
                    bad.arg()
                }
            } else {
                g.pick(&["0.1", "1.5", "-2.25", "3", "1e3", "-1e3", "5.0e3", "0", "-0.5", "10.5", "7"]).arg()
            };
            exact(args!["HINCRBYFLOAT", &k, g.pick(&["fl", "f", "num", "nf"]), inc])
        }
        23..=24 => {
            // With a count past any hash's size, a positive count returns the whole hash.
            let mut a = args!["HRANDFIELD", &k];
            let mut cmp = Cmp::Shape;
            match g.below(6) {
                0 => {}
                1 => a.push(g.pick(&["0", "-3", "3", "abc", "-9223372036854775808"]).arg()),
                2 => {
                    a.push("100000".arg());
                    cmp = Cmp::Unordered;
                }
                3 => {
                    a.extend(args!["100000", "WITHVALUES"]);
                    cmp = Cmp::UnorderedPairs;
                }
                4 => a.extend(args![g.pick(&["2", "-4", "0", "1"]), "WITHVALUES"]),
                _ => a.extend(args![g.pick(&["2", "x"]), g.pick(&["WITHVALUE", "WITHVALUES"]), "extra"]),
            }
            with(a, cmp)
        }
        25..=26 => {
            let mut a = args!["HSCAN", &k, "0"];
            if g.chance(0.4) {
                a.extend(args!["MATCH", g.pick(&["*", "f*", "field:1*", "?"])]);
            }
            if g.chance(0.4) {
                a.extend(args!["COUNT", g.pick(&["1", "5", "100"])]);
            }
            with(a, Cmp::ScanAll { cursor_at: 2, pairs: true })
        }
        27 => object_encoding_of(&k),
        28 => exact(args!["DEL", &k]),
        _ => g.plant(k),
    };
    mangle(g, c)
}

fn object_encoding_of(k: &[u8]) -> Cmd {
    exact(args!["OBJECT", "ENCODING", k])
}

// ---------------------------------------------------------------------------------------------
// lists

fn list_value(g: &mut Gen) -> Vec<u8> {
    if g.chance(0.7) {
        g.pick(&["a", "b", "c", "d", "1", "2", "x", ""]).arg()
    } else {
        g.value()
    }
}

fn side(g: &mut Gen) -> Vec<u8> {
    g.pick(&["LEFT", "RIGHT", "left", "right", "LEFT", "RIGHT", "MIDDLE"]).arg()
}

pub fn lists(g: &mut Gen) -> Cmd {
    let k = g.key();
    let c = match g.below(40) {
        0..=6 => {
            let mut a = args![g.pick(&["LPUSH", "RPUSH", "LPUSHX", "RPUSHX", "LPUSH", "RPUSH"]), k];
            for _ in 0..1 + g.below(4) {
                a.push(list_value(g));
            }
            exact(a)
        }
        7 => exact(args!["LINSERT", k, g.pick(&["BEFORE", "AFTER", "after", "MIDDLE"]), list_value(g), list_value(g)]),
        8..=10 => {
            let mut a = args![g.pick(&["LPOP", "RPOP"]), k];
            if g.chance(0.5) {
                a.push(g.count());
            }
            exact(a)
        }
        11 => exact(args!["LLEN", k]),
        12 => exact(args!["LINDEX", k, g.index()]),
        13 => exact(args!["LSET", k, g.index(), list_value(g)]),
        14..=16 => exact(args!["LRANGE", k, g.index(), g.index()]),
        17 => exact(args!["LTRIM", k, g.index(), g.index()]),
        18 => exact(args!["LREM", k, g.int(-3, 3), list_value(g)]),
        19..=20 => {
            let mut a = args!["LPOS", k, list_value(g)];
            let mut opts: Vec<Vec<Vec<u8>>> = Vec::new();
            if g.chance(0.4) {
                opts.push(args![
                    "RANK",
                    g.pick(&["1", "2", "-1", "-2", "0", "abc", "-9223372036854775808", "9223372036854775807"])
                ]);
            }
            if g.chance(0.4) {
                opts.push(args!["COUNT", g.pick(&["0", "1", "2", "-1", "abc", "100"])]);
            }
            if g.chance(0.3) {
                opts.push(args!["MAXLEN", g.pick(&["0", "1", "3", "-1", "abc"])]);
            }
            if g.chance(0.05) {
                opts.push(vec![g.junk()]);
            }
            g.shuffle_opts(&mut opts);
            a.extend(opts.into_iter().flatten());
            exact(a)
        }
        21 => exact(args!["RPOPLPUSH", k, g.key()]),
        22..=23 => exact(args!["LMOVE", k, g.key(), side(g), side(g)]),
        24..=25 => {
            let n = 1 + g.below(3);
            let mut a = args!["LMPOP"];
            a.push(if g.chance(0.05) { g.pick(&["0", "-1", "abc", "5"]).arg() } else { (n as i64).arg() });
            for _ in 0..n {
                a.push(g.key());
            }
            a.push(side(g));
            if g.chance(0.5) {
                a.extend(args!["COUNT", g.count()]);
            }
            exact(a)
        }
        26..=27 => {
            let mut a = args![g.pick(&["BLPOP", "BRPOP"])];
            a.extend(g.keys(3));
            a.push(g.timeout());
            exact(a)
        }
        // The source gets an element first: when these two time out, orbit's connection layer
        // (net/src/resp/conn.rs, `block`) answers a null bulk ($-1) where Redis 7.0 answers a
        // null array (*-1), and that file is not ours to change.
        28 => {
            let mut c = exact(args!["BRPOPLPUSH", &k, g.key(), g.timeout()]);
            c.pre.push(args!["LPUSH", k, list_value(g)]);
            c
        }
        29 => {
            let mut c = exact(args!["BLMOVE", &k, g.key(), side(g), side(g), g.timeout()]);
            c.pre.push(args!["RPUSH", k, list_value(g)]);
            c
        }
        30..=31 => {
            let n = 1 + g.below(3);
            let mut a = args!["BLMPOP", g.timeout()];
            a.push(if g.chance(0.05) { g.pick(&["0", "-1", "abc"]).arg() } else { (n as i64).arg() });
            for _ in 0..n {
                a.push(g.key());
            }
            a.push(side(g));
            if g.chance(0.5) {
                a.extend(args!["COUNT", g.count()]);
            }
            exact(a)
        }
        32 => object_encoding_of(&k),
        33 => exact(args!["DEL", k]),
        34 => {
            // A long list (past any small encoding) in one go.
            let mut a = args!["RPUSH", k];
            for i in 0..200 {
                a.push((i as i64).arg());
            }
            exact(a)
        }
        _ => g.plant(k),
    };
    // Blocking commands are left whole: a mangled timeout could block forever.
    if c.args[0].starts_with(b"B") {
        c
    } else {
        mangle(g, c)
    }
}

// ---------------------------------------------------------------------------------------------
// sets

fn member(g: &mut Gen) -> Vec<u8> {
    match g.below(10) {
        0..=4 => g.range(-3, 12).arg(),
        5..=8 => g.pick(&["a", "b", "c", "d", "e", "x y", ""]).arg(),
        _ => g.value(),
    }
}

pub fn sets(g: &mut Gen) -> Cmd {
    let k = g.key();
    let c = match g.below(36) {
        0..=6 => {
            let mut a = args!["SADD", k];
            for _ in 0..1 + g.below(5) {
                a.push(member(g));
            }
            exact(a)
        }
        7..=8 => {
            let mut a = args!["SREM", k];
            for _ in 0..1 + g.below(3) {
                a.push(member(g));
            }
            exact(a)
        }
        9..=10 => with(args!["SMEMBERS", k], Cmp::Unordered),
        11 => exact(args!["SISMEMBER", k, member(g)]),
        12 => {
            let mut a = args!["SMISMEMBER", k];
            for _ in 0..1 + g.below(4) {
                a.push(member(g));
            }
            exact(a)
        }
        13 => exact(args!["SCARD", k]),
        14..=15 => match g.below(5) {
            0 => with(args!["SPOP", &k], Cmp::ShapeThenDel(k.clone())),
            1 => with(args!["SPOP", &k, "100000"], Cmp::Unordered),
            2 => exact(args!["SPOP", &k, g.pick(&["0", "-1", "abc", "-9223372036854775808"])]),
            _ => with(args!["SPOP", &k, g.range(1, 4)], Cmp::ShapeThenDel(k.clone())),
        },
        16..=17 => match g.below(5) {
            0 => with(args!["SRANDMEMBER", k], Cmp::Shape),
            1 => with(args!["SRANDMEMBER", k, "100000"], Cmp::Unordered),
            2 => exact(args!["SRANDMEMBER", k, g.pick(&["0", "abc", "-9223372036854775808", "-"])]),
            3 => with(args!["SRANDMEMBER", k, "9223372036854775807"], Cmp::Unordered),
            _ => with(args!["SRANDMEMBER", k, g.range(-5, 5)], Cmp::Shape),
        },
        18..=21 => {
            let mut a = args![g.pick(&["SINTER", "SUNION", "SDIFF"])];
            a.extend(g.keys(3));
            with(a, Cmp::Unordered)
        }
        22..=24 => {
            let mut a = args![g.pick(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), g.key()];
            a.extend(g.keys(3));
            exact(a)
        }
        25..=26 => {
            let n = 1 + g.below(3);
            let mut a = args!["SINTERCARD"];
            a.push(if g.chance(0.05) { g.pick(&["0", "-1", "abc", "5"]).arg() } else { (n as i64).arg() });
            for _ in 0..n {
                a.push(g.key());
            }
            if g.chance(0.4) {
                a.extend(args!["LIMIT", g.pick(&["0", "1", "2", "-1", "abc"])]);
            }
            exact(a)
        }
        27 => exact(args!["SMOVE", k, g.key(), member(g)]),
        28..=29 => {
            let mut a = args!["SSCAN", k, "0"];
            if g.chance(0.4) {
                a.extend(args!["MATCH", g.pick(&["*", "1*", "?", "[a-c]"])]);
            }
            if g.chance(0.4) {
                a.extend(args!["COUNT", g.pick(&["1", "5", "100"])]);
            }
            with(a, Cmp::ScanAll { cursor_at: 2, pairs: false })
        }
        30 => object_encoding_of(&k),
        31 => {
            // A set past the intset and small limits.
            let mut a = args!["SADD", k];
            let strings = g.chance(0.5);
            for i in 0..600 {
                a.push(if strings { format!("m{i}").arg() } else { (i as i64).arg() });
            }
            exact(a)
        }
        32 => exact(args!["DEL", k]),
        _ => g.plant(k),
    };
    mangle(g, c)
}

// ---------------------------------------------------------------------------------------------
// sorted sets

fn zmember(g: &mut Gen) -> Vec<u8> {
    match g.below(10) {
        0..=7 => g.pick(&["a", "b", "c", "d", "e", "f", "g", "aa", "ab", "", "1"]).arg(),
        _ => g.short_value(),
    }
}

/// Sorted sets past the listpack limits live only in these keys, which no lex-range command and
/// no multi-key command reads: Redis answers a lex range over members of different scores by
/// walking its skiplist, whose shape is random, so on a large set with mixed scores the result
/// is unspecified. (The keys in `KEYS` stay small: members are at most 64 bytes.)
const BIG_ZSETS: &[&str] = &["zbig:{z}1", "zbig:{z}2"];

/// A key for a single-key, non-lex sorted-set command.
fn zkey(g: &mut Gen) -> Vec<u8> {
    if g.chance(0.15) {
        g.pick(BIG_ZSETS).arg()
    } else {
        g.key()
    }
}

fn score_bound(g: &mut Gen) -> Vec<u8> {
    match g.below(12) {
        0 => g.pick(&["-inf", "+inf", "inf", "(-inf", "(+inf"]).arg(),
        1 => g.pick(&["abc", "(", "((1", "nan", "(nan", "1e400", "[1", ""]).arg(),
        2..=4 => format!("({}", g.float().iter().map(|&b| b as char).collect::<String>()).arg(),
        _ => g.float(),
    }
}

fn lex_bound(g: &mut Gen) -> Vec<u8> {
    match g.below(10) {
        0 => g.pick(&["-", "+"]).arg(),
        1 => g.pick(&["a", "abc", "", "-a", "+b"]).arg(),
        _ => format!("{}{}", g.pick(&["[", "("]), g.pick(&["a", "b", "c", "aa", "e", "", "z"])).arg(),
    }
}

fn withscores(g: &mut Gen, a: &mut Vec<Vec<u8>>) {
    if g.chance(0.5) {
        a.push(g.pick(&["WITHSCORES", "withscores"]).arg());
    }
}

fn limit(g: &mut Gen, a: &mut Vec<Vec<u8>>) {
    if g.chance(0.3) {
        a.extend(args!["LIMIT", g.int(-2, 4), g.int(-2, 4)]);
    }
}

fn weights_aggregate(g: &mut Gen, a: &mut Vec<Vec<u8>>, n: usize) {
    if g.chance(0.3) {
        a.push("WEIGHTS".arg());
        let m = if g.chance(0.9) { n } else { n + 1 };
        for _ in 0..m {
            a.push(g.float());
        }
    }
    if g.chance(0.3) {
        a.extend(args!["AGGREGATE", g.pick(&["SUM", "MIN", "MAX", "max", "AVG"])]);
    }
}

fn numkeys(g: &mut Gen, a: &mut Vec<Vec<u8>>) -> usize {
    let n = 1 + g.below(3);
    a.push(if g.chance(0.05) { g.pick(&["0", "-1", "abc", "9"]).arg() } else { (n as i64).arg() });
    for _ in 0..n {
        a.push(g.key());
    }
    n
}

pub fn zsets(g: &mut Gen) -> Cmd {
    let k = g.key();
    let zk = zkey(g);
    let c = match g.below(60) {
        0..=7 => {
            let mut a = args!["ZADD", zk];
            let mut opts: Vec<Vec<Vec<u8>>> = Vec::new();
            for (p, o) in [(0.15, "NX"), (0.15, "XX"), (0.1, "GT"), (0.1, "LT"), (0.2, "CH"), (0.1, "INCR")] {
                if g.chance(p) {
                    opts.push(vec![o.arg()]);
                }
            }
            g.shuffle_opts(&mut opts);
            a.extend(opts.into_iter().flatten());
            for _ in 0..1 + g.below(3) {
                a.push(g.float());
                a.push(zmember(g));
            }
            exact(a)
        }
        8 => exact(args!["ZINCRBY", zk, g.float(), zmember(g)]),
        9..=10 => {
            let mut a = args!["ZREM", zk];
            for _ in 0..1 + g.below(3) {
                a.push(zmember(g));
            }
            exact(a)
        }
        11 => exact(args!["ZSCORE", zk, zmember(g)]),
        12 => {
            let mut a = args!["ZMSCORE", zk];
            for _ in 0..1 + g.below(3) {
                a.push(zmember(g));
            }
            exact(a)
        }
        13 => exact(args!["ZCARD", zk]),
        14 => exact(args!["ZCOUNT", zk, score_bound(g), score_bound(g)]),
        15 => exact(args!["ZLEXCOUNT", k, lex_bound(g), lex_bound(g)]),
        16..=21 => {
            // ZRANGE in all its forms.
            let lex = g.chance(1.0 / 3.0);
            let mut a = args!["ZRANGE", if lex { k } else { zk }];
            match if lex { 2 } else { g.below(2) } {
                0 => {
                    a.push(g.index());
                    a.push(g.index());
                }
                1 => {
                    a.push(score_bound(g));
                    a.push(score_bound(g));
                    a.push("BYSCORE".arg());
                }
                _ => {
                    a.push(lex_bound(g));
                    a.push(lex_bound(g));
                    a.push("BYLEX".arg());
                }
            }
            if g.chance(0.3) {
                a.push("REV".arg());
            }
            limit(g, &mut a);
            withscores(g, &mut a);
            if g.chance(0.03) {
                a.push(g.junk());
            }
            exact(a)
        }
        22..=23 => {
            let mut a = args![g.pick(&["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]), zk, score_bound(g), score_bound(g)];
            withscores(g, &mut a);
            limit(g, &mut a);
            exact(a)
        }
        24 => {
            let mut a = args![g.pick(&["ZRANGEBYLEX", "ZREVRANGEBYLEX"]), k, lex_bound(g), lex_bound(g)];
            limit(g, &mut a);
            exact(a)
        }
        25 => {
            let mut a = args!["ZREVRANGE", zk, g.index(), g.index()];
            withscores(g, &mut a);
            exact(a)
        }
        26..=27 => exact(args![g.pick(&["ZRANK", "ZREVRANK"]), zk, zmember(g)]),
        28 => exact(args!["ZREMRANGEBYRANK", zk, g.index(), g.index()]),
        29 => exact(args!["ZREMRANGEBYSCORE", zk, score_bound(g), score_bound(g)]),
        30 => exact(args!["ZREMRANGEBYLEX", k, lex_bound(g), lex_bound(g)]),
        31..=32 => {
            let mut a = args![g.pick(&["ZPOPMIN", "ZPOPMAX"]), zk];
            if g.chance(0.6) {
                a.push(g.count());
            }
            exact(a)
        }
        33..=35 => {
            let op = g.pick(&["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]);
            let mut a = args![op, g.key()];
            let n = numkeys(g, &mut a);
            if op != "ZDIFFSTORE" {
                weights_aggregate(g, &mut a, n);
            }
            exact(a)
        }
        36..=38 => {
            let op = g.pick(&["ZUNION", "ZINTER", "ZDIFF"]);
            let mut a = args![op];
            let n = numkeys(g, &mut a);
            if op != "ZDIFF" {
                weights_aggregate(g, &mut a, n);
            }
            withscores(g, &mut a);
            exact(a)
        }
        39 => {
            let mut a = args!["ZINTERCARD"];
            numkeys(g, &mut a);
            if g.chance(0.4) {
                a.extend(args!["LIMIT", g.pick(&["0", "1", "2", "-1", "abc"])]);
            }
            exact(a)
        }
        40..=41 => {
            let mut a = args!["ZRANDMEMBER", zk];
            let mut cmp = Cmp::Shape;
            match g.below(6) {
                0 => {}
                1 => a.push(g.pick(&["0", "-3", "3", "abc", "-9223372036854775808"]).arg()),
                2 => {
                    a.push("100000".arg());
                    cmp = Cmp::Unordered;
                }
                3 => {
                    a.extend(args!["100000", "WITHSCORES"]);
                    cmp = Cmp::UnorderedPairs;
                }
                4 => a.extend(args![g.pick(&["2", "-4", "0", "1"]), "WITHSCORES"]),
                _ => a.extend(args![g.pick(&["2", "x"]), g.pick(&["WITHSCORE", "WITHSCORES"]), "extra"]),
            }
            with(a, cmp)
        }
        42..=43 => {
            let mut a = args!["ZMPOP"];
            numkeys(g, &mut a);
            a.push(g.pick(&["MIN", "MAX", "min", "max", "MID"]).arg());
            if g.chance(0.5) {
                a.extend(args!["COUNT", g.count()]);
            }
            exact(a)
        }
        44 => {
            let mut a = args![g.pick(&["BZPOPMIN", "BZPOPMAX"])];
            a.extend(g.keys(3));
            a.push(g.timeout());
            exact(a)
        }
        45 => {
            let mut a = args!["BZMPOP", g.timeout()];
            numkeys(g, &mut a);
            a.push(g.pick(&["MIN", "MAX", "min", "MID"]).arg());
            if g.chance(0.5) {
                a.extend(args!["COUNT", g.count()]);
            }
            exact(a)
        }
        46..=47 => {
            let mut a = args!["ZRANGESTORE", g.key(), k];
            match g.below(3) {
                0 => {
                    a.push(g.index());
                    a.push(g.index());
                }
                1 => {
                    a.push(score_bound(g));
                    a.push(score_bound(g));
                    a.push("BYSCORE".arg());
                }
                _ => {
                    a.push(lex_bound(g));
                    a.push(lex_bound(g));
                    a.push("BYLEX".arg());
                }
            }
            if g.chance(0.3) {
                a.push("REV".arg());
            }
            limit(g, &mut a);
            if g.chance(0.05) {
                a.push("WITHSCORES".arg());
            }
            exact(a)
        }
        48..=49 => {
            let mut a = args!["ZSCAN", zk, "0"];
            if g.chance(0.4) {
                a.extend(args!["MATCH", g.pick(&["*", "a*", "?", "m1*"])]);
            }
            if g.chance(0.4) {
                a.extend(args!["COUNT", g.pick(&["1", "5", "100"])]);
            }
            with(a, Cmp::ScanAll { cursor_at: 2, pairs: true })
        }
        50 => object_encoding_of(&zk),
        51 => {
            // Past the listpack limits: a skiplist.
            let mut a = args!["ZADD", g.pick(BIG_ZSETS)];
            for i in 0..150 {
                a.push(((i * 7 % 13) as i64).arg());
                a.push(format!("m{i}").arg());
            }
            exact(a)
        }
        52 => exact(args!["DEL", zk]),
        53 => exact(args!["ZADD", k, g.pick(&["NX", "XX"]), g.pick(&["XX", "GT", "LT"]), "1", "a"]),
        _ => g.plant(k),
    };
    if c.args[0].starts_with(b"B") {
        c
    } else {
        mangle(g, c)
    }
}

// ---------------------------------------------------------------------------------------------
// HyperLogLog

pub fn hll(g: &mut Gen) -> Cmd {
    let k = g.key();
    let c = match g.below(16) {
        0..=5 => {
            let mut a = args!["PFADD", k];
            let n = if g.chance(0.1) { 200 + g.below(3000) } else { g.below(6) };
            let base = g.below(5000);
            for i in 0..n {
                a.push(format!("e{}", base + i).arg());
            }
            exact(a)
        }
        6..=8 => {
            let mut a = args!["PFCOUNT"];
            a.extend(g.keys(3));
            exact(a)
        }
        9..=10 => {
            let mut a = args!["PFMERGE", g.key()];
            for _ in 0..g.below(3) {
                a.push(g.key());
            }
            exact(a)
        }
        // The representation itself (sparse or dense) must match byte for byte.
        11..=12 => exact(args!["GET", k]),
        13 => exact(args!["SET", k, g.pick(&["HYLL", "HYLLjunkjunkjunkjunk", "x"])]),
        14 => exact(args!["DEL", k]),
        _ => g.plant(k),
    };
    mangle(g, c)
}

// ---------------------------------------------------------------------------------------------
// errors: unknown commands, wrong arity, odd names

pub fn errors(g: &mut Gen) -> Cmd {
    match g.below(8) {
        0 => {
            let name = g.pick(&["FOO", "GETX", "sett", "", "\x00", "a\r\nb", "HSETT", "ZADDD", "LPOPS"]);
            let mut a = args![name];
            for _ in 0..g.below(4) {
                a.push(g.value());
            }
            exact(a)
        }
        1 => {
            // A long name and long arguments (Redis cuts both at 128 bytes).
            let mut a = vec![vec![b'x'; 100 + g.below(100)]];
            for _ in 0..g.below(4) {
                a.push(vec![b'y'; g.below(150)]);
            }
            exact(a)
        }
        _ => {
            // A known command with too few or too many arguments.
            let name = g.pick(&[
                "GET",
                "SET",
                "MGET",
                "MSET",
                "INCR",
                "INCRBY",
                "LPUSH",
                "LPOP",
                "LRANGE",
                "LINSERT",
                "SADD",
                "SPOP",
                "SMOVE",
                "HSET",
                "HGET",
                "HMGET",
                "HRANDFIELD",
                "ZADD",
                "ZRANGE",
                "ZUNIONSTORE",
                "ZPOPMIN",
                "EXPIRE",
                "TTL",
                "RENAME",
                "COPY",
                "DEL",
                "EXISTS",
                "TYPE",
                "SETBIT",
                "BITCOUNT",
                "BITOP",
                "BITFIELD",
                "PFADD",
                "PFCOUNT",
                "LCS",
                "GETEX",
                "OBJECT",
                "SCAN",
                "KEYS",
                "DBSIZE",
                "LMPOP",
                "ZMPOP",
                "SINTERCARD",
                "ECHO",
                "PING",
                "get",
                "Set",
            ]);
            let mut a = args![name];
            for _ in 0..g.below(5) {
                a.push(g.key());
            }
            // The random ones with just a key pick a random element.
            match (name, a.len()) {
                ("SPOP", 2) => {
                    let k = a[1].clone();
                    with(a, Cmp::ShapeThenDel(k))
                }
                ("HRANDFIELD", 2) => with(a, Cmp::Shape),
                _ => exact(a),
            }
        }
    }
}

/// Every family's generator, each drawn with the same chance (the RESP3 and mixed runs).
pub fn mixed(g: &mut Gen) -> Cmd {
    let f = FAMILIES[g.below(FAMILIES.len())].1;
    f(g)
}

/// A command from any family whose reply compares exactly (to be queued inside MULTI, where
/// the EXEC reply holds it). Its setup commands come back separately.
fn exact_command(g: &mut Gen) -> (Vec<Vec<Vec<u8>>>, Vec<Vec<u8>>) {
    loop {
        let c = mixed(g);
        let blocking = c.args.first().is_some_and(|n| n.first().is_some_and(|b| b.eq_ignore_ascii_case(&b'b')));
        if c.cmp == Cmp::Exact && !blocking {
            return (c.pre, c.args);
        }
    }
}

/// MULTI/EXEC/DISCARD/WATCH/UNWATCH: queued commands of every family (keys on both shards),
/// errors at queue time (EXECABORT), WATCH broken by a write or left intact, and the
/// misuse errors. The EXEC reply (an array of every queued reply, or a null array) is compared.
pub fn transactions(g: &mut Gen) -> Cmd {
    let mut pre: Vec<Vec<Vec<u8>>> = Vec::new();
    let watch = g.chance(0.4);
    if watch {
        let mut w = args!["WATCH"];
        w.extend(g.keys(3));
        pre.push(w);
        if g.chance(0.5) {
            // A write that may or may not touch a watched key (or change nothing at all).
            let (setup, cmd) = exact_command(g);
            pre.extend(setup);
            pre.push(cmd);
        }
        if g.chance(0.1) {
            pre.push(args!["UNWATCH"]);
        }
    }
    match g.below(20) {
        0 => return Cmd { pre, args: args![g.pick(&["EXEC", "DISCARD"])], cmp: Cmp::Exact },
        1 => {
            pre.push(args!["MULTI"]);
            pre.push(args!["MULTI"]);
            pre.push(args!["WATCH", g.key()]);
            return Cmd { pre, args: args!["DISCARD"], cmp: Cmp::Exact };
        }
        _ => {}
    }
    let mut queued = Vec::new();
    for _ in 0..1 + g.below(6) {
        let (setup, cmd) = exact_command(g);
        pre.extend(setup);
        queued.push(cmd);
    }
    pre.push(args!["MULTI"]);
    let abort = g.chance(0.1);
    for (i, q) in queued.into_iter().enumerate() {
        if abort && i == 0 {
            pre.push(match g.below(3) {
                0 => args!["NOSUCHCOMMAND", "x"],
                1 => args!["SET", g.key()],
                _ => args!["GET"],
            });
        }
        if g.chance(0.05) {
            pre.push(args!["SELECT", g.pick(&["0", "1"])]);
        }
        pre.push(q);
    }
    let end = if g.chance(0.1) { "DISCARD" } else { "EXEC" };
    Cmd { pre, args: args![end], cmp: Cmp::Exact }
}

/// Lua scripts for EVAL: redis.call/pcall over declared keys (on one shard or several),
/// conversions both ways, script errors, the script cache.
const SCRIPTS: &[&str] = &[
    "return redis.call('SET', KEYS[1], ARGV[1])",
    "return redis.call('GET', KEYS[1])",
    "return {redis.call('INCR', KEYS[1]), redis.call('INCR', KEYS[2])}",
    "return redis.pcall('INCR', KEYS[1])",
    "return redis.call('INCR', KEYS[1])",
    "local v = redis.call('GET', KEYS[1]); redis.call('SET', KEYS[2], v or 'none'); return v",
    "return redis.call('RPUSH', KEYS[1], unpack(ARGV))",
    "return redis.call('LRANGE', KEYS[1], 0, -1)",
    "local a = redis.call('GET', KEYS[1]) or '0'; local b = redis.call('GET', KEYS[2]) or '0'; \
     redis.call('SET', KEYS[1], b); redis.call('SET', KEYS[2], a); return {a, b}",
    "return {1, 2.5, 'x', true, false, nil, 'after nil'}",
    "return {ok='FINE'}",
    "return redis.status_reply('FINE')",
    "return redis.error_reply('MY ERR')",
    "return {err='bad thing'}",
    "return redis.call('NOSUCHCOMMAND')",
    "return redis.call('GET')",
    "return redis.call()",
    "return x.y",
    "return +",
    "x = 1",
    "return #KEYS + #ARGV",
    "return redis.sha1hex(ARGV[1] or '')",
    "return tonumber(ARGV[1])",
    "return redis.call('HSET', KEYS[1], 'f', ARGV[1] or 'v')",
    "return redis.call('EXISTS', unpack(KEYS))",
    "return redis.call('DEL', unpack(KEYS))",
    "local t = redis.call('TYPE', KEYS[1]); return t",
    "return bit.band(ARGV[1] or 0, 255)",
];

pub fn scripting(g: &mut Gen) -> Cmd {
    let script = g.pick(SCRIPTS);
    let nkeys = g.below(3);
    let mut keys = Vec::new();
    for _ in 0..nkeys {
        keys.push(g.key());
    }
    let mut argv = Vec::new();
    for _ in 0..g.below(3) {
        argv.push(g.short_value());
    }
    let mut a = match g.below(12) {
        0 => args!["SCRIPT", "LOAD", script],
        1 => {
            let sha = sha1_hex(script.as_bytes());
            let mut a = args!["SCRIPT", "EXISTS", sha];
            if g.chance(0.5) {
                a.push(b"0000000000000000000000000000000000000000".to_vec());
            }
            a
        }
        2 if g.chance(0.2) => args!["SCRIPT", "FLUSH"],
        3 => {
            let sha = sha1_hex(script.as_bytes());
            args!["EVALSHA", if g.chance(0.8) { sha } else { "ffffffffffffffffffffffffffffffffffffffff".into() }]
        }
        4 if g.chance(0.3) => {
            // Bad numkeys.
            return exact(args!["EVAL", script, g.pick(&["-1", "abc", "99"])]);
        }
        _ => args!["EVAL", script],
    };
    if a[0] == b"EVAL" || a[0] == b"EVALSHA" {
        a.push(nkeys.to_string().into_bytes());
        a.extend(keys);
        a.extend(argv);
    }
    exact(a)
}

/// SHA1 as lowercase hex (for EVALSHA and SCRIPT EXISTS of the scripts above).
fn sha1_hex(data: &[u8]) -> String {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in chunk.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let (mut a, mut b, mut c, mut d, mut e) = (h[0], h[1], h[2], h[3], h[4]);
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

#[cfg(test)]
mod sha_tests {
    #[test]
    fn sha1_matches_known_digests() {
        assert_eq!(super::sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(super::sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}
