//! Sorted-set structure: members ordered by (score, member), with a member -> score index.
//! Placeholder ordering on a BTreeSet; the order-statistics version replaces it.

use bytes::Bytes;
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score(pub f64);
impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Score {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZSet {
    scores: HashMap<Bytes, f64>,
    order: BTreeSet<(Score, Bytes)>,
}

impl ZSet {
    pub fn len(&self) -> usize {
        self.scores.len()
    }
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
    pub fn max_member_len(&self) -> usize {
        self.scores.keys().map(|k| k.len()).max().unwrap_or(0)
    }
    pub fn mem_bytes(&self) -> usize {
        self.scores.keys().map(|k| k.len() * 2 + 96).sum()
    }
}
