//! Mixing several audio tracks into one (`audio_tracks="mix"`): each input is converted to the
//! mix's channel count and rate, placed on the shared clock, and the inputs are summed with
//! headroom. Samples that still exceed full scale are clamped and counted (`clipped`), never
//! wrapped or dropped silently.
//!
//! Drift: two devices that both claim 48 kHz run on their own crystals, and 0.1% apart they
//! drift 600 ms in 10 minutes. Each input says, with every block, where its end lies on a
//! reference clock (the shared clock at arrival for live sources, the block's own end time for
//! pushed ones). The input's position in the mix (its first sample's place plus what it has
//! produced since) is compared with that reference; the difference, smoothed over about a
//! second (arrival jitter averages out), steers the input's resampling ratio (rubato's
//! asynchronous resampler, adjustable while it runs) proportionally, with a 2 s time constant,
//! within ±0.5%. A constant rate error `e` then leaves a steady offset of `e * 2 s` (2 ms for
//! 0.1%) instead of a growing one.

use std::collections::VecDeque;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Adjustable, Async, FixedAsync, PolynomialDegree, Resampler};

use crate::core::media::AudioBlock;
use crate::core::{Error, Result};

const CHUNK: usize = 256;
/// How far the ratio may be steered (relative): far beyond any crystal's error.
const MAX_STEER: f64 = 0.005;
/// The controller's time constant, in seconds of offset per unit of ratio.
const STEER_SECONDS: f64 = 2.0;
/// Weight of each block's offset in the smoothed one (10 ms blocks: about a second).
const SMOOTHING: f64 = 0.01;
/// An input that lags the others by more than this is not waited for (its place is silence).
const MAX_LAG_NS: i64 = 1_000_000_000;

struct Input {
    resampler: Async<f32>,
    in_rate: u32,
    in_channels: u16,
    /// Converted to the mix's channels, waiting for a whole resampler chunk.
    pending: Vec<f32>,
    out_chunk: Vec<f32>,
    /// Resampled frames not mixed yet, the first at mix frame `head`.
    queue: VecDeque<f32>,
    head: i64,
    /// Resampler delay still to drop at the start.
    delay_left: usize,
    /// Output frames the input resampled so far stands for (each chunk's frames times the
    /// ratio it was resampled at), and the frames of it already queued: the difference is what
    /// the resampler still holds.
    ideal: f64,
    kept: u64,
    ended: bool,
    offset: f64,
}

pub struct Mixer {
    rate: u32,
    channels: u16,
    /// The shared-clock time of mix frame 0: the first block's start.
    t0: Option<i64>,
    /// By index; None until an input's first block.
    inputs: Vec<Option<Input>>,
    /// The next mix frame to output.
    pos: i64,
    gain: f32,
    clipped: u64,
    /// By index: no block and no end yet. The mix waits for such an input (up to the lag
    /// bound), so one whose first block comes a little later is not placed after its time.
    waiting: Vec<bool>,
}

impl Mixer {
    /// A mix at `rate` and `channels` of `inputs` inputs.
    pub fn new(rate: u32, channels: u16, inputs: usize) -> Self {
        Mixer {
            rate,
            channels,
            t0: None,
            inputs: Vec::with_capacity(inputs),
            pos: 0,
            // -3 dB per doubling: uncorrelated sources keep their loudness on average, and two
            // at full scale reach 1.41, which is clamped and counted.
            gain: 1.0 / (inputs.max(1) as f32).sqrt(),
            clipped: 0,
            waiting: vec![true; inputs],
        }
    }

    /// Samples clamped at full scale so far.
    pub fn clipped(&self) -> u64 {
        self.clipped
    }

    fn input(&mut self, index: usize, rate: u32, channels: u16) -> Result<&mut Input> {
        if self.inputs.len() <= index {
            self.inputs.resize_with(index + 1, || None);
        }
        let slot = &mut self.inputs[index];
        match slot {
            Some(i) if (i.in_rate, i.in_channels) != (rate, channels) => {
                return Err(Error::InvalidValue(format!(
                    "mix input {index}: its format changed ({}/{} to {rate}/{channels})",
                    i.in_rate, i.in_channels
                )))
            }
            Some(_) => {}
            None => *slot = Some(Input::new(rate, channels, self.rate, self.channels)?),
        }
        Ok(slot.as_mut().expect("set above"))
    }

    /// Adds `block` of input `index`; `reference_end` is where its end lies on the reference
    /// clock (see the module's comment).
    pub fn push(&mut self, index: usize, block: &AudioBlock, reference_end: i64) -> Result<()> {
        let (rate, out_rate, out_ch) = (block.sample_rate, self.rate as f64, self.channels);
        let start_ns = reference_end - block.duration_ns();
        let t0 = *self.t0.get_or_insert(start_ns);
        let pos = self.pos;
        if let Some(w) = self.waiting.get_mut(index) {
            *w = false;
        }
        let input = self.input(index, rate, block.channels)?;
        if input.head == i64::MIN {
            input.head = (((start_ns - t0) as f64) * out_rate / 1e9).round() as i64;
            input.head = input.head.max(pos);
        }
        remap(&block.samples, block.channels, out_ch, &mut input.pending);
        input.run()?;
        // Where this input stands in the mix against where the reference says it should.
        let ch = out_ch as usize;
        let pending_out = (input.pending.len() / ch) as f64 * input.resampler.resample_ratio();
        let actual =
            input.head as f64 + (input.queue.len() / ch) as f64 + pending_out + input.held();
        let expected = (reference_end - t0) as f64 * out_rate / 1e9;
        input.offset += (expected - actual - input.offset) * SMOOTHING;
        let steer = (input.offset / (out_rate * STEER_SECONDS)).clamp(-MAX_STEER, MAX_STEER);
        input
            .resampler
            .set_resample_ratio_relative(1.0 + steer, true)
            .map_err(|e| Error::Encoding(format!("mix: cannot steer the resampler: {e}")))?;
        Ok(())
    }

    /// No more media from input `index`: what its resampler still holds is flushed into the
    /// mix, and it no longer holds the mix back.
    pub fn end_input(&mut self, index: usize) -> Result<()> {
        if let Some(w) = self.waiting.get_mut(index) {
            *w = false;
        }
        if let Some(Some(input)) = self.inputs.get_mut(index) {
            if !input.ended {
                input.ended = true;
                input.flush()?;
            }
        }
        Ok(())
    }

    /// Ends every input (the session's end): nothing any of them holds is left behind.
    pub fn end_all(&mut self) -> Result<()> {
        (0..self.inputs.len().max(self.waiting.len())).try_for_each(|i| self.end_input(i))
    }

    /// Mixes what every input has reached (an input more than a second behind the newest is
    /// not waited for), or everything at the end (`all`).
    pub fn pull(&mut self, all: bool) -> Option<AudioBlock> {
        let t0 = self.t0?;
        let newest = self.inputs.iter().flatten().map(|i| i.end(self.channels)).max()?;
        let lag = MAX_LAG_NS as f64 * self.rate as f64 / 1e9;
        let waiting = self.waiting.iter().any(|w| *w);
        if !all && waiting && ((newest - self.pos) as f64) <= lag {
            return None;
        }
        let until = if all {
            newest
        } else {
            self.inputs
                .iter()
                .flatten()
                .filter(|i| !i.ended && (newest - i.end(self.channels)) as f64 <= lag)
                .map(|i| i.end(self.channels))
                .min()
                .unwrap_or(newest)
        };
        if until <= self.pos {
            return None;
        }
        let ch = self.channels as usize;
        let frames = (until - self.pos) as usize;
        let mut out = vec![0f32; frames * ch];
        for input in self.inputs.iter_mut().flatten() {
            // Frames before the mix's position can no longer be placed: dropped.
            while input.head < self.pos && !input.queue.is_empty() {
                input.queue.drain(..ch);
                input.head += 1;
            }
            let skip = (input.head - self.pos).max(0) as usize;
            let take = frames.saturating_sub(skip).min(input.queue.len() / ch);
            for (o, s) in
                out[skip * ch..(skip + take) * ch].iter_mut().zip(input.queue.drain(..take * ch))
            {
                *o += s;
            }
            input.head += take as i64;
            if input.head < until && input.queue.is_empty() {
                // Behind (not waited for): its missing frames were silence.
                input.head = until;
            }
        }
        for s in &mut out {
            *s *= self.gain;
            if s.abs() > 1.0 {
                *s = s.clamp(-1.0, 1.0);
                self.clipped += 1;
            }
        }
        let time = t0 + (self.pos as i128 * 1_000_000_000 / self.rate as i128) as i64;
        self.pos = until;
        Some(AudioBlock { sample_rate: self.rate, channels: self.channels, time, samples: out })
    }
}

/// Channel conversion: the same count is copied; fewer inputs are repeated (mono to both
/// sides); more are averaged into the outputs they fold onto.
fn remap(input: &[f32], from: u16, to: u16, out: &mut Vec<f32>) {
    let (from, to) = (from.max(1) as usize, to.max(1) as usize);
    if from == to {
        out.extend_from_slice(input);
        return;
    }
    for frame in input.chunks_exact(from) {
        for c in 0..to {
            if from < to {
                out.push(frame[c % from]);
            } else {
                let folded = (c..from).step_by(to);
                let n = folded.len() as f32;
                out.push(folded.map(|j| frame[j]).sum::<f32>() / n);
            }
        }
    }
}

impl Input {
    fn new(in_rate: u32, in_channels: u16, rate: u32, channels: u16) -> Result<Self> {
        let resampler = Async::<f32>::new_poly(
            rate as f64 / in_rate.max(1) as f64,
            1.0 + 2.0 * MAX_STEER,
            PolynomialDegree::Cubic,
            CHUNK,
            channels as usize,
            FixedAsync::Input,
        )
        .map_err(|e| Error::Encoding(format!("mix: cannot create a resampler: {e}")))?;
        let out_chunk = vec![0.0; resampler.output_frames_max() * channels as usize];
        let delay_left = resampler.output_delay();
        Ok(Input {
            resampler,
            in_rate,
            in_channels,
            pending: Vec::new(),
            out_chunk,
            queue: VecDeque::new(),
            head: i64::MIN,
            delay_left,
            ideal: 0.0,
            kept: 0,
            ended: false,
            offset: 0.0,
        })
    }

    /// The mix frame after this input's newest resampled frame.
    fn end(&self, channels: u16) -> i64 {
        self.head + (self.queue.len() / channels as usize) as i64
    }

    /// Output frames of real input inside the resampler (its delay line).
    fn held(&self) -> f64 {
        (self.ideal - self.kept as f64).max(0.0)
    }

    /// At the input's end: the part chunk still pending and the resampler's delay line are
    /// pushed out with silence after them, and exactly what stands for real input is kept.
    fn flush(&mut self) -> Result<()> {
        let ch = self.out_chunk.len() / self.resampler.output_frames_max().max(1);
        // What the resampler holds of real input, in output frames, plus the pending part.
        let pending = (self.pending.len() / ch) as f64 * self.resampler.resample_ratio();
        let target = self.queue.len() + (self.held() + pending).round() as usize * ch;
        // Each round feeds one chunk of silence; the bound is far above what the delay and one
        // part chunk can need.
        for _ in 0..64 {
            if self.queue.len() >= target {
                break;
            }
            let need = self.resampler.input_frames_next();
            let whole = self.pending.len().div_ceil(need * ch).max(1) * need * ch;
            self.pending.resize(whole, 0.0);
            self.run()?;
        }
        self.queue.truncate(target);
        self.pending.clear();
        Ok(())
    }

    /// Resamples every whole chunk pending.
    fn run(&mut self) -> Result<()> {
        let ch = self.out_chunk.len() / self.resampler.output_frames_max().max(1);
        loop {
            let need = self.resampler.input_frames_next();
            if self.pending.len() < need * ch {
                return Ok(());
            }
            let input = InterleavedSlice::new(&self.pending[..need * ch], ch, need)
                .map_err(|e| Error::Encoding(format!("mix input: {e}")))?;
            let cap = self.out_chunk.len() / ch;
            let mut output = InterleavedSlice::new_mut(&mut self.out_chunk, ch, cap)
                .map_err(|e| Error::Encoding(format!("mix output: {e}")))?;
            let ratio = self.resampler.resample_ratio();
            let (used, written) = self
                .resampler
                .process_into_buffer(&input, &mut output, None)
                .map_err(|e| Error::Encoding(format!("mix: resampling failed: {e}")))?;
            self.pending.drain(..used * ch);
            let skip = self.delay_left.min(written);
            self.delay_left -= skip;
            self.queue.extend(&self.out_chunk[skip * ch..written * ch]);
            self.ideal += used as f64 * ratio;
            self.kept += (written - skip) as u64;
        }
    }
}

#[cfg(test)]
mod tests;
