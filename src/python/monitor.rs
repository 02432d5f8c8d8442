//! `_native.MonitorInput` and `_native.monitor_device`: system audio, behind
//! `get_display_media(audio=True)` and the monitor entry of `enumerate_devices`.

use pyo3::prelude::*;

use crate::core::source::sound::monitor::{self, MonitorCapture};
use crate::python::errors::IntoPyResult;
use crate::python::gil;
use crate::python::track::Track;

#[pyclass(frozen, module = "mediarecorder._native")]
pub struct MonitorInput {
    /// Taken (and closed, joining its thread) when Python drops the handle.
    inner: Option<MonitorCapture>,
}

impl Drop for MonitorInput {
    /// Closes the stream without the GIL: its thread may wait for a recorder whose events
    /// need the GIL.
    fn drop(&mut self) {
        if let Some(capture) = self.inner.take() {
            Python::attach(|py| gil::detach(py, move || drop(capture)));
        }
    }
}

#[pymethods]
impl MonitorInput {
    /// Starts recording the default output's monitor (connects without the GIL).
    #[new]
    fn new(py: Python<'_>) -> PyResult<Self> {
        let inner = gil::detach(py, MonitorCapture::open).py(py)?;
        Ok(MonitorInput { inner: Some(inner) })
    }

    #[getter]
    fn track(&self) -> Track {
        let capture = self.inner.as_ref().expect("taken only on drop");
        Track { inner: capture.track().clone() }
    }
}

/// `(device_id, label)` of the default output's monitor where a sound server answers, else
/// None.
#[pyfunction]
pub fn monitor_device(py: Python<'_>) -> Option<(String, String)> {
    gil::detach(py, monitor::probe)
}
