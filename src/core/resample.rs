//! Streaming sample-rate conversion on top of rubato's FFT resampler.
//!
//! rubato works on fixed-size chunks and delays its output; this wrapper takes blocks of any
//! size, trims the delay at the start and, on `finish`, flushes exactly as many frames as the
//! input's duration calls for, so the converted stream has the input's length to the frame.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use crate::core::{Error, Result};

const CHUNK: usize = 1024;

pub struct StreamResampler {
    inner: Fft<f32>,
    channels: usize,
    in_rate: u64,
    out_rate: u64,
    pending: Vec<f32>,
    out_chunk: Vec<f32>,
    delay_left: usize,
    in_frames: u64,
    out_frames: u64,
}

impl StreamResampler {
    pub fn new(in_rate: u32, out_rate: u32, channels: u16) -> Result<Self> {
        let inner = Fft::<f32>::new(
            in_rate as usize,
            out_rate as usize,
            CHUNK,
            channels as usize,
            FixedSync::Input,
        )
        .map_err(|e| Error::Encoding(format!("cannot create a resampler: {e}")))?;
        let delay_left = inner.output_delay();
        let out_chunk = vec![0.0; inner.output_frames_max() * channels as usize];
        Ok(StreamResampler {
            inner,
            channels: channels as usize,
            in_rate: in_rate as u64,
            out_rate: out_rate as u64,
            pending: Vec::new(),
            out_chunk,
            delay_left,
            in_frames: 0,
            out_frames: 0,
        })
    }

    /// Converts what can be converted of `input` (interleaved) and appends it to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<()> {
        self.in_frames += (input.len() / self.channels) as u64;
        self.pending.extend_from_slice(input);
        while self.pending.len() / self.channels >= self.inner.input_frames_next() {
            let used = self.process(None, out)?;
            self.pending.drain(..used * self.channels);
        }
        Ok(())
    }

    /// Flushes the tail: afterwards exactly `in_frames * out_rate / in_rate` frames (rounded)
    /// have come out in all.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<()> {
        let target = (self.in_frames * self.out_rate + self.in_rate / 2) / self.in_rate;
        while self.out_frames < target {
            let have = self.pending.len() / self.channels;
            let partial = have.min(self.inner.input_frames_next());
            let before = out.len();
            let used = self.process(Some(partial), out)?;
            self.pending.drain(..used.min(have) * self.channels);
            let excess = (self.out_frames.saturating_sub(target)) as usize * self.channels;
            if excess > 0 {
                out.truncate((out.len() - excess).max(before));
                self.out_frames = target;
            }
        }
        Ok(())
    }

    fn process(&mut self, partial: Option<usize>, out: &mut Vec<f32>) -> Result<usize> {
        let need = self.inner.input_frames_next();
        let mut scratch;
        let input: &[f32] = if self.pending.len() >= need * self.channels {
            &self.pending[..need * self.channels]
        } else {
            scratch = self.pending.clone();
            scratch.resize(need * self.channels, 0.0);
            &scratch
        };
        let in_adapter = InterleavedSlice::new(input, self.channels, need)
            .map_err(|e| Error::Encoding(format!("resampler input: {e}")))?;
        let cap = self.out_chunk.len() / self.channels;
        let mut out_adapter = InterleavedSlice::new_mut(&mut self.out_chunk, self.channels, cap)
            .map_err(|e| Error::Encoding(format!("resampler output: {e}")))?;
        let indexing = partial.map(|n| Indexing::new().partial_len(n));
        let (used, written) = self
            .inner
            .process_into_buffer(&in_adapter, &mut out_adapter, indexing.as_ref())
            .map_err(|e| Error::Encoding(format!("resampling failed: {e}")))?;
        let skip = self.delay_left.min(written);
        self.delay_left -= skip;
        out.extend_from_slice(&self.out_chunk[skip * self.channels..written * self.channels]);
        self.out_frames += (written - skip) as u64;
        Ok(used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_duration_and_frequency() {
        let (fin, fout) = (44_100u32, 48_000u32);
        let n = 44_100 + 123;
        let sine: Vec<f32> = (0..n)
            .map(|i| (std::f32::consts::TAU * 1000.0 * i as f32 / fin as f32).sin())
            .collect();
        let mut r = StreamResampler::new(fin, fout, 1).unwrap();
        let mut out = Vec::new();
        for block in sine.chunks(1000) {
            r.push(block, &mut out).unwrap();
        }
        r.finish(&mut out).unwrap();
        assert_eq!(out.len() as u64, (n as u64 * 48_000 + 22_050) / 44_100);
        // Zero crossings of a 1 kHz sine over the middle second: about 2 per period.
        let mid = &out[4800..4800 + 38_400];
        let crossings = mid.windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count();
        assert!((1598..=1602).contains(&crossings), "{crossings} crossings");
    }
}
