//! A destination the session must never wait for (a Python file object): its bytes go to a
//! writer thread of its own through an unbounded queue whose bytes are counted. Past
//! [`QUEUE_LIMIT`] undelivered bytes the recording ends with an error rather than wait (the
//! session thread encodes live media) or grow without bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crossbeam_channel::Sender;
use parking_lot::Mutex;

use crate::core::error::TargetFailure;
use crate::core::mux::webm::Patches;
use crate::core::sink::target::{Finishing, Target};
use crate::core::{Error, Result};

/// Bytes handed to a writer and not yet written, before the recording gives up on it.
pub const QUEUE_LIMIT: usize = 64 << 20;

/// What the embedder provides: blocking writes, run on the writer thread only.
pub trait ByteWriter: Send + 'static {
    fn write(&mut self, data: &[u8]) -> Result<()>;
    /// Writes `patches` at stream offsets, if the destination can seek; then makes what was
    /// written durable (flush). A destination that cannot seek only flushes.
    fn finish(&mut self, patches: Option<&Patches>) -> Result<()>;
    /// Names the destination in error messages.
    fn describe(&self) -> String;
}

enum Message {
    Data(Vec<u8>),
    Finish(Finishing, Sender<Result<()>>),
}

pub struct Queued {
    tx: Sender<Message>,
    pending: Arc<AtomicUsize>,
    failed: Arc<Mutex<Option<Error>>>,
    written: u64,
    name: String,
}

impl Queued {
    pub fn spawn(mut writer: Box<dyn ByteWriter>) -> Result<Self> {
        let (tx, rx) = crossbeam_channel::unbounded::<Message>();
        let pending = Arc::new(AtomicUsize::new(0));
        let failed: Arc<Mutex<Option<Error>>> = Arc::default();
        let name = writer.describe();
        let (p, f) = (pending.clone(), failed.clone());
        std::thread::Builder::new()
            .name("mediarecorder-writer".into())
            .spawn(move || {
                for message in rx {
                    match message {
                        Message::Data(data) => {
                            // After a failure nothing more is written; bytes are still counted off.
                            if f.lock().is_none() {
                                if let Err(e) = writer.write(&data) {
                                    *f.lock() = Some(e);
                                }
                            }
                            p.fetch_sub(data.len(), Ordering::AcqRel);
                        }
                        Message::Finish(finishing, done) => {
                            let failed = f.lock().clone();
                            let result = match failed {
                                Some(e) => Err(e),
                                None => writer.finish(match &finishing {
                                    Finishing::Patches(patches) => Some(patches),
                                    Finishing::Nothing | Finishing::Faststart => None,
                                }),
                            };
                            let _ = done.send(result);
                            return;
                        }
                    }
                }
            })
            .map_err(|e| Error::Unknown(format!("cannot start the writer thread: {e}")))?;
        Ok(Queued { tx, pending, failed, written: 0, name })
    }
}

impl Target for Queued {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        if let Some(e) = self.failed.lock().clone() {
            return Err(e);
        }
        let queued = self.pending.fetch_add(data.len(), Ordering::AcqRel) + data.len();
        if queued > QUEUE_LIMIT {
            let e = Error::Target(TargetFailure::new(format!(
                "file: {} fell more than {} MiB behind the recording",
                self.name,
                QUEUE_LIMIT >> 20
            )));
            *self.failed.lock() = Some(e.clone());
            return Err(e);
        }
        self.written += data.len() as u64;
        self.tx
            .send(Message::Data(data.to_vec()))
            .map_err(|_| Error::Unknown("the writer thread is gone".into()))
    }

    fn finish(self: Box<Self>, finishing: Finishing) -> Result<u64> {
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        self.tx
            .send(Message::Finish(finishing, done_tx))
            .map_err(|_| Error::Unknown("the writer thread is gone".into()))?;
        match done_rx.recv() {
            Ok(result) => result.map(|()| self.written),
            Err(_) => Err(Error::Unknown("the writer thread is gone".into())),
        }
    }
}
