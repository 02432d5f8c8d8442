//! The last stage: the muxed byte stream cut into the blobs that `dataavailable` delivers,
//! the memory budget for blobs that are waiting to be delivered, and the destinations a
//! recording is written to ([`Target`]: a local file, an embedder's writer, an object store).

pub mod destination;
pub mod file;
pub mod queued;
pub mod store;
pub mod target;
mod template;

pub use destination::{open, Destination, StorageOptions};
pub use file::FileTarget;
pub use target::{
    Finishing, Opener, Output, PendingFinish, SegmentOpener, SegmentPlan, Target, MIN_SEGMENT_NS,
};
pub use template::Template;

use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

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

/// Bytes of blobs produced but not yet delivered, for one recorder. A pipeline that gets
/// ahead of a slow `dataavailable` handler waits here, which in turn slows the sources down:
/// memory stays bounded and nothing is dropped.
pub struct Budget {
    limit: usize,
    used: Mutex<usize>,
    freed: Condvar,
}

impl Budget {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Budget { limit, used: Mutex::new(0), freed: Condvar::new() })
    }

    /// Waits until `n` more bytes fit (a blob larger than the limit waits for an empty budget).
    pub fn acquire(self: &Arc<Self>, n: usize) -> BudgetGuard {
        let mut used = self.used.lock();
        while *used > 0 && *used + n > self.limit {
            self.freed.wait(&mut used);
        }
        *used += n;
        BudgetGuard { budget: self.clone(), n }
    }

    pub fn used(&self) -> usize {
        *self.used.lock()
    }
}

/// Gives its bytes back to the budget when the blob it travels with is dropped.
pub struct BudgetGuard {
    budget: Arc<Budget>,
    n: usize,
}

impl Drop for BudgetGuard {
    fn drop(&mut self) {
        *self.budget.used.lock() -= self.n;
        self.budget.freed.notify_all();
    }
}

impl std::fmt::Debug for BudgetGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BudgetGuard({} bytes)", self.n)
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

    #[test]
    fn the_budget_waits_for_room_and_lets_an_oversized_blob_through_alone() {
        let budget = Budget::new(100);
        let a = budget.acquire(60);
        assert_eq!(budget.used(), 60);
        let waiter = {
            let budget = budget.clone();
            std::thread::spawn(move || budget.acquire(50).n)
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!waiter.is_finished(), "60 + 50 bytes must not fit in 100");
        drop(a);
        assert_eq!(waiter.join().unwrap(), 50);
        assert_eq!(budget.used(), 0);
        let big = budget.acquire(1000);
        assert_eq!(budget.used(), 1000);
        drop(big);
    }
}
