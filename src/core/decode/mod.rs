//! `decode`: a recording's audio back to samples, without FFmpeg. The containers this crate
//! writes and browsers record (WebM/Matroska, Ogg, WAV) are demuxed here into one
//! [`Stream`]; Opus goes through libopus' decoder ([`opus`]), PCM is converted directly.
//!
//! Any audio track can be asked for (the first by default; `audio_tracks="separate"` writes
//! several), and where the recording's times lie comes back with the samples ([`Decoded::times`]).
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
    /// Where the samples lie on the recording's timeline: `(frame, ns)`, the time of a frame
    /// of `samples`, for the first frame and wherever the recording's times jump (a gap, an
    /// overlap); the frames in between follow at the sample rate. Matroska's block times
    /// (less `CodecDelay`, as RFC 9559 says players do), Ogg's granule positions; WAV has none
    /// and starts at 0.
    pub times: Vec<(u64, i64)>,
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
    /// When its first decoded sample is played (Matroska: the block's time less CodecDelay).
    pub time_ns: Option<i64>,
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
    /// The container's time resolution (Matroska's TimestampScale): block times are rounded
    /// to it, so only a larger difference is a jump.
    pub tick_ns: i64,
}

/// Builds [`Decoded::times`] as packets are decoded.
pub(crate) struct Times {
    rows: Vec<(u64, i64)>,
    rate: u32,
    tolerance_ns: i64,
}

impl Times {
    pub(crate) fn new(rate: u32, tick_ns: i64) -> Self {
        let frame_ns = 1_000_000_000 / rate.max(1) as i64;
        Times { rows: Vec::new(), rate: rate.max(1), tolerance_ns: tick_ns.max(frame_ns) }
    }

    fn ns(&self, frames: u64) -> i64 {
        (frames as i128 * 1_000_000_000 / self.rate as i128) as i64
    }

    /// A packet whose samples start at frame `at` of the output, played at `time_ns`.
    pub(crate) fn packet(&mut self, at: u64, time_ns: Option<i64>) {
        let Some(t) = time_ns else { return };
        if let Some(&(a0, t0)) = self.rows.last() {
            if (t - (t0 + self.ns(at - a0))).abs() <= self.tolerance_ns {
                return;
            }
        }
        self.rows.push((at, t));
    }

    /// The first `n` frames were dropped (pre-skip): the row that covers frame `n` moves there.
    pub(crate) fn drop_front(&mut self, n: u64) {
        let Some(i) = self.rows.iter().rposition(|r| r.0 <= n) else {
            self.rows.iter_mut().for_each(|r| r.0 -= n);
            return;
        };
        let (a, t) = self.rows[i];
        self.rows.drain(..i);
        self.rows[0] = (n, t + self.ns(n - a));
        self.rows.iter_mut().for_each(|r| r.0 -= n);
    }

    /// The rows for `frames` output frames; `start_ns` where the container gave no time.
    pub(crate) fn finish(mut self, frames: u64, start_ns: i64) -> Vec<(u64, i64)> {
        self.rows.retain(|r| r.0 == 0 || r.0 < frames);
        if self.rows.first().is_none_or(|r| r.0 != 0) {
            self.rows.insert(0, (0, start_ns));
        }
        self.rows
    }
}

pub(crate) fn bad(container: &str, offset: usize, what: &str) -> Error {
    Error::InvalidValue(format!(
        "src: not a valid {container} file: {what} at byte offset {offset}"
    ))
}

/// `track` was not found: the recording has `count` audio tracks.
pub(crate) fn no_track(track: usize, count: usize) -> Error {
    let s = if count == 1 { "" } else { "s" };
    Error::InvalidValue(format!(
        "track: the recording has {count} audio track{s}, so there is no track {track}"
    ))
}

/// Decodes audio track `track` (0: the first) of a recording held in `buf`.
pub fn decode(buf: &[u8], track: usize) -> Result<Decoded> {
    let stream = if buf.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        matroska::demux(buf, track)?
    } else if buf.starts_with(b"OggS") {
        ogg::demux(buf, track)?
    } else if buf.starts_with(b"RIFF") || buf.starts_with(b"RF64") {
        if track != 0 {
            return Err(no_track(track, 1));
        }
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
