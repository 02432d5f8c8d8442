//! Audio pushed by the embedder: validated, converted to f32 and handed to the track.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::core::media::AudioBlock;
use crate::core::track::{Track, TrackClock, TrackKind, TrackSettings};
use crate::core::{Error, Result};

// One definition with the device plugin's (devices/abi), which opens no device outside them.
pub use mediarecorder_device_abi::{MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};

/// Samples as the embedder holds them, interleaved, in C order.
pub enum Samples<'a> {
    F32(&'a [f32]),
    F64(&'a [f64]),
    I16(&'a [i16]),
}

pub struct AudioInput {
    track: Arc<Track>,
    sample_rate: u32,
    channels: u16,
    /// Frames written so far: the media clock. Held across the push so that concurrent
    /// writers get consecutive, ordered times.
    written: Mutex<u64>,
}

/// Checks the format arguments shared by every audio source.
pub fn check_format(sample_rate: u32, channels: u16) -> Result<()> {
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
        return Err(Error::InvalidValue(format!(
            "sample_rate: expected {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz, got {sample_rate}"
        )));
    }
    if !(1..=MAX_CHANNELS).contains(&channels) {
        return Err(Error::InvalidValue(format!(
            "channels: expected 1 to {MAX_CHANNELS}, got {channels}"
        )));
    }
    Ok(())
}

impl AudioInput {
    pub fn new(sample_rate: u32, channels: u16, label: &str) -> Result<Self> {
        check_format(sample_rate, channels)?;
        let settings = TrackSettings {
            sample_rate: Some(sample_rate),
            channel_count: Some(channels),
            ..Default::default()
        };
        let track = Track::new(TrackKind::Audio, label, settings, TrackClock::Pushed);
        Ok(AudioInput { track, sample_rate, channels, written: Mutex::new(0) })
    }

    pub fn track(&self) -> &Arc<Track> {
        &self.track
    }
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }
    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// Converts and records `samples`. Everything is checked before anything is queued, so a
    /// rejected call records nothing and loses nothing recorded before it.
    pub fn write(&self, samples: Samples<'_>) -> Result<()> {
        if !self.track.is_live() {
            return Err(Error::InvalidState(
                "write: the source is closed (its track has ended)".into(),
            ));
        }
        // Full scale is [-1, 1]; louder samples are clipped to it here, once, so that every
        // codec records the same values (float PCM would otherwise keep them, and a float64
        // beyond float32's range would become infinite).
        let converted: Vec<f32> = match samples {
            Samples::F32(s) => {
                check_finite(s.iter().map(|&v| v as f64))?;
                s.iter().map(|&v| v.clamp(-1.0, 1.0)).collect()
            }
            Samples::F64(s) => {
                check_finite(s.iter().copied())?;
                s.iter().map(|&v| v.clamp(-1.0, 1.0) as f32).collect()
            }
            Samples::I16(s) => s.iter().map(|&v| v as f32 / 32768.0).collect(),
        };
        if converted.is_empty() {
            return Ok(());
        }
        // Wait before taking `written`: a writer never waits while holding it, so a writer that
        // must not wait (the delivery thread) never waits for one that does. Interrupted, the
        // call records nothing.
        let Some(admission) = self.track.wait_room() else { return Ok(()) };
        let frames = (converted.len() / self.channels as usize) as u64;
        self.track.stats().total_frames.fetch_add(frames, std::sync::atomic::Ordering::Relaxed);
        let mut written = self.written.lock();
        let time = (*written as u128 * 1_000_000_000 / self.sample_rate as u128) as i64;
        *written += frames;
        let owed = admission.owed();
        let block = AudioBlock {
            sample_rate: self.sample_rate,
            channels: self.channels,
            time,
            samples: converted,
        };
        if !self.track.push_audio(block, admission) && owed {
            return Err(closed_while_waiting());
        }
        Ok(())
    }

    pub fn close(&self) {
        self.track.end();
    }
}

/// A write that waited for room while its source was closed: its media reached no recorder,
/// and the call must not return as if it had.
pub(crate) fn closed_while_waiting() -> Error {
    Error::InvalidState(
        "write: the source was closed while this call waited for room; its media was not \
         recorded"
            .into(),
    )
}

fn check_finite(mut values: impl Iterator<Item = f64>) -> Result<()> {
    match values.position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::InvalidValue(format!(
            "samples: expected finite values, found a NaN or infinity at flat index {i}"
        ))),
    }
}

impl Drop for AudioInput {
    fn drop(&mut self) {
        self.track.end();
    }
}
