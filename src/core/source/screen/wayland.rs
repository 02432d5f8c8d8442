//! Wayland screens: the ScreenCast portal and PipeWire (through the screen-cast plugin,
//! `plugin.rs`), used when `$WAYLAND_DISPLAY` is set. The portal's chooser picks the output;
//! the constraints then apply to its pictures as they do to an X screen (a region of it, a
//! smaller size, the frame rate, the cursor drawn in or not).
//!
//! The compositor sends a picture only when the screen changes. The capture thread here takes
//! the newest one at the track's frame rate, stamped on the shared clock, and sends the last
//! again while nothing changes, so the track's frames are paced as the X11 path's are (ticks
//! a slow conversion misses are counted in `dropped_frames`). The track ends when the portal
//! session or the PipeWire stream ends (the compositor went away, or the user stopped sharing).

mod plugin;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use plugin::{Cast, OpenError, Polled};

use super::{fit, resolve, ScreenConstraints};
use crate::core::media::{clock_ns, VideoFrame};
use crate::core::source::convert::i420::{to_i420, PixelFormat};
use crate::core::source::convert::scale::Scaler;
use crate::core::source::screen::x11::Rect;
use crate::core::track::{Admission, Track, TrackClock, TrackKind, TrackSettings};
use crate::core::{Error, Result};

/// How long the portal may take to answer: a chooser may wait for the user.
const PORTAL_TIMEOUT: Duration = Duration::from_secs(120);

/// The restore token of the newest cast, offered to the next one when persisting.
static RESTORE_TOKEN: Mutex<Option<String>> = Mutex::new(None);

/// Whether this process runs in a Wayland session (the portal is tried first there).
pub fn session() -> bool {
    std::env::var_os("WAYLAND_DISPLAY").is_some_and(|v| !v.is_empty())
}

/// The track of a portal screen cast, and the portal's restore token if it gave one; `Ok(Err)`
/// where there is no portal (or no PipeWire library), so the caller can fall back to X11.
pub fn open(c: &ScreenConstraints, rate: f64) -> Result<std::result::Result<Opened, String>> {
    let token = RESTORE_TOKEN.lock().clone();
    let token = if c.persist_mode > 0 { token } else { None };
    let mut cast = match Cast::open(c.cursor, c.persist_mode, token.as_deref(), PORTAL_TIMEOUT) {
        Ok(cast) => cast,
        Err(OpenError::Unavailable(why)) => return Ok(Err(why)),
        Err(OpenError::NotAllowed(why)) => return Err(Error::NotAllowed(why)),
        Err(OpenError::Failed(why)) => return Err(Error::NotReadable(why)),
    };
    let restore_token = cast.restore_token();
    if let Some(t) = &restore_token {
        *RESTORE_TOKEN.lock() = Some(t.clone());
    }
    // The picture size is the stream's: known with its first picture, which a compositor sends
    // at once (everything is damage then).
    let mut pixels = Vec::new();
    let (sw, sh, rgbx) = match cast.frame(&mut pixels, Duration::from_secs(5)) {
        Polled::Picture(w, h, rgbx) => (w, h, rgbx),
        Polled::Nothing => {
            return Err(Error::NotReadable("the screen cast sent no picture within 5 s".into()))
        }
        Polled::Ended(why) => return Err(Error::NotReadable(why)),
    };
    let (region, width, height) = resolve(c, sw, sh)?;
    let settings = TrackSettings {
        width: Some(width),
        height: Some(height),
        frame_rate: Some(rate),
        backend: Some("wayland"),
        ..Default::default()
    };
    let label = format!("Screen (Wayland portal, {sw}x{sh})");
    let track = Track::new(TrackKind::Video, label, settings, TrackClock::Live);
    let mut capture = Capture {
        cast,
        constraints: c.clone(),
        pixels,
        crop: Vec::new(),
        screen: (sw, sh),
        region,
        scaler: None,
        width,
        height,
        last: None,
    };
    capture.set_region(region, width, height);
    capture.convert(rgbx, clock_ns()).map_err(|e| Error::NotReadable(e.to_string()))?;
    let weak = Arc::downgrade(&track);
    thread::Builder::new()
        .name("mediarecorder-wayland".into())
        .spawn(move || run(weak, capture, rate))
        .map_err(|e| Error::NotReadable(format!("cannot start the screen capture thread: {e}")))?;
    Ok(Ok(Opened { track, restore_token }))
}

pub struct Opened {
    pub track: Arc<Track>,
    pub restore_token: Option<String>,
}

struct Capture {
    cast: Cast,
    constraints: ScreenConstraints,
    /// The newest picture as the compositor sent it (packed 32-bit rows).
    pixels: Vec<u8>,
    crop: Vec<u8>,
    screen: (u32, u32),
    region: Rect,
    scaler: Option<Scaler>,
    width: u32,
    height: u32,
    /// The track's newest picture, sent again while the screen is still.
    last: Option<VideoFrame>,
}

impl Capture {
    fn set_region(&mut self, region: Rect, width: u32, height: u32) {
        self.scaler = ((width, height) != (region.width, region.height))
            .then(|| Scaler::new(region.width, region.height, width, height));
        (self.region, self.width, self.height) = (region, width, height);
    }

    /// Makes the track's picture of `pixels`: the region cut out, scaled, converted to I420.
    fn convert(&mut self, rgbx: bool, time: i64) -> Result<()> {
        let (sw, r) = (self.screen.0 as usize, self.region);
        let whole = (r.x, r.y, r.width, r.height) == (0, 0, self.screen.0, self.screen.1);
        let pixels: &[u8] = if whole {
            &self.pixels
        } else {
            self.crop.clear();
            let (x, w) = (r.x as usize * 4, r.width as usize * 4);
            for y in r.y as usize..(r.y + r.height) as usize {
                let row = y * sw * 4 + x;
                self.crop.extend_from_slice(&self.pixels[row..row + w]);
            }
            &self.crop
        };
        let pixels = match self.scaler.as_mut() {
            Some(s) => s.scale(pixels)?,
            None => pixels,
        };
        let format = if rgbx { PixelFormat::Rgba } else { PixelFormat::Bgra };
        self.last = Some(to_i420(format, self.width, self.height, pixels, time)?);
        Ok(())
    }

    /// Takes the newest picture if there is one. Err: the cast ended.
    fn poll(&mut self, track: &Track, time: i64) -> std::result::Result<(), String> {
        match self.cast.frame(&mut self.pixels, Duration::ZERO) {
            Polled::Picture(w, h, rgbx) => {
                if (w, h) != self.screen {
                    // Another output size (the output was reconfigured): as a resized X screen.
                    self.screen = (w, h);
                    let (region, width, height) = fit(&self.constraints, w, h);
                    self.set_region(region, width, height);
                    track.set_size(width, height);
                }
                self.convert(rgbx, time).map_err(|e| e.to_string())
            }
            Polled::Nothing => Ok(()),
            Polled::Ended(why) => Err(why),
        }
    }
}

fn run(weak: Weak<Track>, mut capture: Capture, rate: f64) {
    let period = Duration::from_secs_f64(1.0 / rate);
    let mut next = Instant::now();
    loop {
        let Some(track) = weak.upgrade() else { return };
        if !track.is_live() {
            return;
        }
        let time = clock_ns();
        if capture.poll(&track, time).is_err() {
            track.end();
            return;
        }
        if let Some(frame) = capture.last.as_ref() {
            let frame = VideoFrame { time, ..frame.clone() };
            track.stats().total_frames.fetch_add(1, Ordering::Relaxed);
            track.push_video(frame, Admission::none(TrackKind::Video));
        }
        drop(track);
        super::pace(&mut next, period, &weak);
    }
}
