//! Per-shard snapshots, taken while the shard keeps serving: no fork, no pause. The snapshot
//! task starts a capture on every database ([`orbit_engine::keyspace::Db::begin_capture`]) at
//! log record S, then alternates: encode a bounded chunk of entries (pre-images of entries
//! changed since the start first) inside the shard, write it out through io_uring, yield to
//! requests. The file (`snap-<epoch>-<S>.snap`) is written as a `.tmp`, fsynced, renamed and
//! the directory fsynced; then the log files it covers and older snapshots are deleted.
//!
//! SQL tables: the catalog and all rows of the shard are copied in one step when the snapshot
//! starts (the same call that starts the keyspace capture, so both are of the same instant,
//! after log record S) and written first, in bounded chunks with yields between them. A copy
//! rather than a capture like the keyspace's: tables are small in this slice; see
//! docs/DURABILITY.md.
//!
//! Automatic snapshots start once the log has grown by `auto_snapshot_bytes` since the last one.

use crate::recovery::list_dir;
use crate::rt::{self, DmaFile, DmaStreamWriter};
use crate::state::{self, Shard};
use orbit_engine::keyspace::{now_ms, Entry, Keyspace};
use orbit_engine::log::{frame, Encoder, Kind, SnapshotBegin};
use orbit_engine::table::Tables;
use std::path::{Path, PathBuf};

/// Entries encoded per step between requests.
const CHUNK_ENTRIES: usize = 512;
/// Encoded bytes that end a step early (large values).
const CHUNK_BYTES: usize = 1 << 20;

/// Snapshot bookkeeping in the shard state.
#[derive(Debug, Default)]
pub struct SnapshotState {
    pub running: bool,
    /// Ids stamped on entries; each snapshot takes the next.
    pub next_id: u32,
    /// Unix seconds of the last successful snapshot (start time until there is one).
    pub last_save_s: u64,
    pub last_error: Option<String>,
    pub last_keys: u64,
    pub last_duration_ms: u64,
    /// The keyspace's change counter (`keyspace.dirty`) when the running snapshot started, and
    /// when the last successful one started: changes since then are not in any snapshot.
    pub dirty_at_start: u64,
    pub dirty_at_last_save: u64,
}

impl SnapshotState {
    /// Changes not covered by the last successful snapshot (INFO's
    /// `rdb_changes_since_last_save`): like Redis, changes made while a snapshot runs still
    /// count after it completes. After a restart these are the log records replayed after the
    /// snapshot.
    pub fn changes_since_save(&self, dirty: u64) -> u64 {
        dirty.saturating_sub(self.dirty_at_last_save)
    }
}

pub fn snapshot_file_name(epoch: u64, covers_seq: u64) -> String {
    format!("snap-{epoch}-{covers_seq:016x}.snap")
}

/// Writes the frames of one snapshot file.
pub struct SnapshotWriter {
    w: DmaStreamWriter,
    tmp: PathBuf,
    path: PathBuf,
    dir: PathBuf,
    enc: Encoder,
    seq: u64,
    pub keys: u64,
    /// Data records written (keys and table records): the end record's count.
    pub records: u64,
}

impl SnapshotWriter {
    pub async fn create(dir: &Path, begin: SnapshotBegin) -> std::io::Result<SnapshotWriter> {
        let path = dir.join(snapshot_file_name(begin.epoch, begin.covers_seq));
        let tmp = path.with_extension("snap.tmp");
        let file = DmaFile::create(&tmp).await?;
        let mut w = SnapshotWriter {
            w: DmaStreamWriter::new(file),
            tmp,
            path,
            dir: dir.to_path_buf(),
            enc: Encoder::new(),
            seq: 0,
            keys: 0,
            records: 0,
        };
        let mut buf = Vec::new();
        let body = w.enc.snapshot_begin(&begin);
        frame::encode(&mut buf, Kind::SnapshotBegin, 0, body);
        w.seq = 1;
        w.w.write_all(&buf).await?;
        Ok(w)
    }

    /// Encodes a put of (db, key, entry) onto `buf` (the caller writes `buf` out).
    pub fn encode_put(&mut self, buf: &mut Vec<u8>, db: usize, key: &[u8], e: &Entry) {
        let body = self.enc.put_entry(db, key, e);
        frame::encode(buf, Kind::RedisPut, self.seq, body);
        self.seq += 1;
        self.keys += 1;
        self.records += 1;
    }

    fn frame(&mut self, buf: &mut Vec<u8>, kind: Kind, body: &[u8]) {
        frame::encode(buf, kind, self.seq, body);
        self.seq += 1;
        self.records += 1;
    }

    /// Writes the catalog (definitions and the generations of dropped names) and every row of
    /// `tables`, in chunks of about [`CHUNK_BYTES`], yielding between them.
    pub async fn write_tables(&mut self, tables: &Tables) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(CHUNK_BYTES + 4096);
        for (name, generation, table) in tables.catalog() {
            let Some(t) = table else {
                let body = self.enc.table_drop(generation, name).to_vec();
                self.frame(&mut buf, Kind::TableDrop, &body);
                continue;
            };
            let body = self.enc.table_create(generation, &t.def).to_vec();
            self.frame(&mut buf, Kind::TableCreate, &body);
            for (_, row) in t.scan() {
                let body = self.enc.row_put(name, row).to_vec();
                self.frame(&mut buf, Kind::RowPut, &body);
                if buf.len() >= CHUNK_BYTES {
                    self.w.write_all(&buf).await?;
                    buf.clear();
                    rt::yield_now().await;
                }
            }
        }
        // Two-phase commit state of the same instant: parts prepared here and not applied (the
        // rows above are without them) and decisions a participant may still need.
        for (txid, part) in &tables.in_doubt.prepared {
            let body = self.enc.txn_prepare(*txid, part).to_vec();
            self.frame(&mut buf, Kind::TxnPrepare, &body);
        }
        for txid in &tables.in_doubt.decided {
            let body = self.enc.txn_decision(*txid, true).to_vec();
            self.frame(&mut buf, Kind::TxnCommit, &body);
        }
        self.w.write_all(&buf).await
    }

    pub async fn write(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.w.write_all(buf).await
    }

    /// Writes the end record, syncs, renames into place and syncs the directory.
    pub async fn finish(mut self) -> std::io::Result<PathBuf> {
        let mut buf = Vec::new();
        let body = self.enc.snapshot_end(self.records);
        frame::encode(&mut buf, Kind::SnapshotEnd, self.seq, body);
        self.w.write_all(&buf).await?;
        self.w.close().await?;
        rt::rename(&self.tmp, &self.path).await?;
        rt::sync_dir(&self.dir).await?;
        Ok(self.path)
    }

    /// Gives up: removes the temp file.
    pub async fn abandon(self) {
        let _ = self.w.close().await;
        let _ = rt::remove_file(&self.tmp).await;
    }
}

/// Writes a whole keyspace and tables that no one else is changing (re-sharding at start-up).
pub async fn write_keyspace(
    dir: &Path,
    begin: SnapshotBegin,
    ks: &Keyspace,
    tables: &Tables,
) -> std::io::Result<PathBuf> {
    let mut w = SnapshotWriter::create(dir, begin).await?;
    w.write_tables(tables).await?;
    let mut buf = Vec::with_capacity(CHUNK_BYTES + 4096);
    for (db, d) in ks.dbs.iter().enumerate() {
        for (k, e) in d.iter() {
            w.encode_put(&mut buf, db, k, e);
            if buf.len() >= CHUNK_BYTES {
                w.write(&buf).await?;
                buf.clear();
            }
        }
    }
    w.write(&buf).await?;
    w.finish().await
}

/// Takes a snapshot of this shard while it keeps serving. Returns the number of keys written.
/// Fails at once if one is already running.
pub async fn take() -> Result<u64, String> {
    let started = std::time::Instant::now();
    let Some((begin, tables)) = state::with_shard(start_capture)? else {
        return Err("ERR persistence is disabled (no log on this shard)".into());
    };
    let dir = state::with_shard(|s| s.wal.config().map(|c| c.dir.clone())).unwrap_or_default();
    let result = walk(&dir, begin, tables).await;
    let outcome = match result {
        Ok((path, keys)) => {
            let removed = remove_covered(&dir, begin).await;
            tracing::info!(
                shard = begin.shard,
                keys,
                file = %path.display(),
                removed_files = removed,
                ms = started.elapsed().as_millis() as u64,
                "snapshot written"
            );
            Ok(keys)
        }
        Err(e) => {
            tracing::error!(shard = begin.shard, error = %e, "snapshot failed");
            Err(format!("ERR snapshot failed: {e}"))
        }
    };
    state::with_shard(|s| {
        for d in &mut s.keyspace.dbs {
            d.end_capture();
        }
        s.snapshot.running = false;
        match &outcome {
            Ok(keys) => {
                s.snapshot.last_save_s = now_ms() / 1000;
                s.snapshot.last_error = None;
                s.snapshot.last_keys = *keys;
                s.snapshot.last_duration_ms = started.elapsed().as_millis() as u64;
                s.snapshot.dirty_at_last_save = s.snapshot.dirty_at_start;
            }
            Err(e) => s.snapshot.last_error = Some(e.clone()),
        }
    });
    outcome
}

fn start_capture(s: &mut Shard) -> Result<Option<(SnapshotBegin, Tables)>, String> {
    let Some(cfg) = s.wal.config() else { return Ok(None) };
    if s.snapshot.running {
        return Err("ERR Background save already in progress".into());
    }
    let epoch = cfg.epoch;
    s.snapshot.running = true;
    s.snapshot.dirty_at_start = s.keyspace.dirty;
    s.snapshot.next_id = s.snapshot.next_id.wrapping_add(1).max(1);
    let id = s.snapshot.next_id;
    for (i, d) in s.keyspace.dbs.iter_mut().enumerate() {
        d.begin_capture(id, i);
    }
    s.wal.bytes_since_snapshot = 0;
    let begin = SnapshotBegin {
        shard: s.id as u32,
        shards: s.count as u32,
        epoch,
        covers_seq: s.wal.last_seq(),
        created_ms: now_ms(),
    };
    Ok(Some((begin, s.tables.clone())))
}

async fn walk(dir: &Path, begin: SnapshotBegin, tables: Tables) -> std::io::Result<(PathBuf, u64)> {
    let mut w = SnapshotWriter::create(dir, begin).await?;
    if let Err(e) = w.write_tables(&tables).await {
        w.abandon().await;
        return Err(e);
    }
    drop(tables);
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + 4096);
    loop {
        let done = state::with_shard(|s| {
            let mut all_done = true;
            for d in &mut s.keyspace.dbs {
                if buf.len() >= CHUNK_BYTES {
                    all_done = false;
                    break;
                }
                let finished = d.capture_step(CHUNK_ENTRIES, |db, k, e| w.encode_put(&mut buf, db, k, e));
                all_done &= finished;
                if !finished {
                    break;
                }
            }
            if all_done {
                // Nothing can queue up between this check and the end of the capture: both
                // happen in this one call on the shard's thread.
                for d in &mut s.keyspace.dbs {
                    d.end_capture();
                }
            }
            all_done
        });
        if let Err(e) = w.write(&buf).await {
            w.abandon().await;
            return Err(e);
        }
        buf.clear();
        if done {
            break;
        }
        rt::yield_now().await;
    }
    let keys = w.keys;
    let path = w.finish().await?;
    Ok((path, keys))
}

/// Deletes the log files and older snapshots that the snapshot `begin` makes unnecessary.
async fn remove_covered(dir: &Path, begin: SnapshotBegin) -> usize {
    // A log file is covered when the next one starts at or before covers_seq + 1.
    let covered: Vec<PathBuf> = state::with_shard(|s| {
        let files = &mut s.wal.files;
        let mut n = 0;
        while n + 1 < files.len() && files[n + 1].0 <= begin.covers_seq + 1 {
            n += 1;
        }
        files.drain(..n).map(|(_, p)| p).collect()
    });
    let mut removed = 0;
    for p in covered {
        match rt::remove_file(&p).await {
            Ok(()) => removed += 1,
            Err(e) => tracing::warn!(file = %p.display(), error = %e, "cannot delete a covered log file"),
        }
    }
    // Older snapshots of this epoch. Listing the folder is a metadata read of a few entries.
    if let Ok(files) = list_dir(dir, begin.epoch) {
        for (seq, p) in files.snapshots {
            if seq < begin.covers_seq && rt::remove_file(&p).await.is_ok() {
                removed += 1;
            }
        }
    }
    if removed > 0 {
        let _ = rt::sync_dir(dir).await;
    }
    removed
}

/// Starts a snapshot in the background if the log has grown past the automatic threshold.
pub fn maybe_start_auto() {
    let due = state::with_shard(|s| {
        let Some(cfg) = s.wal.config() else { return false };
        cfg.auto_snapshot_bytes > 0 && !s.snapshot.running && s.wal.bytes_since_snapshot >= cfg.auto_snapshot_bytes
    });
    if due {
        rt::spawn_deferred(async {
            let _ = take().await;
        });
    }
}
