//! `_native.Recorder`: the handle behind `mediarecorder.MediaRecorder`.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::core::mime;
use crate::core::recorder::Recorder as CoreRecorder;
use crate::core::sink::{self, Output, StorageOptions};
use crate::core::Error;
use crate::python::delivery::RecorderDelivery;
use crate::python::errors::IntoPyResult;
use crate::python::filelike::PyWriter;
use crate::python::options::Options;
use crate::python::track::Track;

#[pyclass(frozen, module = "mediarecorder._native")]
pub struct Recorder {
    inner: CoreRecorder,
}

#[pymethods]
impl Recorder {
    /// `options` arrive checked for type and range by the Python layer.
    #[new]
    fn new(py: Python<'_>, dispatch: Py<PyAny>, options: Options) -> PyResult<Self> {
        let delivery = Arc::new(RecorderDelivery { dispatch: Arc::new(dispatch) });
        Ok(Recorder { inner: CoreRecorder::new(options.into(), delivery).py(py)? })
    }

    #[getter]
    fn state(&self) -> &'static str {
        self.inner.state().as_str()
    }
    #[getter]
    fn mime_type(&self) -> String {
        self.inner.mime_type()
    }
    #[getter]
    fn audio_bits_per_second(&self) -> u32 {
        self.inner.audio_bits_per_second()
    }
    #[getter]
    fn video_bits_per_second(&self) -> u32 {
        self.inner.video_bits_per_second()
    }
    #[getter]
    fn audio_bitrate_mode(&self) -> &'static str {
        self.inner.audio_bitrate_mode().as_str()
    }
    /// The id of the newest session started (0 before the first `start()`): every event
    /// dispatched names its session's id, so Python can tell sessions apart.
    #[getter]
    fn session(&self) -> u64 {
        self.inner.session()
    }
    /// Bytes of chunks produced but not yet delivered to Python.
    #[getter]
    fn pending_bytes(&self) -> usize {
        self.inner.pending_bytes()
    }

    /// Counters over all sessions: `video_frames_received`, `video_frames_dropped` (encoder
    /// behind), `video_frames_encoded`, `packets_dropped_late` (a stalled live track's, after
    /// later ones were written), `audio_samples_clipped` (`audio_tracks="mix"`: samples of the
    /// mix clamped at full scale); with a recorded audio track, its `audio_peak_dbfs` and
    /// `audio_rms_dbfs` (newest 100 ms).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        use std::sync::atomic::Ordering::Relaxed;
        let s = self.inner.stats();
        let d = PyDict::new(py);
        d.set_item("video_frames_received", s.video_frames_received.load(Relaxed))?;
        d.set_item("video_frames_dropped", s.video_frames_dropped.load(Relaxed))?;
        d.set_item("video_frames_encoded", s.video_frames_encoded.load(Relaxed))?;
        d.set_item("packets_dropped_late", s.packets_dropped_late.load(Relaxed))?;
        d.set_item("audio_samples_clipped", s.audio_samples_clipped.load(Relaxed))?;
        if let Some(level) = self.inner.audio_level() {
            d.set_item("audio_peak_dbfs", level.peak_dbfs)?;
            d.set_item("audio_rms_dbfs", level.rms_dbfs)?;
        }
        Ok(d)
    }

    /// `file`: a path (str), an object store URL (str: s3://, gs://, az://, file://,
    /// memory://) or a binary file object (anything with `write`), checked by the Python layer.
    /// `segment` (ns of media): `file` is a name template (`core::sink::Template`) of a
    /// series of paths or URLs.
    #[pyo3(signature = (tracks, timeslice, file=None, storage_options=None, segment=None))]
    fn start(
        &self,
        py: Python<'_>,
        tracks: Vec<PyRef<'_, Track>>,
        timeslice: Option<u64>,
        file: Option<Bound<'_, PyAny>>,
        storage_options: Option<Vec<(String, String)>>,
        segment: Option<i64>,
    ) -> PyResult<()> {
        let tracks: Vec<_> = tracks.iter().map(|t| t.inner.clone()).collect();
        let options = StorageOptions::parse(storage_options.unwrap_or_default()).py(py)?;
        let output = file.map(|f| output(&f, options, segment)).transpose()?;
        let inner = &self.inner;
        crate::python::gil::detach(py, || inner.start(&tracks, timeslice, output)).py(py)
    }

    fn stop(&self) {
        self.inner.stop();
    }
    fn pause(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.pause().py(py)
    }
    fn resume(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.resume().py(py)
    }
    fn request_data(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.request_data().py(py)
    }
    fn track_set_changed(&self) {
        self.inner.track_set_changed();
    }

    /// Fails the active session as an internal error named `name` would ("EncodingError" or
    /// "UnknownError"): for testing the spec's teardown path.
    fn inject_failure(&self, py: Python<'_>, name: &str, message: String) -> PyResult<()> {
        let error = match name {
            "EncodingError" => Error::Encoding(message),
            "UnknownError" => Error::Unknown(message),
            other => Error::InvalidValue(format!(
                "name: expected 'EncodingError' or 'UnknownError', got {other:?}"
            )),
        };
        if let Error::InvalidValue(_) = error {
            return Err(error).py(py);
        }
        self.inner.inject_failure(error).py(py)
    }

    /// Panics on the active session's thread with `message`: for testing that a panic ends
    /// the recording the spec's way (`error`, `dataavailable`, `stop`).
    fn inject_panic(&self, py: Python<'_>, message: String) -> PyResult<()> {
        self.inner.inject_panic(message).py(py)
    }
}

/// `file=` as the core takes it: a string names a destination (`sink::open`), a file object is
/// written through its methods (`sink::writer`).
pub(crate) fn output(
    file: &Bound<'_, PyAny>,
    options: StorageOptions,
    segment: Option<i64>,
) -> PyResult<Output> {
    let py = file.py();
    if let Ok(s) = file.extract::<String>() {
        return sink::open(&s, options, segment).py(py);
    }
    if segment.is_some() {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "file: with segment, expected a name template (str), not a file object",
        ));
    }
    let wrap = sink::writer(&options).py(py)?;
    Ok(wrap(Box::new(PyWriter::new(file)?)))
}

#[pyfunction]
pub fn is_type_supported(mime_type: &str) -> bool {
    mime::is_type_supported(mime_type)
}

/// Rewrites a live WebM (`src` bytes) as a seekable WebM (Duration, SeekHead, Cues), or a
/// fragmented MP4 as a faststart MP4, without re-encoding.
#[pyfunction]
pub fn make_seekable<'py>(
    py: Python<'py>,
    src: &[u8],
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    let out =
        crate::python::gil::detach(py, || crate::core::mux::matroska::seekable::make_seekable(src))
            .py(py)?;
    Ok(pyo3::types::PyBytes::new(py, &out))
}

/// Removes from `folder` what faststart rewrites killed mid-way left (`.NAME.faststart-PID`
/// of processes that are gone); returns their paths.
#[pyfunction]
pub fn remove_stale_rewrites(py: Python<'_>, folder: std::path::PathBuf) -> Vec<String> {
    let removed = crate::python::gil::detach(py, || {
        crate::core::mux::mp4::faststart::remove_stale_rewrites(&folder)
    });
    removed.into_iter().map(|p| p.to_string_lossy().into_owned()).collect()
}
