//! Per-shard command statistics: calls, time and errors per command (INFO commandstats), a
//! latency histogram per command (INFO latencystats, LATENCY HISTOGRAM) and the slow log
//! (SLOWLOG). Each shard records for the connections it owns; readers merge over the mesh.

use super::state::{self, ClientHandle};
use bytes::Bytes;
use hdrhistogram::Histogram;
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default, Clone, Copy)]
pub struct CommandStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// One SLOWLOG entry, as Redis 7 reports it.
#[derive(Debug, Clone)]
pub struct SlowEntry {
    pub id: u64,
    pub unix_s: u64,
    pub usec: u64,
    pub args: Vec<Bytes>,
    pub addr: String,
    pub name: Bytes,
}

#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub commands: FxHashMap<&'static str, CommandStat>,
    pub latency: FxHashMap<&'static str, Histogram<u64>>,
    pub slowlog: VecDeque<SlowEntry>,
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

static NEXT_SLOWLOG_ID: AtomicU64 = AtomicU64::new(0);

/// Redis keeps at most 32 arguments and 128 bytes of each in a slow log entry.
const SLOWLOG_MAX_ARGS: usize = 32;
const SLOWLOG_MAX_ARG_BYTES: usize = 128;

pub fn with<R>(f: impl FnOnce(&mut Stats) -> R) -> R {
    STATS.with(|s| f(&mut s.borrow_mut()))
}

/// Records one executed command.
pub fn record(name: &'static str, usec: u64, failed: bool, args: &[Bytes], client: &ClientHandle) {
    let (threshold, max_len) = state::with_net(|n| (n.config.slowlog_log_slower_than_us, n.config.slowlog_max_len));
    with(|st| {
        st.total_commands += 1;
        let c = st.commands.entry(name).or_default();
        c.calls += 1;
        c.usec += usec;
        if failed {
            c.failed += 1;
        }
        let h = st
            .latency
            .entry(name)
            .or_insert_with(|| Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("valid histogram bounds"));
        h.saturating_record(usec.max(1));
        if threshold >= 0 && usec >= threshold as u64 && max_len > 0 && name != "slowlog" {
            let mut kept: Vec<Bytes> = args
                .iter()
                .take(if args.len() > SLOWLOG_MAX_ARGS { SLOWLOG_MAX_ARGS - 1 } else { SLOWLOG_MAX_ARGS })
                .map(|a| {
                    if a.len() > SLOWLOG_MAX_ARG_BYTES {
                        let mut v = a[..SLOWLOG_MAX_ARG_BYTES].to_vec();
                        v.extend_from_slice(format!("... ({} more bytes)", a.len() - SLOWLOG_MAX_ARG_BYTES).as_bytes());
                        Bytes::from(v)
                    } else {
                        a.clone()
                    }
                })
                .collect();
            if args.len() > SLOWLOG_MAX_ARGS {
                kept.push(Bytes::from(format!("... ({} more arguments)", args.len() - SLOWLOG_MAX_ARGS + 1)));
            }
            st.slowlog.push_front(SlowEntry {
                id: NEXT_SLOWLOG_ID.fetch_add(1, Ordering::Relaxed),
                unix_s: orbit_engine::keyspace::now_ms() / 1000,
                usec,
                args: kept,
                addr: client.addr.clone(),
                name: client.name.borrow().clone().unwrap_or_default(),
            });
            st.slowlog.truncate(max_len);
        }
    });
}

pub fn snapshot() -> Stats {
    with(|s| s.clone())
}

/// CONFIG RESETSTAT.
pub fn reset() {
    with(|s| {
        let slowlog = std::mem::take(&mut s.slowlog);
        *s = Stats::default();
        s.slowlog = slowlog;
    });
}
