//! Raw media as sources hand it to tracks.

/// Interleaved 32-bit float PCM in [-1, 1].
#[derive(Debug, Clone)]
pub struct AudioBlock {
    pub sample_rate: u32,
    pub channels: u16,
    pub samples: Vec<f32>,
}

impl AudioBlock {
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1) as usize
    }
}

/// What a track sends to each session attached to it, in order.
#[derive(Debug)]
pub enum Media {
    Audio(AudioBlock),
    /// The track ended; nothing more follows from it.
    End,
}
