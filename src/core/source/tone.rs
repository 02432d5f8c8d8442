//! A live sine tone: a browser's fake microphone. A thread of its own produces 10 ms blocks
//! paced by the monotonic clock until the track ends (or nothing holds the track any more).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::core::media::clock_ns;
use crate::core::media::AudioBlock;
use crate::core::source::audio::check_format;
use crate::core::track::{Track, TrackClock, TrackKind, TrackSettings};
use crate::core::{Error, Result};

const BLOCK: Duration = Duration::from_millis(10);
pub const AMPLITUDE: f32 = 0.5;

pub struct ToneGenerator {
    track: Arc<Track>,
}

impl ToneGenerator {
    pub fn start(frequency: f64, sample_rate: u32, channels: u16) -> Result<Self> {
        check_format(sample_rate, channels)?;
        if !(frequency.is_finite() && frequency > 0.0 && frequency < sample_rate as f64 / 2.0) {
            return Err(Error::InvalidValue(format!(
                "frequency: expected a value above 0 and below half the sample rate \
                 ({} Hz), got {frequency}",
                sample_rate as f64 / 2.0
            )));
        }
        let settings = TrackSettings {
            sample_rate: Some(sample_rate),
            channel_count: Some(channels),
            ..Default::default()
        };
        let label = format!("Tone {frequency} Hz");
        let track = Track::new(TrackKind::Audio, label, settings, TrackClock::Live);
        let weak = Arc::downgrade(&track);
        thread::Builder::new()
            .name("mediarecorder-tone".into())
            .spawn(move || {
                let frames =
                    (sample_rate as u64 * BLOCK.as_nanos() as u64 / 1_000_000_000) as usize;
                let step = std::f64::consts::TAU * frequency / sample_rate as f64;
                let mut phase = 0.0f64;
                let mut next = Instant::now();
                let (mut anchor, mut produced) = (clock_ns(), 0u64);
                loop {
                    // Like a capture device, a block is handed over once its 10 ms have passed.
                    next += BLOCK;
                    let now = Instant::now();
                    if next > now {
                        thread::sleep(next - now);
                    }
                    let Some(track) = weak.upgrade() else { return };
                    if !track.is_live() {
                        return;
                    }
                    let now = Instant::now();
                    if now > next + Duration::from_millis(500) {
                        // Far behind (the process was stopped, or recorders could not keep up):
                        // resynchronise rather than burst, and count what was skipped.
                        let skipped = (now - next).as_secs_f64() * sample_rate as f64;
                        track.stats().dropped_frames.fetch_add(skipped as u64, Ordering::Relaxed);
                        next = now;
                        (anchor, produced) = (clock_ns() - BLOCK.as_nanos() as i64, 0);
                    }
                    let mut samples = Vec::with_capacity(frames * channels as usize);
                    for _ in 0..frames {
                        let v = (phase.sin() as f32) * AMPLITUDE;
                        phase = (phase + step) % std::f64::consts::TAU;
                        samples.extend(std::iter::repeat_n(v, channels as usize));
                    }
                    track.stats().total_frames.fetch_add(frames as u64, Ordering::Relaxed);
                    let time =
                        anchor + (produced as u128 * 1_000_000_000 / sample_rate as u128) as i64;
                    produced += frames as u64;
                    if let Some(admission) = track.wait_room() {
                        let block = AudioBlock { sample_rate, channels, time, samples };
                        track.push_audio(block, admission);
                    }
                }
            })
            .map_err(|e| Error::Unknown(format!("cannot start the tone thread: {e}")))?;
        Ok(ToneGenerator { track })
    }

    pub fn track(&self) -> &Arc<Track> {
        &self.track
    }
}
