//! `MediaRecorder`'s options as they cross into Rust: one dict (`_native._RecorderOptions` in
//! the stub), checked for type and range by the Python layer, read here by key. Only
//! `mime_type` is required; any other key left out takes the spec's default.

use pyo3::prelude::*;

use crate::core::encode::BitrateMode;
use crate::core::recorder::{AudioTracks, RecorderOptions};

#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub struct Options {
    mime_type: String,
    #[pyo3(default)]
    audio_bits_per_second: Option<u32>,
    #[pyo3(default)]
    video_bits_per_second: Option<u32>,
    #[pyo3(default)]
    bits_per_second: Option<u32>,
    #[pyo3(default, from_py_with = bitrate_mode)]
    audio_bitrate_mode: BitrateMode,
    #[pyo3(default)]
    video_key_frame_interval_duration: Option<f64>,
    #[pyo3(default)]
    video_key_frame_interval_count: Option<u32>,
    #[pyo3(default)]
    independent_chunks: bool,
    #[pyo3(default, from_py_with = audio_tracks)]
    audio_tracks: AudioTracks,
    /// `start_on_speech`'s pre-roll in seconds (None: start at once).
    #[pyo3(default)]
    start_on_speech: Option<f64>,
}

fn bitrate_mode(mode: &Bound<'_, PyAny>) -> PyResult<BitrateMode> {
    let mode: String = mode.extract()?;
    Ok(if mode == "constant" { BitrateMode::Constant } else { BitrateMode::Variable })
}

/// `audio_tracks`: "first" (the default), "separate" or "mix", checked by the Python layer.
fn audio_tracks(tracks: &Bound<'_, PyAny>) -> PyResult<AudioTracks> {
    let name: String = tracks.extract()?;
    AudioTracks::parse(&name).ok_or_else(|| {
        pyo3::exceptions::PyValueError::new_err(format!(
            "audio_tracks: expected 'first', 'separate' or 'mix', got {name:?}"
        ))
    })
}

impl From<Options> for RecorderOptions {
    fn from(o: Options) -> Self {
        RecorderOptions {
            mime_type: o.mime_type,
            audio_bits_per_second: o.audio_bits_per_second,
            video_bits_per_second: o.video_bits_per_second,
            bits_per_second: o.bits_per_second,
            audio_bitrate_mode: o.audio_bitrate_mode,
            video_key_frame_interval_duration: o.video_key_frame_interval_duration,
            video_key_frame_interval_count: o.video_key_frame_interval_count,
            independent_chunks: o.independent_chunks,
            audio_tracks: o.audio_tracks,
            start_on_speech: o.start_on_speech.map(|s| (s * 1e9).round() as i64),
        }
    }
}
