//! Uncompressed audio: 20 ms packets of interleaved little-endian samples at the source's rate,
//! as 32-bit float (lossless for everything the sources give, which is f32) or quantised to
//! 16-bit integers (WAV).

use crate::core::codec::{CodecDescription, CodecId, Encoder, Input, SampleFormat, StreamParams};
use crate::core::packet::Packet;
use crate::core::{Error, Result};

const FRAME_MS: u64 = 20;

pub struct PcmEncoder {
    track: usize,
    rate: u32,
    channels: usize,
    format: SampleFormat,
    frame: usize,
    pending: Vec<f32>,
    frames_out: u64,
    description: CodecDescription,
    origin: Option<i64>,
}

impl PcmEncoder {
    pub fn new(track: usize, rate: u32, channels: u16, format: SampleFormat) -> Self {
        let frame = (rate as u64 * FRAME_MS / 1000).max(1) as usize;
        PcmEncoder {
            track,
            rate,
            channels: channels as usize,
            format,
            frame,
            pending: Vec::new(),
            frames_out: 0,
            description: CodecDescription {
                track,
                codec: CodecId::Pcm(format),
                params: StreamParams::Audio { sample_rate: rate, channels },
                private: Vec::new(),
                delay_ns: 0,
                seek_pre_roll_ns: 0,
                time_base: (1, rate),
            },
            origin: None,
        }
    }

    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// Packets count from 0; [`Encoder::encode`] places them on the session timeline.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<Packet>) {
        self.pending.extend_from_slice(samples);
        self.drain(false, out);
    }

    /// Emits the remainder as a shorter last packet: nothing is padded.
    pub fn flush(&mut self, out: &mut Vec<Packet>) {
        self.drain(true, out);
    }

    fn drain(&mut self, all: bool, out: &mut Vec<Packet>) {
        let n = self.frame * self.channels;
        let mut start = 0;
        while self.pending.len() - start >= n || (all && self.pending.len() > start) {
            let take = n.min(self.pending.len() - start);
            let frames = (take / self.channels) as u64;
            let samples = &self.pending[start..start + take];
            let data: Vec<u8> = match self.format {
                SampleFormat::F32 => samples.iter().flat_map(|s| s.to_le_bytes()).collect(),
                SampleFormat::S16 => {
                    samples.iter().flat_map(|&s| quantise(s).to_le_bytes()).collect()
                }
            };
            out.push(Packet {
                track: self.track,
                pts: self.ns(self.frames_out),
                duration: self.ns(self.frames_out + frames) - self.ns(self.frames_out),
                keyframe: true,
                discard_padding: 0,
                data,
            });
            self.frames_out += frames;
            start += take;
        }
        self.pending.drain(..start);
    }

    fn ns(&self, frames: u64) -> i64 {
        (frames as u128 * 1_000_000_000 / self.rate as u128) as i64
    }
}

/// Full scale [-1, 1] to 16 bits: what every WAV reader expects (`x * 32768`, clipped).
fn quantise(s: f32) -> i16 {
    (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

impl Encoder for PcmEncoder {
    fn describe(&self) -> &CodecDescription {
        &self.description
    }

    fn encode(&mut self, input: Input<'_>, out: &mut Vec<Packet>) -> Result<()> {
        let Input::Audio { samples, pts } = input else {
            return Err(Error::Encoding("pcm encoder: given a picture".into()));
        };
        let origin = *self.origin.get_or_insert(pts.max(0));
        let first = out.len();
        self.push(samples, out);
        out[first..].iter_mut().for_each(|p| p.pts += origin);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Packet>) -> Result<()> {
        let first = out.len();
        self.flush(out);
        let origin = self.origin.unwrap_or(0);
        out[first..].iter_mut().for_each(|p| p.pts += origin);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bit_samples_are_quantised_and_clipped() {
        let mut enc = PcmEncoder::new(0, 8_000, 1, SampleFormat::S16);
        let mut out = Vec::new();
        enc.encode(Input::Audio { samples: &[0.5, -0.5, 1.0, -1.0, 0.0], pts: 7 }, &mut out)
            .unwrap();
        Encoder::finish(&mut enc, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        let pcm: Vec<i16> =
            out[0].data.chunks(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
        assert_eq!(pcm, [16384, -16384, 32767, -32768, 0]);
        assert_eq!((out[0].pts, out[0].duration), (7, 625_000));
    }

    #[test]
    fn packets_are_20_ms_and_the_last_is_shorter() {
        let mut enc = PcmEncoder::new(0, 48_000, 2, SampleFormat::F32);
        let mut out = Vec::new();
        enc.encode(Input::Audio { samples: &vec![0.25; 2 * 1000], pts: 0 }, &mut out).unwrap();
        Encoder::finish(&mut enc, &mut out).unwrap();
        let frames: Vec<usize> = out.iter().map(|p| p.data.len() / 8).collect();
        assert_eq!(frames, [960, 40]);
        assert_eq!(enc.describe().codec, CodecId::Pcm(SampleFormat::F32));
    }
}
