//! System audio: what the machine plays, read from the default output's monitor through
//! libpulse-simple, which PulseAudio and PipeWire (pipewire-pulse) both serve. The library is
//! loaded on first use, like libasound for devices, so `import mediarecorder` never needs it.
//!
//! A monitor runs on the server's clock even when nothing plays (then it gives silence), so the
//! capture thread's blocking reads pace it; samples are timed from their count, anchored once
//! to the shared clock, as a device's are. The track ends when the server goes away.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::{Arc, OnceLock};
use std::thread;

use super::SampleClock;
use crate::core::source::hashed;
use crate::core::track::{Track, TrackClock, TrackKind, TrackSettings};
use crate::core::{Error, Result};

/// PulseAudio's name for the default sink's monitor source, whichever sink that is.
pub const DEFAULT_MONITOR: &str = "@DEFAULT_MONITOR@";
pub const RATE: u32 = 48_000;
pub const CHANNELS: u16 = 2;
/// 10 ms reads: the block size on the track, and the latency asked of the server.
const BLOCK_FRAMES: usize = RATE as usize / 100;

const PA_SAMPLE_FLOAT32LE: c_int = 5;
const PA_STREAM_RECORD: c_int = 2;

#[repr(C)]
struct SampleSpec {
    format: c_int,
    rate: u32,
    channels: u8,
}

#[repr(C)]
struct BufferAttr {
    maxlength: u32,
    tlength: u32,
    prebuf: u32,
    minreq: u32,
    fragsize: u32,
}

type NewFn = unsafe extern "C" fn(
    *const c_char,
    *const c_char,
    c_int,
    *const c_char,
    *const c_char,
    *const SampleSpec,
    *const c_void,
    *const BufferAttr,
    *mut c_int,
) -> *mut c_void;

struct Api {
    new: NewFn,
    read: unsafe extern "C" fn(*mut c_void, *mut c_void, usize, *mut c_int) -> c_int,
    free: unsafe extern "C" fn(*mut c_void),
    strerror: unsafe extern "C" fn(c_int) -> *const c_char,
    _lib: libloading::Library,
}

fn load() -> std::result::Result<Api, String> {
    // SAFETY: libpulse-simple runs no initialisers that need anything of us.
    let lib = unsafe { libloading::Library::new("libpulse-simple.so.0") }.map_err(|e| {
        format!(
            "system audio needs libpulse-simple.so.0 (PulseAudio's client library, which also \
             reaches PipeWire): install libpulse0 (Debian, Ubuntu: apt-get install libpulse0; \
             Fedora: pulseaudio-libs). ({e})"
        )
    })?;
    macro_rules! sym {
        ($name:literal) => {
            // SAFETY: the signatures are libpulse-simple's, stable since PulseAudio 0.9.
            *unsafe { lib.get($name) }.map_err(|e| format!("libpulse-simple is broken: {e}"))?
        };
    }
    Ok(Api {
        new: sym!(b"pa_simple_new\0"),
        read: sym!(b"pa_simple_read\0"),
        free: sym!(b"pa_simple_free\0"),
        strerror: sym!(b"pa_strerror\0"),
        _lib: lib,
    })
}

fn api() -> Result<&'static Api> {
    static API: OnceLock<std::result::Result<Api, String>> = OnceLock::new();
    API.get_or_init(load).as_ref().map_err(|e| Error::NotReadable(e.clone()))
}

fn describe(api: &Api, code: c_int) -> String {
    // SAFETY: pa_strerror returns a static string (or null for an unknown code).
    let s = unsafe { (api.strerror)(code) };
    if s.is_null() {
        return format!("error {code}");
    }
    // SAFETY: non-null, NUL-terminated and static.
    unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned()
}

/// One record stream of the server.
struct Stream {
    api: &'static Api,
    raw: *mut c_void,
}

// SAFETY: a pa_simple is used from one thread at a time (it moves to the capture thread).
unsafe impl Send for Stream {}

impl Stream {
    fn open(source: &str) -> Result<Stream> {
        let api = api()?;
        let spec = SampleSpec { format: PA_SAMPLE_FLOAT32LE, rate: RATE, channels: CHANNELS as u8 };
        let bytes = (BLOCK_FRAMES * CHANNELS as usize * 4) as u32;
        let attr = BufferAttr {
            maxlength: u32::MAX,
            tlength: u32::MAX,
            prebuf: u32::MAX,
            minreq: u32::MAX,
            fragsize: bytes,
        };
        let c =
            |s: &str| CString::new(s).map_err(|_| Error::InvalidValue("a NUL in a name".into()));
        let (app, dev, name) = (c("mediarecorder")?, c(source)?, c("system audio")?);
        let mut code = 0;
        // SAFETY: every pointer is valid for the call (server and channel map: defaults).
        let raw = unsafe {
            (api.new)(
                std::ptr::null(),
                app.as_ptr(),
                PA_STREAM_RECORD,
                dev.as_ptr(),
                name.as_ptr(),
                &spec,
                std::ptr::null(),
                &attr,
                &mut code,
            )
        };
        if raw.is_null() {
            return Err(Error::NotReadable(format!(
                "system audio: cannot record {source} from the sound server: {}",
                describe(api, code)
            )));
        }
        Ok(Stream { api, raw })
    }

    fn read(&mut self, buf: &mut [f32]) -> std::result::Result<(), String> {
        let mut code = 0;
        let bytes = std::mem::size_of_val(buf);
        // SAFETY: `raw` is open until drop; `buf` holds `bytes` bytes.
        let r = unsafe { (self.api.read)(self.raw, buf.as_mut_ptr().cast(), bytes, &mut code) };
        if r < 0 {
            return Err(describe(self.api, code));
        }
        Ok(())
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        // SAFETY: open until here, freed once.
        unsafe { (self.api.free)(self.raw) };
    }
}

/// The `enumerate_devices()` entry of the default output's monitor, where a sound server
/// answers: (device_id, label).
pub fn probe() -> Option<(String, String)> {
    Stream::open(DEFAULT_MONITOR).ok()?;
    Some((device_id(), "Monitor of the default output (system audio)".into()))
}

pub fn device_id() -> String {
    hashed(&["audioinput", DEFAULT_MONITOR])
}

/// The default output's monitor, captured to a track.
pub struct MonitorCapture {
    track: Arc<Track>,
    thread: Option<thread::JoinHandle<()>>,
    exited: crossbeam_channel::Receiver<()>,
}

impl MonitorCapture {
    pub fn open() -> Result<Self> {
        let stream = Stream::open(DEFAULT_MONITOR)?;
        let settings = TrackSettings {
            sample_rate: Some(RATE),
            channel_count: Some(CHANNELS),
            device_id: Some(device_id()),
            ..Default::default()
        };
        let label = "Monitor of the default output (system audio)".to_string();
        let track = Track::new(TrackKind::Audio, label, settings, TrackClock::Live);
        let (exiting, exited) = crossbeam_channel::bounded::<()>(0);
        let t = track.clone();
        let thread = thread::Builder::new()
            .name("mediarecorder-monitor".into())
            .spawn(move || {
                run(stream, &t);
                drop(exiting);
            })
            .map_err(|e| Error::NotReadable(format!("cannot start the capture thread: {e}")))?;
        Ok(MonitorCapture { track, thread: Some(thread), exited })
    }

    pub fn track(&self) -> &Arc<Track> {
        &self.track
    }
}

fn run(mut stream: Stream, track: &Track) {
    let mut buf = vec![0f32; BLOCK_FRAMES * CHANNELS as usize];
    let mut clock = SampleClock::default();
    let stats = track.stats();
    while track.is_live() {
        if stream.read(&mut buf).is_err() {
            track.end();
            return;
        }
        stats.total_frames.fetch_add(BLOCK_FRAMES as u64, std::sync::atomic::Ordering::Relaxed);
        clock.deliver(track, &buf, RATE, CHANNELS);
    }
}

impl Drop for MonitorCapture {
    /// Ends the track; the thread sees it after its current 10 ms read and closes the stream.
    fn drop(&mut self) {
        super::end_and_join(&self.track, self.thread.take(), &self.exited);
    }
}
