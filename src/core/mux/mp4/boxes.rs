//! ISO BMFF boxes (ISO/IEC 14496-12) that the MP4 muxer writes: a small writer that sizes a
//! box once its body is written, the movie header, and one `trak` per stream with its sample
//! entry: `Opus` + `dOps` (Opus in ISOBMFF), `mp4a` + `esds` (AAC-LC, the AudioSpecificConfig
//! in a DecoderSpecificInfo), `vp09` + `vpcC` (VP codec ISOBMFF binding), `avc3` + `avcC`
//! (ISO/IEC 14496-15) and `av01` + `av1C` (AV1 ISOBMFF binding). The codec-private bytes of
//! each [`CodecDescription`] are stored as the codec contract in `codec/mod.rs` describes them.

use crate::core::codec::config::Vp9Config;
use crate::core::codec::{CodecDescription, CodecId, StreamParams};

/// Appends a box of type `kind`; its size is set once `body` has written the payload.
pub fn bx(out: &mut Vec<u8>, kind: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(kind);
    body(out);
    let size = u32::try_from(out.len() - start).expect("a header box stays below 4 GiB");
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// A full box: `bx` with a version byte and 24 bits of flags first.
pub fn full(
    out: &mut Vec<u8>,
    kind: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut Vec<u8>),
) {
    bx(out, kind, |o| {
        o.extend_from_slice(&((version as u32) << 24 | (flags & 0xFF_FFFF)).to_be_bytes());
        body(o);
    });
}

pub fn u16be(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}
pub fn u32be(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}
pub fn u64be(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// The unity transformation matrix of `mvhd` and `tkhd`.
const MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

/// One stream of the movie: what its `trak` says.
#[derive(Debug, Clone)]
pub struct TrackBox {
    /// 1-based.
    pub id: u32,
    pub desc: CodecDescription,
    /// Media time units per second: the sample rate for audio, 90 kHz for video.
    pub timescale: u32,
    /// Media time of the first sample to present (Opus pre-skip, AAC priming), in `timescale`
    /// units; recorded in an edit list.
    pub skip: u64,
}

impl TrackBox {
    pub fn new(id: u32, desc: &CodecDescription) -> Self {
        let timescale = match desc.params {
            StreamParams::Audio { sample_rate, .. } => sample_rate,
            StreamParams::Video { .. } => 90_000,
        };
        let skip = match desc.codec {
            // OpusHead's pre-skip, in 48 kHz samples, is exact; the ns figure is rounded.
            CodecId::Opus if desc.private.len() >= 12 => {
                u16::from_le_bytes([desc.private[10], desc.private[11]]) as u64
            }
            // Rounded: the ns figure is itself a rounded count of samples.
            _ => {
                ((desc.delay_ns.max(0) as i128 * timescale as i128 + 500_000_000) / 1_000_000_000)
                    as u64
            }
        };
        TrackBox { id, desc: desc.clone(), timescale, skip }
    }

    pub fn is_video(&self) -> bool {
        self.desc.codec.is_video()
    }
}

/// `ftyp`: ISO base media with fragments (iso6), readable as MP4 version 1.
pub fn ftyp(out: &mut Vec<u8>, tracks: &[TrackBox]) {
    bx(out, b"ftyp", |o| {
        o.extend_from_slice(b"isom");
        u32be(o, 0x200);
        o.extend_from_slice(b"isomiso6iso2mp41");
        if tracks.iter().any(|t| t.desc.codec == CodecId::Av1) {
            o.extend_from_slice(b"av01");
        }
        if tracks.iter().any(|t| t.desc.codec == CodecId::H264) {
            o.extend_from_slice(b"avc1");
        }
    });
}

/// `mvhd` (version 1: 64-bit durations).
pub fn mvhd(out: &mut Vec<u8>, timescale: u32, duration: u64, next_track: u32) {
    full(out, b"mvhd", 1, 0, |o| {
        u64be(o, 0); // creation time
        u64be(o, 0); // modification time
        u32be(o, timescale);
        u64be(o, duration);
        u32be(o, 0x0001_0000); // rate 1.0
        u16be(o, 0x0100); // volume 1.0
        o.extend_from_slice(&[0; 10]);
        MATRIX.iter().for_each(|v| u32be(o, *v));
        o.extend_from_slice(&[0; 24]);
        u32be(o, next_track);
    });
}

/// A `trak` whose sample tables are empty (the samples are in fragments): `tkhd`, the edit
/// list of the skipped start, `mdia` with the sample entry.
pub fn trak(out: &mut Vec<u8>, t: &TrackBox) {
    bx(out, b"trak", |o| {
        tkhd(o, t, 0);
        if t.skip > 0 {
            // Duration 0: the whole media after `skip` (its end is not known yet).
            edts(o, &[(0, t.skip as i64)]);
        }
        bx(o, b"mdia", |o| {
            mdhd(o, t.timescale, 0);
            hdlr(o, t.is_video());
            bx(o, b"minf", |o| {
                media_header(o, t.is_video());
                dinf(o);
                bx(o, b"stbl", |o| {
                    stsd(o, t);
                    full(o, b"stts", 0, 0, |o| u32be(o, 0));
                    full(o, b"stsc", 0, 0, |o| u32be(o, 0));
                    full(o, b"stsz", 0, 0, |o| o.extend_from_slice(&[0; 8]));
                    full(o, b"stco", 0, 0, |o| u32be(o, 0));
                });
            });
        });
    });
}

/// `tkhd` (version 1), enabled and in the movie.
pub fn tkhd(out: &mut Vec<u8>, t: &TrackBox, duration: u64) {
    full(out, b"tkhd", 1, 3, |o| {
        u64be(o, 0);
        u64be(o, 0);
        u32be(o, t.id);
        u32be(o, 0);
        u64be(o, duration);
        o.extend_from_slice(&[0; 8]);
        u16be(o, 0); // layer
        u16be(o, 0); // alternate group
        u16be(o, if t.is_video() { 0 } else { 0x0100 }); // volume
        u16be(o, 0);
        MATRIX.iter().for_each(|v| u32be(o, *v));
        let (w, h) = match t.desc.params {
            StreamParams::Video { width, height } => (width, height),
            StreamParams::Audio { .. } => (0, 0),
        };
        u32be(o, w << 16);
        u32be(o, h << 16);
    });
}

/// `edts` with one `elst` entry per `(segment duration, media time)`; a media time of -1
/// is an empty edit (a delayed start).
pub fn edts(out: &mut Vec<u8>, entries: &[(u64, i64)]) {
    bx(out, b"edts", |o| {
        full(o, b"elst", 1, 0, |o| {
            u32be(o, entries.len() as u32);
            for (duration, media_time) in entries {
                u64be(o, *duration);
                u64be(o, *media_time as u64);
                u32be(o, 0x0001_0000); // rate 1.0
            }
        });
    });
}

pub fn mdhd(out: &mut Vec<u8>, timescale: u32, duration: u64) {
    full(out, b"mdhd", 1, 0, |o| {
        u64be(o, 0);
        u64be(o, 0);
        u32be(o, timescale);
        u64be(o, duration);
        u16be(o, 0x55C4); // language "und"
        u16be(o, 0);
    });
}

fn hdlr(out: &mut Vec<u8>, video: bool) {
    full(out, b"hdlr", 0, 0, |o| {
        u32be(o, 0);
        o.extend_from_slice(if video { b"vide" } else { b"soun" });
        o.extend_from_slice(&[0; 12]);
        o.extend_from_slice(if video { b"VideoHandler\0" } else { b"SoundHandler\0" });
    });
}

fn media_header(out: &mut Vec<u8>, video: bool) {
    if video {
        full(out, b"vmhd", 0, 1, |o| o.extend_from_slice(&[0; 8]));
    } else {
        full(out, b"smhd", 0, 0, |o| o.extend_from_slice(&[0; 4]));
    }
}

fn dinf(out: &mut Vec<u8>) {
    bx(out, b"dinf", |o| {
        full(o, b"dref", 0, 0, |o| {
            u32be(o, 1);
            full(o, b"url ", 0, 1, |_| {}); // the media is in this file
        });
    });
}

/// `stsd` with the track's one sample entry.
pub fn stsd(out: &mut Vec<u8>, t: &TrackBox) {
    full(out, b"stsd", 0, 0, |o| {
        u32be(o, 1);
        sample_entry(o, &t.desc);
    });
}

/// The sample entry of `d`'s codec.
pub fn sample_entry(out: &mut Vec<u8>, d: &CodecDescription) {
    match (d.codec, d.params) {
        (CodecId::Opus, StreamParams::Audio { channels, .. }) => {
            audio_entry(out, b"Opus", channels, 48_000, |o| dops(o, &d.private));
        }
        (CodecId::Aac, StreamParams::Audio { sample_rate, channels }) => {
            audio_entry(out, b"mp4a", channels, sample_rate, |o| esds(o, &d.private));
        }
        (CodecId::Vp9, StreamParams::Video { width, height }) => {
            visual_entry(out, b"vp09", width, height, |o| {
                let c = Vp9Config::for_picture(width, height);
                full(o, b"vpcC", 1, 0, |o| {
                    o.push(c.profile);
                    o.push(c.level);
                    o.push(c.bit_depth << 4 | c.chroma_subsampling << 1 | c.full_range as u8);
                    o.extend_from_slice(&[c.colour_primaries, c.transfer, c.matrix]);
                    u16be(o, 0); // no codec initialization data
                });
            });
        }
        // avc3: the parameter sets of every size are in band (ISO/IEC 14496-15 §5.3.2), since
        // one sample entry serves the whole fragmented stream, size changes included; avcC
        // holds the first size's too.
        (CodecId::H264, StreamParams::Video { width, height }) => {
            visual_entry(out, b"avc3", width, height, |o| bx(o, b"avcC", |o| o.extend(&d.private)));
        }
        (CodecId::Av1, StreamParams::Video { width, height }) => {
            visual_entry(out, b"av01", width, height, |o| bx(o, b"av1C", |o| o.extend(&d.private)));
        }
        (codec, params) => {
            unreachable!("the MIME negotiation keeps {codec:?} ({params:?}) out of MP4")
        }
    }
}

/// An AudioSampleEntry (version 0): 16-bit samples, the rate as 16.16 fixed point.
fn audio_entry(
    out: &mut Vec<u8>,
    kind: &[u8; 4],
    channels: u16,
    rate: u32,
    config: impl FnOnce(&mut Vec<u8>),
) {
    bx(out, kind, |o| {
        o.extend_from_slice(&[0; 6]);
        u16be(o, 1); // data reference index
        o.extend_from_slice(&[0; 8]);
        u16be(o, channels);
        u16be(o, 16);
        u32be(o, 0);
        // Rates above 65535 Hz do not fit the field; the config box holds the real one.
        u32be(o, (rate.min(65_535)) << 16);
        config(o);
    });
}

fn visual_entry(
    out: &mut Vec<u8>,
    kind: &[u8; 4],
    width: u32,
    height: u32,
    config: impl FnOnce(&mut Vec<u8>),
) {
    bx(out, kind, |o| {
        o.extend_from_slice(&[0; 6]);
        u16be(o, 1); // data reference index
        o.extend_from_slice(&[0; 16]);
        u16be(o, width as u16);
        u16be(o, height as u16);
        u32be(o, 0x0048_0000); // 72 dpi
        u32be(o, 0x0048_0000);
        u32be(o, 0);
        u16be(o, 1); // frame count
        o.extend_from_slice(&[0; 32]); // compressor name
        u16be(o, 0x0018); // depth
        u16be(o, 0xFFFF); // pre_defined = -1
        config(o);
    });
}

/// `dOps` from an `OpusHead` (RFC 7845): the same fields, big-endian, without the magic.
fn dops(out: &mut Vec<u8>, head: &[u8]) {
    bx(out, b"dOps", |o| {
        let field = |at: usize, n: usize| head.get(at..at + n).unwrap_or(&[0; 4][..n]);
        o.push(0); // version
        o.push(head.get(9).copied().unwrap_or(1));
        o.extend(field(10, 2).iter().rev()); // pre-skip
        o.extend(field(12, 4).iter().rev()); // input sample rate
        o.extend(field(16, 2).iter().rev()); // output gain
        let family = head.get(18).copied().unwrap_or(0);
        o.push(family);
        if family != 0 {
            // Stream count, coupled count and the channel mapping are bytes already.
            o.extend(head.get(19..).unwrap_or(&[]));
        }
    });
}

/// `esds`: an ES_Descriptor holding the DecoderConfigDescriptor (MPEG-4 audio, 0x40) with
/// the AudioSpecificConfig, and the SL config MP4 requires.
fn esds(out: &mut Vec<u8>, asc: &[u8]) {
    full(out, b"esds", 0, 0, |o| {
        let mut info = Vec::new();
        descriptor(&mut info, 0x05, asc);
        let mut config = vec![0x40, 0x15, 0, 0, 0]; // audio stream, buffer size 0
        config.extend_from_slice(&[0; 8]); // max and average bitrate: unknown
        config.extend_from_slice(&info);
        let mut es = vec![0, 0, 0]; // ES_ID 0, no flags
        descriptor(&mut es, 0x04, &config);
        descriptor(&mut es, 0x06, &[0x02]);
        descriptor(o, 0x03, &es);
    });
}

/// An MPEG-4 descriptor: tag, size in 7-bit groups, payload.
fn descriptor(out: &mut Vec<u8>, tag: u8, payload: &[u8]) {
    out.push(tag);
    let n = payload.len();
    let groups = (1..4).take_while(|g| n >> (7 * g) != 0).count();
    for g in (1..=groups).rev() {
        out.push(0x80 | ((n >> (7 * g)) & 0x7F) as u8);
    }
    out.push((n & 0x7F) as u8);
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests;
