//! NumPy arrays handed to the core.

use numpy::{Element, PyReadonlyArrayDyn, PyUntypedArrayMethods};

/// The array's elements in C (row-major) order, copied while the GIL is held: another Python
/// thread may write to the buffer (or free it) as soon as the GIL is released, so the core
/// never reads it. (`as_slice` alone would also take Fortran order, whose memory order is not
/// interleaved.)
pub fn to_c_order<T: Element + Copy>(array: &PyReadonlyArrayDyn<'_, T>) -> Vec<T> {
    match array.as_slice().ok().filter(|_| array.is_c_contiguous()) {
        Some(data) => data.to_vec(),
        None => array.as_array().iter().copied().collect(),
    }
}
