//! Opus through libopus: the `opus` crate for mono and stereo, libopus' multistream surround
//! encoder (through `opusic-sys`, the same library the `opus` crate links) for 3 to 8 channels,
//! which the `opus` crate does not wrap.
//!
//! Input is interleaved f32 at any supported rate; rates Opus does not take natively are
//! converted to 48 kHz first. Output packets are 20 ms; the last one carries the
//! `DiscardPadding` that makes the decoded length equal the input length.

use std::ffi::c_int;

use crate::core::codec::{CodecDescription, CodecId, Encoder, Input, StreamParams};
use crate::core::encode::BitrateMode;
use crate::core::packet::Packet;
use crate::core::resample::StreamResampler;
use crate::core::{Error, Result};

const FRAME_MS: u32 = 20;
const NATIVE_RATES: [u32; 5] = [8_000, 12_000, 16_000, 24_000, 48_000];
/// Matroska asks for 80 ms of pre-roll after a seek for Opus.
pub const SEEK_PRE_ROLL_NS: u64 = 80_000_000;
const MAX_PACKET: usize = 4000;

enum Inner {
    Simple(opus::Encoder),
    Surround(Surround),
}

/// One Opus stream for one track.
pub struct OpusEncoder {
    track: usize,
    inner: Inner,
    channels: usize,
    rate: u32,
    frame: usize,
    resampler: Option<StreamResampler>,
    converted: Vec<f32>,
    pending: Vec<f32>,
    in_frames: u64,
    frames_out: u64,
    lookahead: u32,
    description: CodecDescription,
    /// Session time of the first sample (set by the first [`Encoder::encode`]).
    origin: Option<i64>,
    out: Vec<u8>,
}

impl OpusEncoder {
    pub fn new(
        track: usize,
        input_rate: u32,
        channels: u16,
        bits_per_second: u32,
        mode: BitrateMode,
    ) -> Result<Self> {
        let rate = if NATIVE_RATES.contains(&input_rate) { input_rate } else { 48_000 };
        let resampler = (rate != input_rate)
            .then(|| StreamResampler::new(input_rate, rate, channels))
            .transpose()?;
        let bitrate = bits_per_second.clamp(500, 512_000 * channels as u32) as i32;
        let vbr = mode == BitrateMode::Variable;
        let (inner, lookahead, mapping) = if channels <= 2 {
            let ch = if channels == 1 { opus::Channels::Mono } else { opus::Channels::Stereo };
            let mut enc =
                opus::Encoder::new(rate, ch, opus::Application::Audio).map_err(enc_err)?;
            enc.set_bitrate(opus::Bitrate::Bits(bitrate)).map_err(enc_err)?;
            enc.set_vbr(vbr).map_err(enc_err)?;
            let lookahead = enc.get_lookahead().map_err(enc_err)?;
            (Inner::Simple(enc), lookahead, None)
        } else {
            let s = Surround::new(rate, channels, bitrate, vbr)?;
            let lookahead = s.lookahead()?;
            let mapping = (s.streams, s.coupled, s.mapping.clone());
            (Inner::Surround(s), lookahead, Some(mapping))
        };
        // OpusHead's pre-skip counts 48 kHz samples whatever the encoding rate.
        let lookahead = lookahead as u32 * (48_000 / rate);
        let head = opus_head(channels, lookahead as u16, input_rate, mapping);
        Ok(OpusEncoder {
            track,
            inner,
            channels: channels as usize,
            rate,
            frame: (rate * FRAME_MS / 1000) as usize,
            resampler,
            converted: Vec::new(),
            pending: Vec::new(),
            in_frames: 0,
            frames_out: 0,
            lookahead,
            description: CodecDescription {
                track,
                codec: CodecId::Opus,
                // Opus always decodes at 48 kHz, whatever rate it was given.
                params: StreamParams::Audio { sample_rate: 48_000, channels },
                private: head,
                delay_ns: lookahead as i64 * 1_000_000_000 / 48_000,
                seek_pre_roll_ns: SEEK_PRE_ROLL_NS as i64,
                time_base: (1, 48_000),
            },
            origin: None,
            out: vec![0; MAX_PACKET * channels as usize],
        })
    }

    /// The `OpusHead` that Matroska stores as CodecPrivate.
    pub fn codec_private(&self) -> &[u8] {
        &self.description.private
    }

    /// The encoder's real pre-skip, in nanoseconds (Matroska `CodecDelay`).
    pub fn codec_delay_ns(&self) -> u64 {
        self.lookahead as u64 * 1_000_000_000 / 48_000
    }

    pub fn frame_duration_ns(&self) -> i64 {
        FRAME_MS as i64 * 1_000_000
    }

    /// Encodes every whole 20 ms frame of `samples` (interleaved, at the input rate).
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<Packet>) -> Result<()> {
        if let Some(r) = self.resampler.as_mut() {
            self.converted.clear();
            r.push(samples, &mut self.converted)?;
            self.pending.extend_from_slice(&self.converted);
            self.in_frames += (self.converted.len() / self.channels) as u64;
        } else {
            self.pending.extend_from_slice(samples);
            self.in_frames += (samples.len() / self.channels) as u64;
        }
        self.drain(out)
    }

    /// Encodes the tail, padded with silence, so that every input sample is decodable; the
    /// last packet's `discard_padding` trims the padding again.
    pub fn finish(&mut self, out: &mut Vec<Packet>) -> Result<()> {
        if let Some(r) = self.resampler.as_mut() {
            self.converted.clear();
            r.finish(&mut self.converted)?;
            self.pending.extend_from_slice(&self.converted);
            self.in_frames += (self.converted.len() / self.channels) as u64;
        }
        if self.in_frames == 0 {
            return Ok(());
        }
        let per_48k = 48_000 / self.rate as u64;
        let needed = self.in_frames + self.lookahead as u64 / per_48k;
        let frame = self.frame as u64;
        let total = needed.div_ceil(frame) * frame;
        let missing = total - self.frames_out * frame - (self.pending.len() / self.channels) as u64;
        self.pending.extend(std::iter::repeat_n(0.0, missing as usize * self.channels));
        let first = out.len();
        self.drain(out)?;
        if let Some(last) = out[first..].last_mut() {
            last.discard_padding = ((total - needed) * per_48k) as i64 * 1_000_000_000 / 48_000;
        }
        Ok(())
    }

    fn drain(&mut self, out: &mut Vec<Packet>) -> Result<()> {
        let n = self.frame * self.channels;
        let mut start = 0;
        while self.pending.len() - start >= n {
            let pcm = &self.pending[start..start + n];
            let len = match &mut self.inner {
                Inner::Simple(e) => e.encode_float(pcm, &mut self.out).map_err(enc_err)?,
                Inner::Surround(s) => s.encode(pcm, self.frame, &mut self.out)?,
            };
            let duration = self.frame_duration_ns();
            out.push(Packet {
                track: self.track,
                pts: self.frames_out as i64 * duration,
                duration,
                keyframe: true,
                discard_padding: 0,
                data: self.out[..len].to_vec(),
            });
            self.frames_out += 1;
            start += n;
        }
        self.pending.drain(..start);
        Ok(())
    }
}

impl Encoder for OpusEncoder {
    fn describe(&self) -> &CodecDescription {
        &self.description
    }

    fn encode(&mut self, input: Input<'_>, out: &mut Vec<Packet>) -> Result<()> {
        let Input::Audio { samples, pts } = input else {
            return Err(Error::Encoding("opus encoder: given a picture".into()));
        };
        let origin = *self.origin.get_or_insert(pts.max(0));
        let first = out.len();
        self.push(samples, out)?;
        out[first..].iter_mut().for_each(|p| p.pts += origin);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Packet>) -> Result<()> {
        let first = out.len();
        OpusEncoder::finish(self, out)?;
        let origin = self.origin.unwrap_or(0);
        out[first..].iter_mut().for_each(|p| p.pts += origin);
        Ok(())
    }
}

fn enc_err(e: opus::Error) -> Error {
    Error::Encoding(format!("opus encoder: {e}"))
}

/// The 19-byte OpusHead (RFC 7845 §5.1), plus the channel mapping table for family 1.
fn opus_head(
    channels: u16,
    pre_skip: u16,
    input_rate: u32,
    mapping: Option<(u8, u8, Vec<u8>)>,
) -> Vec<u8> {
    let mut h = Vec::with_capacity(21 + channels as usize);
    h.extend_from_slice(b"OpusHead");
    h.push(1);
    h.push(channels as u8);
    h.extend_from_slice(&pre_skip.to_le_bytes());
    h.extend_from_slice(&input_rate.to_le_bytes());
    h.extend_from_slice(&0i16.to_le_bytes());
    match mapping {
        None => h.push(0),
        Some((streams, coupled, table)) => {
            h.push(1);
            h.push(streams);
            h.push(coupled);
            h.extend_from_slice(&table);
        }
    }
    h
}

/// A minimal safe owner of `OpusMSEncoder` (surround, mapping family 1).
struct Surround {
    st: *mut opusic_sys::OpusMSEncoder,
    streams: u8,
    coupled: u8,
    mapping: Vec<u8>,
}

// SAFETY: the encoder state is plain memory owned by this value and used from one thread at a
// time (`&mut self`); libopus keeps no thread-local state.
unsafe impl Send for Surround {}

impl Surround {
    fn new(rate: u32, channels: u16, bitrate: i32, vbr: bool) -> Result<Self> {
        let (mut streams, mut coupled) = (0 as c_int, 0 as c_int);
        let mut mapping = vec![0u8; channels as usize];
        let mut err: c_int = 0;
        // SAFETY: all out-pointers are valid; `mapping` holds `channels` bytes as required.
        let st = unsafe {
            opusic_sys::opus_multistream_surround_encoder_create(
                rate as i32,
                channels as c_int,
                1,
                &mut streams,
                &mut coupled,
                mapping.as_mut_ptr(),
                opusic_sys::OPUS_APPLICATION_AUDIO,
                &mut err,
            )
        };
        if st.is_null() || err != opusic_sys::OPUS_OK {
            return Err(Error::Encoding(format!("opus surround encoder: error {err}")));
        }
        let s = Surround { st, streams: streams as u8, coupled: coupled as u8, mapping };
        s.ctl(opusic_sys::OPUS_SET_BITRATE_REQUEST, bitrate)?;
        s.ctl(opusic_sys::OPUS_SET_VBR_REQUEST, vbr as i32)?;
        Ok(s)
    }

    fn ctl(&self, request: c_int, value: i32) -> Result<()> {
        // SAFETY: `st` is valid; these requests take one opus_int32 by value.
        let r = unsafe { opusic_sys::opus_multistream_encoder_ctl(self.st, request, value) };
        if r == opusic_sys::OPUS_OK {
            Ok(())
        } else {
            Err(Error::Encoding(format!("opus surround encoder ctl {request}: error {r}")))
        }
    }

    fn lookahead(&self) -> Result<i32> {
        let mut v: i32 = 0;
        // SAFETY: GET_LOOKAHEAD writes one opus_int32 through the pointer.
        let r = unsafe {
            opusic_sys::opus_multistream_encoder_ctl(
                self.st,
                opusic_sys::OPUS_GET_LOOKAHEAD_REQUEST,
                &mut v as *mut i32,
            )
        };
        if r == opusic_sys::OPUS_OK {
            Ok(v)
        } else {
            Err(Error::Encoding(format!("opus surround encoder lookahead: error {r}")))
        }
    }

    fn encode(&mut self, pcm: &[f32], frame: usize, out: &mut [u8]) -> Result<usize> {
        // SAFETY: `pcm` holds `frame * channels` samples, `out` is writable for its length.
        let n = unsafe {
            opusic_sys::opus_multistream_encode_float(
                self.st,
                pcm.as_ptr(),
                frame as c_int,
                out.as_mut_ptr(),
                out.len() as i32,
            )
        };
        if n < 0 {
            return Err(Error::Encoding(format!("opus surround encode: error {n}")));
        }
        Ok(n as usize)
    }
}

impl Drop for Surround {
    fn drop(&mut self) {
        // SAFETY: created by opus_multistream_surround_encoder_create, destroyed once.
        unsafe { opusic_sys::opus_multistream_encoder_destroy(self.st) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_len(enc: &OpusEncoder, packets: &[Packet]) -> usize {
        let mut dec = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
        let mut pcm = vec![0f32; 5760];
        let mut total = 0;
        for p in packets {
            total += dec.decode_float(&p.data, &mut pcm, false).unwrap();
        }
        let pad = packets.last().unwrap().discard_padding as usize * 48_000 / 1_000_000_000;
        total - enc.lookahead as usize - pad
    }

    #[test]
    fn decoded_length_equals_input_length() {
        for (rate, n) in [(48_000u32, 48_000usize + 17), (16_000, 16_000), (44_100, 44_100 * 2 + 5)]
        {
            let mut enc = OpusEncoder::new(0, rate, 1, 64_000, BitrateMode::Variable).unwrap();
            let mut packets = Vec::new();
            for block in vec![0.1f32; n].chunks(777) {
                enc.push(block, &mut packets).unwrap();
            }
            enc.finish(&mut packets).unwrap();
            let expected = (n as u64 * 48_000).div_ceil(rate as u64) as i64;
            assert!((decode_len(&enc, &packets) as i64 - expected).abs() <= 1, "rate {rate}");
            assert!(packets.iter().all(|p| p.duration == 20_000_000));
            assert_eq!(packets[0].pts, 0);
        }
    }

    #[test]
    fn surround_head_has_a_mapping_table() {
        let enc = OpusEncoder::new(0, 48_000, 6, 256_000, BitrateMode::Constant).unwrap();
        let head = enc.codec_private();
        assert_eq!(head[9], 6);
        assert_eq!(head[18], 1);
        assert_eq!(head.len(), 21 + 6);
    }
}
