//! The reactor, behind one small module so it can be swapped (compio is the fallback named in
//! the design). Everything else in Orbit uses these wrappers, never glommio directly.
//!
//! Two glommio pitfalls on this kernel are handled here:
//! - executors refuse to start with too little locked memory: [`raise_memlock`] raises
//!   RLIMIT_MEMLOCK where permitted, else start-up fails with a message naming the limit;
//! - glommio probes whether a block device supports polled I/O by reading the first file an
//!   executor opens with O_DIRECT; if that file is empty the read "succeeds" with 0 bytes, polled
//!   I/O is wrongly enabled, and later DMA reads fail with EOPNOTSUPP. [`probe_dma`] opens a
//!   non-empty probe file first on each executor, so the probe reads real data.

use crate::{Error, Result, ShardId};
use std::cell::Cell;
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub use glommio::net::{TcpListener, TcpStream};
pub use glommio::Task;

/// Binds a listening socket that every shard can bind too (SO_REUSEPORT: the kernel spreads
/// connections over the shards) and that can be bound again right after a restart while old
/// connections sit in TIME_WAIT (SO_REUSEADDR, inherited by accepted sockets, as Redis does).
pub fn listen_shared(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    use std::os::fd::{FromRawFd, IntoRawFd};
    let domain = if addr.is_ipv6() { libc::AF_INET6 } else { libc::AF_INET };
    // SAFETY: plain socket syscalls on a descriptor we own; closed by OwnedFd on every error.
    unsafe {
        let fd = libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let owned = std::os::fd::OwnedFd::from_raw_fd(fd);
        let one: libc::c_int = 1;
        for opt in [libc::SO_REUSEADDR, libc::SO_REUSEPORT] {
            let p = &one as *const libc::c_int as *const libc::c_void;
            if libc::setsockopt(fd, libc::SOL_SOCKET, opt, p, std::mem::size_of::<libc::c_int>() as u32) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        let (storage, len) = sockaddr(addr);
        if libc::bind(fd, &storage as *const libc::sockaddr_storage as *const libc::sockaddr, len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::listen(fd, 1024) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(TcpListener::from_raw_fd(owned.into_raw_fd()))
    }
}

fn sockaddr(addr: std::net::SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data, large enough for both address families.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        std::net::SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in, sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        std::net::SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: a.ip().octets() },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_in6 fits in sockaddr_storage.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in6, sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// Locked memory glommio needs per process to start its executors.
pub const MIN_MEMLOCK_BYTES: u64 = 512 * 1024;
/// What Orbit asks for when it can raise the limit itself.
const WANT_MEMLOCK_BYTES: u64 = 64 * 1024 * 1024;
/// io_uring registered-buffer memory per executor (glommio's `io_memory`).
const IO_MEMORY_BYTES: usize = 2 * 1024 * 1024;

/// Raises RLIMIT_MEMLOCK so glommio can register its I/O memory. Returns the limit in force.
pub fn raise_memlock() -> Result<u64> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we pass; no other memory is touched.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } != 0 {
        return Err(Error::Io(std::io::Error::last_os_error()));
    }
    if lim.rlim_cur == libc::RLIM_INFINITY || lim.rlim_cur >= WANT_MEMLOCK_BYTES {
        return Ok(lim.rlim_cur);
    }
    let want = WANT_MEMLOCK_BYTES;
    let mut new = libc::rlimit { rlim_cur: want, rlim_max: lim.rlim_max.max(want) };
    // SAFETY: setrlimit only reads the struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &new) } != 0 {
        // Not privileged to raise the hard limit: raise the soft one as far as allowed.
        new = libc::rlimit { rlim_cur: lim.rlim_max.min(want), rlim_max: lim.rlim_max };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &new) } != 0 {
            new.rlim_cur = lim.rlim_cur;
        }
    }
    if new.rlim_cur != libc::RLIM_INFINITY && new.rlim_cur < MIN_MEMLOCK_BYTES {
        return Err(Error::Start(format!(
            "RLIMIT_MEMLOCK is {} KiB but the io_uring runtime needs at least {} KiB: raise it \
             (`ulimit -l unlimited`, LimitMEMLOCK=infinity under systemd, or the container's \
             memlock ulimit)",
            new.rlim_cur / 1024,
            MIN_MEMLOCK_BYTES / 1024
        )));
    }
    Ok(new.rlim_cur)
}

/// The CPUs this process may run on (its affinity mask), in order.
pub fn available_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize).filter(|&c| libc::CPU_ISSET(c, &set)).collect();
            if !cpus.is_empty() {
                return cpus;
            }
        }
    }
    (0..std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).collect()
}

/// Runs `shards` executors, shard `i` pinned to `cpus[i % cpus.len()]`, each running the future
/// `make(i)` to completion. Blocks until every shard has finished; returns their results.
pub fn run_shards<F, Fut, T>(shards: usize, cpus: &[usize], make: F) -> Result<Vec<T>>
where
    F: Fn(ShardId) -> Fut + Send + Clone + 'static,
    Fut: Future<Output = T> + 'static,
    T: Send + 'static,
{
    let mut handles = Vec::with_capacity(shards);
    for id in 0..shards {
        let cpu = cpus[id % cpus.len()];
        let make = make.clone();
        let h = glommio::LocalExecutorBuilder::new(glommio::Placement::Fixed(cpu))
            .name(&format!("shard-{id}"))
            .io_memory(IO_MEMORY_BYTES)
            .preempt_timer(Duration::from_millis(10))
            .spawn(move || timed(make(id)))
            .map_err(|e| Error::Start(format!("cannot start shard {id} on CPU {cpu}: {e}")))?;
        handles.push(h);
    }
    let mut out = Vec::with_capacity(shards);
    for (id, h) in handles.into_iter().enumerate() {
        out.push(h.join().map_err(|e| Error::Start(format!("shard {id} failed: {e}")))?);
    }
    Ok(out)
}

/// Spawns a task on the current shard and lets it run on its own. glommio may start running
/// it inline, up to its first suspension point: code that spawns while it holds the shard
/// state (inside `state::with_shard`) must use [`spawn_deferred`].
/// Accepts connections on `listener` until shutdown is requested, handing each to `on_conn`
/// (which spawns its task). A failed accept (e.g. out of file descriptors) is logged and
/// retried after a short pause.
pub async fn accept_until_shutdown(listener: &TcpListener, what: &str, mut on_conn: impl FnMut(TcpStream)) {
    use futures::future::{select, Either};
    loop {
        // The shutdown check wakes this task every 10 ms; the accept must not be polled then
        // (see [`WhenWoken`]).
        let accept = WhenWoken::new(listener.accept());
        futures::pin_mut!(accept);
        let stop = shutdown_signal();
        futures::pin_mut!(stop);
        match select(accept, stop).await {
            Either::Left((Ok(stream), _)) => on_conn(stream),
            Either::Left((Err(e), _)) => {
                tracing::warn!(error = %e, "{what} accept failed");
                sleep(Duration::from_millis(5)).await;
            }
            Either::Right(_) => break,
        }
    }
}

/// A future polled only when its own waker has fired (and the first time), however often the
/// task holding it wakes for other reasons.
///
/// glommio 0.9's accept (`Source::collect_rw`) pushes a clone of the task's waker onto its
/// source at every poll and drops none until the source completes; the task's reference count
/// is an i16, so an accept raced against a 10 ms timer in `select` overflowed it after about
/// 5.5 idle minutes (32,767 polls) and the shard panicked ("Waker invariant broken"). Through
/// this wrapper the inner future only ever sees this wrapper's own waker, and is polled again
/// only once that waker is woken, so the clones stay at one per real wake-up.
pub struct WhenWoken<F> {
    inner: std::pin::Pin<Box<F>>,
    flag: std::sync::Arc<WakeFlag>,
}

#[derive(Default)]
pub struct WakeFlag {
    woken: std::sync::atomic::AtomicBool,
    task: futures::task::AtomicWaker,
}

impl std::task::Wake for WakeFlag {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.woken.store(true, std::sync::atomic::Ordering::Release);
        self.task.wake();
    }
}

impl<F: Future> WhenWoken<F> {
    pub fn new(inner: F) -> WhenWoken<F> {
        let flag = std::sync::Arc::new(WakeFlag::default());
        flag.woken.store(true, std::sync::atomic::Ordering::Relaxed);
        WhenWoken { inner: Box::pin(inner), flag }
    }
}

impl<F: Future> Future for WhenWoken<F> {
    type Output = F::Output;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        let this = self.get_mut();
        this.flag.task.register(cx.waker());
        if !this.flag.woken.swap(false, std::sync::atomic::Ordering::AcqRel) {
            return std::task::Poll::Pending;
        }
        let waker = std::task::Waker::from(this.flag.clone());
        this.inner.as_mut().poll(&mut std::task::Context::from_waker(&waker))
    }
}

pub fn spawn<T: 'static>(fut: impl Future<Output = T> + 'static) {
    glommio::spawn_local(timed(fut)).detach();
}

/// Like [`spawn`], but the task does nothing before the spawner has returned to the executor.
pub fn spawn_deferred<T: 'static>(fut: impl Future<Output = T> + 'static) {
    glommio::spawn_local(timed(async move {
        yield_once().await;
        fut.await
    }))
    .detach();
}

/// Returns Pending once (waking itself), so the task goes to the back of the run queue.
pub async fn yield_once() {
    let mut yielded = false;
    futures::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

/// Spawns a task on the current shard, returning a handle to await its result.
pub fn spawn_task<T: 'static>(fut: impl Future<Output = T> + 'static) -> Task<T> {
    glommio::spawn_local(timed(fut))
}

// ---------------------------------------------------------------------------------------------
// Reactor stalls. While a task is being polled the shard's reactor does nothing else: no other
// connection is served, no I/O completion is reaped. Every task Orbit spawns (and each shard's
// main future) goes through [`timed`], which measures each poll; a poll of 1 ms or more is a
// stall. Two clock reads per poll (vDSO, tens of ns) are the whole cost. Wall-clock time: a
// thread the OS preempts mid-poll stalls the shard just the same, and is counted.
//
// glommio's own stall detector (`LocalExecutorBuilder::detect_stalls`) is not used: it arms a
// timerfd on every task-queue run (two syscalls per scheduler round), samples the stack from a
// SIGUSR1 handler that unwinds in signal context (not async-signal-safe: it can deadlock when
// the signal lands inside the unwinder or the dynamic loader), resolves symbols on the reactor
// thread when it fires (itself a stall of many ms), and only measures runs past the preemption
// budget (10 ms here), so it cannot count 1 ms stalls without shortening that budget.
// ---------------------------------------------------------------------------------------------

/// A single task poll at least this long counts as a reactor stall.
pub const STALL_THRESHOLD: Duration = Duration::from_millis(1);

/// This shard's reactor stalls since it started (start-up recovery included).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StallStats {
    /// Task polls that ran [`STALL_THRESHOLD`] or longer.
    pub stalls: u64,
    /// Their total duration.
    pub stall_usec_total: u64,
    /// The longest poll seen.
    pub longest_usec: u64,
}

thread_local! {
    static STALLS: Cell<StallStats> = const {
        Cell::new(StallStats { stalls: 0, stall_usec_total: 0, longest_usec: 0 })
    };
}

/// The stall counters of the shard whose thread calls this.
pub fn stall_stats() -> StallStats {
    STALLS.with(|s| s.get())
}

fn note_poll(took: Duration) {
    if took < STALL_THRESHOLD {
        return;
    }
    let us = took.as_micros().min(u64::MAX as u128) as u64;
    STALLS.with(|s| {
        let mut st = s.get();
        st.stalls += 1;
        st.stall_usec_total = st.stall_usec_total.saturating_add(us);
        st.longest_usec = st.longest_usec.max(us);
        s.set(st);
    });
}

/// `fut`, with each of its polls timed (see the section above).
async fn timed<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    futures::future::poll_fn(move |cx| {
        let start = Instant::now();
        let r = fut.as_mut().poll(cx);
        note_poll(start.elapsed());
        r
    })
    .await
}

pub async fn sleep(d: Duration) {
    glommio::timer::sleep(d).await;
}

/// Yields to other tasks if this one has run past the preemption budget.
pub async fn yield_if_needed() {
    glommio::yield_if_needed().await;
}

/// Bounded single-producer single-consumer channels between two executors.
pub mod channel {
    pub use glommio::channels::shared_channel::{
        new_bounded, ConnectedReceiver, ConnectedSender, SharedReceiver, SharedSender,
    };
}

/// Opens a non-empty probe file with O_DIRECT as the first DMA file of this executor, so
/// glommio's polled-I/O detection reads real bytes (see the module docs). Call once per shard,
/// before any other DmaFile is opened.
pub async fn probe_dma(dir: &Path) -> Result<()> {
    let path = dir.join(".iopoll-probe");
    if std::fs::metadata(&path).map(|m| m.len() < 4096).unwrap_or(true) {
        std::fs::write(&path, vec![0xA5u8; 4096])?;
    }
    let f = glommio::io::DmaFile::open(&path).await.map_err(|e| Error::Start(format!("{}: {e}", path.display())))?;
    let _ = f.read_at_aligned(0, 4096).await;
    f.close().await.map_err(|e| Error::Start(format!("{}: {e}", path.display())))?;
    Ok(())
}

static SHUTDOWN: AtomicBool = AtomicBool::new(false);

/// Asks every shard to stop accepting, finish what is in flight and exit.
pub fn request_shutdown() {
    SHUTDOWN.store(true, Ordering::SeqCst);
}

pub fn shutdown_requested() -> bool {
    SHUTDOWN.load(Ordering::Relaxed)
}

/// Resolves once shutdown has been requested (polls a flag every 10 ms).
pub async fn shutdown_signal() {
    while !shutdown_requested() {
        sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Files through io_uring with O_DIRECT (glommio's DmaFile), for the write-ahead log, snapshots
// and recovery. Offsets and lengths of writes must be multiples of [`DmaFile::alignment`];
// [`DmaBuf`] is memory glommio can hand to the kernel as is.
// ---------------------------------------------------------------------------------------------

/// An aligned buffer for direct I/O.
pub struct DmaBuf(glommio::io::DmaBuffer);

impl DmaBuf {
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.0.as_bytes_mut()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }
}

/// A file opened with O_DIRECT.
pub struct DmaFile(glommio::io::DmaFile);

fn io_err(path: &Path, e: glommio::GlommioError<()>) -> std::io::Error {
    // glommio's own text repeats the path and fd; the OS error says what matters.
    let e: std::io::Error = match e {
        glommio::GlommioError::EnhancedIoError { source, .. } => source,
        other => other.into(),
    };
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

impl DmaFile {
    /// Creates (or truncates) a file for writing and reading.
    pub async fn create(path: &Path) -> std::io::Result<DmaFile> {
        Self::create_with(path, false).await
    }

    /// [`DmaFile::create`]; with `dsync`, opened O_DSYNC: a write completes once its data (and
    /// what is needed to read it back) is on stable storage, as a write then fdatasync would.
    pub async fn create_with(path: &Path, dsync: bool) -> std::io::Result<DmaFile> {
        glommio::io::OpenOptions::new()
            .custom_flags(if dsync { libc::O_DSYNC } else { 0 })
            .create(true)
            .truncate(true)
            .write(true)
            .read(true)
            .dma_open(path)
            .await
            .map(DmaFile)
            .map_err(|e| io_err(path, e))
    }

    /// Opens an existing file read-only.
    pub async fn open(path: &Path) -> std::io::Result<DmaFile> {
        glommio::io::DmaFile::open(path).await.map(DmaFile).map_err(|e| io_err(path, e))
    }

    /// Opens an existing file for reading and writing (repair truncates with it).
    pub async fn open_rw(path: &Path) -> std::io::Result<DmaFile> {
        glommio::io::OpenOptions::new()
            .write(true)
            .read(true)
            .dma_open(path)
            .await
            .map(DmaFile)
            .map_err(|e| io_err(path, e))
    }

    /// The alignment that offsets and lengths of direct writes need.
    pub fn alignment(&self) -> u64 {
        self.0.alignment()
    }

    /// A zeroed aligned buffer of `len` bytes (rounded up to the alignment).
    pub fn buffer(&self, len: usize) -> DmaBuf {
        let len = self.0.align_up(len as u64) as usize;
        let mut b = self.0.alloc_dma_buffer(len.max(self.alignment() as usize));
        b.as_bytes_mut().fill(0);
        DmaBuf(b)
    }

    /// Writes the whole buffer at `pos` (aligned).
    pub async fn write_at(&self, buf: DmaBuf, pos: u64) -> std::io::Result<()> {
        let len = buf.len();
        let n = self.0.write_at(buf.0, pos).await.map_err(|e| self.err(e))?;
        if n != len {
            return Err(std::io::Error::new(
                std::io::ErrorKind::WriteZero,
                format!("short write: {n} of {len} bytes at offset {pos}"),
            ));
        }
        Ok(())
    }

    /// Reads up to `len` bytes at `pos` (any alignment; fewer at the end of the file).
    pub async fn read_at(&self, pos: u64, len: usize) -> std::io::Result<Vec<u8>> {
        let r = self.0.read_at(pos, len).await.map_err(|e| self.err(e))?;
        Ok(r.to_vec())
    }

    pub async fn fdatasync(&self) -> std::io::Result<()> {
        self.0.fdatasync().await.map_err(|e| self.err(e))
    }

    pub async fn size(&self) -> std::io::Result<u64> {
        self.0.file_size().await.map_err(|e| self.err(e))
    }

    pub async fn truncate(&self, size: u64) -> std::io::Result<()> {
        self.0.truncate(size).await.map_err(|e| self.err(e))
    }

    pub async fn close(self) -> std::io::Result<()> {
        let path = self.0.path().map(|p| p.to_path_buf()).unwrap_or_default();
        self.0.close().await.map_err(|e| io_err(&path, e))
    }

    fn err(&self, e: glommio::GlommioError<()>) -> std::io::Error {
        let path = self.0.path().map(|p| p.to_path_buf()).unwrap_or_default();
        io_err(&path, e)
    }
}

/// A sequential writer of a new file (snapshots): buffered, written behind, padded on the
/// last block and truncated to its real length on close, which also syncs.
pub struct DmaStreamWriter(glommio::io::DmaStreamWriter);

impl DmaStreamWriter {
    pub fn new(file: DmaFile) -> DmaStreamWriter {
        DmaStreamWriter(
            glommio::io::DmaStreamWriterBuilder::new(file.0).with_buffer_size(1 << 20).with_write_behind(2).build(),
        )
    }

    pub async fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        use futures::AsyncWriteExt;
        self.0.write_all(data).await
    }

    pub fn position(&self) -> u64 {
        self.0.current_pos()
    }

    /// Flushes, fdatasyncs, truncates to the written length and closes.
    pub async fn close(mut self) -> std::io::Result<()> {
        use futures::AsyncWriteExt;
        self.0.close().await
    }
}

/// fsyncs a directory, so that files created, renamed or removed in it stay so after a crash.
pub async fn sync_dir(path: &Path) -> std::io::Result<()> {
    let d = glommio::io::Directory::open(path).await.map_err(|e| io_err(path, e))?;
    d.sync().await.map_err(|e| io_err(path, e))?;
    d.close().await.map_err(|e| io_err(path, e))
}

pub async fn rename(from: &Path, to: &Path) -> std::io::Result<()> {
    glommio::io::rename(from, to).await.map_err(|e| io_err(from, e))
}

pub async fn remove_file(path: &Path) -> std::io::Result<()> {
    glommio::io::remove(path).await.map_err(|e| io_err(path, e))
}

/// Yields to the other tasks of this shard unconditionally (long background work, such as a
/// snapshot walk, calls it between chunks).
pub async fn yield_now() {
    glommio::executor().yield_task_queue_now().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_of_a_millisecond_or_more_count_as_stalls() {
        let before = stall_stats();
        note_poll(Duration::from_micros(999));
        assert_eq!(stall_stats(), before);
        note_poll(Duration::from_millis(3));
        note_poll(Duration::from_millis(1));
        let after = stall_stats();
        assert_eq!(after.stalls, before.stalls + 2);
        assert_eq!(after.stall_usec_total, before.stall_usec_total + 4000);
        assert_eq!(after.longest_usec, before.longest_usec.max(3000));
    }

    /// An accept raced against something that wakes the task over and over (here: a yield, as
    /// the shutdown check's timer does every 10 ms) must not grow the task's waker count: 40,000
    /// wake-ups without a connection pass (plain glommio accept panics past 32,767), then a
    /// connection is still accepted.
    #[test]
    fn an_accept_survives_many_unrelated_wake_ups() {
        let accepted = glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .spawn(|| async {
                let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
                let addr = listener.local_addr().expect("addr");
                let accept = WhenWoken::new(listener.accept());
                futures::pin_mut!(accept);
                for _ in 0..40_000 {
                    let other = yield_once();
                    futures::pin_mut!(other);
                    if let futures::future::Either::Left(_) = futures::future::select(&mut accept, other).await {
                        panic!("nothing connected yet");
                    }
                }
                let _client = std::net::TcpStream::connect(addr).expect("connect");
                accept.await.is_ok()
            })
            .expect("executor")
            .join()
            .expect("join");
        assert!(accepted);
    }

    #[test]
    fn a_blocking_poll_on_an_executor_is_counted() {
        let got = glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .spawn(|| async {
                let before = stall_stats().stalls;
                // Busy for 5 ms without yielding, inside a spawned task.
                spawn_task(async {
                    let t = Instant::now();
                    while t.elapsed() < Duration::from_millis(5) {
                        std::hint::spin_loop();
                    }
                })
                .await;
                stall_stats().stalls - before
            })
            .expect("start an executor")
            .join()
            .expect("executor ran");
        assert_eq!(got, 1);
    }
}
