//! `_native.VideoInput`, `_native.Pattern` and `_native.render_test_pattern`: the handles
//! behind `VideoSource` and `TestPatternSource`.

use numpy::{
    PyArray1, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::core::media::VideoFrame;
use crate::core::source::convert::i420::PixelFormat;
use crate::core::source::pattern::{self, TestPattern};
use crate::core::source::video::VideoInput as CoreVideoInput;
use crate::python::arrays::to_c_order;
use crate::python::errors::IntoPyResult;
use crate::python::gil;
use crate::python::track::Track;

#[pyclass(frozen, module = "mediarecorder._native")]
pub struct VideoInput {
    inner: CoreVideoInput,
    width: u32,
    height: u32,
}

#[pymethods]
impl VideoInput {
    #[new]
    #[pyo3(signature = (width, height, frame_rate, pixel_format, label, drop_when_behind))]
    fn new(
        py: Python<'_>,
        width: u32,
        height: u32,
        frame_rate: f64,
        pixel_format: &str,
        label: &str,
        drop_when_behind: bool,
    ) -> PyResult<Self> {
        let inner =
            CoreVideoInput::new(width, height, frame_rate, pixel_format, label, drop_when_behind)
                .py(py)?;
        Ok(VideoInput { inner, width, height })
    }

    #[getter]
    fn track(&self) -> Track {
        Track { inner: self.inner.track().clone() }
    }

    #[pyo3(signature = (frame, timestamp=None))]
    fn write(
        &self,
        py: Python<'_>,
        frame: &Bound<'_, PyAny>,
        timestamp: Option<f64>,
    ) -> PyResult<()> {
        let array = frame.cast::<PyUntypedArray>().map_err(|_| {
            PyTypeError::new_err(format!(
                "frame: expected a numpy.ndarray of uint8, got {}",
                frame.get_type().name().map(|n| n.to_string()).unwrap_or_default()
            ))
        })?;
        if !array.dtype().is_equiv_to(&numpy::dtype::<u8>(py)) {
            return Err(PyTypeError::new_err(format!(
                "frame: expected dtype uint8, got {}",
                array.dtype().str()?
            )));
        }
        let format = self.inner.format();
        let shape = array.shape().to_vec();
        let (width, height) = match (format, shape.as_slice()) {
            (PixelFormat::Rgb24 | PixelFormat::Bgr24, [h, w, 3])
            | (PixelFormat::Rgba | PixelFormat::Bgra, [h, w, 4])
            | (PixelFormat::Gray, [h, w]) => (*w as u32, *h as u32),
            (PixelFormat::I420, [rows, w]) if rows % 3 == 0 && w % 2 == 0 => {
                (*w as u32, (rows / 3 * 2) as u32)
            }
            (PixelFormat::I420, [n]) if *n == VideoFrame::byte_len(self.width, self.height) => {
                (self.width, self.height)
            }
            _ => {
                let expected = match format {
                    PixelFormat::Rgb24 | PixelFormat::Bgr24 => "(height, width, 3)",
                    PixelFormat::Rgba | PixelFormat::Bgra => "(height, width, 4)",
                    PixelFormat::Gray => "(height, width)",
                    PixelFormat::I420 => {
                        "(height * 3 // 2, width) with even sizes, or (n,) holding the I420 planes \
                         of the source's size"
                    }
                };
                return Err(PyValueError::new_err(format!(
                    "frame: expected shape {expected} for pixel format {format:?}, got {shape:?}"
                )));
            }
        };
        let data = to_c_order(&array.cast::<PyArrayDyn<u8>>()?.readonly());
        let input = &self.inner;
        gil::detach_interruptible(py, || input.write(width, height, &data, timestamp))?.py(py)
    }

    fn close(&self, py: Python<'_>) {
        let input = &self.inner;
        gil::detach(py, || input.close());
    }
}

#[pyclass(frozen, module = "mediarecorder._native")]
pub struct Pattern {
    inner: TestPattern,
}

#[pymethods]
impl Pattern {
    #[new]
    #[pyo3(signature = (width, height, frame_rate))]
    fn new(py: Python<'_>, width: u32, height: u32, frame_rate: f64) -> PyResult<Self> {
        Ok(Pattern { inner: TestPattern::start(width, height, frame_rate).py(py)? })
    }

    #[getter]
    fn track(&self) -> Track {
        Track { inner: self.inner.track().clone() }
    }
}

/// Frame `index` of the test pattern as an RGB array of shape (height, width, 3).
#[pyfunction]
pub fn render_test_pattern<'py>(
    py: Python<'py>,
    width: u32,
    height: u32,
    index: u64,
) -> PyResult<Bound<'py, PyAny>> {
    crate::core::source::video::check_size(width, height).py(py)?;
    let rgb = gil::detach(py, || pattern::render(width, height, index));
    let flat = PyArray1::from_vec(py, rgb);
    flat.reshape([height as usize, width as usize, 3]).map(pyo3::Bound::into_any)
}
