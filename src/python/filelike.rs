//! A Python binary file object as a recording's destination (`start(file=BytesIO())`).
//!
//! Its `write` runs on a writer thread of its own (`core::sink::queued`), with the GIL taken
//! there: not on the session thread, which must never wait for Python, and not on the delivery
//! thread, where a slow `write` would hold back every event of every recorder (and a handler
//! that waits for a write would wait for itself). A `write` that raises ends the recording with
//! that exception chained as the `error` event's `__cause__`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::exceptions::PyBlockingIOError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::core::error::{Stalled, TargetFailure};
use crate::core::mux::Patches;
use crate::core::sink::destination::{seconds, STALL_TIMEOUT_KEY};
use crate::core::sink::file::wait_writable;
use crate::core::sink::queued::ByteWriter;
use crate::core::{Error, Result};

pub struct PyWriter {
    obj: Py<PyAny>,
    /// `tell()` when the recording started, for a seekable object: stream offsets are
    /// relative to it. None: the object cannot seek and gets the live stream only.
    base: Option<u64>,
    name: String,
}

impl PyWriter {
    /// Called with the GIL, on `start()`'s thread: asks `seekable()` and `tell()` now, so a
    /// failure there is `start()`'s.
    pub fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let seekable = obj.hasattr("seekable")?
            && obj.call_method0("seekable")?.is_truthy()?
            && obj.hasattr("seek")?;
        let base = if seekable { Some(obj.call_method0("tell")?.extract::<u64>()?) } else { None };
        let name = obj.repr().map_or_else(|_| "file object".to_string(), |r| r.to_string());
        Ok(PyWriter { obj: obj.clone().unbind(), base, name })
    }

    fn failure(&self, py: Python<'_>, method: &str, e: PyErr) -> Error {
        let value = e.value(py);
        let kind = value.get_type().name().map_or_else(|_| "Exception".into(), |n| n.to_string());
        Error::Target(TargetFailure {
            message: format!("file: {}.{method}() raised {kind}: {value}", self.name),
            cause: Some(Arc::new(value.clone().into_any().unbind())),
        })
    }

    /// Writes all of `data` as `io`'s raw files take it: a count short of it writes the rest;
    /// `None` (would block) waits until the descriptor (`fileno()`) is writable, as does a
    /// buffered file's `BlockingIOError` (after the bytes it took); 0 waits a little. Taking nothing for `stall` is an error, as is `None` with no descriptor.
    fn write_all(&self, py: Python<'_>, mut data: &[u8], stall: Duration) -> Result<()> {
        let obj = self.obj.bind(py);
        let mut progress = Instant::now();
        let mut pause = Duration::from_millis(1);
        while !data.is_empty() {
            let taken = match obj.call_method1("write", (PyBytes::new(py, data),)) {
                Ok(n) if n.is_none() => None,
                Ok(n) => Some(n.extract::<usize>().map_err(|_| {
                    Error::Target(TargetFailure::new(format!(
                        "file: {}.write() returned {}, not a number of bytes",
                        self.name,
                        n.repr().map_or_else(|_| "?".into(), |r| r.to_string())
                    )))
                })?),
                // A buffered file over a non-blocking descriptor: it took `characters_written`
                // bytes and would block.
                Err(e) if e.is_instance_of::<PyBlockingIOError>(py) => {
                    let n = e.value(py).getattr("characters_written").and_then(|n| n.extract());
                    let n: usize = n.unwrap_or(0);
                    if n > 0 {
                        data = &data[n.min(data.len())..];
                        progress = Instant::now();
                    }
                    None
                }
                Err(e) => return Err(self.failure(py, "write", e)),
            };
            match taken {
                None => {
                    let Some(fd) = self.fileno(py) else {
                        return Err(Error::Target(TargetFailure::stalled(
                            format!(
                                "file: {}.write() returned None (it would block) and the \
                                 object has no fileno() to wait on",
                                self.name
                            ),
                            Stalled::WouldBlock,
                        )));
                    };
                    let left = stall.saturating_sub(progress.elapsed());
                    crate::python::gil::detach(py, || wait_writable(fd, left));
                }
                Some(n) if n > data.len() => {
                    return Err(Error::Target(TargetFailure::new(format!(
                        "file: {}.write() returned {n}, more than the {} bytes it was given",
                        self.name,
                        data.len()
                    ))));
                }
                Some(0) => {
                    crate::python::gil::detach(py, || std::thread::sleep(pause));
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Some(n) => {
                    data = &data[n..];
                    progress = Instant::now();
                    pause = Duration::from_millis(1);
                    continue;
                }
            }
            if progress.elapsed() >= stall {
                return Err(Error::Target(TargetFailure::stalled(
                    format!(
                        "file: {}.write() took no bytes for {} ({STALL_TIMEOUT_KEY})",
                        self.name,
                        seconds(stall)
                    ),
                    Stalled::TimedOut,
                )));
            }
        }
        Ok(())
    }

    /// `flush()`, which for a buffered file over a non-blocking descriptor raises
    /// `BlockingIOError` until the descriptor has taken the buffer: waited for as a write is.
    fn flush(&self, py: Python<'_>, stall: Duration) -> Result<()> {
        let obj = self.obj.bind(py);
        let start = Instant::now();
        loop {
            match obj.call_method0("flush") {
                Ok(_) => return Ok(()),
                Err(e) if e.is_instance_of::<PyBlockingIOError>(py) => {
                    let Some(fd) = self.fileno(py) else {
                        return Err(self.failure(py, "flush", e));
                    };
                    if start.elapsed() >= stall {
                        return Err(Error::Target(TargetFailure::stalled(
                            format!(
                                "file: {}.flush() could not write its buffer in {} \
                                 ({STALL_TIMEOUT_KEY})",
                                self.name,
                                seconds(stall)
                            ),
                            Stalled::TimedOut,
                        )));
                    }
                    let left = stall.saturating_sub(start.elapsed());
                    crate::python::gil::detach(py, || wait_writable(fd, left));
                }
                Err(e) => return Err(self.failure(py, "flush", e)),
            }
        }
    }

    /// The object's descriptor, if it has one.
    fn fileno(&self, py: Python<'_>) -> Option<i32> {
        self.obj.bind(py).call_method0("fileno").ok()?.extract().ok()
    }

    fn with_python<T>(&self, f: impl FnOnce(Python<'_>) -> Result<T>) -> Result<T> {
        crate::python::gil::attach(f).unwrap_or_else(|| {
            Err(Error::Target(TargetFailure::new(format!(
                "file: {}: the interpreter is shutting down",
                self.name
            ))))
        })
    }
}

impl ByteWriter for PyWriter {
    fn write(&mut self, data: &[u8], stall: Duration) -> Result<()> {
        self.with_python(|py| self.write_all(py, data, stall))
    }

    fn finish(&mut self, patches: Option<&Patches>, stall: Duration) -> Result<()> {
        self.with_python(|py| {
            let obj = self.obj.bind(py);
            if let (Some(base), Some(patches)) = (self.base, patches) {
                let end = obj.call_method0("tell").map_err(|e| self.failure(py, "tell", e))?;
                for (offset, bytes) in &patches.0 {
                    obj.call_method1("seek", (base + offset,))
                        .map_err(|e| self.failure(py, "seek", e))?;
                    self.write_all(py, bytes, stall)?;
                }
                obj.call_method1("seek", (end,)).map_err(|e| self.failure(py, "seek", e))?;
            }
            if obj.hasattr("flush").unwrap_or(false) {
                self.flush(py, stall)?;
            }
            Ok(())
        })
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}
