//! `mediarecorder.decode`: a recording's audio as a float32 `(frames, channels)` array.

use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;

use crate::python::errors::IntoPyResult;

/// Decodes audio track `track` of `src` (a recording's bytes), GIL released: the samples, the
/// rate, and the times as an int64 `(rows, 2)` array of (frame, µs).
#[pyfunction]
#[pyo3(signature = (src, track=0))]
pub fn decode<'py>(
    py: Python<'py>,
    src: &[u8],
    track: usize,
) -> PyResult<(Bound<'py, PyAny>, u32, Bound<'py, PyAny>)> {
    // Copied first: nothing of Python's is read without the GIL.
    let src = src.to_vec();
    let d = crate::python::gil::detach(py, || crate::core::decode::decode(&src, track)).py(py)?;
    let (frames, channels, rate) = (d.frames(), d.channels, d.sample_rate);
    let array = PyArray1::from_vec(py, d.samples).reshape([frames, channels])?;
    let rows = d.times.len();
    let times: Vec<i64> = d
        .times
        .iter()
        .flat_map(|&(frame, ns)| [frame as i64, (ns as i128 + 500).div_euclid(1000) as i64])
        .collect();
    let times = PyArray1::from_vec(py, times).reshape([rows, 2])?;
    Ok((array.into_any(), rate, times.into_any()))
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
