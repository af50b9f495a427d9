//! bench-harness: Orbit's load generator and side-by-side benchmarks against the real servers.
//! `run` puts a RESP workload on one server; `compare` and `redis-benchmark` run Orbit and
//! redis-server in turn on pinned CPUs and print ratios; `scaling` varies Orbit's shard count;
//! `memory` compares bytes per key; `pgbench` and `sysbench` drive PostgreSQL. See docs/BENCHMARKS.md.

mod compare;
mod keys;
mod load;
mod memory;
mod pgbench;
mod report;
mod resp;
mod scaling;
mod servers;
mod sysbench;
mod workload;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "bench-harness", about = "Load generator and side-by-side benchmarks for Orbit")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Put a RESP workload on a running server; print throughput and latency.
    Run(RunArgs),
    /// Start Orbit and redis-server in turn (A B A B) on pinned CPUs, run the same workload
    /// against each, print the Orbit/Redis throughput ratio per round and the median.
    Compare(compare::CompareArgs),
    /// The same A B A B comparison, with the standard redis-benchmark as the load generator.
    RedisBenchmark(compare::RedisBenchmarkArgs),
    /// Orbit's throughput with 1, 2, 4, 8, 16 shards, load on the remaining CPUs.
    Scaling(scaling::ScalingArgs),
    /// Bytes per key for the same data in Orbit and in redis-server (INFO memory used_memory).
    Memory(memory::MemoryArgs),
    /// pgbench workloads against a throwaway PostgreSQL cluster.
    Pgbench(pgbench::PgbenchArgs),
    /// sysbench's OLTP workloads against a throwaway PostgreSQL cluster and Orbit.
    Sysbench(sysbench::SysbenchArgs),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, short = 'p', default_value_t = 6379)]
    port: u16,
    /// A name for the server in the output (e.g. orbit, redis).
    #[arg(long, default_value = "server")]
    target: String,
    /// Write the result as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    #[command(flatten)]
    load: load::LoadArgs,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Run(a) => {
            let r = load::run(&a.host, a.port, &a.target, &a.load)?;
            r.print();
            if let Some(path) = &a.json {
                r.write_json(path)?;
            }
            Ok(())
        }
        Cmd::Compare(a) => compare::compare(&a),
        Cmd::RedisBenchmark(a) => compare::redis_benchmark(&a),
        Cmd::Scaling(a) => scaling::scaling(&a),
        Cmd::Memory(a) => memory::memory(&a),
        Cmd::Pgbench(a) => pgbench::pgbench(&a),
        Cmd::Sysbench(a) => sysbench::sysbench(&a),
    }
}
