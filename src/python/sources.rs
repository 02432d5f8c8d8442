//! `_native.AudioInput` and `_native.Tone`: the handles behind `AudioSource` and `ToneSource`.

use std::sync::Arc;

use numpy::{
    PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::core::source::audio::{AudioInput as CoreAudioInput, Samples};
use crate::core::source::tone::ToneGenerator;
use crate::python::arrays::to_c_order;
use crate::python::errors::IntoPyResult;
use crate::python::gil;
use crate::python::track::Track;

#[pyclass(frozen, module = "mediarecorder._native")]
pub struct AudioInput {
    inner: Arc<CoreAudioInput>,
}

#[pymethods]
impl AudioInput {
    #[new]
    #[pyo3(signature = (sample_rate, channels, label))]
    fn new(py: Python<'_>, sample_rate: u32, channels: u16, label: &str) -> PyResult<Self> {
        Ok(AudioInput {
            inner: Arc::new(CoreAudioInput::new(sample_rate, channels, label).py(py)?),
        })
    }

    #[getter]
    fn track(&self) -> Track {
        Track { inner: self.inner.track().clone() }
    }

    /// Validates `samples` and queues it; waits (without the GIL) while the recorder's queue
    /// is full.
    fn write(&self, py: Python<'_>, samples: &Bound<'_, PyAny>) -> PyResult<()> {
        let array = samples.cast::<PyUntypedArray>().map_err(|_| {
            PyTypeError::new_err(format!(
                "samples: expected a numpy.ndarray, got {}",
                samples.get_type().name().map(|n| n.to_string()).unwrap_or_default()
            ))
        })?;
        let channels = self.inner.channels() as usize;
        let shape = array.shape();
        let ok_shape = match shape {
            [_] => channels == 1,
            [_, c] => *c == channels,
            _ => false,
        };
        if !ok_shape {
            let expected = if channels == 1 {
                "(n,) or (n, 1)".to_string()
            } else {
                format!("(n, {channels})")
            };
            return Err(PyValueError::new_err(format!(
                "samples: expected shape {expected} for a {channels}-channel source, got {shape:?}"
            )));
        }
        let input = self.inner.clone();
        macro_rules! write_as {
            ($t:ty, $variant:ident) => {{
                let data = to_c_order(&array.cast::<PyArrayDyn<$t>>()?.readonly());
                gil::detach_interruptible(py, move || input.write(Samples::$variant(&data)))?
            }};
        }
        let dtype = array.dtype();
        let result = if dtype.is_equiv_to(&numpy::dtype::<f32>(py)) {
            write_as!(f32, F32)
        } else if dtype.is_equiv_to(&numpy::dtype::<f64>(py)) {
            write_as!(f64, F64)
        } else if dtype.is_equiv_to(&numpy::dtype::<i16>(py)) {
            write_as!(i16, I16)
        } else {
            return Err(PyTypeError::new_err(format!(
                "samples: expected dtype float32, float64 or int16, got {}",
                dtype.str()?
            )));
        };
        result.py(py)
    }

    fn close(&self, py: Python<'_>) {
        let input = self.inner.clone();
        gil::detach(py, move || input.close());
    }
}

#[pyclass(frozen, module = "mediarecorder._native")]
pub struct Tone {
    inner: ToneGenerator,
}

#[pymethods]
impl Tone {
    #[new]
    #[pyo3(signature = (frequency, sample_rate, channels))]
    fn new(py: Python<'_>, frequency: f64, sample_rate: u32, channels: u16) -> PyResult<Self> {
        Ok(Tone { inner: ToneGenerator::start(frequency, sample_rate, channels).py(py)? })
    }

    #[getter]
    fn track(&self) -> Track {
        Track { inner: self.inner.track().clone() }
    }
}

/// Benchmark baseline: libopus through our encoder alone (no queue, no muxer), over float32
/// interleaved `samples`; returns the number of encoded bytes.
#[pyfunction]
#[pyo3(signature = (samples, sample_rate, channels, bits_per_second=128_000))]
pub fn encode_opus_only(
    py: Python<'_>,
    samples: numpy::PyReadonlyArrayDyn<'_, f32>,
    sample_rate: u32,
    channels: u16,
    bits_per_second: u32,
) -> PyResult<usize> {
    use crate::core::encode::{opus::OpusEncoder, BitrateMode};
    let data = samples
        .as_slice()
        .map_err(|_| PyValueError::new_err("samples: expected a C-contiguous array"))?
        .to_vec();
    gil::detach(py, move || {
        let mut enc =
            OpusEncoder::new(0, sample_rate, channels, bits_per_second, BitrateMode::Variable)?;
        let mut packets = Vec::new();
        let mut total = 0;
        for block in data.chunks(sample_rate as usize * channels as usize) {
            enc.push(block, &mut packets)?;
            total += packets.drain(..).map(|p| p.data.len()).sum::<usize>();
        }
        enc.finish(&mut packets)?;
        Ok(total + packets.iter().map(|p| p.data.len()).sum::<usize>())
    })
    .py(py)
}
