//! Where blobs end: the muxed byte stream cut into the blobs that `dataavailable` delivers.

use crate::core::packet::Packet;

/// Decides where blobs end. With a timeslice, a blob is cut once it covers at least that much
/// media; `timeslice = 0` cuts after every packet; without one, only `request_data`, stop and
/// teardown cut.
pub struct ChunkCutter {
    timeslice_ns: Option<i64>,
    blob_start: Option<i64>,
    media_end: i64,
    /// The previous blob's timecode: timecodes never go backwards, although a packet may
    /// start before the end of the one before it (another track's, or rounded).
    last: i64,
}

impl ChunkCutter {
    pub fn new(timeslice_ms: Option<u64>) -> Self {
        ChunkCutter {
            timeslice_ns: timeslice_ms
                .map(|ms| ms.min(i64::MAX as u64 / 1_000_000) as i64 * 1_000_000),
            // The first blob starts the recording at 0, whenever its first packet starts (a
            // live source's first block may begin a fraction of a block after start()).
            blob_start: Some(0),
            media_end: 0,
            last: 0,
        }
    }

    /// Records that `p` went into the current blob; true when the blob should be cut now.
    pub fn add(&mut self, p: &Packet) -> bool {
        let start = *self.blob_start.get_or_insert(p.pts);
        self.media_end = self.media_end.max(p.pts + p.duration);
        self.timeslice_ns.is_some_and(|t| self.media_end - start >= t)
    }

    /// Ends the current blob; returns its timecode: the media time (ms) of its first packet,
    /// or of the end of the media so far when it holds none.
    pub fn cut(&mut self) -> f64 {
        let start = self.blob_start.take().unwrap_or(self.media_end).max(self.last);
        self.last = start;
        start as f64 / 1e6
    }

    /// Media time covered so far, in ms.
    pub fn media_end_ms(&self) -> f64 {
        self.media_end as f64 / 1e6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(pts_ms: i64, duration_ms: i64) -> Packet {
        Packet {
            track: 0,
            pts: pts_ms * 1_000_000,
            duration: duration_ms * 1_000_000,
            keyframe: true,
            discard_padding: 0,
            data: vec![],
        }
    }

    #[test]
    fn a_timeslice_cuts_once_that_much_media_is_in_the_blob() {
        let mut c = ChunkCutter::new(Some(100));
        let mut timecodes = Vec::new();
        let cuts: Vec<bool> = (0..10)
            .map(|i| {
                let cut = c.add(&packet(i * 20, 20));
                if cut {
                    timecodes.push(c.cut());
                }
                cut
            })
            .collect();
        // 20 ms packets: every fifth completes 100 ms; the count starts again after a cut.
        assert_eq!(cuts, [false, false, false, false, true, false, false, false, false, true]);
        assert_eq!(timecodes, [0.0, 100.0], "a blob's timecode is its first packet's time");
        assert!(!c.add(&packet(200, 20)));
        assert_eq!(c.media_end_ms(), 220.0);
    }

    #[test]
    fn zero_cuts_after_every_packet_and_none_never() {
        let mut every = ChunkCutter::new(Some(0));
        let mut never = ChunkCutter::new(None);
        for i in 0..5 {
            assert!(every.add(&packet(i * 20, 20)));
            assert!(!never.add(&packet(i * 20, 20)));
        }
    }

    #[test]
    fn an_empty_blob_is_stamped_with_the_end_of_the_media_so_far() {
        let mut c = ChunkCutter::new(None);
        assert_eq!(c.cut(), 0.0);
        c.add(&packet(0, 20));
        c.add(&packet(20, 20));
        assert_eq!(c.cut(), 0.0);
        assert_eq!(c.cut(), 40.0);
    }
}
