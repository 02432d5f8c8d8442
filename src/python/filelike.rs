//! A Python binary file object as a recording's destination (`start(file=BytesIO())`).
//!
//! Its `write` runs on a writer thread of its own (`core::sink::queued`), with the GIL taken
//! there: not on the session thread, which must never wait for Python, and not on the delivery
//! thread, where a slow `write` would hold back every event of every recorder (and a handler
//! that waits for a write would wait for itself). A `write` that raises ends the recording with
//! that exception chained as the `error` event's `__cause__`.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::core::error::TargetFailure;
use crate::core::mux::webm::Patches;
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

    fn write_all(&self, py: Python<'_>, mut data: &[u8]) -> PyResult<()> {
        let obj = self.obj.bind(py);
        while !data.is_empty() {
            let n = obj.call_method1("write", (PyBytes::new(py, data),))?;
            // Raw files may take part of it and say how much; buffered ones take all (and may
            // return None).
            match n.extract::<usize>() {
                Ok(n) if n > 0 && n < data.len() => data = &data[n..],
                _ => return Ok(()),
            }
        }
        Ok(())
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
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.with_python(|py| self.write_all(py, data).map_err(|e| self.failure(py, "write", e)))
    }

    fn finish(&mut self, patches: Option<&Patches>) -> Result<()> {
        self.with_python(|py| {
            let obj = self.obj.bind(py);
            if let (Some(base), Some(patches)) = (self.base, patches) {
                let end = obj.call_method0("tell").map_err(|e| self.failure(py, "tell", e))?;
                for (offset, bytes) in &patches.0 {
                    obj.call_method1("seek", (base + offset,))
                        .map_err(|e| self.failure(py, "seek", e))?;
                    self.write_all(py, bytes).map_err(|e| self.failure(py, "write", e))?;
                }
                obj.call_method1("seek", (end,)).map_err(|e| self.failure(py, "seek", e))?;
            }
            if obj.hasattr("flush").unwrap_or(false) {
                obj.call_method0("flush").map_err(|e| self.failure(py, "flush", e))?;
            }
            Ok(())
        })
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}
