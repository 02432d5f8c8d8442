//! NumPy arrays handed to the core.

use numpy::{Element, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::Python;

use crate::python::gil;

/// Runs `f` without the GIL on the array's elements in C (row-major) order: borrowed when the
/// array is C-contiguous, copied in logical order otherwise. (`as_slice` alone would also take
/// Fortran order, whose memory order is not interleaved.)
pub fn with_c_order<T, R, F>(py: Python<'_>, array: &PyReadonlyArrayDyn<'_, T>, f: F) -> R
where
    T: Element + Copy + Sync,
    R: Send,
    F: Send + FnOnce(&[T]) -> R,
{
    match array.as_slice().ok().filter(|_| array.is_c_contiguous()) {
        Some(data) => gil::detach(py, || f(data)),
        None => {
            let owned: Vec<T> = array.as_array().iter().copied().collect();
            gil::detach(py, || f(&owned))
        }
    }
}
