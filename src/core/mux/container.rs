//! The containers this build writes, and what each can hold: the muxers' own knowledge, which
//! the MIME negotiation (`mime.rs`, above `mux` and `encode`) reads.

use crate::core::codec::{CodecId, SampleFormat};

/// A container this build can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Webm,
    Matroska,
    Ogg,
    Wav,
    /// ISO BMFF: fragmented while recording, faststart in a finished file.
    Mp4,
}

impl Container {
    /// The MIME subtype that names this container.
    pub fn subtype(self) -> &'static str {
        match self {
            Container::Webm => "webm",
            Container::Matroska => "x-matroska",
            Container::Ogg => "ogg",
            Container::Wav => "wav",
            Container::Mp4 => "mp4",
        }
    }

    /// The audio codec used when the type names none.
    pub fn default_audio(self) -> CodecId {
        match self {
            Container::Wav => CodecId::Pcm(SampleFormat::S16),
            _ => CodecId::Opus,
        }
    }

    /// The video codec used when the type names none: H.264 in MP4 (Chrome's and Safari's
    /// choice); VP8 in WebM and Matroska.
    pub fn default_video(self) -> CodecId {
        match self {
            Container::Mp4 => CodecId::H264,
            _ => CodecId::Vp8,
        }
    }

    pub fn holds(self, codec: CodecId) -> bool {
        use CodecId::{Aac, Av1, Opus, Pcm, Vp8, Vp9, H264};
        match self {
            Container::Webm => matches!(codec, Opus | Pcm(_) | Vp8 | Vp9 | Av1),
            Container::Matroska => true,
            Container::Ogg => codec == Opus,
            Container::Wav => matches!(codec, Pcm(_)),
            Container::Mp4 => matches!(codec, Opus | Aac | Vp9 | Av1 | H264),
        }
    }

    /// How this container stores uncompressed audio.
    pub fn pcm_format(self) -> SampleFormat {
        match self {
            Container::Wav => SampleFormat::S16,
            _ => SampleFormat::F32,
        }
    }

    pub fn holds_video(self) -> bool {
        matches!(self, Container::Webm | Container::Matroska | Container::Mp4)
    }
}
