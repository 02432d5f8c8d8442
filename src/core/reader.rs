//! Live readers: a track's media handed to the embedder as it comes (the W3C
//! mediacapture-transform `MediaStreamTrackProcessor`), on the clock a recorder started at the
//! reader's creation would use.
//!
//! A track keeps its readers weakly ([`Taps`]): a reader nobody holds any more is gone with
//! its buffer, and the track forgets it at its next push. Each reader holds at most
//! `capacity` blocks or frames. What happens beyond that follows the track's clock: a live
//! source cannot wait, so the oldest item is dropped and counted (what the spec says for
//! `maxBufferSize`); a pushed source (NumPy writes) waits for room in [`Taps::wait_room`],
//! before it takes its own locks, as it does for a recorder's queue.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::core::media::{AudioBlock, VideoFrame};
use crate::core::wait;

/// One item of a reader's buffer, its time on the track's clock.
#[derive(Debug, Clone)]
pub enum Item {
    Audio(AudioBlock),
    Video(Arc<VideoFrame>),
}

impl Item {
    fn time(&self) -> i64 {
        match self {
            Item::Audio(b) => b.time,
            Item::Video(f) => f.time,
        }
    }
    /// Sample frames for audio, one per picture.
    fn frames(&self) -> u64 {
        match self {
            Item::Audio(b) => b.frames() as u64,
            Item::Video(_) => 1,
        }
    }
}

/// What [`Reader::read`] found.
#[derive(Debug)]
pub enum Read {
    /// An item and its timestamp in µs from the reader's start.
    Item(Item, i64),
    /// Nothing came within the timeout.
    Timeout,
    /// The track ended (or the reader was closed) and everything before was read.
    Ended,
    /// The embedder's interrupt check said stop (Ctrl-C).
    Interrupted,
}

#[derive(Debug, Default)]
pub struct ReaderStats {
    /// Items handed to [`Reader::read`]'s callers.
    pub delivered: AtomicU64,
    /// Items dropped because the buffer was full, and the sample frames (or pictures) in them.
    pub dropped: AtomicU64,
    pub dropped_frames: AtomicU64,
}

struct State {
    queue: VecDeque<Item>,
    ended: bool,
}

pub struct Reader {
    state: Mutex<State>,
    changed: Condvar,
    capacity: usize,
    /// Wait for room (pushed clock) rather than drop the oldest (live).
    waits: bool,
    /// Track time of timestamp 0: where a recording started now would begin.
    origin: i64,
    pub stats: ReaderStats,
}

impl Reader {
    /// A reader buffering at most `capacity` items (at least 1), whose timestamp 0 is track
    /// time `origin`; `waits`: a pushed track waits for room instead of dropping the oldest.
    /// Made by `Track::attach_reader`.
    pub(crate) fn new(capacity: usize, waits: bool, origin: i64) -> Arc<Reader> {
        Arc::new(Reader {
            state: Mutex::new(State { queue: VecDeque::new(), ended: false }),
            changed: Condvar::new(),
            capacity: capacity.max(1),
            waits,
            origin,
            stats: ReaderStats::default(),
        })
    }

    fn offer(&self, item: Item) {
        let mut s = self.state.lock();
        if s.ended {
            return;
        }
        // A pushed source waited for room first; one that could not wait (the delivery
        // thread) loses the oldest like a live one, so memory stays bounded either way.
        while s.queue.len() >= self.capacity {
            if let Some(old) = s.queue.pop_front() {
                self.stats.dropped.fetch_add(1, Relaxed);
                self.stats.dropped_frames.fetch_add(old.frames(), Relaxed);
            }
        }
        s.queue.push_back(item);
        drop(s);
        self.changed.notify_all();
    }

    /// Ends the reader: what is buffered is still read, then [`Read::Ended`].
    pub fn end(&self) {
        self.state.lock().ended = true;
        self.changed.notify_all();
    }

    /// Ends the reader and frees its buffer.
    pub fn close(&self) {
        let mut s = self.state.lock();
        s.ended = true;
        s.queue.clear();
        drop(s);
        self.changed.notify_all();
    }

    pub fn buffered(&self) -> usize {
        self.state.lock().queue.len()
    }

    /// Waits until this reader has room or `gone()`; false if the wait was interrupted.
    fn wait_room(&self, gone: &dyn Fn() -> bool) -> bool {
        let mut s = self.state.lock();
        while !s.ended && s.queue.len() >= self.capacity && !gone() {
            if wait::never_waits() {
                return true;
            }
            self.changed.wait_for(&mut s, wait::CHECK_EVERY);
            if MutexGuard::unlocked(&mut s, wait::should_give_up) {
                return false;
            }
        }
        true
    }

    /// The next item, waiting up to `timeout` (None: until one comes or the track ends).
    pub fn read(&self, timeout: Option<Duration>) -> Read {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut s = self.state.lock();
        loop {
            if let Some(item) = s.queue.pop_front() {
                drop(s);
                self.changed.notify_all();
                self.stats.delivered.fetch_add(1, Relaxed);
                let us = (item.time() - self.origin).div_euclid(1_000);
                return Read::Item(item, us);
            }
            if s.ended {
                return Read::Ended;
            }
            let now = Instant::now();
            let step = match deadline {
                Some(d) if d <= now => return Read::Timeout,
                Some(d) => (d - now).min(wait::CHECK_EVERY),
                None => wait::CHECK_EVERY,
            };
            self.changed.wait_for(&mut s, step);
            // Not under the lock: the check takes the GIL, which another Python thread may
            // keep for seconds, and the source must go on filling the buffer meanwhile.
            if MutexGuard::unlocked(&mut s, wait::should_give_up) {
                return Read::Interrupted;
            }
        }
    }
}

/// A track's readers, held weakly.
#[derive(Default)]
pub struct Taps {
    readers: Mutex<Vec<Weak<Reader>>>,
    ended: std::sync::atomic::AtomicBool,
}

impl Taps {
    pub(crate) fn add(&self, r: &Arc<Reader>) -> bool {
        let mut readers = self.readers.lock();
        if self.ended.load(Relaxed) {
            return false;
        }
        readers.retain(|w| w.strong_count() > 0);
        readers.push(Arc::downgrade(r));
        true
    }

    fn live(&self) -> Vec<Arc<Reader>> {
        let mut readers = self.readers.lock();
        if readers.is_empty() {
            return Vec::new();
        }
        readers.retain(|w| w.strong_count() > 0);
        readers.iter().filter_map(Weak::upgrade).collect()
    }

    pub(crate) fn audio(&self, block: &AudioBlock) {
        for r in self.live() {
            r.offer(Item::Audio(block.clone()));
        }
    }

    pub(crate) fn video(&self, frame: &Arc<VideoFrame>) {
        for r in self.live() {
            r.offer(Item::Video(frame.clone()));
        }
    }

    pub(crate) fn end(&self) {
        let readers = {
            let mut readers = self.readers.lock();
            self.ended.store(true, Relaxed);
            std::mem::take(&mut *readers)
        };
        for r in readers.iter().filter_map(Weak::upgrade) {
            r.end();
        }
    }

    /// Waits until every reader that waits (a pushed track's) has room; false if interrupted.
    pub(crate) fn wait_room(&self, gone: &dyn Fn() -> bool) -> bool {
        self.live().iter().filter(|r| r.waits).all(|r| r.wait_room(gone))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::media::{TrackKind, TrackSettings};
    use crate::core::track::{Track, TrackClock};

    fn track(clock: TrackClock) -> Arc<Track> {
        let settings =
            TrackSettings { sample_rate: Some(1000), channel_count: Some(1), ..Default::default() };
        Track::new(TrackKind::Audio, "t", settings, clock)
    }

    fn block(time: i64, n: usize) -> AudioBlock {
        AudioBlock { sample_rate: 1000, channels: 1, time, samples: vec![0.5; n] }
    }

    #[test]
    fn live_readers_drop_the_oldest_and_count_it() {
        let t = track(TrackClock::Live);
        let r = t.attach_reader(2);
        for i in 0..5 {
            t.readers().audio(&block(r.origin + i * 10_000_000, 10));
        }
        assert_eq!(r.stats.dropped.load(Relaxed), 3);
        assert_eq!(r.stats.dropped_frames.load(Relaxed), 30);
        let Read::Item(_, us) = r.read(Some(Duration::ZERO)) else { panic!("no item") };
        assert_eq!(us, 30_000);
        t.end();
        assert!(matches!(r.read(None), Read::Item(_, 40_000)));
        assert!(matches!(r.read(None), Read::Ended));
    }

    #[test]
    fn an_unreferenced_reader_is_forgotten() {
        let t = track(TrackClock::Pushed);
        let r = t.attach_reader(4);
        let weak = Arc::downgrade(&r);
        drop(r);
        t.readers().audio(&block(0, 10));
        assert!(weak.upgrade().is_none());
        assert!(t.readers().readers.lock().is_empty());
    }

    #[test]
    fn read_times_out() {
        let t = track(TrackClock::Pushed);
        let r = t.attach_reader(4);
        assert!(matches!(r.read(Some(Duration::from_millis(20))), Read::Timeout));
    }
}
