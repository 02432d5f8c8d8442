//! The delivery thread: every Python callback of the library (recorder events, track `onended`)
//! runs here, one at a time, in the order it was queued, never inside the call that caused it.
//! Callbacks may call any recorder method: none of them waits for this thread.

use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

use crossbeam_channel::Sender;
use parking_lot::Mutex;
use pyo3::prelude::*;

use crate::core::recorder::{Event, EventOutlet, Task};
use crate::core::session::BudgetGuard;
use crate::core::wait;
use crate::python::events::RecorderEvent;

type Job = Box<dyn FnOnce() + Send>;

/// The delivery thread of one process: a forked child has the parent's memory but none of its
/// threads, so a queue whose `pid` is not ours has nobody reading it and is replaced.
struct Delivery {
    pid: u32,
    tx: Sender<Job>,
}

/// Never freed: a job may still hold the sender's clone; a child forgets the parent's (leaks
/// it), since its thread does not exist there. Lock-free, so a fork can never inherit it locked.
static DELIVERY: AtomicPtr<Delivery> = AtomicPtr::new(std::ptr::null_mut());

thread_local! {
    static ON_DELIVERY_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn start_delivery(pid: u32) -> Box<Delivery> {
    let (tx, rx) = crossbeam_channel::unbounded::<Job>();
    std::thread::Builder::new()
        .name("mediarecorder-delivery".into())
        .spawn(move || {
            ON_DELIVERY_THREAD.with(|d| d.set(true));
            // A handler that writes to a source must not wait for this very thread.
            wait::never_wait_here();
            for job in rx {
                // A job that panics loses its own event only: the thread lives on for the
                // events after it (a `stop` that never came would hang every waiter).
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
        })
        .expect("cannot start the mediarecorder delivery thread");
    Box::new(Delivery { pid, tx })
}

/// Queues `job` for this process's delivery thread (started on first use, and again in a
/// forked child).
pub fn queue(job: Job) {
    let pid = std::process::id();
    let mut current = DELIVERY.load(Ordering::Acquire);
    // SAFETY: a published `Delivery` is never freed.
    while current.is_null() || unsafe { (*current).pid } != pid {
        let fresh = Box::into_raw(start_delivery(pid));
        match DELIVERY.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => current = fresh,
            Err(other) => {
                // Another thread installed one first: ours ends with its sender.
                // SAFETY: `fresh` was never published.
                drop(unsafe { Box::from_raw(fresh) });
                current = other;
            }
        }
    }
    // SAFETY: as above.
    let _ = unsafe { &(*current).tx }.send(job);
}

/// While handlers run on an event loop's thread, writes from it must not wait either: the
/// blobs the recording waits for are queued on that very loop. Returns the previous setting.
#[pyfunction]
pub fn set_handler_thread(on: bool) -> bool {
    wait::set_never_wait(on)
}

/// True on the delivery thread, where a call that waits for an event would wait forever.
#[pyfunction]
pub fn on_delivery_thread() -> bool {
    ON_DELIVERY_THREAD.with(std::cell::Cell::get)
}

/// The blob budget (`session/budget.rs`) held by one delivered blob until its consumer has taken it:
/// the handlers have run, the event loop has run them, the chunk iterator has yielded it.
/// Python holds it next to the blob; it gives the bytes back when released or collected.
#[pyclass(frozen, module = "mediarecorder._native")]
pub struct BlobTicket {
    pub(crate) guard: Mutex<Option<BudgetGuard>>,
}

#[pymethods]
impl BlobTicket {
    /// Gives the blob's bytes back to the recorder's budget (idempotent).
    fn release(&self) {
        self.guard.lock().take();
    }
}

/// Calls `f` with the GIL unless the interpreter is exiting.
pub fn with_python(f: impl FnOnce(Python<'_>)) {
    crate::python::gil::attach(f);
}

/// How long exit waits for the recordings it stops to finish their files.
const EXIT_FINISH: std::time::Duration = std::time::Duration::from_secs(5);

/// Called from `atexit`: no callback may enter an interpreter that is finalizing; every
/// recording still running is stopped and its file finished (events are not delivered).
#[pyfunction]
pub fn shutdown(py: Python<'_>) {
    crate::python::gil::shutdown(py);
    crate::python::gil::detach(py, || crate::core::exit::finish_all(EXIT_FINISH));
}

/// Reports an exception raised by a handler through `sys.unraisablehook`.
#[pyfunction]
pub fn report_unraisable(py: Python<'_>, exc: Bound<'_, PyAny>, obj: Bound<'_, PyAny>) {
    PyErr::from_value(exc).write_unraisable(py, Some(&obj));
}

/// Hands a recorder's tasks to the delivery thread and its events to a Python callable,
/// `dispatch(event)` with a [`RecorderEvent`]. The callable is held weakly (a
/// `weakref.WeakMethod`), so a recorder that Python dropped is not kept alive by its events.
pub struct RecorderDelivery {
    pub dispatch: Arc<Py<PyAny>>,
}

impl EventOutlet for RecorderDelivery {
    fn post(&self, task: Task) {
        let dispatch = self.dispatch.clone();
        queue(Box::new(move || {
            let session = task.session();
            let Some(event) = task.run() else { return };
            with_python(|py| {
                if let Err(e) = deliver(py, &dispatch, event, session) {
                    e.write_unraisable(py, None);
                }
            });
        }));
    }
}

fn deliver(py: Python<'_>, weak: &Py<PyAny>, event: Event, session: u64) -> PyResult<()> {
    let target = weak.bind(py).call0()?;
    if target.is_none() {
        return Ok(());
    }
    target.call1((RecorderEvent::new(py, event, session)?,))?;
    Ok(())
}
