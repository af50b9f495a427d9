//! SAVE, BGSAVE, LASTSAVE and the `# Persistence` section of INFO. Snapshots are per shard
//! ([`orbit_shards::snapshot`]): SAVE runs one on every shard and replies once all are on disk
//! (the shards keep serving meanwhile, unlike Redis's blocking SAVE); BGSAVE starts them and
//! replies at once.

use bytes::Bytes;
use futures::channel::oneshot;
use orbit_engine::reply::Reply;
use orbit_shards::{mesh, rt, snapshot};
use std::fmt::Write;

/// Starts a snapshot on every shard; the receivers resolve when each is done.
async fn start_all() -> Result<Vec<oneshot::Receiver<Result<u64, String>>>, Reply> {
    mesh::run_on_all(|_| {
        let (tx, rx) = oneshot::channel();
        // Runs inside the shard's state borrow: the task must start later.
        rt::spawn_deferred(async move {
            let _ = tx.send(snapshot::take().await);
        });
        rx
    })
    .await
    .map_err(|e| Reply::err(format!("ERR {e}")))
}

async fn any_running() -> Result<bool, Reply> {
    let running = mesh::run_on_all(|s| s.snapshot.running).await.map_err(|e| Reply::err(format!("ERR {e}")))?;
    Ok(running.into_iter().any(|r| r))
}

const IN_PROGRESS: &str = "ERR Background save already in progress";

pub async fn save() -> Reply {
    match any_running().await {
        Ok(true) => return Reply::err(IN_PROGRESS),
        Ok(false) => {}
        Err(e) => return e,
    }
    let rxs = match start_all().await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut first_err = None;
    for rx in rxs {
        match rx.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(_) => {
                first_err.get_or_insert_with(|| "ERR snapshot task stopped".to_string());
            }
        }
    }
    match first_err {
        None => Reply::Ok,
        Some(e) => Reply::err(e),
    }
}

pub async fn bgsave(args: &[Bytes]) -> Reply {
    let schedule = match args.get(1) {
        None => false,
        Some(a) if a.eq_ignore_ascii_case(b"schedule") && args.len() == 2 => true,
        Some(_) => return Reply::err(orbit_engine::reply::errors::SYNTAX),
    };
    match any_running().await {
        Ok(true) if schedule => return Reply::simple("Background saving scheduled"),
        Ok(true) => return Reply::err(IN_PROGRESS),
        Ok(false) => {}
        Err(e) => return e,
    }
    match start_all().await {
        Ok(_) => Reply::simple("Background saving started"),
        Err(e) => e,
    }
}

/// The Unix time of the last snapshot that completed on every shard (start time before one).
pub async fn lastsave() -> Reply {
    match mesh::run_on_all(|s| s.snapshot.last_save_s).await {
        Ok(times) => Reply::Int(times.into_iter().min().unwrap_or(0) as i64),
        Err(e) => Reply::err(format!("ERR {e}")),
    }
}

/// The `# Persistence` section of INFO, with Orbit's log and group-commit counters.
pub async fn info_section(dirty: u64) -> String {
    let per_shard = mesh::run_on_all(|s| {
        (
            s.snapshot.running,
            s.snapshot.last_save_s,
            s.snapshot.last_error.is_none(),
            s.snapshot.last_duration_ms,
            s.wal.stats.clone(),
            s.wal.failed.clone(),
            s.wal.last_seq(),
        )
    })
    .await
    .unwrap_or_default();
    let running = per_shard.iter().any(|p| p.0);
    let last_save = per_shard.iter().map(|p| p.1).min().unwrap_or(0);
    let ok = per_shard.iter().all(|p| p.2);
    let last_ms = per_shard.iter().map(|p| p.3).max().unwrap_or(0);
    let write_ok = per_shard.iter().all(|p| p.5.is_none());
    let mut o = String::new();
    let _ = write!(
        o,
        "# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:{dirty}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{last_save}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\naof_enabled:1\r\naof_last_write_status:{}\r\n",
        u8::from(running),
        if ok { "ok" } else { "err" },
        last_ms / 1000,
        if write_ok { "ok" } else { "err" },
    );
    for (i, p) in per_shard.iter().enumerate() {
        let _ = write!(o, "shard{i}_log_last_seq:{}\r\nshard{i}_log_group_commit:{}\r\n", p.6, p.4.summary());
    }
    o.push_str("\r\n");
    o
}
