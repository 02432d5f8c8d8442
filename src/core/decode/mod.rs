//! `decode`: a recording's audio back to samples, without FFmpeg. The containers this crate
//! writes and browsers record (WebM/Matroska, Ogg, WAV) are demuxed here into one
//! [`Stream`]; Opus goes through libopus' decoder ([`opus`]), PCM is converted directly.
//!
//! The decoded length is what was written: Opus' pre-skip (Matroska `CodecDelay`, else the
//! OpusHead's), each block's `DiscardPadding`, and Ogg's end-of-stream granule position are
//! applied. Video is not decoded here (PyAV does that). The input is untrusted: every size is
//! checked against what is left, and a recording cut short decodes up to its last whole
//! packet.

mod matroska;
mod ogg;
mod opus;
mod pcm;
mod wav;

use std::borrow::Cow;

use crate::core::{Error, Result};

pub use pcm::PcmFormat;

/// Interleaved samples of one audio track.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub samples: Vec<f32>,
    pub channels: usize,
    pub sample_rate: u32,
}

impl Decoded {
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }
}

/// What a container holds for its first audio track.
#[derive(Debug)]
pub(crate) enum Codec {
    /// `head` is the OpusHead (RFC 7845 §5.1), when the container gives one.
    Opus {
        head: Option<Vec<u8>>,
    },
    Pcm(PcmFormat),
}

/// One packet (Matroska block, Ogg packet, a WAV's data) and the samples to drop from its end.
#[derive(Debug)]
pub(crate) struct Packet<'a> {
    /// Borrowed from the input, or joined from the pieces of an Ogg packet split over pages.
    pub data: Cow<'a, [u8]>,
    /// Matroska `DiscardPadding`, in ns.
    pub discard_ns: i64,
}

/// How much of the decoded stream is media, beyond per-packet padding.
#[derive(Debug, Default)]
pub(crate) struct Trim {
    /// Samples (per channel) decoded before the media begins; `None`: the OpusHead's pre-skip.
    pub pre_skip: Option<u64>,
    /// Ogg: the packets that end on the first audio page and that page's granule position,
    /// and the granule of the last page (RFC 7845 §4: samples from the stream's start).
    pub granules: Option<OggGranules>,
}

#[derive(Debug)]
pub(crate) struct OggGranules {
    pub first_page_packets: usize,
    pub first_granule: u64,
    pub last_granule: u64,
}

#[derive(Debug)]
pub(crate) struct Stream<'a> {
    pub codec: Codec,
    pub sample_rate: u32,
    pub channels: usize,
    pub packets: Vec<Packet<'a>>,
    pub trim: Trim,
}

pub(crate) fn bad(container: &str, offset: usize, what: &str) -> Error {
    Error::InvalidValue(format!(
        "src: not a valid {container} file: {what} at byte offset {offset}"
    ))
}

/// Decodes the first audio track of a recording held in `buf`.
pub fn decode(buf: &[u8]) -> Result<Decoded> {
    let stream = if buf.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        matroska::demux(buf)?
    } else if buf.starts_with(b"OggS") {
        ogg::demux(buf)?
    } else if buf.starts_with(b"RIFF") || buf.starts_with(b"RF64") {
        wav::demux(buf)?
    } else if buf.get(4..8) == Some(b"ftyp") {
        return Err(Error::NotSupported(
            "src: MP4 is not decoded by mediarecorder.decode (use PyAV)".into(),
        ));
    } else {
        return Err(Error::InvalidValue(
            "src: not a recording mediarecorder can decode (WebM/Matroska, Ogg or WAV)".into(),
        ));
    };
    if stream.channels == 0 {
        return Err(Error::InvalidValue("src: the audio track has no channels".into()));
    }
    match &stream.codec {
        Codec::Opus { .. } => opus::decode(stream),
        Codec::Pcm(format) => Ok(pcm::decode(*format, &stream)),
    }
}

#[cfg(test)]
mod tests;
