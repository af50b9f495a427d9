//! Side by side: Orbit and redis-server each started fresh, the server pinned to one CPU set and
//! the load generator to another, the same workload run against each in turn (A B A B ...),
//! and the throughput ratio printed per round and as the median over rounds. Two load
//! generators: this crate's own (`compare`) and the standard `redis-benchmark`.

use crate::load::LoadArgs;
use crate::report::{median, reproduce_command, thousands, Comparison, RunResult};
use crate::servers::{pinned, Server, ServerArgs, ServerKind};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const ORDER: [ServerKind; 2] = [ServerKind::Orbit, ServerKind::Redis];

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub servers: ServerArgs,
    /// Rounds; each runs Orbit then Redis.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// Write every run and the summary as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Print the result as a markdown table row (for docs/BENCHMARKS.md).
    #[arg(long)]
    pub markdown: bool,
}

pub const COMPARE_HEADER: &str = "| workload | P | conns | Orbit ops/s | Redis ops/s | Orbit/Redis: median (rounds) | Orbit p50 / p99 ms | Redis p50 / p99 ms | reproduce |\n|---|---|---|---|---|---|---|---|---|";

/// Runs `bench-harness run` under taskset on the client CPUs against `port`; returns its result.
pub fn run_pinned(client_cpus: &str, port: u16, target: &str, load: &LoadArgs, scratch: &Path) -> Result<RunResult> {
    let json = scratch.join(format!("run-{target}-{port}.json"));
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let out = pinned(client_cpus, exe)
        .args(["run", "--port", &port.to_string(), "--target", target, "--json"])
        .arg(&json)
        .args(load.to_args())
        .stdin(Stdio::null())
        .output()
        .context("cannot start the load generator")?;
    if !out.status.success() {
        bail!(
            "load generator failed against {target}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    RunResult::read_json(&json)
}

#[derive(Serialize)]
struct CompareReport<'a> {
    runs: &'a [RunResult],
    comparison: &'a Comparison,
}

pub fn compare(args: &CompareArgs) -> Result<()> {
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    let scratch = tempfile::Builder::new().prefix("bench-compare-").tempdir()?;
    let mut runs: Vec<RunResult> = Vec::new();
    for round in 1..=args.rounds {
        for kind in ORDER {
            let mut server = Server::start(kind, &args.servers, args.servers.shards, &args.servers.server_cpus)?;
            let r = run_pinned(&args.servers.client_cpus, server.port, kind.name(), &args.load, scratch.path())
                .map_err(|e| e.context(server.diagnose()))?;
            drop(server);
            eprintln!(
                "round {round} {:<5} {:>12} ops/s  p50 {:.3} ms  p99 {:.3} ms  ({} requests, {} errors)",
                kind.name(),
                thousands(r.ops_per_s),
                r.latency.p50_ms,
                r.latency.p99_ms,
                r.requests,
                r.errors
            );
            if r.errors > 0 {
                eprintln!("warning: {} error replies from {}", r.errors, kind.name());
            }
            runs.push(r);
        }
        let done: Vec<&RunResult> = runs.iter().rev().take(2).collect();
        if let [redis, orbit] = done[..] {
            if redis.ops_per_s > 0.0 {
                eprintln!("round {round} Orbit/Redis {:.2}", orbit.ops_per_s / redis.ops_per_s);
            }
        }
    }
    let of = |k: ServerKind| runs.iter().filter(|r| r.target == k.name()).cloned().collect::<Vec<_>>();
    let (orbit, redis) = (of(ServerKind::Orbit), of(ServerKind::Redis));
    let ops = |rs: &[RunResult]| rs.iter().map(|r| r.ops_per_s).collect::<Vec<_>>();
    let cmp = Comparison::of(ops(&orbit), ops(&redis));
    // With --markdown, stdout is the table; the summary goes with the progress lines.
    let summary = format!(
        "{}, P={}: Orbit {} ops/s, Redis {} ops/s (medians); Orbit/Redis per round {:?}, median {:.2}",
        label(&args.load),
        args.load.pipeline,
        thousands(cmp.orbit_median_ops),
        thousands(cmp.redis_median_ops),
        cmp.ratios.iter().map(|r| (r * 100.0).round() / 100.0).collect::<Vec<_>>(),
        cmp.median_ratio
    );
    if args.markdown {
        eprintln!("{summary}");
    } else {
        println!("{summary}");
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&CompareReport { runs: &runs, comparison: &cmp })?;
        std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.markdown {
        let lat = |rs: &[RunResult]| {
            let p50 = median(&rs.iter().map(|r| r.latency.p50_ms).collect::<Vec<_>>()).unwrap_or(f64::NAN);
            let p99 = median(&rs.iter().map(|r| r.latency.p99_ms).collect::<Vec<_>>()).unwrap_or(f64::NAN);
            format!("{p50:.3} / {p99:.3}")
        };
        println!("{COMPARE_HEADER}");
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | `{}` |",
            label(&args.load),
            args.load.pipeline,
            args.load.connections,
            thousands(cmp.orbit_median_ops),
            thousands(cmp.redis_median_ops),
            cmp.ratio_cell(),
            lat(&orbit),
            lat(&redis),
            reproduce_command()
        );
    }
    Ok(())
}

/// "get-set 10:1, zipfian(0.99)" — the workload as a table cell.
fn label(load: &LoadArgs) -> String {
    let mut s = load.workload.name().to_string();
    if load.workload != crate::workload::Workload::Incr {
        s += &format!(" {}", load.mix);
    }
    if load.distribution == crate::load::Distribution::Zipfian {
        s += &format!(", zipfian({})", load.zipf_theta);
    }
    s
}

#[derive(Debug, clap::Args)]
pub struct RedisBenchmarkArgs {
    #[command(flatten)]
    pub servers: ServerArgs,
    /// redis-benchmark -t: the tests to run.
    #[arg(long, default_value = "set,get,incr,lpush,rpop,zadd")]
    pub tests: String,
    /// redis-benchmark -n: requests per test.
    #[arg(long, short = 'n', default_value_t = 100_000)]
    pub requests: u64,
    /// redis-benchmark -c.
    #[arg(long, short = 'c', default_value_t = 50)]
    pub clients: usize,
    /// redis-benchmark -P.
    #[arg(long, short = 'P', default_value_t = 1)]
    pub pipeline: usize,
    /// redis-benchmark -r: random keys from this many.
    #[arg(long, short = 'r', default_value_t = 100_000)]
    pub keyspace: u64,
    /// redis-benchmark -d: value size in bytes.
    #[arg(long, short = 'd', default_value_t = 3)]
    pub data_size: usize,
    #[arg(long, default_value = "redis-benchmark")]
    pub redis_benchmark_bin: String,
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    #[arg(long)]
    pub markdown: bool,
}

pub const REDIS_BENCHMARK_HEADER: &str = "| redis-benchmark test | P | clients | Orbit req/s | Redis req/s | Orbit/Redis: median (rounds) | Orbit p50 / p99 ms | Redis p50 / p99 ms | reproduce |\n|---|---|---|---|---|---|---|---|---|";

/// One row of `redis-benchmark --csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchRow {
    pub test: String,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Parses `redis-benchmark --csv` output: a header row naming the columns, then one row per
/// test, every field in double quotes.
pub fn parse_redis_benchmark_csv(text: &str) -> Result<Vec<BenchRow>> {
    let fields = |line: &str| line.split(',').map(|f| f.trim().trim_matches('"').to_string()).collect::<Vec<_>>();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = fields(lines.next().context("redis-benchmark printed nothing")?);
    let col =
        |name: &str| header.iter().position(|h| h == name).with_context(|| format!("no {name} column in {header:?}"));
    let (test, rps, p50, p99) = (col("test")?, col("rps")?, col("p50_latency_ms")?, col("p99_latency_ms")?);
    let mut rows = Vec::new();
    for line in lines {
        let f = fields(line);
        let get = |i: usize| f.get(i).with_context(|| format!("short row {line:?}"));
        let num = |i: usize| -> Result<f64> { get(i)?.parse().with_context(|| format!("bad number in {line:?}")) };
        rows.push(BenchRow { test: get(test)?.clone(), rps: num(rps)?, p50_ms: num(p50)?, p99_ms: num(p99)? });
    }
    Ok(rows)
}

pub fn redis_benchmark(args: &RedisBenchmarkArgs) -> Result<()> {
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    // test -> server -> rows over rounds; tests kept in redis-benchmark's order.
    let mut results: BTreeMap<(usize, String), BTreeMap<&str, Vec<BenchRow>>> = BTreeMap::new();
    for round in 1..=args.rounds {
        for kind in ORDER {
            let mut server = Server::start(kind, &args.servers, args.servers.shards, &args.servers.server_cpus)?;
            let out = pinned(&args.servers.client_cpus, &args.redis_benchmark_bin)
                .args(["-h", "127.0.0.1", "-p", &server.port.to_string(), "-t", &args.tests])
                .args(["-n", &args.requests.to_string(), "-c", &args.clients.to_string()])
                .args(["-P", &args.pipeline.to_string(), "-r", &args.keyspace.to_string()])
                .args(["-d", &args.data_size.to_string(), "--csv", "-q"])
                .stdin(Stdio::null())
                .output()
                .context("cannot run redis-benchmark")?;
            if !out.status.success() {
                bail!("redis-benchmark failed: {}; {}", String::from_utf8_lossy(&out.stderr), server.diagnose());
            }
            drop(server);
            let rows = parse_redis_benchmark_csv(&String::from_utf8_lossy(&out.stdout))?;
            for (i, row) in rows.into_iter().enumerate() {
                eprintln!(
                    "round {round} {:<5} {:<8} {:>12} req/s  p50 {:.3} ms  p99 {:.3} ms",
                    kind.name(),
                    row.test,
                    thousands(row.rps),
                    row.p50_ms,
                    row.p99_ms
                );
                results.entry((i, row.test.clone())).or_default().entry(kind.name()).or_default().push(row);
            }
        }
    }
    if args.markdown {
        println!("{REDIS_BENCHMARK_HEADER}");
    }
    for ((_, test), by_server) in &results {
        let rows = |k: ServerKind| by_server.get(k.name()).cloned().unwrap_or_default();
        let (orbit, redis) = (rows(ServerKind::Orbit), rows(ServerKind::Redis));
        let rps = |rs: &[BenchRow]| rs.iter().map(|r| r.rps).collect::<Vec<_>>();
        let cmp = Comparison::of(rps(&orbit), rps(&redis));
        let lat = |rs: &[BenchRow]| {
            let p50 = median(&rs.iter().map(|r| r.p50_ms).collect::<Vec<_>>()).unwrap_or(f64::NAN);
            let p99 = median(&rs.iter().map(|r| r.p99_ms).collect::<Vec<_>>()).unwrap_or(f64::NAN);
            format!("{p50:.3} / {p99:.3}")
        };
        if args.markdown {
            println!(
                "| {test} | {} | {} | {} | {} | {} | {} | {} | `{}` |",
                args.pipeline,
                args.clients,
                thousands(cmp.orbit_median_ops),
                thousands(cmp.redis_median_ops),
                cmp.ratio_cell(),
                lat(&orbit),
                lat(&redis),
                reproduce_command()
            );
        } else {
            println!(
                "{test:<8} P={} Orbit {} req/s, Redis {} req/s; Orbit/Redis median {:.2} (rounds {:?})",
                args.pipeline,
                thousands(cmp.orbit_median_ops),
                thousands(cmp.redis_median_ops),
                cmp.median_ratio,
                cmp.ratios.iter().map(|r| (r * 100.0).round() / 100.0).collect::<Vec<_>>()
            );
        }
    }
    Ok(())
}

/// Is `program` on PATH (or a path that exists)?
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", "command -v \"$1\" >/dev/null 2>&1", "sh", program])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redis_benchmark_csv() {
        let text = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\"SET\",\"29368.58\",\"1.284\",\"0.112\",\"0.391\",\"6.623\",\"8.519\",\"10.663\"\n\"LPUSH\",\"26737.97\",\"1.354\",\"0.088\",\"0.375\",\"7.383\",\"8.503\",\"10.727\"\n";
        let rows = parse_redis_benchmark_csv(text).unwrap();
        assert_eq!(
            rows,
            vec![
                BenchRow { test: "SET".into(), rps: 29368.58, p50_ms: 0.391, p99_ms: 8.519 },
                BenchRow { test: "LPUSH".into(), rps: 26737.97, p50_ms: 0.375, p99_ms: 8.503 },
            ]
        );
        assert!(parse_redis_benchmark_csv("").is_err());
        assert!(parse_redis_benchmark_csv("\"test\",\"rps\"\n").is_err());
        assert!(parse_redis_benchmark_csv(&text.replace("29368.58", "fast")).is_err());
    }
}
