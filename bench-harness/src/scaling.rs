//! Scaling: the same RESP workload against Orbit with 1, 2, 4, 8, 16 shards, the shards on the
//! first CPUs and the load generator (one thread per CPU) on the rest, throughput per count.

use crate::compare::run_pinned;
use crate::load::LoadArgs;
use crate::report::{median, reproduce_command, thousands};
use crate::servers::{available_cpus, cpu_list, Durability, Server, ServerArgs, ServerKind};
use anyhow::{bail, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ScalingArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Shard counts to try; counts above this machine's CPUs are skipped.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16")]
    pub shard_counts: Vec<usize>,
    /// Rounds per shard count (the median is reported).
    #[arg(long, default_value_t = 1)]
    pub rounds: usize,
    #[arg(long)]
    pub orbit_bin: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "none")]
    pub durability: Durability,
    #[arg(long)]
    pub markdown: bool,
}

pub const SCALING_HEADER: &str =
    "| shards | server CPUs | load CPUs (threads) | Orbit ops/s | vs 1 shard | p99 ms | reproduce |\n|---|---|---|---|---|---|---|";

pub fn scaling(args: &ScalingArgs) -> Result<()> {
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    let cpus = available_cpus();
    let scratch = tempfile::Builder::new().prefix("bench-scaling-").tempdir()?;
    let mut base = None;
    if args.markdown {
        println!("{SCALING_HEADER}");
    }
    for &shards in &args.shard_counts {
        if shards == 0 || shards > cpus.len() {
            eprintln!("{shards} shards: skipped, this machine has {} CPUs", cpus.len());
            continue;
        }
        let server_cpus = cpu_list(&cpus[..shards]);
        // With no CPU left over the load shares all of them, and the row says so.
        let (load_cpus, shared) =
            if shards < cpus.len() { (cpu_list(&cpus[shards..]), false) } else { (cpu_list(&cpus), true) };
        let load_cpu_count = if shared { cpus.len() } else { cpus.len() - shards };
        let mut load = args.load.clone();
        load.threads = load_cpu_count.min(load.connections).max(1);
        let servers = ServerArgs {
            orbit_bin: args.orbit_bin.clone(),
            redis_bin: "redis-server".into(),
            shards,
            server_cpus: server_cpus.clone(),
            client_cpus: load_cpus.clone(),
            durability: args.durability,
        };
        let mut ops = Vec::new();
        let mut p99 = Vec::new();
        for _ in 0..args.rounds {
            let mut server = Server::start(ServerKind::Orbit, &servers, shards, &server_cpus)?;
            let r = run_pinned(&load_cpus, server.port, "orbit", &load, scratch.path())
                .map_err(|e| e.context(server.diagnose()))?;
            drop(server);
            eprintln!("{shards} shards: {} ops/s, p99 {:.3} ms", thousands(r.ops_per_s), r.latency.p99_ms);
            ops.push(r.ops_per_s);
            p99.push(r.latency.p99_ms);
        }
        let ops = median(&ops).unwrap_or(f64::NAN);
        let p99 = median(&p99).unwrap_or(f64::NAN);
        let base_ops = *base.get_or_insert(ops);
        let load_cell = format!("{load_cpus}{} ({})", if shared { ", shared" } else { "" }, load.threads);
        if args.markdown {
            println!(
                "| {shards} | {server_cpus} | {load_cell} | {} | {:.2}x | {p99:.3} | `{}` |",
                thousands(ops),
                ops / base_ops,
                reproduce_command()
            );
        } else {
            println!(
                "{shards:>2} shards on CPUs {server_cpus}, load on {load_cell}: {} ops/s ({:.2}x), p99 {p99:.3} ms",
                thousands(ops),
                ops / base_ops
            );
        }
    }
    Ok(())
}
