//! Raw media as sources hand it to tracks.
//!
//! Every item carries `time`: nanoseconds on its source's own clock. Sources pushed from the
//! embedder count media (samples written, frame timestamps); live sources and devices use
//! [`clock_ns`], the process-wide monotonic clock, anchored once and advanced by their sample
//! or frame counters. A session maps each track's clock to its timeline from where the track
//! stood when recording started.

use std::sync::OnceLock;
use std::time::Instant;

/// Nanoseconds since the first call in this process (the clock of live sources).
pub fn clock_ns() -> i64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as i64
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackKind {
    Audio,
    Video,
}

impl TrackKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackKind::Audio => "audio",
            TrackKind::Video => "video",
        }
    }
}

/// What `get_settings()` reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackSettings {
    pub sample_rate: Option<u32>,
    pub channel_count: Option<u16>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub frame_rate: Option<f64>,
    pub device_id: Option<String>,
    /// What captures a screen: "x11" or "wayland".
    pub backend: Option<&'static str>,
}

/// Interleaved 32-bit float PCM in [-1, 1].
#[derive(Debug, Clone, Default)]
pub struct AudioBlock {
    pub sample_rate: u32,
    pub channels: u16,
    pub time: i64,
    pub samples: Vec<f32>,
}

impl AudioBlock {
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1) as usize
    }
    pub fn duration_ns(&self) -> i64 {
        self.frames() as i64 * 1_000_000_000 / self.sample_rate.max(1) as i64
    }
}

/// One I420 picture: the Y plane (`width x height`), then U and V (`ceil(w/2) x ceil(h/2)`),
/// tightly packed.
#[derive(Debug, Clone)]
pub struct VideoFrame {
    pub width: u32,
    pub height: u32,
    pub time: i64,
    pub data: Vec<u8>,
    /// A stand-in picture of a disabled or muted track: sessions record at most one per
    /// second of them.
    pub filler: bool,
}

impl VideoFrame {
    pub fn chroma_size(width: u32, height: u32) -> (usize, usize) {
        ((width as usize).div_ceil(2), (height as usize).div_ceil(2))
    }

    pub fn byte_len(width: u32, height: u32) -> usize {
        let (cw, ch) = Self::chroma_size(width, height);
        width as usize * height as usize + 2 * cw * ch
    }

    /// A black picture (Y 16, U/V 128: limited range).
    pub fn black(width: u32, height: u32, time: i64) -> Self {
        let y = width as usize * height as usize;
        let mut data = vec![128u8; Self::byte_len(width, height)];
        data[..y].fill(16);
        VideoFrame { width, height, time, data, filler: false }
    }

    /// Turns this picture into black in place, marked as a stand-in.
    pub fn blacken(&mut self) {
        let y = self.width as usize * self.height as usize;
        self.data[..y].fill(16);
        self.data[y..].fill(128);
        self.filler = true;
    }

    /// `(y, u, v)` plane slices.
    pub fn planes(&self) -> (&[u8], &[u8], &[u8]) {
        let y = self.width as usize * self.height as usize;
        let (cw, ch) = Self::chroma_size(self.width, self.height);
        let (yp, rest) = self.data.split_at(y);
        let (up, vp) = rest.split_at(cw * ch);
        (yp, up, vp)
    }

    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let y = self.width as usize * self.height as usize;
        let (cw, ch) = Self::chroma_size(self.width, self.height);
        let (yp, rest) = self.data.split_at_mut(y);
        let (up, vp) = rest.split_at_mut(cw * ch);
        (yp, up, vp)
    }

    /// The picture as yuvutils' destination image, for converting into it in place.
    pub fn yuv_image_mut(&mut self) -> yuvutils_rs::YuvPlanarImageMut<'_, u8> {
        use yuvutils_rs::BufferStoreMut::Borrowed;
        let (width, height) = (self.width, self.height);
        let cw = Self::chroma_size(width, height).0 as u32;
        let (y, u, v) = self.planes_mut();
        yuvutils_rs::YuvPlanarImageMut {
            y_plane: Borrowed(y),
            y_stride: width,
            u_plane: Borrowed(u),
            u_stride: cw,
            v_plane: Borrowed(v),
            v_stride: cw,
            width,
            height,
        }
    }
}

/// What a track sends to each session attached to it, in order.
#[derive(Debug)]
pub enum Media {
    Audio(AudioBlock),
    Video(std::sync::Arc<VideoFrame>),
    /// The track ended; nothing more follows from it.
    End,
    /// Fills a place a write reserved and then did not use (interrupted, refused): nothing.
    Skip,
}
