//! The recording engine, free of Python.
//!
//! Media flows one way through one module per stage:
//!
//! ```text
//! source (track.rs, source/) → encode/ → mux/ → sink.rs
//! ```
//!
//! Sources push [`media::AudioBlock`]s into the tracks they own; a track fans them out to the
//! recording sessions attached to it. Each session runs one pipeline thread (`pipeline.rs`)
//! that encodes, muxes and cuts chunks. Only [`packet::Packet`] crosses from encoders to the
//! muxer. The recorder state machine of the spec lives in `recorder.rs`; its events leave the
//! core through the [`recorder::EventSink`] trait, which the binding implements.

pub mod bitrate;
pub mod codec;
pub mod codec_config;
pub mod encode;
pub mod error;
pub mod exit;
pub mod level;
pub mod media;
pub mod mime;
pub mod mux;
pub mod packet;
pub mod recorder;
pub mod resample;
mod session;
pub mod sink;
pub mod source;
pub mod stats;
pub mod track;
pub mod wait;

#[cfg(test)]
mod tests;

pub use error::{Error, Result};
