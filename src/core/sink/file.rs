//! A local file, written on the session thread: a buffered append per blob is cheaper than a
//! hand-off, and at the end three small writes make it seekable.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::core::sink::target::{Finishing, Target};
use crate::core::{Error, Result};

pub struct FileTarget {
    file: std::io::BufWriter<std::fs::File>,
    path: PathBuf,
    written: u64,
}

impl FileTarget {
    pub fn create(path: &Path) -> Result<Self> {
        let file = std::fs::File::create(path).map_err(|e| Error::io("create", path, &e))?;
        Ok(FileTarget { file: std::io::BufWriter::new(file), path: path.to_path_buf(), written: 0 })
    }
}

impl Target for FileTarget {
    /// Each blob reaches the OS before the next is cut: a crash of the process loses none.
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.written += data.len() as u64;
        let err = |e: std::io::Error| Error::io("write", &self.path, &e);
        self.file.write_all(data).map_err(err)?;
        self.file.flush().map_err(err)
    }

    /// Applies the patches (stream offsets = file offsets), syncs to disk, and rewrites an
    /// MP4 to faststart.
    fn finish(self: Box<Self>, finishing: Finishing) -> Result<u64> {
        let this = *self;
        let path = this.path;
        let err = |e: std::io::Error| Error::io("write", &path, &e);
        let mut file = this.file.into_inner().map_err(|e| Error::io("write", &path, e.error()))?;
        if let Finishing::Patches(patches) = &finishing {
            for (offset, bytes) in &patches.0 {
                if file.seek(SeekFrom::Start(*offset)).is_err() {
                    // A pipe or a socket: the stream stays a valid live file, unpatched.
                    return Ok(this.written);
                }
                file.write_all(bytes).map_err(err)?;
            }
        }
        match file.sync_all() {
            // Character devices and pipes cannot be synced; what was written stands.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => return Ok(this.written),
            r => r.map_err(err)?,
        }
        // Only a regular file is rewritten; elsewhere the fragmented MP4 stream stands.
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        drop(file);
        if matches!(finishing, Finishing::Faststart) && regular {
            crate::core::mux::mp4::faststart::rewrite_file(&path)?;
            return std::fs::metadata(&path)
                .map(|m| m.len())
                .map_err(|e| Error::io("stat", &path, &e));
        }
        Ok(this.written)
    }
}

/// Waits until the descriptor `fd` (a file object's `fileno()`, opened non-blocking) takes
/// bytes, for `limit` at most; the caller tries the write again and counts the time.
#[cfg(unix)]
pub fn wait_writable(fd: i32, limit: std::time::Duration) {
    let mut poll = libc::pollfd { fd, events: libc::POLLOUT, revents: 0 };
    let ms = limit.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd for the duration of the call. An error (EINTR) or a timeout
    // only means the caller tries the write again and counts the time.
    unsafe { libc::poll(&mut poll, 1, ms) };
}

/// Windows: a C runtime descriptor has nothing to poll (non-blocking ones are rare there), so
/// the caller retries every 10 ms, still bounded by its stall timeout.
#[cfg(not(unix))]
pub fn wait_writable(_fd: i32, limit: std::time::Duration) {
    std::thread::sleep(limit.min(std::time::Duration::from_millis(10)));
}
