//! Sound devices through cpal, which lives in the device plugin (`plugin.rs`), loaded on
//! first use so that nothing here needs libasound until a device is asked for.
//!
//! Real-time contract (kept inside the plugin): the cpal data callback only copies whole frames
//! into a pre-sized lock-free SPSC ring and bumps counters. No lock, no allocation, no Python. A
//! capture thread owns the stream, drains the ring every few milliseconds and pushes blocks to
//! the track; it may wait on a full recorder queue, which the ring (2 s) absorbs. If the ring
//! ever overflows, the frames that did not fit are counted in the track's `dropped_frames`.
//! A device that fails (an error from cpal, or callbacks that stop) ends its track, which
//! ends recordings of it the spec's way, with everything captured so far delivered.

pub mod monitor;
pub mod plugin;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use self::plugin::{self as device_plugin, PluginStream};
use crate::core::media::{clock_ns, AudioBlock};
use crate::core::source::{hashed, overconstrained};
use crate::core::track::{Admission, Track, TrackClock, TrackKind, TrackSettings};
use crate::core::{Error, Result};

const DRAIN_EVERY: Duration = Duration::from_millis(5);
/// A device that stops calling back is gone: ALSA's pulse plugin reports nothing when its
/// server disappears, the callbacks just stop. The first callback may take over a second.
const STALL_TIMEOUT: Duration = Duration::from_secs(2);
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// One entry of `enumerate_devices()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub device_id: String,
    /// "audioinput" or "audiooutput".
    pub kind: &'static str,
    pub label: String,
    pub group_id: String,
}

/// `get_user_media({"audio": {...}})` constraints; every one given must be met exactly.
#[derive(Debug, Clone, Default)]
pub struct AudioConstraints {
    pub device_id: Option<String>,
    pub sample_rate: Option<u32>,
    pub channel_count: Option<u16>,
}

/// Scans the default host's devices now (hot-plugged devices appear on the next call).
pub fn enumerate() -> Result<Vec<DeviceInfo>> {
    let mut out = Vec::new();
    for device in device_plugin::enumerate()? {
        for (kind, supported) in [("audioinput", device.input), ("audiooutput", device.output)] {
            if supported {
                out.push(DeviceInfo {
                    device_id: hashed(&[kind, &device.host_id]),
                    kind,
                    label: device.label.clone(),
                    group_id: hashed(&["group", &device.host_id]),
                });
            }
        }
    }
    Ok(out)
}

/// The host's own id of the input device whose hashed id is `device_id`.
fn find_input(device_id: &str) -> Result<Option<String>> {
    Ok(device_plugin::enumerate()?
        .into_iter()
        .find(|d| d.input && hashed(&["audioinput", &d.host_id]) == device_id)
        .map(|d| d.host_id))
}

/// An open input device feeding a track.
pub struct DeviceCapture {
    track: Arc<Track>,
    thread: Option<thread::JoinHandle<()>>,
    /// Disconnected when the capture thread has closed the device and is about to exit.
    exited: crossbeam_channel::Receiver<()>,
}

/// How long dropping a capture waits for its device to close. ALSA's pulse plugin can block
/// for good in close when its server has gone away: such a thread is left behind.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Ends a capture's `track`, which ends its thread's loop, and joins the thread once it has
/// exited (`exited` disconnects when it does): a thread stuck in its sound stack longer than
/// `CLOSE_TIMEOUT` is left to finish alone rather than hang the caller.
pub(crate) fn end_and_join(
    track: &Track,
    thread: Option<thread::JoinHandle<()>>,
    exited: &crossbeam_channel::Receiver<()>,
) {
    track.end();
    if let Some(handle) = thread {
        let closed = matches!(
            exited.recv_timeout(CLOSE_TIMEOUT),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected)
        );
        if closed {
            let _ = handle.join();
        }
    }
}

impl DeviceCapture {
    /// Opens the device that meets `c` and starts capturing. Waits until the stream is running.
    pub fn open(c: AudioConstraints) -> Result<Self> {
        let (tx, rx) = crossbeam_channel::bounded::<Result<Arc<Track>>>(1);
        let (exiting, exited) = crossbeam_channel::bounded::<()>(0);
        let handle = thread::Builder::new()
            .name("mediarecorder-capture".into())
            .spawn(move || {
                capture_thread(c, tx);
                drop(exiting);
            })
            .map_err(|e| Error::NotReadable(format!("cannot start the capture thread: {e}")))?;
        let track = rx
            .recv()
            .map_err(|_| Error::NotReadable("the capture thread ended while opening".into()))??;
        Ok(DeviceCapture { track, thread: Some(handle), exited })
    }

    pub fn track(&self) -> &Arc<Track> {
        &self.track
    }
}

impl Drop for DeviceCapture {
    /// Ends the track, which ends the capture loop: the thread closes the device and exits.
    /// The join is short (a wait for room gives up once the track has ended); the binding
    /// drops this without the GIL.
    fn drop(&mut self) {
        end_and_join(&self.track, self.thread.take(), &self.exited);
    }
}

fn capture_thread(c: AudioConstraints, reply: crossbeam_channel::Sender<Result<Arc<Track>>>) {
    let (mut stream, track) = match open_stream(&c) {
        Ok(v) => v,
        Err(e) => {
            let _ = reply.send(Err(e));
            return;
        }
    };
    let _ = reply.send(Ok(track.clone()));
    let (rate, channels) = (stream.sample_rate, stream.channels);
    let mut buf = vec![0f32; stream.capacity()];
    let (mut last_total, mut last_progress) = (0u64, Instant::now());
    let mut clock = SampleClock::default();
    let stats = track.stats();
    loop {
        if !track.is_live() {
            break;
        }
        let counters = stream.counters();
        stats.total_frames.store(counters.total_frames, Ordering::Relaxed);
        stats.dropped_frames.store(counters.dropped_frames, Ordering::Relaxed);
        stats.device_overruns.store(counters.device_overruns, Ordering::Relaxed);
        let total = counters.total_frames;
        let mut failed = counters.failed != 0;
        if total != last_total {
            (last_total, last_progress) = (total, Instant::now());
        } else if last_progress.elapsed() > if total == 0 { STARTUP_TIMEOUT } else { STALL_TIMEOUT }
        {
            failed = true;
        }
        let n = stream.read(&mut buf);
        if n > 0 {
            clock.deliver(&track, &buf[..n], rate, channels);
        }
        if failed {
            // Everything captured before the failure is still delivered, then the track ends.
            loop {
                let n = stream.read(&mut buf);
                if n == 0 {
                    break;
                }
                clock.deliver(&track, &buf[..n], rate, channels);
            }
            track.end();
            break;
        }
        if n == 0 {
            thread::sleep(DRAIN_EVERY);
        }
    }
    // Dropping the stream closes the device.
    drop(stream);
}

fn open_stream(c: &AudioConstraints) -> Result<(PluginStream, Arc<Track>)> {
    let host_id = match &c.device_id {
        Some(id) => Some(find_input(id)?.ok_or_else(|| {
            overconstrained("device_id", format!("device_id: no audio input device has id {id:?}"))
        })?),
        None => None,
    };
    let stream = PluginStream::open(host_id.as_deref(), c.sample_rate, c.channel_count)?;
    let settings = TrackSettings {
        sample_rate: Some(stream.sample_rate),
        channel_count: Some(stream.channels),
        device_id: (!stream.host_id.is_empty()).then(|| hashed(&["audioinput", &stream.host_id])),
        ..Default::default()
    };
    let track = Track::new(TrackKind::Audio, stream.label.clone(), settings, TrackClock::Live);
    Ok((stream, track))
}

/// Media time from the sample counter, anchored to [`clock_ns`] once, at the first block.
#[derive(Default)]
pub(crate) struct SampleClock {
    anchor: Option<i64>,
    frames: u64,
}

impl SampleClock {
    pub(crate) fn deliver(&mut self, track: &Track, samples: &[f32], rate: u32, channels: u16) {
        let frames = (samples.len() / channels as usize) as u64;
        let anchor = *self
            .anchor
            .get_or_insert_with(|| clock_ns() - (frames as i64 * 1_000_000_000 / rate as i64));
        let time = anchor + (self.frames as u128 * 1_000_000_000 / rate as u128) as i64;
        self.frames += frames;
        // The ring (2 s) absorbs the wait; this thread has no interrupt check installed.
        let admission = track.wait_room().unwrap_or_else(|| Admission::none(TrackKind::Audio));
        let block = AudioBlock { sample_rate: rate, channels, time, samples: samples.to_vec() };
        track.push_audio(block, admission);
    }
}
