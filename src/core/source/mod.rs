//! Sources: what produces media for a track.
//!
//! - [`audio::AudioInput`]: samples pushed from the embedder (NumPy arrays in Python).
//! - [`video::VideoInput`]: pictures pushed from the embedder, converted to I420.
//! - [`tone::ToneGenerator`]: a sine produced live on a thread of its own, paced in real time.
//! - [`pattern::TestPattern`]: moving colour bars produced live, paced in real time.
//! - [`device::DeviceCapture`]: a sound device through cpal, in the lazily loaded device plugin.
//! - [`monitor::MonitorCapture`]: system audio, the default output's monitor (libpulse-simple).
//! - [`screen::ScreenCapture`]: an X11 screen (x11rb, MIT-SHM) or a Wayland one (the portal and
//!   PipeWire), paced in real time.
//! - [`camera::CameraCapture`]: a V4L2 camera (Linux), timed by the driver.

pub mod audio;
pub mod camera;
pub mod convert;
pub mod pattern;
pub mod screen;
pub mod sound;
pub mod tone;
pub mod video;

use crate::core::Error;

/// An opaque device id that stays the same across calls and processes: FNV-1a of `parts` run
/// together, as browsers hash theirs. Sound devices hash `[kind, host id]` and cameras
/// `[kind, "\0", bus or card]`: each kind keeps the ids it has always given.
pub fn hashed(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in parts.iter().flat_map(|p| p.bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// `OverconstrainedError` naming the constraint that no device can meet.
pub fn overconstrained(constraint: &str, message: impl Into<String>) -> Error {
    Error::Overconstrained { constraint: constraint.into(), message: message.into() }
}
