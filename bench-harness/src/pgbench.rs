//! PostgreSQL workloads with the standard `pgbench`: a throwaway PostgreSQL 15 cluster on a free
//! port (defaults: fsync on, synchronous commit) and Orbit (one shard, `--fsync always`: a
//! commit is acknowledged once its log records are on disk), on the same CPUs, the client
//! pinned apart like the RESP runs. Both are loaded by `pgbench -i -s <scale>` itself (DROP/
//! CREATE with storage parameters, COPY ... FREEZE, VACUUM ANALYZE, ALTER TABLE ADD PRIMARY
//! KEY), then every workload runs on PostgreSQL and on Orbit in turn, `--rounds` times, and the
//! medians and their ratio are printed.

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
    /// Only the workloads whose name contains one of these (comma-separated; default: all).
    #[arg(long)]
    pub only: Option<String>,
    /// Rounds; PostgreSQL runs first in even rounds, Orbit in odd ones.
    #[arg(long, default_value_t = 2)]
    pub rounds: u32,
    /// Orbit's binary [default: `orbit` next to this program, else target/release/orbit].
    #[arg(long)]
    pub orbit_bin: Option<PathBuf>,
}

pub const PGBENCH_HEADER: &str = "| pgbench workload | clients | protocol | PostgreSQL tps | Orbit tps | Orbit/PostgreSQL | PostgreSQL / Orbit latency avg ms | reproduce |\n|---|---|---|---|---|---|---|---|";

/// The PL/pgSQL function the `plpgsql call` workload calls, created on both servers after
/// `pgbench -i`: TPC-B's account update and history insert in one server-side call.
const PLPGSQL_SETUP: &str = "CREATE OR REPLACE FUNCTION bench_transfer(p_aid int, p_delta int) RETURNS int \
LANGUAGE plpgsql AS $$
DECLARE
  bal int;
BEGIN
  UPDATE pgbench_accounts SET abalance = abalance + p_delta WHERE aid = p_aid RETURNING abalance INTO bal;
  INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, p_aid, p_delta, CURRENT_TIMESTAMP);
  RETURN bal;
END $$";

/// The workloads: a name and pgbench's script arguments (built-in or a file we write).
const WORKLOADS: [(&str, &str); 6] = [
    ("point select", "builtin:select-only"),
    ("insert", "\\set aid random(1, 100000 * :scale)\n\\set delta random(-5000, 5000)\nINSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, :aid, :delta, CURRENT_TIMESTAMP);\n"),
    ("update", "\\set aid random(1, 100000 * :scale)\n\\set delta random(-5000, 5000)\nUPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;\n"),
    ("TPC-B-like", "builtin:tpcb-like"),
    // An upsert of one account: half the keys exist at the start (updated), half do not
    // (inserted, then updated when drawn again); each client draws its own keys (a multiple of
    // 64 plus its id), so no two insert the same new key at once.
    ("merge upsert", "\\set aid random(1, 3125 * :scale) * 64 + :client_id\n\\set delta random(-5000, 5000)\nMERGE INTO pgbench_accounts a USING (VALUES (:aid::int, :delta::int)) s(aid, delta) ON a.aid = s.aid WHEN MATCHED THEN UPDATE SET abalance = a.abalance + s.delta WHEN NOT MATCHED THEN INSERT (aid, bid, abalance, filler) VALUES (s.aid, 1, s.delta, '');\n"),
    // A PL/pgSQL function ([`PLPGSQL_SETUP`]) doing an UPDATE ... RETURNING INTO and an INSERT.
    ("plpgsql call", "\\set aid random(1, 100000 * :scale)\n\\set delta random(-5000, 5000)\nSELECT bench_transfer(:aid, :delta);\n"),
];

/// A throwaway cluster; stopped and removed on drop.
pub(crate) struct Cluster {
    pg_bin: PathBuf,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) port: u16,
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

pub(crate) fn check(out: std::process::Output, what: &str) -> Result<String> {
    if !out.status.success() {
        bail!("{what} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Cluster {
    pub(crate) fn start(pg_bin: &Path, server_cpus: &str) -> Result<Cluster> {
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

impl Cluster {
    /// Flushes what PostgreSQL's last round dirtied (a CHECKPOINT, then `sync` for the page
    /// cache), so that neither server's round pays for the other's background writes on the
    /// shared disk.
    pub(crate) fn quiesce(&self) -> Result<()> {
        let out = Command::new("psql")
            .args(["-X", "-q", "-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres"])
            .args(["-d", "postgres", "-c", "CHECKPOINT"])
            .stdin(Stdio::null())
            .output()?;
        check(out, "CHECKPOINT")?;
        check(Command::new("sync").output()?, "sync")?;
        Ok(())
    }
}

/// The order of a round's two runs: `true` is PostgreSQL's. Rounds alternate which server goes
/// first (PostgreSQL first in even rounds), so neither always runs just after the other.
pub(crate) fn turns(round: u32) -> [bool; 2] {
    if round.is_multiple_of(2) {
        [true, false]
    } else {
        [false, true]
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

/// The two servers a PostgreSQL comparison runs against, on the same CPUs: a throwaway
/// PostgreSQL 15 cluster with its defaults (fsync on, synchronous_commit on: a commit is
/// acknowledged once its WAL is flushed) and Orbit with one shard and `--fsync always`, its
/// equivalent. Orbit's PostgreSQL port comes with them.
pub(crate) fn start_both(
    pg_bin: &Path,
    orbit_bin: Option<PathBuf>,
    server_cpus: &str,
    client_cpus: &str,
) -> Result<(Cluster, crate::servers::Server, u16)> {
    use crate::servers::{Server, ServerKind};
    let cluster = Cluster::start(pg_bin, server_cpus)?;
    let servers = crate::servers::ServerArgs {
        orbit_bin,
        redis_bin: "redis-server".into(),
        shards: 1,
        server_cpus: server_cpus.to_string(),
        client_cpus: client_cpus.to_string(),
        durability: crate::servers::Durability::Always,
    };
    let orbit = Server::start(ServerKind::Orbit, &servers, 1, server_cpus)?;
    let orbit_pg = orbit.pg_port.context("Orbit has no PostgreSQL port")?;
    Ok((cluster, orbit, orbit_pg))
}

pub fn pgbench(args: &PgbenchArgs) -> Result<()> {
    if !have("pgbench") || !have("psql") || !args.pg_bin.join("initdb").is_file() {
        bail!("pgbench and PostgreSQL 15 are needed: apt-get install postgresql postgresql-contrib");
    }
    let (cluster, _orbit, orbit_pg) =
        start_both(&args.pg_bin, args.orbit_bin.clone(), &args.server_cpus, &args.client_cpus)?;
    for (who, port) in [("PostgreSQL", cluster.port), ("Orbit", orbit_pg)] {
        eprintln!("pgbench -i -s {} on {who} (port {port})", args.scale);
        let out = Command::new("pgbench")
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
            .args(["-i", "-q", "-s", &args.scale.to_string(), "postgres"])
            .stdin(Stdio::null())
            .output()?;
        check(out, &format!("pgbench -i on {who}"))?;
        let out = Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
            .args(["-d", "postgres", "-c", PLPGSQL_SETUP])
            .stdin(Stdio::null())
            .output()?;
        check(out, &format!("CREATE FUNCTION bench_transfer on {who}"))?;
    }
    if args.markdown {
        println!("{PGBENCH_HEADER}");
    }
    let wanted = |name: &str| args.only.as_deref().is_none_or(|o| o.split(',').any(|w| name.contains(w.trim())));
    for (name, script) in WORKLOADS.into_iter().filter(|(n, _)| wanted(n)) {
        let spec = match script.strip_prefix("builtin:") {
            Some(b) => Script::Builtin(b),
            None => {
                let file = cluster.dir.path().join(format!("{}.sql", name.replace(' ', "-")));
                std::fs::write(&file, script)?;
                Script::File(file)
            }
        };
        let (mut pg, mut ob) = (Vec::new(), Vec::new());
        for round in 0..args.rounds {
            for pg_turn in turns(round) {
                cluster.quiesce()?;
                if pg_turn {
                    pg.push(run_workload(args, cluster.port, &spec)?);
                } else {
                    ob.push(run_workload(args, orbit_pg, &spec)?);
                }
            }
        }
        let median = |v: &[(f64, f64)], i: usize| -> f64 {
            let mut xs: Vec<f64> = v.iter().map(|p| if i == 0 { p.0 } else { p.1 }).collect();
            xs.sort_by(|a, b| a.total_cmp(b));
            xs[xs.len() / 2]
        };
        let (pt, pl, ot, ol) = (median(&pg, 0), median(&pg, 1), median(&ob, 0), median(&ob, 1));
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

enum Script {
    Builtin(&'static str),
    File(PathBuf),
}

fn run_workload(args: &PgbenchArgs, port: u16, script: &Script) -> Result<(f64, f64)> {
    let mut cmd = pinned(&args.client_cpus, "pgbench");
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres", "-n", "-M", &args.protocol]).args([
        "-c",
        &args.clients.to_string(),
        "-j",
        &args.jobs.to_string(),
        "-T",
        &args.duration_s.to_string(),
    ]);
    match script {
        Script::Builtin(b) => cmd.args(["-b", b]),
        Script::File(f) => cmd.arg("-f").arg(f),
    };
    let text = check(cmd.arg("postgres").stdin(Stdio::null()).output()?, "pgbench")?;
    parse_pgbench(&text)
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
}
