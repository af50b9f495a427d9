//! The shard's write-ahead log. Commands append records synchronously to an in-memory queue
//! ([`Wal`], part of the shard state); one committer task per shard ([`run_committer`]) writes
//! the queue to `<data-dir>/shard-<i>/wal-<epoch>-<first seq>.log` with O_DIRECT through
//! [`crate::rt::DmaFile`], rolling to a new file past a size bound.
//!
//! Group commit: while a write and its fdatasync are in flight, new records queue up; the next
//! round writes them all and one fdatasync covers them. With `--fsync always` a command that
//! changed data hands back a [`Ticket`]; the connection awaits it ([`wait`]) before it writes
//! the reply, so nothing is acknowledged before it is durable. With `everysec` the committer
//! writes and syncs once a second (and whenever 256 KiB are queued); with `no` it writes on
//! the same schedule and leaves syncing to the kernel.
//!
//! A write error makes the log refuse further writes (`-MISCONF`, as Redis does when it cannot
//! persist) and the committer retries the same bytes at the same offset every second; reads
//! keep working. Records already acknowledged are never rewritten differently.

use crate::rt::{self, DmaFile};
use crate::state;
use crate::ShardId;
use bytes::Bytes;
use futures::channel::oneshot;
use orbit_engine::keyspace::{now_ms, Entry};
use orbit_engine::log::{frame, Encoder, Kind, LogHeader};
use orbit_engine::table::{Datum, TableDef};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    Always,
    EverySec,
    No,
}

#[derive(Debug, Clone)]
pub struct WalConfig {
    /// This shard's folder.
    pub dir: PathBuf,
    pub policy: FsyncPolicy,
    /// A log file rolls over once it holds this many bytes.
    pub roll_bytes: u64,
    /// The data directory's layout epoch (changes when the shard count changes).
    pub epoch: u64,
    /// Take a snapshot automatically once this many log bytes were written since the last
    /// one (0: never).
    pub auto_snapshot_bytes: u64,
}

/// Queued bytes past which every write waits for the committer, whatever the policy: the
/// bound on the log's memory when the disk is slower than the writers.
pub const PENDING_LIMIT_BYTES: usize = 64 << 20;
/// Queued bytes that make the committer write before its one-second tick.
const EAGER_WRITE_BYTES: usize = 256 << 10;
const TICK: Duration = Duration::from_secs(1);

/// A promise that record `seq` of shard `shard` will be durable; see [`wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    pub shard: ShardId,
    pub seq: u64,
}

/// The error text clients get when the log cannot be written.
pub fn misconf(err: &str) -> String {
    format!("MISCONF Errors writing to the AOF file: {err}")
}

/// Group-commit counters, for INFO and the shutdown log line.
#[derive(Debug, Default, Clone)]
pub struct WalStats {
    /// Write rounds (each one write of the queued bytes, plus an fdatasync where due).
    pub commits: u64,
    pub fsyncs: u64,
    pub records: u64,
    pub bytes: u64,
    pub max_batch_records: u64,
    /// Rounds by records written: 1, 2-3, 4-7, ..., 128+.
    pub batch_histogram: [u64; 8],
    pub write_errors: u64,
}

impl WalStats {
    fn note_batch(&mut self, records: u64, bytes: u64) {
        self.commits += 1;
        self.records += records;
        self.bytes += bytes;
        self.max_batch_records = self.max_batch_records.max(records);
        let bucket = (63 - records.max(1).leading_zeros() as usize).min(7);
        self.batch_histogram[bucket] += 1;
    }

    pub fn summary(&self) -> String {
        let avg = if self.commits > 0 { self.records as f64 / self.commits as f64 } else { 0.0 };
        format!(
            "commits={} fsyncs={} records={} bytes={} avg_batch={avg:.2} max_batch={} histogram(1,2-3,4-7,8-15,16-31,32-63,64-127,128+)={:?}",
            self.commits, self.fsyncs, self.records, self.bytes, self.max_batch_records, self.batch_histogram
        )
    }
}

/// Queued frames; a chunk that starts a new log file carries the first sequence number of it.
struct Chunk {
    new_file: Option<u64>,
    data: Vec<u8>,
    records: u64,
    last_seq: u64,
}

struct Waiter {
    seq: u64,
    needs_sync: bool,
    tx: oneshot::Sender<Result<(), String>>,
}

/// Frames not yet handed to the committer.
struct Queue {
    chunks: VecDeque<Chunk>,
    pending_bytes: usize,
    next_seq: u64,
    /// Bytes in the current log file, queued ones included.
    file_bytes: u64,
    waker: Option<Waker>,
}

impl Queue {
    fn open_file(&mut self) {
        let seq = self.next_seq;
        self.chunks.push_back(Chunk { new_file: Some(seq), data: Vec::with_capacity(4096), records: 0, last_seq: seq });
        self.file_bytes = 0;
    }

    fn push_frame(&mut self, kind: Kind, body: &[u8]) -> u64 {
        if self.chunks.is_empty() {
            self.chunks.push_back(Chunk { new_file: None, data: Vec::with_capacity(4096), records: 0, last_seq: 0 });
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let chunk = self.chunks.back_mut().expect("a chunk is open");
        let before = chunk.data.len();
        frame::encode(&mut chunk.data, kind, seq, body);
        let n = chunk.data.len() - before;
        chunk.records += 1;
        chunk.last_seq = seq;
        self.pending_bytes += n;
        self.file_bytes += n as u64;
        if let Some(w) = self.waker.take() {
            w.wake();
        }
        seq
    }
}

/// The synchronous half of the log, in the shard state.
pub struct Wal {
    cfg: Option<WalConfig>,
    shard: u32,
    shards: u32,
    enc: Encoder,
    q: Queue,
    pub written_seq: u64,
    pub synced_seq: u64,
    waiters: Vec<Waiter>,
    force_sync: bool,
    stop: bool,
    /// Set while the disk refuses writes; cleared when a retry succeeds.
    pub failed: Option<String>,
    pub stats: WalStats,
    /// Log files in order of their first sequence number (older ones are deleted once a
    /// snapshot covers them).
    pub files: Vec<(u64, PathBuf)>,
    /// Log bytes written since the last snapshot started.
    pub bytes_since_snapshot: u64,
}

impl Wal {
    /// A log that records nothing (no data directory: unit tests, tools).
    pub fn disabled() -> Wal {
        Wal {
            cfg: None,
            shard: 0,
            shards: 1,
            enc: Encoder::new(),
            q: Queue { chunks: VecDeque::new(), pending_bytes: 0, next_seq: 1, file_bytes: 0, waker: None },
            written_seq: 0,
            synced_seq: 0,
            waiters: Vec::new(),
            force_sync: false,
            stop: false,
            failed: None,
            stats: WalStats::default(),
            files: Vec::new(),
            bytes_since_snapshot: 0,
        }
    }

    /// A log that continues after `last_seq` (the last record recovery found), in a new file.
    pub fn new(cfg: WalConfig, shard: ShardId, shards: usize, last_seq: u64, mut files: Vec<(u64, PathBuf)>) -> Wal {
        let mut w = Wal::disabled();
        w.shard = shard as u32;
        w.shards = shards as u32;
        w.q.next_seq = last_seq + 1;
        w.written_seq = last_seq;
        w.synced_seq = last_seq;
        // A file that starts after the last record holds none (a crash came right after it was
        // created): the new file takes its name (and truncates it). Listed twice, a snapshot
        // would delete the older entry's path — the live file — and lose what follows.
        files.retain(|(first, _)| *first <= last_seq);
        w.files = files;
        w.cfg = Some(cfg);
        w.start_file();
        w
    }

    pub fn enabled(&self) -> bool {
        self.cfg.is_some()
    }

    pub fn config(&self) -> Option<&WalConfig> {
        self.cfg.as_ref()
    }

    /// Sequence number of the last record appended (0: none yet).
    pub fn last_seq(&self) -> u64 {
        self.q.next_seq - 1
    }

    fn policy(&self) -> FsyncPolicy {
        self.cfg.as_ref().map(|c| c.policy).unwrap_or(FsyncPolicy::No)
    }

    fn start_file(&mut self) {
        let Some(cfg) = &self.cfg else { return };
        let header = LogHeader { shard: self.shard, shards: self.shards, epoch: cfg.epoch, created_ms: now_ms() };
        self.q.open_file();
        let body = self.enc.log_header(&header);
        self.q.push_frame(Kind::LogHeader, body);
    }

    /// Rolls to a new file first where due.
    fn roll_if_due(&mut self) {
        let roll = self.cfg.as_ref().map(|c| c.roll_bytes).unwrap_or(u64::MAX);
        if self.q.file_bytes >= roll {
            self.start_file();
        }
    }

    /// Logs a command (or its rewrite) as executed on database `db` at `now_ms`.
    pub fn append_command(&mut self, db: usize, now_ms: u64, argv: &[Bytes]) -> u64 {
        if !self.enabled() {
            return 0;
        }
        self.roll_if_due();
        let body = self.enc.command(db, now_ms, argv);
        self.q.push_frame(Kind::RedisCommand, body)
    }

    /// Logs a whole entry put at (db, key).
    pub fn append_put(&mut self, db: usize, key: &[u8], entry: &Entry) -> u64 {
        if !self.enabled() {
            return 0;
        }
        self.roll_if_due();
        let body = self.enc.put_entry(db, key, entry);
        self.q.push_frame(Kind::RedisPut, body)
    }

    pub fn append_delete(&mut self, db: usize, key: &[u8]) -> u64 {
        if !self.enabled() {
            return 0;
        }
        self.roll_if_due();
        let body = self.enc.delete(db, key);
        self.q.push_frame(Kind::RedisDelete, body)
    }

    /// Logs CREATE TABLE as applied on this shard under catalog generation `generation`.
    pub fn append_table_create(&mut self, generation: u64, def: &TableDef) -> u64 {
        if !self.enabled() {
            return 0;
        }
        self.roll_if_due();
        let body = self.enc.table_create(generation, def);
        self.q.push_frame(Kind::TableCreate, body)
    }

    pub fn append_table_drop(&mut self, generation: u64, name: &str) -> u64 {
        if !self.enabled() {
            return 0;
        }
        self.roll_if_due();
        let body = self.enc.table_drop(generation, name);
        self.q.push_frame(Kind::TableDrop, body)
    }

    /// Logs a staging table replacing the table it was built for (ALTER TABLE's commit).
    pub fn append_table_swap(&mut self, generation: u64, staging: &str) -> u64 {
        if !self.enabled() {
            return 0;
        }
        self.roll_if_due();
        let body = self.enc.table_swap(generation, staging);
        self.q.push_frame(Kind::TableSwap, body)
    }

    /// Logs a table renamed (ALTER TABLE ... RENAME TO).
    pub fn append_table_rename(&mut self, generation: u64, name: &str, new_name: &str) -> u64 {
        if !self.enabled() {
            return 0;
        }
        self.roll_if_due();
        let body = self.enc.table_rename(generation, name, new_name);
        self.q.push_frame(Kind::TableRename, body)
    }

    /// Logs a row inserted or replaced in `table`.
    pub fn append_row_put(&mut self, table: &str, row: &[Datum]) -> u64 {
        if !self.enabled() {
            return 0;
        }
        self.roll_if_due();
        let body = self.enc.row_put(table, row);
        self.q.push_frame(Kind::RowPut, body)
    }

    /// Logs the row at encoded primary key `key` deleted from `table`.
    pub fn append_row_delete(&mut self, table: &str, key: &[u8]) -> u64 {
        if !self.enabled() {
            return 0;
        }
        self.roll_if_due();
        let body = self.enc.row_delete(table, key);
        self.q.push_frame(Kind::RowDelete, body)
    }

    /// Logs a participant's prepared part of transaction `txid` (two-phase commit).
    pub fn append_txn_prepare(&mut self, txid: u64, part: &orbit_engine::table::in_doubt::PreparedPart) -> u64 {
        if !self.enabled() {
            return 0;
        }
        self.roll_if_due();
        let body = self.enc.txn_prepare(txid, part);
        self.q.push_frame(Kind::TxnPrepare, body)
    }

    /// Logs the coordinator's COMMIT decision for `txid`.
    pub fn append_txn_commit(&mut self, txid: u64) -> u64 {
        if !self.enabled() {
            return 0;
        }
        self.roll_if_due();
        let body = self.enc.txn_decision(txid, true);
        self.q.push_frame(Kind::TxnCommit, body)
    }

    /// Logs that this participant applied (`commit`) or dropped its prepared part of `txid`.
    pub fn append_txn_resolve(&mut self, txid: u64, commit: bool) -> u64 {
        if !self.enabled() {
            return 0;
        }
        self.roll_if_due();
        let body = self.enc.txn_decision(txid, commit);
        self.q.push_frame(Kind::TxnResolve, body)
    }

    /// The ticket a command that logged up to `seq` must await before its reply goes out, if
    /// any: always with `--fsync always`, and with any policy while the queue is over its
    /// bound (backpressure).
    pub fn ticket(&self, shard: ShardId, seq: u64) -> Option<Ticket> {
        if seq == 0 || !self.enabled() {
            return None;
        }
        if self.policy() == FsyncPolicy::Always || self.q.pending_bytes > PENDING_LIMIT_BYTES {
            return Some(Ticket { shard, seq });
        }
        None
    }

    fn satisfied(&self, seq: u64, needs_sync: bool) -> bool {
        if needs_sync || self.policy() == FsyncPolicy::Always {
            self.synced_seq >= seq
        } else {
            self.written_seq >= seq
        }
    }

    /// A receiver that fires once record `seq` is durable (per the policy; `needs_sync`:
    /// synced whatever the policy). None when it already is.
    pub fn waiter(&mut self, seq: u64, needs_sync: bool) -> Option<oneshot::Receiver<Result<(), String>>> {
        if !self.enabled() || self.satisfied(seq, needs_sync) {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        self.waiters.push(Waiter { seq, needs_sync, tx });
        if needs_sync {
            self.force_sync = true;
        }
        if let Some(w) = self.q.waker.take() {
            w.wake();
        }
        Some(rx)
    }

    fn has_work(&self, tick_due: bool) -> bool {
        if self.stop || self.force_sync {
            return true;
        }
        if self.q.pending_bytes == 0 {
            return tick_due && self.policy() == FsyncPolicy::EverySec && self.synced_seq < self.written_seq;
        }
        tick_due
            || self.policy() == FsyncPolicy::Always
            || self.q.pending_bytes >= EAGER_WRITE_BYTES
            || !self.waiters.is_empty()
    }

    fn take(&mut self) -> Vec<Chunk> {
        self.q.pending_bytes = 0;
        self.q.chunks.drain(..).collect()
    }

    fn wake_waiters(&mut self) {
        let mut i = 0;
        while i < self.waiters.len() {
            if self.satisfied(self.waiters[i].seq, self.waiters[i].needs_sync) {
                let w = self.waiters.swap_remove(i);
                let _ = w.tx.send(Ok(()));
            } else {
                i += 1;
            }
        }
    }

    fn fail_waiters(&mut self, err: &str) {
        for w in self.waiters.drain(..) {
            let _ = w.tx.send(Err(misconf(err)));
        }
    }
}

/// Waits until the record a ticket names is durable (on whichever shard holds it).
pub async fn wait(t: Ticket) -> Result<(), String> {
    wait_for(t, false).await
}

/// Waits until record `t.seq` of shard `t.shard` is written and synced, whatever the policy
/// (a catalog change's decision on shard 0, which no other shard may get ahead of).
pub async fn wait_synced(t: Ticket) -> Result<(), String> {
    wait_for(t, true).await
}

async fn wait_for(t: Ticket, sync: bool) -> Result<(), String> {
    let (me, _) = state::local();
    let rx = if t.shard == me {
        state::with_shard(|s| s.wal.waiter(t.seq, sync))
    } else {
        crate::mesh::run_on(t.shard, move |s| s.wal.waiter(t.seq, sync)).await.map_err(|e| format!("ERR {e}"))?
    };
    match rx {
        None => Ok(()),
        Some(rx) => rx.await.unwrap_or_else(|_| Err("ERR the log stopped before the write was durable".into())),
    }
}

/// Waits until record `t.seq` of shard `t.shard` is written (whatever the policy) and, unless
/// the policy is `no`, synced — without forcing a sync: it rides on the next one the policy
/// makes. For bookkeeping that may lag (two-phase commit forgetting a decision).
pub async fn wait_settled(t: Ticket) -> Result<(), String> {
    let register = move |s: &mut crate::state::Shard| {
        let w = &mut s.wal;
        let needs_sync = w.policy() != FsyncPolicy::No;
        if !w.enabled() || w.satisfied(t.seq, needs_sync) {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        w.waiters.push(Waiter { seq: t.seq, needs_sync, tx });
        if let Some(wk) = w.q.waker.take() {
            wk.wake();
        }
        Some(rx)
    };
    let (me, _) = state::local();
    let rx = if t.shard == me {
        state::with_shard(register)
    } else {
        crate::mesh::run_on(t.shard, register).await.map_err(|e| format!("ERR {e}"))?
    };
    match rx {
        None => Ok(()),
        Some(rx) => rx.await.unwrap_or_else(|_| Err("ERR the log stopped before the write was durable".into())),
    }
}

/// Waits for several tickets at once (the replies of a pipeline batch, a multi-shard
/// command): one wait per shard, for its highest sequence number.
pub async fn wait_all(tickets: impl IntoIterator<Item = Ticket>) -> Result<(), String> {
    let mut per_shard: Vec<Ticket> = Vec::new();
    for t in tickets {
        match per_shard.iter_mut().find(|p| p.shard == t.shard) {
            Some(p) => p.seq = p.seq.max(t.seq),
            None => per_shard.push(t),
        }
    }
    match per_shard.len() {
        0 => Ok(()),
        1 => wait(per_shard[0]).await,
        _ => {
            for r in futures::future::join_all(per_shard.into_iter().map(wait)).await {
                r?;
            }
            Ok(())
        }
    }
}

/// Writes and fdatasyncs everything this shard logged so far, whatever the policy (SAVE,
/// shutdown).
pub async fn sync_now() -> Result<(), String> {
    let rx = state::with_shard(|s| {
        let seq = s.wal.last_seq();
        s.wal.waiter(seq, true)
    });
    match rx {
        None => Ok(()),
        Some(rx) => rx.await.unwrap_or_else(|_| Err("ERR the log stopped".into())),
    }
}

/// Asks the committer to write what is queued, sync, and exit.
pub fn stop() {
    state::with_shard(|s| {
        s.wal.stop = true;
        if let Some(w) = s.wal.q.waker.take() {
            w.wake();
        }
    });
}

/// The log file the committer appends to.
struct OpenLog {
    file: DmaFile,
    path: PathBuf,
    /// Bytes written to the file so far.
    len: u64,
    /// The bytes of the last partial block (from `len` rounded down to the alignment), which
    /// the next write rewrites together with what follows them.
    tail: Vec<u8>,
    unsynced: bool,
    /// The file is written (with zeros past `len`) up to here.
    filled: u64,
    fill_ahead: Option<u64>,
    /// Opened O_DSYNC: a completed write is durable, no fdatasync needed.
    dsync: bool,
}

/// How far ahead of the records a `--fsync always` log is written with zeros.
const FILL_AHEAD_BYTES: u64 = 4 << 20;

pub fn log_file_name(epoch: u64, first_seq: u64) -> String {
    format!("wal-{epoch}-{first_seq:016x}.log")
}

impl OpenLog {
    /// `fill_ahead`: write zeros ahead of the records, up to about this file size (see
    /// [`OpenLog::fill_ahead`]).
    async fn create(dir: &Path, epoch: u64, first_seq: u64, fill_ahead: Option<u64>) -> std::io::Result<OpenLog> {
        let path = dir.join(log_file_name(epoch, first_seq));
        // With `--fsync always` (the only policy that fills ahead) the file is O_DSYNC: each
        // round's one write is durable when it completes, where a write and then an fdatasync
        // took two trips through the kernel's io_uring workers and the reactor.
        let dsync = fill_ahead.is_some();
        let file = DmaFile::create_with(&path, dsync).await?;
        // The new name must survive a crash before anything in it is acknowledged.
        rt::sync_dir(dir).await?;
        Ok(OpenLog { file, path, len: 0, tail: Vec::new(), unsynced: false, filled: 0, fill_ahead, dsync })
    }

    /// With `--fsync always`, keeps the file written with zeros ahead of the records: appending
    /// inside blocks the file already has lets fdatasync skip the metadata journal commit that
    /// an appending write needs (size and block map change). On ext4 here a 4 KiB O_DSYNC write
    /// took 0.52 ms appending and 0.08 ms overwriting (`dd oflag=direct,dsync`); fallocate does
    /// not help (its unwritten extents are converted at write time, a metadata change again).
    /// So one sync in [`FILL_AHEAD_BYTES`] pays for the metadata instead of every one. Recovery
    /// reads the zeros after the last record as a clean end; closing a file cuts them off.
    async fn fill_ahead(&mut self, end: u64) -> std::io::Result<()> {
        let Some(roll_bytes) = self.fill_ahead else { return Ok(()) };
        if end <= self.filled {
            return Ok(());
        }
        let align = self.file.alignment();
        // Not much past where the file rolls over (the last record may cross it).
        let to = (end + FILL_AHEAD_BYTES).min(end.max(roll_bytes + (64 << 10)));
        let to = to.div_ceil(align) * align;
        while self.filled < to {
            let n = (1u64 << 20).min(to - self.filled);
            if let Err(e) = self.file.write_at(self.file.buffer(n as usize), self.filled).await {
                // Writing ahead is an optimisation: without room for it, append as usual (the
                // record's own write then reports a real lack of space).
                tracing::warn!(path = %self.path.display(), error = %e, "log: cannot write ahead; appending plainly");
                self.fill_ahead = None;
                return Ok(());
            }
            self.filled += n;
        }
        Ok(())
    }

    /// Appends `data`: one aligned write from the start of the partial last block.
    async fn append(&mut self, data: &[u8]) -> std::io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let align = self.file.alignment();
        let start = self.len - self.tail.len() as u64;
        debug_assert_eq!(start % align, 0);
        let total = self.tail.len() + data.len();
        let mut buf = self.file.buffer(total);
        buf.bytes_mut()[..self.tail.len()].copy_from_slice(&self.tail);
        buf.bytes_mut()[self.tail.len()..total].copy_from_slice(data);
        let keep_from = total - (total % align as usize);
        let new_tail = buf.bytes_mut()[keep_from..total].to_vec();
        self.fill_ahead(start + buf.len() as u64).await?;
        self.file.write_at(buf, start).await?;
        self.len += data.len() as u64;
        self.tail = new_tail;
        self.unsynced = !self.dsync;
        Ok(())
    }

    async fn sync(&mut self) -> std::io::Result<()> {
        if self.unsynced {
            self.file.fdatasync().await?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Syncs, cuts the zero padding after the last record, and closes.
    async fn finish(mut self) -> std::io::Result<()> {
        self.sync().await?;
        self.file.truncate(self.len).await?;
        self.file.fdatasync().await?;
        self.file.close().await
    }
}

/// The committer: runs on every shard whose log is enabled, until [`stop`].
pub async fn run_committer() {
    let Some(cfg) = state::with_shard(|s| s.wal.cfg.clone()) else {
        return;
    };
    let mut log: Option<OpenLog> = None;
    let mut retry: Vec<Chunk> = Vec::new();
    let mut next_tick = Instant::now() + TICK;
    loop {
        // Wait for work, the tick, or a retry after an error.
        let now = Instant::now();
        let tick_due = now >= next_tick;
        let ready = state::with_shard(|s| s.wal.has_work(tick_due)) || (!retry.is_empty() && tick_due);
        if tick_due && !ready {
            next_tick = now + TICK;
        }
        if !ready {
            let wait_work = futures::future::poll_fn(|cx| {
                state::with_shard(|s| {
                    if s.wal.has_work(false) {
                        Poll::Ready(())
                    } else {
                        s.wal.q.waker = Some(cx.waker().clone());
                        Poll::Pending
                    }
                })
            });
            let timer = rt::sleep(next_tick.saturating_duration_since(now));
            futures::pin_mut!(wait_work, timer);
            futures::future::select(wait_work, timer).await;
            continue;
        }
        if tick_due {
            next_tick = Instant::now() + TICK;
        }
        if cfg.policy == FsyncPolicy::Always {
            // Let the other tasks this reactor pass woke (connections with commands already
            // read) append first, so one round covers them all — Redis's one write and fsync
            // per event-loop pass.
            rt::yield_once().await;
        }
        let (mut chunks, want_sync, stopping) = state::with_shard(|s| {
            let want_sync = s.wal.force_sync
                || s.wal.stop
                || match cfg.policy {
                    FsyncPolicy::Always => true,
                    FsyncPolicy::EverySec => tick_due,
                    FsyncPolicy::No => false,
                };
            s.wal.force_sync = false;
            (s.wal.take(), want_sync, s.wal.stop)
        });
        if !retry.is_empty() {
            retry.append(&mut chunks);
            chunks = std::mem::take(&mut retry);
        }
        let result = commit(&cfg, &mut log, &mut chunks, want_sync).await;
        let (written, synced) = match &result {
            Ok(r) => *r,
            Err(_) => (None, None),
        };
        state::with_shard(|s| {
            let w = &mut s.wal;
            if let Some(seq) = written {
                w.written_seq = w.written_seq.max(seq);
            }
            if let Some(seq) = synced {
                w.synced_seq = w.synced_seq.max(seq);
                w.stats.fsyncs += 1;
            }
            match &result {
                Ok(_) => {
                    if w.failed.take().is_some() {
                        tracing::warn!(shard = w.shard, "log writes succeed again; accepting writes");
                    }
                    w.wake_waiters();
                }
                Err(e) => {
                    w.stats.write_errors += 1;
                    if w.failed.is_none() {
                        tracing::error!(shard = w.shard, error = %e, "cannot write the log; refusing writes until it can");
                    }
                    w.failed = Some(e.to_string());
                    w.wake_waiters();
                    w.fail_waiters(&e.to_string());
                }
            }
        });
        if result.is_err() {
            // Keep what was not written, in order, for the next attempt (after a tick).
            retry = chunks;
            next_tick = Instant::now() + TICK;
            if stopping {
                break;
            }
            continue;
        }
        crate::snapshot::maybe_start_auto();
        let done = state::with_shard(|s| s.wal.stop && s.wal.q.pending_bytes == 0 && s.wal.waiters.is_empty());
        if stopping && done {
            break;
        }
    }
    if let Some(l) = log.take() {
        if let Err(e) = l.finish().await {
            tracing::error!(error = %e, "closing the log");
        }
    }
    state::with_shard(|s| tracing::info!(shard = s.id, "log: {}", s.wal.stats.summary()));
}

/// Writes `chunks` (removing each from the front once written) and syncs if asked. Returns
/// the last sequence numbers written and synced.
async fn commit(
    cfg: &WalConfig,
    log: &mut Option<OpenLog>,
    chunks: &mut Vec<Chunk>,
    want_sync: bool,
) -> std::io::Result<(Option<u64>, Option<u64>)> {
    let mut written = None;
    let mut records = 0;
    let mut bytes = 0;
    while !chunks.is_empty() {
        let c = &chunks[0];
        if let Some(first) = c.new_file {
            // The old file is complete: make it durable before anything lands in the next one,
            // so a torn record can only be at the end of the newest file.
            if let Some(old) = log.take() {
                old.finish().await?;
            }
            let fill_ahead = (cfg.policy == FsyncPolicy::Always).then_some(cfg.roll_bytes);
            let l = OpenLog::create(&cfg.dir, cfg.epoch, first, fill_ahead).await?;
            let path = l.path.clone();
            *log = Some(l);
            state::with_shard(|s| s.wal.files.push((first, path)));
            chunks[0].new_file = None;
        }
        let c = &chunks[0];
        let l = log.as_mut().ok_or_else(|| std::io::Error::other("no log file open"))?;
        l.append(&c.data).await?;
        written = Some(c.last_seq);
        records += c.records;
        bytes += c.data.len() as u64;
        chunks.remove(0);
    }
    state::with_shard(|s| {
        if records > 0 {
            s.wal.stats.note_batch(records, bytes);
            s.wal.bytes_since_snapshot += bytes;
        }
    });
    let mut synced = None;
    if want_sync {
        if let Some(l) = log.as_mut() {
            l.sync().await?;
        }
        synced = Some(state::with_shard(|s| s.wal.written_seq.max(written.unwrap_or(0))));
    }
    Ok((written, synced))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_file_that_starts_after_the_last_record_is_not_listed_twice() {
        let cfg = WalConfig {
            dir: PathBuf::from("/nonexistent"),
            policy: FsyncPolicy::Always,
            roll_bytes: 1 << 20,
            epoch: 0,
            auto_snapshot_bytes: 0,
        };
        // The crash came right after wal-0-51 was created: the last record is 50, and the new
        // file is wal-0-51 again.
        let files =
            vec![(1, PathBuf::from("wal-0-1")), (40, PathBuf::from("wal-0-40")), (51, PathBuf::from("wal-0-51"))];
        let w = Wal::new(cfg, 0, 1, 50, files);
        assert_eq!(w.files, vec![(1, PathBuf::from("wal-0-1")), (40, PathBuf::from("wal-0-40"))]);
        assert_eq!(w.last_seq(), 51, "the new file's header");
    }
}
