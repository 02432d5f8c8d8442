//! Matroska/WebM demuxing for [`super::decode`]: the asked-for audio track's codec, rate and
//! channels, and its blocks in file order with their times.
//!
//! The walk is flat: the masters that lead to what is needed (Segment, Tracks, TrackEntry,
//! Audio, Cluster) are entered, everything else is skipped by its size. A live recording's
//! unknown-size Segment and Clusters need no end then: the next Cluster simply follows. A
//! BlockGroup is read whole (its DiscardPadding may follow its Block).

use std::borrow::Cow;

use super::{bad, no_track, Codec, Packet, PcmFormat, Stream, Trim};
use crate::core::mux::matroska::ebml::id::{
    AUDIO, BIT_DEPTH, BLOCK, BLOCK_GROUP, CHANNELS, CLUSTER, CODEC_DELAY, CODEC_ID, CODEC_PRIVATE,
    DISCARD_PADDING, INFO, SAMPLING_FREQUENCY, SEGMENT, SIMPLE_BLOCK, TIMESTAMP, TIMESTAMP_SCALE,
    TRACKS, TRACK_ENTRY, TRACK_NUMBER, TRACK_TYPE,
};
use crate::core::{Error, Result};

const ENTERED: [u32; 6] = [SEGMENT, INFO, TRACKS, TRACK_ENTRY, AUDIO, CLUSTER];
/// RFC 9559's default TimestampScale: 1 ms ticks.
const DEFAULT_SCALE: u64 = 1_000_000;
const TRACK_TYPE_AUDIO: u64 = 2;

struct Element {
    id: u32,
    start: usize,
    data: usize,
    /// None: unknown size.
    size: Option<usize>,
}

fn bad_webm(at: usize, what: &str) -> Error {
    bad("WebM", at, what)
}

/// One element header at `pos`, or None where the input ends inside it.
fn header(buf: &[u8], pos: usize) -> Result<Option<Element>> {
    let Some(&first) = buf.get(pos) else { return Ok(None) };
    let id_len = first.leading_zeros() as usize + 1;
    if id_len > 4 {
        return Err(bad_webm(pos, "invalid element id"));
    }
    let Some(id_bytes) = buf.get(pos..pos + id_len) else { return Ok(None) };
    let id = id_bytes.iter().fold(0u32, |a, &b| (a << 8) | b as u32);
    let spos = pos + id_len;
    let Some(&s0) = buf.get(spos) else { return Ok(None) };
    let len = s0.leading_zeros() as usize + 1;
    if len > 8 {
        return Err(bad_webm(spos, "invalid element size"));
    }
    let Some(rest) = buf.get(spos + 1..spos + len) else { return Ok(None) };
    let mask = 0xFFu8.checked_shr(len as u32).unwrap_or(0);
    let mut value = (s0 & mask) as u64;
    let mut all_ones = s0 & mask == mask;
    for &b in rest {
        value = (value << 8) | b as u64;
        all_ones &= b == 0xFF;
    }
    let size = (!all_ones).then(|| usize::try_from(value).unwrap_or(usize::MAX));
    Ok(Some(Element { id, start: pos, data: spos + len, size }))
}

fn payload<'a>(buf: &'a [u8], e: &Element) -> Option<&'a [u8]> {
    buf.get(e.data..e.data.checked_add(e.size?)?)
}

fn uint(b: &[u8]) -> u64 {
    b.iter().take(8).fold(0u64, |a, &x| (a << 8) | x as u64)
}

fn int(b: &[u8]) -> i64 {
    let n = b.len().min(8);
    if n == 0 {
        return 0;
    }
    let shift = 64 - 8 * n as u32;
    ((uint(&b[..n]) << shift) as i64) >> shift
}

fn float(b: &[u8]) -> f64 {
    match b.len() {
        4 => f32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64,
        8 => f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        _ => 0.0,
    }
}

#[derive(Default)]
struct Track<'a> {
    number: u64,
    kind: u64,
    codec_id: &'a [u8],
    private: Option<&'a [u8]>,
    codec_delay: Option<u64>,
    rate: f64,
    channels: u64,
    bit_depth: u64,
}

impl Track<'_> {
    fn codec(&self) -> Result<Codec> {
        let pcm = |f| Ok(Codec::Pcm(f));
        match (self.codec_id, self.bit_depth) {
            (b"A_OPUS", _) => Ok(Codec::Opus { head: self.private.map(<[u8]>::to_vec) }),
            (b"A_PCM/FLOAT/IEEE", 32 | 0) => pcm(PcmFormat::F32Le),
            (b"A_PCM/FLOAT/IEEE", 64) => pcm(PcmFormat::F64Le),
            (b"A_PCM/INT/LIT", 8) => pcm(PcmFormat::U8),
            (b"A_PCM/INT/LIT", 16) => pcm(PcmFormat::S16Le),
            (b"A_PCM/INT/LIT", 24) => pcm(PcmFormat::S24Le),
            (b"A_PCM/INT/LIT", 32) => pcm(PcmFormat::S32Le),
            (b"A_PCM/INT/BIG", 16) => pcm(PcmFormat::S16Be),
            (b"A_PCM/INT/BIG", 24) => pcm(PcmFormat::S24Be),
            (b"A_PCM/INT/BIG", 32) => pcm(PcmFormat::S32Be),
            (id, bits) => Err(Error::NotSupported(format!(
                "src: audio codec {} ({bits} bits) is not decoded (Opus and PCM are)",
                String::from_utf8_lossy(id)
            ))),
        }
    }
}

/// A block's track number, its time relative to its Cluster's (ticks), and where its frame
/// data starts (unlaced blocks only).
fn block(at: usize, b: &[u8]) -> Result<(u64, i16, usize)> {
    let first = *b.first().ok_or_else(|| bad_webm(at, "empty block"))?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || b.len() < len + 3 {
        return Err(bad_webm(at, "truncated block header"));
    }
    let track = uint(&b[..len]) & (u64::MAX >> (64 - 7 * len));
    if b[len + 2] & 0x06 != 0 {
        return Err(Error::NotSupported(format!(
            "src: laced Matroska blocks are not decoded (block at byte offset {at})"
        )));
    }
    Ok((track, i16::from_be_bytes([b[len], b[len + 1]]), len + 3))
}

/// The `track`-th audio track of `tracks`.
fn audio_track<'t, 'a>(tracks: &'t [Track<'a>], track: usize) -> Result<&'t Track<'a>> {
    let mut audio = tracks.iter().filter(|t| t.kind == TRACK_TYPE_AUDIO);
    match audio.clone().nth(track) {
        Some(t) => Ok(t),
        None if tracks.iter().all(|t| t.kind != TRACK_TYPE_AUDIO) => {
            Err(Error::InvalidValue("src: the recording has no audio track".into()))
        }
        None => Err(no_track(track, audio.by_ref().count())),
    }
}

pub(crate) fn demux(buf: &[u8], track: usize) -> Result<Stream<'_>> {
    let mut tracks: Vec<Track<'_>> = Vec::new();
    let mut chosen: Option<(u64, Codec)> = None;
    let mut packets = Vec::new();
    let (mut scale, mut cluster_time) = (DEFAULT_SCALE, 0u64);
    let mut pos = 0;
    while let Some(e) = header(buf, pos)? {
        if ENTERED.contains(&e.id) {
            pos = e.data;
            if e.id == TRACK_ENTRY {
                tracks.push(Track::default());
            }
            continue;
        }
        let Some(body) = payload(buf, &e) else {
            if e.size.is_none() {
                return Err(bad_webm(e.start, "unknown size on an element that must have one"));
            }
            break; // cut short: decode what is whole
        };
        pos = e.data + body.len();
        match e.id {
            TIMESTAMP_SCALE => scale = uint(body).max(1),
            TIMESTAMP => cluster_time = uint(body),
            _ => {}
        }
        if let Some(t) = tracks.last_mut().filter(|_| chosen.is_none()) {
            match e.id {
                TRACK_NUMBER => t.number = uint(body),
                TRACK_TYPE => t.kind = uint(body),
                CODEC_ID => t.codec_id = body.strip_suffix(&[0]).unwrap_or(body),
                CODEC_PRIVATE => t.private = Some(body),
                CODEC_DELAY => t.codec_delay = Some(uint(body)),
                SAMPLING_FREQUENCY => t.rate = float(body),
                CHANNELS => t.channels = uint(body),
                BIT_DEPTH => t.bit_depth = uint(body),
                _ => {}
            }
        }
        if e.id != SIMPLE_BLOCK && e.id != BLOCK_GROUP {
            continue;
        }
        if chosen.is_none() {
            let t = audio_track(&tracks, track)?;
            chosen = Some((t.number, t.codec()?));
        }
        let number = chosen.as_ref().map_or(0, |c| c.0);
        let (data, discard_ns, at) =
            if e.id == SIMPLE_BLOCK { (body, 0, e.data) } else { group(buf, e.data, body)? };
        let (block_track, relative, skip) = block(at, data)?;
        if block_track == number {
            let ticks = cluster_time as i128 + relative as i128;
            let time_ns = i64::try_from(ticks * scale as i128).unwrap_or(i64::MAX);
            packets.push(Packet {
                data: Cow::Borrowed(&data[skip..]),
                discard_ns,
                time_ns: Some(time_ns),
            });
        }
    }
    let Some((number, codec)) = chosen else {
        let t = audio_track(&tracks, track)?;
        return finish(t, t.codec()?, packets, scale);
    };
    let t = tracks.iter().find(|t| t.number == number).unwrap_or(&tracks[0]);
    finish(t, codec, packets, scale)
}

/// A BlockGroup's Block and DiscardPadding.
fn group<'a>(buf: &'a [u8], data: usize, body: &'a [u8]) -> Result<(&'a [u8], i64, usize)> {
    let end = data + body.len();
    let mut pos = data;
    let (mut block, mut discard) = (None, 0);
    while let Some(e) = header(&buf[..end], pos)? {
        let b = payload(&buf[..end], &e)
            .ok_or_else(|| bad_webm(e.start, "element runs past its BlockGroup"))?;
        match e.id {
            BLOCK => block = Some((b, e.data)),
            DISCARD_PADDING => discard = int(b),
            _ => {}
        }
        pos = e.data + b.len();
    }
    let (b, at) = block.ok_or_else(|| bad_webm(data, "BlockGroup without a Block"))?;
    Ok((b, discard, at))
}

fn finish<'a>(
    t: &Track<'a>,
    codec: Codec,
    mut packets: Vec<Packet<'a>>,
    scale: u64,
) -> Result<Stream<'a>> {
    let rate = if matches!(codec, Codec::Opus { .. }) { 48_000.0 } else { t.rate };
    if !(1.0..=u32::MAX as f64).contains(&rate) {
        return Err(Error::InvalidValue(format!("src: audio track sampling frequency {}", t.rate)));
    }
    let pre_skip =
        t.codec_delay.map(|ns| ((ns as u128 * 48_000 + 500_000_000) / 1_000_000_000) as u64);
    // A block's samples are played CodecDelay before its time (RFC 9559, CodecDelay): the
    // first ones, which the pre-skip drops, before the track's start.
    let delay = i64::try_from(t.codec_delay.unwrap_or(0)).unwrap_or(i64::MAX);
    for p in &mut packets {
        p.time_ns = p.time_ns.map(|ns| ns.saturating_sub(delay));
    }
    Ok(Stream {
        codec,
        sample_rate: rate.round() as u32,
        channels: usize::try_from(t.channels.max(1)).unwrap_or(usize::MAX).min(255),
        packets,
        trim: Trim { pre_skip, granules: None },
        tick_ns: i64::try_from(scale).unwrap_or(i64::MAX),
    })
}
