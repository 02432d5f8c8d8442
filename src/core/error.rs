//! The one error type of the core. The binding maps each variant to exactly one Python
//! exception (`src/python/errors.rs`); the DOMException name a variant carries is the name the
//! web platform would use.

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
    /// A device exists but cannot be opened (`NotReadableError`).
    #[error("{0}")]
    NotReadable(String),
    /// A constraint cannot be satisfied (`OverconstrainedError`); `constraint` names it.
    #[error("{message}")]
    Overconstrained { constraint: String, message: String },
    /// A file could not be written (Python `OSError`).
    #[error("{0}")]
    Io(String),
    /// A value is out of range or malformed (Python `ValueError`).
    #[error("{0}")]
    InvalidValue(String),
    /// A value has the wrong type (Python `TypeError`).
    #[error("{0}")]
    InvalidType(String),
}

impl Error {
    /// The DOMException name, or the Python built-in for argument errors.
    pub fn name(&self) -> &'static str {
        match self {
            Error::InvalidState(_) => "InvalidStateError",
            Error::NotSupported(_) => "NotSupportedError",
            Error::InvalidModification(_) => "InvalidModificationError",
            Error::Encoding(_) => "EncodingError",
            Error::Unknown(_) => "UnknownError",
            Error::NotFound(_) => "NotFoundError",
            Error::NotReadable(_) => "NotReadableError",
            Error::Overconstrained { .. } => "OverconstrainedError",
            Error::Io(_) => "OSError",
            Error::InvalidValue(_) => "ValueError",
            Error::InvalidType(_) => "TypeError",
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
