//! Voice activity on audio tracks: `speech` when someone starts talking, `silence` when they
//! stop. The detector is earshot's (a small pure-Rust network on 16 ms frames at 16 kHz, MIT
//! OR Apache-2.0, maintained), with hysteresis on its score so that a short pause inside a
//! word or a click does not flip the state: speech starts after [`ONSET_FRAMES`] voiced frames
//! (dated at the first of them) and ends after [`HANGOVER_FRAMES`] unvoiced ones (dated at
//! the first unvoiced one).
//!
//! A track runs a detector only while something listens (`Track::on_voice`); it sees the
//! track's audio after mute, in the pushing thread (earshot costs ~0.03% of a core per stream).

use parking_lot::Mutex;

use crate::core::media::AudioBlock;

const RATE: u32 = 16_000;
const FRAME: usize = 256;
const FRAME_NS: i64 = 16_000_000;
const THRESHOLD: f32 = 0.5;
/// 32 ms of voice starts speech.
pub const ONSET_FRAMES: u32 = 2;
/// 304 ms without voice ends it.
pub const HANGOVER_FRAMES: u32 = 19;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voice {
    Speech,
    Silence,
    /// Silence has lasted a listener's limit (`stop_after_silence`), counted from the first
    /// sample or from where the last speech ended.
    SilenceLimit,
}

impl Voice {
    pub fn as_str(self) -> &'static str {
        match self {
            Voice::Speech => "speech",
            Voice::Silence => "silence",
            Voice::SilenceLimit => "silencelimit",
        }
    }
}

/// A change of voice activity and where it happened on the track's clock (ns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceEvent {
    pub voice: Voice,
    pub time: i64,
    /// The limit a [`Voice::SilenceLimit`] is for (ns); 0 otherwise.
    pub limit: i64,
}

/// One track's detector: its mono 16 kHz resampler, the network and the hysteresis.
pub struct VoiceDetector {
    net: Box<earshot::Detector>,
    /// Input samples per output sample, and where the next output sample falls, in input
    /// samples from the start of the next block (negative: between the last block's last
    /// sample and the next block's first).
    step: f64,
    next: f64,
    last: f32,
    frame: Vec<f32>,
    /// Track time of the first 16 kHz sample, and samples made since.
    anchor: Option<i64>,
    made: u64,
    speaking: bool,
    run: u32,
    run_start: i64,
    /// Where the current silence began (None while speaking), and the silence limits
    /// listened for, each with whether it fired in this silence.
    silent_since: Option<i64>,
    limits: Vec<(i64, bool)>,
}

impl VoiceDetector {
    pub fn new(sample_rate: u32) -> Self {
        VoiceDetector {
            net: earshot::Detector::default_boxed(),
            step: sample_rate as f64 / RATE as f64,
            next: 0.0,
            last: 0.0,
            frame: Vec::with_capacity(FRAME),
            anchor: None,
            made: 0,
            speaking: false,
            run: 0,
            run_start: 0,
            silent_since: None,
            limits: Vec::new(),
        }
    }

    /// Feeds a block; returns the changes it caused, in order.
    pub fn push(&mut self, block: &AudioBlock) -> Vec<VoiceEvent> {
        let ch = block.channels.max(1) as usize;
        let mono: Vec<f32> =
            block.samples.chunks_exact(ch).map(|f| f.iter().sum::<f32>() / ch as f32).collect();
        let anchor = *self.anchor.get_or_insert(block.time);
        let mut events = Vec::new();
        while self.next < mono.len() as f64 - 1.0 {
            let i = self.next.floor();
            let frac = (self.next - i) as f32;
            let a = if i < 0.0 { self.last } else { mono[i as usize] };
            let b = mono[(i + 1.0) as usize];
            self.frame.push((a + (b - a) * frac).clamp(-1.0, 1.0));
            self.next += self.step;
            if self.frame.len() == FRAME {
                let start = anchor + (self.made as u128 * 1_000_000_000 / RATE as u128) as i64;
                self.made += FRAME as u64;
                let score = self.net.predict_f32(&self.frame);
                self.frame.clear();
                let change = self.decide(score >= THRESHOLD, start);
                match change.map(|e| (e.voice, e.time)) {
                    Some((Voice::Speech, _)) => self.silent_since = None,
                    Some((_, since)) => self.silent_since = Some(since),
                    // Silence from the first sample on counts too.
                    None if !self.speaking => _ = self.silent_since.get_or_insert(start),
                    None => {}
                }
                events.extend(change);
                self.check_limits(start + FRAME_NS, &mut events);
            }
        }
        if let Some(&l) = mono.last() {
            self.last = l;
        }
        self.next -= mono.len() as f64;
        events
    }

    fn check_limits(&mut self, now: i64, events: &mut Vec<VoiceEvent>) {
        match self.silent_since {
            None => self.limits.iter_mut().for_each(|l| l.1 = false),
            Some(since) => {
                for (limit, fired) in &mut self.limits {
                    if !*fired && now - since >= *limit {
                        *fired = true;
                        let (voice, time) = (Voice::SilenceLimit, since + *limit);
                        events.push(VoiceEvent { voice, time, limit: *limit });
                    }
                }
            }
        }
    }

    fn decide(&mut self, voiced: bool, start: i64) -> Option<VoiceEvent> {
        if voiced == self.speaking {
            self.run = 0;
            return None;
        }
        if self.run == 0 {
            self.run_start = start;
        }
        self.run += 1;
        let needed = if self.speaking { HANGOVER_FRAMES } else { ONSET_FRAMES };
        if self.run < needed {
            return None;
        }
        self.speaking = !self.speaking;
        self.run = 0;
        let voice = if self.speaking { Voice::Speech } else { Voice::Silence };
        Some(VoiceEvent { voice, time: self.run_start, limit: 0 })
    }
}

type Listener = Box<dyn Fn(VoiceEvent) + Send + Sync>;

/// A listener, and the silence limit it listens for (0: speech and silence).
type Entry = (i64, Listener);

/// A track's voice listeners and their detector (made with the first listener).
#[derive(Default)]
pub struct VoiceTaps {
    state: Mutex<Option<(VoiceDetector, Vec<Entry>)>>,
}

impl VoiceTaps {
    /// `limit_ns` > 0: `f` hears only [`Voice::SilenceLimit`] for that limit; 0: the changes.
    pub(crate) fn listen(&self, sample_rate: u32, limit_ns: i64, f: Listener) {
        let mut state = self.state.lock();
        let (detector, listeners) =
            state.get_or_insert_with(|| (VoiceDetector::new(sample_rate), Vec::new()));
        if limit_ns > 0 && !detector.limits.iter().any(|l| l.0 == limit_ns) {
            detector.limits.push((limit_ns, false));
        }
        listeners.push((limit_ns, f));
    }

    pub(crate) fn audio(&self, block: &AudioBlock) {
        let mut state = self.state.lock();
        let Some((detector, listeners)) = state.as_mut() else { return };
        for e in detector.push(block) {
            for (limit, f) in listeners.iter() {
                if *limit == e.limit {
                    f(e);
                }
            }
        }
    }
}

/// The frame time a change is dated at is within one frame of the sample where it happened.
pub const RESOLUTION_NS: i64 = FRAME_NS;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digital_silence_is_not_speech() {
        let mut d = VoiceDetector::new(48_000);
        let mut events = Vec::new();
        for i in 0..100 {
            let samples = vec![0.0; 480];
            let block =
                AudioBlock { sample_rate: 48_000, channels: 1, time: i * 10_000_000, samples };
            events.extend(d.push(&block));
        }
        assert_eq!(events, []);
    }

    #[test]
    fn a_silence_limit_fires_once_counted_from_the_first_sample() {
        let mut d = VoiceDetector::new(16_000);
        d.limits.push((1_000_000_000, false));
        let mut events = Vec::new();
        for i in 0..200 {
            let block = AudioBlock {
                sample_rate: 16_000,
                channels: 1,
                time: i * 16_000_000,
                samples: vec![0.0; 256],
            };
            events.extend(d.push(&block));
        }
        let limit =
            VoiceEvent { voice: Voice::SilenceLimit, time: 1_000_000_000, limit: 1_000_000_000 };
        assert_eq!(events, [limit]);
    }
}
