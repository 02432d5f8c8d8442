//! Audio levels: peak and RMS over the newest 100 ms of a track's samples, in dBFS, measured on
//! the samples the track already hands to its recorders (nothing is decoded to learn a level).

/// How much of the newest audio a level covers.
pub const WINDOW_MS: u32 = 100;

/// Peak and RMS of a window of samples, in dBFS (full scale 1.0 = 0 dBFS; silence is -inf).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    pub peak_dbfs: f64,
    pub rms_dbfs: f64,
}

impl Level {
    /// What nothing at all reads.
    pub const SILENCE: Level = Level { peak_dbfs: f64::NEG_INFINITY, rms_dbfs: f64::NEG_INFINITY };
}

/// The newest [`WINDOW_MS`] of interleaved samples, kept in a ring sized once.
#[derive(Debug)]
pub struct LevelWindow {
    ring: Vec<f32>,
    /// Next slot to write.
    at: usize,
    /// Slots holding samples (the ring fills up once, then stays full).
    filled: usize,
}

impl LevelWindow {
    pub fn new(sample_rate: u32, channels: u16) -> Self {
        let frames = (sample_rate as usize * WINDOW_MS as usize / 1000).max(1);
        LevelWindow { ring: vec![0.0; frames * channels.max(1) as usize], at: 0, filled: 0 }
    }

    /// Adds interleaved samples; only the newest window's worth is kept.
    pub fn push(&mut self, samples: &[f32]) {
        let n = self.ring.len();
        let tail = &samples[samples.len().saturating_sub(n)..];
        for &s in tail {
            self.ring[self.at] = s;
            self.at = (self.at + 1) % n;
        }
        self.filled = (self.filled + tail.len()).min(n);
    }

    /// The level of the window; `None` before any sample arrived.
    pub fn level(&self) -> Option<Level> {
        if self.filled == 0 {
            return None;
        }
        let held =
            if self.filled == self.ring.len() { &self.ring[..] } else { &self.ring[..self.filled] };
        let peak = held.iter().fold(0.0f32, |m, &s| m.max(s.abs())) as f64;
        let power = held.iter().map(|&s| s as f64 * s as f64).sum::<f64>() / held.len() as f64;
        Some(Level { peak_dbfs: 20.0 * peak.log10(), rms_dbfs: 10.0 * power.log10() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(amplitude: f32, n: usize) -> Vec<f32> {
        (0..n).map(|i| amplitude * (i as f32 * 2.0 * std::f32::consts::PI / 48.0).sin()).collect()
    }

    #[test]
    fn a_half_scale_sine_reads_minus_6_peak_and_minus_9_rms() {
        let mut w = LevelWindow::new(48_000, 1);
        assert_eq!(w.level(), None);
        w.push(&sine(0.5, 48_000));
        let l = w.level().unwrap();
        assert!((l.peak_dbfs - -6.0206).abs() < 0.01, "{l:?}");
        assert!((l.rms_dbfs - -9.0309).abs() < 0.01, "{l:?}");
    }

    #[test]
    fn only_the_newest_100_ms_count() {
        let mut w = LevelWindow::new(48_000, 2);
        w.push(&sine(1.0, 2 * 48_000));
        for _ in 0..10 {
            w.push(&vec![0.0; 2 * 480]); // ten 10 ms blocks of silence
        }
        assert_eq!(w.level().unwrap().peak_dbfs, f64::NEG_INFINITY);
        w.push(&[0.25, -0.25]);
        assert!((w.level().unwrap().peak_dbfs - -12.041).abs() < 0.01);
    }
}
