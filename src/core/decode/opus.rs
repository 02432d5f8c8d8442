//! Opus through libopus' multistream decoder (`opusic-sys`, the library the encoder links):
//! one path for mono, stereo (mapping family 0) and surround (family 1), at 48 kHz.

use std::ffi::c_int;

use super::{Codec, Decoded, Stream, Times};
use crate::core::{Error, Result};

/// 120 ms at 48 kHz: the longest packet Opus allows.
const MAX_FRAME: usize = 5_760;

struct Head {
    channels: usize,
    pre_skip: u64,
    gain: i16,
    streams: u8,
    coupled: u8,
    mapping: Vec<u8>,
}

fn parse_head(head: &[u8]) -> Result<Head> {
    let invalid = |what: &str| Error::InvalidValue(format!("src: invalid OpusHead: {what}"));
    if head.len() < 19 || &head[..8] != b"OpusHead" {
        return Err(invalid("shorter than 19 bytes or no magic"));
    }
    let channels = head[9] as usize;
    if channels == 0 {
        return Err(invalid("0 channels"));
    }
    let pre_skip = u16::from_le_bytes([head[10], head[11]]) as u64;
    let gain = i16::from_le_bytes([head[16], head[17]]);
    if head[18] == 0 {
        if channels > 2 {
            return Err(invalid("mapping family 0 with more than 2 channels"));
        }
        let coupled = (channels == 2) as u8;
        return Ok(Head { channels, pre_skip, gain, streams: 1, coupled, mapping: vec![0, 1] });
    }
    let table = head.get(21..21 + channels).ok_or_else(|| invalid("truncated mapping table"))?;
    let (streams, coupled) = (head[19], head[20]);
    if streams == 0 || coupled > streams {
        return Err(invalid("stream counts"));
    }
    Ok(Head { channels, pre_skip, gain, streams, coupled, mapping: table.to_vec() })
}

/// The OpusHead a container without one implies (Matroska always has one; this is a guard).
fn default_head(channels: usize) -> Vec<u8> {
    let mut h = b"OpusHead".to_vec();
    h.extend_from_slice(&[1, channels.min(2) as u8, 0, 0, 0x80, 0xBB, 0, 0, 0, 0, 0]);
    h
}

/// A minimal safe owner of `OpusMSDecoder`.
struct MsDecoder(*mut opusic_sys::OpusMSDecoder, usize);

impl MsDecoder {
    fn new(h: &Head) -> Result<Self> {
        let mut err: c_int = 0;
        // SAFETY: `mapping` holds at least `channels` bytes (checked by parse_head; family 0
        // gives two, of which libopus reads `channels` <= 2).
        let st = unsafe {
            opusic_sys::opus_multistream_decoder_create(
                48_000,
                h.channels as c_int,
                h.streams as c_int,
                h.coupled as c_int,
                h.mapping.as_ptr(),
                &mut err,
            )
        };
        if st.is_null() || err != opusic_sys::OPUS_OK {
            return Err(Error::Encoding(format!("opus decoder: error {err}")));
        }
        let d = MsDecoder(st, h.channels);
        if h.gain != 0 {
            // SAFETY: `st` is valid; SET_GAIN takes one opus_int32 (Q7.8 dB, RFC 7845 §5.1).
            unsafe {
                opusic_sys::opus_multistream_decoder_ctl(
                    d.0,
                    opusic_sys::OPUS_SET_GAIN_REQUEST,
                    h.gain as i32,
                )
            };
        }
        Ok(d)
    }

    /// Decodes one packet into `out` (room for MAX_FRAME frames); returns frames decoded.
    fn decode(&mut self, packet: &[u8], out: &mut [f32]) -> Result<usize> {
        let frames = out.len() / self.1;
        let len = i32::try_from(packet.len())
            .map_err(|_| Error::Encoding("opus packet too large".into()))?;
        // SAFETY: `packet` is readable for `len` bytes; `out` holds `frames * channels` floats.
        let n = unsafe {
            opusic_sys::opus_multistream_decode_float(
                self.0,
                packet.as_ptr(),
                len,
                out.as_mut_ptr(),
                frames as c_int,
                0,
            )
        };
        if n < 0 {
            return Err(Error::Encoding(format!("opus decode: error {n}")));
        }
        Ok(n as usize)
    }
}

impl Drop for MsDecoder {
    fn drop(&mut self) {
        // SAFETY: created by opus_multistream_decoder_create, destroyed once.
        unsafe { opusic_sys::opus_multistream_decoder_destroy(self.0) }
    }
}

fn ns_to_frames(ns: i64) -> usize {
    usize::try_from((ns.max(0) as i128 * 48_000 + 500_000_000) / 1_000_000_000).unwrap_or(0)
}

pub(crate) fn decode(stream: Stream<'_>) -> Result<Decoded> {
    let Codec::Opus { head } = &stream.codec else { unreachable!("opus::decode of PCM") };
    let head = head.clone().unwrap_or_else(|| default_head(stream.channels));
    let h = parse_head(&head)?;
    let ch = h.channels;
    let mut dec = MsDecoder::new(&h)?;
    let mut buf = vec![0f32; MAX_FRAME * ch];
    let mut samples: Vec<f32> = Vec::with_capacity(stream.packets.len() * 960 * ch);
    let mut decoded_frames = 0u64;
    let mut first_page_frames = 0u64;
    let first_page_packets = stream.trim.granules.as_ref().map_or(0, |g| g.first_page_packets);
    let mut times = Times::new(48_000, stream.tick_ns);
    for (i, p) in stream.packets.iter().enumerate() {
        if p.data.is_empty() {
            continue;
        }
        times.packet((samples.len() / ch) as u64, p.time_ns);
        let n = dec.decode(&p.data, &mut buf)?;
        decoded_frames += n as u64;
        if i < first_page_packets {
            first_page_frames += n as u64;
        }
        let keep = n - ns_to_frames(p.discard_ns).min(n);
        samples.extend_from_slice(&buf[..keep * ch]);
    }
    // Ogg: the first sample after the pre-skip is played at the stream's start granule.
    let mut start_ns = 0;
    if let Some(g) = &stream.trim.granules {
        // Granules count from the stream's start: the first audio page's minus what its
        // packets decode to (RFC 7845 §4.3); the last one ends the stream (§4.5).
        let start = g.first_granule.saturating_sub(first_page_frames);
        start_ns = (start as i128 * 1_000_000_000 / 48_000) as i64;
        let end = g.last_granule.saturating_sub(start).min(decoded_frames);
        samples.truncate(end as usize * ch);
    }
    let pre_skip = stream.trim.pre_skip.unwrap_or(h.pre_skip) as usize;
    samples.drain(..(pre_skip * ch).min(samples.len()));
    times.drop_front(pre_skip as u64);
    let times = times.finish((samples.len() / ch) as u64, start_ns);
    Ok(Decoded { samples, channels: ch, sample_rate: 48_000, times })
}
