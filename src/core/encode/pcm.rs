//! Uncompressed audio: 20 ms packets of interleaved little-endian f32 at the source's rate.
//! Lossless for everything the sources give (they hand over f32).

use crate::core::packet::Packet;

const FRAME_MS: u64 = 20;

pub struct PcmEncoder {
    track: usize,
    rate: u32,
    channels: usize,
    frame: usize,
    pending: Vec<f32>,
    frames_out: u64,
}

impl PcmEncoder {
    pub fn new(track: usize, rate: u32, channels: u16) -> Self {
        let frame = (rate as u64 * FRAME_MS / 1000).max(1) as usize;
        PcmEncoder {
            track,
            rate,
            channels: channels as usize,
            frame,
            pending: Vec::new(),
            frames_out: 0,
        }
    }

    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    pub fn push(&mut self, samples: &[f32], out: &mut Vec<Packet>) {
        self.pending.extend_from_slice(samples);
        self.drain(false, out);
    }

    /// Emits the remainder as a shorter last packet: nothing is padded.
    pub fn finish(&mut self, out: &mut Vec<Packet>) {
        self.drain(true, out);
    }

    fn drain(&mut self, all: bool, out: &mut Vec<Packet>) {
        let n = self.frame * self.channels;
        let mut start = 0;
        while self.pending.len() - start >= n || (all && self.pending.len() > start) {
            let take = n.min(self.pending.len() - start);
            let frames = (take / self.channels) as u64;
            let data: Vec<u8> =
                self.pending[start..start + take].iter().flat_map(|s| s.to_le_bytes()).collect();
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
