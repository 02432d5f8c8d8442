//! Bitrate defaults and the `bitsPerSecond` split (reference §2.12, Firefox's algorithm).

pub const DEFAULT_AUDIO_BPS: u32 = 128_000;
pub const DEFAULT_VIDEO_BPS: u32 = 2_500_000;
const AUDIO_MIN: u64 = 500;
const AUDIO_MAX: u64 = 512_000;
const VIDEO_MIN: u64 = 10_000;
const VIDEO_MAX: u64 = 100_000_000;

/// `(video, audio)` bits per second that share `bps` between the given numbers of tracks.
/// Video weighs 20 to audio's 1; each result is clamped to its kind's limits.
pub fn select(bps: u32, n_video: u32, n_audio: u32) -> (u32, u32) {
    let bps = bps as u64;
    let (nv, na) = (n_video as u64, n_audio as u64);
    let clamp_a = |v: u64| v.clamp(AUDIO_MIN * na, AUDIO_MAX * na) as u32;
    let clamp_v = |v: u64| v.clamp(VIDEO_MIN * nv, VIDEO_MAX * nv) as u32;
    match (nv, na) {
        (0, 0) => (0, 0),
        (0, _) => (0, clamp_a(bps)),
        (_, 0) => (clamp_v(bps), 0),
        _ => {
            let total = 20 * nv + na;
            (clamp_v(bps * 20 * nv / total), clamp_a(bps * na / total))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::select;

    #[test]
    fn worked_examples_of_the_reference() {
        assert_eq!(select(0, 1, 1), (10_000, 500));
        assert_eq!(select(2_000_000, 1, 1), (1_904_761, 95_238));
        assert_eq!(select(500_000, 0, 1), (0, 500_000));
        assert_eq!(select(2_000_000, 1, 0), (2_000_000, 0));
        assert_eq!(select(u32::MAX, 0, 1), (0, 512_000));
    }
}
