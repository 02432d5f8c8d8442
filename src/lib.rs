//! `mediarecorder`: the W3C MediaStream Recording API with a Rust core.
//!
//! [`core`] holds everything that records (source → encode → mux → sink) and knows nothing of
//! Python; `python` is the thin binding that maps it onto the `mediarecorder._native` module.

pub mod core;

#[cfg(feature = "python")]
mod python;
