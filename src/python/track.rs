//! `_native.Track`: the handle behind `mediarecorder.MediaStreamTrack`.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::core::track::Track as CoreTrack;
use crate::python::delivery::{queue, with_python};

#[pyclass(frozen, module = "mediarecorder._native")]
pub struct Track {
    pub inner: Arc<CoreTrack>,
}

#[pymethods]
impl Track {
    #[getter]
    fn id(&self) -> &str {
        self.inner.id()
    }
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind().as_str()
    }
    #[getter]
    fn label(&self) -> &str {
        self.inner.label()
    }
    #[getter]
    fn enabled(&self) -> bool {
        self.inner.enabled()
    }
    #[setter]
    fn set_enabled(&self, on: bool) {
        self.inner.set_enabled(on);
    }
    #[getter]
    fn muted(&self) -> bool {
        self.inner.muted()
    }
    #[getter]
    fn ready_state(&self) -> &'static str {
        if self.inner.is_live() {
            "live"
        } else {
            "ended"
        }
    }

    fn stop(&self, py: Python<'_>) {
        let track = self.inner.clone();
        crate::python::gil::detach(py, move || track.end());
    }

    fn settings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.settings();
        let d = PyDict::new(py);
        if let Some(v) = s.sample_rate {
            d.set_item("sample_rate", v)?;
        }
        if let Some(v) = s.channel_count {
            d.set_item("channel_count", v)?;
        }
        if let Some(v) = s.width {
            d.set_item("width", v)?;
        }
        if let Some(v) = s.height {
            d.set_item("height", v)?;
        }
        if let Some(v) = s.frame_rate {
            d.set_item("frame_rate", v)?;
        }
        if let Some(v) = &s.device_id {
            d.set_item("device_id", v)?;
        }
        if let Some(v) = s.backend {
            d.set_item("backend", v)?;
        }
        Ok(d)
    }

    /// Frame counters: `total_frames`, `delivered_frames`, `dropped_frames`, `device_overruns`;
    /// audio tracks also `peak_dbfs` and `rms_dbfs` of their newest 100 ms.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        use std::sync::atomic::Ordering::Relaxed;
        let s = self.inner.stats();
        let d = PyDict::new(py);
        d.set_item("total_frames", s.total_frames.load(Relaxed))?;
        d.set_item("delivered_frames", s.delivered_frames.load(Relaxed))?;
        d.set_item("dropped_frames", s.dropped_frames.load(Relaxed))?;
        d.set_item("device_overruns", s.device_overruns.load(Relaxed))?;
        if let Some(level) = self.inner.level() {
            d.set_item("peak_dbfs", level.peak_dbfs)?;
            d.set_item("rms_dbfs", level.rms_dbfs)?;
        }
        Ok(d)
    }

    /// Calls `callback(kind, time_ns)` on the delivery thread at every change of voice
    /// activity: kind "speech" or "silence", time_ns where it happened on the track's clock.
    /// With `silence_limit_ns` > 0: only "silencelimit", once silence has lasted that long.
    #[pyo3(signature = (callback, silence_limit_ns=0))]
    fn on_voice(&self, callback: Py<PyAny>, silence_limit_ns: i64) {
        let callback = std::sync::Arc::new(callback);
        self.inner.on_voice(silence_limit_ns, move |e| {
            let callback = callback.clone();
            queue(Box::new(move || {
                with_python(|py| {
                    let f = callback.bind(py);
                    if let Err(err) = f.call1((e.voice.as_str(), e.time)) {
                        err.write_unraisable(py, Some(f));
                    }
                });
            }));
        });
    }

    /// Calls `callback()` on the delivery thread when the track ends (at once if it has).
    fn on_end(&self, callback: Py<PyAny>) {
        self.inner.on_end(move || {
            queue(Box::new(move || {
                with_python(|py| {
                    if let Err(e) = callback.bind(py).call0() {
                        e.write_unraisable(py, Some(callback.bind(py)));
                    }
                });
            }));
        });
    }
}
