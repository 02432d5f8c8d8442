//! Core errors → Python exceptions, in one place.
//!
//! The DOMException classes are defined once, in `mediarecorder/_errors.py`, and bound here
//! once, on first use. Argument errors are the built-in `ValueError`/`TypeError`; I/O errors
//! are `OSError` built from (errno, strerror, filename), so Python picks the subclass it would
//! raise itself (`FileNotFoundError`, `PermissionError`, `IsADirectoryError`, ...).

use pyo3::exceptions::{PyBlockingIOError, PyOSError, PyTimeoutError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

use crate::core::error::{IoFailure, Stalled};
use crate::core::Error;

/// The DOMException subclasses, one field per core variant that has a web name.
struct Classes {
    invalid_state: Py<PyType>,
    not_supported: Py<PyType>,
    invalid_modification: Py<PyType>,
    encoding: Py<PyType>,
    unknown: Py<PyType>,
    not_found: Py<PyType>,
    not_allowed: Py<PyType>,
    not_readable: Py<PyType>,
    overconstrained: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let m = py.import("mediarecorder._errors")?;
        let class = |name: &str| -> PyResult<Py<PyType>> {
            Ok(m.getattr(name)?.cast_into::<PyType>()?.unbind())
        };
        Ok(Classes {
            invalid_state: class("InvalidStateError")?,
            not_supported: class("NotSupportedError")?,
            invalid_modification: class("InvalidModificationError")?,
            encoding: class("EncodingError")?,
            unknown: class("UnknownError")?,
            not_found: class("NotFoundError")?,
            not_allowed: class("NotAllowedError")?,
            not_readable: class("NotReadableError")?,
            overconstrained: class("OverconstrainedError")?,
        })
    })
}

/// The exception a call that failed with `e` raises.
pub fn to_py(py: Python<'_>, e: Error) -> PyErr {
    match e {
        Error::InvalidValue(msg) => PyValueError::new_err(msg),
        Error::InvalidType(msg) => PyTypeError::new_err(msg),
        Error::Io(f) => os_error(&f),
        e @ Error::Target(_) => match event_error(py, &e) {
            Ok(exc) => PyErr::from_value(exc),
            Err(err) => err,
        },
        e => match dom_exception(py, &e) {
            Ok(exc) => PyErr::from_value(exc),
            Err(err) => err,
        },
    }
}

/// The `OSError` (subclass chosen by errno) that Python's own I/O would raise for `f`:
/// `[Errno 2] No such file or directory: '/no/such/dir/x.webm'`.
fn os_error(f: &IoFailure) -> PyErr {
    match (f.errno, &f.path) {
        (Some(errno), Some(path)) => {
            PyOSError::new_err((errno, f.reason.clone(), path.to_string_lossy().into_owned()))
        }
        (Some(errno), None) => PyOSError::new_err((errno, f.reason.clone())),
        (None, _) => PyOSError::new_err(f.to_string()),
    }
}

/// The DOMException that an `error` event carries for `e`. Failures without a web name (a
/// file that cannot be written) become `UnknownError`, with the Python exception of the cause
/// chained as `__cause__`.
pub fn event_error<'py>(py: Python<'py>, e: &Error) -> PyResult<Bound<'py, PyAny>> {
    if e.dom_name().is_some() {
        return dom_exception(py, e);
    }
    let exc = classes(py)?.unknown.bind(py).call1((e.to_string(),))?;
    if let Error::Target(f) = e {
        // The embedder's own exception (a file object's `write` that raised), if any.
        let cause = f.cause.as_ref().and_then(|c| c.downcast_ref::<Py<PyAny>>());
        if let Some(cause) = cause {
            exc.setattr("__cause__", cause.bind(py))?;
        }
        // A destination that made no progress: the builtin Python's own I/O would raise.
        if let Some(why) = f.cause.as_ref().and_then(|c| c.downcast_ref::<Stalled>()) {
            let cause = match why {
                Stalled::TimedOut => PyTimeoutError::new_err(f.message.clone()),
                Stalled::WouldBlock => PyBlockingIOError::new_err(f.message.clone()),
            };
            exc.setattr("__cause__", cause.value(py))?;
        }
        return Ok(exc);
    }
    let cause = to_py(py, e.clone());
    exc.setattr("__cause__", cause.value(py))?;
    Ok(exc)
}

/// The DOMException instance for a variant that has a web name.
fn dom_exception<'py>(py: Python<'py>, e: &Error) -> PyResult<Bound<'py, PyAny>> {
    let c = classes(py)?;
    let message = e.to_string();
    let class = match e {
        Error::InvalidState(_) => &c.invalid_state,
        Error::NotSupported(_) => &c.not_supported,
        Error::InvalidModification(_) => &c.invalid_modification,
        Error::Encoding(_) => &c.encoding,
        Error::NotFound(_) => &c.not_found,
        Error::NotAllowed(_) => &c.not_allowed,
        Error::NotReadable(_) => &c.not_readable,
        Error::Overconstrained { constraint, .. } => {
            return c.overconstrained.bind(py).call1((message, constraint.as_str()));
        }
        Error::Unknown(_)
        | Error::Io(_)
        | Error::InvalidValue(_)
        | Error::InvalidType(_)
        | Error::Target(_) => &c.unknown,
    };
    class.bind(py).call1((message,))
}

pub trait IntoPyResult<T> {
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
