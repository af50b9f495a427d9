//! Start-up recovery of a shard: load the newest complete snapshot, replay the log records after
//! it, cut a torn tail off the newest log file (and say so), and refuse to start on damage in
//! the middle, naming the file and offset (`orbit serve --repair` truncates there instead).
//! Rules and file names: docs/DURABILITY.md.
//!
//! Also the data directory's `LAYOUT` file (shard count and epoch) and re-sharding: when
//! `--shards` changed, every new shard replays every old shard's files and keeps the keys it
//! owns, writes them as a snapshot of the new epoch, and only once all have done so is the new
//! layout committed and the old files deleted. A crash at any point leaves either the old
//! layout (re-sharding runs again) or the new one complete.
//!
//! Start-up runs before any shard serves anything, so the plain blocking file calls here stall
//! no request.

use crate::rt;
use orbit_engine::keyspace::{now_ms, Keyspace};
use orbit_engine::log::{frame, record, replay, End, Kind, Record};
use orbit_engine::table::Tables;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bytes read from a file at a time. Each window is replayed in one go before the shard may
/// yield, so this bounds the reactor stall during recovery (the HTTP endpoint answers /health
/// and /ready meanwhile): about 10 ms at release-build replay speed.
const READ_WINDOW_BYTES: usize = 1 << 20;

/// The data directory's shape: how many shards wrote it, and its epoch (bumped by each
/// re-sharding, and part of every file name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub shards: usize,
    pub epoch: u64,
}

const LAYOUT_FILE: &str = "LAYOUT";

pub fn shard_dir(data_dir: &Path, shard: usize) -> PathBuf {
    data_dir.join(format!("shard-{shard}"))
}

/// Reads `<data-dir>/LAYOUT`. None: no layout yet.
pub fn read_layout(data_dir: &Path) -> Result<Option<Layout>, String> {
    let path = data_dir.join(LAYOUT_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut shards = None;
    let mut epoch = None;
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("shards", v)) => shards = v.trim().parse::<usize>().ok(),
            Some(("epoch", v)) => epoch = v.trim().parse::<u64>().ok(),
            _ => {}
        }
    }
    match (shards, epoch) {
        (Some(shards), Some(epoch)) if shards > 0 => Ok(Some(Layout { shards, epoch })),
        _ => Err(format!("{}: not a valid layout file: {text:?}", path.display())),
    }
}

/// Writes the layout atomically: temp file, fsync, rename, fsync the directory. Called before
/// any shard runs (first start) or by shard 0 between re-sharding barriers.
pub fn write_layout(data_dir: &Path, layout: Layout) -> Result<(), String> {
    use std::io::Write;
    let tmp = data_dir.join("LAYOUT.tmp");
    let path = data_dir.join(LAYOUT_FILE);
    let io = |e: std::io::Error| format!("{}: {e}", tmp.display());
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(format!("shards {}\nepoch {}\n", layout.shards, layout.epoch).as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    std::fs::File::open(data_dir).and_then(|d| d.sync_all()).map_err(|e| format!("{}: {e}", data_dir.display()))?;
    Ok(())
}

/// Data files found in a shard folder.
#[derive(Debug, Default)]
pub struct DirFiles {
    /// (covers_seq, path), oldest first.
    pub snapshots: Vec<(u64, PathBuf)>,
    /// (first_seq, path), oldest first.
    pub logs: Vec<(u64, PathBuf)>,
    /// Files of other epochs and leftover temp files.
    pub stale: Vec<PathBuf>,
}

fn parse_name(name: &str, prefix: &str, suffix: &str) -> Option<(u64, u64)> {
    let mid = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    let (epoch, seq) = mid.split_once('-')?;
    Some((epoch.parse().ok()?, u64::from_str_radix(seq, 16).ok()?))
}

/// Lists the data files of epoch `epoch` in `dir`.
pub fn list_dir(dir: &Path, epoch: u64) -> Result<DirFiles, String> {
    let mut out = DirFiles::default();
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    for ent in rd {
        let ent = ent.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = ent.file_name().to_string_lossy().to_string();
        let path = ent.path();
        if name.ends_with(".tmp") {
            out.stale.push(path);
        } else if let Some((e, seq)) = parse_name(&name, "snap-", ".snap") {
            if e == epoch {
                out.snapshots.push((seq, path));
            } else {
                out.stale.push(path);
            }
        } else if let Some((e, seq)) = parse_name(&name, "wal-", ".log") {
            if e == epoch {
                out.logs.push((seq, path));
            } else {
                out.stale.push(path);
            }
        }
    }
    out.snapshots.sort();
    out.logs.sort();
    Ok(out)
}

/// True if any shard folder under `data_dir` holds a log or snapshot file (of any epoch).
pub fn has_data(data_dir: &Path) -> bool {
    let Ok(rd) = std::fs::read_dir(data_dir) else {
        return false;
    };
    rd.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("shard-")).any(|d| {
        std::fs::read_dir(d.path())
            .map(|files| {
                files.flatten().any(|f| {
                    let n = f.file_name().to_string_lossy().to_string();
                    (n.starts_with("wal-") && n.ends_with(".log")) || (n.starts_with("snap-") && n.ends_with(".snap"))
                })
            })
            .unwrap_or(false)
    })
}

/// What recovering one shard folder found.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub snapshot: Option<PathBuf>,
    pub snapshot_keys: u64,
    pub snapshot_bytes: u64,
    pub log_files: usize,
    pub log_records: u64,
    pub log_bytes: u64,
    pub expired_on_load: usize,
    pub torn: Option<String>,
    pub elapsed: Duration,
}

pub struct Recovered {
    pub keyspace: Keyspace,
    /// The SQL catalog and this shard's rows.
    pub tables: Tables,
    /// The last sequence number in the log (or the snapshot's): the log continues after it.
    pub last_seq: u64,
    /// Log files still needed (not covered by the snapshot).
    pub logs: Vec<(u64, PathBuf)>,
    pub report: Report,
}

/// What to do about damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Cut a torn tail; stop on damage in the middle.
    Normal,
    /// Cut a torn tail; truncate at damage in the middle and set later log files aside.
    Repair,
    /// Re-sharding reads another shard's files: change nothing; a torn tail ends the log,
    /// damage in the middle is an error.
    ReadOnly,
}

/// Reads the frames of a file in windows, calling `f` for each. Returns how the file ends
/// (offset absolute) and the file size.
///
/// Start-up reads with plain blocking reads: the shard serves nothing yet (every shard waits
/// for all to finish recovery), and glommio's DMA reads were seen to hang forever in the
/// polled ring on this kernel's virtio disks when issued right after the probe.
async fn scan_file(
    path: &Path,
    first_seq: Option<u64>,
    mut f: impl FnMut(frame::Frame<'_>) -> Result<(), String>,
) -> Result<(End, u64), String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let size = file.metadata().map_err(|e| format!("{}: {e}", path.display()))?.len();
    let mut base = 0u64;
    let mut buf: Vec<u8> = Vec::new();
    let mut want = READ_WINDOW_BYTES;
    let mut expect = first_seq;
    loop {
        // Fill the window up to `want` bytes.
        let pos = base + buf.len() as u64;
        if buf.len() < want && pos < size {
            let n = (want - buf.len()).min((size - pos) as usize);
            file.seek(SeekFrom::Start(pos)).map_err(|e| format!("{}: {e}", path.display()))?;
            let start = buf.len();
            buf.resize(start + n, 0);
            file.read_exact(&mut buf[start..]).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let at_eof = base + buf.len() as u64 >= size;
        let mut next = expect;
        let end = frame::scan(&buf, expect, |fr| {
            next = Some(fr.seq + 1);
            f(fr)
        })?;
        expect = next;
        if let End::Clean { offset } = end {
            // Zero padding before the end of the window: a log file prepared full of zeros
            // (`wal::Spare`) ends here if the rest of it is zeros too; look at that directly
            // rather than growing the window over it.
            if !at_eof && offset < buf.len() && rest_is_zero(&mut file, base + buf.len() as u64, size, path)? {
                return Ok((End::Clean { offset: base as usize + offset }, size));
            }
        }
        if at_eof {
            let b = base as usize;
            return Ok((
                match end {
                    End::Clean { offset } => End::Clean { offset: b + offset },
                    End::Torn { offset, reason } => End::Torn { offset: b + offset, reason },
                    End::Corrupt { offset, reason } => End::Corrupt { offset: b + offset, reason },
                },
                size,
            ));
        }
        let used = end.offset();
        if used == 0 {
            // Not one whole frame in the window: widen it (a large record, or damage whose
            // nature only the rest of the file tells).
            want = want.saturating_mul(2);
        } else {
            buf.drain(..used);
            base += used as u64;
            want = READ_WINDOW_BYTES.max(buf.len() + 1);
        }
        rt::yield_if_needed().await;
    }
}

/// Whether the file holds only zero bytes from `from` to `size`.
fn rest_is_zero(file: &mut std::fs::File, from: u64, size: u64, path: &Path) -> Result<bool, String> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(from)).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut chunk = vec![0u8; READ_WINDOW_BYTES];
    let mut pos = from;
    while pos < size {
        let n = chunk.len().min((size - pos) as usize);
        file.read_exact(&mut chunk[..n]).map_err(|e| format!("{}: {e}", path.display()))?;
        if chunk[..n].iter().any(|&b| b != 0) {
            return Ok(false);
        }
        pos += n as u64;
    }
    Ok(true)
}

/// Loads a snapshot file into `ks` and `tables`. Returns (covers_seq, keys, bytes). A snapshot
/// without its end record, or with any damage, is an error (snapshots are renamed into place
/// only once complete and synced).
async fn load_snapshot(path: &Path, ks: &mut Keyspace, tables: &mut Tables) -> Result<(u64, u64, u64), String> {
    let mut begin = None;
    let mut end_keys = None;
    let mut keys = 0u64;
    // Data records: the end record counts Redis keys and table records alike.
    let mut records = 0u64;
    let mut rng = SmallRng::seed_from_u64(0);
    let (end, size) = scan_file(path, Some(0), |fr| {
        if end_keys.is_some() {
            return Err(format!("record after the snapshot's end at offset {}", fr.offset));
        }
        let rec = record::decode(fr.kind, fr.body).map_err(|e| format!("offset {}: {e}", fr.offset))?;
        match rec {
            Record::SnapshotBegin(b) if begin.is_none() => begin = Some(b),
            _ if begin.is_none() => return Err("snapshot does not start with its header".into()),
            Record::SnapshotEnd { keys: k } => end_keys = Some(k),
            r @ (Record::RedisPut { .. }
            | Record::TableCreate { .. }
            | Record::TableDrop { .. }
            | Record::RowPut { .. }
            | Record::TxnPrepare { .. }
            | Record::TxnCommit { .. }) => {
                keys += matches!(r, Record::RedisPut { .. }) as u64;
                records += 1;
                replay::apply(ks, tables, &mut rng, r).map_err(|e| format!("offset {}: {e}", fr.offset))?;
            }
            other => return Err(format!("unexpected {:?} record in a snapshot", other.kind())),
        }
        Ok(())
    })
    .await
    .map_err(|e| format!("snapshot {}: {e}", path.display()))?;
    if !matches!(end, End::Clean { .. }) {
        return Err(format!("snapshot {}: {end}", path.display()));
    }
    let Some(begin) = begin else {
        return Err(format!("snapshot {}: empty", path.display()));
    };
    if end_keys != Some(records) {
        return Err(format!(
            "snapshot {}: incomplete ({records} records, end record says {end_keys:?})",
            path.display()
        ));
    }
    Ok((begin.covers_seq, keys, size))
}

async fn set_aside(path: &Path) -> Result<(), String> {
    let to = path.with_extension("log.damaged");
    std::fs::rename(path, &to).map_err(|e| format!("{}: {e}", path.display()))?;
    tracing::warn!(file = %path.display(), moved_to = %to.display(), "repair: log file after the damage set aside");
    Ok(())
}

async fn truncate(path: &Path, at: u64) -> Result<(), String> {
    let io = |e: std::io::Error| format!("{}: {e}", path.display());
    let f = std::fs::OpenOptions::new().write(true).open(path).map_err(io)?;
    f.set_len(at).map_err(io)?;
    f.sync_all().map_err(io)
}

/// Recovers the state of the shard folder `dir` at `epoch`.
pub async fn recover_dir(dir: &Path, epoch: u64, mode: Mode) -> Result<Recovered, String> {
    let started = Instant::now();
    let files = list_dir(dir, epoch)?;
    let mut report = Report::default();
    let mut ks = Keyspace::new();
    let mut tables = Tables::new();
    let mut covers = 0u64;
    // Newest snapshot that loads completely; a damaged one falls back to the one before it
    // (whose log files are kept until a newer snapshot is complete, so the gap check below
    // tells whether that is enough).
    for (seq, path) in files.snapshots.iter().rev() {
        let mut candidate = Keyspace::new();
        let mut candidate_tables = Tables::new();
        match load_snapshot(path, &mut candidate, &mut candidate_tables).await {
            Ok((c, keys, bytes)) => {
                tables = candidate_tables;
                if c != *seq {
                    tracing::warn!(file = %path.display(), "snapshot name and header disagree; using the header");
                }
                ks = candidate;
                covers = c;
                report.snapshot = Some(path.clone());
                report.snapshot_keys = keys;
                report.snapshot_bytes = bytes;
                break;
            }
            Err(e) if mode == Mode::Repair => tracing::error!("{e}; trying an older snapshot"),
            Err(e) => return Err(format!("{e} (start with --repair to fall back to an older snapshot)")),
        }
    }
    let mut rng = SmallRng::seed_from_u64(0);
    let mut last = covers;
    let logs = &files.logs;
    let mut keep: Vec<(u64, PathBuf)> = Vec::new();
    let mut i = 0;
    while i < logs.len() {
        let (first, path) = &logs[i];
        let next_first = logs.get(i + 1).map(|(s, _)| *s);
        i += 1;
        // Wholly covered by the snapshot: not needed.
        if next_first.is_some_and(|n| n <= covers + 1) {
            continue;
        }
        if *first > last + 1 {
            return Err(format!(
                "log {} starts at record {first} but the last record before it is {last}: records are missing",
                path.display()
            ));
        }
        keep.push((*first, path.clone()));
        report.log_files += 1;
        let mut applied = 0u64;
        let (end, size) = scan_file(path, Some(*first), |fr| {
            if fr.seq <= covers {
                return Ok(());
            }
            let rec = record::decode(fr.kind, fr.body).map_err(|e| format!("offset {}: {e}", fr.offset))?;
            if fr.kind != Kind::LogHeader {
                replay::apply(&mut ks, &mut tables, &mut rng, rec).map_err(|e| format!("offset {}: {e}", fr.offset))?;
            }
            last = fr.seq;
            applied += 1;
            Ok(())
        })
        .await
        .map_err(|e| format!("log {}: {e}", path.display()))?;
        report.log_records += applied;
        report.log_bytes += size;
        let is_last = i == logs.len();
        match end {
            End::Clean { offset } => {
                if (offset as u64) < size && mode != Mode::ReadOnly {
                    // Zero padding after the last record (a crash before the close cut it).
                    truncate(path, offset as u64).await?;
                }
            }
            End::Torn { offset, reason } if is_last => {
                let msg = format!("{}: torn record at offset {offset} ({reason}); cut off", path.display());
                tracing::warn!("{msg}");
                report.torn = Some(msg);
                if mode != Mode::ReadOnly {
                    truncate(path, offset as u64).await?;
                }
            }
            End::Torn { offset, reason } | End::Corrupt { offset, reason } => {
                let msg = format!("log {}: bad record at offset {offset}: {reason}", path.display());
                if mode != Mode::Repair {
                    return Err(format!("{msg} (start with --repair to truncate the log there)"));
                }
                tracing::error!("{msg}; --repair: truncating there and setting later log files aside");
                truncate(path, offset as u64).await?;
                for (_, later) in &logs[i..] {
                    set_aside(later).await?;
                }
                break;
            }
        }
    }
    report.expired_on_load = ks.purge_expired(now_ms());
    report.elapsed = started.elapsed();
    Ok(Recovered { keyspace: ks, tables, last_seq: last, logs: keep, report })
}

/// A start-up barrier across shards (re-sharding steps). Gives up when shutdown is requested
/// (another shard failed).
#[derive(Debug)]
pub struct Barrier {
    count: AtomicUsize,
    shards: usize,
}

impl Barrier {
    pub fn new(shards: usize) -> Arc<Barrier> {
        Arc::new(Barrier { count: AtomicUsize::new(0), shards })
    }

    /// Waits until every shard has arrived at step `step` (0, 1, ...).
    pub async fn wait(&self, step: usize) -> Result<(), String> {
        self.count.fetch_add(1, Ordering::SeqCst);
        let target = (step + 1) * self.shards;
        while self.count.load(Ordering::SeqCst) < target {
            if rt::shutdown_requested() {
                return Err("start-up aborted".into());
            }
            rt::sleep(Duration::from_millis(1)).await;
        }
        Ok(())
    }
}

/// What start-up does with the data directory, decided once before the shards start.
#[derive(Debug, Clone)]
pub struct StartPlan {
    pub data_dir: PathBuf,
    pub shards: usize,
    /// Set when the shard count changed: the layout the files were written with.
    pub reshard_from: Option<Layout>,
    /// The layout this run writes.
    pub layout: Layout,
    pub repair: bool,
    pub policy: crate::wal::FsyncPolicy,
    pub roll_bytes: u64,
    pub auto_snapshot_bytes: u64,
    /// Re-sharding steps.
    pub barrier: Arc<Barrier>,
    /// Every shard has recovered: only then may any shard take commands, which may reach
    /// any other shard's keyspace through the mesh.
    pub recovered: Arc<Barrier>,
    /// Shard 0's catalog after its replay ([`Tables::catalog_view`]), published for the other
    /// shards to settle staging tables of an ALTER TABLE and the CREATE, DROP or RENAME that a
    /// crash interrupted.
    pub owner_catalog: Arc<std::sync::OnceLock<Vec<orbit_engine::table::CatalogEntry>>>,
    /// Shard 0 has published `owner_catalog`.
    pub catalog_published: Arc<Barrier>,
    /// The newest catalog generation any shard replayed: shard 0 hands out generations above
    /// it, even one whose record shard 0 itself lost in a crash (a DDL record another shard
    /// made durable first), so no generation (nor staging table name) is handed out twice.
    pub generation_seen: Arc<std::sync::atomic::AtomicU64>,
    /// Each shard's two-phase commit decisions after its replay (sorted), published before
    /// `catalog_published` for the shards that found parts prepared without their resolution.
    pub decisions: Arc<Vec<std::sync::OnceLock<Vec<u64>>>>,
    /// The largest transaction id any shard's recovered state names: ids of this run start
    /// above it.
    pub txid_seen: Arc<std::sync::atomic::AtomicU64>,
}

impl StartPlan {
    /// Reads (or, on a fresh directory, writes) the layout and decides. Runs before any
    /// shard starts.
    #[allow(clippy::too_many_arguments)]
    pub fn decide(
        data_dir: &Path,
        shards: usize,
        repair: bool,
        policy: crate::wal::FsyncPolicy,
        roll_bytes: u64,
        auto_snapshot_bytes: u64,
    ) -> Result<StartPlan, String> {
        let (reshard_from, layout) = match read_layout(data_dir)? {
            None => {
                if has_data(data_dir) {
                    return Err(format!(
                        "data-dir {} holds log files but no LAYOUT file (written by another program, or \
                         LAYOUT was deleted): restore it as `shards N` and `epoch E` lines",
                        data_dir.display()
                    ));
                }
                let l = Layout { shards, epoch: 0 };
                write_layout(data_dir, l)?;
                (None, l)
            }
            Some(l) if l.shards == shards => (None, l),
            Some(l) => {
                tracing::info!(from = l.shards, to = shards, "shard count changed: re-sharding the data directory");
                (Some(l), Layout { shards, epoch: l.epoch + 1 })
            }
        };
        Ok(StartPlan {
            data_dir: data_dir.to_path_buf(),
            shards,
            reshard_from,
            layout,
            repair,
            policy,
            roll_bytes,
            auto_snapshot_bytes,
            barrier: Barrier::new(shards),
            recovered: Barrier::new(shards),
            owner_catalog: Arc::new(std::sync::OnceLock::new()),
            catalog_published: Barrier::new(shards),
            generation_seen: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            decisions: Arc::new((0..shards).map(|_| std::sync::OnceLock::new()).collect()),
            txid_seen: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        })
    }
}

async fn remove_all(paths: &[PathBuf]) -> Result<(), String> {
    for p in paths {
        std::fs::remove_file(p).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}

/// Removes the folders of shards beyond the current count (left by a re-sharding to fewer).
async fn remove_extra_dirs(plan: &StartPlan) -> Result<(), String> {
    let Ok(rd) = std::fs::read_dir(&plan.data_dir) else {
        return Ok(());
    };
    for ent in rd.flatten() {
        let name = ent.file_name().to_string_lossy().to_string();
        let Some(j) = name.strip_prefix("shard-").and_then(|n| n.parse::<usize>().ok()) else {
            continue;
        };
        if j < plan.shards {
            continue;
        }
        let files = list_dir(&ent.path(), plan.layout.epoch)?;
        if !files.logs.is_empty() || !files.snapshots.is_empty() {
            return Err(format!("{} holds files of the current layout but is beyond --shards", ent.path().display()));
        }
        remove_all(&files.stale).await?;
        // The probe file and any leftovers go with the folder.
        std::fs::remove_dir_all(ent.path()).map_err(|e| format!("{}: {e}", ent.path().display()))?;
    }
    Ok(())
}

/// Recovers shard `id` per `plan`, installs its keyspace and log in the shard state, and
/// starts its log committer (whose task the caller awaits after [`crate::wal::stop`]).
pub async fn start_shard(id: usize, plan: &StartPlan) -> Result<Option<rt::Task<()>>, String> {
    let dir = shard_dir(&plan.data_dir, id);
    let n = plan.shards;
    let (ks, mut tables, last_seq, logs) = match plan.reshard_from {
        None => {
            let mode = if plan.repair { Mode::Repair } else { Mode::Normal };
            let r = recover_dir(&dir, plan.layout.epoch, mode).await.map_err(|e| format!("shard {id}: {e}"))?;
            log_report(id, &r.report);
            remove_all(&list_dir(&dir, plan.layout.epoch)?.stale).await?;
            if id == 0 {
                remove_extra_dirs(plan).await?;
            }
            (r.keyspace, r.tables, r.last_seq, r.logs)
        }
        Some(old) => {
            let started = Instant::now();
            // Leftovers of an earlier attempt that did not commit its layout.
            let mine = list_dir(&dir, plan.layout.epoch)?;
            remove_all(&mine.snapshots.iter().chain(mine.logs.iter()).map(|(_, p)| p.clone()).collect::<Vec<_>>())
                .await?;
            let mut ks = Keyspace::new();
            let mut tables = Tables::new();
            let mut owner = Vec::new();
            // Two-phase commit parts the old shards left prepared, and the old coordinators'
            // decisions: settled once every old shard is read.
            let mut old_parts = Vec::new();
            let mut old_decisions = std::collections::BTreeMap::new();
            for j in 0..old.shards {
                let mut r = recover_dir(&shard_dir(&plan.data_dir, j), old.epoch, Mode::ReadOnly)
                    .await
                    .map_err(|e| format!("re-sharding, reading old shard {j}: {e}"))?;
                if j == 0 {
                    owner = r.tables.catalog_view();
                }
                // Staging tables of an interrupted ALTER TABLE: settled as the owner decided
                // before the rows move (the new snapshot then holds the outcome).
                settle_staging_in(&mut r.tables, &owner);
                let in_doubt = std::mem::take(&mut r.tables.in_doubt);
                plan.txid_seen.fetch_max(in_doubt.max_txid, Ordering::SeqCst);
                old_decisions.insert(j as u32, in_doubt.decided);
                old_parts.extend(in_doubt.prepared);
                if j == 0 {
                    // The catalog owner's catalog is the catalog (every shard holds a copy).
                    tables = catalog_of(&r.tables);
                }
                for name in r.tables.names() {
                    let (Some(from), Some(to)) = (r.tables.get(name), tables.get_mut(name)) else { continue };
                    for (k, row) in from.scan() {
                        if crate::route::shard_for_row(k, n) == id {
                            to.put(k.clone(), row.clone());
                        }
                    }
                }
                for (db, d) in r.keyspace.dbs.into_iter().enumerate() {
                    for (k, e) in d.into_entries() {
                        if crate::shard_for(&k, n) == id {
                            ks.dbs[db].set_entry(k, e);
                        }
                    }
                }
            }
            crate::twophase::settle_into(
                &mut tables,
                old_parts,
                |c, txid| old_decisions.get(&c).is_some_and(|d| d.contains(&txid)),
                |k| crate::route::shard_for_row(k, n) == id,
            );
            let begin = orbit_engine::log::SnapshotBegin {
                shard: id as u32,
                shards: n as u32,
                epoch: plan.layout.epoch,
                covers_seq: 0,
                created_ms: now_ms(),
            };
            crate::snapshot::write_keyspace(&dir, begin, &ks, &tables)
                .await
                .map_err(|e| format!("re-sharding: {e}"))?;
            plan.barrier.wait(0).await?;
            if id == 0 {
                write_layout(&plan.data_dir, plan.layout)?;
            }
            plan.barrier.wait(1).await?;
            remove_all(&list_dir(&dir, plan.layout.epoch)?.stale).await?;
            if id == 0 {
                remove_extra_dirs(plan).await?;
            }
            tracing::info!(
                shard = id,
                keys = ks.total_keys(),
                tables = tables.len(),
                ms = started.elapsed().as_millis() as u64,
                "re-sharded from {} to {n} shards",
                old.shards
            );
            (ks, tables, 0, Vec::new())
        }
    };
    let cfg = crate::wal::WalConfig {
        dir,
        policy: plan.policy,
        roll_bytes: plan.roll_bytes,
        epoch: plan.layout.epoch,
        auto_snapshot_bytes: plan.auto_snapshot_bytes,
    };
    // Shard 0's catalog decides what happens to staging tables a crash left (ALTER TABLE's
    // commit point is shard 0's swap record).
    if id == 0 {
        let _ = plan.owner_catalog.set(tables.catalog_view());
    }
    plan.generation_seen.fetch_max(tables.generation_seen(), Ordering::SeqCst);
    let _ = plan.decisions[id].set(crate::twophase::decisions_of(&tables.in_doubt));
    plan.txid_seen.fetch_max(tables.in_doubt.max_txid, Ordering::SeqCst);
    plan.catalog_published.wait(0).await?;
    crate::tx::note_id_seen(plan.txid_seen.load(Ordering::SeqCst));
    // The generations above every shard's newest are the catalog fixes' (below); shard 0
    // hands out generations above those.
    let fix_base = plan.generation_seen.load(Ordering::SeqCst) + 1;
    if id == 0 {
        tables.note_generation(fix_base + crate::tables::CATALOG_FIX_GENERATIONS);
    }
    let Some(owner) = plan.owner_catalog.get() else {
        return Err("start-up aborted: shard 0 published no catalog".into());
    };
    let outcomes = tables.staging_outcomes(owner);
    let decided = |c: u32, txid: u64| {
        plan.decisions.get(c as usize).and_then(|d| d.get()).is_some_and(|d| d.binary_search(&txid).is_ok())
    };
    let settled = crate::state::with_shard(|s| {
        s.keyspace = ks;
        s.tables = tables;
        s.wal = crate::wal::Wal::new(cfg, id, n, last_seq, logs);
        s.snapshot.last_save_s = now_ms() / 1000;
        crate::tables::settle_staging(s, outcomes);
        // After the staging tables: a swap gives its table the staging table's OID.
        let fixes = if id == 0 { Vec::new() } else { s.tables.catalog_fixes(owner) };
        crate::tables::settle_catalog(s, fixes, fix_base) + crate::twophase::settle(s, decided)
    });
    let committer = rt::spawn_task(crate::wal::run_committer());
    if settled > 0 {
        // Every settled part's record (and catalog fix) is durable before any coordinator
        // forgets a decision.
        crate::wal::sync_now().await.map_err(|e| format!("shard {id}: settling cross-shard transactions: {e}"))?;
    }
    plan.recovered.wait(0).await?;
    // Every shard has settled its parts durably: no recovery will ask for these decisions.
    crate::state::with_shard(|s| s.tables.in_doubt.decided.clear());
    Ok(Some(committer))
}

/// Settles staging tables in `t` without logging (re-sharding writes the result as a snapshot).
fn settle_staging_in(t: &mut Tables, owner: &[orbit_engine::table::CatalogEntry]) {
    for o in t.staging_outcomes(owner) {
        match o {
            orbit_engine::table::StagingOutcome::Commit { staging, generation } => {
                tracing::info!(table = %staging.replace('\0', "#"), "re-sharding: completing an interrupted ALTER TABLE");
                t.swap_in(&staging, generation);
            }
            orbit_engine::table::StagingOutcome::Abort { staging, generation } => {
                tracing::info!(table = %staging.replace('\0', "#"), "re-sharding: undoing an interrupted ALTER TABLE");
                t.drop_table(&staging, generation);
            }
        }
    }
}

/// The catalog of `t` (definitions and generations, dropped names included) without its rows.
fn catalog_of(t: &Tables) -> Tables {
    let mut out = Tables::new();
    for (name, generation, table) in t.catalog() {
        out.note_generation(generation);
        match table {
            Some(table) => {
                out.create(table.def.clone(), generation);
            }
            None => {
                out.drop_table(name, generation);
            }
        }
    }
    out
}

fn log_report(id: usize, r: &Report) {
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    tracing::info!(
        shard = id,
        snapshot = %r.snapshot.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "none".into()),
        snapshot_keys = r.snapshot_keys,
        log_files = r.log_files,
        log_records = r.log_records,
        log_mb = format!("{:.1}", r.log_bytes as f64 / 1e6),
        expired_on_load = r.expired_on_load,
        ms = r.elapsed.as_millis() as u64,
        mb_per_s = format!("{:.1}", (r.log_bytes + r.snapshot_bytes) as f64 / 1e6 / secs),
        keys_per_s = format!("{:.0}", r.snapshot_keys as f64 / secs),
        "recovered"
    );
}
