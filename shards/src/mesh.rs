//! Cross-shard request/response. Every ordered pair of shards has a bounded single-producer
//! channel carrying closures; the receiving shard runs each closure against its own state and
//! sends the result back on a oneshot. A full channel makes the sender wait (backpressure), so
//! no queue grows without bound.

use crate::rt::channel::{self, ConnectedReceiver, ConnectedSender, SharedReceiver, SharedSender};
use crate::state::{self, Shard};
use crate::{Error, Result, ShardId};
use std::cell::RefCell;
use std::rc::Rc;

/// Work sent to another shard: runs there, on that shard's thread.
pub type Job = Box<dyn FnOnce() + Send>;

/// Capacity of each shard-to-shard channel, in jobs.
pub const CHANNEL_CAPACITY: usize = 1024;

/// The unconnected ends a shard takes with it to its thread.
pub struct MeshEnds {
    senders: Vec<Option<SharedSender<Job>>>,
    receivers: Vec<Option<SharedReceiver<Job>>>,
}

/// Builds the full mesh for `n` shards: element `i` holds shard `i`'s ends.
pub fn build(n: usize) -> Vec<MeshEnds> {
    let mut ends: Vec<MeshEnds> = (0..n)
        .map(|_| MeshEnds { senders: (0..n).map(|_| None).collect(), receivers: (0..n).map(|_| None).collect() })
        .collect();
    for from in 0..n {
        for to in 0..n {
            if from != to {
                let (tx, rx) = channel::new_bounded(CHANNEL_CAPACITY);
                ends[from].senders[to] = Some(tx);
                ends[to].receivers[from] = Some(rx);
            }
        }
    }
    ends
}

thread_local! {
    static SENDERS: RefCell<Vec<Option<Rc<ConnectedSender<Job>>>>> = const { RefCell::new(Vec::new()) };
}

/// Connects this shard's ends and starts one task per peer that runs the jobs it receives.
/// A sender's `connect` waits for its peer's receiver, so every end is connected concurrently
/// (connecting senders first on every shard would deadlock).
pub async fn join(ends: MeshEnds) {
    let senders = futures::future::join_all(ends.senders.into_iter().map(|s| async move {
        match s {
            Some(s) => Some(Rc::new(s.connect().await)),
            None => None,
        }
    }));
    let receivers = futures::future::join_all(ends.receivers.into_iter().flatten().map(|r| r.connect()));
    let connect = std::pin::pin!(futures::future::join(senders, receivers));
    // glommio 0.9 re-polls a channel end waiting for its peer only when this executor's
    // reactor turns: if the peer connects while this executor sleeps with nothing else to do,
    // nobody wakes it and start-up hangs (seen about once in 40 starts on a loaded machine). A
    // 1 ms tick keeps the reactor turning until every end is connected.
    let tick = std::pin::pin!(async {
        loop {
            crate::rt::sleep(std::time::Duration::from_millis(1)).await;
        }
    });
    let (senders, receivers) = match futures::future::select(connect, tick).await {
        futures::future::Either::Left((ends, _)) => ends,
        futures::future::Either::Right(_) => unreachable!("the tick never ends"),
    };
    SENDERS.with(|cell| *cell.borrow_mut() = senders);
    for rx in receivers {
        let rx: ConnectedReceiver<Job> = rx;
        crate::rt::spawn(async move {
            while let Some(job) = rx.recv().await {
                state::with_shard(|s| s.stats.cross_shard_received += 1);
                job();
                crate::rt::yield_if_needed().await;
            }
        });
    }
}

fn sender(to: ShardId) -> Option<Rc<ConnectedSender<Job>>> {
    SENDERS.with(|cell| cell.borrow().get(to).cloned().flatten())
}

/// Runs `f` on shard `to` with that shard's state and returns its result. On the local shard it
/// runs inline, without a hop.
pub async fn run_on<R, F>(to: ShardId, f: F) -> Result<R>
where
    R: Send + 'static,
    F: FnOnce(&mut Shard) -> R + Send + 'static,
{
    let (me, _) = state::local();
    if to == me {
        state::before_job();
        return Ok(state::with_shard(f));
    }
    let tx = sender(to).ok_or(Error::ShardGone(to))?;
    let (reply_tx, reply_rx) = futures::channel::oneshot::channel();
    let job: Job = Box::new(move || {
        state::before_job();
        let r = state::with_shard(f);
        let _ = reply_tx.send(r);
    });
    state::with_shard(|s| s.stats.cross_shard_sent += 1);
    tx.send(job).await.map_err(|_| Error::ShardGone(to))?;
    reply_rx.await.map_err(|_| Error::ShardGone(to))
}

/// Sends `f` to shard `to` without waiting for it to run (fire and forget; still bounded: waits
/// for room in the channel).
pub async fn post<F>(to: ShardId, f: F) -> Result<()>
where
    F: FnOnce(&mut Shard) + Send + 'static,
{
    let (me, _) = state::local();
    if to == me {
        state::with_shard(f);
        return Ok(());
    }
    let tx = sender(to).ok_or(Error::ShardGone(to))?;
    tx.send(Box::new(move || {
        state::before_job();
        state::with_shard(f)
    }))
    .await
    .map_err(|_| Error::ShardGone(to))
}

/// Sends `f` to shard `to` from synchronous code, if its channel has room. Returns false when the
/// channel is full or the shard is gone (the caller decides what that means).
pub fn try_post<F>(to: ShardId, f: F) -> bool
where
    F: FnOnce(&mut Shard) + Send + 'static,
{
    let Some(tx) = sender(to) else { return false };
    tx.try_send(Box::new(move || {
        state::before_job();
        state::with_shard(f)
    }))
    .is_ok()
}

/// Runs `f` on every shard concurrently; results in shard order.
pub async fn run_on_all<R, F>(f: F) -> Result<Vec<R>>
where
    R: Send + 'static,
    F: Fn(&mut Shard) -> R + Send + Clone + 'static,
{
    let (_, n) = state::local();
    let futs = (0..n).map(|i| run_on(i, f.clone()));
    futures::future::join_all(futs).await.into_iter().collect()
}
