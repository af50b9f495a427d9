//! Sorted-set structure: members ordered by (score, member bytes), with a member -> score index.
//!
//! Two views of the same elements, as Redis's `zset`:
//! - `dict`: an insertion-ordered hash map member -> score. O(1) ZSCORE, O(1) random access by
//!   position (ZRANDMEMBER) and a stable cursor for ZSCAN (see `keyspace::scan_positions`).
//! - `zsl`: Redis's skip list with spans (`zskiplist`), arena-allocated: nodes live in a `Vec`
//!   and link to each other by `u32` index; freed slots are reused and the arena is compacted
//!   when more than half of it is free. Spans make it an order-statistics structure:
//!   O(log n) insert, delete, score update, rank of a member and element at a rank, and
//!   O(log n + k) ranges by rank, score or lex.
//!
//! Ranks in this API are 0-based. Scores are never NaN (insertion maps NaN to 0, callers are
//! expected to reject it first). Score comparisons use `<`/`==` as C does, so `-0.0 == 0.0`
//! and ties are broken by member bytes.
//!
//! Redis stores sorted sets of at most 128 members of at most 64 bytes as a listpack, where an
//! integral score is kept as an integer: a `-0` score reads back as `0` there. [`ZSet::insert`]
//! reproduces that (a zero score is stored as `+0.0` while the set is listpack-sized), and
//! lex-range lookups on listpack-sized sets follow the listpack's linear-scan semantics, so
//! results match Redis even for sets whose scores are not all equal.

use crate::value::FastBuild;
use bytes::Bytes;
use indexmap::IndexMap;
use std::fmt;

/// `zset-max-listpack-entries` (Redis 7.0 default).
pub const LISTPACK_MAX_ENTRIES: usize = 128;
/// `zset-max-listpack-value` (Redis 7.0 default).
pub const LISTPACK_MAX_VALUE: usize = 64;

const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;
/// `ZSKIPLIST_MAXLEVEL`.
const MAX_LEVEL: usize = 32;

#[derive(Clone, Copy, Debug)]
struct Level {
    forward: u32,
    /// Number of level-0 steps to `forward` (or, when `forward` is NIL, the number of nodes
    /// after this one), exactly as Redis's `zskiplistLevel.span`.
    span: u32,
    /// The score of `forward` (unused when NIL): a descent compares scores without touching
    /// the nodes ahead, and reads a member only on a score tie.
    score: f64,
}

const EMPTY_LEVEL: Level = Level { forward: NIL, span: 0, score: 0.0 };

#[derive(Clone, Debug)]
struct Node {
    ele: Bytes,
    score: f64,
    backward: u32,
    /// Levels 0..INLINE, inline (levels a node does not have are unused). A descent spends
    /// most of its cache misses on the many low-level nodes; the few higher ones stay cached.
    lv: [Level; INLINE],
    /// Levels INLINE.. (empty for 63 nodes in 64).
    up: Vec<Level>,
}

/// Levels stored inside a node.
const INLINE: usize = 3;

/// Redis's `zskiplist` over an arena. Node 0 is the header (present once anything was
/// inserted; an empty list holds no allocation).
#[derive(Clone, Debug)]
struct SkipList {
    nodes: Vec<Node>,
    free: Vec<u32>,
    tail: u32,
    length: usize,
    level: usize,
    /// xorshift state for node levels (levels affect speed only, never results).
    seed: u64,
}

const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

impl SkipList {
    fn new() -> SkipList {
        SkipList { nodes: Vec::new(), free: Vec::new(), tail: NIL, length: 0, level: 1, seed: SEED }
    }

    fn ensure_head(&mut self) {
        if self.nodes.is_empty() {
            self.nodes.push(Node {
                ele: Bytes::new(),
                score: 0.0,
                backward: NIL,
                lv: [EMPTY_LEVEL; INLINE],
                up: vec![EMPTY_LEVEL; MAX_LEVEL - INLINE],
            });
        }
    }

    #[inline]
    fn node(&self, x: u32) -> &Node {
        &self.nodes[x as usize]
    }

    #[inline]
    fn lv(&self, x: u32, i: usize) -> Level {
        let n = self.node(x);
        if i < INLINE {
            n.lv[i]
        } else {
            n.up[i - INLINE]
        }
    }

    #[inline]
    fn lv_mut(&mut self, x: u32, i: usize) -> &mut Level {
        let n = &mut self.nodes[x as usize];
        if i < INLINE {
            &mut n.lv[i]
        } else {
            &mut n.up[i - INLINE]
        }
    }

    #[inline]
    fn first(&self) -> u32 {
        if self.length == 0 {
            NIL
        } else {
            self.lv(HEAD, 0).forward
        }
    }

    fn next_rand(&mut self) -> u64 {
        let mut x = self.seed;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.seed = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32
    }

    /// `zslRandomLevel`: P = 1/4.
    fn random_level(&mut self) -> usize {
        let mut level = 1;
        while level < MAX_LEVEL && (self.next_rand() & 0xFFFF) < 0x4000 {
            level += 1;
        }
        level
    }

    fn alloc(&mut self, ele: Bytes, score: f64, level: usize) -> u32 {
        let node = Node {
            ele,
            score,
            backward: NIL,
            lv: [EMPTY_LEVEL; INLINE],
            up: if level > INLINE { vec![EMPTY_LEVEL; level - INLINE] } else { Vec::new() },
        };
        match self.free.pop() {
            Some(id) => {
                self.nodes[id as usize] = node;
                id
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// Releases a node's slot, returning its member.
    fn release(&mut self, x: u32) -> Bytes {
        let n = &mut self.nodes[x as usize];
        n.up = Vec::new();
        let ele = std::mem::take(&mut n.ele);
        self.free.push(x);
        ele
    }

    /// True if the node `l` links to sorts before (score, ele).
    #[inline]
    fn before(&self, l: Level, score: f64, ele: &[u8]) -> bool {
        l.forward != NIL && (l.score < score || (l.score == score && self.node(l.forward).ele[..] < *ele))
    }

    /// `zslInsert`: (score, ele) must not be present.
    fn insert(&mut self, score: f64, ele: Bytes) {
        self.ensure_head();
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0usize; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let l = self.lv(x, i);
                if self.before(l, score, &ele) {
                    rank[i] += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let level = self.random_level();
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEAD;
                self.lv_mut(HEAD, i).span = self.length as u32;
            }
            self.level = level;
        }
        let x = self.alloc(ele, score, level);
        for i in 0..level {
            let u = self.lv(update[i], i);
            let crossed = (rank[0] - rank[i]) as u32;
            *self.lv_mut(x, i) = Level { forward: u.forward, span: u.span - crossed, score: u.score };
            *self.lv_mut(update[i], i) = Level { forward: x, span: crossed + 1, score };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            self.lv_mut(u, i).span += 1;
        }
        let back = if update[0] == HEAD { NIL } else { update[0] };
        self.nodes[x as usize].backward = back;
        let fwd = self.lv(x, 0).forward;
        if fwd != NIL {
            self.nodes[fwd as usize].backward = x;
        } else {
            self.tail = x;
        }
        self.length += 1;
    }

    /// `zslDeleteNode`: unlinks `x` given its predecessors at every level.
    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let ul = self.lv(u, i);
            if ul.forward == x {
                let xl = self.lv(x, i);
                *self.lv_mut(u, i) = Level { forward: xl.forward, span: ul.span + xl.span - 1, score: xl.score };
            } else {
                self.lv_mut(u, i).span -= 1;
            }
        }
        let fwd = self.lv(x, 0).forward;
        let back = self.node(x).backward;
        if fwd != NIL {
            self.nodes[fwd as usize].backward = back;
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.lv(HEAD, self.level - 1).forward == NIL {
            self.level -= 1;
        }
        self.length -= 1;
    }

    /// Predecessors of (score, ele) at every level, and the node that follows them at level 0
    /// (the node itself if present).
    fn find_update(&self, score: f64, ele: &[u8]) -> ([u32; MAX_LEVEL], u32) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lv(x, i);
                if self.before(l, score, ele) {
                    x = l.forward;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        (update, self.lv(x, 0).forward)
    }

    fn is_node(&self, x: u32, score: f64, ele: &[u8]) -> bool {
        x != NIL && self.node(x).score == score && self.node(x).ele[..] == *ele
    }

    /// `zslDelete`: removes (score, ele) and returns its member, or None if absent.
    fn delete(&mut self, score: f64, ele: &[u8]) -> Option<Bytes> {
        if self.length == 0 {
            return None;
        }
        let (update, x) = self.find_update(score, ele);
        if !self.is_node(x, score, ele) {
            return None;
        }
        self.unlink(x, &update);
        Some(self.release(x))
    }

    /// `zslUpdateScore`: moves (cur, ele) to `new`, in place when the order allows it.
    fn update_score(&mut self, cur: f64, ele: &[u8], new: f64) {
        if self.length == 0 {
            return;
        }
        let (update, x) = self.find_update(cur, ele);
        if !self.is_node(x, cur, ele) {
            debug_assert!(false, "zset views out of sync");
            return;
        }
        let n = self.node(x);
        let back_ok = n.backward == NIL || self.node(n.backward).score < new;
        let fwd = n.lv[0].forward;
        let fwd_ok = fwd == NIL || self.node(fwd).score > new;
        if back_ok && fwd_ok {
            self.nodes[x as usize].score = new;
            for (i, &u) in update.iter().enumerate().take(self.level) {
                let l = self.lv_mut(u, i);
                if l.forward == x {
                    l.score = new;
                }
            }
            return;
        }
        self.unlink(x, &update);
        let ele = self.release(x);
        self.insert(new, ele);
    }

    /// `zslGetRank`: 1-based rank of (score, ele), 0 if absent.
    fn rank(&self, score: f64, ele: &[u8]) -> usize {
        if self.length == 0 {
            return 0;
        }
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lv(x, i);
                if l.forward == NIL {
                    break;
                }
                if l.score < score || (l.score == score && self.node(l.forward).ele[..] <= *ele) {
                    rank += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            if x != HEAD && self.is_node(x, score, ele) {
                return rank;
            }
        }
        0
    }

    /// `zslGetElementByRank`: the node at 1-based `rank`, or NIL.
    fn by_rank(&self, rank: usize) -> u32 {
        if rank == 0 || rank > self.length {
            return NIL;
        }
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lv(x, i);
                if l.forward != NIL && traversed + l.span as usize <= rank {
                    traversed += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            if traversed == rank {
                return x;
            }
        }
        NIL
    }

    /// Skip-list descent while `go(next node's member, next node's score)` holds: returns how
    /// many nodes were passed (the length of the prefix `go` accepts when `go` is monotone).
    /// With `by_score`, `go` gets an empty member and the nodes ahead are not read.
    fn descend(&self, by_score: bool, go: impl Fn(&[u8], f64) -> bool) -> usize {
        if self.length == 0 {
            return 0;
        }
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lv(x, i);
                if l.forward != NIL && go(if by_score { &[] } else { &self.node(l.forward).ele[..] }, l.score) {
                    rank += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
        }
        rank
    }

    /// `zslDeleteRangeByRank` with 1-based inclusive ranks; `on_remove` gets each removed
    /// member and score.
    fn delete_rank_range(&mut self, start: usize, end: usize, mut on_remove: impl FnMut(Bytes, f64)) -> usize {
        if self.length == 0 || start == 0 || start > end {
            return 0;
        }
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lv(x, i);
                if l.forward != NIL && traversed + (l.span as usize) < start {
                    traversed += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        traversed += 1;
        let mut x = self.lv(x, 0).forward;
        let mut removed = 0;
        while x != NIL && traversed <= end {
            let next = self.lv(x, 0).forward;
            self.unlink(x, &update);
            let score = self.node(x).score;
            let ele = self.release(x);
            on_remove(ele, score);
            removed += 1;
            traversed += 1;
            x = next;
        }
        removed
    }

    /// Builds a list from elements already in (score, member) order, in O(n).
    fn from_sorted(items: impl IntoIterator<Item = (Bytes, f64)>, seed: u64) -> SkipList {
        let mut sl = SkipList { seed, ..SkipList::new() };
        sl.ensure_head();
        let mut last = [HEAD; MAX_LEVEL];
        let mut last_rank = [0usize; MAX_LEVEL];
        for (ele, score) in items {
            let level = sl.random_level();
            sl.level = sl.level.max(level);
            let x = sl.alloc(ele, score, level);
            let rank = sl.length + 1;
            for i in 0..level {
                *sl.lv_mut(last[i], i) = Level { forward: x, span: (rank - last_rank[i]) as u32, score };
                last[i] = x;
                last_rank[i] = rank;
            }
            sl.nodes[x as usize].backward = if sl.length == 0 { NIL } else { sl.tail };
            sl.tail = x;
            sl.length += 1;
        }
        let len = sl.length;
        for i in 0..sl.level {
            *sl.lv_mut(last[i], i) = Level { forward: NIL, span: (len - last_rank[i]) as u32, score: 0.0 };
        }
        if len == 0 {
            return SkipList { seed, ..SkipList::new() };
        }
        sl
    }

    /// Frees the arena when empty; rebuilds it densely (in order) when mostly free.
    fn maybe_compact(&mut self) {
        if self.length == 0 {
            if !self.nodes.is_empty() {
                *self = SkipList { seed: self.seed, ..SkipList::new() };
            }
            return;
        }
        if self.free.len() >= 64 && self.free.len() * 2 > self.nodes.len() {
            let mut items = Vec::with_capacity(self.length);
            let mut x = self.first();
            while x != NIL {
                let n = &mut self.nodes[x as usize];
                items.push((std::mem::take(&mut n.ele), n.score));
                x = n.lv[0].forward;
            }
            *self = SkipList::from_sorted(items, self.seed);
        }
    }
}

/// A score interval (`zrangespec`): `min`/`max` with exclusive flags.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub minex: bool,
    pub maxex: bool,
}

impl ScoreRange {
    #[inline]
    pub fn gte_min(&self, v: f64) -> bool {
        if self.minex {
            v > self.min
        } else {
            v >= self.min
        }
    }

    #[inline]
    pub fn lte_max(&self, v: f64) -> bool {
        if self.maxex {
            v < self.max
        } else {
            v <= self.max
        }
    }

    /// Ranges that can hold nothing (min > max, or min == max with an exclusive end).
    pub fn is_void(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// One end of a lex interval: `-`, `+`, or a member (`(m` / `[m`).
#[derive(Debug, Clone, PartialEq)]
pub enum LexBound {
    /// `-`: before every string.
    Min,
    /// `+`: after every string.
    Max,
    Value(Bytes),
}

/// A lex interval (`zlexrangespec`).
#[derive(Debug, Clone, PartialEq)]
pub struct LexRange {
    pub min: LexBound,
    pub minex: bool,
    pub max: LexBound,
    pub maxex: bool,
}

/// Redis's `sdscmplex`: strings compared bytewise, `-`/`+` below/above all; two identical
/// sentinels compare equal.
fn cmp_lex_bounds(a: &LexBound, b: &LexBound) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    use LexBound::*;
    match (a, b) {
        (Min, Min) | (Max, Max) => Equal,
        (Min, _) | (_, Max) => Less,
        (Max, _) | (_, Min) => Greater,
        (Value(x), Value(y)) => x.cmp(y),
    }
}

/// A member compared with a bound.
#[inline]
fn cmp_value(v: &[u8], b: &LexBound) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match b {
        LexBound::Min => Greater,
        LexBound::Max => Less,
        LexBound::Value(x) => v.cmp(x),
    }
}

impl LexRange {
    #[inline]
    pub fn gte_min(&self, v: &[u8]) -> bool {
        let c = cmp_value(v, &self.min);
        if self.minex {
            c.is_gt()
        } else {
            c.is_ge()
        }
    }

    #[inline]
    pub fn lte_max(&self, v: &[u8]) -> bool {
        let c = cmp_value(v, &self.max);
        if self.maxex {
            c.is_lt()
        } else {
            c.is_le()
        }
    }

    /// Ranges that can hold nothing.
    pub fn is_void(&self) -> bool {
        let c = cmp_lex_bounds(&self.min, &self.max);
        c.is_gt() || (c.is_eq() && (self.minex || self.maxex))
    }
}

/// A sorted set. See the module documentation.
#[derive(Clone)]
pub struct ZSet {
    dict: IndexMap<Bytes, f64, FastBuild>,
    zsl: SkipList,
    /// Members longer than `LISTPACK_MAX_VALUE` bytes.
    long_members: usize,
    /// Total bytes of all members.
    member_bytes: usize,
    /// Redis would hold it as a skiplist: it grew past 128 members or got a member over 64
    /// bytes. Redis never converts back (except when a *STORE command builds a new set), so
    /// this is sticky.
    skiplist: bool,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::new()
    }
}

impl PartialEq for ZSet {
    /// Same members with the same scores.
    fn eq(&self, other: &ZSet) -> bool {
        self.len() == other.len() && self.dict.iter().all(|(m, s)| other.dict.get(m) == Some(s))
    }
}

impl fmt::Debug for ZSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter().map(|(m, s)| (String::from_utf8_lossy(m), s))).finish()
    }
}

/// Iterates a sorted set in order (or in reverse) from some rank.
pub struct Iter<'a> {
    zsl: &'a SkipList,
    node: u32,
    rev: bool,
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a Bytes, f64);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.node == NIL {
            return None;
        }
        let n = self.zsl.node(self.node);
        self.node = if self.rev { n.backward } else { n.lv[0].forward };
        self.remaining = self.remaining.saturating_sub(1);
        Some((&n.ele, n.score))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl ZSet {
    pub fn new() -> ZSet {
        ZSet { dict: IndexMap::default(), zsl: SkipList::new(), long_members: 0, member_bytes: 0, skiplist: false }
    }

    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// Length of the longest member (O(n)).
    pub fn max_member_len(&self) -> usize {
        self.dict.keys().map(|k| k.len()).max().unwrap_or(0)
    }

    /// True if Redis would hold this set as a listpack: it never had more than 128 members or
    /// a member over 64 bytes since it was made. O(1).
    pub fn is_listpack(&self) -> bool {
        !self.skiplist
    }

    /// Converts to a skiplist, as `zsetTypeCreate` does for a ZADD of many or long members.
    pub fn convert_to_skiplist(&mut self) {
        self.skiplist = true;
    }

    /// An estimate of the heap bytes held.
    pub fn mem_bytes(&self) -> usize {
        // dict: hash + key + value per entry plus the index table; arena: one node per slot
        // (upper levels average 1/3 of a level per node).
        self.dict.capacity() * (8 + 32 + 8 + 8)
            + self.zsl.nodes.capacity() * (std::mem::size_of::<Node>() + 3)
            + self.member_bytes
            + self.len() * 16
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.dict.get(member).copied()
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.dict.contains_key(member)
    }

    /// A zero score is stored as `+0.0` while the set is listpack-sized (see module docs).
    #[inline]
    fn norm(score: f64, listpack: bool) -> f64 {
        if score.is_nan() || (score == 0.0 && listpack) {
            0.0
        } else {
            score
        }
    }

    /// Adds `member` with `score`, or moves it to `score` if present. Returns true if it was
    /// added. `member` is stored as given: copy it first if it is a slice of a larger buffer.
    pub fn insert(&mut self, member: Bytes, score: f64) -> bool {
        if let Some(&cur) = self.dict.get(&member[..]) {
            self.update(&member, cur, score);
            return false;
        }
        let long = member.len() > LISTPACK_MAX_VALUE;
        let listpack = !self.skiplist && self.len() < LISTPACK_MAX_ENTRIES && !long;
        // Redis converts before inserting: the new member is stored as a skiplist one.
        self.skiplist = !listpack;
        let score = Self::norm(score, listpack);
        self.long_members += long as usize;
        self.member_bytes += member.len();
        self.dict.insert(member.clone(), score);
        self.zsl.insert(score, member);
        true
    }

    /// Like [`ZSet::insert`], copying `member` only if it is new.
    pub fn add(&mut self, member: &[u8], score: f64) -> bool {
        if let Some(&cur) = self.dict.get(member) {
            self.update(member, cur, score);
            return false;
        }
        self.insert(Bytes::copy_from_slice(member), score)
    }

    fn update(&mut self, member: &[u8], cur: f64, score: f64) {
        let score = Self::norm(score, self.is_listpack());
        // As Redis: an equal score (including -0 vs 0) changes nothing.
        if score == cur {
            return;
        }
        if let Some(s) = self.dict.get_mut(member) {
            *s = score;
        }
        self.zsl.update_score(cur, member, score);
    }

    fn forget(&mut self, member: &[u8]) {
        self.member_bytes -= member.len();
        if member.len() > LISTPACK_MAX_VALUE {
            self.long_members -= 1;
        }
    }

    /// Removes `member`, returning its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.dict.swap_remove(member)?;
        self.forget(member);
        self.zsl.delete(score, member);
        self.zsl.maybe_compact();
        Some(score)
    }

    /// 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        match self.zsl.rank(score, member) {
            0 => None,
            r => Some(r - 1),
        }
    }

    /// The element at 0-based `rank` (ascending).
    pub fn get_by_rank(&self, rank: usize) -> Option<(&Bytes, f64)> {
        let x = self.zsl.by_rank(rank.checked_add(1)?);
        if x == NIL {
            return None;
        }
        let n = self.zsl.node(x);
        Some((&n.ele, n.score))
    }

    /// Ascending order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { zsl: &self.zsl, node: self.zsl.first(), rev: false, remaining: self.len() }
    }

    /// Descending order.
    pub fn iter_rev(&self) -> Iter<'_> {
        let node = if self.is_empty() { NIL } else { self.zsl.tail };
        Iter { zsl: &self.zsl, node, rev: true, remaining: self.len() }
    }

    /// From 0-based `rank`: toward higher ranks, or toward rank 0 when `rev`.
    pub fn iter_at(&self, rank: usize, rev: bool) -> Iter<'_> {
        let len = self.len();
        let (node, remaining) = if rank >= len {
            (NIL, 0)
        } else if rank == 0 && !rev {
            (self.zsl.first(), len)
        } else if rank == len - 1 && rev {
            (self.zsl.tail, len)
        } else {
            let x = self.zsl.by_rank(rank + 1);
            (x, if rev { rank + 1 } else { len - rank })
        };
        Iter { zsl: &self.zsl, node, rev, remaining }
    }

    /// Removes and returns the lowest element.
    pub fn pop_min(&mut self) -> Option<(Bytes, f64)> {
        let x = self.zsl.first();
        if x == NIL {
            return None;
        }
        let n = self.zsl.node(x);
        let (m, s) = (n.ele.clone(), n.score);
        self.remove(&m);
        Some((m, s))
    }

    /// Removes and returns the highest element.
    pub fn pop_max(&mut self) -> Option<(Bytes, f64)> {
        if self.is_empty() {
            return None;
        }
        let n = self.zsl.node(self.zsl.tail);
        let (m, s) = (n.ele.clone(), n.score);
        self.remove(&m);
        Some((m, s))
    }

    /// The element at position `i` of the member index (insertion order, perturbed by
    /// removals): for uniform random picks and SCAN cursors.
    pub fn entry_at(&self, i: usize) -> Option<(&Bytes, f64)> {
        self.dict.get_index(i).map(|(m, s)| (m, *s))
    }

    /// All elements in member-index order (cheaper than [`ZSet::iter`] when order is moot).
    pub fn entries(&self) -> impl Iterator<Item = (&Bytes, f64)> + '_ {
        self.dict.iter().map(|(m, s)| (m, *s))
    }

    /// Ranks [start, end) of the elements in `r`.
    pub fn score_range_ranks(&self, r: &ScoreRange) -> (usize, usize) {
        if r.is_void() {
            return (0, 0);
        }
        let start = self.zsl.descend(true, |_, s| !r.gte_min(s));
        let end = self.zsl.descend(true, |_, s| r.lte_max(s));
        (start, end.max(start))
    }

    /// 0-based rank of the first element in `r` (`zslFirstInRange`).
    pub fn first_in_score_range(&self, r: &ScoreRange) -> Option<usize> {
        let (start, end) = self.score_range_ranks(r);
        (start < end).then_some(start)
    }

    /// 0-based rank of the last element in `r` (`zslLastInRange`).
    pub fn last_in_score_range(&self, r: &ScoreRange) -> Option<usize> {
        let (start, end) = self.score_range_ranks(r);
        (start < end).then(|| end - 1)
    }

    /// Number of elements in `r` (ZCOUNT).
    pub fn count_in_score_range(&self, r: &ScoreRange) -> usize {
        let (start, end) = self.score_range_ranks(r);
        end - start
    }

    /// `zsl/zzlIsInLexRange`: the range is not void, the last element is >= min and the first
    /// is <= max.
    fn lex_range_overlaps(&self, r: &LexRange) -> bool {
        if r.is_void() || self.is_empty() {
            return false;
        }
        let last = &self.zsl.node(self.zsl.tail).ele;
        let first = &self.zsl.node(self.zsl.first()).ele;
        r.gte_min(last) && r.lte_max(first)
    }

    /// 0-based rank of the first element in `r` (`zslFirstInLexRange`; a linear scan on
    /// listpack-sized sets, as Redis's `zzlFirstInLexRange`).
    pub fn first_in_lex_range(&self, r: &LexRange) -> Option<usize> {
        if !self.lex_range_overlaps(r) {
            return None;
        }
        let (rank, ele) = if self.is_listpack() {
            let (i, (m, _)) = self.iter().enumerate().find(|(_, (m, _))| r.gte_min(m))?;
            (i, m)
        } else {
            let rank = self.zsl.descend(false, |m, _| !r.gte_min(m));
            (rank, self.get_by_rank(rank)?.0)
        };
        r.lte_max(ele).then_some(rank)
    }

    /// 0-based rank of the last element in `r` (`zslLastInLexRange`, or the listpack's
    /// backward scan).
    pub fn last_in_lex_range(&self, r: &LexRange) -> Option<usize> {
        if !self.lex_range_overlaps(r) {
            return None;
        }
        let len = self.len();
        let (rank, ele) = if self.is_listpack() {
            let (i, (m, _)) = self.iter_rev().enumerate().find(|(_, (m, _))| r.lte_max(m))?;
            (len - 1 - i, m)
        } else {
            let passed = self.zsl.descend(false, |m, _| r.lte_max(m));
            let rank = passed.checked_sub(1)?;
            (rank, self.get_by_rank(rank)?.0)
        };
        r.gte_min(ele).then_some(rank)
    }

    /// Number of elements in `r` (ZLEXCOUNT): Redis's listpack count (first in range, then
    /// while <= max) or skiplist count (from the ranks of the first and last in range).
    pub fn count_in_lex_range(&self, r: &LexRange) -> usize {
        let Some(first) = self.first_in_lex_range(r) else {
            return 0;
        };
        if self.is_listpack() {
            return self.iter_at(first, false).take_while(|(m, _)| r.lte_max(m)).count();
        }
        let len = self.len();
        let mut count = len - first;
        if let Some(last) = self.last_in_lex_range(r) {
            count = count.saturating_sub(len - 1 - last);
        }
        count
    }

    /// Removes the elements of 0-based ranks `start..=end` (clamped). Returns how many.
    pub fn remove_rank_range(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.len().saturating_sub(1));
        if self.is_empty() || start > end {
            return 0;
        }
        let dict = &mut self.dict;
        let mut long = 0;
        let mut bytes = 0;
        let removed = self.zsl.delete_rank_range(start + 1, end + 1, |m, _| {
            bytes += m.len();
            long += (m.len() > LISTPACK_MAX_VALUE) as usize;
            dict.swap_remove(&m[..]);
        });
        self.member_bytes -= bytes;
        self.long_members -= long;
        self.zsl.maybe_compact();
        removed
    }

    /// Removes the elements with scores in `r` (ZREMRANGEBYSCORE). Returns how many.
    pub fn remove_score_range(&mut self, r: &ScoreRange) -> usize {
        let (start, end) = self.score_range_ranks(r);
        if start >= end {
            return 0;
        }
        self.remove_rank_range(start, end - 1)
    }

    /// Removes the elements in `r` (ZREMRANGEBYLEX): from the first in range while <= max.
    pub fn remove_lex_range(&mut self, r: &LexRange) -> usize {
        let Some(first) = self.first_in_lex_range(r) else {
            return 0;
        };
        let n = self.iter_at(first, false).take_while(|(m, _)| r.lte_max(m)).count();
        if n == 0 {
            return 0;
        }
        self.remove_rank_range(first, first + n - 1)
    }

    /// Builds a set from (member, score) pairs in any order, in O(n log n); a repeated
    /// member keeps its last score.
    pub fn from_entries(entries: Vec<(Bytes, f64)>) -> ZSet {
        let mut dict: IndexMap<Bytes, f64, FastBuild> =
            IndexMap::with_capacity_and_hasher(entries.len(), FastBuild::default());
        for (m, s) in entries {
            dict.insert(m, s);
        }
        let long_members = dict.keys().filter(|m| m.len() > LISTPACK_MAX_VALUE).count();
        let member_bytes = dict.keys().map(|m| m.len()).sum();
        let listpack = dict.len() <= LISTPACK_MAX_ENTRIES && long_members == 0;
        for s in dict.values_mut() {
            *s = Self::norm(*s, listpack);
        }
        let mut items: Vec<(Bytes, f64)> = dict.iter().map(|(m, s)| (m.clone(), *s)).collect();
        items.sort_unstable_by(|a, b| cmp_entries((&a.0, a.1), (&b.0, b.1)));
        ZSet { zsl: SkipList::from_sorted(items, SEED), dict, long_members, member_bytes, skiplist: !listpack }
    }
}

/// The sorted-set order: by score (`-0.0 == 0.0`), then by member bytes.
pub fn cmp_entries(a: (&[u8], f64), b: (&[u8], f64)) -> std::cmp::Ordering {
    a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.0.cmp(b.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    /// Checks the skip list's links and spans against its level-0 order and the dict.
    fn check(z: &ZSet) {
        let sl = &z.zsl;
        assert_eq!(sl.length, z.dict.len());
        if sl.length == 0 {
            assert_eq!(sl.tail, NIL);
            return;
        }
        // level 0 order, backward links, ranks
        let mut order = Vec::new();
        let mut x = sl.first();
        let mut prev = NIL;
        while x != NIL {
            assert_eq!(sl.node(x).backward, prev);
            order.push(x);
            prev = x;
            x = sl.lv(x, 0).forward;
        }
        assert_eq!(order.len(), sl.length);
        assert_eq!(sl.tail, prev);
        let pos: std::collections::HashMap<u32, usize> = order.iter().enumerate().map(|(i, &x)| (x, i + 1)).collect();
        for w in order.windows(2) {
            let (a, c) = (sl.node(w[0]), sl.node(w[1]));
            assert!(cmp_entries((&a.ele, a.score), (&c.ele, c.score)).is_lt());
        }
        for &x in &order {
            let n = sl.node(x);
            assert_eq!(z.dict.get(&n.ele[..]), Some(&n.score));
        }
        // spans at every level
        for i in 0..sl.level {
            let mut x = HEAD;
            let mut r = 0usize;
            loop {
                let l = sl.lv(x, i);
                if l.forward == NIL {
                    assert_eq!(l.span as usize, sl.length - r, "level {i} tail span");
                    break;
                }
                let fr = pos[&l.forward];
                assert_eq!(l.span as usize, fr - r, "level {i} span");
                assert_eq!(l.score, sl.node(l.forward).score, "level {i} cached score");
                r = fr;
                x = l.forward;
            }
        }
        assert!(sl.level == 1 || sl.lv(HEAD, sl.level - 1).forward != NIL);
    }

    /// The naive model: a sorted Vec.
    #[derive(Default)]
    struct Model(Vec<(Bytes, f64)>);

    impl Model {
        fn sort(&mut self) {
            self.0.sort_by(|a, b| cmp_entries((&a.0, a.1), (&b.0, b.1)));
        }
        fn insert(&mut self, m: Bytes, s: f64) -> bool {
            if let Some(e) = self.0.iter_mut().find(|e| e.0 == m) {
                e.1 = s;
                self.sort();
                false
            } else {
                self.0.push((m, s));
                self.sort();
                true
            }
        }
        fn remove(&mut self, m: &[u8]) -> Option<f64> {
            let i = self.0.iter().position(|e| e.0 == m)?;
            Some(self.0.remove(i).1)
        }
    }

    fn random_member(rng: &mut SmallRng) -> Bytes {
        // Mostly short names (many collisions), sometimes long ones (non-listpack sets).
        if rng.gen_ratio(1, 50) {
            Bytes::from(vec![b'L'; 65 + rng.gen_range(0..3)])
        } else {
            Bytes::from(format!("m{}", rng.gen_range(0..400)))
        }
    }

    fn random_score(rng: &mut SmallRng) -> f64 {
        match rng.gen_range(0..10) {
            0 => f64::INFINITY,
            1 => f64::NEG_INFINITY,
            2..=5 => rng.gen_range(-5..5) as f64,
            _ => rng.gen_range(-100.0..100.0),
        }
    }

    #[test]
    fn randomized_against_sorted_vec() {
        let mut rng = SmallRng::seed_from_u64(0x5eed);
        for round in 0..6 {
            let mut z = ZSet::new();
            let mut m = Model::default();
            let ops = if round < 3 { 3000 } else { 8000 };
            for step in 0..ops {
                match rng.gen_range(0..100) {
                    0..=44 => {
                        let (k, s) = (random_member(&mut rng), random_score(&mut rng));
                        let s = if s == 0.0 { 0.0 } else { s };
                        assert_eq!(z.insert(k.clone(), s), m.insert(k, s));
                    }
                    45..=64 => {
                        let k = random_member(&mut rng);
                        assert_eq!(z.remove(&k), m.remove(&k));
                    }
                    65..=69 => {
                        let a = rng.gen_range(0..m.0.len() + 3);
                        let c = a + rng.gen_range(0..20);
                        let want = m.0.len().min(c + 1).saturating_sub(a);
                        assert_eq!(z.remove_rank_range(a, c), want);
                        let hi = (c + 1).min(m.0.len());
                        if a < hi {
                            m.0.drain(a..hi);
                        }
                    }
                    70..=74 => {
                        let r = ScoreRange {
                            min: rng.gen_range(-6..6) as f64,
                            max: rng.gen_range(-6..6) as f64,
                            minex: rng.gen(),
                            maxex: rng.gen(),
                        };
                        let before = m.0.len();
                        m.0.retain(|e| !(r.gte_min(e.1) && r.lte_max(e.1)));
                        assert_eq!(z.remove_score_range(&r), before - m.0.len());
                    }
                    75..=77 => {
                        let got = if rng.gen() { z.pop_min() } else { z.pop_max() };
                        if let Some((k, s)) = got {
                            let want = if m.0.first().map(|e| e.0 == k).unwrap_or(false) {
                                m.0.remove(0)
                            } else {
                                m.0.pop().unwrap()
                            };
                            assert_eq!((k, s), want);
                        } else {
                            assert!(m.0.is_empty());
                        }
                    }
                    _ => {
                        // queries
                        let k = random_member(&mut rng);
                        let want_rank = m.0.iter().position(|e| e.0 == k);
                        assert_eq!(z.rank(&k), want_rank);
                        assert_eq!(z.score(&k), want_rank.map(|i| m.0[i].1));
                        let i = rng.gen_range(0..m.0.len() + 2);
                        assert_eq!(z.get_by_rank(i).map(|(a, s)| (a.clone(), s)), m.0.get(i).cloned());
                        let r = ScoreRange {
                            min: random_score(&mut rng),
                            max: random_score(&mut rng),
                            minex: rng.gen(),
                            maxex: rng.gen(),
                        };
                        let inr: Vec<usize> =
                            (0..m.0.len()).filter(|&i| r.gte_min(m.0[i].1) && r.lte_max(m.0[i].1)).collect();
                        assert_eq!(z.count_in_score_range(&r), inr.len());
                        assert_eq!(z.first_in_score_range(&r), inr.first().copied());
                        assert_eq!(z.last_in_score_range(&r), inr.last().copied());
                        let it: Vec<(Bytes, f64)> =
                            z.iter_at(i, rng.gen()).map(|(a, s)| (a.clone(), s)).take(5).collect();
                        assert!(it.len() <= 5);
                    }
                }
                if step % 97 == 0 {
                    check(&z);
                    let all: Vec<(Bytes, f64)> = z.iter().map(|(a, s)| (a.clone(), s)).collect();
                    assert_eq!(all, m.0);
                    let rev: Vec<(Bytes, f64)> = z.iter_rev().map(|(a, s)| (a.clone(), s)).collect();
                    assert_eq!(rev, m.0.iter().rev().cloned().collect::<Vec<_>>());
                    if !m.0.is_empty() {
                        let i = rng.gen_range(0..m.0.len());
                        let fw: Vec<_> = z.iter_at(i, false).map(|(a, _)| a.clone()).collect();
                        assert_eq!(fw, m.0[i..].iter().map(|e| e.0.clone()).collect::<Vec<_>>());
                        let bw: Vec<_> = z.iter_at(i, true).map(|(a, _)| a.clone()).collect();
                        assert_eq!(bw, m.0[..=i].iter().rev().map(|e| e.0.clone()).collect::<Vec<_>>());
                    }
                }
            }
            check(&z);
            let rebuilt = ZSet::from_entries(m.0.clone());
            check(&rebuilt);
            assert_eq!(rebuilt, z);
        }
    }

    #[test]
    fn lex_ranges_against_model() {
        let mut rng = SmallRng::seed_from_u64(7);
        for n in [5usize, 100, 400] {
            let mut z = ZSet::new();
            for _ in 0..n {
                z.insert(Bytes::from(format!("{:03}", rng.gen_range(0..999))), 0.0);
            }
            let all: Vec<Bytes> = z.iter().map(|(m, _)| m.clone()).collect();
            for _ in 0..300 {
                let bound = |rng: &mut SmallRng| match rng.gen_range(0..8) {
                    0 => LexBound::Min,
                    1 => LexBound::Max,
                    _ => LexBound::Value(Bytes::from(format!("{:03}", rng.gen_range(0..999)))),
                };
                let r = LexRange { min: bound(&mut rng), minex: rng.gen(), max: bound(&mut rng), maxex: rng.gen() };
                let inr: Vec<usize> = (0..all.len()).filter(|&i| r.gte_min(&all[i]) && r.lte_max(&all[i])).collect();
                assert_eq!(z.first_in_lex_range(&r), inr.first().copied(), "{r:?}");
                assert_eq!(z.last_in_lex_range(&r), inr.last().copied(), "{r:?}");
                assert_eq!(z.count_in_lex_range(&r), inr.len());
            }
            let r =
                LexRange { min: LexBound::Value(b("100")), minex: false, max: LexBound::Value(b("500")), maxex: true };
            let want = all.iter().filter(|m| r.gte_min(m) && r.lte_max(m)).count();
            assert_eq!(z.remove_lex_range(&r), want);
            check(&z);
            assert_eq!(z.count_in_lex_range(&r), 0);
        }
    }

    #[test]
    fn negative_zero_is_plain_zero_in_listpack_sized_sets() {
        let mut z = ZSet::new();
        z.insert(b("a"), -0.0);
        assert!(z.score(b"a").unwrap().is_sign_positive());
        let mut big = ZSet::new();
        big.insert(Bytes::from(vec![b'x'; 65]), 1.0);
        big.insert(b("a"), -0.0);
        assert!(big.score(b"a").unwrap().is_sign_negative());
        let z = ZSet::from_entries(vec![(b("a"), -0.0)]);
        assert!(z.score(b"a").unwrap().is_sign_positive());
    }

    #[test]
    fn arena_is_compacted_and_released() {
        let mut z = ZSet::new();
        for i in 0..1000 {
            z.insert(Bytes::from(format!("m{i}")), i as f64);
        }
        for i in 0..900 {
            z.remove(format!("m{i}").as_bytes());
        }
        check(&z);
        assert!(z.zsl.nodes.len() < 500, "arena not compacted: {}", z.zsl.nodes.len());
        assert_eq!(z.get_by_rank(0).map(|(m, _)| m.clone()), Some(b("m900")));
        z.remove_rank_range(0, 1000);
        assert!(z.is_empty());
        assert!(z.zsl.nodes.is_empty());
        check(&z);
        z.insert(b("again"), 1.0);
        check(&z);
        assert_eq!(z.rank(b"again"), Some(0));
    }

    #[test]
    fn equality_debug_default() {
        let mut a = ZSet::default();
        let mut c = ZSet::new();
        a.insert(b("x"), 1.0);
        a.insert(b("y"), 2.0);
        c.insert(b("y"), 2.0);
        c.insert(b("x"), 1.0);
        assert_eq!(a, c);
        c.insert(b("x"), 3.0);
        assert_ne!(a, c);
        assert_eq!(format!("{a:?}"), r#"{"x": 1.0, "y": 2.0}"#);
        assert_eq!(a.max_member_len(), 1);
        assert!(a.mem_bytes() > 0);
    }
}
