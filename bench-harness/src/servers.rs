//! Starting and stopping the servers under test: Orbit and Debian's redis-server, each on a free
//! port with a throwaway data directory, pinned with `taskset` to the CPUs it is given.

use crate::load::wait_ready;
use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    Orbit,
    Redis,
}

impl ServerKind {
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Orbit => "orbit",
            ServerKind::Redis => "redis",
        }
    }
}

/// How much each server persists while measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Durability {
    /// Redis: no RDB, no AOF. Orbit: `--fsync no` (Orbit always writes its log; it is never
    /// fsynced, so the kernel flushes it when it likes).
    None,
    /// Redis: `--appendonly yes --appendfsync everysec`. Orbit: `--fsync everysec`.
    Everysec,
    /// Redis: `--appendonly yes --appendfsync always`. Orbit: `--fsync always`.
    Always,
}

/// Where the servers come from and where they run; shared by the subcommands that start them.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Orbit's binary [default: `orbit` next to this program, else target/release/orbit].
    #[arg(long)]
    pub orbit_bin: Option<PathBuf>,
    #[arg(long, default_value = "redis-server")]
    pub redis_bin: String,
    /// Orbit's shard count.
    #[arg(long, default_value_t = 1)]
    pub shards: usize,
    /// CPUs for the server (taskset -c list); empty: not pinned.
    #[arg(long, default_value = "0")]
    pub server_cpus: String,
    /// CPUs for the load generator (taskset -c list); empty: not pinned.
    #[arg(long, default_value = "1")]
    pub client_cpus: String,
    #[arg(long, value_enum, default_value = "none")]
    pub durability: Durability,
}

impl ServerArgs {
    pub fn orbit_bin(&self) -> Result<PathBuf> {
        if let Some(p) = &self.orbit_bin {
            return Ok(p.clone());
        }
        let beside = std::env::current_exe().ok().and_then(|e| e.parent().map(|d| d.join("orbit")));
        let candidates = beside.into_iter().chain([PathBuf::from("target/release/orbit")]);
        for c in candidates {
            if c.is_file() {
                return Ok(c);
            }
        }
        bail!("no Orbit binary found: run `cargo build --release -p orbit` or pass --orbit-bin")
    }
}

/// A running server; stopped (SIGTERM, then SIGKILL after 10 s) and its directory removed on drop.
pub struct Server {
    pub port: u16,
    /// Orbit's PostgreSQL port (None for redis-server).
    pub pg_port: Option<u16>,
    child: Child,
    dir: tempfile::TempDir,
}

/// A port nothing listens on now (the kernel's choice for port 0).
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(l.local_addr()?.port())
}

/// `taskset -c CPUS program` where CPUS is given, else `program`.
pub fn pinned(cpus: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
    if cpus.trim().is_empty() {
        Command::new(program)
    } else {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(cpus).arg(program);
        c
    }
}

impl Server {
    pub fn start(kind: ServerKind, args: &ServerArgs, shards: usize, cpus: &str) -> Result<Server> {
        let dir = tempfile::Builder::new().prefix(&format!("bench-{}-", kind.name())).tempdir()?;
        let port = free_port()?;
        let log = std::fs::File::create(dir.path().join("server.log"))?;
        let mut pg = None;
        let mut cmd = match kind {
            ServerKind::Orbit => {
                // Orbit's other listeners get free ports too, so runs never collide with
                // another Orbit on this machine (the HTTP endpoint defaults to 9187).
                let mut pg_port = free_port()?;
                while pg_port == port {
                    pg_port = free_port()?;
                }
                let mut http_port = free_port()?;
                while http_port == port || http_port == pg_port {
                    http_port = free_port()?;
                }
                pg = Some(pg_port);
                let mut c = pinned(cpus, args.orbit_bin()?);
                c.args(["serve", "--bind", "127.0.0.1", "--log-level", "warn"])
                    .args(["--shards", &shards.to_string()])
                    .args(["--redis-port", &port.to_string(), "--pg-port", &pg_port.to_string()])
                    .args(["--http-port", &http_port.to_string()])
                    .arg("--data-dir")
                    .arg(dir.path().join("data"))
                    .args([
                        "--fsync",
                        match args.durability {
                            Durability::None => "no",
                            Durability::Everysec => "everysec",
                            Durability::Always => "always",
                        },
                    ]);
                c
            }
            ServerKind::Redis => {
                let mut c = pinned(cpus, &args.redis_bin);
                c.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
                    .args(["--daemonize", "no", "--loglevel", "warning"])
                    .arg("--dir")
                    .arg(dir.path());
                match args.durability {
                    Durability::None => c.args(["--appendonly", "no"]),
                    Durability::Everysec => c.args(["--appendonly", "yes", "--appendfsync", "everysec"]),
                    Durability::Always => c.args(["--appendonly", "yes", "--appendfsync", "always"]),
                };
                c
            }
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", kind.name()))?;
        let mut server = Server { port, pg_port: pg, child, dir };
        if let Err(e) = wait_ready("127.0.0.1", port, Duration::from_secs(20)) {
            return Err(e.context(format!("{} did not start: {}", kind.name(), server.diagnose())));
        }
        Ok(server)
    }

    /// Whether the server is still running, and the end of its log: for the error when a run
    /// against it fails (the log goes with the server's directory when it is dropped).
    pub fn diagnose(&mut self) -> String {
        let state = match self.child.try_wait() {
            Ok(Some(status)) => format!("the server exited ({status})"),
            Ok(None) => "the server is still running".to_string(),
            Err(e) => format!("the server's state is unknown: {e}"),
        };
        format!("{state}; its log ends:\n{}", self.log_tail())
    }

    fn log_tail(&mut self) -> String {
        let _ = self.child.try_wait();
        let text = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // taskset execs the server, so the child's pid is the server's.
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPUs this process may run on (its affinity mask), in order.
pub fn available_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize).filter(|&c| libc::CPU_ISSET(c, &set)).collect();
            if !cpus.is_empty() {
                return cpus;
            }
        }
    }
    (0..std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).collect()
}

/// "0,1,2" for a taskset -c list.
pub fn cpu_list(cpus: &[usize]) -> String {
    cpus.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(",")
}
