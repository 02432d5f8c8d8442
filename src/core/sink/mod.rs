//! The destinations a recording is written to besides its blobs ([`Target`]: a local file, an
//! embedder's writer, an object store), and what `file=` names ([`open`], [`writer`]). The
//! blobs themselves are cut and budgeted by the session (`session/cutter.rs`, `budget.rs`).

pub mod destination;
pub mod file;
mod output;
pub mod queued;
pub mod store;
pub mod target;
mod template;

pub use destination::{Destination, StorageOptions};
pub use file::FileTarget;
pub use output::{open, writer};
pub use target::{
    Finishing, Opener, Output, PendingFinish, SegmentOpener, SegmentPlan, Target, MIN_SEGMENT_NS,
};
pub use template::Template;
