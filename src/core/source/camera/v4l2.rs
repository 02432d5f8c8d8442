//! Cameras (`get_user_media(video=...)`) through V4L2, with the `v4l` crate.
//!
//! A capture thread owns the device and its memory-mapped buffers: it waits for the driver's
//! next buffer, converts it to I420 (`formats.rs`) and offers it to the track, whose
//! recorders drop what they cannot take (counted in their stats). Frames the driver itself
//! skipped (gaps in its sequence numbers) are counted in the track's `dropped_frames`. Media
//! times are the driver's timestamps, moved onto [`clock_ns`]. A camera that disappears
//! (ENODEV) or stops delivering for 2 s ends its track.
//!
//! Why `v4l` rather than nokhwa: nokhwa's Linux backend is `v4l` itself under a cross-platform
//! layer that hides what is needed here (the driver's timestamps and sequence numbers, EBUSY
//! as such, exact formats); it would add a dependency tree for nothing.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use v4l::buffer::{Flags as BufFlags, Type};
use v4l::capability::Flags as CapFlags;
use v4l::frameinterval::FrameIntervalEnum;
use v4l::framesize::FrameSizeEnum;
use v4l::io::traits::CaptureStream;
use v4l::prelude::{Device, MmapStream};
use v4l::video::Capture;
use v4l::{Format, FourCC, Fraction};

use crate::core::media::clock_ns;
use crate::core::source::camera::formats::{to_frame, CameraFormat};
use crate::core::source::camera::{CameraConstraints, CameraInfo};
use crate::core::source::{hashed, overconstrained as over};
use crate::core::track::{Admission, Track, TrackClock, TrackKind, TrackSettings};
use crate::core::{Error, Result};

/// How often the capture thread looks whether its track was stopped.
const POLL: Duration = Duration::from_millis(100);
/// Emulated or USB cameras can take a second or more to deliver their first frame.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
const STALL_TIMEOUT: Duration = Duration::from_secs(2);
const PREFERENCE: [CameraFormat; 3] = [CameraFormat::Yuyv, CameraFormat::Nv12, CameraFormat::Mjpeg];

/// The device nodes this process streams from. A track that was stopped closes its camera
/// within one poll; opening the same camera meanwhile waits for that rather than failing busy.
static HELD: Mutex<Vec<(String, std::sync::Weak<Track>)>> = Mutex::new(Vec::new());
static RELEASED: Condvar = Condvar::new();

fn release(path: &str) {
    let mut held = HELD.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    held.retain(|(p, _)| p != path);
    RELEASED.notify_all();
}

/// Waits (at most 2 s) while a track of ours that has ended still holds `path`.
fn wait_released(path: &str) {
    let mut held = HELD.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let deadline = Instant::now() + Duration::from_secs(2);
    while held.iter().any(|(p, t)| p == path && t.upgrade().is_none_or(|t| !t.is_live())) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        held =
            RELEASED.wait_timeout(held, left).unwrap_or_else(std::sync::PoisonError::into_inner).0;
    }
}

struct Node {
    path: String,
    info: CameraInfo,
}

/// `/dev/videoN` nodes that capture video in a format we convert, in N order.
fn scan() -> Vec<Node> {
    let mut paths: Vec<(u32, String)> = std::fs::read_dir("/dev")
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let n = name.strip_prefix("video")?.parse::<u32>().ok()?;
                    Some((n, format!("/dev/{name}")))
                })
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    let mut out: Vec<Node> = Vec::new();
    for (_, path) in paths {
        let Ok(dev) = Device::with_path(&path) else { continue };
        let Ok(caps) = dev.query_caps() else { continue };
        if !caps.capabilities.contains(CapFlags::VIDEO_CAPTURE) || formats(&dev).is_empty() {
            continue;
        }
        // One device can have several capture nodes on one bus: number them.
        let same =
            out.iter().filter(|n| n.info.group_id == hashed(&["group", "\0", &caps.bus])).count();
        let key = format!("{}\u{0}{}\u{0}{same}", caps.bus, caps.card);
        out.push(Node {
            path,
            info: CameraInfo {
                device_id: hashed(&["videoinput", "\0", &key]),
                label: caps.card.clone(),
                group_id: hashed(&["group", "\0", &caps.bus]),
            },
        });
    }
    out
}

pub fn enumerate() -> Vec<CameraInfo> {
    scan().into_iter().map(|n| n.info).collect()
}

fn formats(dev: &Device) -> Vec<CameraFormat> {
    let found: Vec<CameraFormat> = dev
        .enum_formats()
        .unwrap_or_default()
        .iter()
        .filter_map(|d| CameraFormat::from_fourcc(&d.fourcc.repr))
        .collect();
    PREFERENCE.into_iter().filter(|f| found.contains(f)).collect()
}

fn sizes(dev: &Device, f: CameraFormat) -> Vec<FrameSizeEnum> {
    dev.enum_framesizes(FourCC::new(&f.fourcc()))
        .map(|v| v.into_iter().map(|s| s.size).collect())
        .unwrap_or_default()
}

fn size_ok(s: &FrameSizeEnum, w: Option<u32>, h: Option<u32>) -> Option<(u32, u32)> {
    match s {
        FrameSizeEnum::Discrete(d) => (w.is_none_or(|w| w == d.width)
            && h.is_none_or(|h| h == d.height))
        .then_some((d.width, d.height)),
        FrameSizeEnum::Stepwise(s) => {
            let fits = |v: u32, min: u32, max: u32, step: u32| {
                (min..=max).contains(&v) && (v - min).is_multiple_of(step.max(1))
            };
            let w = w.unwrap_or(s.max_width.min(640).max(s.min_width));
            let h = h.unwrap_or(s.max_height.min(480).max(s.min_height));
            (fits(w, s.min_width, s.max_width, s.step_width)
                && fits(h, s.min_height, s.max_height, s.step_height))
            .then_some((w, h))
        }
    }
}

fn fps(f: Fraction) -> f64 {
    f.denominator as f64 / f.numerator.max(1) as f64
}

fn rate_ok(dev: &Device, f: CameraFormat, w: u32, h: u32, rate: f64) -> bool {
    let close = |r: f64| (r - rate).abs() <= rate * 0.005;
    dev.enum_frameintervals(FourCC::new(&f.fourcc()), w, h)
        .map(|v| {
            v.iter().any(|i| match &i.interval {
                FrameIntervalEnum::Discrete(fr) => close(fps(*fr)),
                // Slowest..fastest: `max` is the longest interval.
                FrameIntervalEnum::Stepwise(s) => {
                    rate >= fps(s.max) * 0.995 && rate <= fps(s.min) * 1.005
                }
            })
        })
        .unwrap_or(false)
}

fn busy_or(e: io::Error, what: &str, label: &str) -> Error {
    if e.raw_os_error() == Some(libc::EBUSY) {
        Error::NotReadable(format!(
            "the camera {label:?} is busy (another program is capturing from it)"
        ))
    } else {
        Error::NotReadable(format!("cannot {what} the camera {label:?}: {e}"))
    }
}

/// The format, size and rate that meet `c`, or the constraint that cannot be met.
fn choose(dev: &Device, c: &CameraConstraints, label: &str) -> Result<(CameraFormat, u32, u32)> {
    let current = dev.format().map_err(|e| busy_or(e, "query", label))?;
    let (w, h) = match (c.width, c.height) {
        (None, None) => (Some(current.width), Some(current.height)),
        other => other,
    };
    let mut with_width = false;
    let mut sized: Vec<(CameraFormat, u32, u32)> = Vec::new();
    let offered = formats(dev);
    if let Some(want) = c.pixel_format {
        if !offered.contains(&want) {
            return Err(over(
                "pixel_format",
                format!("pixel_format: the camera {label:?} does not deliver {}", want.name()),
            ));
        }
    }
    for f in offered.into_iter().filter(|f| c.pixel_format.is_none_or(|p| p == *f)) {
        for s in sizes(dev, f) {
            with_width |= size_ok(&s, w, None).is_some();
            if let Some((sw, sh)) = size_ok(&s, w, h) {
                sized.push((f, sw, sh));
            }
        }
    }
    if sized.is_empty() {
        let (name, got) = if with_width { ("height", h) } else { ("width", w) };
        return Err(over(
            name,
            format!(
                "{name}: the camera {label:?} cannot capture {} pixels {}",
                got.unwrap_or(0),
                if name == "width" { "wide" } else { "high" }
            ),
        ));
    }
    let Some(rate) = c.frame_rate else { return Ok(sized[0]) };
    sized
        .into_iter()
        .find(|&(f, sw, sh)| rate_ok(dev, f, sw, sh, rate))
        .ok_or_else(|| over("frame_rate", format!("frame_rate: the camera {label:?} cannot capture at {rate} frames a second at that size")))
}

pub struct CameraCapture {
    track: Arc<Track>,
    format: CameraFormat,
}

impl CameraCapture {
    /// Opens the camera that meets `c`, starts streaming and waits until it streams.
    pub fn open(c: CameraConstraints) -> Result<Self> {
        let (tx, rx) = crossbeam_channel::bounded::<Result<(Arc<Track>, CameraFormat)>>(1);
        thread::Builder::new()
            .name("mediarecorder-camera".into())
            .spawn(move || match start(&c) {
                Ok((stream, track, setup)) => {
                    let path = setup.path.clone();
                    let held = (path.clone(), Arc::downgrade(&track));
                    HELD.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(held);
                    let _ = tx.send(Ok((track.clone(), setup.format)));
                    capture(stream, track, setup);
                    release(&path);
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            })
            .map_err(|e| Error::NotReadable(format!("cannot start the camera thread: {e}")))?;
        let (track, format) = rx
            .recv()
            .map_err(|_| Error::NotReadable("the camera thread ended while opening".into()))??;
        Ok(CameraCapture { track, format })
    }

    pub fn track(&self) -> &Arc<Track> {
        &self.track
    }

    /// The format the camera delivers (before conversion to I420).
    pub fn format(&self) -> CameraFormat {
        self.format
    }
}

struct Setup {
    path: String,
    format: CameraFormat,
    width: u32,
    height: u32,
    stride: u32,
}

fn start(c: &CameraConstraints) -> Result<(MmapStream<'static>, Arc<Track>, Setup)> {
    let nodes = scan();
    let node = match &c.device_id {
        Some(id) => nodes
            .into_iter()
            .find(|n| &n.info.device_id == id)
            .ok_or_else(|| over("device_id", format!("device_id: no camera has id {id:?}")))?,
        None => nodes.into_iter().next().ok_or_else(|| {
            Error::NotFound("no camera was found (no V4L2 video capture device in /dev)".into())
        })?,
    };
    let label = node.info.label.clone();
    wait_released(&node.path);
    let dev = Device::with_path(&node.path).map_err(|e| busy_or(e, "open", &label))?;
    let (format, width, height) = choose(&dev, c, &label)?;
    let set = dev
        .set_format(&Format::new(width, height, FourCC::new(&format.fourcc())))
        .map_err(|e| busy_or(e, "configure", &label))?;
    if (set.width, set.height, set.fourcc.repr) != (width, height, format.fourcc()) {
        return Err(Error::NotReadable(format!(
            "the camera {label:?} did not take {width}x{height} {} (it set {}x{} {})",
            format.name(),
            set.width,
            set.height,
            set.fourcc
        )));
    }
    let mut rate = dev.params().map(|p| fps(p.interval)).unwrap_or(30.0);
    if let Some(want) = c.frame_rate {
        let mut params = dev.params().map_err(|e| busy_or(e, "query", &label))?;
        params.interval = Fraction::new(1000, (want * 1000.0).round() as u32);
        let got = dev.set_params(&params).map_err(|e| busy_or(e, "configure", &label))?;
        rate = fps(got.interval);
        if (rate - want).abs() > want * 0.005 {
            return Err(over(
                "frame_rate",
                format!(
                    "frame_rate: the camera {label:?} set {rate:.3} frames a second, not {want}"
                ),
            ));
        }
    }
    let mut stream = MmapStream::with_buffers(&dev, Type::VideoCapture, 4)
        .map_err(|e| busy_or(e, "start", &label))?;
    // The first `next()` queues the buffers and starts streaming; a camera that another
    // program streams from has refused the buffers (EBUSY) by now.
    stream.set_timeout(STARTUP_TIMEOUT);
    let settings = TrackSettings {
        width: Some(width),
        height: Some(height),
        frame_rate: Some(rate),
        device_id: Some(node.info.device_id.clone()),
        ..Default::default()
    };
    let track = Track::new(TrackKind::Video, label, settings, TrackClock::Live);
    Ok((stream, track, Setup { path: node.path, format, width, height, stride: set.stride }))
}

/// Driver timestamps onto [`clock_ns`]: monotonic ones by the offset between the two clocks,
/// others anchored at the first frame. Never backwards.
struct Timeline {
    offset: Option<i64>,
    last: i64,
}

fn monotonic_ns() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

impl Timeline {
    fn map(&mut self, driver_ns: i64, monotonic: bool) -> i64 {
        let now = clock_ns();
        let offset = *self.offset.get_or_insert_with(|| {
            if monotonic {
                now - monotonic_ns()
            } else {
                now - driver_ns
            }
        });
        let mut t = driver_ns + offset;
        // A bogus or jumping driver clock: re-anchor at now.
        if t > now + 50_000_000 || t < now - 2_000_000_000 {
            self.offset = Some(now - driver_ns);
            t = now;
        }
        t = t.max(self.last + 1);
        self.last = t;
        t
    }
}

fn capture(mut stream: MmapStream<'static>, track: Arc<Track>, s: Setup) {
    let mut timeline = Timeline { offset: None, last: i64::MIN / 2 };
    let mut last_seq: Option<u32> = None;
    let mut last_frame = Instant::now();
    let handle = stream.handle();
    let mut started = false;
    while track.is_live() {
        // The v4l crate's own timeout is not safe to retry (its next() re-queues a buffer that
        // was never dequeued), so wait here, and call next() only once a buffer is ready. The
        // first next() queues the buffers and starts streaming: there is nothing to wait on
        // before it, and it waits for the first frame with the startup timeout.
        if started {
            match handle.poll(libc::POLLIN, POLL.as_millis() as i32) {
                Ok(0) => {
                    if last_frame.elapsed() > STALL_TIMEOUT {
                        break;
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        started = true;
        // ENODEV (unplugged), a first frame that never came, any other failure: gone.
        let Ok((data, meta)) = CaptureStream::next(&mut stream) else { break };
        last_frame = Instant::now();
        let stats = track.stats();
        stats.total_frames.fetch_add(1, Ordering::Relaxed);
        if let Some(prev) = last_seq {
            let gap = meta.sequence.wrapping_sub(prev).saturating_sub(1);
            stats.dropped_frames.fetch_add(gap as u64, Ordering::Relaxed);
        }
        last_seq = Some(meta.sequence);
        let monotonic = meta.flags.contains(BufFlags::TIMESTAMP_MONOTONIC);
        let driver = meta.timestamp.sec * 1_000_000_000 + meta.timestamp.usec * 1000;
        let time = timeline.map(driver, monotonic);
        let used = (meta.bytesused as usize).min(data.len());
        let bad = meta.flags.contains(BufFlags::ERROR);
        match to_frame(s.format, s.width, s.height, s.stride, &data[..used], time) {
            Ok(frame) if !bad => {
                track.push_video(frame, Admission::none(TrackKind::Video));
            }
            // A corrupt buffer (the driver's ERROR flag, an undecodable JPEG) is lost.
            _ => {
                stats.dropped_frames.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    track.end();
    // Dropping the stream stops it; the v4l crate panics on an unexpected STREAMOFF error,
    // which must not take the process down with it.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(stream)));
}
