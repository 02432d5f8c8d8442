//! The binding: `mediarecorder._native`. It converts arguments, releases the GIL around
//! anything that can wait (`gil::detach`), maps core errors (`errors.rs`) and runs Python
//! callbacks on one delivery thread (`delivery.rs`). The public classes are Python
//! (`python/mediarecorder/`), built on these handles.

mod arrays;
mod browser;
mod capture;
mod decode;
mod delivery;
mod devices;
mod errors;
mod events;
mod filelike;
mod gil;
mod monitor;
mod options;
mod reader;
mod recorder;
mod sources;
mod track;
mod video;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<track::Track>()?;
    m.add_class::<sources::AudioInput>()?;
    m.add_class::<sources::Tone>()?;
    m.add_class::<recorder::Recorder>()?;
    m.add_class::<reader::Reader>()?;
    m.add_class::<reader::Picture>()?;
    m.add_class::<devices::DeviceInput>()?;
    m.add_class::<monitor::MonitorInput>()?;
    m.add_class::<video::VideoInput>()?;
    m.add_class::<video::Pattern>()?;
    m.add_class::<capture::ScreenInput>()?;
    m.add_class::<capture::CameraInput>()?;
    m.add_function(wrap_pyfunction!(capture::enumerate_cameras, m)?)?;
    m.add_function(wrap_pyfunction!(video::render_test_pattern, m)?)?;
    m.add_function(wrap_pyfunction!(devices::enumerate_devices, m)?)?;
    m.add_function(wrap_pyfunction!(monitor::monitor_device, m)?)?;
    m.add_function(wrap_pyfunction!(recorder::is_type_supported, m)?)?;
    m.add_function(wrap_pyfunction!(recorder::make_seekable, m)?)?;
    m.add_function(wrap_pyfunction!(recorder::remove_stale_rewrites, m)?)?;
    m.add_function(wrap_pyfunction!(decode::decode, m)?)?;
    m.add_function(wrap_pyfunction!(decode::read_object, m)?)?;
    m.add_function(wrap_pyfunction!(delivery::report_unraisable, m)?)?;
    m.add_function(wrap_pyfunction!(sources::encode_opus_only, m)?)?;
    m.add_function(wrap_pyfunction!(delivery::shutdown, m)?)?;
    // The audio format limits (devices/abi), so that Python's messages quote the same numbers.
    m.add("MIN_SAMPLE_RATE", crate::core::source::audio::MIN_SAMPLE_RATE)?;
    m.add("MAX_SAMPLE_RATE", crate::core::source::audio::MAX_SAMPLE_RATE)?;
    m.add("MAX_CHANNELS", crate::core::source::audio::MAX_CHANNELS)?;
    m.add_function(wrap_pyfunction!(delivery::on_delivery_thread, m)?)?;
    m.add_function(wrap_pyfunction!(delivery::set_handler_thread, m)?)?;
    m.add_class::<delivery::BlobTicket>()?;
    m.add_class::<events::RecorderEvent>()?;
    m.add_class::<browser::ByteSink>()?;
    m.add_class::<browser::BlobBudget>()?;
    m.add_function(wrap_pyfunction!(browser::call_on_delivery_thread, m)?)?;
    m.add_function(wrap_pyfunction!(browser::segment_name, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // No callback may enter an interpreter that is finalizing; registered here, where the
    // delivery thread's module is loaded, whichever public name loaded it.
    m.py().import("atexit")?.call_method1("register", (m.getattr("shutdown")?,))?;
    Ok(())
}
