//! Muxers: packets in, container bytes out.
//!
//! Our own EBML writer rather than the `webm` crate: webm 2.2.1 (libwebm's mkvmuxer) exposes
//! neither `CodecDelay`/`SeekPreRoll` nor `DiscardPadding`, cannot be told to close a cluster
//! at a chunk boundary, and needs `Write + Seek` for anything but its live mode.

mod container;
pub mod interleave;
pub mod matroska;
pub mod mp4;
pub mod ogg;
pub mod wav;

use matroska::writer as webm;

use crate::core::codec::{CodecDescription, CodecId, SampleFormat, StreamParams};
use crate::core::packet::Packet;

pub use container::Container;

/// The muxer of a session, chosen by the container of its MIME type.
pub enum Muxer {
    Webm(webm::WebmMuxer),
    Ogg(ogg::OggMuxer),
    Wav(wav::WavMuxer),
    Mp4(mp4::Mp4Muxer),
}

/// What turns a finished stream into a seekable file: bytes to write at stream offsets
/// (WebM's Duration, SeekHead, Cues; WAV's sizes).
#[derive(Debug, Default)]
pub struct Patches(pub Vec<(u64, Vec<u8>)>);

/// What turns a file of the whole stream into a finished one.
#[derive(Debug)]
pub enum Finish {
    /// The stream is the file (nothing was muxed, or the container has no index).
    Nothing,
    /// Bytes to write at stream offsets (WebM's Duration, SeekHead, Cues; WAV's sizes).
    Patches(Patches),
    /// Rewrite the fragmented MP4 as a faststart one (`moov` before `mdat`), see
    /// [`mp4::faststart::rewrite_file`]; a browser's live WebM as a seekable one.
    Faststart,
}

impl From<Option<Patches>> for Finish {
    fn from(p: Option<Patches>) -> Self {
        p.map_or(Finish::Nothing, Finish::Patches)
    }
}

impl Muxer {
    /// A muxer for `container` holding the streams `tracks` describe, in track order. The
    /// recorder checked that the container can hold them.
    pub fn new(container: Container, tracks: &[CodecDescription]) -> Self {
        match container {
            Container::Webm => {
                Muxer::Webm(webm::WebmMuxer::new(tracks.iter().map(matroska).collect(), "webm"))
            }
            Container::Matroska => {
                Muxer::Webm(webm::WebmMuxer::new(tracks.iter().map(matroska).collect(), "matroska"))
            }
            Container::Ogg => Muxer::Ogg(ogg::OggMuxer::new(
                tracks.first().map(|d| d.private.clone()).unwrap_or_default(),
            )),
            Container::Wav => {
                let (rate, channels) = match tracks.first().map(|d| d.params) {
                    Some(StreamParams::Audio { sample_rate, channels }) => (sample_rate, channels),
                    _ => (48_000, 1),
                };
                Muxer::Wav(wav::WavMuxer::new(rate, channels))
            }
            Container::Mp4 => Muxer::Mp4(mp4::Mp4Muxer::new(tracks)),
        }
    }

    /// `last`: no later packet of the track is known yet (see [`webm::WebmMuxer::write`]).
    pub fn write(&mut self, p: &Packet, last: bool) {
        match self {
            Muxer::Webm(m) => m.write(p, last),
            Muxer::Ogg(m) => m.write(p),
            Muxer::Wav(m) => m.write(p),
            Muxer::Mp4(m) => m.write(p),
        }
    }

    /// Writes the container's header now (it needs no packet): the recording has begun.
    pub fn begin(&mut self) {
        match self {
            Muxer::Webm(m) => m.begin(),
            Muxer::Ogg(m) => m.begin(),
            Muxer::Wav(m) => m.begin(),
            Muxer::Mp4(m) => m.begin(),
        }
    }

    /// Muxes for a file written as it goes: an audio-only WebM closes its clusters every
    /// second. With video they still close only before keyframes (every 2 s by default), so
    /// that every cluster is a seek target.
    pub fn write_as_you_go(&mut self) {
        if let Muxer::Webm(m) = self {
            if !m.has_video() {
                m.set_max_cluster_ms(1_000);
            }
        }
    }

    /// Every byte produced since the last flush, ending on a boundary a chunk may end on.
    pub fn flush(&mut self) -> Vec<u8> {
        match self {
            Muxer::Webm(m) => m.flush(),
            Muxer::Ogg(m) => m.flush(),
            Muxer::Wav(m) => m.flush(),
            Muxer::Mp4(m) => m.flush(),
        }
    }

    /// The bytes produced since the last flush that are already final (closed Clusters,
    /// fragments, pages), which [`Muxer::flush`] will return first.
    pub fn pending(&self) -> &[u8] {
        match self {
            Muxer::Webm(m) => m.pending(),
            Muxer::Ogg(m) => m.pending(),
            Muxer::Wav(m) => m.pending(),
            Muxer::Mp4(m) => m.pending(),
        }
    }

    /// The last bytes, and what finishes a file of the whole stream.
    pub fn finalize(&mut self) -> (Vec<u8>, Finish) {
        match self {
            Muxer::Webm(m) => {
                let (data, patches) = m.finalize();
                (data, patches.into())
            }
            Muxer::Ogg(m) => (m.finalize(), Finish::Nothing),
            Muxer::Wav(m) => {
                let (data, patches) = m.finalize();
                (data, patches.into())
            }
            Muxer::Mp4(m) => {
                let finish = if m.started() { Finish::Faststart } else { Finish::Nothing };
                (m.flush(), finish)
            }
        }
    }
}

/// A Matroska TrackEntry's codec fields for `d`: the Matroska codec IDs live here.
fn matroska(d: &CodecDescription) -> webm::TrackInfo {
    let (codec_id, bit_depth) = match d.codec {
        CodecId::Opus => ("A_OPUS", 0),
        CodecId::Pcm(SampleFormat::F32) => ("A_PCM/FLOAT/IEEE", 32),
        CodecId::Pcm(SampleFormat::S16) => ("A_PCM/INT/LIT", 16),
        CodecId::Vp8 => ("V_VP8", 0),
        CodecId::Vp9 => ("V_VP9", 0),
        CodecId::H264 => ("V_MPEG4/ISO/AVC", 0),
        CodecId::Av1 => ("V_AV1", 0),
        CodecId::Aac => ("A_AAC", 0),
    };
    webm::TrackInfo {
        codec_id,
        bit_depth,
        codec_private: (!d.private.is_empty()).then(|| d.private.clone()),
        codec_delay_ns: d.delay_ns.max(0) as u64,
        seek_pre_roll_ns: d.seek_pre_roll_ns.max(0) as u64,
        kind: match d.params {
            StreamParams::Audio { sample_rate, channels } => {
                webm::TrackFormat::Audio { sample_rate: sample_rate as f64, channels }
            }
            StreamParams::Video { width, height } => webm::TrackFormat::Video { width, height },
        },
    }
}
