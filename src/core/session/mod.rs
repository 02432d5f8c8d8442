//! A recording session: one `start()` to its `stop` event. Its inbox (`inbox.rs`) takes media
//! and commands in the order the caller issued them; its thread (`pipeline.rs`) encodes,
//! interleaves, muxes and cuts blobs, and posts back what happened ([`Posted`]) through an
//! [`Outbox`]. The session knows nothing of the recorder above it: the recorder gives it an
//! outbox and turns what is posted into the spec's tasks.

mod budget;
mod cutter;
mod inbox;
mod mixing;
mod pipeline;
mod segments;

use std::sync::Arc;

pub use budget::{Budget, BudgetGuard};
pub(crate) use inbox::{session_queues, Command, Control, SessionInput};
pub(crate) use mixing::mixed_plan;
pub(crate) use pipeline::{spawn, stream_params, SessionConfig, TrackPlan, FROM_FIRST};
pub use segments::SegmentDone;

use crate::core::Error;

/// What a session reports, in order: `Start` (with its first media or first command),
/// any `Data`, `Pause`, `Resume`; at the end `Teardown` when it ended on its own (an error,
/// or every track ended), the last `Data`, then `Stop`.
#[derive(Debug)]
pub(crate) enum Posted {
    /// `codecs`: the full codecs parameter, where the container's type reports one built from
    /// the encoders' descriptions (MP4).
    Start {
        codecs: Option<String>,
    },
    /// A blob; `budget` holds its bytes against the recorder's budget until it is dropped.
    Data {
        data: Vec<u8>,
        timecode: f64,
        budget: BudgetGuard,
    },
    Pause,
    Resume,
    /// A segment file of a segmented recording was finished.
    Segment(SegmentDone),
    Teardown(Option<Error>),
    /// `media_ms`: media time recorded by the session.
    Stop {
        media_ms: f64,
    },
}

/// Where a session posts: a callback given by the recorder, and the budget its blobs count
/// against.
pub(crate) struct Outbox {
    post: Box<dyn Fn(Posted) + Send>,
    budget: Arc<Budget>,
}

impl Outbox {
    pub(crate) fn new(budget: Arc<Budget>, post: impl Fn(Posted) + Send + 'static) -> Self {
        Outbox { post: Box::new(post), budget }
    }

    pub(crate) fn post(&self, posted: Posted) {
        (self.post)(posted);
    }

    pub(crate) fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }
}
