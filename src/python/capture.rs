//! `_native.ScreenInput`, `_native.CameraInput` and `_native.enumerate_cameras`: the handles
//! behind `get_display_media` and the video part of `get_user_media`/`enumerate_devices`.

use pyo3::prelude::*;

use crate::core::source::camera::formats::CameraFormat;
use crate::core::source::camera::{self, CameraCapture, CameraConstraints};
use crate::core::source::screen::{ScreenCapture, ScreenConstraints};
use crate::python::errors::IntoPyResult;
use crate::python::gil;
use crate::python::track::Track;

#[pyclass(frozen, module = "mediarecorder._native")]
pub struct ScreenInput {
    inner: ScreenCapture,
}

#[pymethods]
impl ScreenInput {
    /// Connects to the X display and starts capturing (without the GIL; Ctrl-C interrupts
    /// the wait for the server).
    #[new]
    #[pyo3(signature = (display, x, y, region_width, region_height, width, height, frame_rate, cursor, backend=None, persist_mode=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        display: Option<String>,
        x: Option<u32>,
        y: Option<u32>,
        region_width: Option<u32>,
        region_height: Option<u32>,
        width: Option<u32>,
        height: Option<u32>,
        frame_rate: Option<f64>,
        cursor: bool,
        backend: Option<String>,
        persist_mode: u32,
    ) -> PyResult<Self> {
        let c = ScreenConstraints {
            display,
            x,
            y,
            region_width,
            region_height,
            width,
            height,
            frame_rate,
            cursor,
            backend,
            persist_mode,
        };
        let inner = gil::detach_interruptible(py, move || ScreenCapture::open(c))?.py(py)?;
        Ok(ScreenInput { inner })
    }

    #[getter]
    fn track(&self) -> Track {
        Track { inner: self.inner.track().clone() }
    }

    /// The ScreenCast portal's restore token (Wayland with a persist_mode), else None.
    #[getter]
    fn restore_token(&self) -> Option<&str> {
        self.inner.restore_token()
    }

    /// Whether the pictures come through MIT-SHM (False: plain GetImage).
    #[getter]
    fn uses_shm(&self) -> bool {
        self.inner.uses_shm()
    }
}

#[pyclass(frozen, module = "mediarecorder._native")]
pub struct CameraInput {
    inner: CameraCapture,
}

#[pymethods]
impl CameraInput {
    /// Opens the camera that meets every given constraint and starts it (without the GIL).
    #[new]
    #[pyo3(signature = (device_id, width, height, frame_rate, pixel_format))]
    fn new(
        py: Python<'_>,
        device_id: Option<String>,
        width: Option<u32>,
        height: Option<u32>,
        frame_rate: Option<f64>,
        pixel_format: Option<&str>,
    ) -> PyResult<Self> {
        let pixel_format = pixel_format.map(CameraFormat::parse).transpose().py(py)?;
        let c = CameraConstraints { device_id, width, height, frame_rate, pixel_format };
        let inner = gil::detach(py, move || CameraCapture::open(c)).py(py)?;
        Ok(CameraInput { inner })
    }

    #[getter]
    fn track(&self) -> Track {
        Track { inner: self.inner.track().clone() }
    }

    /// What the camera delivers: "yuyv", "nv12" or "mjpeg".
    #[getter]
    fn pixel_format(&self) -> &'static str {
        self.inner.format().name()
    }
}

/// `[(device_id, "videoinput", label, group_id), ...]`, scanned now.
#[pyfunction]
pub fn enumerate_cameras(py: Python<'_>) -> Vec<(String, &'static str, String, String)> {
    gil::detach(py, camera::enumerate)
        .into_iter()
        .map(|c| (c.device_id, "videoinput", c.label, c.group_id))
        .collect()
}
