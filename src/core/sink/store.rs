//! Object storage (S3, GCS, Azure, memory) through the `object_store` crate: the stream goes
//! up as a multipart upload from one small tokio runtime of the library, never holding the
//! GIL. The first part (the header through the first [`PART`] bytes) stays in memory until the
//! end, so that the header patches (Duration, SeekHead, sizes) are applied to it before it is
//! uploaded as part 1: at `stop` the object is a finished, seekable file. A recording shorter
//! than one part is a single put at the end.
//!
//! Failures: each request is retried by the client ([`retry_config`]); a part that still fails
//! is kept and retried with backoff as long as the bytes not yet uploaded stay under
//! [`BUFFER_LIMIT`]; past it, or on a refusal that no retry can mend (no such bucket, access
//! denied), the recording ends with an error naming the URL. The chunks still reach
//! `dataavailable` either way.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as StorePath;
use object_store::{
    BackoffConfig, MultipartId, ObjectStore, ObjectStoreScheme, PutPayload, RetryConfig,
};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::core::error::TargetFailure;
use crate::core::sink::file::FileTarget;
use crate::core::sink::target::{Finishing, Target};
use crate::core::{Error, Result};

/// Size of every part but the last: S3's minimum.
pub const PART: usize = 5 << 20;
/// Bytes not yet uploaded before the recording gives up on the store.
pub const BUFFER_LIMIT: usize = 64 << 20;
/// Extra attempts at the end, after the client's own retries, before `stop` reports failure.
const FINAL_ATTEMPTS: u32 = 2;

trait Store: ObjectStore + MultipartStore {}
impl<T: ObjectStore + MultipartStore> Store for T {}

/// One runtime for every upload of the process, created on first use; two workers are plenty
/// for many recorders (the work is waiting on sockets).
fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("mediarecorder-upload")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Unknown(format!("cannot start the upload runtime: {e}")))
}

/// The client's own retries: short, so that our bounded buffer decides when to give up.
fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            base: 2.0,
        },
        max_retries: 2,
        retry_timeout: Duration::from_secs(10),
    }
}

/// True for a URL this module handles (anything with a scheme `object_store` knows).
pub fn is_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| ObjectStoreScheme::parse(&u).is_ok())
}

fn bad_option(key: &str, store: &str) -> Error {
    Error::InvalidValue(format!(
        "storage_options: {key:?} is not an option of {store} (expected object_store's \
         configuration keys, e.g. aws_endpoint, aws_access_key_id, aws_region, aws_allow_http)"
    ))
}

/// Opens `url` for writing: credentials and endpoint from the environment (`AWS_*`,
/// `GOOGLE_*`, `AZURE_*`, as the stores' own tools read them), overridden by `options`.
pub fn open(url: &str, options: &[(String, String)]) -> Result<Box<dyn Target>> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Error::InvalidValue(format!("file: {url:?} is not a valid URL: {e}")))?;
    let (scheme, path) = ObjectStoreScheme::parse(&parsed).map_err(|e| {
        Error::InvalidValue(format!("file: {url:?} is not an object store URL: {e}"))
    })?;
    let invalid =
        |e: object_store::Error| Error::InvalidValue(format!("file: cannot write to {url:?}: {e}"));
    // reqwest is built without a TLS provider of its own (Cargo.toml: ring, not aws-lc); it
    // takes rustls' process default. That default is this extension's own copy of rustls, so
    // installing it affects nothing outside us; an error only means it is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let store: Arc<dyn Store> = match scheme {
        ObjectStoreScheme::Local => {
            let local = parsed
                .to_file_path()
                .map_err(|()| Error::InvalidValue(format!("file: {url:?} is not a local path")))?;
            return Ok(Box::new(FileTarget::create(&local)?));
        }
        ObjectStoreScheme::Memory => Arc::new(object_store::memory::InMemory::new()),
        ObjectStoreScheme::AmazonS3 => {
            use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
            let mut b = AmazonS3Builder::from_env().with_url(url).with_retry(retry_config());
            for (k, v) in options {
                let key: AmazonS3ConfigKey = k.parse().map_err(|_| bad_option(k, "S3"))?;
                b = b.with_config(key, v);
            }
            Arc::new(b.build().map_err(invalid)?)
        }
        ObjectStoreScheme::GoogleCloudStorage => {
            use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
            let mut b =
                GoogleCloudStorageBuilder::from_env().with_url(url).with_retry(retry_config());
            for (k, v) in options {
                let key: GoogleConfigKey = k.parse().map_err(|_| bad_option(k, "GCS"))?;
                b = b.with_config(key, v);
            }
            Arc::new(b.build().map_err(invalid)?)
        }
        ObjectStoreScheme::MicrosoftAzure => {
            use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
            let mut b = MicrosoftAzureBuilder::from_env().with_url(url).with_retry(retry_config());
            for (k, v) in options {
                let key: AzureConfigKey = k.parse().map_err(|_| bad_option(k, "Azure"))?;
                b = b.with_config(key, v);
            }
            Arc::new(b.build().map_err(invalid)?)
        }
        other => {
            return Err(Error::InvalidValue(format!(
                "file: {url:?}: {other:?} stores cannot be written to (expected s3://, gs://, \
                 az://, file:// or memory://)"
            )))
        }
    };
    let path = StorePath::parse(path.as_ref())
        .map_err(|e| Error::InvalidValue(format!("file: {url:?} has no valid object path: {e}")))?;
    let runtime = runtime()?;
    let shared = Arc::new(Shared {
        pending: AtomicUsize::new(0),
        failed: Mutex::new(None),
        finishing: AtomicBool::new(false),
        abandoned: AtomicBool::new(false),
        url: url.to_string(),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let upload = Upload {
        store,
        path,
        head: Vec::with_capacity(PART),
        tail: Vec::new(),
        id: None,
        parts: Vec::new(),
        shared: shared.clone(),
    };
    runtime.spawn(upload.run(rx));
    Ok(Box::new(StoreTarget { tx, shared, written: 0 }))
}

struct Shared {
    /// Bytes given to the upload and not yet uploaded.
    pending: AtomicUsize,
    failed: Mutex<Option<Error>>,
    /// `stop` waits: retries are bounded from now on.
    finishing: AtomicBool,
    abandoned: AtomicBool,
    url: String,
}

/// The error with its causes: object_store's own text ends at "error sending request", and
/// what went wrong (refused, a certificate no one trusts, a timeout) is further down the chain.
/// A cause already quoted by the text before it is left out.
fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let part = c.to_string();
        if !text.contains(&part) {
            text = format!("{text}: {part}");
        }
        cause = c.source();
    }
    text
}

impl Shared {
    fn fail(&self, what: &str, e: impl std::fmt::Display) -> Error {
        let error = Error::Target(TargetFailure::new(format!(
            "cannot upload the recording to {}: {what}: {e}",
            self.url
        )));
        self.failed.lock().get_or_insert(error.clone());
        error
    }
}

enum Message {
    Data(Vec<u8>),
    Finish(Finishing, std::sync::mpsc::SyncSender<Result<()>>),
}

struct StoreTarget {
    tx: mpsc::UnboundedSender<Message>,
    shared: Arc<Shared>,
    written: u64,
}

impl Target for StoreTarget {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        if let Some(e) = self.shared.failed.lock().clone() {
            return Err(e);
        }
        let pending = self.shared.pending.fetch_add(data.len(), Ordering::AcqRel) + data.len();
        if pending > BUFFER_LIMIT {
            self.shared.abandoned.store(true, Ordering::Release);
            return Err(self.shared.fail(
                "the store has not taken the recording",
                format_args!("{} MiB are waiting, the limit", BUFFER_LIMIT >> 20),
            ));
        }
        self.written += data.len() as u64;
        self.tx
            .send(Message::Data(data.to_vec()))
            .map_err(|_| self.shared.fail("the upload ended", "no more data taken"))
    }

    fn finish(self: Box<Self>, finishing: Finishing) -> Result<u64> {
        self.shared.finishing.store(true, Ordering::Release);
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
        if self.tx.send(Message::Finish(finishing, done_tx)).is_err() {
            return Err(self.shared.fail("the upload ended", "before the recording"));
        }
        match done_rx.recv() {
            Ok(r) => r.map(|()| self.written),
            Err(_) => Err(self.shared.fail("the upload ended", "before the recording")),
        }
    }

    fn abandon(self: Box<Self>) {
        self.shared.abandoned.store(true, Ordering::Release);
    }
}

struct Upload {
    store: Arc<dyn Store>,
    path: StorePath,
    /// Part 1, held until the end to be patched.
    head: Vec<u8>,
    /// Bytes after the head not yet uploaded.
    tail: Vec<u8>,
    id: Option<MultipartId>,
    /// Parts 2.. uploaded so far.
    parts: Vec<PartId>,
    shared: Arc<Shared>,
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
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Message>) {
        while let Some(message) = rx.recv().await {
            match message {
                Message::Data(data) => {
                    if self.shared.failed.lock().is_some() {
                        self.shared.pending.fetch_sub(data.len(), Ordering::AcqRel);
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
                Message::Finish(finishing, done) => {
                    let failed = self.shared.failed.lock().clone();
                    let r = match failed {
                        Some(e) => Err(e),
                        None => self.finish(finishing).await,
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
        if let Some(id) = self.id.take() {
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
                Ok(v) => return Ok(v),
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
        if self.id.is_none() {
            self.id = Some(self.retry(|| store.create_multipart(&path)).await?);
        }
        let id = self.id.clone().unwrap_or_default();
        let index = self.parts.len() + 1;
        let len = part.len();
        let payload = PutPayload::from(part);
        let part_id = self.retry(|| store.put_part(&path, &id, index, payload.clone())).await?;
        self.parts.push(part_id);
        self.shared.pending.fetch_sub(len, Ordering::AcqRel);
        Ok(())
    }

    async fn finish(&mut self, finishing: Finishing) -> Result<()> {
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
        let head = PutPayload::from(std::mem::take(&mut self.head));
        if self.id.is_none() && self.tail.is_empty() {
            return self
                .retry(|| store.put_opts(&path, head.clone(), Default::default()))
                .await
                .map(|_| ())
                .map_err(|e| self.shared.fail("put", with_causes(&e)));
        }
        if !self.tail.is_empty() {
            let last = std::mem::take(&mut self.tail);
            self.put_part(last)
                .await
                .map_err(|e| self.shared.fail("the last part", with_causes(&e)))?;
        }
        let id = self.id.clone().unwrap_or_default();
        let first = self
            .retry(|| store.put_part(&path, &id, 0, head.clone()))
            .await
            .map_err(|e| self.shared.fail("the first part", with_causes(&e)))?;
        let mut parts = vec![first];
        parts.append(&mut self.parts);
        self.retry(|| store.complete_multipart(&path, &id, parts.clone()))
            .await
            .map_err(|e| self.shared.fail("completing the upload", with_causes(&e)))?;
        self.id = None;
        Ok(())
    }
}
