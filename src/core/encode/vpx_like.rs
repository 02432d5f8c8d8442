//! What the libvpx and libaom encoders share (libaom began as a fork of libvpx and kept the
//! shape of its API): a microsecond time base, the layout of our I420 pictures as they are
//! wrapped without a copy, and the durations of pictures whose packets have not come out yet.

use std::os::raw::c_int;

/// Both encoders are configured to count time in microseconds.
pub const TIMEBASE_DEN: i64 = 1_000_000;
const NS_PER_TICK: i64 = 1_000_000_000 / TIMEBASE_DEN;

/// Nanoseconds in the encoders' time base.
pub fn to_ticks(ns: i64) -> i64 {
    ns / NS_PER_TICK
}

/// The encoders' time base in nanoseconds.
pub fn to_ns(ticks: i64) -> i64 {
    ticks * NS_PER_TICK
}

/// The strides and plane offsets of a tightly packed I420 picture: its chroma planes are
/// ceil(w/2) wide, which the wrap functions assume only for even sizes.
pub fn i420_layout(width: u32, height: u32) -> ([c_int; 3], [usize; 3]) {
    let (cw, ch) = crate::core::media::VideoFrame::chroma_size(width, height);
    let y = width as usize * height as usize;
    ([width as c_int, cw as c_int, cw as c_int], [0, y, y + cw * ch])
}

/// Pictures handed to the encoder whose packets have not come out yet: (pts, duration) in ns.
/// A packet gets the time and duration given with its picture, not the encoder's microseconds,
/// so that each packet ends exactly where the next begins.
#[derive(Default)]
pub struct Pending {
    waiting: Vec<(i64, i64)>,
    /// Pictures the encoder dropped (no packet came out for them), not yet reported.
    dropped: u64,
}

impl Pending {
    pub fn push(&mut self, pts: i64, duration: i64) {
        self.waiting.push((pts, duration));
    }

    /// The `(pts, duration)` of the picture whose packet came out at `ticks`; pictures before
    /// it were dropped by the encoder and are counted. `fallback` when no picture was given at
    /// `ticks`.
    pub fn take(&mut self, ticks: i64, fallback: (i64, i64)) -> (i64, i64) {
        match self.waiting.iter().position(|&(p, _)| to_ticks(p) == ticks) {
            Some(i) => {
                self.dropped += i as u64;
                self.waiting.drain(..=i).next_back().unwrap_or(fallback)
            }
            None => fallback,
        }
    }

    /// The encoder was flushed: pictures still waiting will never come out.
    pub fn flushed(&mut self) {
        self.dropped += self.waiting.len() as u64;
        self.waiting.clear();
    }

    /// Pictures dropped since the last call.
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_durations_follow_the_packets_out() {
        let mut p = Pending::default();
        for (pts, d) in [(0, 10_000), (33_333_333, 20_000), (66_666_666, 30_000)] {
            p.push(pts, d);
        }
        // The encoder dropped the second picture: it is counted, its duration goes with it.
        assert_eq!(p.take(to_ticks(66_666_666), (0, 7)), (66_666_666, 30_000));
        assert_eq!(p.take(0, (0, 7)), (0, 7));
        assert_eq!((p.take_dropped(), p.take_dropped()), (2, 0));
        p.push(100_000_000, 1);
        p.flushed();
        assert_eq!(p.take_dropped(), 1);
        assert_eq!(i420_layout(5, 3), ([5, 3, 3], [0, 15, 21]));
    }
}
