//! Where a recording goes: one interface for the session, whatever the destination.

use crate::core::Result;

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
    /// Gives up (the recording failed elsewhere): stops uploading what is pending and
    /// leaves what was written as it is. Must not wait long.
    fn abandon(self: Box<Self>) {}
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
