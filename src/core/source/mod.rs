//! Sources: what produces media for a track.
//!
//! - [`audio::AudioInput`]: samples pushed from the embedder (NumPy arrays in Python).
//! - [`video::VideoInput`]: pictures pushed from the embedder, converted to I420.
//! - [`tone::ToneGenerator`]: a sine produced live on a thread of its own, paced in real time.
//! - [`pattern::TestPattern`]: moving colour bars produced live, paced in real time.
//! - [`device::DeviceCapture`]: a sound device through cpal, in the lazily loaded device plugin.

pub mod audio;
pub mod device;
pub mod device_plugin;
pub mod pattern;
pub mod tone;
pub mod video;
