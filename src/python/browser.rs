//! `_native.ByteSink`: a recording muxed elsewhere (the browser's own MediaRecorder, reached
//! through a notebook widget: `mediarecorder/browser/`) written to the same destinations as a
//! native recording (a path, an object store URL, a file object), through the core's targets.
//! At the end the file is made seekable as a native one is (`make_seekable`: Duration, SeekHead
//! and Cues for WebM, faststart for MP4), where the target can be rewritten.

use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;

use crate::core::recorder::BLOB_BUDGET;
use crate::core::session::Budget;
use crate::core::sink::{Finishing, StorageOptions, Target};
use crate::core::Error;
use crate::python::delivery::BlobTicket;
use crate::python::errors::IntoPyResult;

/// A browser recording's blob budget: the bytes of chunks that arrived and that a consumer
/// (handlers, an event loop, a chunk iterator) has not taken yet, bounded as a native
/// recorder's are (64 MiB). The browser cannot be slowed down, so a chunk that does not fit
/// is refused and the caller ends the recording (`browser/_recorder.py`).
#[pyclass(frozen, module = "mediarecorder._native")]
pub struct BlobBudget {
    budget: Arc<Budget>,
    limit: usize,
}

#[pymethods]
impl BlobBudget {
    #[new]
    #[pyo3(signature = (limit=BLOB_BUDGET))]
    fn new(limit: usize) -> Self {
        BlobBudget { budget: Budget::new(limit), limit }
    }

    /// A ticket holding `n` bytes until released or collected; None if they do not fit.
    fn try_acquire(&self, n: usize) -> Option<BlobTicket> {
        let guard = self.budget.try_acquire(n)?;
        Some(BlobTicket { guard: Mutex::new(Some(guard)) })
    }

    /// Bytes held by tickets not yet released.
    #[getter]
    fn used(&self) -> usize {
        self.budget.used()
    }

    #[getter]
    fn limit(&self) -> usize {
        self.limit
    }
}

#[pyclass(frozen, module = "mediarecorder._native")]
pub struct ByteSink {
    /// None once finished or abandoned.
    target: Mutex<Option<Box<dyn Target>>>,
}

#[pymethods]
impl ByteSink {
    /// Opens `file` now (a path is created or truncated; a URL that does not parse raises),
    /// as `Recorder.start` does; arguments arrive checked for type by the Python layer.
    #[new]
    #[pyo3(signature = (file, storage_options=None))]
    fn new(
        py: Python<'_>,
        file: Bound<'_, PyAny>,
        storage_options: Option<Vec<(String, String)>>,
    ) -> PyResult<Self> {
        let options = StorageOptions::parse(storage_options.unwrap_or_default()).py(py)?;
        let crate::core::sink::Output::Target(open) =
            crate::python::recorder::output(&file, options, None)?
        else {
            unreachable!("no segment asked for")
        };
        let target = crate::python::gil::detach(py, open).py(py)?;
        Ok(ByteSink { target: Mutex::new(Some(target)) })
    }

    /// Appends `data` (copied first: nothing of Python's is read without the GIL).
    fn write(&self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        let data = data.to_vec();
        crate::python::gil::detach(py, || match self.target.lock().as_mut() {
            Some(t) => t.write(&data),
            None => Err(Error::InvalidState("the destination was already finished".into())),
        })
        .py(py)
    }

    /// Finishes the destination; returns its size. `seekable`: rewrite it as a seekable file
    /// (a local file or an object; a file object keeps the live stream). Idempotent: 0 after.
    fn finish(&self, py: Python<'_>, seekable: bool) -> PyResult<u64> {
        let finishing = if seekable { Finishing::Faststart } else { Finishing::Nothing };
        crate::python::gil::detach(py, || match self.target.lock().take() {
            Some(t) => t.finish(finishing),
            None => Ok(0),
        })
        .py(py)
    }
}

/// Queues `callback()` on the library's delivery thread, after every event queued before it:
/// the events of a browser recording run where a native recording's do.
#[pyfunction]
pub fn call_on_delivery_thread(callback: Py<PyAny>) {
    crate::python::delivery::queue(Box::new(move || {
        crate::python::delivery::with_python(|py| {
            if let Err(e) = callback.call0(py) {
                e.write_unraisable(py, Some(callback.bind(py)));
            }
        });
    }));
}

/// The name of segment `index` of a segmented recording started at `unix_ns` (UTC), whose
/// media starts `media_ns` into it, from `template` (`core::sink::Template`: `{index}`,
/// `{index:04d}`, `{start_time}`), with the same millisecond rounding as a native recording's.
#[pyfunction]
pub fn segment_name(
    py: Python<'_>,
    template: &str,
    index: u64,
    unix_ns: i64,
    media_ns: i64,
) -> PyResult<String> {
    let template = crate::core::sink::Template::parse(template).py(py)?;
    let start = unix_ns - unix_ns.rem_euclid(1_000_000);
    let media = media_ns.max(0) - media_ns.max(0) % 1_000_000;
    Ok(template.format(index, start.saturating_add(media)))
}
