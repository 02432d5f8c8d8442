//! The recorder's public data: its state, its options (`MediaRecorderOptions`) and the events
//! it hands the embedder to dispatch.

use crate::core::encode::BitrateMode;
use crate::core::session::{BudgetGuard, SegmentDone};
use crate::core::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingState {
    Inactive,
    Recording,
    Paused,
}

impl RecordingState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingState::Inactive => "inactive",
            RecordingState::Recording => "recording",
            RecordingState::Paused => "paused",
        }
    }
}

/// `MediaRecorderOptions`, validated by the embedder for types.
#[derive(Debug, Clone)]
pub struct RecorderOptions {
    pub mime_type: String,
    pub audio_bits_per_second: Option<u32>,
    pub video_bits_per_second: Option<u32>,
    pub bits_per_second: Option<u32>,
    pub audio_bitrate_mode: BitrateMode,
    pub video_key_frame_interval_duration: Option<f64>,
    pub video_key_frame_interval_count: Option<u32>,
    /// Every chunk starts on a video keyframe (and a new Cluster), so it decodes on its own.
    pub independent_chunks: bool,
    /// What becomes of a stream's several live audio tracks.
    pub audio_tracks: AudioTracks,
    /// `start_on_speech`: `start()` arms the recorder and the recording begins this long
    /// (ns, the pre-roll) before the onset of speech on its audio track (`arm.rs`).
    pub start_on_speech: Option<i64>,
}

/// `audio_tracks`: the first audio track is recorded (as browsers do), every one as its own
/// track, or every one mixed into one (`session/mixing.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AudioTracks {
    #[default]
    First,
    Separate,
    Mix,
}

impl AudioTracks {
    /// The option's value as the embedder names it ("first", "separate", "mix").
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "first" => Some(AudioTracks::First),
            "separate" => Some(AudioTracks::Separate),
            "mix" => Some(AudioTracks::Mix),
            _ => None,
        }
    }
}

/// An event for the embedder to dispatch.
#[derive(Debug)]
pub enum Event {
    Start,
    /// `budget` returns the blob's bytes to the recorder's budget when the event is dropped.
    DataAvailable {
        data: Vec<u8>,
        mime_type: String,
        timecode: f64,
        budget: BudgetGuard,
    },
    Pause,
    Resume,
    /// A segment file of a segmented recording was finished (not a web event).
    Segment(SegmentDone),
    Error(Error),
    Stop,
}

impl Event {
    pub fn type_(&self) -> &'static str {
        match self {
            Event::Start => "start",
            Event::DataAvailable { .. } => "dataavailable",
            Event::Pause => "pause",
            Event::Resume => "resume",
            Event::Segment(_) => "segment",
            Event::Error(_) => "error",
            Event::Stop => "stop",
        }
    }
}
