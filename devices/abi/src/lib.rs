//! The device plugin's C ABI, defined once for both of its sides: the plugin
//! (`devices/src/lib.rs`, cpal behind `extern "C"` functions) and the extension's loader
//! (`src/core/source/sound/plugin.rs`, which looks the functions up by name at run time).
//!
//! The loader cannot check a looked-up symbol's signature, so the signatures live here as
//! function pointer types: the loader reads each symbol as its type, and the plugin assigns
//! each of its functions to the same type in a constant, which does not compile if the two
//! differ. Whatever else both sides must agree on (the version, error codes, the counters'
//! layout, the formats a device may be opened with) is here too, and nowhere else.
#![no_std]

use core::ffi::{c_char, c_int};

/// Bumped whenever a signature, a struct or a code below changes meaning. The loader refuses
/// a plugin of another version (a stale file left next to a newer extension).
pub const ABI_VERSION: u32 = 1;

/// Return codes of the functions that can fail; the error text comes back through `err`.
pub const OK: c_int = 0;
/// The device exists but cannot be opened or read (`NotReadableError`).
pub const NOT_READABLE: c_int = 1;
/// No device at all (`NotFoundError`).
pub const NOT_FOUND: c_int = 2;
/// A constraint cannot be met (`OverconstrainedError`); the text is "constraint\tmessage".
pub const OVERCONSTRAINED: c_int = 3;

/// The audio formats the core records, from a device or from the embedder: the plugin opens
/// no device outside them, and every audio source checks its arguments against them.
pub const MIN_SAMPLE_RATE: u32 = 8_000;
pub const MAX_SAMPLE_RATE: u32 = 192_000;
pub const MAX_CHANNELS: u16 = 8;

/// Counters the plugin's callbacks bump; the capture thread copies them into the track's stats.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub total_frames: u64,
    pub dropped_frames: u64,
    pub device_overruns: u64,
    pub failed: u8,
}

/// An out-parameter for a string the plugin allocates (freed with `mrd_free`).
pub type StrOut = *mut *mut c_char;

/// The exported symbols (NUL-terminated, as the loader looks them up) and their types. `S` is
/// the stream: the plugin's own struct on its side, an opaque type on the loader's.
pub const SYM_ABI_VERSION: &[u8] = b"mrd_abi_version\0";
pub type AbiVersionFn = unsafe extern "C" fn() -> u32;
pub const SYM_FREE: &[u8] = b"mrd_free\0";
pub type FreeFn = unsafe extern "C" fn(*mut c_char);
/// One line per device: "host_id\tinput(0|1)\toutput(0|1)\tlabel\n".
pub const SYM_ENUMERATE: &[u8] = b"mrd_enumerate\0";
pub type EnumerateFn = unsafe extern "C" fn(StrOut, StrOut) -> c_int;
/// (host id or null for the default input, sample rate or 0, channels or 0, stream out, err).
pub const SYM_OPEN: &[u8] = b"mrd_open\0";
pub type OpenFn<S> = unsafe extern "C" fn(*const c_char, u32, u16, *mut *mut S, StrOut) -> c_int;
/// (stream, rate out, channels out, label out, host id out): the strings live with the stream.
pub const SYM_INFO: &[u8] = b"mrd_stream_info\0";
pub type InfoFn<S> =
    unsafe extern "C" fn(*const S, *mut u32, *mut u16, *mut *const c_char, *mut *const c_char);
/// Moves up to `len` samples (whole frames) out of the ring; returns how many.
pub const SYM_READ: &[u8] = b"mrd_stream_read\0";
pub type ReadFn<S> = unsafe extern "C" fn(*mut S, *mut f32, usize) -> usize;
pub const SYM_CAPACITY: &[u8] = b"mrd_stream_capacity\0";
pub type CapacityFn<S> = unsafe extern "C" fn(*const S) -> usize;
pub const SYM_COUNTERS: &[u8] = b"mrd_stream_counters\0";
pub type CountersFn<S> = unsafe extern "C" fn(*const S, *mut Counters);
pub const SYM_CLOSE: &[u8] = b"mrd_stream_close\0";
pub type CloseFn<S> = unsafe extern "C" fn(*mut S);

/// The plugin's file name, next to the extension module: each platform's own library naming.
#[cfg(all(unix, not(target_os = "macos")))]
pub const PLUGIN_FILE: &str = "libmediarecorder_devices.so";
#[cfg(target_os = "macos")]
pub const PLUGIN_FILE: &str = "libmediarecorder_devices.dylib";
#[cfg(windows)]
pub const PLUGIN_FILE: &str = "mediarecorder_devices.dll";
