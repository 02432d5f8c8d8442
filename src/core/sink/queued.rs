//! A destination the session must never wait for (a Python file object): its bytes go to a
//! writer thread of its own through an unbounded queue whose bytes are counted. Past
//! [`QUEUE_LIMIT`] undelivered bytes the recording ends with an error rather than wait (the
//! session thread encodes live media) or grow without bound. A writer call that has not
//! returned for the stall timeout (and [`GRACE`]) ends it too, at the next chunk or at the
//! end: `stop` never waits longer than that for a writer that makes no progress.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use parking_lot::Mutex;

use crate::core::error::{Stalled, TargetFailure};
use crate::core::mux::Patches;
use crate::core::sink::destination::{seconds, STALL_TIMEOUT_KEY};
use crate::core::sink::target::{Finishing, PendingFinish, Target};
use crate::core::{Error, Result};

/// Bytes handed to a writer and not yet written, before the recording gives up on it.
pub const QUEUE_LIMIT: usize = 64 << 20;
/// Time given a writer call beyond the stall timeout before the session gives up on it: a
/// writer that sees its own lack of progress (a write taking nothing) reports it first.
pub const GRACE: Duration = Duration::from_secs(1);

/// What the embedder provides: blocking writes, run on the writer thread only.
pub trait ByteWriter: Send + 'static {
    /// Writes all of `data`; a destination that takes nothing for `stall` is an error.
    fn write(&mut self, data: &[u8], stall: Duration) -> Result<()>;
    /// Writes `patches` at stream offsets, if the destination can seek; then makes what was
    /// written durable (flush). A destination that cannot seek only flushes.
    fn finish(&mut self, patches: Option<&Patches>, stall: Duration) -> Result<()>;
    /// Names the destination in error messages.
    fn describe(&self) -> String;
}

enum Message {
    Data(Vec<u8>),
    Finish(Finishing, u64, Sender<Result<u64>>),
}

/// The writer call under way, if any, and since when: a call that does not return is seen
/// from the session thread.
#[derive(Default)]
struct Busy {
    call: Mutex<Option<(&'static str, Instant)>>,
    /// Calls that returned: progress, for the wait at the end.
    returned: Arc<AtomicU64>,
}

impl Busy {
    fn run<T>(&self, method: &'static str, f: impl FnOnce() -> T) -> T {
        *self.call.lock() = Some((method, Instant::now()));
        let out = f();
        *self.call.lock() = None;
        self.returned.fetch_add(1, Ordering::AcqRel);
        out
    }

    /// The error for a call that has not returned within `stall`, if one has not.
    fn stalled(&self, name: &str, stall: Duration) -> Option<Error> {
        let (method, since) = (*self.call.lock())?;
        (since.elapsed() >= stall + GRACE).then(|| stalled_error(name, method, stall))
    }
}

fn stalled_error(name: &str, method: &str, stall: Duration) -> Error {
    Error::Target(TargetFailure::stalled(
        format!(
            "file: {name}.{method}() has not returned in {} ({STALL_TIMEOUT_KEY})",
            seconds(stall)
        ),
        Stalled::TimedOut,
    ))
}

pub struct Queued {
    tx: Sender<Message>,
    pending: Arc<AtomicUsize>,
    failed: Arc<Mutex<Option<Error>>>,
    busy: Arc<Busy>,
    written: u64,
    name: String,
    stall: Duration,
}

impl Queued {
    pub fn spawn(mut writer: Box<dyn ByteWriter>, stall: Duration) -> Result<Self> {
        let (tx, rx) = crossbeam_channel::unbounded::<Message>();
        let pending = Arc::new(AtomicUsize::new(0));
        let failed: Arc<Mutex<Option<Error>>> = Arc::default();
        let busy: Arc<Busy> = Arc::default();
        let name = writer.describe();
        let (p, f, b) = (pending.clone(), failed.clone(), busy.clone());
        std::thread::Builder::new()
            .name("mediarecorder-writer".into())
            .spawn(move || {
                for message in rx {
                    match message {
                        Message::Data(data) => {
                            // After a failure nothing more is written; bytes are still counted off.
                            if f.lock().is_none() {
                                if let Err(e) = b.run("write", || writer.write(&data, stall)) {
                                    f.lock().get_or_insert(e);
                                }
                            }
                            p.fetch_sub(data.len(), Ordering::AcqRel);
                        }
                        Message::Finish(finishing, written, done) => {
                            let failed = f.lock().clone();
                            let result = match failed {
                                Some(e) => Err(e),
                                None => b.run("flush", || {
                                    writer.finish(
                                        match &finishing {
                                            Finishing::Patches(patches) => Some(patches),
                                            Finishing::Nothing | Finishing::Faststart => None,
                                        },
                                        stall,
                                    )
                                }),
                            };
                            let _ = done.send(result.map(|()| written));
                            return;
                        }
                    }
                }
            })
            .map_err(|e| Error::Unknown(format!("cannot start the writer thread: {e}")))?;
        Ok(Queued { tx, pending, failed, busy, written: 0, name, stall })
    }

    fn fail(&self, e: Error) -> Error {
        self.failed.lock().get_or_insert(e).clone()
    }
}

impl Target for Queued {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        if let Some(e) = self.failed.lock().clone() {
            return Err(e);
        }
        if let Some(e) = self.busy.stalled(&self.name, self.stall) {
            return Err(self.fail(e));
        }
        let queued = self.pending.fetch_add(data.len(), Ordering::AcqRel) + data.len();
        if queued > QUEUE_LIMIT {
            return Err(self.fail(Error::Target(TargetFailure::new(format!(
                "file: {} fell more than {} MiB behind the recording",
                self.name,
                QUEUE_LIMIT >> 20
            )))));
        }
        self.written += data.len() as u64;
        self.tx
            .send(Message::Data(data.to_vec()))
            .map_err(|_| Error::Unknown("the writer thread is gone".into()))
    }

    fn finish(self: Box<Self>, finishing: Finishing) -> Result<u64> {
        self.finish_later(finishing).wait()
    }

    /// Waits while the writer makes progress (its calls return), and gives up once a call
    /// has not returned for the stall timeout: the thread is left to it, the recording ends.
    fn finish_later(self: Box<Self>, finishing: Finishing) -> PendingFinish {
        let gone = Error::Unknown("the writer thread is gone".into());
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        if self.tx.send(Message::Finish(finishing, self.written, done_tx)).is_err() {
            return PendingFinish::done(Err(gone));
        }
        let Queued { busy, name, stall, failed, .. } = *self;
        let progress = busy.returned.clone();
        let on_timeout = Box::new(move || {
            let method = busy.call.lock().map_or("write", |(m, _)| m);
            failed.lock().get_or_insert(stalled_error(&name, method, stall)).clone()
        });
        PendingFinish::new(done_rx, stall + GRACE, on_timeout, gone).while_progressing(progress)
    }
}
