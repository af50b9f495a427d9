//! OLTP workloads with the standard `sysbench` (its bundled Lua scripts, libpq driver): a
//! throwaway PostgreSQL 15 cluster (fsync on, synchronous commit) and Orbit (one shard,
//! `--fsync always`), on the same CPUs, the client pinned apart, as `pgbench` runs them. Both
//! are loaded by `sysbench <workload> prepare` itself (CREATE TABLE with SERIAL, multi-row
//! INSERTs, CREATE INDEX), then every workload runs on PostgreSQL and on Orbit in turn,
//! `--rounds` times, with server-side prepared statements (sysbench's default), and the
//! medians and their ratio are printed. Errors sysbench ignores (serialization failures and
//! deadlocks, which it retries) are counted and shown.

use crate::compare::have;
use crate::pgbench::check;
use crate::report::{reproduce_command, thousands};
use crate::servers::pinned;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::{Command, Stdio};

#[derive(Debug, clap::Args)]
pub struct SysbenchArgs {
    /// Folder holding initdb, pg_ctl and postgres.
    #[arg(long, default_value = "/usr/lib/postgresql/15/bin")]
    pub pg_bin: PathBuf,
    /// sysbench --tables.
    #[arg(long, default_value_t = 4)]
    pub tables: u32,
    /// sysbench --table-size: rows per table.
    #[arg(long, default_value_t = 10_000)]
    pub table_size: u32,
    /// sysbench --threads.
    #[arg(long, default_value_t = 4)]
    pub threads: u32,
    /// sysbench --time: seconds per workload per round.
    #[arg(long, default_value_t = 10)]
    pub duration_s: u32,
    /// The workloads (sysbench's bundled scripts), comma-separated.
    #[arg(long, default_value = "oltp_point_select,oltp_read_only,oltp_write_only,oltp_read_write")]
    pub workloads: String,
    #[arg(long, default_value = "0")]
    pub server_cpus: String,
    #[arg(long, default_value = "1")]
    pub client_cpus: String,
    #[arg(long)]
    pub markdown: bool,
    /// Rounds; PostgreSQL runs first in even rounds, Orbit in odd ones.
    #[arg(long, default_value_t = 2)]
    pub rounds: u32,
    /// Orbit's binary [default: `orbit` next to this program, else target/release/orbit].
    #[arg(long)]
    pub orbit_bin: Option<PathBuf>,
}

pub const SYSBENCH_HEADER: &str = "| sysbench workload | threads | PostgreSQL tps | Orbit tps | Orbit/PostgreSQL | PostgreSQL / Orbit latency p95 ms | ignored errors PostgreSQL / Orbit | reproduce |\n|---|---|---|---|---|---|---|---|";

/// What one sysbench run reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    /// Transactions (events) per second.
    pub tps: f64,
    pub p95_ms: f64,
    pub ignored_errors: u64,
}

/// The figures of sysbench's report.
pub fn parse_sysbench(text: &str) -> Result<Report> {
    let line = |label: &str| -> Result<&str> {
        text.lines()
            .map(str::trim_start)
            .find_map(|l| l.strip_prefix(label))
            .with_context(|| format!("no '{label}' in sysbench output:\n{text}"))
    };
    // "transactions:   474    (47.05 per sec.)"
    let per_sec = |label: &str| -> Result<f64> {
        let l = line(label)?;
        let inner = l.split('(').nth(1).and_then(|r| r.split_whitespace().next()).context("no rate")?;
        inner.parse().with_context(|| format!("bad rate in {l:?}"))
    };
    let number = |label: &str| -> Result<f64> {
        let l = line(label)?;
        let v = l.split_whitespace().next().context("no value")?;
        v.parse().with_context(|| format!("bad number in {l:?}"))
    };
    Ok(Report {
        tps: per_sec("transactions:")?,
        p95_ms: number("95th percentile:")?,
        ignored_errors: number("ignored errors:")? as u64,
    })
}

fn sysbench_cmd(args: &SysbenchArgs, workload: &str, port: u16) -> Command {
    let mut cmd = pinned(&args.client_cpus, "sysbench");
    cmd.arg(workload)
        .args(["--db-driver=pgsql", "--pgsql-host=127.0.0.1", "--pgsql-user=postgres", "--pgsql-db=postgres"])
        .arg(format!("--pgsql-port={port}"))
        .arg(format!("--tables={}", args.tables))
        .arg(format!("--table-size={}", args.table_size))
        .stdin(Stdio::null());
    cmd
}

pub fn sysbench(args: &SysbenchArgs) -> Result<()> {
    if !have("sysbench") || !args.pg_bin.join("initdb").is_file() {
        bail!("sysbench and PostgreSQL 15 are needed: apt-get install sysbench postgresql");
    }
    let (cluster, _orbit, orbit_pg) =
        crate::pgbench::start_both(&args.pg_bin, args.orbit_bin.clone(), &args.server_cpus, &args.client_cpus)?;
    let workloads: Vec<&str> = args.workloads.split(',').map(str::trim).filter(|w| !w.is_empty()).collect();
    let Some(first) = workloads.first() else { bail!("no workloads") };
    for (who, port) in [("PostgreSQL", cluster.port), ("Orbit", orbit_pg)] {
        eprintln!("sysbench prepare on {who} (port {port}): {} tables of {} rows", args.tables, args.table_size);
        // Every bundled OLTP script makes the same sbtest tables.
        let out = sysbench_cmd(args, first, port).arg("prepare").output()?;
        check(out, &format!("sysbench prepare on {who}"))?;
    }
    if args.markdown {
        println!("{SYSBENCH_HEADER}");
    }
    for workload in workloads {
        let (mut pg, mut ob) = (Vec::new(), Vec::new());
        for round in 0..args.rounds {
            for pg_turn in crate::pgbench::turns(round) {
                cluster.quiesce()?;
                let (port, into) = if pg_turn { (cluster.port, &mut pg) } else { (orbit_pg, &mut ob) };
                let out = sysbench_cmd(args, workload, port)
                    .arg(format!("--threads={}", args.threads))
                    .arg(format!("--time={}", args.duration_s))
                    .arg("--percentile=95")
                    .arg("run")
                    .output()?;
                into.push(parse_sysbench(&check(out, &format!("sysbench {workload} run"))?)?);
            }
        }
        let median = |v: &[Report], f: fn(&Report) -> f64| -> f64 {
            let mut xs: Vec<f64> = v.iter().map(f).collect();
            xs.sort_by(|a, b| a.total_cmp(b));
            xs[xs.len() / 2]
        };
        let errors = |v: &[Report]| v.iter().map(|r| r.ignored_errors).sum::<u64>();
        let (pt, pp, ot, op) =
            (median(&pg, |r| r.tps), median(&pg, |r| r.p95_ms), median(&ob, |r| r.tps), median(&ob, |r| r.p95_ms));
        if args.markdown {
            println!(
                "| {workload} | {} | {} | {} | {:.2} | {pp:.2} / {op:.2} | {} / {} | `{}` |",
                args.threads,
                thousands(pt),
                thousands(ot),
                ot / pt,
                errors(&pg),
                errors(&ob),
                reproduce_command()
            );
        } else {
            println!(
                "{workload:<18} PostgreSQL {} tps (p95 {pp:.2} ms), Orbit {} tps (p95 {op:.2} ms), Orbit/PostgreSQL {:.2}",
                thousands(pt),
                thousands(ot),
                ot / pt
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sysbench_report() {
        let text = "SQL statistics:\n    queries performed:\n        read:                            6650\n    transactions:                        474    (47.05 per sec.)\n    queries:                             9497   (942.63 per sec.)\n    ignored errors:                      1      (0.10 per sec.)\n    reconnects:                          0      (0.00 per sec.)\n\nLatency (ms):\n         min:                                   29.42\n         avg:                                   84.82\n         max:                                 1135.21\n         95th percentile:                      112.67\n";
        assert_eq!(parse_sysbench(text).unwrap(), Report { tps: 47.05, p95_ms: 112.67, ignored_errors: 1 });
        assert!(parse_sysbench("transactions: 1 (x per sec.)\n").is_err());
    }
}
