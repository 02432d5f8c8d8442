//! Where a recording goes: one interface for the session, whatever the destination.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};

use crate::core::{Error, Result};

/// How a muxer's finished stream becomes a finished file, handed to the target at the end
/// (the muxer's [`crate::core::mux::Finish`]). A target that cannot seek (a pipe, a socket)
/// keeps the live stream as it is; only a local regular file is rewritten to faststart MP4.
pub use crate::core::mux::Finish as Finishing;

/// A destination of the muxed byte stream. `write` runs on the session thread and must not
/// wait for anything slower than a buffered local write: a target that talks to something
/// slow (Python, the network) hands the bytes to a thread of its own and reports its failure
/// at a later `write` or at `finish`. `finish` may wait: the session has stopped taking media
/// and the `stop` event promises a finished file.
pub trait Target: Send {
    /// Appends the next bytes of the stream.
    fn write(&mut self, data: &[u8]) -> Result<()>;
    /// Ends the stream: applies `finishing` where the destination allows it, makes the
    /// result durable (flush, sync, complete the upload). Returns the bytes of the finished
    /// file.
    fn finish(self: Box<Self>, finishing: Finishing) -> Result<u64>;
    /// Ends the stream like [`Target::finish`] without waiting for it: a segment's end must
    /// not hold up the session (live media) while its upload completes. The result comes
    /// through the handle, within the destination's stall timeout.
    fn finish_later(self: Box<Self>, finishing: Finishing) -> PendingFinish {
        PendingFinish::done(self.finish(finishing))
    }
    /// Gives up (the recording failed elsewhere): stops uploading what is pending and
    /// leaves what was written as it is. Must not wait long.
    fn abandon(self: Box<Self>) {}
}

/// A finish under way on a thread of the destination's: its result (the finished file's
/// bytes), or, once its deadline has passed, the error `on_timeout` makes (which also gives
/// up on the destination).
pub struct PendingFinish {
    ready: Option<Result<u64>>,
    rx: Option<Receiver<Result<u64>>>,
    deadline: Instant,
    on_timeout: Option<Box<dyn FnOnce() -> Error + Send>>,
    /// The destination's thread ended without an answer.
    gone: Option<Error>,
    /// With a progress count, the deadline is `limit` after the last progress.
    progress: Option<(Arc<AtomicU64>, u64)>,
    limit: Duration,
}

impl PendingFinish {
    pub fn done(result: Result<u64>) -> Self {
        PendingFinish {
            ready: Some(result),
            rx: None,
            deadline: Instant::now(),
            on_timeout: None,
            gone: None,
            progress: None,
            limit: Duration::ZERO,
        }
    }

    pub fn new(
        rx: Receiver<Result<u64>>,
        limit: Duration,
        on_timeout: Box<dyn FnOnce() -> Error + Send>,
        gone: Error,
    ) -> Self {
        PendingFinish {
            ready: None,
            rx: Some(rx),
            deadline: Instant::now() + limit,
            on_timeout: Some(on_timeout),
            gone: Some(gone),
            progress: None,
            limit,
        }
    }

    /// Measures the limit from the last time `progress` went up rather than from now.
    pub fn while_progressing(mut self, progress: Arc<AtomicU64>) -> Self {
        let seen = progress.load(Ordering::Acquire);
        self.progress = Some((progress, seen));
        self
    }

    /// Whether the deadline has passed with no progress since it was set; moves it on when
    /// there was some.
    fn expired(&mut self) -> bool {
        let now = Instant::now();
        if now < self.deadline {
            return false;
        }
        if let Some((count, seen)) = &mut self.progress {
            let current = count.load(Ordering::Acquire);
            if current != *seen {
                *seen = current;
                self.deadline = now + self.limit;
                return false;
            }
        }
        true
    }

    /// The result, if there is one now.
    pub fn poll(&mut self) -> Option<Result<u64>> {
        if let Some(r) = self.ready.take() {
            return Some(r);
        }
        let rx = self.rx.as_ref()?;
        match rx.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) if !self.expired() => None,
            Err(TryRecvError::Empty) => Some(Err(self.timed_out())),
            Err(TryRecvError::Disconnected) => Some(Err(self.gone())),
        }
    }

    /// Waits for the result, until the deadline at most.
    pub fn wait(mut self) -> Result<u64> {
        if let Some(r) = self.ready.take() {
            return r;
        }
        let Some(rx) = self.rx.take() else { return Err(self.gone()) };
        loop {
            match rx.recv_deadline(self.deadline) {
                Ok(r) => return r,
                Err(RecvTimeoutError::Timeout) if !self.expired() => {}
                Err(RecvTimeoutError::Timeout) => return Err(self.timed_out()),
                Err(RecvTimeoutError::Disconnected) => return Err(self.gone()),
            }
        }
    }

    fn timed_out(&mut self) -> Error {
        self.rx = None;
        self.on_timeout.take().map_or_else(|| self.gone(), |f| f())
    }

    fn gone(&mut self) -> Error {
        self.rx = None;
        self.gone.take().unwrap_or_else(|| Error::Unknown("the destination was finished".into()))
    }
}

/// Opens a target when a recording starts (after the recorder's checks, so that a refused
/// `start` truncates no file).
pub type Opener = Box<dyn FnOnce() -> Result<Box<dyn Target>> + Send>;

/// A recording written as a series of independent files (`segment=` seconds): a new file
/// every `every_ns` of media, named by `template`, each opened by `open` from its name.
///
/// The first file is opened by `start()` ([`SegmentPlan::open_first`]), so that a template
/// that cannot be written (a missing folder) is refused there, as a plain path is.
/// `{start_time}` is the recording's start (UTC, to the millisecond) plus the segment's media
/// time: boundaries fall on whole milliseconds of media ([`MIN_SEGMENT_NS`]), so no two
/// segments of a recording share a name, however fast their media was written.
pub struct SegmentPlan {
    pub every_ns: i64,
    pub template: crate::core::sink::Template,
    pub open: SegmentOpener,
    /// The recording's start, UTC, truncated to the millisecond (ns).
    start_ms_ns: i64,
    first: Option<(String, Box<dyn Target>)>,
}

/// The shortest segment, 10 ms: segments are cut on whole milliseconds of media.
pub const MIN_SEGMENT_NS: i64 = 10_000_000;

impl SegmentPlan {
    /// `every_ns`: a whole number of milliseconds, at least [`MIN_SEGMENT_NS`] (the binding
    /// checks the argument).
    pub fn new(every_ns: i64, template: crate::core::sink::Template, open: SegmentOpener) -> Self {
        SegmentPlan { every_ns, template, open, start_ms_ns: 0, first: None }
    }

    /// Opens the first segment's file, now: the recording starts.
    pub fn open_first(&mut self) -> Result<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        self.start_ms_ns = now - now.rem_euclid(1_000_000);
        let name = self.name(0, 0);
        let target = (self.open)(&name)?;
        self.first = Some((name, target));
        Ok(())
    }

    /// The name of segment `index`, whose media starts at `media_ns` of the recording.
    pub fn name(&self, index: u64, media_ns: i64) -> String {
        let media_ms_ns = media_ns.max(0) - media_ns.max(0) % 1_000_000;
        self.template.format(index, self.start_ms_ns.saturating_add(media_ms_ns))
    }

    /// The first segment's file, if [`SegmentPlan::open_first`] opened it and it is unused.
    pub fn take_first(&mut self) -> Option<(String, Box<dyn Target>)> {
        self.first.take()
    }
}

/// Opens the target of a segment from its name.
pub type SegmentOpener = Box<dyn Fn(&str) -> Result<Box<dyn Target>> + Send>;

/// Where `start()` sends the recording besides the blobs.
pub enum Output {
    Target(Opener),
    Segments(SegmentPlan),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(limit_ms: u64) -> (crossbeam_channel::Sender<Result<u64>>, PendingFinish) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let on_timeout = Box::new(|| Error::Unknown("timed out".into()));
        let gone = Error::Unknown("gone".into());
        (tx, PendingFinish::new(rx, Duration::from_millis(limit_ms), on_timeout, gone))
    }

    #[test]
    fn a_finish_is_given_up_on_at_its_deadline_and_polled_without_waiting() {
        let (tx, mut p) = pending(50);
        assert!(p.poll().is_none());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(p.poll().unwrap(), Err(Error::Unknown("timed out".into())));
        drop(tx);
        let (tx, p) = pending(5_000);
        tx.send(Ok(7)).unwrap();
        assert_eq!(p.wait(), Ok(7));
        let (tx, p) = pending(5_000);
        drop(tx);
        assert_eq!(p.wait(), Err(Error::Unknown("gone".into())));
    }

    #[test]
    fn progress_moves_the_deadline_on() {
        let (tx, p) = pending(500);
        let progress = Arc::new(AtomicU64::new(0));
        let p = p.while_progressing(progress.clone());
        let start = Instant::now();
        let worker = std::thread::spawn(move || {
            for _ in 0..7 {
                std::thread::sleep(Duration::from_millis(100));
                progress.fetch_add(1, Ordering::AcqRel);
            }
            tx.send(Ok(1)).unwrap();
        });
        assert_eq!(p.wait(), Ok(1), "progress every 100 ms keeps a 500 ms limit from expiring");
        assert!(start.elapsed() > Duration::from_millis(500), "the answer came after the limit");
        worker.join().unwrap();
    }
}
