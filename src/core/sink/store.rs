//! Object storage (S3, GCS, Azure, memory) through the `object_store` crate: the stream goes
//! up as a multipart upload from one small tokio runtime of the library, never holding the
//! GIL. The first part (the header through the first [`PART`] bytes) stays in memory until the
//! end, so that the header patches (Duration, SeekHead, sizes) are applied to it before it is
//! uploaded as part 1: at `stop` the object is a finished, seekable file. A recording shorter
//! than one part is a single put at the end.
//!
//! Failures: each request is retried by the client ([`retry_config`]); a part that still fails
//! is kept and retried with backoff as long as the bytes not yet uploaded stay under
//! [`BUFFER_LIMIT`] (all uploads of one recording together: a segment finishing in the
//! background counts); past it, or on a refusal that no retry can mend (no such bucket, access
//! denied), the recording ends with an error naming the URL. Finishing an object (at `stop`,
//! or at a segment's end, off the session thread) that takes longer than the stall timeout is
//! given up on the same way. The chunks still reach `dataavailable` either way.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use object_store::multipart::MultipartStore;
use object_store::path::Path as StorePath;
use object_store::{BackoffConfig, MultipartId, ObjectStore, RetryConfig};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::core::error::{Stalled, TargetFailure};
use crate::core::sink::destination::{
    seconds, ObjectUrl, Scheme, StorageOptions, STALL_TIMEOUT_KEY,
};
use crate::core::sink::target::{Finishing, PendingFinish, Target};
use crate::core::{Error, Result};

pub mod read;
mod upload;
use upload::Upload;

/// Size of every part but the last: S3's minimum.
pub const PART: usize = 5 << 20;
/// Bytes not yet uploaded before the recording gives up on the store.
pub const BUFFER_LIMIT: usize = 64 << 20;
/// Extra attempts at the end, after the client's own retries, before `stop` reports failure.
const FINAL_ATTEMPTS: u32 = 2;
/// How long aborting an upload given up on may take, in the background.
const ABORT_TIMEOUT: Duration = Duration::from_secs(10);

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

fn bad_option(key: &str, store: &str) -> Error {
    Error::InvalidValue(format!(
        "storage_options: {key:?} is not an option of {store} (expected object_store's \
         configuration keys, e.g. aws_endpoint, aws_access_key_id, aws_region, aws_allow_http, \
         or {STALL_TIMEOUT_KEY})"
    ))
}

/// A store and the object a recording goes to, checked at `start()`.
pub struct StoreDestination {
    store: Arc<dyn Store>,
    path: StorePath,
    url: String,
}

impl StoreDestination {
    pub fn key(&self) -> &str {
        self.path.as_ref()
    }
}

/// Builds the client of `url`'s store: credentials and endpoint from the environment
/// (`AWS_*`, `GOOGLE_*`, `AZURE_*`, as the stores' own tools read them), overridden by
/// `options`. Nothing is sent yet.
pub fn build(url: &ObjectUrl<'_>, options: &StorageOptions) -> Result<StoreDestination> {
    let text = url.url;
    let invalid = |e: object_store::Error| {
        Error::InvalidValue(format!("file: cannot write to {text:?}: {}", with_causes(&e)))
    };
    // reqwest is built without a TLS provider of its own (Cargo.toml: ring, not aws-lc); it
    // takes rustls' process default. That default is this extension's own copy of rustls, so
    // installing it affects nothing outside us; an error only means it is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = &options.client;
    let store: Arc<dyn Store> = match url.scheme {
        Scheme::Memory => {
            options.stall_timeout_only("memory://")?;
            Arc::new(object_store::memory::InMemory::new())
        }
        Scheme::S3 => {
            use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
            let mut b = AmazonS3Builder::from_env().with_retry(retry_config());
            for (k, v) in client {
                let key: AmazonS3ConfigKey = k.parse().map_err(|_| bad_option(k, "S3"))?;
                b = b.with_config(key, v);
            }
            Arc::new(b.with_bucket_name(url.bucket).build().map_err(invalid)?)
        }
        Scheme::Gcs => {
            use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
            let mut b = GoogleCloudStorageBuilder::from_env().with_retry(retry_config());
            for (k, v) in client {
                let key: GoogleConfigKey = k.parse().map_err(|_| bad_option(k, "GCS"))?;
                b = b.with_config(key, v);
            }
            Arc::new(b.with_bucket_name(url.bucket).build().map_err(invalid)?)
        }
        Scheme::Azure => {
            use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
            let mut b = MicrosoftAzureBuilder::from_env().with_retry(retry_config());
            for (k, v) in client {
                let key: AzureConfigKey = k.parse().map_err(|_| bad_option(k, "Azure"))?;
                b = b.with_config(key, v);
            }
            Arc::new(b.with_container_name(url.bucket).build().map_err(invalid)?)
        }
    };
    // The key was checked segment by segment (`destination.rs`); parsing keeps it as it is.
    let path = StorePath::parse(url.key)
        .map_err(|e| Error::InvalidValue(format!("file: {text:?} has no valid object key: {e}")))?;
    Ok(StoreDestination { store, path, url: text.to_string() })
}

/// Starts the upload of a recording to `d`.
pub fn open(d: &StoreDestination, options: &StorageOptions) -> Result<Box<dyn Target>> {
    let runtime = runtime()?;
    let shared = Arc::new(Shared {
        pending: Unsent::new(options.unsent.clone()),
        failed: Mutex::new(None),
        finishing: AtomicBool::new(false),
        abandoned: AtomicBool::new(false),
        id: Mutex::new(None),
        progress: Arc::default(),
        url: d.url.clone(),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let upload = Upload {
        store: d.store.clone(),
        path: d.path.clone(),
        head: Vec::with_capacity(PART),
        tail: Vec::new(),
        parts: Vec::new(),
        shared: shared.clone(),
    };
    let task = runtime.spawn(upload.run(rx)).abort_handle();
    Ok(Box::new(StoreTarget {
        tx,
        shared,
        written: 0,
        task,
        store: d.store.clone(),
        path: d.path.clone(),
        stall_timeout: options.stall_timeout,
    }))
}

/// Bytes of one upload the store has not taken yet, counted also in the recording's total
/// (every segment's uploads together), which [`BUFFER_LIMIT`] bounds. What is still counted
/// when the upload is dropped (it failed, or was given up) is given back.
struct Unsent {
    total: Arc<AtomicUsize>,
    mine: AtomicUsize,
}

impl Unsent {
    fn new(total: Arc<AtomicUsize>) -> Self {
        Unsent { total, mine: AtomicUsize::new(0) }
    }

    /// Counts `n` more bytes; returns the recording's total.
    fn add(&self, n: usize) -> usize {
        self.mine.fetch_add(n, Ordering::AcqRel);
        self.total.fetch_add(n, Ordering::AcqRel) + n
    }

    fn sub(&self, n: usize) {
        self.mine.fetch_sub(n, Ordering::AcqRel);
        self.total.fetch_sub(n, Ordering::AcqRel);
    }
}

impl Drop for Unsent {
    fn drop(&mut self) {
        self.total.fetch_sub(*self.mine.get_mut(), Ordering::AcqRel);
    }
}

struct Shared {
    /// Bytes given to the upload and not yet uploaded.
    pending: Unsent,
    failed: Mutex<Option<Error>>,
    /// `stop` waits: retries are bounded from now on.
    finishing: AtomicBool,
    abandoned: AtomicBool,
    /// The multipart upload under way, so that a task given up on can still be aborted.
    id: Mutex<Option<MultipartId>>,
    /// Requests the store answered: progress, for the wait at the end.
    progress: Arc<AtomicU64>,
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
    fn error(&self, what: &str, e: impl std::fmt::Display) -> Error {
        Error::Target(TargetFailure::new(format!(
            "cannot upload the recording to {}: {what}: {e}",
            self.url
        )))
    }

    /// The upload failed: nothing more is sent.
    fn fail(&self, what: &str, e: impl std::fmt::Display) -> Error {
        let error = self.error(what, e);
        self.failed.lock().get_or_insert(error.clone());
        error
    }

    /// The store answered no request within the stall timeout, while `stop` waited.
    fn stalled(&self, limit: Duration) -> Error {
        let error = Error::Target(TargetFailure::stalled(
            format!(
                "cannot upload the recording to {}: the store has not answered for {} \
                 (storage_options {STALL_TIMEOUT_KEY})",
                self.url,
                seconds(limit)
            ),
            Stalled::TimedOut,
        ));
        self.failed.lock().get_or_insert(error.clone());
        error
    }
}

enum Message {
    Data(Vec<u8>),
    /// Finish, and send the result (the object's size: `written`).
    Finish(Finishing, u64, crossbeam_channel::Sender<Result<u64>>),
}

struct StoreTarget {
    tx: mpsc::UnboundedSender<Message>,
    shared: Arc<Shared>,
    written: u64,
    task: tokio::task::AbortHandle,
    store: Arc<dyn Store>,
    path: StorePath,
    stall_timeout: Duration,
}

impl Target for StoreTarget {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        if let Some(e) = self.shared.failed.lock().clone() {
            return Err(e);
        }
        let pending = self.shared.pending.add(data.len());
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
        self.finish_later(finishing).wait()
    }

    /// The upload task finishes the object, for as long as the store answers requests; once it
    /// has answered none for the stall timeout, the upload is given up on: the task is
    /// cancelled (a request that never returns goes with it) and the multipart upload aborted
    /// in the background.
    fn finish_later(self: Box<Self>, finishing: Finishing) -> PendingFinish {
        let this = *self;
        this.shared.finishing.store(true, Ordering::Release);
        let gone = this.shared.error("the upload ended", "before the recording");
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        if this.tx.send(Message::Finish(finishing, this.written, done_tx)).is_err() {
            return PendingFinish::done(Err(gone));
        }
        let limit = this.stall_timeout;
        let progress = this.shared.progress.clone();
        let StoreTarget { shared, task, store, path, .. } = this;
        let on_timeout = Box::new(move || {
            shared.abandoned.store(true, Ordering::Release);
            task.abort();
            if let (Some(id), Ok(runtime)) = (shared.id.lock().take(), runtime()) {
                runtime.spawn(async move {
                    let abort = store.abort_multipart(&path, &id);
                    let _ = tokio::time::timeout(ABORT_TIMEOUT, abort).await;
                });
            }
            shared.stalled(limit)
        });
        PendingFinish::new(done_rx, limit, on_timeout, gone).while_progressing(progress)
    }

    fn abandon(self: Box<Self>) {
        self.shared.abandoned.store(true, Ordering::Release);
    }
}
