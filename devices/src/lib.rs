//! Sound devices through cpal, behind a narrow C ABI.
//!
//! This library is the only part of mediarecorder that links libasound: the extension loads it
//! on the first device call, so `import mediarecorder` works on machines without a sound stack.
//! The other side is `src/core/source/sound/plugin.rs`; both follow `devices/abi`.
//!
//! Real-time contract: the cpal data callback only copies whole frames into a pre-sized
//! lock-free SPSC ring (ringbuf) and bumps atomic counters. No lock, no allocation, no Python.
//! The extension's capture thread drains the ring through `mrd_stream_read`.

use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{ErrorKind, SampleFormat};
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::HeapRb;

// The ABI both sides share (devices/abi): codes, counters, format limits, signatures.
pub use abi::{Counters, ABI_VERSION, NOT_FOUND, NOT_READABLE, OK, OVERCONSTRAINED};
use abi::{MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
use mediarecorder_device_abi as abi;

const RING_SECONDS: usize = 2;

// Every export has the type the loader reads its symbol as: a mismatch does not compile.
const _: abi::AbiVersionFn = mrd_abi_version;
const _: abi::FreeFn = mrd_free;
const _: abi::EnumerateFn = mrd_enumerate;
const _: abi::OpenFn<Stream> = mrd_open;
const _: abi::InfoFn<Stream> = mrd_stream_info;
const _: abi::ReadFn<Stream> = mrd_stream_read;
const _: abi::CapacityFn<Stream> = mrd_stream_capacity;
const _: abi::CountersFn<Stream> = mrd_stream_counters;
const _: abi::CloseFn<Stream> = mrd_stream_close;

#[derive(Default)]
struct Shared {
    total_frames: AtomicU64,
    dropped_frames: AtomicU64,
    device_overruns: AtomicU64,
    failed: AtomicBool,
}

pub struct Stream {
    // Dropping the cpal stream closes the device; it is never touched from another thread
    // while the capture thread reads (the extension serialises calls on one stream).
    _stream: cpal::Stream,
    cons: ringbuf::HeapCons<f32>,
    shared: Arc<Shared>,
    rate: u32,
    channels: u16,
    label: CString,
    host_id: CString,
}

type Failure = (c_int, String);

fn text(s: String) -> *mut c_char {
    CString::new(s.replace('\0', " ")).unwrap_or_default().into_raw()
}

fn fail(err: *mut *mut c_char, (code, message): Failure) -> c_int {
    if !err.is_null() {
        // SAFETY: the caller passes a valid out-pointer or null.
        unsafe { *err = text(message) };
    }
    code
}

fn not_readable(m: String) -> Failure {
    (NOT_READABLE, m)
}

fn overconstrained(constraint: &str, message: String) -> Failure {
    (OVERCONSTRAINED, format!("{constraint}\t{message}"))
}

fn host_id(device: &cpal::Device) -> Option<String> {
    device.id().ok().map(|id| id.to_string())
}

fn label(device: &cpal::Device) -> String {
    device.description().map(|d| d.name().to_string()).unwrap_or_else(|_| device.to_string())
}

#[no_mangle]
pub extern "C" fn mrd_abi_version() -> u32 {
    ABI_VERSION
}

/// Frees a string this library returned.
///
/// # Safety
/// `s` is null or came from this library and is freed once.
#[no_mangle]
pub unsafe extern "C" fn mrd_free(s: *mut c_char) {
    if !s.is_null() {
        drop(CString::from_raw(s));
    }
}

/// One line per device: "host_id\tinput(0|1)\toutput(0|1)\tlabel\n".
///
/// # Safety
/// `out` and `err` are valid out-pointers.
#[no_mangle]
pub unsafe extern "C" fn mrd_enumerate(out: *mut *mut c_char, err: *mut *mut c_char) -> c_int {
    let host = cpal::default_host();
    let devices = match host.devices() {
        Ok(d) => d,
        Err(e) => return fail(err, not_readable(format!("cannot list audio devices: {e}"))),
    };
    let mut lines = String::new();
    for device in devices {
        let Some(id) = host_id(&device) else { continue };
        let clean = |s: String| s.replace(['\t', '\n'], " ");
        lines.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            clean(id),
            device.supports_input() as u8,
            device.supports_output() as u8,
            clean(label(&device))
        ));
    }
    *out = text(lines);
    OK
}

fn find_input(host: &cpal::Host, wanted: &str) -> Result<Option<cpal::Device>, Failure> {
    let devices = host
        .input_devices()
        .map_err(|e| not_readable(format!("cannot list audio input devices: {e}")))?;
    Ok(devices.into_iter().find(|d| host_id(d).is_some_and(|id| id == wanted)))
}

/// Picks the stream configuration that meets the constraints, or names the one that cannot be met.
fn choose_config(
    device: &cpal::Device,
    sample_rate: Option<u32>,
    channel_count: Option<u16>,
) -> Result<(cpal::StreamConfig, SampleFormat), Failure> {
    let default = device
        .default_input_config()
        .map_err(|e| not_readable(format!("cannot query the input device: {e}")))?;
    let ranges: Vec<_> = device
        .supported_input_configs()
        .map_err(|e| not_readable(format!("cannot query the input device: {e}")))?
        .filter(|r| matches!(r.sample_format(), SampleFormat::F32 | SampleFormat::I16))
        .collect();
    let channels = channel_count.unwrap_or(default.channels());
    let rate = sample_rate.unwrap_or(default.sample_rate());
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
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) || channels > MAX_CHANNELS {
        return Err(overconstrained(
            if sample_rate.is_some() { "sample_rate" } else { "channel_count" },
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

/// Opens the input device with host id `host_id` (null: the default one) and starts it.
/// `sample_rate` and `channels` of 0 mean "the device's default".
///
/// # Safety
/// `host_id` is null or a NUL-terminated string; `out` and `err` are valid out-pointers.
#[no_mangle]
pub unsafe extern "C" fn mrd_open(
    host_id: *const c_char,
    sample_rate: u32,
    channels: u16,
    out: *mut *mut Stream,
    err: *mut *mut c_char,
) -> c_int {
    let wanted =
        (!host_id.is_null()).then(|| CStr::from_ptr(host_id).to_string_lossy().into_owned());
    let rate = (sample_rate > 0).then_some(sample_rate);
    let ch = (channels > 0).then_some(channels);
    match open(wanted, rate, ch) {
        Ok(s) => {
            *out = Box::into_raw(Box::new(s));
            OK
        }
        Err(f) => fail(err, f),
    }
}

fn open(wanted: Option<String>, rate: Option<u32>, ch: Option<u16>) -> Result<Stream, Failure> {
    let host = cpal::default_host();
    let device = match &wanted {
        Some(id) => find_input(&host, id)?.ok_or_else(|| {
            overconstrained("device_id", "device_id: the audio input device is gone".into())
        })?,
        None => {
            // ALSA names a "default" device even where none exists: ask for the list too.
            let any = host.input_devices().map(|mut d| d.next().is_some()).unwrap_or(false);
            host.default_input_device()
                .filter(|_| any)
                .ok_or_else(|| (NOT_FOUND, "no audio input device was found".to_string()))?
        }
    };
    let (config, format) = choose_config(&device, rate, ch)?;
    let (channels, rate) = (config.channels, config.sample_rate);
    let ring = HeapRb::<f32>::new(rate as usize * channels as usize * RING_SECONDS);
    let (mut prod, cons) = ring.split();
    let shared = Arc::new(Shared::default());
    let ch = channels as usize;

    let on_error = {
        let shared = shared.clone();
        move |e: cpal::Error| match e.kind() {
            ErrorKind::Xrun => {
                shared.device_overruns.fetch_add(1, Ordering::Relaxed);
            }
            ErrorKind::DeviceNotAvailable
            | ErrorKind::HostUnavailable
            | ErrorKind::StreamInvalidated
            | ErrorKind::BackendError => shared.failed.store(true, Ordering::Release),
            _ => {}
        }
    };
    let counters = shared.clone();
    let stream = match format {
        SampleFormat::F32 => device.build_input_stream::<f32, _, _>(
            config,
            move |data: &[f32], _: &cpal::InputCallbackInfo| {
                // Whole frames only, so channels never shift.
                let fit = prod.vacant_len() / ch * ch;
                let pushed = prod.push_slice(&data[..fit.min(data.len())]);
                record(&counters, data.len(), pushed, ch);
            },
            on_error,
            Some(Duration::from_secs(5)),
        ),
        _ => device.build_input_stream::<i16, _, _>(
            config,
            move |data: &[i16], _: &cpal::InputCallbackInfo| {
                let fit = (prod.vacant_len() / ch * ch).min(data.len());
                let pushed = prod.push_iter(data[..fit].iter().map(|&s| s as f32 / 32768.0));
                record(&counters, data.len(), pushed, ch);
            },
            on_error,
            Some(Duration::from_secs(5)),
        ),
    }
    .map_err(|e| not_readable(format!("cannot open the audio input device: {e}")))?;
    stream.play().map_err(|e| not_readable(format!("cannot start the audio input device: {e}")))?;
    let cstr = |s: String| CString::new(s.replace('\0', " ")).unwrap_or_default();
    Ok(Stream {
        _stream: stream,
        cons,
        shared,
        rate,
        channels,
        label: cstr(label(&device)),
        host_id: cstr(host_id(&device).unwrap_or_default()),
    })
}

#[inline]
fn record(shared: &Shared, received: usize, pushed: usize, ch: usize) {
    shared.total_frames.fetch_add((received / ch) as u64, Ordering::Relaxed);
    if pushed < received {
        shared.dropped_frames.fetch_add(((received - pushed) / ch) as u64, Ordering::Relaxed);
    }
}

/// The stream's format, label and host id (the strings live as long as the stream).
///
/// # Safety
/// `s` came from `mrd_open` and is not closed; the out-pointers are valid.
#[no_mangle]
pub unsafe extern "C" fn mrd_stream_info(
    s: *const Stream,
    rate: *mut u32,
    channels: *mut u16,
    label: *mut *const c_char,
    host_id: *mut *const c_char,
) {
    let s = &*s;
    *rate = s.rate;
    *channels = s.channels;
    *label = s.label.as_ptr();
    *host_id = s.host_id.as_ptr();
}

/// Moves up to `len` samples (whole frames) out of the ring into `buf`; returns how many.
///
/// # Safety
/// `s` came from `mrd_open`, is not closed and is read from one thread; `buf` holds `len` f32.
#[no_mangle]
pub unsafe extern "C" fn mrd_stream_read(s: *mut Stream, buf: *mut f32, len: usize) -> usize {
    let s = &mut *s;
    let ch = s.channels as usize;
    let n = (s.cons.occupied_len() / ch * ch).min(len / ch * ch);
    if n == 0 {
        return 0;
    }
    s.cons.pop_slice(std::slice::from_raw_parts_mut(buf, n))
}

/// The ring's capacity in samples: a buffer this large drains it in one read.
///
/// # Safety
/// `s` came from `mrd_open` and is not closed.
#[no_mangle]
pub unsafe extern "C" fn mrd_stream_capacity(s: *const Stream) -> usize {
    (*s).cons.capacity().get()
}

/// # Safety
/// `s` came from `mrd_open` and is not closed; `out` is valid.
#[no_mangle]
pub unsafe extern "C" fn mrd_stream_counters(s: *const Stream, out: *mut Counters) {
    let sh = &(*s).shared;
    *out = Counters {
        total_frames: sh.total_frames.load(Ordering::Relaxed),
        dropped_frames: sh.dropped_frames.load(Ordering::Relaxed),
        device_overruns: sh.device_overruns.load(Ordering::Relaxed),
        failed: sh.failed.load(Ordering::Acquire) as u8,
    };
}

/// Stops the device and frees the stream.
///
/// # Safety
/// `s` came from `mrd_open` and is closed once.
#[no_mangle]
pub unsafe extern "C" fn mrd_stream_close(s: *mut Stream) {
    if !s.is_null() {
        drop(Box::from_raw(s));
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

#[cfg(test)]
#[path = "capture_test.rs"]
mod capture_test;
