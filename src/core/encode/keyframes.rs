//! What every video encoder keeps track of between pictures: when the next keyframe is due
//! (reference §2.3 step 9, and at least every 2 s), and picture times that strictly increase,
//! which libvpx and libaom insist on.

/// At most this long between keyframes when the encoder decides, so that files stay seekable
/// (and chunks stay joinable) at that granularity.
const AUTO_KF_MAX_NS: i64 = 2_000_000_000;

/// When to force a keyframe (reference §2.3 step 9).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KeyframeRule {
    /// The encoder decides, with at least one keyframe every `AUTO_KF_MAX_NS`.
    Auto,
    EveryFrames(u32),
    EveryNs(i64),
}

/// A rule applied to the pictures of one encoder.
#[derive(Debug, Clone, Copy)]
pub struct KeyframeClock {
    rule: KeyframeRule,
    frames_since_key: u32,
    /// When the last keyframe was (`None`: none yet, or one was asked for).
    last_key: Option<i64>,
}

impl KeyframeClock {
    pub fn new(rule: KeyframeRule) -> Self {
        Self { rule, frames_since_key: 0, last_key: None }
    }

    /// Whether the picture at `pts` (ns) must be a keyframe.
    pub fn due(&self, pts: i64) -> bool {
        match (self.rule, self.last_key) {
            (_, None) => true,
            (KeyframeRule::EveryFrames(n), _) => self.frames_since_key >= n.max(1),
            (KeyframeRule::EveryNs(ns), Some(t)) => pts - t >= ns,
            (KeyframeRule::Auto, Some(t)) => pts - t >= AUTO_KF_MAX_NS,
        }
    }

    /// Counts a picture the encoder made at `pts`, or skipped (rate control; not a keyframe).
    pub fn made(&mut self, keyframe: bool, pts: i64) {
        if keyframe {
            self.frames_since_key = 0;
            self.last_key = Some(pts);
        }
        self.frames_since_key += 1;
    }

    /// Makes the next picture a keyframe.
    pub fn force(&mut self) {
        self.last_key = None;
    }
}

/// `pts`, or 1 µs after the previous picture's time `last` when it is not later; `last`
/// becomes the time returned.
pub fn strictly_after(last: &mut Option<i64>, pts: i64) -> i64 {
    let pts = match *last {
        Some(prev) if pts <= prev => prev + 1_000,
        _ => pts,
    };
    *last = Some(pts);
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let mut every_3 = KeyframeClock::new(KeyframeRule::EveryFrames(3));
        let mut keys = Vec::new();
        for i in 0..7 {
            let key = every_3.due(i);
            every_3.made(key, i);
            keys.push(key);
        }
        assert_eq!(keys, [true, false, false, true, false, false, true]);
        let mut auto = KeyframeClock::new(KeyframeRule::Auto);
        auto.made(true, 0);
        assert!(!auto.due(AUTO_KF_MAX_NS - 1) && auto.due(AUTO_KF_MAX_NS));
        auto.force();
        assert!(auto.due(1));
        let mut last = None;
        assert_eq!(
            [5, 5, 3, 5_000].map(|t| strictly_after(&mut last, t)),
            [5, 1_005, 2_005, 5_000]
        );
    }
}
