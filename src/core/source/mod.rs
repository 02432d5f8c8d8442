//! Sources: what produces media for a track.
//!
//! - [`audio::AudioInput`]: samples pushed from the embedder (NumPy arrays in Python).
//! - [`video::VideoInput`]: pictures pushed from the embedder, converted to I420.
//! - [`tone::ToneGenerator`]: a sine produced live on a thread of its own, paced in real time.
//! - [`pattern::TestPattern`]: moving colour bars produced live, paced in real time.
//! - [`device::DeviceCapture`]: a sound device through cpal, in the lazily loaded device plugin.
//! - [`screen::ScreenCapture`]: an X11 screen (x11rb, MIT-SHM), paced in real time.
//! - [`camera::CameraCapture`]: a V4L2 camera (Linux), timed by the driver.

pub mod audio;
#[cfg(target_os = "linux")]
pub mod camera;
pub mod camera_format;
pub mod camera_info;
pub mod device;
pub mod device_plugin;
pub mod pattern;
pub mod scale;
pub mod screen;
pub mod tone;
pub mod video;
pub mod x11;
pub mod x11_conn;
