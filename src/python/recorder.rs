//! `_native.Recorder`: the handle behind `mediarecorder.MediaRecorder`.

use std::sync::Arc;

use pyo3::prelude::*;

use crate::core::encode::BitrateMode;
use crate::core::mime;
use crate::core::recorder::{Recorder as CoreRecorder, RecorderOptions};
use crate::core::sink::queued::Queued;
use crate::core::sink::{self, Destination, Opener, Output, SegmentPlan, StorageOptions};
use crate::core::sink::{Target, Template};
use crate::core::Error;
use crate::python::delivery::PySink;
use crate::python::errors::IntoPyResult;
use crate::python::filelike::PyWriter;
use crate::python::track::Track;

#[pyclass(frozen, module = "mediarecorder._native")]
pub struct Recorder {
    inner: CoreRecorder,
}

#[pymethods]
impl Recorder {
    /// Arguments arrive checked for type and sign by the Python layer.
    #[new]
    #[pyo3(signature = (dispatch, mime_type, audio_bits_per_second, video_bits_per_second,
                        bits_per_second, audio_bitrate_mode, video_key_frame_interval_duration,
                        video_key_frame_interval_count, independent_chunks=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        dispatch: Py<PyAny>,
        mime_type: String,
        audio_bits_per_second: Option<u32>,
        video_bits_per_second: Option<u32>,
        bits_per_second: Option<u32>,
        audio_bitrate_mode: &str,
        video_key_frame_interval_duration: Option<f64>,
        video_key_frame_interval_count: Option<u32>,
        independent_chunks: bool,
    ) -> PyResult<Self> {
        let audio_bitrate_mode = if audio_bitrate_mode == "constant" {
            BitrateMode::Constant
        } else {
            BitrateMode::Variable
        };
        let options = RecorderOptions {
            mime_type,
            audio_bits_per_second,
            video_bits_per_second,
            bits_per_second,
            audio_bitrate_mode,
            video_key_frame_interval_duration,
            video_key_frame_interval_count,
            independent_chunks,
        };
        let sink = Arc::new(PySink { dispatch: Arc::new(dispatch) });
        Ok(Recorder { inner: CoreRecorder::new(options, sink).py(py)? })
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

    /// Counters over all sessions: video frames received, dropped (encoder behind), encoded;
    /// packets dropped late (a stalled live track's, after later ones were written); then the
    /// recorded audio track's peak and RMS (dBFS, newest 100 ms), or None.
    #[allow(clippy::type_complexity)]
    fn stats(&self) -> (u64, u64, u64, u64, Option<(f64, f64)>) {
        use std::sync::atomic::Ordering::Relaxed;
        let s = self.inner.stats();
        (
            s.video_frames_received.load(Relaxed),
            s.video_frames_dropped.load(Relaxed),
            s.video_frames_encoded.load(Relaxed),
            s.packets_dropped_late.load(Relaxed),
            self.inner.audio_level().map(|l| (l.peak_dbfs, l.rms_dbfs)),
        )
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
        let output = match (file, segment) {
            (None, _) => None,
            (Some(f), None) => Some(Output::Target(opener(&f, options)?)),
            (Some(f), Some(every_ns)) => Some(Output::Segments(segments(&f, options, every_ns)?)),
        };
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

/// What `start()` opens once the recorder has accepted the call. A path or URL is parsed and
/// checked now (`core::sink::Destination`), so that a wrong one raises at `start()`.
fn opener(file: &Bound<'_, PyAny>, options: StorageOptions) -> PyResult<Opener> {
    let py = file.py();
    if let Ok(s) = file.extract::<String>() {
        let destination = Destination::parse(&s, &options).py(py)?;
        return Ok(Box::new(move || destination.open(&options)));
    }
    options.stall_timeout_only("a file object").py(py)?;
    let writer = PyWriter::new(file)?;
    let stall = options.stall_timeout;
    Ok(Box::new(move || Ok(Box::new(Queued::spawn(Box::new(writer), stall)?) as Box<dyn Target>)))
}

/// A segmented recording's plan: names from the template, each a path or an object URL. The
/// first name is parsed now, so that a wrong URL raises at `start()`; the uploads of all
/// segments share one budget (`options`).
fn segments(
    file: &Bound<'_, PyAny>,
    options: StorageOptions,
    every_ns: i64,
) -> PyResult<SegmentPlan> {
    let py = file.py();
    let template: String = file.extract().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(
            "file: with segment, expected a name template (str), not a file object",
        )
    })?;
    let template = Template::parse(&template).py(py)?;
    Destination::parse(&template.format(0, 0), &options).py(py)?;
    let open = Box::new(move |name: &str| sink::open(name, &options));
    Ok(SegmentPlan::new(every_ns, template, open))
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
        crate::python::gil::detach(py, || crate::core::mux::seekable::make_seekable(src)).py(py)?;
    Ok(pyo3::types::PyBytes::new(py, &out))
}

/// Removes from `folder` what faststart rewrites killed mid-way left (`.NAME.faststart-PID`
/// of processes that are gone); returns their paths.
#[pyfunction]
pub fn remove_stale_rewrites(py: Python<'_>, folder: std::path::PathBuf) -> Vec<String> {
    let removed = crate::python::gil::detach(py, || {
        crate::core::mux::mp4_faststart::remove_stale_rewrites(&folder)
    });
    removed.into_iter().map(|p| p.to_string_lossy().into_owned()).collect()
}
