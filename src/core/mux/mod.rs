//! Muxers: packets in, container bytes out.
//!
//! Our own EBML writer rather than the `webm` crate: webm 2.2.1 (libwebm's mkvmuxer) exposes
//! neither `CodecDelay`/`SeekPreRoll` nor `DiscardPadding`, cannot be told to close a cluster
//! at a chunk boundary, and needs `Write + Seek` for anything but its live mode.

pub mod ebml;
pub mod interleave;
pub mod seekable;
pub mod webm;
