//! Picture conversions shared by the video sources.

pub mod i420;
pub mod scale;
