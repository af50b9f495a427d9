//! Per-shard command statistics (INFO commandstats, INFO stats): calls, time, errors.

use std::cell::RefCell;
use rustc_hash::FxHashMap;

#[derive(Debug, Default, Clone, Copy)]
pub struct CommandStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
}

#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub commands: FxHashMap<&'static str, CommandStat>,
    pub total_commands: u64,
    pub total_connections: u64,
    pub rejected_connections: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub error_replies: u64,
    pub pubsub_messages: u64,
}

thread_local! {
    static STATS: RefCell<Stats> = RefCell::new(Stats::default());
}

pub fn with<R>(f: impl FnOnce(&mut Stats) -> R) -> R {
    STATS.with(|s| f(&mut s.borrow_mut()))
}

pub fn snapshot() -> Stats {
    with(|s| s.clone())
}

pub fn reset() {
    with(|s| *s = Stats::default());
}
