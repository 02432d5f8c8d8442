//! What every platform knows of cameras: their `enumerate_devices()` entries and the
//! `get_user_media(video={...})` constraints. The capture itself is `camera.rs` (Linux).

/// One `videoinput` entry of `enumerate_devices()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraInfo {
    pub device_id: String,
    pub label: String,
    pub group_id: String,
}

/// `get_user_media(video={...})`: every constraint given must be met exactly.
#[derive(Debug, Clone, Default)]
pub struct CameraConstraints {
    pub device_id: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub frame_rate: Option<f64>,
    /// What the camera delivers (not a web constraint: a camera that streams YUYV slowly at
    /// a size may stream MJPEG at full rate).
    pub pixel_format: Option<crate::core::source::camera_format::CameraFormat>,
}

/// Opaque ids that stay the same across calls and processes (FNV-1a of what the driver says
/// of the device, as browsers hash theirs).
pub fn hashed(prefix: &str, id: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in prefix.bytes().chain([0]).chain(id.bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Where V4L2 does not exist: no camera to list, and opening one says why.
#[cfg(not(target_os = "linux"))]
pub mod unsupported {
    use super::{CameraConstraints, CameraInfo};
    use crate::core::{Error, Result};

    pub fn enumerate() -> Vec<CameraInfo> {
        Vec::new()
    }

    /// Never made: opening fails.
    pub enum CameraCapture {}

    impl CameraCapture {
        pub fn track(&self) -> &std::sync::Arc<crate::core::track::Track> {
            match *self {}
        }
        pub fn format(&self) -> crate::core::source::camera_format::CameraFormat {
            match *self {}
        }

        pub fn open(_c: CameraConstraints) -> Result<Self> {
            Err(Error::NotSupported(
                "get_user_media: cameras are captured through V4L2, on Linux only for now".into(),
            ))
        }
    }
}
