//! Counters shared by a recorder and its sessions.

use std::sync::atomic::AtomicU64;

use parking_lot::Mutex;

use crate::core::level::LevelWindow;

/// Counters of a recorder, over all its sessions.
#[derive(Debug, Default)]
pub struct RecorderStats {
    /// Frames offered by the recorded video track.
    pub video_frames_received: AtomicU64,
    /// Frames dropped because the encoder was behind (the video queue was full).
    pub video_frames_dropped: AtomicU64,
    pub video_frames_encoded: AtomicU64,
    /// Packets of a stalled live track that arrived after later ones of another track had been
    /// written, dropped rather than written out of timestamp order.
    pub packets_dropped_late: AtomicU64,
    /// `audio_tracks="mix"`: samples of the mix beyond full scale, clamped to it.
    pub audio_samples_clipped: AtomicU64,
    /// `audio_tracks="mix"`: the mix's newest 100 ms, for the recorder's level (the mix is no
    /// track of its own, so no track measures it). Set anew by each mixing session.
    pub mix_level: Mutex<Option<LevelWindow>>,
}
