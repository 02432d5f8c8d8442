//! `_native.Reader`: the handle behind `mediarecorder.MediaStreamTrackProcessor`, and
//! `_native.Picture`, a frame it read (converted to NumPy on demand, GIL released).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use numpy::{PyArray1, PyArrayMethods};
use pyo3::exceptions::{PyTimeoutError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use yuvutils_rs::{YuvPlanarImage, YuvRange, YuvStandardMatrix};

use crate::core::media::VideoFrame;
use crate::core::reader::{Item, Read, Reader as CoreReader};
use crate::python::gil;
use crate::python::track::Track;

#[pyclass(frozen, module = "mediarecorder._native")]
pub struct Reader {
    inner: Arc<CoreReader>,
}

#[pymethods]
impl Reader {
    #[new]
    fn new(track: PyRef<'_, Track>, capacity: usize) -> Self {
        Reader { inner: track.inner.attach_reader(capacity) }
    }

    /// The next item: `("audio", samples (frames, channels), sample_rate, timestamp_us)` or
    /// `("video", Picture, timestamp_us)`; None once the track ended and all was read.
    /// Raises TimeoutError after `timeout` seconds; Ctrl-C interrupts the wait.
    #[pyo3(signature = (timeout=None))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let timeout = match timeout {
            Some(t) if !(t.is_finite() && t >= 0.0) => {
                return Err(PyValueError::new_err(format!(
                    "timeout: expected a finite number of seconds >= 0 or None, got {t}"
                )))
            }
            t => t.map(Duration::from_secs_f64),
        };
        let reader = self.inner.clone();
        match gil::detach_interruptible(py, move || reader.read(timeout))? {
            Read::Item(Item::Audio(block), us) => {
                let (frames, channels) = (block.frames(), block.channels as usize);
                let rate = block.sample_rate;
                let array = PyArray1::from_vec(py, block.samples).reshape([frames, channels])?;
                Ok(Some(("audio", array, rate, us).into_pyobject(py)?.into_any()))
            }
            Read::Item(Item::Video(frame), us) => {
                let picture = Bound::new(py, Picture { frame })?;
                Ok(Some(("video", picture, us).into_pyobject(py)?.into_any()))
            }
            Read::Timeout => Err(PyTimeoutError::new_err("read: nothing came within the timeout")),
            // Interrupted without a Python exception: the interrupt check was someone else's.
            Read::Ended | Read::Interrupted => Ok(None),
        }
    }

    fn close(&self, py: Python<'_>) {
        let reader = self.inner.clone();
        gil::detach(py, move || reader.close());
    }

    /// `delivered` items read, `dropped` items (and `dropped_frames` in them) lost to a full
    /// buffer, `buffered` items waiting now.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = &self.inner.stats;
        let d = PyDict::new(py);
        d.set_item("delivered", s.delivered.load(Relaxed))?;
        d.set_item("dropped", s.dropped.load(Relaxed))?;
        d.set_item("dropped_frames", s.dropped_frames.load(Relaxed))?;
        d.set_item("buffered", self.inner.buffered())?;
        Ok(d)
    }
}

/// A picture a reader read: I420 as the track carries it.
#[pyclass(frozen, module = "mediarecorder._native")]
pub struct Picture {
    frame: Arc<VideoFrame>,
}

#[pymethods]
impl Picture {
    #[getter]
    fn width(&self) -> u32 {
        self.frame.width
    }
    #[getter]
    fn height(&self) -> u32 {
        self.frame.height
    }

    /// The picture as `format`: "rgb24", "bgr24", "rgba" (height, width, n), "gray"
    /// (height, width; full-range luma) or "i420" (the planes, one after the other).
    fn to_numpy<'py>(&self, py: Python<'py>, format: &str) -> PyResult<Bound<'py, PyAny>> {
        let f = self.frame.clone();
        let (w, h) = (f.width as usize, f.height as usize);
        let channels = match format {
            "rgb24" | "bgr24" => 3,
            "rgba" => 4,
            "gray" => 1,
            "i420" => return Ok(PyArray1::from_slice(py, &f.data).into_any()),
            _ => {
                return Err(PyValueError::new_err(format!(
                    "format: expected \"rgb24\", \"bgr24\", \"rgba\", \"gray\" or \"i420\", got {format:?}"
                )))
            }
        };
        let format = format.to_string();
        let out = gil::detach(py, move || convert(&f, &format, channels));
        let out = out.map_err(|e| PyValueError::new_err(format!("conversion failed: {e}")))?;
        let shape: Vec<usize> = if channels == 1 { vec![h, w] } else { vec![h, w, channels] };
        Ok(PyArray1::from_vec(py, out).reshape(shape)?.into_any())
    }
}

fn convert(f: &VideoFrame, format: &str, channels: usize) -> Result<Vec<u8>, String> {
    let (w, h) = (f.width as usize, f.height as usize);
    let (y, u, v) = f.planes();
    if channels == 1 {
        // Limited-range luma (what the sources write, BT.601) widened to full range.
        return Ok(y
            .iter()
            .map(|&l| ((l.saturating_sub(16) as u32 * 255 + 109) / 219).min(255) as u8)
            .collect());
    }
    let cw = VideoFrame::chroma_size(f.width, f.height).0 as u32;
    let image = YuvPlanarImage {
        y_plane: y,
        y_stride: f.width,
        u_plane: u,
        u_stride: cw,
        v_plane: v,
        v_stride: cw,
        width: f.width,
        height: f.height,
    };
    let mut out = vec![0u8; w * h * channels];
    let stride = (w * channels) as u32;
    let (range, matrix) = (YuvRange::Limited, YuvStandardMatrix::Bt601);
    let r = match format {
        "rgb24" => yuvutils_rs::yuv420_to_rgb(&image, &mut out, stride, range, matrix),
        "bgr24" => yuvutils_rs::yuv420_to_bgr(&image, &mut out, stride, range, matrix),
        _ => yuvutils_rs::yuv420_to_rgba(&image, &mut out, stride, range, matrix),
    };
    r.map_err(|e| e.to_string())?;
    Ok(out)
}
