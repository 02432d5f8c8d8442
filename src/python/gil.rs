//! The one place the GIL is released. Every call that can wait (a full media queue, a lock
//! held by a media thread) goes through here, so Python threads keep running meanwhile.

use pyo3::marker::Ungil;
use pyo3::Python;

pub fn detach<T: Ungil, F: Ungil + FnOnce() -> T>(py: Python<'_>, f: F) -> T {
    py.detach(f)
}
