//! AAC-LC (`mp4a.40.2`) through libvo-aacenc ([`super::voaac`]): raw access units of 1024
//! frames, the `AudioSpecificConfig` as codec private, and the encoder's priming samples in
//! `delay_ns` (Matroska `CodecDelay`, MP4's edit list) so that a player drops them; the tail
//! is padded to whole frames and the padding trimmed again (`discard_padding`), as for Opus.
//! Rates AAC cannot name are resampled to 48 kHz.

use crate::core::codec::{CodecDescription, CodecId, Encoder, Input, StreamParams};
use crate::core::encode::voaac::{self, VoAac, FRAME};
use crate::core::packet::Packet;
use crate::core::resample::StreamResampler;
use crate::core::{Error, Result};

/// libvo-aacenc's own delay: 1024 (the MDCT overlap) plus the 576 of its input buffering,
/// measured by decoding an impulse with FFmpeg (tests/test_codecs.py checks it to the sample).
const ENCODER_DELAY: u64 = 1600;
/// Silence fed before the first input frame, so that the priming is two whole frames. A
/// priming that ends inside a frame breaks short recordings in FFmpeg: when the frame where
/// it ends is also the last (whose end is trimmed), FFmpeg's Matroska path replaces the rest
/// of the start skip by the end trim's and its MP4 path decodes nothing (one written sample
/// gave 577 and 0 decoded samples).
const LEAD_IN: usize = 2 * FRAME - ENCODER_DELAY as usize;
/// Frames of decoded output before the first input frame (what `delay_ns` says).
pub const PRIMING: u64 = ENCODER_DELAY + LEAD_IN as u64;

pub struct AacEncoder {
    track: usize,
    inner: VoAac,
    rate: u32,
    channels: usize,
    resampler: Option<StreamResampler>,
    converted: Vec<f32>,
    pending: Vec<i16>,
    /// Input frames taken (after resampling).
    in_frames: u64,
    frames_out: u64,
    description: CodecDescription,
}

impl AacEncoder {
    pub fn new(track: usize, input_rate: u32, channels: u16, bits_per_second: u32) -> Result<Self> {
        let rate = if voaac::RATES.contains(&input_rate) { input_rate } else { 48_000 };
        let inner = VoAac::new(rate, channels, bits_per_second)?;
        let resampler = (rate != input_rate)
            .then(|| StreamResampler::new(input_rate, rate, channels))
            .transpose()?;
        Ok(AacEncoder {
            track,
            inner,
            rate,
            channels: channels as usize,
            resampler,
            converted: Vec::new(),
            pending: vec![0; LEAD_IN * channels as usize],
            in_frames: 0,
            frames_out: 0,
            description: CodecDescription {
                track,
                codec: CodecId::Aac,
                params: StreamParams::Audio { sample_rate: rate, channels },
                private: voaac::audio_specific_config(rate, channels),
                delay_ns: PRIMING as i64 * 1_000_000_000 / rate as i64,
                seek_pre_roll_ns: 0,
                time_base: (1, rate),
            },
        })
    }

    fn take(&mut self, samples: &[f32]) {
        self.in_frames += (samples.len() / self.channels) as u64;
        // Clipped like every codec's input; the rounding is the usual f32 -> s16 scaling.
        self.pending.extend(samples.iter().map(|&s| (s.clamp(-1.0, 1.0) * 32767.0).round() as i16));
    }

    fn drain(&mut self, out: &mut Vec<Packet>) -> Result<()> {
        let n = FRAME * self.channels;
        let mut start = 0;
        while self.pending.len() - start >= n {
            let data = self.inner.encode(&mut self.pending[start..start + n])?;
            let pts = self.frames_out * FRAME as u64;
            out.push(Packet {
                track: self.track,
                pts: self.ns(pts),
                duration: self.ns(pts + FRAME as u64) - self.ns(pts),
                keyframe: true,
                discard_padding: 0,
                data,
            });
            self.frames_out += 1;
            start += n;
        }
        self.pending.drain(..start);
        Ok(())
    }

    fn ns(&self, frames: u64) -> i64 {
        (frames as i128 * 1_000_000_000 / self.rate as i128) as i64
    }
}

impl Encoder for AacEncoder {
    fn describe(&self) -> &CodecDescription {
        &self.description
    }

    fn encode(&mut self, input: Input<'_>, out: &mut Vec<Packet>) -> Result<()> {
        let Input::Audio { samples, .. } = input else {
            return Err(Error::Encoding("AAC encoder: given video".into()));
        };
        if let Some(r) = self.resampler.as_mut() {
            let mut converted = std::mem::take(&mut self.converted);
            converted.clear();
            r.push(samples, &mut converted)?;
            self.take(&converted);
            self.converted = converted;
        } else {
            self.take(samples);
        }
        self.drain(out)
    }

    /// Pads with silence to whole frames covering every input frame plus the priming, so
    /// that every written sample decodes; the last packet's `discard_padding` trims the rest.
    fn finish(&mut self, out: &mut Vec<Packet>) -> Result<()> {
        if let Some(r) = self.resampler.as_mut() {
            let mut converted = Vec::new();
            r.finish(&mut converted)?;
            self.take(&converted);
        }
        if self.in_frames == 0 {
            return Ok(());
        }
        let needed = self.in_frames + PRIMING;
        let total = needed.div_ceil(FRAME as u64) * FRAME as u64;
        let missing =
            total - self.frames_out * FRAME as u64 - (self.pending.len() / self.channels) as u64;
        self.pending.extend(std::iter::repeat_n(0, missing as usize * self.channels));
        let first = out.len();
        self.drain(out)?;
        let padding = self.ns(total) - self.ns(needed);
        if let Some(last) = out[first..].last_mut() {
            last.discard_padding = padding;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_counts_and_padding() {
        assert_eq!(voaac::audio_specific_config(48_000, 2), [0x11, 0x90]);
        assert_eq!(voaac::audio_specific_config(44_100, 1), [0x12, 0x08]);
        let mut enc = AacEncoder::new(0, 48_000, 2, 128_000).unwrap();
        let mut out = Vec::new();
        let tone: Vec<f32> = (0..48_000 * 2).map(|i| ((i / 2) as f32 * 0.05).sin() * 0.5).collect();
        enc.encode(Input::Audio { samples: &tone, pts: 0 }, &mut out).unwrap();
        enc.finish(&mut out).unwrap();
        // 48000 + 2048 priming frames, rounded up to whole 1024-frame units.
        assert_eq!(out.len(), (48_000 + PRIMING as usize).div_ceil(1024));
        assert!(out.iter().all(|p| !p.data.is_empty() && p.data[0] >> 5 <= 1));
        let end = out.last().map(|p| p.pts + p.duration - p.discard_padding).unwrap();
        assert_eq!(end - enc.describe().delay_ns, 1_000_000_000);
    }

    #[test]
    fn odd_rates_are_resampled_and_many_channels_refused() {
        let enc = AacEncoder::new(0, 44_000, 1, 64_000).unwrap();
        assert_eq!(enc.describe().params, StreamParams::Audio { sample_rate: 48_000, channels: 1 });
        let err = AacEncoder::new(0, 48_000, 6, 64_000).err().unwrap();
        assert_eq!(err.to_string(), "AAC (libvo-aacenc) encodes 1 or 2 channels, not 6");
    }
}
