//! LISTEN / UNLISTEN / NOTIFY across the server's sessions, as PostgreSQL's async.c behaves to
//! clients: LISTEN and UNLISTEN take effect when the session's transaction commits (ROLLBACK,
//! or ROLLBACK TO a savepoint before them, forgets them); a transaction's notifications are
//! sent when it commits, to every session then listening on the channel (the sender included),
//! each (channel, payload) once however often the transaction sent it, in the order it sent
//! them. A session receives them between transactions: before its ReadyForQuery once a command
//! ends outside a block, and at once while it waits idle for its next command (`conn.rs`
//! `query_loop` races the socket read with [`Inbox::wait`]); inside a block they wait until the
//! block ends.
//!
//! Each shard's thread keeps its sessions' channels ([`LISTENERS`], channel to inboxes); a
//! commit delivers to its own shard's listeners at once and posts the notifications to every
//! other shard (`mesh::post`, in order per pair of shards). Notifications of transactions that
//! committed on different shards may reach a listener in another order than their commits
//! (PostgreSQL's single queue orders them by commit).
//!
//! Bounded: the notifications delivered and not yet sent to their clients hold at most
//! [`QUEUE_LIMIT`] bytes in the whole server; past it NOTIFY fails with PostgreSQL's 54000
//! `too many notifications in the NOTIFY queue`, as its queue's end does.

use orbit_query::error::SqlError;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Poll, Waker};

/// The bytes (channel and payload) of every notification delivered and not yet sent.
static QUEUED_BYTES: AtomicUsize = AtomicUsize::new(0);

/// The most those may be (PostgreSQL's queue holds 8GB on disk; Orbit's is in memory), and
/// the most one transaction's notifications may hold before it commits.
pub const QUEUE_LIMIT: usize = 256 << 20;

/// The most channels one session listens on, and LISTEN / UNLISTEN statements one transaction
/// holds until it commits.
pub const MAX_CHANNELS: usize = 10_000;

/// What a notification holds once delivered: the sender's process ID, the channel, the payload.
pub type Note = (i32, String, String);

thread_local! {
    /// This shard's listening sessions, by channel.
    static LISTENERS: RefCell<HashMap<String, Vec<Weak<Inbox>>>> = RefCell::new(HashMap::new());
}

/// A session's delivered notifications, waiting to be sent to its client.
#[derive(Default)]
pub struct Inbox {
    queue: RefCell<VecDeque<Note>>,
    waker: Cell<Option<Waker>>,
}

fn size(n: &Note) -> usize {
    n.1.len() + n.2.len()
}

impl Inbox {
    fn push(&self, n: Note) {
        QUEUED_BYTES.fetch_add(size(&n), Ordering::Relaxed);
        self.queue.borrow_mut().push_back(n);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// The notifications delivered so far, oldest first (no longer counted as queued).
    pub fn take(&self) -> Vec<Note> {
        let taken: Vec<Note> = self.queue.borrow_mut().drain(..).collect();
        QUEUED_BYTES.fetch_sub(taken.iter().map(size).sum(), Ordering::Relaxed);
        taken
    }

    /// Ready once a notification is there.
    pub async fn wait(&self) {
        std::future::poll_fn(|cx| {
            if self.queue.borrow().is_empty() {
                self.waker.set(Some(cx.waker().clone()));
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        let left: usize = self.queue.get_mut().iter().map(size).sum();
        QUEUED_BYTES.fetch_sub(left, Ordering::Relaxed);
    }
}

/// Delivers notifications to this shard's sessions listening on their channels.
fn deliver_here(notes: &[Note]) {
    LISTENERS.with(|l| {
        let mut l = l.borrow_mut();
        for n in notes {
            if let Some(inboxes) = l.get_mut(&n.1) {
                inboxes.retain(|w| w.strong_count() > 0);
                for inbox in inboxes.iter().filter_map(Weak::upgrade) {
                    inbox.push(n.clone());
                }
            }
        }
    });
}

enum Action {
    Listen(String),
    Unlisten(Option<String>),
}

fn too_many() -> SqlError {
    SqlError::new("54000", format!("too many LISTEN channels (a session listens on at most {MAX_CHANNELS})"))
}

/// A session's channels, and what its open transaction did that its commit applies.
pub struct Session {
    pid: i32,
    pub inbox: Rc<Inbox>,
    /// In the order the session began to listen (pg_listening_channels()'s).
    listening: Vec<String>,
    actions: Vec<Action>,
    /// The transaction's notifications in the order it sent them, each once (`sent` finds a
    /// repeat), and their bytes.
    notes: Vec<(String, String)>,
    sent: HashSet<(String, String)>,
    note_bytes: usize,
}

impl Session {
    pub fn new(pid: i32) -> Session {
        Session {
            pid,
            inbox: Rc::default(),
            listening: Vec::new(),
            actions: vec![],
            notes: vec![],
            sent: HashSet::new(),
            note_bytes: 0,
        }
    }

    /// Whether the session listens on any channel.
    pub fn listens(&self) -> bool {
        !self.listening.is_empty()
    }

    /// The channels the session listens on (pg_listening_channels()).
    pub fn channels(&self) -> Vec<String> {
        self.listening.clone()
    }

    /// LISTEN, applied at commit (54000 past [`MAX_CHANNELS`] channels or pending statements).
    pub fn listen(&mut self, channel: String) -> Result<(), SqlError> {
        let adds = self.actions.iter().filter(|a| matches!(a, Action::Listen(_))).count();
        if self.listening.len() + adds >= MAX_CHANNELS {
            return Err(too_many());
        }
        self.act(Action::Listen(channel))
    }

    /// UNLISTEN (None: `*`), applied at commit.
    pub fn unlisten(&mut self, channel: Option<String>) -> Result<(), SqlError> {
        self.act(Action::Unlisten(channel))
    }

    fn act(&mut self, a: Action) -> Result<(), SqlError> {
        if self.actions.len() >= MAX_CHANNELS {
            return Err(too_many());
        }
        self.actions.push(a);
        Ok(())
    }

    /// NOTIFY: sent at commit (a repeat of one already sent by this transaction is dropped).
    pub fn notify(&mut self, channel: String, payload: String) -> Result<(), SqlError> {
        let size = channel.len() + payload.len();
        let queued = QUEUED_BYTES.load(Ordering::Relaxed);
        if queued + size > QUEUE_LIMIT || self.note_bytes + size > QUEUE_LIMIT {
            return Err(SqlError::new("54000", "too many notifications in the NOTIFY queue"));
        }
        let note = (channel, payload);
        if self.sent.insert(note.clone()) {
            self.note_bytes += size;
            self.notes.push(note);
        }
        Ok(())
    }

    /// Where a savepoint starts: what ROLLBACK TO it keeps.
    pub fn mark(&self) -> (usize, usize) {
        (self.actions.len(), self.notes.len())
    }

    /// ROLLBACK TO a savepoint made at `mark`.
    pub fn roll_back_to(&mut self, mark: (usize, usize)) {
        self.actions.truncate(mark.0);
        for note in self.notes.drain(mark.1.min(self.notes.len())..) {
            self.note_bytes -= note.0.len() + note.1.len();
            self.sent.remove(&note);
        }
    }

    /// The transaction rolled back.
    pub fn discard(&mut self) {
        self.actions.clear();
        self.notes.clear();
        self.sent.clear();
        self.note_bytes = 0;
    }

    /// The transaction committed: its LISTEN and UNLISTEN apply, then its notifications go to
    /// every shard's listeners (this shard's at once, so the session's own come before its
    /// ReadyForQuery).
    pub fn commit(&mut self) {
        for a in std::mem::take(&mut self.actions) {
            match a {
                Action::Listen(c) => {
                    if !self.listening.contains(&c) {
                        self.listening.push(c.clone());
                        let me = Rc::downgrade(&self.inbox);
                        LISTENERS.with(|l| l.borrow_mut().entry(c).or_default().push(me));
                    }
                }
                Action::Unlisten(Some(c)) => {
                    if let Some(i) = self.listening.iter().position(|l| *l == c) {
                        self.listening.remove(i);
                        self.forget(&c);
                    }
                }
                Action::Unlisten(None) => {
                    for c in std::mem::take(&mut self.listening) {
                        self.forget(&c);
                    }
                }
            }
        }
        if self.notes.is_empty() {
            return;
        }
        self.sent.clear();
        self.note_bytes = 0;
        let notes: Vec<Note> = self.notes.drain(..).map(|(c, p)| (self.pid, c, p)).collect();
        deliver_here(&notes);
        let (me, shards) = orbit_shards::state::local();
        for shard in (0..shards).filter(|&s| s != me) {
            let notes = notes.clone();
            orbit_shards::rt::spawn(async move {
                let _ = orbit_shards::mesh::post(shard, move |_| deliver_here(&notes)).await;
            });
        }
    }

    /// Takes this session's inbox off `channel`'s list on this shard.
    fn forget(&self, channel: &str) {
        LISTENERS.with(|l| {
            let mut l = l.borrow_mut();
            if let Some(inboxes) = l.get_mut(channel) {
                inboxes.retain(|w| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), Rc::as_ptr(&self.inbox)));
                if inboxes.is_empty() {
                    l.remove(channel);
                }
            }
        });
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for c in std::mem::take(&mut self.listening) {
            self.forget(&c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_refuses_notify_and_a_transaction_sends_a_repeat_once() {
        let mut s = Session::new(7);
        s.notify("c".into(), "p".into()).unwrap();
        s.notify("c".into(), "p".into()).unwrap();
        s.notify("c".into(), "q".into()).unwrap();
        assert_eq!(s.notes, [("c".to_string(), "p".to_string()), ("c".to_string(), "q".to_string())]);
        let mark = s.mark();
        s.notify("d".into(), String::new()).unwrap();
        s.roll_back_to(mark);
        assert_eq!(s.notes.len(), 2);
        // Delivered notifications count against the queue until they are taken (or their
        // session goes).
        let inbox = Inbox::default();
        let before = QUEUED_BYTES.load(Ordering::Relaxed);
        inbox.push((1, "c".into(), "x".repeat(100)));
        assert_eq!(QUEUED_BYTES.load(Ordering::Relaxed), before + 101);
        QUEUED_BYTES.fetch_add(QUEUE_LIMIT, Ordering::Relaxed);
        assert_eq!(s.notify("c".into(), "r".into()).unwrap_err().code, "54000");
        QUEUED_BYTES.fetch_sub(QUEUE_LIMIT, Ordering::Relaxed);
        assert_eq!(inbox.take().len(), 1);
        assert_eq!(QUEUED_BYTES.load(Ordering::Relaxed), before);
        inbox.push((1, "c".into(), "y".into()));
        drop(inbox);
        assert_eq!(QUEUED_BYTES.load(Ordering::Relaxed), before);
        s.notify("c".into(), "r".into()).unwrap();
        // A session's channels are bounded.
        let mut t = Session::new(8);
        for i in 0..MAX_CHANNELS {
            t.listen(format!("ch{i}")).unwrap();
        }
        assert_eq!(t.listen("one more".into()).unwrap_err().code, "54000");
        t.discard();
        t.listen("again".into()).unwrap();
        // ROLLBACK TO a savepoint keeps the LISTEN made before it.
        let mark = t.mark();
        t.unlisten(None).unwrap();
        t.roll_back_to(mark);
        assert!(matches!(t.actions.as_slice(), [Action::Listen(c)] if c == "again"));
    }
}
