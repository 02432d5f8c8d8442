//! Cameras: what every platform knows of them (their `enumerate_devices()` entries and the
//! `get_user_media(video={...})` constraints), the formats they deliver (`formats.rs`), and
//! the capture backend of this system: V4L2 on Linux (`v4l2.rs`), elsewhere a stub that says
//! why there is none.

pub mod formats;
#[cfg(target_os = "linux")]
pub mod v4l2;

// The one place that chooses the camera backend of this system.
#[cfg(not(target_os = "linux"))]
pub use unsupported::{enumerate, CameraCapture};
#[cfg(target_os = "linux")]
pub use v4l2::{enumerate, CameraCapture};

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
    pub pixel_format: Option<crate::core::source::camera::formats::CameraFormat>,
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
        pub fn format(&self) -> crate::core::source::camera::formats::CameraFormat {
            match *self {}
        }

        pub fn open(_c: CameraConstraints) -> Result<Self> {
            Err(Error::NotSupported(format!(
                "get_user_media: camera capture is not supported on {} (V4L2, Linux only)",
                crate::core::source::screen::x11_conn::non_x11_platform()
                    .unwrap_or(std::env::consts::OS)
            )))
        }
    }
}
