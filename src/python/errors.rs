//! Core errors → Python exceptions, in one place. The DOMException classes are defined once, in
//! `mediarecorder/_errors.py`; argument errors become the built-in `ValueError`/`TypeError`.

use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::core::Error;

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

pub fn to_py(py: Python<'_>, e: Error) -> PyErr {
    match e {
        Error::InvalidValue(msg) => PyValueError::new_err(msg),
        Error::InvalidType(msg) => PyTypeError::new_err(msg),
        Error::Io(msg) => PyOSError::new_err(msg),
        e => match dom_exception(py, &e) {
            Ok(exc) => PyErr::from_value(exc),
            Err(err) => err,
        },
    }
}

/// The DOMException instance for `e` (used both for raising and for `ErrorEvent.error`).
pub fn dom_exception<'py>(py: Python<'py>, e: &Error) -> PyResult<Bound<'py, PyAny>> {
    let module = ERRORS
        .get_or_try_init(py, || py.import("mediarecorder._errors").map(Bound::unbind))?
        .bind(py);
    let class = module.getattr(e.name())?;
    let message = e.to_string();
    match e {
        Error::Overconstrained { constraint, .. } => class.call1((message, constraint.as_str())),
        _ => class.call1((message,)),
    }
}

pub trait IntoPyResult<T> {
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
