//! Screen capture (`get_display_media`): an X11 screen, or a region of it, grabbed on a thread
//! of its own at the requested frame rate, downscaled when asked, converted to I420 and offered
//! to the track. Frames a slow recorder cannot take are dropped at its queue and counted there;
//! ticks the grabber itself misses (a grab slower than the frame period) are counted in the
//! track's `dropped_frames`. A resized screen is followed: the capture goes on at the new size
//! (see [`fit`]), which the track's settings report, as the Screen Capture spec has it. When the
//! X server goes away, or stops answering for `x11_conn::TIMEOUT`, the track ends, so its
//! recordings end the spec's way with everything captured so far.
//!
//! In a Wayland session (`$WAYLAND_DISPLAY`) the ScreenCast portal and PipeWire are tried first
//! ([`wayland`]); where there is no portal, X11 (XWayland) is used. The track's settings name
//! the backend.

pub mod x11;
pub mod x11_conn;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use x11rb::connection::Connection;

use self::x11::{Grabber, Lost, Rect};
use crate::core::media::{clock_ns, VideoFrame};
use crate::core::source::convert::i420::{to_i420, PixelFormat};
use crate::core::source::convert::scale::Scaler;
use crate::core::source::overconstrained as over;
use crate::core::source::video::{check_size, MAX_AREA, MAX_SIDE, MIN_SIZE};
use crate::core::track::{Admission, Track, TrackClock, TrackKind, TrackSettings};
use crate::core::{Error, Result};

mod wayland;

pub const DEFAULT_FRAME_RATE: f64 = 30.0;
pub const MAX_FRAME_RATE: f64 = 120.0;

/// `get_display_media({"video": {...}})`. Every size and position is in pixels of the X screen.
#[derive(Debug, Clone, Default)]
pub struct ScreenConstraints {
    /// The X display (None: `$DISPLAY`).
    pub display: Option<String>,
    /// The captured rectangle: its top-left corner (default 0, 0) and size (default: to the
    /// screen's right and bottom edges).
    pub x: Option<u32>,
    pub y: Option<u32>,
    pub region_width: Option<u32>,
    pub region_height: Option<u32>,
    /// The track's picture size; smaller than the region downscales it. One alone keeps the
    /// region's aspect ratio.
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub frame_rate: Option<f64>,
    pub cursor: bool,
    /// "x11", "wayland", or None: the portal in a Wayland session, else X11.
    pub backend: Option<String>,
    /// The portal's persist_mode (0 none, 1 while the application runs, 2 until revoked): with
    /// one, the portal's restore token is kept and offered to the next capture, which can then
    /// skip the chooser.
    pub persist_mode: u32,
}

/// The region and output size the constraints ask for on a `sw x sh` screen.
pub fn resolve(c: &ScreenConstraints, sw: u32, sh: u32) -> Result<(Rect, u32, u32)> {
    let (x, y) = (c.x.unwrap_or(0), c.y.unwrap_or(0));
    if x >= sw {
        return Err(over("x", format!("x: {x} is outside the {sw}x{sh} screen")));
    }
    if y >= sh {
        return Err(over("y", format!("y: {y} is outside the {sw}x{sh} screen")));
    }
    let rw = c.region_width.unwrap_or(sw - x);
    let rh = c.region_height.unwrap_or(sh - y);
    if rw as u64 + x as u64 > sw as u64 {
        return Err(over(
            "region_width",
            format!("region_width: {rw} pixels from x={x} do not fit the {sw}x{sh} screen"),
        ));
    }
    if rh as u64 + y as u64 > sh as u64 {
        return Err(over(
            "region_height",
            format!("region_height: {rh} pixels from y={y} do not fit the {sw}x{sh} screen"),
        ));
    }
    let even = |v: f64| ((v / 2.0).round() as u32 * 2).max(2);
    let (w, h) = match (c.width, c.height) {
        (Some(w), Some(h)) => (w, h),
        (Some(w), None) => (w, even(w as f64 * rh as f64 / rw.max(1) as f64)),
        (None, Some(h)) => (even(h as f64 * rw as f64 / rh.max(1) as f64), h),
        (None, None) => (rw, rh),
    };
    // Browsers scale a captured surface down, never up. A size that was given is named before
    // one derived from it.
    let wide = || over("width", format!("width: {w} is wider than the {rw}x{rh} capture"));
    let tall = || over("height", format!("height: {h} is taller than the {rw}x{rh} capture"));
    if c.height.is_some() && h > rh {
        return Err(tall());
    }
    if w > rw {
        return Err(wide());
    }
    if h > rh {
        return Err(tall());
    }
    check_size(rw, rh).map_err(|e| over("region_width", format!("region: {e}")))?;
    check_size(w, h).map_err(|e| over("width", e.to_string()))?;
    Ok((Rect { x, y, width: rw, height: rh }, w, h))
}

/// After a resize: what [`resolve`] gives where the constraints still fit the new `sw x sh`
/// screen. Else the asked-for rectangle is clipped to the screen (moved into it where it would
/// lie outside; one whose default edge fell off the screen becomes the screen's width or
/// height), and scaled down, its aspect ratio kept, to fit inside the asked-for size and the
/// largest picture.
pub fn fit(c: &ScreenConstraints, sw: u32, sh: u32) -> (Rect, u32, u32) {
    if let Ok(r) = resolve(c, sw, sh) {
        return r;
    }
    let clip = |pos: Option<u32>, len: Option<u32>, screen: u32| {
        let pos = pos.unwrap_or(0);
        let len = match len {
            Some(len) => len.min(screen),
            None if pos < screen => screen - pos,
            None => screen,
        };
        (pos.min(screen - len), len)
    };
    let (x, rw) = clip(c.x, c.region_width, sw);
    let (y, rh) = clip(c.y, c.region_height, sh);
    let (fw, fh) = (rw as f64, rh as f64);
    let mut scale = (MAX_SIDE as f64 / fw).min(MAX_SIDE as f64 / fh);
    scale = scale.min((MAX_AREA as f64 / (fw * fh)).sqrt());
    if let Some(w) = c.width {
        scale = scale.min(w as f64 / fw);
    }
    if let Some(h) = c.height {
        scale = scale.min(h as f64 / fh);
    }
    let even = |v: f64| ((v / 2.0).floor() as u32 * 2).max(MIN_SIZE);
    let (w, h) = if scale >= 1.0 {
        (rw.max(MIN_SIZE), rh.max(MIN_SIZE))
    } else {
        (even(fw * scale), even(fh * scale))
    };
    (Rect { x, y, width: rw, height: rh }, w, h)
}

pub struct ScreenCapture {
    track: Arc<Track>,
    shm: bool,
    restore_token: Option<String>,
}

impl ScreenCapture {
    /// Connects to the display, checks the constraints against its screen and starts the
    /// capture thread.
    pub fn open(c: ScreenConstraints) -> Result<Self> {
        let rate = c.frame_rate.unwrap_or(DEFAULT_FRAME_RATE);
        if !(rate.is_finite() && rate > 0.0 && rate <= MAX_FRAME_RATE) {
            return Err(over(
                "frame_rate",
                format!("frame_rate: expected above 0 and at most {MAX_FRAME_RATE}, got {rate}"),
            ));
        }
        let backend = c.backend.as_deref();
        if backend == Some("wayland") || (backend.is_none() && wayland::session()) {
            match wayland::open(&c, rate)? {
                Ok(o) => {
                    let restore_token = o.restore_token;
                    return Ok(ScreenCapture { track: o.track, shm: false, restore_token });
                }
                Err(why) if backend == Some("wayland") => {
                    return Err(Error::NotSupported(format!(
                        "Wayland screen capture is not available here: {why}"
                    )))
                }
                // No portal: XWayland's screen, as before.
                Err(_) => {}
            }
        }
        let (conn, screen, name) = x11_conn::connect(c.display.as_deref())?;
        let root = conn
            .setup()
            .roots
            .get(screen)
            .ok_or_else(|| Error::NotFound(format!("the X display has no screen {screen}")))?;
        let (sw, sh) = (root.width_in_pixels as u32, root.height_in_pixels as u32);
        let (region, width, height) = resolve(&c, sw, sh)?;
        let grabber = Grabber::new(conn, &name, screen, region, c.cursor)?;
        let shm = grabber.uses_shm();
        let settings = TrackSettings {
            width: Some(width),
            height: Some(height),
            frame_rate: Some(rate),
            backend: Some("x11"),
            ..Default::default()
        };
        let label = format!("Screen {name} ({sw}x{sh})");
        let track = Track::new(TrackKind::Video, label, settings, TrackClock::Live);
        let weak = Arc::downgrade(&track);
        let mut capture = Capture { grabber, constraints: c, scaler: None, width, height };
        capture.set_region(region, width, height);
        thread::Builder::new()
            .name("mediarecorder-screen".into())
            .spawn(move || run(weak, capture, rate))
            .map_err(|e| {
                Error::NotReadable(format!("cannot start the screen capture thread: {e}"))
            })?;
        Ok(ScreenCapture { track, shm, restore_token: None })
    }

    pub fn track(&self) -> &Arc<Track> {
        &self.track
    }

    /// The ScreenCast portal's restore token (Wayland, with a persist_mode), else None.
    pub fn restore_token(&self) -> Option<&str> {
        self.restore_token.as_deref()
    }

    /// Whether the picture comes through MIT-SHM (else plain `GetImage`).
    pub fn uses_shm(&self) -> bool {
        self.shm
    }
}

/// The capture thread's state: what it grabs and how it makes the track's pictures of it.
struct Capture {
    grabber: Grabber,
    constraints: ScreenConstraints,
    scaler: Option<Scaler>,
    width: u32,
    height: u32,
}

impl Capture {
    fn set_region(&mut self, region: Rect, width: u32, height: u32) {
        self.scaler = ((width, height) != (region.width, region.height))
            .then(|| Scaler::new(region.width, region.height, width, height));
        (self.width, self.height) = (width, height);
    }

    /// Follows a resized screen: a new region and picture size, reported in the settings.
    fn follow(&mut self, track: &Track) -> std::result::Result<(), Lost> {
        while let Some((sw, sh)) = self.grabber.resized()? {
            let (region, width, height) = fit(&self.constraints, sw, sh);
            self.grabber.set_region(region)?;
            self.set_region(region, width, height);
            track.set_size(width, height);
        }
        Ok(())
    }

    /// The picture now; None when the screen's size changed under the grab.
    fn frame(&mut self, time: i64) -> std::result::Result<Option<VideoFrame>, Lost> {
        let Some(pixels) = self.grabber.grab()? else { return Ok(None) };
        let pixels = match self.scaler.as_mut() {
            Some(s) => s.scale(pixels).map_err(|e| Lost(e.to_string()))?,
            None => pixels,
        };
        let frame = to_i420(PixelFormat::Bgra, self.width, self.height, pixels, time);
        frame.map(Some).map_err(|e| Lost(e.to_string()))
    }
}

fn run(weak: std::sync::Weak<Track>, mut capture: Capture, rate: f64) {
    let period = Duration::from_secs_f64(1.0 / rate);
    let mut next = Instant::now();
    loop {
        let Some(track) = weak.upgrade() else { return };
        if !track.is_live() {
            return;
        }
        if capture.follow(&track).is_err() {
            track.end();
            return;
        }
        // The picture is taken between the request and its reply: stamp it with the request.
        let time = clock_ns();
        match capture.frame(time) {
            Ok(Some(frame)) => {
                track.stats().total_frames.fetch_add(1, Ordering::Relaxed);
                track.push_video(frame, Admission::none(TrackKind::Video));
            }
            // Resized under the grab: follow it and grab again at once.
            Ok(None) => continue,
            Err(_lost) => {
                track.end();
                return;
            }
        }
        drop(track);
        pace(&mut next, period, &weak);
    }
}

/// Waits for the next tick of a capture at `period` (`next`: when it is due). A grab slower
/// than the period skips the ticks already missed rather than burst, and counts them as
/// dropped frames of the track. Every screen backend paces its pictures with this.
pub(crate) fn pace(next: &mut Instant, period: Duration, weak: &std::sync::Weak<Track>) {
    *next += period;
    let now = Instant::now();
    if *next > now {
        thread::sleep(*next - now);
        return;
    }
    let missed = ((now - *next).as_secs_f64() / period.as_secs_f64()) as u32;
    if missed > 0 {
        if let Some(track) = weak.upgrade() {
            track.stats().dropped_frames.fetch_add(missed as u64, Ordering::Relaxed);
        }
        *next += period * missed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c() -> ScreenConstraints {
        ScreenConstraints::default()
    }

    fn constraint(r: Result<(Rect, u32, u32)>) -> String {
        match r {
            Err(Error::Overconstrained { constraint, .. }) => constraint,
            other => panic!("expected OverconstrainedError, got {other:?}"),
        }
    }

    #[test]
    fn whole_screen_by_default() {
        let (r, w, h) = resolve(&c(), 640, 480).unwrap();
        assert_eq!((r, w, h), (Rect { x: 0, y: 0, width: 640, height: 480 }, 640, 480));
    }

    #[test]
    fn region_and_downscale() {
        let cs = ScreenConstraints { x: Some(100), y: Some(50), width: Some(270), ..c() };
        let (r, w, h) = resolve(&cs, 640, 480).unwrap();
        assert_eq!(r, Rect { x: 100, y: 50, width: 540, height: 430 });
        assert_eq!((w, h), (270, 216));
        let cs = ScreenConstraints { region_width: Some(64), region_height: Some(32), ..c() };
        assert_eq!(resolve(&cs, 640, 480).unwrap().1, 64);
    }

    #[test]
    fn each_impossible_constraint_is_named() {
        assert_eq!(constraint(resolve(&ScreenConstraints { x: Some(640), ..c() }, 640, 480)), "x");
        assert_eq!(constraint(resolve(&ScreenConstraints { y: Some(480), ..c() }, 640, 480)), "y");
        let cs = ScreenConstraints { x: Some(10), region_width: Some(640), ..c() };
        assert_eq!(constraint(resolve(&cs, 640, 480)), "region_width");
        let cs = ScreenConstraints { region_height: Some(481), ..c() };
        assert_eq!(constraint(resolve(&cs, 640, 480)), "region_height");
        assert_eq!(
            constraint(resolve(&ScreenConstraints { width: Some(641), ..c() }, 640, 480)),
            "width"
        );
        assert_eq!(
            constraint(resolve(&ScreenConstraints { height: Some(500), ..c() }, 640, 480)),
            "height"
        );
    }

    #[test]
    fn a_resized_screen_is_followed() {
        // Whatever still fits is resolved as at the start: the whole screen, or a region.
        assert_eq!(fit(&c(), 200, 100), (Rect { x: 0, y: 0, width: 200, height: 100 }, 200, 100));
        let cs = ScreenConstraints { x: Some(10), region_width: Some(64), ..c() };
        assert_eq!(fit(&cs, 320, 240).0, Rect { x: 10, y: 0, width: 64, height: 240 });
        // A region no longer inside is clipped, and moved in.
        let cs = ScreenConstraints { x: Some(600), region_width: Some(100), ..c() };
        assert_eq!(fit(&cs, 320, 240), (Rect { x: 220, y: 0, width: 100, height: 240 }, 100, 240));
        // Its default right edge fell off: the screen's width.
        let cs = ScreenConstraints { x: Some(400), ..c() };
        assert_eq!(fit(&cs, 320, 240).0, Rect { x: 0, y: 0, width: 320, height: 240 });
        // Never upscaled: a width wider than the new screen gives the screen's.
        let cs = ScreenConstraints { width: Some(320), ..c() };
        assert_eq!(fit(&cs, 200, 100).1, 200);
        // Downscaled into the asked-for box, aspect ratio kept.
        let cs = ScreenConstraints {
            width: Some(320),
            height: Some(240),
            region_width: Some(1000),
            ..c()
        };
        assert_eq!(fit(&cs, 800, 200), (Rect { x: 0, y: 0, width: 800, height: 200 }, 320, 80));
        // And into the largest picture.
        let (r, w, h) = fit(&c(), 8192, 4096);
        assert_eq!((r.width, r.height, w, h), (8192, 4096, 4096, 2048));
    }
}
