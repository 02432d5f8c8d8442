//! A live test pattern: a browser's fake camera. Colour bars, a white square moving across
//! them and the frame number drawn in seven-segment digits, produced in real time on a thread
//! of its own.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::core::media::clock_ns;
use crate::core::source::convert::i420::{to_i420, PixelFormat};
use crate::core::source::video::check_size;
use crate::core::track::{Admission, Track, TrackClock, TrackKind, TrackSettings};
use crate::core::{Error, Result};

const BARS: [[u8; 3]; 7] = [
    [192, 192, 192],
    [192, 192, 0],
    [0, 192, 192],
    [0, 192, 0],
    [192, 0, 192],
    [192, 0, 0],
    [0, 0, 192],
];

/// Segments a-g of the digits 0-9.
const DIGITS: [u8; 10] = [0x3F, 0x06, 0x5B, 0x4F, 0x66, 0x6D, 0x7D, 0x07, 0x7F, 0x6F];

/// Frame `index` of the pattern as packed RGB.
pub fn render(width: u32, height: u32, index: u64) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let mut rgb = vec![0u8; w * h * 3];
    for x in 0..w {
        let bar = BARS[x * BARS.len() / w];
        for y in 0..h {
            rgb[(y * w + x) * 3..][..3].copy_from_slice(&bar);
        }
    }
    let side = (h / 4).max(1).min(w);
    let travel = (w - side).max(1);
    let x0 = (index as usize * 4) % travel;
    let y0 = (h - side) / 2;
    fill(&mut rgb, w, x0, y0, side, side, [255, 255, 255]);
    draw_number(&mut rgb, w, h, index);
    rgb
}

fn fill(rgb: &mut [u8], w: usize, x0: usize, y0: usize, fw: usize, fh: usize, c: [u8; 3]) {
    let h = rgb.len() / 3 / w;
    for y in y0..(y0 + fh).min(h) {
        for x in x0..(x0 + fw).min(w) {
            rgb[(y * w + x) * 3..][..3].copy_from_slice(&c);
        }
    }
}

fn draw_number(rgb: &mut [u8], w: usize, h: usize, n: u64) {
    let digit_h = (h / 8).max(5);
    let digit_w = digit_h / 2 + 1;
    let t = (digit_h / 8).max(1);
    let text = format!("{n:06}");
    let box_w = text.len() * (digit_w + 2 * t) + 2 * t;
    fill(rgb, w, 0, 0, box_w, digit_h + 4 * t, [0, 0, 0]);
    for (i, ch) in text.bytes().enumerate() {
        let segs = DIGITS[(ch - b'0') as usize];
        let (x, y) = (2 * t + i * (digit_w + 2 * t), 2 * t);
        let half = digit_h / 2;
        let white = [255, 255, 255];
        let bars = [
            (x, y, digit_w, t),                   // a
            (x + digit_w - t, y, t, half),        // b
            (x + digit_w - t, y + half, t, half), // c
            (x, y + digit_h - t, digit_w, t),     // d
            (x, y + half, t, half),               // e
            (x, y, t, half),                      // f
            (x, y + half - t / 2, digit_w, t),    // g
        ];
        for (bit, &(bx, by, bw, bh)) in bars.iter().enumerate() {
            if segs & (1 << bit) != 0 {
                fill(rgb, w, bx, by, bw, bh, white);
            }
        }
    }
}

pub struct TestPattern {
    track: Arc<Track>,
}

impl TestPattern {
    pub fn start(width: u32, height: u32, frame_rate: f64) -> Result<Self> {
        check_size(width, height)?;
        if !(frame_rate.is_finite() && frame_rate > 0.0 && frame_rate <= 240.0) {
            return Err(Error::InvalidValue(format!(
                "frame_rate: expected a number above 0 and at most 240, got {frame_rate}"
            )));
        }
        let settings = TrackSettings {
            width: Some(width),
            height: Some(height),
            frame_rate: Some(frame_rate),
            ..Default::default()
        };
        let track = Track::new(TrackKind::Video, "Test pattern", settings, TrackClock::Live);
        let weak = Arc::downgrade(&track);
        let period = Duration::from_secs_f64(1.0 / frame_rate);
        thread::Builder::new()
            .name("mediarecorder-pattern".into())
            .spawn(move || {
                let (mut anchor, start) = (clock_ns(), Instant::now());
                let mut next = start;
                let mut index = 0u64;
                loop {
                    let Some(track) = weak.upgrade() else { return };
                    if !track.is_live() {
                        return;
                    }
                    let rgb = render(width, height, index);
                    let time = anchor + (index as f64 * 1e9 / frame_rate) as i64;
                    if let Ok(frame) = to_i420(PixelFormat::Rgb24, width, height, &rgb, time) {
                        track.stats().total_frames.fetch_add(1, Ordering::Relaxed);
                        track.push_video(frame, Admission::none(TrackKind::Video));
                    }
                    index += 1;
                    next += period;
                    let now = Instant::now();
                    if next > now {
                        thread::sleep(next - now);
                    } else if now - next > Duration::from_millis(500) {
                        // Far behind: resynchronise rather than burst; count the frames skipped.
                        let skipped = ((now - next).as_secs_f64() * frame_rate) as u64;
                        track.stats().dropped_frames.fetch_add(skipped, Ordering::Relaxed);
                        index += skipped;
                        next = now;
                        anchor = clock_ns() - (index as f64 * 1e9 / frame_rate) as i64;
                    }
                }
            })
            .map_err(|e| Error::Unknown(format!("cannot start the test pattern thread: {e}")))?;
        Ok(TestPattern { track })
    }

    pub fn track(&self) -> &Arc<Track> {
        &self.track
    }
}
