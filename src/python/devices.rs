//! `_native.enumerate_devices` and `_native.DeviceInput`: the handles behind
//! `mediarecorder.enumerate_devices` and `get_user_media`.

use pyo3::prelude::*;

use crate::core::source::sound::{self as device, AudioConstraints, DeviceCapture};
use crate::python::errors::IntoPyResult;
use crate::python::gil;
use crate::python::track::Track;

/// `[(device_id, kind, label, group_id), ...]`, scanned now.
#[pyfunction]
pub fn enumerate_devices(py: Python<'_>) -> PyResult<Vec<(String, &'static str, String, String)>> {
    let devices = gil::detach(py, device::enumerate).py(py)?;
    Ok(devices.into_iter().map(|d| (d.device_id, d.kind, d.label, d.group_id)).collect())
}

#[pyclass(frozen, module = "mediarecorder._native")]
pub struct DeviceInput {
    /// Taken (and closed, joining its thread) when Python drops the handle.
    inner: Option<DeviceCapture>,
}

impl Drop for DeviceInput {
    /// Closes the device without the GIL: its thread may be waiting for a recorder whose
    /// events need the GIL.
    fn drop(&mut self) {
        if let Some(capture) = self.inner.take() {
            Python::attach(|py| gil::detach(py, move || drop(capture)));
        }
    }
}

#[pymethods]
impl DeviceInput {
    /// Opens the input device that meets every given constraint (waits, without the GIL,
    /// until it runs).
    #[new]
    #[pyo3(signature = (device_id, sample_rate, channel_count))]
    fn new(
        py: Python<'_>,
        device_id: Option<String>,
        sample_rate: Option<u32>,
        channel_count: Option<u16>,
    ) -> PyResult<Self> {
        let c = AudioConstraints { device_id, sample_rate, channel_count };
        let inner = gil::detach(py, move || DeviceCapture::open(c)).py(py)?;
        Ok(DeviceInput { inner: Some(inner) })
    }

    #[getter]
    fn track(&self) -> Track {
        let capture = self.inner.as_ref().expect("taken only on drop");
        Track { inner: capture.track().clone() }
    }
}
