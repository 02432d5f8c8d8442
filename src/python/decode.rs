//! `mediarecorder.decode`: a recording's audio as a float32 `(frames, channels)` array.

use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;

use crate::python::errors::IntoPyResult;

/// Decodes the first audio track of `src` (a recording's bytes), GIL released.
#[pyfunction]
pub fn decode<'py>(py: Python<'py>, src: &[u8]) -> PyResult<(Bound<'py, PyAny>, u32)> {
    // Copied first: nothing of Python's is read without the GIL.
    let src = src.to_vec();
    let d = crate::python::gil::detach(py, || crate::core::decode::decode(&src)).py(py)?;
    let (frames, channels, rate) = (d.frames(), d.channels, d.sample_rate);
    let array = PyArray1::from_vec(py, d.samples).reshape([frames, channels])?;
    Ok((array.into_any(), rate))
}

/// The bytes of an object-store object, GIL released; `options` as a recorder's
/// `storage_options`.
#[pyfunction]
#[pyo3(signature = (url, options=Vec::new()))]
pub fn read_object<'py>(
    py: Python<'py>,
    url: &str,
    options: Vec<(String, String)>,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    use crate::core::sink::{destination::StorageOptions, store::read::read};
    let options = StorageOptions::parse(options).py(py)?;
    let data = crate::python::gil::detach(py, || read(url, &options)).py(py)?;
    Ok(pyo3::types::PyBytes::new(py, &data))
}
