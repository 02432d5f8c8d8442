//! Encoders: raw media in, [`crate::core::packet::Packet`]s out.

pub mod opus;
pub mod pcm;
pub mod video;
pub mod vpx;

/// `audioBitrateMode` of the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitrateMode {
    Constant,
    Variable,
}

impl BitrateMode {
    pub fn as_str(self) -> &'static str {
        match self {
            BitrateMode::Constant => "constant",
            BitrateMode::Variable => "variable",
        }
    }
}
