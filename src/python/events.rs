//! `_native.RecorderEvent`: one recorder event as it reaches Python's `MediaRecorder._dispatch`,
//! typed (the stub lists its fields) instead of a row of positional arguments.

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::core::recorder::Event;
use crate::python::delivery::BlobTicket;
use crate::python::errors::event_error;

/// `session` is the id of the `start()` the event belongs to (`Recorder.session` gives the
/// newest). `data`, `mime_type`, `ticket`: a `dataavailable`'s blob, its type and the ticket
/// that holds its bytes in the budget; `error`: an `error`'s DOMException; `timecode`: where a
/// blob or a segment starts (ms of media); `name`, `index`, `duration`, `size`: a `segment`'s
/// file. Fields an event does not have are None.
#[pyclass(frozen, module = "mediarecorder._native")]
pub struct RecorderEvent {
    #[pyo3(get, name = "type")]
    type_: &'static str,
    #[pyo3(get)]
    session: u64,
    #[pyo3(get)]
    data: Option<Py<PyBytes>>,
    #[pyo3(get)]
    mime_type: Option<String>,
    #[pyo3(get)]
    timecode: Option<f64>,
    #[pyo3(get)]
    error: Option<Py<PyAny>>,
    #[pyo3(get)]
    ticket: Option<Py<BlobTicket>>,
    #[pyo3(get)]
    name: Option<String>,
    #[pyo3(get)]
    index: Option<u64>,
    #[pyo3(get)]
    duration: Option<f64>,
    #[pyo3(get)]
    size: Option<u64>,
}

impl RecorderEvent {
    fn empty(type_: &'static str, session: u64) -> Self {
        RecorderEvent {
            type_,
            session,
            data: None,
            mime_type: None,
            timecode: None,
            error: None,
            ticket: None,
            name: None,
            index: None,
            duration: None,
            size: None,
        }
    }

    /// The event for Python; a blob's bytes are copied into `bytes` and dropped here.
    pub fn new(py: Python<'_>, event: Event, session: u64) -> PyResult<Self> {
        let mut out = RecorderEvent::empty(event.type_(), session);
        match event {
            Event::DataAvailable { data, mime_type, timecode, budget } => {
                out.data = Some(PyBytes::new(py, &data).unbind());
                drop(data);
                out.mime_type = Some(mime_type);
                out.timecode = Some(timecode);
                out.ticket = Some(Py::new(py, BlobTicket { guard: Mutex::new(Some(budget)) })?);
            }
            Event::Segment(s) => {
                out.name = Some(s.name);
                out.index = Some(s.index);
                out.timecode = Some(s.timecode);
                out.duration = Some(s.duration);
                out.size = Some(s.size);
            }
            Event::Error(e) => out.error = Some(event_error(py, &e)?.unbind()),
            Event::Start | Event::Pause | Event::Resume | Event::Stop => {}
        }
        Ok(out)
    }
}
