//! PostgreSQL workloads with the standard `pgbench`, against a throwaway PostgreSQL cluster on a
//! free port (server and client pinned apart like the RESP runs). Without `--orbit`: pgbench's
//! own schema (`pgbench -i`) and its built-in workloads, PostgreSQL only (Orbit's SQL cannot run
//! them yet: COPY, ALTER TABLE, char(n), tables without a primary key). With `--orbit`: the same
//! schema subset created with plain SQL on both servers (accounts with a primary key, loaded by
//! multi-row INSERTs through psql), and the workloads both can run, Orbit (one shard,
//! `--fsync always`) and PostgreSQL (defaults: synchronous commit) in turn on the same CPUs.

use crate::compare::have;
use crate::report::{reproduce_command, thousands};
use crate::servers::{free_port, pinned};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, clap::Args)]
pub struct PgbenchArgs {
    /// Folder holding initdb, pg_ctl and postgres.
    #[arg(long, default_value = "/usr/lib/postgresql/15/bin")]
    pub pg_bin: PathBuf,
    /// pgbench -s: scale factor (100,000 accounts per unit).
    #[arg(long, default_value_t = 10)]
    pub scale: u32,
    /// pgbench -c.
    #[arg(long, short = 'c', default_value_t = 4)]
    pub clients: u32,
    /// pgbench -j.
    #[arg(long, short = 'j', default_value_t = 1)]
    pub jobs: u32,
    /// pgbench -T: seconds per workload.
    #[arg(long, default_value_t = 5)]
    pub duration_s: u32,
    /// pgbench -M: simple, extended or prepared.
    #[arg(long, default_value = "simple")]
    pub protocol: String,
    #[arg(long, default_value = "0")]
    pub server_cpus: String,
    #[arg(long, default_value = "1")]
    pub client_cpus: String,
    #[arg(long)]
    pub markdown: bool,
    /// Compare with Orbit's PostgreSQL frontend (point select and update on a plain-SQL schema).
    #[arg(long)]
    pub orbit: bool,
    /// With --orbit: accounts rows loaded.
    #[arg(long, default_value_t = 100_000)]
    pub rows: u32,
    /// With --orbit: rounds, alternated PostgreSQL / Orbit.
    #[arg(long, default_value_t = 2)]
    pub rounds: u32,
    /// With --orbit: Orbit's binary [default: `orbit` next to this program, else target/release/orbit].
    #[arg(long)]
    pub orbit_bin: Option<PathBuf>,
}

pub const PGBENCH_HEADER: &str =
    "| pgbench workload | clients | PostgreSQL tps | PostgreSQL latency avg ms | Orbit | reproduce |\n|---|---|---|---|---|---|";

/// The workloads: a name and pgbench's script arguments (built-in or a file we write).
const WORKLOADS: [(&str, &str); 4] = [
    ("point select", "builtin:select-only"),
    ("insert", "\\set aid random(1, 100000 * :scale)\n\\set delta random(-5000, 5000)\nINSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, :aid, :delta, CURRENT_TIMESTAMP);\n"),
    ("update", "\\set aid random(1, 100000 * :scale)\n\\set delta random(-5000, 5000)\nUPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;\n"),
    ("TPC-B-like", "builtin:tpcb-like"),
];

/// A throwaway cluster; stopped and removed on drop.
struct Cluster {
    pg_bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn check(out: std::process::Output, what: &str) -> Result<String> {
    if !out.status.success() {
        bail!("{what} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Cluster {
    fn start(pg_bin: &Path, server_cpus: &str) -> Result<Cluster> {
        let dir = tempfile::Builder::new().prefix("bench-pg-").tempdir()?;
        if is_root() {
            check(Command::new("chown").arg("postgres:postgres").arg(dir.path()).output()?, "chown")?;
        }
        let data = dir.path().join("data");
        let out = as_postgres(&pg_bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"])
            .output()
            .context("cannot run initdb")?;
        check(out, "initdb")?;
        let port = free_port()?;
        let opts = format!("-c listen_addresses=127.0.0.1 -p {port} -k {}", dir.path().display());
        // The postmaster and every backend it forks inherit taskset's CPU mask.
        let pg_ctl = pg_bin.join("pg_ctl");
        let mut start = if is_root() {
            let mut c = pinned(server_cpus, "runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            pinned(server_cpus, &pg_ctl)
        };
        let out = start
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.path().join("log"))
            .args(["-o", &opts, "-w", "start"])
            .stdin(Stdio::null())
            .output()
            .context("cannot run pg_ctl")?;
        let cluster = Cluster { pg_bin: pg_bin.to_path_buf(), dir, port };
        check(out, "pg_ctl start")?;
        Ok(cluster)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_postgres(&self.pg_bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["stop", "-m", "fast"])
            .output();
    }
}

/// tps and average latency from pgbench's report.
pub fn parse_pgbench(text: &str) -> Result<(f64, f64)> {
    let value = |prefix: &str| -> Result<f64> {
        let line =
            text.lines().find(|l| l.starts_with(prefix)).with_context(|| format!("no '{prefix}' in pgbench output"))?;
        let v = line[prefix.len()..].split_whitespace().next().unwrap_or("");
        v.parse().with_context(|| format!("bad number in {line:?}"))
    };
    Ok((value("tps = ")?, value("latency average = ")?))
}

pub fn pgbench(args: &PgbenchArgs) -> Result<()> {
    if !have("pgbench") || !args.pg_bin.join("initdb").is_file() {
        bail!("pgbench and PostgreSQL 15 are needed: apt-get install postgresql postgresql-contrib");
    }
    if args.orbit {
        return compare_orbit(args);
    }
    let cluster = Cluster::start(&args.pg_bin, &args.server_cpus)?;
    let port = cluster.port.to_string();
    let conn = ["-h", "127.0.0.1", "-p", &port, "-U", "postgres"];
    eprintln!("pgbench -i -s {} on port {port}", args.scale);
    let out =
        Command::new("pgbench").args(conn).args(["-i", "-q", "-s", &args.scale.to_string(), "postgres"]).output()?;
    check(out, "pgbench -i")?;
    if args.markdown {
        println!("{PGBENCH_HEADER}");
    }
    for (name, script) in WORKLOADS {
        let mut cmd = pinned(&args.client_cpus, "pgbench");
        cmd.args(conn).args(["-n", "-M", &args.protocol]).args([
            "-c",
            &args.clients.to_string(),
            "-j",
            &args.jobs.to_string(),
            "-T",
            &args.duration_s.to_string(),
        ]);
        if let Some(builtin) = script.strip_prefix("builtin:") {
            cmd.args(["-b", builtin]);
        } else {
            let file = cluster.dir.path().join(format!("{}.sql", name.replace(' ', "-")));
            std::fs::write(&file, script)?;
            cmd.arg("-f").arg(&file);
        }
        let text = check(cmd.arg("postgres").stdin(Stdio::null()).output()?, "pgbench")?;
        let (tps, latency_ms) = parse_pgbench(&text)?;
        if args.markdown {
            println!(
                "| {name} | {} | {} | {latency_ms:.3} | not run (pgbench -i schema: see --orbit) | `{}` |",
                args.clients,
                thousands(tps),
                reproduce_command()
            );
        } else {
            println!(
                "{name:<13} PostgreSQL {} tps, latency avg {latency_ms:.3} ms; Orbit: not run (see --orbit)",
                thousands(tps)
            );
        }
    }
    Ok(())
}

/// Workloads both servers run, on the plain-SQL schema of [`plain_schema`].
const COMPARE_WORKLOADS: [(&str, &str); 2] = [
    ("point select", "\\set aid random(1, :rows)\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n"),
    (
        "update",
        "\\set aid random(1, :rows)\n\\set delta random(-5000, 5000)\nUPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;\n",
    ),
];

/// pgbench_accounts with a primary key and `rows` rows, as multi-row INSERTs.
pub fn plain_schema(rows: u32) -> String {
    let mut sql = String::from(
        "DROP TABLE IF EXISTS pgbench_accounts;\nCREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler text);\n",
    );
    let mut aid = 1;
    while aid <= rows {
        let end = (aid + 999).min(rows);
        sql.push_str("INSERT INTO pgbench_accounts VALUES ");
        let values: Vec<String> = (aid..=end).map(|a| format!("({a}, {}, 0, '')", (a - 1) / 100_000 + 1)).collect();
        sql.push_str(&values.join(", "));
        sql.push_str(";\n");
        aid = end + 1;
    }
    sql
}

fn load(port: u16, file: &Path) -> Result<()> {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(file)
        .arg("postgres")
        .stdin(Stdio::null())
        .output()
        .context("cannot run psql")?;
    check(out, "psql (loading the schema)")?;
    Ok(())
}

fn run_workload(args: &PgbenchArgs, port: u16, script: &Path) -> Result<(f64, f64)> {
    let mut cmd = pinned(&args.client_cpus, "pgbench");
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres", "-n", "-M", &args.protocol])
        .args(["-c", &args.clients.to_string(), "-j", &args.jobs.to_string(), "-T", &args.duration_s.to_string()])
        .args(["-D", &format!("rows={}", args.rows), "-f"])
        .arg(script)
        .arg("postgres")
        .stdin(Stdio::null());
    let text = check(cmd.output()?, "pgbench")?;
    parse_pgbench(&text)
}

/// PostgreSQL vs Orbit on the workloads both can run, rounds alternated, medians printed.
fn compare_orbit(args: &PgbenchArgs) -> Result<()> {
    use crate::servers::{Server, ServerKind};
    let cluster = Cluster::start(&args.pg_bin, &args.server_cpus)?;
    let servers = crate::servers::ServerArgs {
        orbit_bin: args.orbit_bin.clone(),
        redis_bin: "redis-server".into(),
        shards: 1,
        server_cpus: args.server_cpus.clone(),
        client_cpus: args.client_cpus.clone(),
        // PostgreSQL runs with its defaults (fsync on, synchronous_commit on): a commit is
        // acknowledged once its WAL is flushed. Orbit's equivalent is --fsync always.
        durability: crate::servers::Durability::Always,
    };
    let orbit = Server::start(ServerKind::Orbit, &servers, 1, &args.server_cpus)?;
    let orbit_pg = orbit.pg_port.context("Orbit has no PostgreSQL port")?;
    let schema = cluster.dir.path().join("schema.sql");
    std::fs::write(&schema, plain_schema(args.rows))?;
    eprintln!("loading {} rows into PostgreSQL (port {}) and Orbit (port {orbit_pg})", args.rows, cluster.port);
    load(cluster.port, &schema)?;
    load(orbit_pg, &schema)?;
    if args.markdown {
        println!("| workload | clients | protocol | PostgreSQL tps | Orbit tps | Orbit/PostgreSQL | PostgreSQL / Orbit latency avg ms | reproduce |");
        println!("|---|---|---|---|---|---|---|---|");
    }
    for (name, script) in COMPARE_WORKLOADS {
        let file = cluster.dir.path().join(format!("{}.sql", name.replace(' ', "-")));
        std::fs::write(&file, script)?;
        let (mut pg, mut ob) = (Vec::new(), Vec::new());
        for _ in 0..args.rounds {
            pg.push(run_workload(args, cluster.port, &file)?);
            ob.push(run_workload(args, orbit_pg, &file)?);
        }
        let median = |v: &mut Vec<(f64, f64)>, i: usize| -> f64 {
            let mut xs: Vec<f64> = v.iter().map(|p| if i == 0 { p.0 } else { p.1 }).collect();
            xs.sort_by(|a, b| a.total_cmp(b));
            xs[xs.len() / 2]
        };
        let (pt, pl, ot, ol) = (median(&mut pg, 0), median(&mut pg, 1), median(&mut ob, 0), median(&mut ob, 1));
        if args.markdown {
            println!(
                "| {name} | {} | {} | {} | {} | {:.2} | {pl:.3} / {ol:.3} | `{}` |",
                args.clients,
                args.protocol,
                thousands(pt),
                thousands(ot),
                ot / pt,
                reproduce_command()
            );
        } else {
            println!(
                "{name:<13} PostgreSQL {} tps ({pl:.3} ms), Orbit {} tps ({ol:.3} ms), Orbit/PostgreSQL {:.2}",
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
    fn parses_pgbench_report() {
        let text = "transaction type: <builtin: select only>\nscaling factor: 10\nnumber of clients: 4\nlatency average = 0.061 ms\ninitial connection time = 4.210 ms\ntps = 65391.449105 (without initial connection time)\n";
        assert_eq!(parse_pgbench(text).unwrap(), (65391.449105, 0.061));
        assert!(parse_pgbench("tps = x\n").is_err());
    }

    #[test]
    fn plain_schema_inserts_every_row_once() {
        let sql = plain_schema(2500);
        assert_eq!(sql.matches("INSERT INTO").count(), 3);
        assert!(sql.contains("(1, 1, 0, '')") && sql.contains("(2500, 1, 0, '')") && !sql.contains("(2501,"));
    }
}
