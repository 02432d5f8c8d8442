//! Sound devices through cpal.
//!
//! Real-time contract: the cpal data callback only copies whole frames into a pre-sized
//! lock-free SPSC ring (ringbuf) and bumps counters. No lock, no allocation, no Python. A
//! capture thread owns the stream, drains the ring every few milliseconds and pushes blocks to
//! the track; it may wait on a full recorder queue, which the ring (2 s) absorbs. If the ring
//! ever overflows, the frames that did not fit are counted in the track's `dropped_frames`.
//! A device that fails (an error from cpal, or callbacks that stop) ends its track, which
//! ends recordings of it the spec's way, with everything captured so far delivered.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{ErrorKind, SampleFormat};
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::HeapRb;

use crate::core::media::{clock_ns, AudioBlock};
use crate::core::track::{Track, TrackClock, TrackKind, TrackSettings, TrackStats};
use crate::core::{Error, Result};

const RING_SECONDS: usize = 2;
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

/// Opaque ids that stay the same across calls and processes: a hash of the host's own id, as
/// browsers hash theirs. Input and output of one device share a `group_id`.
fn hashed(prefix: &str, id: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in prefix.bytes().chain(id.bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn host_id(device: &cpal::Device) -> Option<String> {
    device.id().ok().map(|id| id.to_string())
}

fn label(device: &cpal::Device) -> String {
    device.description().map(|d| d.name().to_string()).unwrap_or_else(|_| device.to_string())
}

/// Scans the default host's devices now (hot-plugged devices appear on the next call).
pub fn enumerate() -> Result<Vec<DeviceInfo>> {
    let host = cpal::default_host();
    let devices = host
        .devices()
        .map_err(|e| Error::NotReadable(format!("cannot list audio devices: {e}")))?;
    let mut out = Vec::new();
    for device in devices {
        let Some(id) = host_id(&device) else { continue };
        let name = label(&device);
        for (kind, supported) in
            [("audioinput", device.supports_input()), ("audiooutput", device.supports_output())]
        {
            if supported {
                out.push(DeviceInfo {
                    device_id: hashed(kind, &id),
                    kind,
                    label: name.clone(),
                    group_id: hashed("group", &id),
                });
            }
        }
    }
    Ok(out)
}

fn find_input(host: &cpal::Host, device_id: &str) -> Result<Option<cpal::Device>> {
    let devices = host
        .input_devices()
        .map_err(|e| Error::NotReadable(format!("cannot list audio input devices: {e}")))?;
    Ok(devices
        .into_iter()
        .find(|d| host_id(d).is_some_and(|id| hashed("audioinput", &id) == device_id)))
}

fn overconstrained(constraint: &str, message: String) -> Error {
    Error::Overconstrained { constraint: constraint.into(), message }
}

/// Picks the stream configuration that meets the constraints, or names the one that cannot be met.
fn choose_config(
    device: &cpal::Device,
    c: &AudioConstraints,
) -> Result<(cpal::StreamConfig, SampleFormat)> {
    let default = device
        .default_input_config()
        .map_err(|e| Error::NotReadable(format!("cannot query the input device: {e}")))?;
    let ranges: Vec<_> = device
        .supported_input_configs()
        .map_err(|e| Error::NotReadable(format!("cannot query the input device: {e}")))?
        .filter(|r| matches!(r.sample_format(), SampleFormat::F32 | SampleFormat::I16))
        .collect();
    let channels = c.channel_count.unwrap_or(default.channels());
    let rate = c.sample_rate.unwrap_or(default.sample_rate());
    let with_channels: Vec<_> = ranges.iter().filter(|r| r.channels() == channels).collect();
    if with_channels.is_empty() {
        return Err(overconstrained(
            "channel_count",
            format!("channel_count: the device cannot capture {channels} channel(s)"),
        ));
    }
    let range = with_channels
        .iter()
        .filter(|r| r.min_sample_rate() <= rate && rate <= r.max_sample_rate())
        .max_by_key(|r| r.sample_format() == SampleFormat::F32)
        .ok_or_else(|| {
            overconstrained(
                "sample_rate",
                format!("sample_rate: the device cannot capture at {rate} Hz"),
            )
        })?;
    if !(crate::core::source::audio::MIN_SAMPLE_RATE..=crate::core::source::audio::MAX_SAMPLE_RATE)
        .contains(&rate)
        || channels > crate::core::source::audio::MAX_CHANNELS
    {
        return Err(overconstrained(
            if c.sample_rate.is_some() { "sample_rate" } else { "channel_count" },
            format!("the device's format ({rate} Hz, {channels} ch) cannot be recorded"),
        ));
    }
    let config = cpal::StreamConfig {
        channels,
        sample_rate: rate,
        buffer_size: buffer_size(range.buffer_size(), rate),
    };
    Ok((config, range.sample_format()))
}

struct Shared {
    failed: AtomicBool,
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
        self.track.end();
        if let Some(handle) = self.thread.take() {
            let closed = matches!(
                self.exited.recv_timeout(CLOSE_TIMEOUT),
                Err(crossbeam_channel::RecvTimeoutError::Disconnected)
            );
            if closed {
                let _ = handle.join();
            }
        }
    }
}

fn capture_thread(c: AudioConstraints, reply: crossbeam_channel::Sender<Result<Arc<Track>>>) {
    let opened = open_stream(&c);
    let (stream, mut cons, track, shared, channels, rate) = match opened {
        Ok(v) => v,
        Err(e) => {
            let _ = reply.send(Err(e));
            return;
        }
    };
    let _ = reply.send(Ok(track.clone()));
    let ch = channels as usize;
    let mut buf = vec![0f32; cons.capacity().get()];
    let (mut last_total, mut last_progress) = (0u64, Instant::now());
    let mut clock = SampleClock::default();
    loop {
        if !track.is_live() {
            break;
        }
        let total = track.stats().total_frames.load(Ordering::Relaxed);
        if total != last_total {
            (last_total, last_progress) = (total, Instant::now());
        } else if last_progress.elapsed() > if total == 0 { STARTUP_TIMEOUT } else { STALL_TIMEOUT }
        {
            shared.failed.store(true, Ordering::Release);
        }
        if shared.failed.load(Ordering::Acquire) {
            // Everything captured before the failure is still delivered, then the track ends.
            let n = cons.occupied_len() / ch * ch;
            let n = cons.pop_slice(&mut buf[..n]);
            if n > 0 {
                clock.deliver(&track, &buf[..n], rate, channels);
            }
            track.end();
            break;
        }
        let n = (cons.occupied_len() / ch * ch).min(buf.len() / ch * ch);
        if n == 0 {
            thread::sleep(DRAIN_EVERY);
            continue;
        }
        let n = cons.pop_slice(&mut buf[..n]);
        clock.deliver(&track, &buf[..n], rate, channels);
    }
    // Dropping the stream closes the device.
    drop(stream);
}

type Opened = (cpal::Stream, ringbuf::HeapCons<f32>, Arc<Track>, Arc<Shared>, u16, u32);

fn open_stream(c: &AudioConstraints) -> Result<Opened> {
    let host = cpal::default_host();
    let device = match &c.device_id {
        Some(id) => find_input(&host, id)?.ok_or_else(|| {
            overconstrained("device_id", format!("device_id: no audio input device has id {id:?}"))
        })?,
        None => {
            // ALSA names a "default" device even where none exists: ask for the list too.
            let any = host.input_devices().map(|mut d| d.next().is_some()).unwrap_or(false);
            host.default_input_device()
                .filter(|_| any)
                .ok_or_else(|| Error::NotFound("no audio input device was found".into()))?
        }
    };
    let (config, format) = choose_config(&device, c)?;
    let (channels, rate) = (config.channels, config.sample_rate);
    let settings = TrackSettings {
        sample_rate: Some(rate),
        channel_count: Some(channels),
        device_id: host_id(&device).map(|id| hashed("audioinput", &id)),
        ..Default::default()
    };
    let track = Track::new(TrackKind::Audio, label(&device), settings, TrackClock::Live);
    let ring = HeapRb::<f32>::new(rate as usize * channels as usize * RING_SECONDS);
    let (mut prod, cons) = ring.split();
    let shared = Arc::new(Shared { failed: AtomicBool::new(false) });
    let stats = StatsHandle(track.clone());
    let ch = channels as usize;

    let on_error = {
        let shared = shared.clone();
        let stats = StatsHandle(track.clone());
        move |e: cpal::Error| match e.kind() {
            ErrorKind::Xrun => {
                stats.0.stats().device_overruns.fetch_add(1, Ordering::Relaxed);
            }
            ErrorKind::DeviceNotAvailable
            | ErrorKind::HostUnavailable
            | ErrorKind::StreamInvalidated
            | ErrorKind::BackendError => shared.failed.store(true, Ordering::Release),
            _ => {}
        }
    };
    let stream = match format {
        SampleFormat::F32 => device.build_input_stream::<f32, _, _>(
            config,
            move |data: &[f32], _: &cpal::InputCallbackInfo| {
                // Whole frames only, so channels never shift.
                let fit = prod.vacant_len() / ch * ch;
                let pushed = prod.push_slice(&data[..fit.min(data.len())]);
                record(stats.0.stats(), data.len(), pushed, ch);
            },
            on_error,
            Some(Duration::from_secs(5)),
        ),
        _ => device.build_input_stream::<i16, _, _>(
            config,
            move |data: &[i16], _: &cpal::InputCallbackInfo| {
                let fit = (prod.vacant_len() / ch * ch).min(data.len());
                let pushed = prod.push_iter(data[..fit].iter().map(|&s| s as f32 / 32768.0));
                record(stats.0.stats(), data.len(), pushed, ch);
            },
            on_error,
            Some(Duration::from_secs(5)),
        ),
    }
    .map_err(|e| Error::NotReadable(format!("cannot open the audio input device: {e}")))?;
    stream
        .play()
        .map_err(|e| Error::NotReadable(format!("cannot start the audio input device: {e}")))?;
    Ok((stream, cons, track, shared, channels, rate))
}

/// Media time from the sample counter, anchored to [`clock_ns`] once, at the first block.
#[derive(Default)]
struct SampleClock {
    anchor: Option<i64>,
    frames: u64,
}

impl SampleClock {
    fn deliver(&mut self, track: &Track, samples: &[f32], rate: u32, channels: u16) {
        let frames = (samples.len() / channels as usize) as u64;
        let anchor = *self
            .anchor
            .get_or_insert_with(|| clock_ns() - (frames as i64 * 1_000_000_000 / rate as i64));
        let time = anchor + (self.frames as u128 * 1_000_000_000 / rate as u128) as i64;
        self.frames += frames;
        // The ring (2 s) absorbs the wait; this thread has no interrupt check installed.
        track.wait_room();
        track.push_audio(AudioBlock {
            sample_rate: rate,
            channels,
            time,
            samples: samples.to_vec(),
        });
    }
}

/// Keeps the track (and so its counters) alive inside the callbacks.
struct StatsHandle(Arc<Track>);

#[inline]
fn record(stats: &TrackStats, received: usize, pushed: usize, ch: usize) {
    stats.total_frames.fetch_add((received / ch) as u64, Ordering::Relaxed);
    if pushed < received {
        stats.dropped_frames.fetch_add(((received - pushed) / ch) as u64, Ordering::Relaxed);
    }
}

/// About 20 ms per callback where the device lets us choose. The default period of some
/// backends (ALSA through the pulse plugin) makes cpal's worker wake so often that it costs a
/// third of a core; 20 ms costs a few percent and is still well within the ring's 2 s.
fn buffer_size(supported: &cpal::SupportedBufferSize, rate: u32) -> cpal::BufferSize {
    let want = (rate / 50).max(64);
    match supported {
        cpal::SupportedBufferSize::Range { min, max } => {
            cpal::BufferSize::Fixed(want.clamp(*min, (*max).max(*min)))
        }
        cpal::SupportedBufferSize::Unknown => cpal::BufferSize::Default,
    }
}
