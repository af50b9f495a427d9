//! `orbit serve`: raise the locked-memory limit, prepare the data directory, check the port,
//! start the shards (each recovers its data from its snapshot and log, then binds the Redis
//! port with SO_REUSEPORT, so the kernel spreads connections over them), and stop cleanly on
//! SIGINT/SIGTERM (the log is written and synced before the process exits).

use crate::config::Config;
use anyhow::{bail, Context, Result};
use orbit_net::ServerConfig;
use orbit_shards::{mesh, recovery, rt, state, wal};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

pub fn run(cfg: Config, started: Instant) -> Result<()> {
    rt::raise_memlock().map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("data-dir: cannot create {}", cfg.data_dir.display()))?;
    for i in 0..cfg.shards {
        let d = cfg.data_dir.join(format!("shard-{i}"));
        std::fs::create_dir_all(&d).with_context(|| format!("data-dir: cannot create {}", d.display()))?;
    }
    let policy = match cfg.fsync {
        crate::config::Fsync::Always => wal::FsyncPolicy::Always,
        crate::config::Fsync::Everysec => wal::FsyncPolicy::EverySec,
        crate::config::Fsync::No => wal::FsyncPolicy::No,
    };
    let plan = recovery::StartPlan::decide(
        &cfg.data_dir,
        cfg.shards,
        cfg.repair,
        policy,
        cfg.log_file_bytes,
        cfg.snapshot_log_bytes,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let addr: SocketAddr = format!("{}:{}", cfg.bind, cfg.redis_port)
        .parse()
        .with_context(|| format!("bind: bad address {}:{}", cfg.bind, cfg.redis_port))?;
    // A plain bind (no SO_REUSEPORT) fails if anything holds the port, even a process that set
    // SO_REUSEPORT itself; the shards then bind with it.
    match std::net::TcpListener::bind(addr) {
        Ok(l) => drop(l),
        Err(e) => bail!("redis-port: cannot listen on {addr}: {e}"),
    }

    let pg_addr: SocketAddr = format!("{}:{}", cfg.bind, cfg.pg_port)
        .parse()
        .with_context(|| format!("bind: bad address {}:{}", cfg.bind, cfg.pg_port))?;
    match std::net::TcpListener::bind(pg_addr) {
        Ok(l) => drop(l),
        Err(e) => bail!("pg-port: cannot listen on {pg_addr}: {e}"),
    }
    let pg_cfg = Arc::new(cfg.pg.clone());

    let http_addr: SocketAddr = format!("{}:{}", cfg.bind, cfg.http_port)
        .parse()
        .with_context(|| format!("bind: bad address {}:{}", cfg.bind, cfg.http_port))?;
    match std::net::TcpListener::bind(http_addr) {
        Ok(l) => drop(l),
        Err(e) => bail!("http-port: cannot listen on {http_addr}: {e}"),
    }
    orbit_net::http::install_recorder().map_err(|e| anyhow::anyhow!(e))?;

    let signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM])
        .context("cannot install signal handlers")?;
    let signal_handle = signals.handle();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut signals = signals;
            if let Some(sig) = signals.forever().next() {
                tracing::info!(signal = sig, "shutdown requested");
                rt::request_shutdown();
                // The shards finish in-flight work and exit; if one cannot within 5 s, say so
                // and leave anyway rather than hang.
                std::thread::sleep(std::time::Duration::from_secs(5));
                tracing::error!("shards did not stop within 5 s of the signal; exiting");
                std::process::exit(1);
            }
        })
        .context("cannot start the signal thread")?;

    let server_cfg = ServerConfig {
        bind: cfg.bind.clone(),
        port: cfg.redis_port,
        dir: cfg.data_dir.display().to_string(),
        requirepass: cfg.requirepass.clone(),
        maxmemory: cfg.maxmemory,
        maxmemory_policy: cfg.maxmemory_policy,
        appendfsync: cfg.fsync.name().to_string(),
        ..ServerConfig::default()
    };
    let n = cfg.shards;
    let cpus = rt::available_cpus();
    let ends = Arc::new(std::sync::Mutex::new(mesh::build(n).into_iter().map(Some).collect::<Vec<_>>()));
    let listening = Arc::new(AtomicUsize::new(0));
    // Set once shard 0 has undone what a crash left of unfinished transactions' DDL: no shard
    // takes clients before (a client could see a table that is about to go).
    let settled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let data_dir = cfg.data_dir.clone();
    orbit_net::resp::commands::info::mark_start();
    let version = orbit_net::SERVER_VERSION;
    let (bind, port, fsync, http_port) = (cfg.bind.clone(), cfg.redis_port, cfg.fsync.name(), cfg.http_port);
    let pg_port = cfg.pg_port;
    let results = rt::run_shards(n, &cpus, move |id| {
        let ends = ends.clone();
        let listening = listening.clone();
        let settled = settled.clone();
        let server_cfg = server_cfg.clone();
        let data_dir = data_dir.clone();
        let bind = bind.clone();
        let plan = plan.clone();
        let pg_cfg = pg_cfg.clone();
        let shard_main = async move {
            let mut shard = state::Shard::new(id, n);
            shard.limits = orbit_shards::evict::Limits {
                maxmemory: server_cfg.maxmemory,
                policy: server_cfg.maxmemory_policy,
                samples: server_cfg.maxmemory_samples,
            };
            state::install(shard);
            // SQL evaluated inside a mesh job (a shard's part of a grouped query) names
            // relations from a directory built before the job, as the catalog is then.
            state::set_before_job(orbit_query::regtypes::refresh_if_stale);
            orbit_net::resp::state::install(server_cfg.clone());
            let my_ends = ends.lock().map_err(|_| "mesh lock poisoned".to_string())?[id]
                .take()
                .ok_or_else(|| "mesh ends taken twice".to_string())?;
            mesh::join(my_ends).await;
            tracing::debug!(shard = id, "mesh joined");
            // The probe file must be this executor's first DMA file (see rt::probe_dma).
            rt::probe_dma(&data_dir.join(format!("shard-{id}"))).await.map_err(|e| e.to_string())?;
            tracing::debug!(shard = id, "storage probed");
            // The operator endpoint answers during recovery (/health 200, /ready 503), so
            // probes can tell a server that is loading from one that is down. Recovery yields
            // to it at least every preemption period (10 ms).
            if id == 0 {
                let http = rt::listen_shared(http_addr).map_err(|e| format!("http-port: cannot listen on {http_addr}: {e}"))?;
                rt::spawn(orbit_net::http::serve(http));
            }
            let committer = recovery::start_shard(id, &plan).await?;
            if id == 0 {
                // Every shard has recovered: undo the DDL of transactions a crash ended (what
                // they created first, then the DROP TABLEs they hid); then every sequence's
                // catalog entry follows its row.
                orbit_query::undo_unfinished_ddl().await;
                orbit_query::restore_hidden().await;
                orbit_query::sequence::settle_entries().await;
                // No temporary table outlives its server (a crash or kill -9 left these).
                orbit_query::temp_tables::drop_leftovers().await;
                // Comments of objects a crash dropped go too.
                orbit_query::comment::sweep().await;
                settled.store(true, Ordering::SeqCst);
            }
            while !settled.load(Ordering::SeqCst) {
                rt::sleep(std::time::Duration::from_millis(2)).await;
            }
            let listener = rt::listen_shared(addr).map_err(|e| format!("redis-port: cannot listen on {addr}: {e}"))?;
            // Every shard accepts PostgreSQL connections too (SO_REUSEPORT, like the Redis port).
            let pg = rt::listen_shared(pg_addr).map_err(|e| format!("pg-port: cannot listen on {pg_addr}: {e}"))?;
            rt::spawn(orbit_net::pg::serve(pg, pg_cfg));
            rt::spawn(orbit_shards::expire::run(server_cfg.hz));
            rt::spawn(orbit_net::resp::idle::run());
            if listening.fetch_add(1, Ordering::SeqCst) + 1 == n {
                orbit_net::http::set_ready();
                tracing::info!(
                    "Orbit {version} ready in {} ms: redis {bind}:{port}, postgresql {bind}:{pg_port}, http {bind}:{http_port}, {n} shards, data {}, fsync {fsync}",
                    started.elapsed().as_millis(),
                    data_dir.display()
                );
            }
            orbit_net::resp::serve(listener).await;
            if let Err(e) = wal::sync_now().await {
                tracing::error!(shard = id, error = %e, "final log sync failed");
            }
            wal::stop();
            if let Some(c) = committer {
                c.await;
            }
            Ok::<(), String>(())
        };
        async move {
            let r = shard_main.await;
            if r.is_err() {
                // One shard failing to start stops the others.
                rt::request_shutdown();
            }
            r
        }
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    signal_handle.close();
    for r in results {
        if let Err(e) = r {
            rt::request_shutdown();
            bail!("{e}");
        }
    }
    tracing::info!("Orbit stopped");
    Ok(())
}
