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
pub struct SegmentPlan {
    pub every_ns: i64,
    pub template: crate::core::sink::Template,
    pub open: SegmentOpener,
}

/// Opens the target of a segment from its name.
pub type SegmentOpener = Box<dyn Fn(&str) -> Result<Box<dyn Target>> + Send>;

/// Where `start()` sends the recording besides the blobs.
pub enum Output {
    Target(Opener),
    Segments(SegmentPlan),
}
