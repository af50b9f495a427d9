//! The end-to-end test harness. [`Orbit::start`] builds (once) and starts the real `orbit`
//! binary on free ports with a fresh temporary data dir, waits until it answers PING, and kills
//! it by PID when dropped (also when a test fails). [`RealRedis`] does the same for Debian's
//! `redis-server`, for differential tests.

pub mod diff;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The workspace root (this crate lives in `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// Path of the `orbit` binary: `$ORBIT_BIN`, or a debug build made here once per test run.
pub fn orbit_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(p) = std::env::var("ORBIT_BIN") {
            return PathBuf::from(p);
        }
        let root = workspace_root();
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "-q", "-p", "orbit"])
            .current_dir(&root)
            .status()
            .expect("run cargo build -p orbit");
        assert!(status.success(), "cargo build -p orbit failed");
        let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root.join("target"));
        target.join("debug").join("orbit")
    })
    .clone()
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    // Servers bind with SO_REUSEPORT, so a port handed to two servers of this test process
    // would be shared silently: never hand out the same port twice.
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port =
            TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port").local_addr().expect("local addr").port();
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// How long a started server may take to answer PING.
const START_WAIT_S: u64 = 60;

/// Waits until the server answers PING. `log` is the file its stderr goes to (a pipe nobody
/// reads would fill up and block the server's logging, and with it a shard). The wait is long:
/// several multi-shard servers starting at once on a loaded 2-core machine have taken over 20 s.
fn wait_for_ping(port: u16, child: &mut Child, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(START_WAIT_S);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let err = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{what} exited during start-up ({status}): {err}");
        }
        if let Ok(client) = redis::Client::open(format!("redis://127.0.0.1:{port}/")) {
            if let Ok(mut c) = client.get_connection_with_timeout(Duration::from_millis(200)) {
                match redis::cmd("PING").query::<String>(&mut c) {
                    Ok(_) => return,
                    // Alive, but wants a password first.
                    Err(e) if e.to_string().contains("NOAUTH") => return,
                    Err(_) => {}
                }
            }
        }
        if Instant::now() >= deadline {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let tail: String =
                text.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
            let threads = thread_states(child.id());
            panic!(
                "{what} did not answer PING on port {port} within {START_WAIT_S} s; its log ends with:\n{tail}\n\
                 its threads (name, state, kernel wait channel, kernel stack):\n{threads}"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Each thread of process `pid`: its name, state, wait channel and kernel stack (readable as
/// root), so a start-up that did not finish tells a server blocked in the kernel (an fsync on a
/// loaded disk: ext4 / jbd2 frames) from one whose threads all sleep in `io_uring_enter` (a
/// wake-up that never came).
fn thread_states(pid: u32) -> String {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return "(gone)".into() };
    let mut out = Vec::new();
    for t in tasks.flatten() {
        let read = |f: &str| std::fs::read_to_string(t.path().join(f)).unwrap_or_default();
        let stat = read("stat");
        // The state follows the parenthesized name, which may itself hold spaces.
        let state = stat.rsplit_once(") ").and_then(|(_, r)| r.split(' ').next()).unwrap_or("?").to_string();
        let stack: Vec<String> =
            read("stack").lines().map(|l| l.split_whitespace().nth(1).unwrap_or(l).to_string()).collect();
        out.push(format!("  {} {} {} [{}]", read("comm").trim(), state, read("wchan").trim(), stack.join(" < ")));
    }
    out.sort();
    out.join("\n")
}

/// A running `orbit serve`.
pub struct Orbit {
    pub child: Option<Child>,
    pub port: u16,
    /// The HTTP endpoint's port (/metrics, /health, /ready).
    pub http_port: u16,
    /// The PostgreSQL port.
    pub pg_port: u16,
    /// The data directory (kept across [`Orbit::restart`]).
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    pub args: Vec<String>,
    /// Run the server as this (uid, gid) instead of the test's own user (see
    /// [`Orbit::start_in_as`]).
    pub run_as: Option<(u32, u32)>,
    /// Environment variables set for the server (kept across restarts).
    pub env: Vec<(String, String)>,
}

impl Orbit {
    /// Starts orbit with `extra` flags (e.g. `["--shards", "2"]`) on a free port and a new dir.
    pub fn start(extra: &[&str]) -> Orbit {
        let tmp = tempfile::tempdir().expect("temp dir");
        // The data dir inside the temp dir, so the log beside it is cleaned up too.
        let dir = tmp.path().join("data");
        let mut o = Orbit {
            child: None,
            port: 0,
            http_port: 0,
            pg_port: 0,
            dir,
            _tmp: Some(tmp),
            args: extra.iter().map(|s| s.to_string()).collect(),
            run_as: None,
            env: Vec::new(),
        };
        o.spawn();
        o
    }

    /// Starts orbit on an existing data dir (which the caller keeps).
    pub fn start_in(dir: &Path, extra: &[&str]) -> Orbit {
        Orbit::start_in_as(dir, extra, None)
    }

    /// Starts orbit on an existing data dir as the user `run_as` = (uid, gid), with no
    /// supplementary groups (the test must be root to switch users; the data dir and the
    /// folders above it must let that user in). Restarts keep the user.
    pub fn start_in_as(dir: &Path, extra: &[&str], run_as: Option<(u32, u32)>) -> Orbit {
        let mut o = Orbit::launch_in_as(dir, extra, run_as);
        o.wait_for_ping();
        o
    }

    /// Starts the process on an existing data dir and returns at once, before it listens
    /// (for tests that watch start-up); [`Orbit::wait_for_ping`] waits for it.
    pub fn launch_in(dir: &Path, extra: &[&str]) -> Orbit {
        Orbit::launch_in_as(dir, extra, None)
    }

    /// Starts orbit on an existing data dir with `env` set in its environment (e.g. a crash
    /// point) and waits for it to answer.
    pub fn start_in_with_env(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Orbit {
        let mut o = Orbit::unstarted_in(dir, extra, None);
        o.env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        o.spawn();
        o
    }

    fn launch_in_as(dir: &Path, extra: &[&str], run_as: Option<(u32, u32)>) -> Orbit {
        let mut o = Orbit::unstarted_in(dir, extra, run_as);
        o.launch();
        o
    }

    fn unstarted_in(dir: &Path, extra: &[&str], run_as: Option<(u32, u32)>) -> Orbit {
        Orbit {
            child: None,
            port: 0,
            http_port: 0,
            pg_port: 0,
            dir: dir.to_path_buf(),
            _tmp: None,
            args: extra.iter().map(|s| s.to_string()).collect(),
            run_as,
            env: Vec::new(),
        }
    }

    /// Waits until the server answers PING (panics with its log if it exits first).
    pub fn wait_for_ping(&mut self) {
        let log_path = self.log_path();
        let child = self.child.as_mut().expect("the server was started");
        wait_for_ping(self.port, child, "orbit", &log_path);
    }

    fn spawn(&mut self) {
        self.launch();
        self.wait_for_ping();
    }

    fn launch(&mut self) {
        self.port = free_port();
        // Ephemeral ports handed out in a row can repeat: keep the three distinct.
        let mut pg = free_port();
        while pg == self.port {
            pg = free_port();
        }
        let mut http = free_port();
        while http == self.port || http == pg {
            http = free_port();
        }
        self.http_port = http;
        self.pg_port = pg;
        let log_path = self.log_path();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).expect("open orbit log");
        let mut cmd = Command::new(orbit_bin());
        if let Some((uid, gid)) = self.run_as {
            use std::os::unix::process::CommandExt;
            // std drops the supplementary groups when root switches to another uid.
            cmd.uid(uid).gid(gid);
        }
        let child = cmd
            .arg("serve")
            .args(["--bind", "127.0.0.1", "--redis-port", &self.port.to_string(), "--pg-port", &pg.to_string()])
            .args(["--http-port", &self.http_port.to_string()])
            .arg("--data-dir")
            .arg(&self.dir)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start orbit");
        self.child = Some(child);
    }

    /// Stops (SIGKILL) and starts again on the same data dir and flags, on a new port.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// Where the server's log goes: beside (not inside) the data dir, so tests that inspect or
    /// corrupt the data dir see only the server's files.
    pub fn log_path(&self) -> PathBuf {
        let name = self.dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        self.dir.with_file_name(format!("{name}.orbit.log"))
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url()).expect("client").get_connection().expect("connect to orbit")
    }

    /// Sends SIGKILL and waits for the process.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM and waits up to `within` for the exit; returns the status (None: still
    /// running, then killed).
    pub fn terminate(&mut self, within: Duration) -> Option<ExitStatus> {
        let mut c = self.child.take()?;
        // SAFETY: kill(2) with a PID we own.
        unsafe {
            libc::kill(c.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(s)) = c.try_wait() {
                return Some(s);
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Orbit {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A real `redis-server` (Debian's 7.0) for differential tests, on a free port, no persistence.
pub struct RealRedis {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RealRedis {
    /// None if redis-server is not installed (the test then says so and fails in CI, where
    /// `.ci/run` installs it).
    pub fn start() -> Option<RealRedis> {
        let dir = tempfile::tempdir().ok()?;
        let port = free_port();
        let log_path = dir.path().join("redis.log");
        let log = std::fs::File::create(&log_path).ok()?;
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .args(["--enable-debug-command", "yes"])
            .stdout(Stdio::from(log))
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        wait_for_ping(port, &mut child, "redis-server", &log_path);
        Some(RealRedis { child, port, _dir: dir })
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url()).expect("client").get_connection().expect("connect to redis-server")
    }
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Redis Cluster's hash slot of a key (CRC16/XMODEM of the hash tag, mod 16384); Orbit's shard
/// of a key is this slot mod the shard count.
pub fn key_slot(key: &[u8]) -> u16 {
    let tagged = key.iter().position(|&b| b == b'{').and_then(|open| {
        let close = key[open + 1..].iter().position(|&b| b == b'}')?;
        (close > 0).then(|| &key[open + 1..open + 1 + close])
    });
    let data = tagged.unwrap_or(key);
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc % 16384
}

/// A throwaway PostgreSQL 15 cluster (Debian's packages under `/usr/lib/postgresql/15/bin`) for
/// differential tests of the SQL frontend: initdb into a temp dir (as the `postgres` user via
/// runuser when we are root, since PostgreSQL refuses to run as root), pg_ctl start on a free
/// port with the socket dir inside the temp dir, trust authentication for user `postgres`;
/// stopped (fast) when dropped.
pub struct RealPostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl RealPostgres {
    pub const BIN: &'static str = "/usr/lib/postgresql/15/bin";

    /// [`RealPostgres::start`] for a test that only compares with PostgreSQL: None (the reason
    /// printed) when it cannot start, and the test returns.
    pub fn start_or_skip() -> Option<RealPostgres> {
        match RealPostgres::start() {
            Ok(pg) => Some(pg),
            Err(why) => {
                println!("skipped: no PostgreSQL 15 to compare with: {why}");
                None
            }
        }
    }

    /// Err(reason) when PostgreSQL 15 is not installed (scripts/test.sh installs it) or does
    /// not start.
    pub fn start() -> Result<RealPostgres, String> {
        let bin = PathBuf::from(Self::BIN);
        if !bin.join("initdb").is_file() {
            return Err(format!("{}/initdb is missing (apt-get install postgresql-15)", Self::BIN));
        }
        let dir = tempfile::Builder::new().prefix("orbit-pg-").tempdir().map_err(|e| format!("temp dir: {e}"))?;
        if is_root() {
            let out = Command::new("chown").arg("postgres:postgres").arg(dir.path()).output();
            check_output(out, "chown postgres")?;
        }
        let data = dir.path().join("data");
        let out = as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"])
            .output();
        check_output(out, "initdb")?;
        let port = free_port();
        let opts = format!("-c listen_addresses=127.0.0.1 -p {port} -k {}", dir.path().display());
        let out = as_postgres(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.path().join("log"))
            .args(["-o", &opts, "-w", "start"])
            .stdin(Stdio::null())
            .output();
        // Built before the check, so a half-started cluster is stopped too.
        let pg = RealPostgres { bin, dir, port };
        check_output(out, "pg_ctl start")?;
        Ok(pg)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for RealPostgres {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["stop", "-m", "fast"])
            .stdin(Stdio::null())
            .output();
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `program` as the `postgres` user when we are root.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn check_output(out: std::io::Result<std::process::Output>, what: &str) -> Result<(), String> {
    let out = out.map_err(|e| format!("cannot run {what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// A current-thread tokio runtime for tests that drive tokio-postgres.
pub fn pg_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

/// A tokio-postgres client for `postgres@127.0.0.1:port/postgres` (Orbit's or a real
/// PostgreSQL's); its connection task runs on the current runtime. Panics if it cannot connect.
pub async fn pg_connect(port: u16) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap_or_else(|e| panic!("connect to port {port}: {e}"));
    tokio::spawn(conn);
    client
}

/// A tokio-postgres client whose server's NOTICE, INFO and WARNING messages arrive on the
/// channel, and the task reading its connection (it ends once the client is dropped).
pub async fn pg_connect_notices(
    port: u16,
) -> (tokio_postgres::Client, std::sync::mpsc::Receiver<tokio_postgres::error::DbError>, tokio::task::JoinHandle<()>) {
    let (client, mut conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap_or_else(|e| panic!("connect to port {port}: {e}"));
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = tokio::spawn(async move {
        while let Some(m) = std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            if let Ok(tokio_postgres::AsyncMessage::Notice(n)) = m {
                tx.send(n).expect("send");
            }
        }
    });
    (client, rx, reader)
}

/// Helpers for tests that compare Orbit's answers with PostgreSQL's over tokio-postgres.
pub mod pgcmp {
    use tokio_postgres::types::{FromSql, IsNull, ToSql, Type};
    use tokio_postgres::{Client, Row};

    /// A row's values in a comparable form, read by each column's type (int8, int4, float8,
    /// bool, text).
    pub fn values(row: &Row) -> Vec<String> {
        (0..row.len())
            .map(|i| match *row.columns()[i].type_() {
                Type::INT8 => format!("{:?}", row.get::<_, Option<i64>>(i)),
                Type::INT4 => format!("{:?}", row.get::<_, Option<i32>>(i)),
                Type::FLOAT8 => format!("{:?}", row.get::<_, Option<f64>>(i)),
                Type::BOOL => format!("{:?}", row.get::<_, Option<bool>>(i)),
                Type::TEXT => format!("{:?}", row.get::<_, Option<String>>(i)),
                ref t => panic!("column type {t} not expected here"),
            })
            .collect()
    }

    /// Parameter types, column types and rows of one prepared statement, or its error's SQLSTATE.
    pub type Outcome = Result<(Vec<Type>, Vec<Type>, Vec<Vec<String>>), String>;

    /// Prepares and runs `sql` with `params` (the extended protocol, binary results).
    pub async fn run(c: &Client, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Outcome {
        let st = c.prepare(sql).await.map_err(|e| format!("prepare: {:?}", e.code()))?;
        let rows = c.query(&st, params).await.map_err(|e| format!("query: {:?}", e.code()))?;
        let cols = st.columns().iter().map(|c| c.type_().clone()).collect();
        Ok((st.params().to_vec(), cols, rows.iter().map(values).collect()))
    }

    /// Each literal's binary form as the server sends it (tokio-postgres asks for binary
    /// results, and the column's type must be `oid`), and what comes back when that form is
    /// sent again as a binary parameter of the same type.
    pub async fn binary_forms(c: &Client, values: &[(&str, u32)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        for &(lit, oid) in values {
            let row = c.query_one(&format!("SELECT {lit}"), &[]).await.unwrap_or_else(|e| panic!("{lit}: {e}"));
            assert_eq!(row.columns()[0].type_().oid(), oid, "{lit}");
            let sent: Raw = row.get(0);
            let ty = Type::from_oid(oid).expect("a known type");
            let stmt = c.prepare_typed("SELECT $1", &[ty]).await.expect("prepare");
            let back: Raw =
                c.query_one(&stmt, &[&RawParam(sent.0.clone())]).await.unwrap_or_else(|e| panic!("{lit}: {e}")).get(0);
            out.push((sent.0, back.0));
        }
        out
    }

    /// A value's binary form, whatever its type: what the server sent, byte for byte.
    #[derive(Debug, PartialEq)]
    pub struct Raw(pub Vec<u8>);

    impl<'a> FromSql<'a> for Raw {
        fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Raw, Box<dyn std::error::Error + Sync + Send>> {
            Ok(Raw(raw.to_vec()))
        }
        fn accepts(_: &Type) -> bool {
            true
        }
    }

    /// A parameter sent in binary form, as is, whatever type the server asks for.
    #[derive(Debug)]
    pub struct RawParam(pub Vec<u8>);

    impl ToSql for RawParam {
        fn to_sql(
            &self,
            _: &Type,
            out: &mut bytes::BytesMut,
        ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
            out.extend_from_slice(&self.0);
            Ok(IsNull::No)
        }
        fn accepts(_: &Type) -> bool {
            true
        }
        tokio_postgres::types::to_sql_checked!();
    }
}

/// For 1 and then 2 shards under `--fsync always`: a server on a fresh data directory, `setup`
/// run against it, a SIGKILL, a restart on the same directory, then `check` (given the shard
/// count, for messages): what a test of durability across a crash repeats.
pub fn across_sigkill(
    setup: impl AsyncFn(&tokio_postgres::Client),
    check: impl AsyncFn(&tokio_postgres::Client, &str),
) {
    for shards in ["1", "2"] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let args = ["--shards", shards, "--fsync", "always"];
        let mut o = Orbit::start_in(dir.path(), &args);
        let rt = pg_runtime();
        rt.block_on(async {
            let c = pg_connect(o.pg_port).await;
            setup(&c).await;
        });
        o.kill9();
        let o = Orbit::start_in(dir.path(), &args);
        rt.block_on(async {
            let c = pg_connect(o.pg_port).await;
            check(&c, shards).await;
        });
    }
}

/// The rows of `sql` over the simple protocol, each its columns' texts joined with `|` (NULL
/// as `NULL`).
/// The one value (text) of a query's one row.
pub async fn one_text(c: &tokio_postgres::Client, sql: &str) -> Option<String> {
    c.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

/// The SQLSTATE of a statement that must fail.
pub async fn sqlstate_of(c: &tokio_postgres::Client, sql: &str) -> String {
    let e = c.batch_execute(sql).await.expect_err(sql);
    e.as_db_error().map(|d| d.code().code().to_string()).unwrap_or_else(|| panic!("{sql}: {e}"))
}

pub async fn simple_rows(c: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    let msgs = c.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    msgs.iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).unwrap_or("NULL")).collect::<Vec<_>>().join("|"))
            }
            _ => None,
        })
        .collect()
}

/// psql's stdout and stderr (NOTICE, DETAIL and ERROR lines) for `input` fed on its standard
/// input, as a user typing it would see them.
pub fn psql_output(port: u16, input: &str) -> String {
    psql_output_with(port, &[], input)
}

/// [`psql_output`] with more psql arguments after the connection's (`-f -` reads the input as
/// a file: messages name `<stdin>` and its line).
pub fn psql_output_with(port: u16, args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres", "-d", "postgres"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run psql");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write to psql");
    let out = child.wait_with_output().expect("psql output");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Runs `sql` with psql (`-c`, ON_ERROR_STOP) against the server on `port`, database postgres,
/// and fails the test if psql does: a test's setup on Orbit and on PostgreSQL alike.
pub fn psql_script(port: u16, sql: &str) {
    let out = std::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
        .args(["-d", "postgres", "-c", sql])
        .output()
        .expect("run psql");
    assert!(out.status.success(), "setup on port {port}: {}", String::from_utf8_lossy(&out.stderr));
}
