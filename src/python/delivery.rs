//! The delivery thread: every Python callback of the library (recorder events, track `onended`)
//! runs here, one at a time, in the order it was queued, never inside the call that caused it.
//! Callbacks may call any recorder method: none of them waits for this thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crossbeam_channel::Sender;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::core::recorder::{Event, EventSink, Task};
use crate::python::errors::event_error;

type Job = Box<dyn FnOnce() + Send>;

static QUEUE: OnceLock<Sender<Job>> = OnceLock::new();
static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);

/// Queues `job` for the delivery thread (started on first use).
pub fn queue(job: Job) {
    let tx = QUEUE.get_or_init(|| {
        let (tx, rx) = crossbeam_channel::unbounded::<Job>();
        std::thread::Builder::new()
            .name("mediarecorder-delivery".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            })
            .expect("cannot start the mediarecorder delivery thread");
        tx
    });
    let _ = tx.send(job);
}

/// Calls `f` with the GIL unless the interpreter is shutting down.
pub fn with_python(f: impl FnOnce(Python<'_>)) {
    if SHUTTING_DOWN.load(Ordering::Acquire) {
        return;
    }
    Python::attach(f);
}

/// Called from `atexit`: no callback may enter an interpreter that is finalizing.
#[pyfunction]
pub fn shutdown() {
    SHUTTING_DOWN.store(true, Ordering::Release);
}

/// Reports an exception raised by a handler through `sys.unraisablehook`.
#[pyfunction]
pub fn report_unraisable(py: Python<'_>, exc: Bound<'_, PyAny>, obj: Bound<'_, PyAny>) {
    PyErr::from_value(exc).write_unraisable(py, Some(&obj));
}

/// Hands a recorder's tasks to the delivery thread and its events to a Python callable,
/// `dispatch(type, data, mime_type, timecode, error)`. The callable is held weakly (a
/// `weakref.WeakMethod`), so a recorder that Python dropped is not kept alive by its events.
pub struct PySink {
    pub dispatch: Arc<Py<PyAny>>,
}

impl EventSink for PySink {
    fn post(&self, task: Task) {
        let dispatch = self.dispatch.clone();
        queue(Box::new(move || {
            let Some(event) = task.run() else { return };
            with_python(|py| {
                if let Err(e) = deliver(py, &dispatch, event) {
                    e.write_unraisable(py, None);
                }
            });
        }));
    }
}

fn deliver(py: Python<'_>, weak: &Py<PyAny>, event: Event) -> PyResult<()> {
    let target = weak.bind(py).call0()?;
    if target.is_none() {
        return Ok(());
    }
    let type_ = event.type_();
    match event {
        Event::DataAvailable { data, mime_type, timecode, .. } => {
            let bytes = PyBytes::new(py, &data);
            drop(data);
            target.call1((type_, bytes, mime_type, timecode, py.None()))?;
        }
        Event::Error(e) => {
            let exc = event_error(py, &e)?;
            target.call1((type_, py.None(), py.None(), py.None(), exc))?;
        }
        _ => {
            target.call1((type_, py.None(), py.None(), py.None(), py.None()))?;
        }
    }
    Ok(())
}
