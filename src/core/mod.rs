//! The recording engine, free of Python.
//!
//! Media flows one way through one module per stage:
//!
//! ```text
//! source/ → track.rs → session/ (encode/ → mux/ → cutter.rs) → recorder.rs → the embedder
//!                                              ↘ sink/ (files, file objects, object stores)
//! ```
//!
//! Sources push [`media::AudioBlock`]s and [`media::VideoFrame`]s into the tracks they own; a
//! track fans them out to the recording sessions attached to it. Each session runs one
//! pipeline thread (`session/pipeline.rs`) that encodes, muxes and cuts blobs, and writes the
//! stream to its target. Only [`packet::Packet`] crosses from encoders to the muxer. The
//! recorder state machine of the spec lives in `recorder.rs`; its events leave the core
//! through the [`recorder::EventOutlet`] trait, which the binding implements.
//! docs/architecture.md names every module and the order of their imports.

pub mod arm;
pub mod bitrate;
pub mod codec;
pub mod decode;
pub mod encode;
pub mod error;
pub mod exit;
pub mod level;
pub mod media;
pub mod mime;
pub mod mix;
pub mod mux;
pub mod packet;
pub mod reader;
pub mod recorder;
pub mod resample;
pub(crate) mod session;
pub mod sink;
pub mod source;
pub mod stats;
pub mod track;
pub mod vad;
pub mod wait;

#[cfg(test)]
mod tests;

pub use error::{Error, Result};
