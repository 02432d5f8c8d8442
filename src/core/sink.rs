//! The last stage: the muxed byte stream cut into the blobs that `dataavailable` delivers,
//! and the memory budget for blobs that are waiting to be delivered.

use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::core::packet::Packet;
use crate::core::Error;

/// Decides where blobs end. With a timeslice, a blob is cut once it covers at least that much
/// media; `timeslice = 0` cuts after every packet; without one, only `request_data`, stop and
/// teardown cut.
pub struct ChunkCutter {
    timeslice_ns: Option<i64>,
    blob_start: Option<i64>,
    media_end: i64,
    /// The previous blob's timecode: timecodes never go backwards, although a packet may
    /// start before the end of the one before it (another track's, or rounded).
    last: i64,
}

impl ChunkCutter {
    pub fn new(timeslice_ms: Option<u64>) -> Self {
        ChunkCutter {
            timeslice_ns: timeslice_ms
                .map(|ms| ms.min(i64::MAX as u64 / 1_000_000) as i64 * 1_000_000),
            // The first blob starts the recording at 0, whenever its first packet starts (a
            // live source's first block may begin a fraction of a block after start()).
            blob_start: Some(0),
            media_end: 0,
            last: 0,
        }
    }

    /// Records that `p` went into the current blob; true when the blob should be cut now.
    pub fn add(&mut self, p: &Packet) -> bool {
        let start = *self.blob_start.get_or_insert(p.pts);
        self.media_end = self.media_end.max(p.pts + p.duration);
        self.timeslice_ns.is_some_and(|t| self.media_end - start >= t)
    }

    /// Ends the current blob; returns its timecode: the media time (ms) of its first packet,
    /// or of the end of the media so far when it holds none.
    pub fn cut(&mut self) -> f64 {
        let start = self.blob_start.take().unwrap_or(self.media_end).max(self.last);
        self.last = start;
        start as f64 / 1e6
    }

    /// Media time covered so far, in ms.
    pub fn media_end_ms(&self) -> f64 {
        self.media_end as f64 / 1e6
    }
}

/// Bytes of blobs produced but not yet delivered, for one recorder. A pipeline that gets
/// ahead of a slow `dataavailable` handler waits here, which in turn slows the sources down:
/// memory stays bounded and nothing is dropped.
pub struct Budget {
    limit: usize,
    used: Mutex<usize>,
    freed: Condvar,
}

impl Budget {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Budget { limit, used: Mutex::new(0), freed: Condvar::new() })
    }

    /// Waits until `n` more bytes fit (a blob larger than the limit waits for an empty budget).
    pub fn acquire(self: &Arc<Self>, n: usize) -> BudgetGuard {
        let mut used = self.used.lock();
        while *used > 0 && *used + n > self.limit {
            self.freed.wait(&mut used);
        }
        *used += n;
        BudgetGuard { budget: self.clone(), n }
    }

    pub fn used(&self) -> usize {
        *self.used.lock()
    }
}

/// Gives its bytes back to the budget when the blob it travels with is dropped.
pub struct BudgetGuard {
    budget: Arc<Budget>,
    n: usize,
}

impl Drop for BudgetGuard {
    fn drop(&mut self) {
        *self.budget.used.lock() -= self.n;
        self.budget.freed.notify_all();
    }
}

impl std::fmt::Debug for BudgetGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BudgetGuard({} bytes)", self.n)
    }
}

/// Recording straight to a file: every blob is appended as it is cut; at the end, the
/// muxer's patches make the file seekable (Duration, SeekHead, Cues). Cheap enough to run on
/// the pipeline thread: a buffered append per blob and three small writes at the end.
pub struct FileSink {
    file: std::io::BufWriter<std::fs::File>,
    path: std::path::PathBuf,
}

impl FileSink {
    pub fn create(path: &std::path::Path) -> crate::core::Result<Self> {
        let file = std::fs::File::create(path).map_err(|e| Error::io("create", path, &e))?;
        Ok(FileSink { file: std::io::BufWriter::new(file), path: path.to_path_buf() })
    }

    pub fn append(&mut self, data: &[u8]) -> crate::core::Result<()> {
        use std::io::Write;
        self.file.write_all(data).map_err(|e| Error::io("write", &self.path, &e))
    }

    /// Applies `patches` (stream offsets = file offsets) and flushes to disk.
    pub fn finish(
        mut self,
        patches: Option<&crate::core::mux::webm::Patches>,
    ) -> crate::core::Result<()> {
        use std::io::{Seek, SeekFrom, Write};
        let path = self.path.clone();
        let err = |e: std::io::Error| Error::io("write", &path, &e);
        self.file.flush().map_err(err)?;
        let mut file = self.file.into_inner().map_err(|e| Error::io("write", &path, e.error()))?;
        if let Some(patches) = patches {
            for (offset, bytes) in &patches.0 {
                if file.seek(SeekFrom::Start(*offset)).is_err() {
                    // A pipe or a socket: the stream stays a valid live file, unpatched.
                    return Ok(());
                }
                file.write_all(bytes).map_err(err)?;
            }
        }
        match file.sync_all() {
            // Character devices and pipes cannot be synced; what was written stands.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Ok(()),
            r => r.map_err(err),
        }
    }
}
