//! The two rules for every wait a caller of the core can be in (a full media queue):
//!
//! - the thread that delivers events never waits: a handler that writes to a source would
//!   otherwise wait for the pipeline, which waits for the blob budget, which waits for that
//!   very thread ([`never_wait_here`]);
//! - every other wait can be interrupted by the embedder (Ctrl-C in Python): while a check is
//!   installed on the thread ([`Interruptible`]), waits call it every [`CHECK_EVERY`] and give
//!   up when it says so. A wait that gives up has queued nothing.

use std::cell::{Cell, RefCell};
use std::time::Duration;

/// How often a waiting thread asks its interrupt check.
pub const CHECK_EVERY: Duration = Duration::from_millis(50);

type Check = Box<dyn Fn() -> bool>;

thread_local! {
    static NEVER_WAIT: Cell<bool> = const { Cell::new(false) };
    static CHECK: RefCell<Option<Check>> = const { RefCell::new(None) };
    static INTERRUPTED: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread as one that must never wait for room (the delivery thread).
pub fn never_wait_here() {
    NEVER_WAIT.with(|n| n.set(true));
}

/// Marks or unmarks the current thread (an event loop's, while it runs handlers, which hold
/// back the blobs the recording waits for); returns the previous mark.
pub fn set_never_wait(on: bool) -> bool {
    NEVER_WAIT.with(|n| n.replace(on))
}

/// True on a thread marked by [`never_wait_here`].
pub fn never_waits() -> bool {
    NEVER_WAIT.with(Cell::get)
}

/// Installs `check` on the current thread until dropped: waits call it and stop when it
/// returns true. [`Interruptible::interrupted`] then says that a wait gave up.
pub struct Interruptible {
    previous: Option<Check>,
}

impl Interruptible {
    pub fn new(check: Check) -> Self {
        INTERRUPTED.with(|i| i.set(false));
        Interruptible { previous: CHECK.with(|c| c.replace(Some(check))) }
    }

    /// True if a wait on this thread gave up since this check was installed.
    pub fn interrupted(&self) -> bool {
        INTERRUPTED.with(Cell::get)
    }
}

impl Drop for Interruptible {
    fn drop(&mut self) {
        CHECK.with(|c| *c.borrow_mut() = self.previous.take());
    }
}

/// Called by a waiting thread every [`CHECK_EVERY`]: true when the wait must give up.
pub(crate) fn should_give_up() -> bool {
    if INTERRUPTED.with(Cell::get) {
        return true;
    }
    let stop = CHECK.with(|c| c.borrow().as_ref().is_some_and(|check| check()));
    if stop {
        INTERRUPTED.with(|i| i.set(true));
    }
    stop
}
