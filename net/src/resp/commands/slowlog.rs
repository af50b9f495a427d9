//! SLOWLOG GET/LEN/RESET (<https://redis.io/commands/slowlog-get/>) and LATENCY HISTOGRAM
//! (<https://redis.io/commands/latency-histogram/>), merged over every shard.

use crate::resp::stats::{self, SlowEntry};
use bytes::Bytes;
use orbit_engine::redis::args::{self, is};
use orbit_engine::reply::Reply;
use orbit_shards::mesh;

fn bad(sub: &[u8], cmd: &str) -> Reply {
    Reply::err(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {cmd} HELP.",
        String::from_utf8_lossy(sub)
    ))
}

pub async fn slowlog(a: &[Bytes]) -> Reply {
    let sub = &a[1];
    if is(sub, "len") && a.len() == 2 {
        let n = mesh::run_on_all(|_| stats::with(|s| s.slowlog.len())).await.unwrap_or_default();
        return Reply::Int(n.into_iter().sum::<usize>() as i64);
    }
    if is(sub, "reset") && a.len() == 2 {
        let _ = mesh::run_on_all(|_| stats::with(|s| s.slowlog.clear())).await;
        return Reply::Ok;
    }
    if is(sub, "get") && a.len() <= 3 {
        let count = match a.get(2) {
            None => 10,
            Some(c) => match args::int(c) {
                Ok(v) if v >= -1 => v,
                _ => return Reply::err("ERR count should be greater than or equal to -1"),
            },
        };
        let per_shard: Vec<Vec<SlowEntry>> =
            mesh::run_on_all(|_| stats::with(|s| s.slowlog.iter().cloned().collect())).await.unwrap_or_default();
        let mut all: Vec<SlowEntry> = per_shard.into_iter().flatten().collect();
        all.sort_by_key(|e| std::cmp::Reverse(e.id));
        if count >= 0 {
            all.truncate(count as usize);
        }
        return Reply::Array(
            all.into_iter()
                .map(|e| {
                    Reply::Array(vec![
                        Reply::Int(e.id as i64),
                        Reply::Int(e.unix_s as i64),
                        Reply::Int(e.usec as i64),
                        Reply::Array(e.args.into_iter().map(Reply::Bulk).collect()),
                        Reply::bulk(e.addr),
                        Reply::Bulk(e.name),
                    ])
                })
                .collect(),
        );
    }
    if is(sub, "help") && a.len() == 2 {
        return Reply::Array(
            [
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|l| Reply::Simple((*l).into()))
            .collect(),
        );
    }
    bad(sub, "SLOWLOG")
}

/// LATENCY HISTOGRAM [command ...]: per command, calls and a histogram of power-of-two
/// microsecond buckets (cumulative counts), as Redis 7 reports it.
pub async fn latency(a: &[Bytes]) -> Reply {
    let sub = &a[1];
    if !is(sub, "histogram") {
        if is(sub, "latest") || is(sub, "history") || is(sub, "reset") || is(sub, "doctor") || is(sub, "graph") {
            return Reply::err(format!(
                "ERR LATENCY {} is not supported by Orbit (latency monitor events are not tracked)",
                String::from_utf8_lossy(sub).to_ascii_uppercase()
            ));
        }
        return bad(sub, "LATENCY");
    }
    let wanted: Vec<String> = a[2..].iter().map(|n| String::from_utf8_lossy(n).to_ascii_lowercase()).collect();
    let merged = merged_histograms().await;
    let mut out = Vec::new();
    for (name, h) in merged {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == name) {
            continue;
        }
        let mut buckets = Vec::new();
        let mut bound = 1u64;
        let max = h.max().max(1);
        loop {
            let cumulative = h.count_between(0, bound);
            buckets.push((Reply::Int(bound as i64), Reply::Int(cumulative as i64)));
            if bound >= max {
                break;
            }
            bound *= 2;
        }
        out.push((
            Reply::bulk(name),
            Reply::Map(vec![
                (Reply::bulk("calls"), Reply::Int(h.len() as i64)),
                (Reply::bulk("histogram_usec"), Reply::Map(buckets)),
            ]),
        ));
    }
    Reply::Map(out)
}

/// Every shard's per-command histograms, merged.
pub async fn merged_histograms() -> Vec<(&'static str, hdrhistogram::Histogram<u64>)> {
    let per_shard = mesh::run_on_all(|_| stats::with(|s| s.latency.clone())).await.unwrap_or_default();
    let mut merged: std::collections::BTreeMap<&'static str, hdrhistogram::Histogram<u64>> = Default::default();
    for m in per_shard {
        for (name, h) in m {
            match merged.get_mut(name) {
                Some(acc) => {
                    let _ = acc.add(&h);
                }
                None => {
                    merged.insert(name, h);
                }
            }
        }
    }
    merged.into_iter().collect()
}
