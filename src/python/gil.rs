//! The one place the GIL is released. Every call that can wait (a full media queue, a lock
//! held by a media thread) goes through here, so Python threads keep running meanwhile, and a
//! wait can be interrupted by a signal (Ctrl-C) like any blocking call of Python's own.
//!
//! Rules: nothing read here belongs to Python (NumPy buffers are copied before, with the GIL
//! held: `arrays.rs`), and nothing blocks while the GIL is held.

use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::marker::Ungil;
use pyo3::{PyErr, PyResult, Python};

use crate::core::wait::Interruptible;

pub fn detach<T: Ungil, F: Ungil + FnOnce() -> T>(py: Python<'_>, f: F) -> T {
    py.detach(f)
}

/// Runs `f` without the GIL; the core's waits inside it run the signal handlers every 50 ms
/// (`check_signals`) and give up when one raises (KeyboardInterrupt for Ctrl-C): that
/// exception is returned instead of `f`'s result.
pub fn detach_interruptible<T: Send, F: Send + FnOnce() -> T>(py: Python<'_>, f: F) -> PyResult<T> {
    let raised: Arc<Mutex<Option<PyErr>>> = Arc::default();
    let stash = raised.clone();
    let out = py.detach(move || {
        let _check = Interruptible::new(Box::new(move || {
            Python::attach(|py| match py.check_signals() {
                Ok(()) => false,
                Err(e) => {
                    *stash.lock() = Some(e);
                    true
                }
            })
        }));
        f()
    });
    let raised = raised.lock().take();
    match raised {
        Some(e) => Err(e),
        None => Ok(out),
    }
}
