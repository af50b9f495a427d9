//! The HTTP endpoint for operators (`--http-port`, default 9187): `/metrics` in Prometheus text
//! format, `/health` (the process is alive) and `/ready` (recovered and serving; 503 before).
//! A deliberately small HTTP/1.1 server on one shard: GET only, one request per connection,
//! request head bounded to 8 KiB.

use crate::resp::{state, stats};
use futures::{AsyncReadExt, AsyncWriteExt};
use metrics_exporter_prometheus::PrometheusHandle;
use orbit_shards::rt::{self, TcpListener, TcpStream};
use orbit_shards::{mesh, state as shard_state};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

static READY: AtomicBool = AtomicBool::new(false);
static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

const MAX_REQUEST_HEAD_BYTES: usize = 8192;

/// Marks the server ready (every shard recovered and listening).
pub fn set_ready() {
    READY.store(true, Ordering::SeqCst);
}

/// Installs the Prometheus recorder as the process's `metrics` recorder. Call once at start.
pub fn install_recorder() -> Result<(), String> {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    let _ = PROMETHEUS.set(handle);
    Ok(())
}

/// Serves HTTP until shutdown.
pub async fn serve(listener: TcpListener) {
    loop {
        // Polled only when the accept itself is woken, not at every shutdown check.
        let accept = rt::WhenWoken::new(listener.accept());
        futures::pin_mut!(accept);
        let stop = rt::shutdown_signal();
        futures::pin_mut!(stop);
        match futures::future::select(accept, stop).await {
            futures::future::Either::Left((Ok(stream), _)) => rt::spawn(handle(stream)),
            futures::future::Either::Left((Err(_), _)) => rt::sleep(std::time::Duration::from_millis(5)).await,
            futures::future::Either::Right(_) => break,
        }
    }
}

async fn handle(mut stream: TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > MAX_REQUEST_HEAD_BYTES {
            let _ =
                respond(&mut stream, "431 Request Header Fields Too Large", "text/plain", "request head too large\n")
                    .await;
            return;
        }
    }
    let line = head.split(|&c| c == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" {
        let _ = respond(&mut stream, "405 Method Not Allowed", "text/plain", "only GET\n").await;
        return;
    }
    match path {
        "/health" => {
            let _ = respond(&mut stream, "200 OK", "text/plain", "ok\n").await;
        }
        "/ready" => {
            if READY.load(Ordering::SeqCst) && !rt::shutdown_requested() {
                let _ = respond(&mut stream, "200 OK", "text/plain", "ready\n").await;
            } else {
                let _ = respond(&mut stream, "503 Service Unavailable", "text/plain", "not ready\n").await;
            }
        }
        "/metrics" => {
            let body = render_metrics().await;
            let _ = respond(&mut stream, "200 OK", "text/plain; version=0.0.4", &body).await;
        }
        _ => {
            let _ = respond(&mut stream, "404 Not Found", "text/plain", "not found\n").await;
        }
    }
}

async fn respond(stream: &mut TcpStream, status: &str, ctype: &str, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.close().await
}

/// What one shard reports for /metrics.
struct ShardMetrics {
    shard: usize,
    connections: usize,
    keys: usize,
    stats: stats::Stats,
    shard_stats: orbit_shards::state::ShardStats,
    parked_keys: usize,
    wal: orbit_shards::wal::WalStats,
    snapshot_running: bool,
    snapshot_last_keys: u64,
    stalls: rt::StallStats,
    tx_queued: usize,
    tx_scheduled: u64,
    tx_refused: u64,
}

/// Gathers every shard's counters over the mesh, publishes them through the `metrics`
/// recorder (labelled by shard), and renders the Prometheus text.
pub async fn render_metrics() -> String {
    let Some(handle) = PROMETHEUS.get() else {
        return String::from("# metrics recorder not installed\n");
    };
    let per_shard = mesh::run_on_all(|s| ShardMetrics {
        shard: s.id,
        connections: state::with_net(|n| n.clients.len()),
        keys: s.keyspace.total_keys(),
        stats: stats::snapshot(),
        shard_stats: s.stats.clone(),
        parked_keys: s.waiters.keys(),
        wal: s.wal.stats.clone(),
        snapshot_running: s.snapshot.running,
        snapshot_last_keys: s.snapshot.last_keys,
        stalls: rt::stall_stats(),
        tx_queued: s.tx.len(),
        tx_scheduled: s.tx.scheduled_total,
        tx_refused: s.tx.refused_total,
    })
    .await
    .unwrap_or_default();
    for m in per_shard {
        let shard = m.shard.to_string();
        metrics::gauge!("orbit_connections", "shard" => shard.clone()).set(m.connections as f64);
        metrics::gauge!("orbit_keys", "shard" => shard.clone()).set(m.keys as f64);
        metrics::gauge!("orbit_blocked_keys", "shard" => shard.clone()).set(m.parked_keys as f64);
        metrics::counter!("orbit_connections_received_total", "shard" => shard.clone())
            .absolute(m.stats.total_connections);
        metrics::counter!("orbit_net_input_bytes_total", "shard" => shard.clone()).absolute(m.stats.net_input_bytes);
        metrics::counter!("orbit_net_output_bytes_total", "shard" => shard.clone()).absolute(m.stats.net_output_bytes);
        metrics::counter!("orbit_error_replies_total", "shard" => shard.clone()).absolute(m.stats.error_replies);
        metrics::counter!("orbit_cross_shard_sent_total", "shard" => shard.clone())
            .absolute(m.shard_stats.cross_shard_sent);
        metrics::counter!("orbit_cross_shard_received_total", "shard" => shard.clone())
            .absolute(m.shard_stats.cross_shard_received);
        metrics::counter!("orbit_expired_keys_total", "shard" => shard.clone()).absolute(m.shard_stats.expired_keys);
        metrics::counter!("orbit_evicted_keys_total", "shard" => shard.clone()).absolute(m.shard_stats.evicted_keys);
        metrics::counter!("orbit_log_bytes_total", "shard" => shard.clone()).absolute(m.wal.bytes);
        metrics::counter!("orbit_log_records_total", "shard" => shard.clone()).absolute(m.wal.records);
        metrics::counter!("orbit_log_fsyncs_total", "shard" => shard.clone()).absolute(m.wal.fsyncs);
        // Group commit: records per write round = records_total / group_commits_total.
        metrics::counter!("orbit_log_group_commits_total", "shard" => shard.clone()).absolute(m.wal.commits);
        metrics::gauge!("orbit_log_group_commit_max_records", "shard" => shard.clone())
            .set(m.wal.max_batch_records as f64);
        metrics::counter!("orbit_log_write_errors_total", "shard" => shard.clone()).absolute(m.wal.write_errors);
        metrics::gauge!("orbit_snapshot_running", "shard" => shard.clone()).set(if m.snapshot_running {
            1.0
        } else {
            0.0
        });
        metrics::gauge!("orbit_snapshot_last_keys", "shard" => shard.clone()).set(m.snapshot_last_keys as f64);
        // Task polls of 1 ms or more: the shard served nothing else meanwhile.
        metrics::counter!("orbit_reactor_stalls_total", "shard" => shard.clone()).absolute(m.stalls.stalls);
        metrics::counter!("orbit_reactor_stall_usec_total", "shard" => shard.clone())
            .absolute(m.stalls.stall_usec_total);
        metrics::gauge!("orbit_reactor_stall_longest_usec", "shard" => shard.clone()).set(m.stalls.longest_usec as f64);
        // The transaction scheduler: multi-shard commands, EXEC, scripts, and commands that
        // waited behind one.
        metrics::gauge!("orbit_tx_queued", "shard" => shard.clone()).set(m.tx_queued as f64);
        metrics::counter!("orbit_tx_scheduled_total", "shard" => shard.clone()).absolute(m.tx_scheduled);
        metrics::counter!("orbit_tx_refused_total", "shard" => shard.clone()).absolute(m.tx_refused);
        for (name, c) in &m.stats.commands {
            metrics::counter!("orbit_commands_total", "shard" => shard.clone(), "cmd" => *name).absolute(c.calls);
            metrics::counter!("orbit_command_errors_total", "shard" => shard.clone(), "cmd" => *name)
                .absolute(c.failed + c.rejected);
            metrics::counter!("orbit_command_usec_total", "shard" => shard.clone(), "cmd" => *name).absolute(c.usec);
        }
    }
    metrics::gauge!("orbit_used_memory_bytes").set(orbit_shards::memory::used_bytes() as f64);
    metrics::gauge!("orbit_shards").set(shard_state::local().1 as f64);
    handle.render()
}
