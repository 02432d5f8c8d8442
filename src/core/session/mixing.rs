//! `audio_tracks="mix"`: the session's stage between the audio tracks and their one encoder.
//! Each input track keeps its own place on the session timeline (its start, the paused spans
//! cut out of it, as a lane does), so the mixer (`core/mix/`) sums them on one clock; what
//! the mixer has summed goes on to the mixed lane's encoder as one track's blocks.
//!
//! The session sees the inputs as track indices after its lanes (`lanes.len() + k` for input
//! `k`): the recorder attaches them there, and the mixed lane takes the audio lane's place.

use std::sync::atomic::Ordering;

use crate::core::level::LevelWindow;
use crate::core::media::{AudioBlock, TrackKind, TrackSettings};
use crate::core::mix::Mixer;
use crate::core::session::TrackPlan;
use crate::core::stats::RecorderStats;
use crate::core::Result;

/// The mix's rate: Opus encodes at 48 kHz, and it is every device's usual rate.
const MIX_RATE: u32 = 48_000;

/// The plan of the one track the inputs are mixed into: 48 kHz, the widest input's channels.
pub(crate) fn mixed_plan(inputs: &[TrackPlan]) -> TrackPlan {
    let channels = inputs.iter().filter_map(|p| p.settings.channel_count).max().unwrap_or(1);
    let settings = TrackSettings {
        sample_rate: Some(MIX_RATE),
        channel_count: Some(channels),
        ..inputs.first().map(|p| p.settings.clone()).unwrap_or_default()
    };
    TrackPlan {
        kind: TrackKind::Audio,
        settings,
        // The mixer's blocks are dated on the session timeline already.
        start: 0,
        pushed: inputs.iter().all(|p| p.pushed),
    }
}

/// One input's place on the session timeline (what `Lane::place` does for a lane).
struct Place {
    start: i64,
    removed: i64,
    last_end: Option<i64>,
    resumed: bool,
    ended: bool,
}

pub(crate) struct Mixing {
    mixer: Mixer,
    inputs: Vec<Place>,
    /// Clamped samples already added to the stats.
    counted: u64,
    /// No block mixed yet: the first one replaces an earlier session's level window.
    fresh: bool,
}

impl Mixing {
    pub(crate) fn new(inputs: &[TrackPlan], mixed: &TrackPlan) -> Self {
        let channels = mixed.settings.channel_count.unwrap_or(1);
        Mixing {
            mixer: Mixer::new(MIX_RATE, channels, inputs.len()),
            inputs: inputs
                .iter()
                .map(|p| Place {
                    start: p.start,
                    removed: 0,
                    last_end: None,
                    resumed: false,
                    ended: false,
                })
                .collect(),
            counted: 0,
            fresh: true,
        }
    }

    /// Adds input `index`'s block; returns what the mix has complete now, if anything.
    pub(crate) fn push(
        &mut self,
        index: usize,
        block: &AudioBlock,
        stats: &RecorderStats,
    ) -> Result<Option<AudioBlock>> {
        let duration = block.duration_ns();
        let place = &mut self.inputs[index];
        if place.ended {
            return Ok(None);
        }
        if place.resumed {
            place.resumed = false;
            let end = place.last_end.unwrap_or(place.start);
            place.removed += (block.time - end).max(0);
        }
        place.last_end = Some(block.time + duration);
        let end = block.time + duration - place.start - place.removed;
        self.mixer.push(index, block, end)?;
        Ok(self.pull(false, stats))
    }

    /// Input `index` ended; returns what the mix can complete without it and whether every
    /// input has ended (the mixed track ends then, after that block).
    pub(crate) fn end(
        &mut self,
        index: usize,
        stats: &RecorderStats,
    ) -> Result<(Option<AudioBlock>, bool)> {
        self.inputs[index].ended = true;
        self.mixer.end_input(index)?;
        let all = self.inputs.iter().all(|p| p.ended);
        Ok((self.pull(all, stats), all))
    }

    /// Everything still held, at the end of the session (the inputs' resamplers flushed).
    pub(crate) fn drain(&mut self, stats: &RecorderStats) -> Result<Option<AudioBlock>> {
        self.mixer.end_all()?;
        Ok(self.pull(true, stats))
    }

    /// A resume: each input's next block cuts the paused span out of its timeline.
    pub(crate) fn resume(&mut self) {
        for place in &mut self.inputs {
            place.resumed = true;
        }
    }

    fn pull(&mut self, all: bool, stats: &RecorderStats) -> Option<AudioBlock> {
        let block = self.mixer.pull(all);
        let clipped = self.mixer.clipped();
        stats.audio_samples_clipped.fetch_add(clipped - self.counted, Ordering::Relaxed);
        self.counted = clipped;
        if let Some(b) = &block {
            let mut level = stats.mix_level.lock();
            if std::mem::take(&mut self.fresh) || level.is_none() {
                *level = Some(LevelWindow::new(b.sample_rate, b.channels));
            }
            level.as_mut().expect("set above").push(&b.samples);
        }
        block
    }
}
