//! Process exit: every recording still running is stopped and its file finished.
//!
//! A script that ends (or calls `sys.exit`, or dies of an exception or Ctrl-C) while it
//! records has no chance to stop its recorder, and the process then ends the session threads
//! wherever they are: a file without a timeslice would hold nothing. The embedder calls
//! [`finish_all`] once, at exit, before the interpreter goes away.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use parking_lot::Mutex;

/// A recorder as exit sees it.
pub(crate) trait StopAtExit: Send + Sync {
    /// Stops the active session, if any; returns what disconnects when the recorder's last
    /// session has finished (its file included).
    fn stop_at_exit(&self) -> Option<Receiver<()>>;
}

static RECORDERS: Mutex<Vec<Weak<dyn StopAtExit>>> = Mutex::new(Vec::new());

/// Remembers a recorder (weakly: exit never keeps one alive).
pub(crate) fn register(recorder: Weak<dyn StopAtExit>) {
    let mut all = RECORDERS.lock();
    all.retain(|r| r.strong_count() > 0);
    all.push(recorder);
}

/// Stops every recorder and waits, up to `limit` in all, for their sessions to finish.
/// Returns how many had not finished by then.
pub fn finish_all(limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    let recorders: Vec<Arc<dyn StopAtExit>> =
        RECORDERS.lock().iter().filter_map(Weak::upgrade).collect();
    let pending: Vec<Receiver<()>> = recorders.iter().filter_map(|r| r.stop_at_exit()).collect();
    drop(recorders);
    pending
        .iter()
        .filter(|done| matches!(done.recv_deadline(deadline), Err(RecvTimeoutError::Timeout)))
        .count()
}
