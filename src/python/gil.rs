//! The one place the GIL is released. Every call that can wait (a full media queue, a lock
//! held by a media thread) goes through here, so Python threads keep running meanwhile, and a
//! wait can be interrupted by a signal (Ctrl-C) like any blocking call of Python's own.
//!
//! Rules: nothing read here belongs to Python (NumPy buffers are copied before, with the GIL
//! held: `arrays.rs`), and nothing blocks while the GIL is held.
//!
//! It is also the one place a Rust frame takes the GIL, because of interpreter exit: a thread
//! that takes the GIL once finalization has begun is ended by CPython with `pthread_exit`,
//! whose forced unwind through Rust frames (pyo3's panic guards) aborts the process. So from
//! the `atexit` hook on ([`shutdown`]), no thread enters: the delivery thread skips its
//! callbacks, and a daemon thread coming back from a wait parks for good (what CPython 3.14
//! does itself). `shutdown` waits, GIL released, for the threads already on their way in.
//! The thread that runs `shutdown` is the one finalizing the interpreter: CPython lets it
//! take the GIL back, and it must, or the process never exits (it drops the handles the
//! script left open, a device's among them), so it alone is let in.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pyo3::{PyErr, PyResult, Python};

use crate::core::wait::Interruptible;

static EXITING: AtomicBool = AtomicBool::new(false);
/// Threads inside the interpreter through [`attach`], or on their way back from [`detach`].
static INSIDE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's share of `INSIDE` (nested attach/detach).
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// This thread ran [`shutdown`]: it finalizes the interpreter.
    static FINALIZING: Cell<bool> = const { Cell::new(false) };
}

/// Counts this thread in, unless the interpreter is exiting (and this is not the thread
/// that finalizes it). Paired with [`leave`].
fn enter() -> bool {
    INSIDE.fetch_add(1, SeqCst);
    if EXITING.load(SeqCst) && !FINALIZING.with(Cell::get) {
        INSIDE.fetch_sub(1, SeqCst);
        return false;
    }
    DEPTH.with(|d| d.set(d.get() + 1));
    true
}

fn leave() {
    DEPTH.with(|d| d.set(d.get() - 1));
    INSIDE.fetch_sub(1, SeqCst);
}

/// Never returns: this thread may not take the GIL again (see the module's comment).
fn park_for_good() -> ! {
    INSIDE.fetch_sub(DEPTH.with(Cell::get), SeqCst);
    loop {
        std::thread::park();
    }
}

/// Runs `f` with the GIL from a thread of ours; `None` once the interpreter is exiting.
pub fn attach<R>(f: impl FnOnce(Python<'_>) -> R) -> Option<R> {
    if !enter() {
        return None;
    }
    let out = Python::attach(f);
    leave();
    Some(out)
}

/// Called from `atexit`: from now on no thread of ours takes the GIL. Waits (up to 2 s, GIL
/// released) for those already inside, such as a handler running on the delivery thread.
pub fn shutdown(py: Python<'_>) {
    FINALIZING.with(|f| f.set(true));
    EXITING.store(true, SeqCst);
    py.detach(|| {
        let deadline = Instant::now() + Duration::from_secs(2);
        while INSIDE.load(SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

pub fn detach<T: Send, F: Send + FnOnce() -> T>(py: Python<'_>, f: F) -> T {
    let out = py.detach(move || {
        let out = f();
        if !enter() {
            park_for_good();
        }
        out
    });
    leave();
    out
}

/// Runs `f` without the GIL; the core's waits inside it run the signal handlers every 50 ms
/// (`check_signals`) and give up when one raises (KeyboardInterrupt for Ctrl-C): that
/// exception is returned instead of `f`'s result.
pub fn detach_interruptible<T: Send, F: Send + FnOnce() -> T>(py: Python<'_>, f: F) -> PyResult<T> {
    let raised: Arc<Mutex<Option<PyErr>>> = Arc::default();
    let stash = raised.clone();
    let out = detach(py, move || {
        let _check = Interruptible::new(Box::new(move || {
            attach(|py| match py.check_signals() {
                Ok(()) => false,
                Err(e) => {
                    *stash.lock() = Some(e);
                    true
                }
            })
            .unwrap_or(false)
        }));
        f()
    });
    let raised = raised.lock().take();
    match raised {
        Some(e) => Err(e),
        None => Ok(out),
    }
}
