//! The upload task of one object (`store.rs`): parts as the stream grows, the header part
//! patched and put last, the object completed, and an MP4 rewritten to faststart.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use object_store::multipart::PartId;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use tokio::sync::mpsc;

use super::{with_causes, Message, Shared, Store, FINAL_ATTEMPTS, PART};
use crate::core::sink::target::Finishing;
use crate::core::Result;

pub(super) struct Upload {
    pub store: Arc<dyn Store>,
    pub path: StorePath,
    /// Part 1, held until the end to be patched.
    pub head: Vec<u8>,
    /// Bytes after the head not yet uploaded.
    pub tail: Vec<u8>,
    /// Parts 2.. uploaded so far.
    pub parts: Vec<PartId>,
    pub shared: Arc<Shared>,
}

/// A refusal that retrying cannot mend.
fn permanent(e: &object_store::Error) -> bool {
    use object_store::Error as E;
    matches!(
        e,
        E::NotFound { .. }
            | E::PermissionDenied { .. }
            | E::Unauthenticated { .. }
            | E::NotSupported { .. }
            | E::NotImplemented { .. }
            | E::InvalidPath { .. }
    )
}

impl Upload {
    pub async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Message>) {
        while let Some(message) = rx.recv().await {
            match message {
                Message::Data(data) => {
                    if self.shared.failed.lock().is_some() {
                        self.shared.pending.sub(data.len());
                        continue;
                    }
                    let room = PART.saturating_sub(self.head.len()).min(data.len());
                    self.head.extend_from_slice(&data[..room]);
                    self.tail.extend_from_slice(&data[room..]);
                    while self.tail.len() >= PART && self.shared.failed.lock().is_none() {
                        let part: Vec<u8> = self.tail.drain(..PART).collect();
                        if let Err(e) = self.put_part(part).await {
                            let _ = self.shared.fail("a part failed", with_causes(&e));
                        }
                    }
                }
                Message::Finish(finishing, written, done) => {
                    let failed = self.shared.failed.lock().clone();
                    let r = match failed {
                        Some(e) => Err(e),
                        None => self.finish(finishing, written).await,
                    };
                    if r.is_err() {
                        self.abort().await;
                    }
                    let _ = done.send(r);
                    return;
                }
            }
        }
        // The session went away without finishing (abandoned): leave no upload open.
        self.abort().await;
    }

    async fn abort(&mut self) {
        let id = self.shared.id.lock().take();
        if let Some(id) = id {
            let _ = self.store.abort_multipart(&self.path, &id).await;
        }
    }

    /// Runs `op` until it succeeds, a refusal is permanent, the recording gave up on the store,
    /// or (once `stop` waits) [`FINAL_ATTEMPTS`] more attempts failed.
    async fn retry<T, F, Fut>(&self, mut op: F) -> object_store::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = object_store::Result<T>>,
    {
        let mut backoff = Duration::from_millis(250);
        let mut final_attempts = 0;
        loop {
            match op().await {
                Ok(v) => {
                    self.shared.progress.fetch_add(1, Ordering::AcqRel);
                    return Ok(v);
                }
                Err(e) => {
                    if self.shared.finishing.load(Ordering::Acquire) {
                        final_attempts += 1;
                    }
                    if permanent(&e)
                        || final_attempts > FINAL_ATTEMPTS
                        || self.shared.abandoned.load(Ordering::Acquire)
                    {
                        return Err(e);
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(4));
                }
            }
        }
    }

    async fn put_part(&mut self, part: Vec<u8>) -> object_store::Result<()> {
        let (store, path) = (self.store.clone(), self.path.clone());
        let started = self.shared.id.lock().clone();
        let id = match started {
            Some(id) => id,
            None => {
                let id = self.retry(|| store.create_multipart(&path)).await?;
                *self.shared.id.lock() = Some(id.clone());
                id
            }
        };
        let index = self.parts.len() + 1;
        let len = part.len();
        let payload = PutPayload::from(part);
        let part_id = self.retry(|| store.put_part(&path, &id, index, payload.clone())).await?;
        self.parts.push(part_id);
        self.shared.pending.sub(len);
        Ok(())
    }

    /// Finishes the object; returns its size. An MP4 becomes faststart as a local file does:
    /// in memory when it is a single put, else the fragmented object is completed first (a
    /// valid file, kept if anything after fails), read back, rewritten and put over itself.
    async fn finish(&mut self, finishing: Finishing, written: u64) -> Result<u64> {
        let faststart = matches!(finishing, Finishing::Faststart);
        if let Finishing::Patches(patches) = finishing {
            for (offset, bytes) in &patches.0 {
                let at = *offset as usize;
                // Header patches fall in the first part by construction (a header is far
                // smaller than a part); anything else would be a muxer bug, reported as such.
                let Some(slot) = self.head.get_mut(at..at + bytes.len()) else {
                    return Err(self.shared.fail("a patch", "lies beyond the first part"));
                };
                slot.copy_from_slice(bytes);
            }
        }
        let (store, path) = (self.store.clone(), self.path.clone());
        let started = self.shared.id.lock().clone();
        if started.is_none() && self.tail.is_empty() {
            let mut head = std::mem::take(&mut self.head);
            if faststart {
                head = crate::core::mux::matroska::seekable::make_seekable(&head)?;
            }
            let size = head.len() as u64;
            let head = PutPayload::from(head);
            return self
                .retry(|| store.put_opts(&path, head.clone(), Default::default()))
                .await
                .map(|_| size)
                .map_err(|e| self.shared.fail("put", with_causes(&e)));
        }
        let head = PutPayload::from(std::mem::take(&mut self.head));
        if !self.tail.is_empty() {
            let last = std::mem::take(&mut self.tail);
            self.put_part(last)
                .await
                .map_err(|e| self.shared.fail("the last part", with_causes(&e)))?;
        }
        let id = self.shared.id.lock().clone().unwrap_or_default();
        let first = self
            .retry(|| store.put_part(&path, &id, 0, head.clone()))
            .await
            .map_err(|e| self.shared.fail("the first part", with_causes(&e)))?;
        let mut parts = vec![first];
        parts.append(&mut self.parts);
        self.retry(|| store.complete_multipart(&path, &id, parts.clone()))
            .await
            .map_err(|e| self.shared.fail("completing the upload", with_causes(&e)))?;
        *self.shared.id.lock() = None;
        if faststart {
            return self.rewrite_faststart().await;
        }
        Ok(written)
    }

    async fn rewrite_faststart(&self) -> Result<u64> {
        let (store, path) = (self.store.clone(), self.path.clone());
        let fragmented = self
            .retry(|| async { store.get_opts(&path, Default::default()).await?.bytes().await })
            .await
            .map_err(|e| self.shared.fail("reading it back for faststart", with_causes(&e)))?;
        // Rewriting is CPU work: off the runtime's two workers, which serve every upload.
        let rewrite = move || crate::core::mux::matroska::seekable::make_seekable(&fragmented);
        let out = tokio::task::spawn_blocking(rewrite)
            .await
            .map_err(|e| self.shared.fail("faststart", e))??;
        let size = out.len() as u64;
        let upload = self
            .retry(|| store.put_multipart_opts(&path, Default::default()))
            .await
            .map_err(|e| self.shared.fail("the faststart object", with_causes(&e)))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        writer.put(out.into());
        writer
            .finish()
            .await
            .map_err(|e| self.shared.fail("the faststart object", with_causes(&e)))?;
        self.shared.progress.fetch_add(1, Ordering::AcqRel);
        Ok(size)
    }
}
