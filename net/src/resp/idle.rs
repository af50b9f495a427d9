//! Redis's `timeout` setting (CONFIG SET timeout N, 0 = never): a client idle for more than N
//! seconds is closed, as Redis's clientsCronHandleTimeout closes it. Clients blocked in a
//! command (BLPOP, XREAD BLOCK, ...: their own timeout governs them) and clients in pub/sub
//! mode are left alone, as Redis leaves them. Each shard checks its own clients once a second.

use super::state;
use orbit_engine::keyspace::now_ms;
use orbit_shards::rt;
use std::time::Duration;

/// Closes this shard's clients idle past the `timeout` setting, until shutdown.
pub async fn run() {
    while !rt::shutdown_requested() {
        rt::sleep(Duration::from_secs(1)).await;
        close_idle(now_ms());
    }
}

/// Asks every client of this shard idle past the limit to close; how many were asked.
pub fn close_idle(now: u64) -> usize {
    state::with_net(|n| {
        let limit_ms = n.config.timeout_s.saturating_mul(1000);
        if limit_ms == 0 {
            return 0;
        }
        n.clients
            .values()
            .filter(|c| {
                let subscribed = c.subs.get() + c.psubs.get() + c.ssubs.get() > 0;
                !c.blocked.get() && !subscribed && now.saturating_sub(c.last_interaction_ms.get()) > limit_ms
            })
            .filter(|c| c.kill())
            .count()
    })
}
