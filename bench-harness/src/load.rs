//! The RESP load generator: N connections over M threads, each thread writing a batch of
//! `pipeline` commands to each of its connections and then reading the replies, with blocking
//! sockets. Latency is recorded per request: every request in a batch gets the batch's time
//! from its write to its last reply being read.

use crate::keys::{KeyDist, Zipfian};
use crate::report::{merge, new_histogram, Latency, RunResult};
use crate::resp::{parse_reply, push_command, skip_reply, Reply};
use crate::workload::{preload_commands, CommandGen, Mix, Shape, Workload};
use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use hdrhistogram::Histogram;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A connection's read buffer may grow to hold one batch of replies; past this it is a bug
/// (or a server sending far more than asked), and the run stops.
const MAX_READ_BUFFER_BYTES: usize = 256 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Distribution {
    Uniform,
    /// Scrambled zipfian (YCSB), skew `--zipf-theta`.
    Zipfian,
}

/// What load to put on the server; shared by `run`, `compare` and `scaling`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    #[arg(long, value_enum, default_value = "get-set")]
    pub workload: Workload,
    /// Reads to writes, e.g. 1:1 or 10:1 (INCR ignores it: every INCR reads and writes).
    #[arg(long, default_value = "1:1")]
    pub mix: Mix,
    /// Connections, spread over the threads.
    #[arg(long, short = 'c', default_value_t = 50)]
    pub connections: usize,
    /// Load threads.
    #[arg(long, short = 't', default_value_t = 1)]
    pub threads: usize,
    /// Commands per batch on each connection (1: no pipelining).
    #[arg(long, short = 'P', default_value_t = 1)]
    pub pipeline: usize,
    /// Key space size.
    #[arg(long, default_value_t = 100_000)]
    pub keys: u64,
    #[arg(long, value_enum, default_value = "uniform")]
    pub distribution: Distribution,
    /// Zipfian skew, in (0, 1).
    #[arg(long, default_value_t = 0.99)]
    pub zipf_theta: f64,
    /// Bytes per value (SET, HSET, LPUSH).
    #[arg(long, default_value_t = 3)]
    pub value_size: usize,
    /// Distinct members per set, sorted set and hash.
    #[arg(long, default_value_t = 100)]
    pub members: u64,
    /// Seconds to measure (ignored when --requests is given).
    #[arg(long, default_value_t = 5.0)]
    pub duration_s: f64,
    /// Stop after this many requests (warm-up ones included) instead of after --duration-s.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Seconds of load before measuring starts.
    #[arg(long, default_value_t = 0.0)]
    pub warmup_s: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Do not fill the key space before a get-set or mixed run.
    #[arg(long)]
    pub no_preload: bool,
}

impl LoadArgs {
    /// The same settings as command-line arguments (for running `run` under taskset).
    pub fn to_args(&self) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "--workload".into(),
            self.workload.name().into(),
            "--mix".into(),
            self.mix.to_string(),
            "--connections".into(),
            self.connections.to_string(),
            "--threads".into(),
            self.threads.to_string(),
            "--pipeline".into(),
            self.pipeline.to_string(),
            "--keys".into(),
            self.keys.to_string(),
            "--distribution".into(),
            match self.distribution {
                Distribution::Uniform => "uniform".into(),
                Distribution::Zipfian => "zipfian".into(),
            },
            "--zipf-theta".into(),
            self.zipf_theta.to_string(),
            "--value-size".into(),
            self.value_size.to_string(),
            "--members".into(),
            self.members.to_string(),
            "--duration-s".into(),
            self.duration_s.to_string(),
            "--warmup-s".into(),
            self.warmup_s.to_string(),
            "--seed".into(),
            self.seed.to_string(),
        ];
        if let Some(n) = self.requests {
            a.push("--requests".into());
            a.push(n.to_string());
        }
        if self.no_preload {
            a.push("--no-preload".into());
        }
        a
    }

    fn check(&self) -> Result<()> {
        if self.connections == 0 || self.threads == 0 || self.pipeline == 0 || self.keys == 0 || self.members == 0 {
            bail!("--connections, --threads, --pipeline, --keys and --members must be at least 1");
        }
        if self.threads > self.connections {
            bail!("--threads ({}) is more than --connections ({})", self.threads, self.connections);
        }
        if self.zipf_theta.is_nan() || self.zipf_theta <= 0.0 || self.zipf_theta >= 1.0 {
            bail!("--zipf-theta must be in (0, 1)");
        }
        if self.requests.is_none() && self.duration_s.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            bail!("--duration-s must be positive");
        }
        Ok(())
    }

    fn distribution_name(&self) -> String {
        match self.distribution {
            Distribution::Uniform => "uniform".into(),
            Distribution::Zipfian => format!("zipfian({})", self.zipf_theta),
        }
    }
}

/// A blocking RESP connection for setting up and inspecting a server (PING, FLUSHALL, INFO,
/// preloading); the load itself goes through [`Worker`].
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(host: &str, port: u16) -> Result<Client> {
        let stream = TcpStream::connect((host, port)).with_context(|| format!("cannot connect to {host}:{port}"))?;
        stream.set_nodelay(true)?;
        Ok(Client { stream, buf: Vec::new() })
    }

    pub fn call(&mut self, args: &[&str]) -> Result<Reply> {
        let mut out = Vec::new();
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        push_command(&mut out, &args);
        self.stream.write_all(&out)?;
        loop {
            if let Some((n, r)) = parse_reply(&self.buf)? {
                self.buf.drain(..n);
                return Ok(r);
            }
            self.fill()?;
        }
    }

    /// Sends already encoded commands and reads `count` replies; returns how many were errors.
    pub fn pipeline(&mut self, encoded: &[u8], count: usize) -> Result<u64> {
        self.stream.write_all(encoded)?;
        let mut errors = 0;
        let mut at = 0;
        for _ in 0..count {
            loop {
                if let Some((n, e)) = skip_reply(&self.buf[at..])? {
                    at += n;
                    errors += e as u64;
                    break;
                }
                self.buf.drain(..at);
                at = 0;
                self.fill()?;
            }
        }
        self.buf.drain(..at);
        Ok(errors)
    }

    fn fill(&mut self) -> Result<()> {
        let mut chunk = [0u8; 64 * 1024];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            bail!("server closed the connection");
        }
        if self.buf.len() + n > MAX_READ_BUFFER_BYTES {
            bail!("reply larger than {MAX_READ_BUFFER_BYTES} bytes");
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// A field of `INFO section`, e.g. `used_memory` of `memory`.
    pub fn info_field(&mut self, section: &str, field: &str) -> Result<String> {
        let text = self.call(&["INFO", section])?.as_text().context("INFO did not return text")?;
        text.lines()
            .find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')))
            .map(|v| v.trim().to_string())
            .with_context(|| format!("INFO {section} has no {field}"))
    }
}

/// Waits until the server on `port` answers PING (or `timeout` passes).
pub fn wait_ready(host: &str, port: u16, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        let answer = Client::connect(host, port).and_then(|mut c| c.call(&["PING"]));
        match answer {
            Ok(Reply::Simple(s)) if s == "PONG" => return Ok(()),
            Ok(other) if start.elapsed() > timeout => bail!("server on port {port} answered PING with {other:?}"),
            Err(e) if start.elapsed() > timeout => return Err(e.context(format!("server on port {port} not ready"))),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Fills the key space the workload reads, in pipelined batches on one connection.
pub fn preload(host: &str, port: u16, load: &LoadArgs) -> Result<()> {
    let mut client = Client::connect(host, port)?;
    let mut batch = Vec::new();
    let mut count = 0;
    let mut errors = 0;
    let mut result = Ok(());
    preload_commands(load.workload, load.keys, load.value_size, load.members, |cmd, n| {
        if result.is_err() {
            return;
        }
        batch.extend_from_slice(cmd);
        count += n;
        if batch.len() > 256 * 1024 {
            result = client.pipeline(&batch, count).map(|e| errors += e);
            batch.clear();
            count = 0;
        }
    });
    result?;
    if count > 0 {
        errors += client.pipeline(&batch, count)?;
    }
    if errors > 0 {
        bail!("{errors} preload commands failed");
    }
    Ok(())
}

struct Conn {
    stream: TcpStream,
    gen: CommandGen,
    out: Vec<u8>,
    buf: Vec<u8>,
    /// Bytes of `buf` holding unread reply data: `buf[start..end]`.
    start: usize,
    end: usize,
    batch: usize,
    sent_at: Instant,
}

impl Conn {
    /// Reads until the batch's replies are all in; returns how many were errors.
    fn read_batch(&mut self) -> Result<u64> {
        let mut errors = 0;
        let mut left = self.batch;
        while left > 0 {
            match skip_reply(&self.buf[self.start..self.end])? {
                Some((n, e)) => {
                    self.start += n;
                    errors += e as u64;
                    left -= 1;
                }
                None => self.fill()?,
            }
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        Ok(errors)
    }

    fn fill(&mut self) -> Result<()> {
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                if self.buf.len() * 2 > MAX_READ_BUFFER_BYTES {
                    bail!("one batch of replies exceeds {MAX_READ_BUFFER_BYTES} bytes");
                }
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        let n = self.stream.read(&mut self.buf[self.end..])?;
        if n == 0 {
            bail!("server closed the connection");
        }
        self.end += n;
        Ok(())
    }
}

struct ThreadResult {
    hist: Histogram<u64>,
    requests: u64,
    errors: u64,
    last_reply: Instant,
}

/// Runs the load against `host:port` and returns what it measured.
pub fn run(host: &str, port: u16, target: &str, load: &LoadArgs) -> Result<RunResult> {
    load.check()?;
    wait_ready(host, port, Duration::from_secs(5))?;
    if !load.no_preload {
        preload(host, port, load)?;
    }
    let keys = match load.distribution {
        Distribution::Uniform => KeyDist::Uniform(load.keys),
        Distribution::Zipfian => {
            let z = Zipfian::new(load.keys, load.zipf_theta);
            eprintln!(
                "zipfian({}): the hottest key takes {:.2}% of requests",
                load.zipf_theta,
                100.0 * z.probability(0)
            );
            KeyDist::Zipfian(z)
        }
    };
    let shape =
        Shape { workload: load.workload, mix: load.mix, keys, value_size: load.value_size, members: load.members };

    // Connect everything before the clock starts.
    let mut per_thread: Vec<Vec<Conn>> = (0..load.threads).map(|_| Vec::new()).collect();
    for i in 0..load.connections {
        let stream = TcpStream::connect((host, port)).with_context(|| format!("cannot connect to {host}:{port}"))?;
        stream.set_nodelay(true)?;
        per_thread[i % load.threads].push(Conn {
            stream,
            gen: CommandGen::new(shape.clone(), load.seed, i as u64),
            out: Vec::with_capacity(load.pipeline * (64 + load.value_size)),
            buf: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            batch: 0,
            sent_at: Instant::now(),
        });
    }

    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(load.warmup_s.max(0.0));
    let mut handles = Vec::new();
    for (t, conns) in per_thread.into_iter().enumerate() {
        let stop = stop.clone();
        let budget = load.requests.map(|n| n / load.threads as u64 + u64::from((t as u64) < n % load.threads as u64));
        let pipeline = load.pipeline;
        handles.push(
            std::thread::Builder::new()
                .name(format!("load-{t}"))
                .spawn(move || drive(conns, pipeline, budget, measure_from, &stop))?,
        );
    }
    if load.requests.is_none() {
        std::thread::sleep(measure_from.saturating_duration_since(Instant::now()));
        std::thread::sleep(Duration::from_secs_f64(load.duration_s));
        stop.store(true, Ordering::Relaxed);
    }
    let mut hist = new_histogram();
    let (mut requests, mut errors) = (0, 0);
    let mut last = measure_from;
    let mut failure = None;
    for h in handles {
        match h.join() {
            Ok(Ok(r)) => {
                merge(&mut hist, &r.hist)?;
                requests += r.requests;
                errors += r.errors;
                last = last.max(r.last_reply);
            }
            Ok(Err(e)) => failure = Some(e),
            Err(_) => failure = Some(anyhow::anyhow!("a load thread panicked")),
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let elapsed_s = last.saturating_duration_since(measure_from).as_secs_f64();
    Ok(RunResult {
        target: target.to_string(),
        workload: load.workload.name().into(),
        mix: if load.workload == Workload::Incr { "-".into() } else { load.mix.to_string() },
        distribution: load.distribution_name(),
        keys: load.keys,
        value_size: load.value_size,
        connections: load.connections,
        threads: load.threads,
        pipeline: load.pipeline,
        seed: load.seed,
        requests,
        errors,
        elapsed_s,
        ops_per_s: if elapsed_s > 0.0 { requests as f64 / elapsed_s } else { 0.0 },
        latency: Latency::of(&hist),
    })
}

/// One load thread. Every connection always has one batch in flight: the thread goes round its
/// connections, reading each one's replies and at once sending its next batch (a closed loop,
/// as redis-benchmark runs its clients). A batch whose replies arrived while the thread was busy
/// with other connections is read late, so with several connections per thread the recorded
/// latency is an upper bound.
fn drive(
    mut conns: Vec<Conn>,
    pipeline: usize,
    mut budget: Option<u64>,
    measure_from: Instant,
    stop: &AtomicBool,
) -> Result<ThreadResult> {
    let mut hist = new_histogram();
    let (mut requests, mut errors) = (0u64, 0u64);
    let mut last_reply = measure_from;
    for c in conns.iter_mut() {
        send_batch(c, pipeline, &mut budget)?;
    }
    loop {
        let mut in_flight = 0;
        for c in conns.iter_mut() {
            if c.batch == 0 {
                continue;
            }
            in_flight += 1;
            let e = c.read_batch()?;
            let now = Instant::now();
            if c.sent_at >= measure_from {
                let ns = now.duration_since(c.sent_at).as_nanos().max(1) as u64;
                hist.record_n(ns.min(hist.high()), c.batch as u64).map_err(|e| anyhow::anyhow!("histogram: {e:?}"))?;
                requests += c.batch as u64;
                errors += e;
                last_reply = now;
            }
            if stop.load(Ordering::Relaxed) {
                c.batch = 0;
            } else {
                send_batch(c, pipeline, &mut budget)?;
            }
        }
        if in_flight == 0 {
            break;
        }
    }
    Ok(ThreadResult { hist, requests, errors, last_reply })
}

/// Sends the connection's next batch: `pipeline` commands, fewer when the request budget is
/// nearly spent, none (batch 0) when it is.
fn send_batch(c: &mut Conn, pipeline: usize, budget: &mut Option<u64>) -> Result<()> {
    let n = match budget {
        Some(left) => {
            let n = (*left).min(pipeline as u64) as usize;
            *left -= n as u64;
            n
        }
        None => pipeline,
    };
    c.batch = n;
    if n == 0 {
        return Ok(());
    }
    c.out.clear();
    for _ in 0..n {
        c.gen.push_next(&mut c.out);
    }
    c.sent_at = Instant::now();
    c.stream.write_all(&c.out).context("write to server")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::{Durability, Server, ServerArgs, ServerKind};
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        load: LoadArgs,
    }

    fn load_args(args: &[&str]) -> LoadArgs {
        Cli::parse_from(std::iter::once("test").chain(args.iter().copied())).load
    }

    /// `to_args` gives back the same settings when parsed again (`compare` relies on it to run
    /// the load under taskset).
    #[test]
    fn load_args_round_trip() {
        let a = load_args(&[
            "--workload",
            "mixed",
            "--mix",
            "10:1",
            "-P",
            "16",
            "--distribution",
            "zipfian",
            "--requests",
            "7",
        ]);
        let b = load_args(&a.to_args().iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert!(load_args(&["--threads", "3", "--connections", "2"]).check().is_err());
    }

    /// Every workload against a real redis-server: the exact request count comes back, with no
    /// error replies (a WRONGTYPE or syntax error would mean the workload sends wrong commands),
    /// and the reader keeps in step with real replies (arrays from ZRANGE, nils from RPOP).
    #[test]
    fn every_workload_runs_clean_against_redis() {
        let servers = ServerArgs {
            orbit_bin: None,
            redis_bin: "redis-server".into(),
            shards: 1,
            server_cpus: String::new(),
            client_cpus: String::new(),
            durability: Durability::None,
        };
        let server = Server::start(ServerKind::Redis, &servers, 1, "").expect("redis-server starts");
        for workload in ["get-set", "incr", "lpush-rpop", "zadd-zrange", "mixed"] {
            let load = load_args(&[
                "--workload",
                workload,
                "--requests",
                "3001",
                "-c",
                "5",
                "-t",
                "2",
                "-P",
                "4",
                "--keys",
                "500",
                "--distribution",
                "zipfian",
            ]);
            let r = run("127.0.0.1", server.port, "redis", &load).unwrap();
            assert_eq!(r.requests, 3001, "{workload}");
            assert_eq!(r.errors, 0, "{workload}");
            assert!(r.latency.max_ms >= r.latency.p50_ms && r.latency.p50_ms > 0.0, "{workload}: {:?}", r.latency);
        }
        // The preload filled the get-set and mixed key spaces; the others wrote their own keys.
        let mut c = Client::connect("127.0.0.1", server.port).unwrap();
        assert_eq!(c.call(&["EXISTS", "key:000000000499"]).unwrap(), Reply::Integer(1));
        assert_eq!(c.call(&["TYPE", "hash:000000000000"]).unwrap(), Reply::Simple("hash".into()));
        assert!(c.info_field("memory", "used_memory").unwrap().parse::<u64>().unwrap() > 0);
    }
}
