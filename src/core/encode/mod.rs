//! Encoders: raw media in, [`crate::core::packet::Packet`]s out. Each implements
//! [`crate::core::codec::Encoder`] and describes its output once; [`create`] is the one place
//! that knows which encoder makes which codec.

use crate::core::codec::{CodecId, Encoder, StreamParams};
use crate::core::{Error, Result};

pub mod opus;
pub mod pcm;
pub mod video;
pub mod vpx;

/// Whether this build has an encoder for `codec`: the one switch the MIME negotiation asks, so
/// a type is supported exactly when its codecs can be encoded.
pub fn supports(codec: CodecId) -> bool {
    match codec {
        CodecId::Opus | CodecId::Pcm(_) | CodecId::Vp8 | CodecId::Vp9 => true,
        CodecId::H264 | CodecId::Av1 | CodecId::Aac => false,
    }
}

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

/// What a session asks of its encoders.
#[derive(Debug, Clone, Copy)]
pub struct EncoderSettings {
    pub audio: CodecId,
    pub video: CodecId,
    pub audio_bps: u32,
    pub video_bps: u32,
    pub bitrate_mode: BitrateMode,
    pub keyframes: vpx::KeyframeRule,
}

/// The encoder of a session's track `track`, whose raw media is described by `params`.
pub fn create(track: usize, params: StreamParams, s: &EncoderSettings) -> Result<Box<dyn Encoder>> {
    match (params, s.audio, s.video) {
        (StreamParams::Audio { sample_rate, channels }, CodecId::Opus, _) => Ok(Box::new(
            opus::OpusEncoder::new(track, sample_rate, channels, s.audio_bps, s.bitrate_mode)?,
        )),
        (StreamParams::Audio { sample_rate, channels }, CodecId::Pcm(format), _) => {
            Ok(Box::new(pcm::PcmEncoder::new(track, sample_rate, channels, format)))
        }
        (StreamParams::Video { width, height }, _, CodecId::Vp8 | CodecId::Vp9) => {
            let codec =
                if s.video == CodecId::Vp9 { vpx::VideoCodec::Vp9 } else { vpx::VideoCodec::Vp8 };
            Ok(Box::new(video::VideoEncoder::new(
                track,
                codec,
                width,
                height,
                s.video_bps,
                s.keyframes,
            )))
        }
        (_, audio, video) => Err(Error::NotSupported(format!(
            "no encoder for track {track} ({params:?}) with {} / {}",
            audio.mime_name(),
            video.mime_name()
        ))),
    }
}
