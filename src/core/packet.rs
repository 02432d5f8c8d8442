//! The one thing that crosses from an encoder to a muxer.

/// One encoded access unit of one track.
///
/// Times are nanoseconds on the session's media timeline, which starts at 0 with the first
/// recorded media and has paused spans removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Index of the track in the session (0-based; the muxer numbers tracks from 1).
    pub track: usize,
    pub pts: i64,
    pub duration: i64,
    pub keyframe: bool,
    /// Nanoseconds of decoded output to drop at the end of this packet (Opus end trimming,
    /// Matroska `DiscardPadding`). 0 for all but a stream's last packet.
    pub discard_padding: i64,
    pub data: Vec<u8>,
}
