//! `start_on_speech`: a session armed on an audio track. Until someone speaks, the track keeps
//! the session's recent audio in a ring bounded by the pre-roll (and a margin for the
//! detector's delay), runs a voice detector of the session's own on it, and attaches nothing.
//! At the onset the ring's blocks from `onset - pre_roll` on go to the session, then the
//! session is attached and takes the block that held the onset like any other: the recording
//! begins at the first block that holds `onset - pre_roll`, on the pushing thread, with no
//! block lost or given twice between the ring and the track.

use std::collections::VecDeque;

use parking_lot::Mutex;

use crate::core::media::AudioBlock;
use crate::core::session::SessionInput;
use crate::core::vad::{Voice, VoiceDetector, ONSET_FRAMES, RESOLUTION_NS};

/// The longest pre-roll: the ring holds at most this (plus the margin) of audio.
pub const MAX_PRE_ROLL_NS: i64 = 30_000_000_000;

/// What the ring keeps beyond the pre-roll: the onset is dated up to [`ONSET_FRAMES`] frames
/// (and a frame of resampling) before the block that confirms it.
const MARGIN_NS: i64 = (ONSET_FRAMES as i64 + 2) * RESOLUTION_NS;

struct Armed {
    session: u64,
    index: usize,
    input: SessionInput,
    pre_roll: i64,
    detector: VoiceDetector,
    ring: VecDeque<AudioBlock>,
}

/// A session that speech starts, fired: the session's place and the ring's blocks to send it
/// before attaching it.
pub(crate) struct Onset {
    pub session: u64,
    pub index: usize,
    pub input: SessionInput,
    pub blocks: Vec<AudioBlock>,
}

/// A track's armed sessions (usually none: then a push costs one uncontended lock).
#[derive(Default)]
pub(crate) struct ArmTaps {
    armed: Mutex<Vec<Armed>>,
}

impl ArmTaps {
    pub(crate) fn arm(
        &self,
        session: u64,
        index: usize,
        input: SessionInput,
        sample_rate: u32,
        pre_roll: i64,
        live: impl Fn() -> bool,
    ) -> bool {
        // Checked under the lock `end` takes, so an armed session never misses the end.
        let mut armed = self.armed.lock();
        if !live() {
            return false;
        }
        let pre_roll = pre_roll.clamp(0, MAX_PRE_ROLL_NS);
        let detector = VoiceDetector::new(sample_rate);
        armed.push(Armed { session, index, input, pre_roll, detector, ring: VecDeque::new() });
        true
    }

    /// The track ended: the armed sessions' places, to send them the end.
    pub(crate) fn end(&self) -> Vec<(usize, SessionInput)> {
        self.armed.lock().drain(..).map(|a| (a.index, a.input)).collect()
    }

    pub(crate) fn disarm(&self, session: u64) {
        self.armed.lock().retain(|a| a.session != session);
    }

    /// Feeds `block` (before the track hands it to its attached sessions); returns the
    /// sessions whose speech starts in it, to attach now.
    pub(crate) fn audio(&self, block: &AudioBlock) -> Vec<Onset> {
        let mut armed = self.armed.lock();
        if armed.is_empty() {
            return Vec::new();
        }
        let mut fired = Vec::new();
        let mut i = 0;
        while i < armed.len() {
            let a = &mut armed[i];
            let onset = a.detector.push(block).into_iter().find(|e| e.voice == Voice::Speech);
            match onset {
                Some(e) => {
                    let from = e.time - a.pre_roll;
                    let a = armed.swap_remove(i);
                    let blocks =
                        a.ring.into_iter().filter(|b| b.time + b.duration_ns() > from).collect();
                    fired.push(Onset {
                        session: a.session,
                        index: a.index,
                        input: a.input,
                        blocks,
                    });
                }
                None => {
                    let keep = a.pre_roll + MARGIN_NS;
                    let end = block.time + block.duration_ns();
                    a.ring.push_back(block.clone());
                    while a.ring.front().is_some_and(|b| b.time + b.duration_ns() < end - keep) {
                        a.ring.pop_front();
                    }
                    i += 1;
                }
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(i: i64) -> AudioBlock {
        AudioBlock {
            sample_rate: 16_000,
            channels: 1,
            time: i * 10_000_000,
            samples: vec![0.0; 160],
        }
    }

    #[test]
    fn the_ring_holds_the_pre_roll_and_the_margin_only() {
        let taps = ArmTaps::default();
        let (input, _control, _inbox) =
            crate::core::session::session_queues(std::sync::Arc::default());
        assert!(taps.arm(1, 0, input, 16_000, 500_000_000, || true));
        for i in 0..1000 {
            assert!(taps.audio(&block(i)).is_empty());
        }
        let armed = taps.armed.lock();
        let held: i64 = armed[0].ring.iter().map(AudioBlock::duration_ns).sum();
        assert!(held <= 500_000_000 + MARGIN_NS + 10_000_000, "{held}");
        assert!(held >= 500_000_000 + MARGIN_NS, "{held}");
    }
}
