//! The one error type of the core. The binding maps each variant to exactly one Python
//! exception (`src/python/errors.rs`). The core names no Python type: a variant carries the
//! DOMException name the web platform would use where there is one ([`Error::dom_name`]), and
//! structured causes (an OS error's number and path) where the caller may need them.

use std::path::{Path, PathBuf};

/// Everything that can go wrong in the core.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A method was called in a state that does not allow it (DOMException `InvalidStateError`).
    #[error("{0}")]
    InvalidState(String),
    /// The requested type, codec or track configuration cannot be recorded (`NotSupportedError`).
    #[error("{0}")]
    NotSupported(String),
    /// The track set of a stream changed while it was recorded (`InvalidModificationError`).
    #[error("{0}")]
    InvalidModification(String),
    /// An encoder failed (`EncodingError`).
    #[error("{0}")]
    Encoding(String),
    /// Any other failure while gathering data, e.g. in the muxer (`UnknownError`).
    #[error("{0}")]
    Unknown(String),
    /// No device matches (`NotFoundError`).
    #[error("{0}")]
    NotFound(String),
    /// The user or the system refused access, e.g. a cancelled screen chooser
    /// (`NotAllowedError`).
    #[error("{0}")]
    NotAllowed(String),
    /// A device exists but cannot be opened (`NotReadableError`).
    #[error("{0}")]
    NotReadable(String),
    /// A constraint cannot be satisfied (`OverconstrainedError`); `constraint` names it.
    #[error("{message}")]
    Overconstrained { constraint: String, message: String },
    /// The operating system refused an I/O operation.
    #[error("{0}")]
    Io(IoFailure),
    /// An argument's value is out of range or malformed.
    #[error("{0}")]
    InvalidValue(String),
    /// An argument has the wrong type.
    #[error("{0}")]
    InvalidType(String),
    /// Where the recording goes (a file object, an object store) failed; ends it as an
    /// `UnknownError`, with the embedder's own exception chained when there is one.
    #[error("{0}")]
    Target(TargetFailure),
}

impl Error {
    /// The DOMException name of the variants the web platform has one for; `None` for I/O
    /// and argument errors, which are the host language's own kinds.
    pub fn dom_name(&self) -> Option<&'static str> {
        Some(match self {
            Error::InvalidState(_) => "InvalidStateError",
            Error::NotSupported(_) => "NotSupportedError",
            Error::InvalidModification(_) => "InvalidModificationError",
            Error::Encoding(_) => "EncodingError",
            Error::Unknown(_) => "UnknownError",
            Error::NotFound(_) => "NotFoundError",
            Error::NotAllowed(_) => "NotAllowedError",
            Error::NotReadable(_) => "NotReadableError",
            Error::Overconstrained { .. } => "OverconstrainedError",
            Error::Io(_) | Error::InvalidValue(_) | Error::InvalidType(_) | Error::Target(_) => {
                return None
            }
        })
    }

    /// An I/O failure of `action` ("create", "write", ...) on `path`.
    pub fn io(action: &'static str, path: &Path, e: &std::io::Error) -> Self {
        Error::Io(IoFailure::new(action, Some(path), e))
    }
}

/// An operating-system I/O failure, kept as the OS reported it so that the embedder can raise
/// what its own I/O would (errno, strerror, filename).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoFailure {
    /// What was being done: "create", "write", "finish".
    pub action: &'static str,
    pub path: Option<PathBuf>,
    /// The OS error number, when the failure came from the OS.
    pub errno: Option<i32>,
    /// The OS's description of `errno` (strerror), or the I/O layer's own message.
    pub reason: String,
}

impl IoFailure {
    pub fn new(action: &'static str, path: Option<&Path>, e: &std::io::Error) -> Self {
        let errno = e.raw_os_error();
        let mut reason = e.to_string();
        // std appends " (os error N)" to strerror; keep the OS's own words, as Python does.
        if let Some(n) = errno {
            if let Some(stripped) = reason.strip_suffix(&format!(" (os error {n})")) {
                reason = stripped.to_string();
            }
        }
        IoFailure { action, path: path.map(Path::to_path_buf), errno, reason }
    }
}

impl std::fmt::Display for IoFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(p) => write!(f, "cannot {} {}: {}", self.action, p.display(), self.reason),
            None => write!(f, "cannot {}: {}", self.action, self.reason),
        }
    }
}

/// A destination's failure: what went wrong, and the embedder's own error value (a Python
/// exception) when the failure came from the embedder's code, or a [`Stalled`] when the
/// destination stopped making progress, so it can be chained as the cause. Compared by
/// message only.
#[derive(Clone)]
pub struct TargetFailure {
    pub message: String,
    pub cause: Option<std::sync::Arc<dyn std::any::Any + Send + Sync>>,
}

impl TargetFailure {
    pub fn new(message: impl Into<String>) -> Self {
        TargetFailure { message: message.into(), cause: None }
    }

    /// A destination given up on for making no progress (`why`).
    pub fn stalled(message: impl Into<String>, why: Stalled) -> Self {
        TargetFailure { message: message.into(), cause: Some(std::sync::Arc::new(why)) }
    }
}

/// Why a destination that reported no error of its own was given up on: the embedder maps
/// each to its own kind (Python: `TimeoutError`, `BlockingIOError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stalled {
    /// No progress within the stall timeout (a write that does not return or takes nothing,
    /// an upload the store does not finish).
    TimedOut,
    /// A write would block and there is nothing to wait on.
    WouldBlock,
}

impl PartialEq for TargetFailure {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message
    }
}
impl Eq for TargetFailure {}

impl std::fmt::Debug for TargetFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TargetFailure({:?}, cause: {})", self.message, self.cause.is_some())
    }
}

impl std::fmt::Display for TargetFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_failures_keep_errno_path_and_the_os_words() {
        // A full disk: ENOSPC, or ERROR_DISK_FULL on Windows (whose 28 is "out of paper"). The
        // words are the system's own; on Linux they are known exactly.
        let code = if cfg!(windows) { 112 } else { 28 };
        let e = std::io::Error::from_raw_os_error(code);
        let words = e.to_string().trim_end_matches(&format!(" (os error {code})")).to_string();
        if cfg!(target_os = "linux") {
            assert_eq!(words, "No space left on device");
        }
        let err = Error::io("write", Path::new("/dev/full"), &e);
        let Error::Io(f) = &err else { panic!("{err:?}") };
        assert_eq!(f.errno, Some(code));
        assert_eq!(f.path.as_deref(), Some(Path::new("/dev/full")));
        assert_eq!(f.reason, words);
        assert_eq!(err.to_string(), format!("cannot write /dev/full: {words}"));
        assert_eq!(err.dom_name(), None);
    }
}
