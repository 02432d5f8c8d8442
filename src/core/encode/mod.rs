//! Encoders: raw media in, [`crate::core::packet::Packet`]s out. Each implements
//! [`crate::core::codec::Encoder`] and describes its output once; [`create`] is the one place
//! that knows which encoder makes which codec.

use crate::core::codec::{CodecId, Encoder, StreamParams};
use crate::core::{Error, Result};

pub mod aac;
pub mod av1;
pub mod h264;
pub mod keyframes;
pub mod opus;
pub mod pcm;
pub mod video;
pub mod voaac;
pub mod vpx;
pub mod vpx_like;

/// `audioBitrateMode` of the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BitrateMode {
    Constant,
    /// The spec's default.
    #[default]
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
    pub keyframes: keyframes::KeyframeRule,
}

/// Refuses, at `start()`, a track configuration its encoder cannot honour (spec §2.3: start()
/// throws `NotSupportedError`), rather than failing in the session after the start: AAC's
/// channel count and, where the track declares it, an H.264 picture size.
pub fn check(params: StreamParams, s: &EncoderSettings) -> Result<()> {
    match (params, s.audio, s.video) {
        (StreamParams::Audio { channels, .. }, CodecId::Aac, _) => voaac::check_channels(channels),
        (StreamParams::Video { width, height }, _, CodecId::H264) if width > 0 && height > 0 => {
            h264::check_size(width, height)
        }
        _ => Ok(()),
    }
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
            Ok(Box::new(video::vpx(track, codec, width, height, s.video_bps, s.keyframes)))
        }
        (StreamParams::Video { width, height }, _, CodecId::H264) => {
            Ok(Box::new(h264::encoder(track, width, height, s.video_bps, s.keyframes)?))
        }
        (StreamParams::Video { width, height }, _, CodecId::Av1) => {
            Ok(Box::new(av1::encoder(track, width, height, s.video_bps, s.keyframes)?))
        }
        (StreamParams::Audio { sample_rate, channels }, CodecId::Aac, _) => {
            Ok(Box::new(aac::AacEncoder::new(track, sample_rate, channels, s.audio_bps)?))
        }
        (_, audio, video) => Err(Error::NotSupported(format!(
            "no encoder for track {track} ({params:?}) with {} / {}",
            audio.mime_name(),
            video.mime_name()
        ))),
    }
}
