//! What an encoder produces, described once, in the spirit of Symphonia's `CodecParameters`:
//! every muxer is built from the list of these descriptions and learns nothing through any
//! other channel. The [`Encoder`] trait is what every encoder implements.

pub mod config;

use crate::core::media::VideoFrame;
use crate::core::packet::Packet;
use crate::core::Result;

/// A coded format this build writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodecId {
    Opus,
    /// Uncompressed audio, interleaved little-endian samples.
    Pcm(SampleFormat),
    Vp8,
    Vp9,
    /// H.264/AVC. Packets are access units in AVCC form (4-byte big-endian NAL lengths, no
    /// start codes; every keyframe with its parameter sets in band); `private` is the
    /// `AVCDecoderConfigurationRecord` (`avcC`) of the first size, as Matroska's
    /// `V_MPEG4/ISO/AVC` and MP4's `avc3` store it.
    H264,
    /// AV1. Packets are temporal units as low-overhead OBUs without temporal delimiters;
    /// `private` is the `AV1CodecConfigurationRecord` (`av1C`, with the sequence header OBU),
    /// as Matroska's `V_AV1` and MP4's `av01` store it.
    Av1,
    /// AAC-LC. Packets are raw access units (no ADTS header); `private` is the
    /// `AudioSpecificConfig`; `delay_ns` covers the encoder's priming samples.
    Aac,
}

impl CodecId {
    /// The name in a MIME type's `codecs` parameter.
    pub fn mime_name(self) -> &'static str {
        match self {
            CodecId::Opus => "opus",
            CodecId::Pcm(_) => "pcm",
            CodecId::Vp8 => "vp8",
            CodecId::Vp9 => "vp9",
            CodecId::H264 => "avc1",
            CodecId::Av1 => "av01",
            CodecId::Aac => "mp4a.40.2",
        }
    }

    pub fn is_video(self) -> bool {
        matches!(self, CodecId::Vp8 | CodecId::Vp9 | CodecId::H264 | CodecId::Av1)
    }
}

/// How uncompressed samples are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// 32-bit IEEE float (WebM/Matroska `A_PCM/FLOAT/IEEE`).
    F32,
    /// 16-bit signed integer (WAV).
    S16,
}

impl SampleFormat {
    pub fn bits(self) -> u16 {
        match self {
            SampleFormat::F32 => 32,
            SampleFormat::S16 => 16,
        }
    }
}

/// The stream an encoder's packets decode to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StreamParams {
    Audio {
        sample_rate: u32,
        channels: u16,
    },
    /// The first picture size; a size change restarts the encoder on a keyframe.
    Video {
        width: u32,
        height: u32,
    },
}

/// One track's coded stream, as its encoder describes it once configured.
#[derive(Debug, Clone, PartialEq)]
pub struct CodecDescription {
    /// The session's track index the packets carry.
    pub track: usize,
    pub codec: CodecId,
    pub params: StreamParams,
    /// What a container stores to set the decoder up (Opus: the `OpusHead`).
    pub private: Vec<u8>,
    /// Nanoseconds of decoded output before the first real sample (Opus' pre-skip).
    pub delay_ns: i64,
    /// Nanoseconds a decoder must decode before a seek target to be exact (Opus: 80 ms).
    pub seek_pre_roll_ns: i64,
    /// The encoder's own time unit in seconds, `(numerator, denominator)`: packet times are
    /// nanoseconds, exact multiples of it where the codec has one.
    pub time_base: (u32, u32),
}

/// Raw media for an encoder, placed on the session timeline (nanoseconds).
pub enum Input<'a> {
    /// Interleaved f32 samples at the described rate; `pts` is the time of the first one.
    /// Audio is continuous: an encoder counts its packets from the first `pts` it is given.
    Audio { samples: &'a [f32], pts: i64 },
    /// One picture shown from `pts` for `duration`.
    Video { frame: &'a VideoFrame, pts: i64, duration: i64 },
}

/// Raw media in, packets out, with their final timestamps on the session timeline.
pub trait Encoder: Send {
    fn describe(&self) -> &CodecDescription;
    /// Encodes what `input` completes; packets are appended to `out`.
    fn encode(&mut self, input: Input<'_>, out: &mut Vec<Packet>) -> Result<()>;
    /// Encodes everything still buffered (a partial frame, the look-ahead): called once at
    /// the end of every session, whatever ended it.
    fn finish(&mut self, out: &mut Vec<Packet>) -> Result<()>;
    /// Makes the next picture a keyframe (video; audio packets are all keyframes).
    fn force_keyframe(&mut self) {}
    /// Pictures given since the last call that will never be written: the encoder's rate
    /// control skipped or dropped them (counted as dropped in the recorder's stats).
    fn take_dropped(&mut self) -> u64 {
        0
    }
}
