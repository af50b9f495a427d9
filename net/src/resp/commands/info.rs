//! INFO (<https://redis.io/commands/info/>): sections in Redis's `# Section` / `key:value`
//! format, gathered from every shard.

use crate::resp::{state, stats};
use crate::server::{REDIS_COMPAT_VERSION, SERVER_VERSION};
use bytes::Bytes;
use orbit_engine::keyspace::DATABASES;
use orbit_engine::reply::Reply;
use orbit_shards::mesh;
use std::fmt::Write;
use std::sync::OnceLock;
use std::time::Instant;

fn start() -> &'static Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now)
}

/// Marks the server's start time (for uptime).
pub fn mark_start() {
    start();
}

/// What one shard reports.
struct ShardReport {
    id: usize,
    clients: usize,
    blocked: usize,
    pubsub_clients: usize,
    keys: [(usize, usize); DATABASES],
    stats: stats::Stats,
    expired: u64,
    evicted: u64,
    /// Changes since this shard's last successful snapshot.
    dirty: u64,
    stalls: orbit_shards::rt::StallStats,
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1024.0 {
        format!("{bytes}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / 1024.0 / 1024.0)
    } else {
        format!("{:.2}G", b / 1024.0 / 1024.0 / 1024.0)
    }
}

pub async fn info(args: &[Bytes]) -> Reply {
    let wanted: Vec<String> = args[1..].iter().map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
    let all = wanted.iter().any(|w| w == "all" || w == "everything");
    let default = wanted.is_empty() || wanted.iter().any(|w| w == "default");
    let want =
        |s: &str| all || (default && s != "commandstats" && s != "latencystats") || wanted.iter().any(|w| w == s);

    let reports = mesh::run_on_all(|s| {
        let (clients, blocked, pubsub_clients) = state::with_net(|n| {
            let c = n.clients.len();
            let b = n.clients.values().filter(|c| c.blocked.get()).count();
            let p = n.clients.values().filter(|c| c.subs.get() + c.psubs.get() + c.ssubs.get() > 0).count();
            (c, b, p)
        });
        let mut keys = [(0usize, 0usize); DATABASES];
        for (i, db) in s.keyspace.dbs.iter().enumerate() {
            keys[i] = (db.len(), db.expires_len());
        }
        ShardReport {
            id: s.id,
            clients,
            blocked,
            pubsub_clients,
            keys,
            stats: stats::snapshot(),
            expired: s.stats.expired_keys,
            evicted: s.stats.evicted_keys,
            dirty: s.snapshot.changes_since_save(s.keyspace.dirty),
            stalls: orbit_shards::rt::stall_stats(),
        }
    })
    .await
    .unwrap_or_default();
    let cfg = state::config();
    let mut o = String::new();
    let uptime = start().elapsed().as_secs();
    if want("server") {
        let _ = write!(
            o,
            "# Server\r\nredis_version:{REDIS_COMPAT_VERSION}\r\norbit_version:{SERVER_VERSION}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\nmultiplexing_api:io_uring\r\nprocess_id:{}\r\nrun_id:{:040x}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nexecutable:orbit\r\nshards:{}\r\nshard_id:{}\r\n\r\n",
            std::env::consts::OS,
            std::env::consts::ARCH,
            std::process::id(),
            std::process::id(),
            cfg.port,
            uptime,
            uptime / 86400,
            cfg.hz,
            reports.len(),
            orbit_shards::state::local().0,
        );
    }
    let total_clients: usize = reports.iter().map(|r| r.clients).sum();
    if want("clients") {
        let _ = write!(
            o,
            "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:{}\r\npubsub_clients:{}\r\n",
            total_clients,
            cfg.maxclients,
            reports.iter().map(|r| r.blocked).sum::<usize>(),
            reports.iter().map(|r| r.pubsub_clients).sum::<usize>(),
        );
        for r in &reports {
            let _ = write!(o, "shard{}_clients:{}\r\n", r.id, r.clients);
        }
        o.push_str("\r\n");
    }
    if want("memory") {
        let used = orbit_shards::memory::used_bytes();
        let _ = write!(
            o,
            "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nmaxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nmem_allocator:libc\r\n\r\n",
            human(used),
            cfg.maxmemory,
            human(cfg.maxmemory),
            cfg.maxmemory_policy.name(),
        );
    }
    if want("persistence") {
        let dirty: u64 = reports.iter().map(|r| r.dirty).sum();
        o.push_str(&super::persistence::info_section(dirty).await);
    }
    if want("stats") {
        let s = |f: fn(&stats::Stats) -> u64| reports.iter().map(|r| f(&r.stats)).sum::<u64>();
        let _ = write!(
            o,
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\nexpired_keys:{}\r\nevicted_keys:{}\r\npubsub_channels:0\r\ntotal_error_replies:{}\r\nreactor_stalls:{}\r\nreactor_stall_longest_usec:{}\r\n",
            s(|x| x.total_connections),
            s(|x| x.total_commands),
            s(|x| x.net_input_bytes),
            s(|x| x.net_output_bytes),
            s(|x| x.rejected_connections),
            reports.iter().map(|r| r.expired).sum::<u64>(),
            reports.iter().map(|r| r.evicted).sum::<u64>(),
            s(|x| x.error_replies),
            reports.iter().map(|r| r.stalls.stalls).sum::<u64>(),
            reports.iter().map(|r| r.stalls.longest_usec).max().unwrap_or(0),
        );
        // Per shard, like the clients section's shard<i>_clients.
        for r in &reports {
            let _ = write!(o, "shard{}_reactor_stalls:{}\r\n", r.id, r.stalls.stalls);
        }
        o.push_str("\r\n");
    }
    if want("replication") {
        o.push_str("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n");
    }
    if want("cpu") {
        // SAFETY: getrusage fills the struct we pass.
        let ru = unsafe {
            let mut ru: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_SELF, &mut ru);
            ru
        };
        let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
        let _ = write!(o, "# CPU\r\nused_cpu_sys:{:.6}\r\nused_cpu_user:{:.6}\r\n\r\n", t(ru.ru_stime), t(ru.ru_utime));
    }
    if want("commandstats") {
        o.push_str("# Commandstats\r\n");
        let mut merged: std::collections::BTreeMap<&str, stats::CommandStat> = Default::default();
        for r in &reports {
            for (name, c) in &r.stats.commands {
                let m = merged.entry(name).or_default();
                m.calls += c.calls;
                m.usec += c.usec;
                m.rejected += c.rejected;
                m.failed += c.failed;
            }
        }
        for (name, c) in merged {
            let per = if c.calls > 0 { c.usec as f64 / c.calls as f64 } else { 0.0 };
            let _ = write!(
                o,
                "cmdstat_{name}:calls={},usec={},usec_per_call={per:.2},rejected_calls={},failed_calls={}\r\n",
                c.calls, c.usec, c.rejected, c.failed
            );
        }
        o.push_str("\r\n");
    }
    if want("latencystats") {
        o.push_str("# Latencystats\r\n");
        for (name, h) in super::slowlog::merged_histograms().await {
            let _ = write!(
                o,
                "latency_percentiles_usec_{name}:p50={:.3},p99={:.3},p99.9={:.3}\r\n",
                h.value_at_quantile(0.5) as f64,
                h.value_at_quantile(0.99) as f64,
                h.value_at_quantile(0.999) as f64
            );
        }
        o.push_str("\r\n");
    }
    if want("keyspace") {
        o.push_str("# Keyspace\r\n");
        for db in 0..DATABASES {
            let keys: usize = reports.iter().map(|r| r.keys[db].0).sum();
            let expires: usize = reports.iter().map(|r| r.keys[db].1).sum();
            if keys > 0 {
                let _ = write!(o, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
            }
        }
        o.push_str("\r\n");
    }
    while o.ends_with("\r\n\r\n") {
        o.truncate(o.len() - 2);
    }
    Reply::Verbatim("txt", Bytes::from(o))
}
