//! Video pushed by the embedder: validated, converted to I420 with yuvutils-rs (SIMD) and
//! handed to the track.

use std::sync::Arc;

use crate::core::source::convert::i420::{to_i420, PixelFormat};
use crate::core::track::{Overflow, Track, TrackClock, TrackKind, TrackSettings};
use crate::core::{Error, Result};
use parking_lot::Mutex;

pub const MIN_SIZE: u32 = 2;
pub const MAX_SIDE: u32 = 4096;
pub const MAX_AREA: u64 = 4096 * 2160;
/// Timestamps beyond this (31 years) would overflow the nanosecond timeline on the way.
pub const MAX_TIMESTAMP_S: f64 = 1e9;

pub fn check_size(width: u32, height: u32) -> Result<()> {
    if width < MIN_SIZE
        || height < MIN_SIZE
        || width > MAX_SIDE
        || height > MAX_SIDE
        || width as u64 * height as u64 > MAX_AREA
    {
        return Err(Error::InvalidValue(format!(
            "frame size: expected {MIN_SIZE}x{MIN_SIZE} to 4096x2160 pixels, got {width}x{height}"
        )));
    }
    Ok(())
}

pub struct VideoInput {
    track: Arc<Track>,
    format: PixelFormat,
    frame_rate: f64,
    /// Frames written so far, and the last timestamp (ns), for defaults and ordering.
    clock: Mutex<(u64, Option<i64>)>,
}

impl VideoInput {
    /// `drop_when_behind`: drop frames (counted) instead of waiting when a recorder is behind,
    /// as a live camera must.
    pub fn new(
        width: u32,
        height: u32,
        frame_rate: f64,
        format: &str,
        label: &str,
        drop_when_behind: bool,
    ) -> Result<Self> {
        check_size(width, height)?;
        if !(frame_rate.is_finite() && frame_rate > 0.0 && frame_rate <= 1000.0) {
            return Err(Error::InvalidValue(format!(
                "frame_rate: expected a number above 0 and at most 1000, got {frame_rate}"
            )));
        }
        let format = PixelFormat::parse(format)?;
        let settings = TrackSettings {
            width: Some(width),
            height: Some(height),
            frame_rate: Some(frame_rate),
            ..Default::default()
        };
        let track = Track::new(TrackKind::Video, label, settings, TrackClock::Pushed);
        if drop_when_behind {
            track.set_overflow(Overflow::Drop);
        }
        Ok(VideoInput { track, format, frame_rate, clock: Mutex::new((0, None)) })
    }

    pub fn track(&self) -> &Arc<Track> {
        &self.track
    }
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Records one picture of `width x height` in the source's pixel format. `timestamp` is in
    /// seconds of media time (default: frames written / frame rate) and may not go backwards.
    pub fn write(
        &self,
        width: u32,
        height: u32,
        data: &[u8],
        timestamp: Option<f64>,
    ) -> Result<()> {
        if !self.track.is_live() {
            return Err(Error::InvalidState(
                "write: the source is closed (its track has ended)".into(),
            ));
        }
        check_size(width, height)?;
        // As for audio: wait before taking the clock's lock; interrupted, nothing is recorded.
        let Some(admission) = self.track.wait_room() else { return Ok(()) };
        let mut clock = self.clock.lock();
        let time = match timestamp {
            Some(t) if !(t.is_finite() && (0.0..=MAX_TIMESTAMP_S).contains(&t)) => {
                return Err(Error::InvalidValue(format!(
                    "timestamp: expected a finite number of seconds from 0 to \
                     {MAX_TIMESTAMP_S:e}, got {t}"
                )))
            }
            Some(t) => (t * 1e9).round() as i64,
            None => (clock.0 as f64 / self.frame_rate * 1e9).round() as i64,
        };
        if let Some(last) = clock.1 {
            if time < last {
                return Err(Error::InvalidValue(format!(
                    "timestamp: expected at least the previous frame's {:.6} s, got {:.6} s",
                    last as f64 / 1e9,
                    time as f64 / 1e9
                )));
            }
        }
        let frame = to_i420(self.format, width, height, data, time)?;
        *clock = (clock.0 + 1, Some(time));
        self.track.stats().total_frames.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let owed = admission.owed();
        if !self.track.push_video(frame, admission) && owed {
            return Err(crate::core::source::audio::closed_while_waiting());
        }
        Ok(())
    }

    pub fn close(&self) {
        self.track.end();
    }
}

impl Drop for VideoInput {
    fn drop(&mut self) {
        self.track.end();
    }
}
