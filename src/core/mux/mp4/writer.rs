//! Fragmented MP4 in Chrome's layout: the first bytes are `ftyp` + `moov` (empty sample
//! tables, `mvex`), then `moof` + `mdat` fragments, each with one `trun` per track and that
//! track's samples contiguous in the `mdat`. A fragment ends before every video keyframe
//! (audio only: every [`AUDIO_FRAGMENT_SAMPLES`] samples), once it spans [`MAX_FRAGMENT_NS`],
//! and at every [`Mp4Muxer::flush`],
//! so every chunk is whole fragments and any prefix of whole chunks is a playable file.
//!
//! Our own box writer (`boxes.rs`) rather than a crate: the fragment must close exactly at
//! a chunk cut, the end trim of Opus and AAC rides on the last sample's duration, and the same
//! few boxes are read back by the faststart rewrite (`faststart.rs`), which has to take
//! Chrome's fragments too; the writer is ~300 lines with no dependency.

use crate::core::codec::CodecDescription;
use crate::core::mux::mp4::boxes::{self as boxes, bx, full, u32be, u64be, TrackBox};
use crate::core::packet::Packet;

/// An audio-only recording starts a fragment every this many samples (1 s of 20 ms Opus).
pub const AUDIO_FRAGMENT_SAMPLES: usize = 50;

/// A fragment spans at most this much media (ns), keyframes or not: a file is written a
/// fragment at a time, so this is what a crash can lose.
pub const MAX_FRAGMENT_NS: i64 = 1_000_000_000;

/// `trun` sample flags: a sync sample, and a sample that depends on others.
pub const SYNC: u32 = 0x0200_0000;
pub const NON_SYNC: u32 = 0x0101_0000;

/// One sample waiting in the open fragment.
struct Sample {
    /// Decode time in the track's timescale.
    time: u64,
    duration: u32,
    flags: u32,
    data: Vec<u8>,
}

pub struct Mp4Muxer {
    tracks: Vec<TrackBox>,
    movie_timescale: u32,
    header_written: bool,
    out: Vec<u8>,
    /// The open fragment's samples, per track.
    open: Vec<Vec<Sample>>,
    /// The `pts` (ns) of the open fragment's first packet.
    open_start: Option<i64>,
    sequence: u32,
    has_video: bool,
}

impl Mp4Muxer {
    pub fn new(descriptions: &[CodecDescription]) -> Self {
        let tracks: Vec<TrackBox> =
            descriptions.iter().enumerate().map(|(i, d)| TrackBox::new(i as u32 + 1, d)).collect();
        // The movie timescale is the audio's sample rate where there is audio, so that the
        // durations of the edit list and of the movie are exact to the sample.
        let movie_timescale =
            tracks.iter().find(|t| !t.is_video()).or(tracks.first()).map_or(1000, |t| t.timescale);
        let has_video = tracks.iter().any(TrackBox::is_video);
        Mp4Muxer {
            open: tracks.iter().map(|_| Vec::new()).collect(),
            tracks,
            movie_timescale,
            header_written: false,
            out: Vec::new(),
            open_start: None,
            sequence: 0,
            has_video,
        }
    }

    /// Adds one packet (packets come in non-decreasing `pts` order across tracks).
    pub fn write(&mut self, p: &Packet) {
        let Some(video) = self.tracks.get(p.track).map(TrackBox::is_video) else { return };
        self.begin();
        let n: usize = self.open.iter().map(Vec::len).sum();
        let audio_full = !self.has_video && n >= AUDIO_FRAGMENT_SAMPLES;
        let long = self.open_start.is_some_and(|start| p.pts - start >= MAX_FRAGMENT_NS);
        if n > 0 && ((video && p.keyframe) || audio_full || long) {
            self.close_fragment();
        }
        self.open_start.get_or_insert(p.pts);
        let ts = self.tracks[p.track].timescale;
        let time = ticks(p.pts, ts).max(0) as u64;
        // The sample ends where the packet does, less what the decoder drops at the end (the
        // end trim of Opus and AAC, as FFmpeg writes it: the last sample is shortened and
        // the edit list covers the rest).
        let end = ticks(p.pts + p.duration - p.discard_padding, ts).max(0) as u64;
        let samples = &mut self.open[p.track];
        if let Some(prev) = samples.last_mut() {
            // Within a fragment a sample lasts until the next one starts: pts stay exact.
            prev.duration = time.saturating_sub(prev.time).min(u32::MAX as u64) as u32;
        }
        samples.push(Sample {
            time,
            duration: end.saturating_sub(time).min(u32::MAX as u64) as u32,
            flags: if p.keyframe || !video { SYNC } else { NON_SYNC },
            data: p.data.clone(),
        });
    }

    /// Writes the header (`ftyp` + `moov`) unless it is written.
    pub fn begin(&mut self) {
        if !self.header_written {
            self.header_written = true;
            self.init_segment();
        }
    }

    /// Closes the open fragment and hands over every byte produced since the last flush.
    pub fn flush(&mut self) -> Vec<u8> {
        self.close_fragment();
        std::mem::take(&mut self.out)
    }

    /// The bytes produced since the last flush (whole fragments, after the header).
    pub fn pending(&self) -> &[u8] {
        &self.out
    }

    /// Whether any byte has been produced (a finished file can be made of the stream).
    pub fn started(&self) -> bool {
        self.header_written
    }

    fn init_segment(&mut self) {
        let out = &mut self.out;
        boxes::ftyp(out, &self.tracks);
        bx(out, b"moov", |o| {
            boxes::mvhd(o, self.movie_timescale, 0, self.tracks.len() as u32 + 1);
            for t in &self.tracks {
                boxes::trak(o, t);
            }
            bx(o, b"mvex", |o| {
                for t in &self.tracks {
                    full(o, b"trex", 0, 0, |o| {
                        u32be(o, t.id);
                        u32be(o, 1); // sample description index
                        o.extend_from_slice(&[0; 12]); // default duration, size, flags
                    });
                }
            });
        });
    }

    /// Writes the open fragment as `moof` + `mdat`: one `traf` per track with samples, its
    /// data offset relative to the `moof` (default-base-is-moof).
    fn close_fragment(&mut self) {
        if self.open.iter().all(Vec::is_empty) {
            return;
        }
        self.sequence += 1;
        self.open_start = None;
        let open =
            std::mem::replace(&mut self.open, self.tracks.iter().map(|_| Vec::new()).collect());
        // The moof's size does not depend on the offsets it holds: build it once to learn it.
        let data_len = open.iter().flatten().map(|s| s.data.len() as u64).sum::<u64>();
        let large = data_len + 8 > u32::MAX as u64;
        let header = if large { 16 } else { 8 };
        let moof_len = moof(&self.tracks, &open, self.sequence, 0).len() as u64;
        let moof = moof(&self.tracks, &open, self.sequence, moof_len + header);
        self.out.extend_from_slice(&moof);
        mdat_header(&mut self.out, data_len);
        for s in open.into_iter().flatten() {
            self.out.extend_from_slice(&s.data);
        }
    }
}

/// An `mdat` header for `data_len` bytes of samples (64-bit size past 4 GiB).
pub fn mdat_header(out: &mut Vec<u8>, data_len: u64) {
    match u32::try_from(data_len + 8) {
        Ok(size) => {
            u32be(out, size);
            out.extend_from_slice(b"mdat");
        }
        Err(_) => {
            u32be(out, 1);
            out.extend_from_slice(b"mdat");
            u64be(out, data_len + 16);
        }
    }
}

/// Nanoseconds to `timescale` units, rounded to nearest.
pub fn ticks(ns: i64, timescale: u32) -> i64 {
    let t = ns as i128 * timescale as i128;
    (t + t.signum() * 500_000_000) as i64 / 1_000_000_000
}

/// A `moof` whose samples start `data_start` bytes after its first byte.
fn moof(tracks: &[TrackBox], open: &[Vec<Sample>], sequence: u32, data_start: u64) -> Vec<u8> {
    let mut out = Vec::new();
    bx(&mut out, b"moof", |o| {
        full(o, b"mfhd", 0, 0, |o| u32be(o, sequence));
        let mut offset = data_start;
        for (t, samples) in tracks.iter().zip(open) {
            let Some(first) = samples.first() else { continue };
            bx(o, b"traf", |o| {
                full(o, b"tfhd", 0, 0x02_0000, |o| u32be(o, t.id)); // default-base-is-moof
                full(o, b"tfdt", 1, 0, |o| u64be(o, first.time));
                // data offset, and per sample: duration, size, flags.
                full(o, b"trun", 0, 0x0701, |o| {
                    u32be(o, samples.len() as u32);
                    u32be(o, offset as u32);
                    for s in samples {
                        u32be(o, s.duration);
                        u32be(o, s.data.len() as u32);
                        u32be(o, s.flags);
                    }
                });
            });
            offset += samples.iter().map(|s| s.data.len() as u64).sum::<u64>();
        }
    });
    out
}

#[cfg(test)]
mod tests;
