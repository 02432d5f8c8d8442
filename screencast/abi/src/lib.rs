//! The screen-cast plugin's C interface, defined once: the extension's loader
//! (`src/core/source/screen/wayland/plugin.rs`) and the plugin (`screencast/src/lib.rs`) both
//! take their numbers and symbol names from here (as `devices/abi` does for the device plugin).

use std::ffi::c_int;

/// Bumped on any change below; the loader refuses a plugin of another version.
pub const ABI_VERSION: u32 = 1;

/// Return codes of `mrs_open` and `mrs_frame`.
pub const OK: c_int = 0;
/// No ScreenCast portal on the session bus: the caller falls back to X11.
pub const NO_PORTAL: c_int = 1;
/// The user (or the portal) refused.
pub const NOT_ALLOWED: c_int = 2;
/// Anything else: the portal or PipeWire failed.
pub const FAILED: c_int = 3;

/// Pixel formats handed over (four bytes a pixel, packed rows).
pub const FORMAT_BGRX: u32 = 1;
pub const FORMAT_RGBX: u32 = 2;

/// The exported symbols, NUL-terminated for the loader.
pub const SYM_ABI_VERSION: &[u8] = b"mrs_abi_version\0";
pub const SYM_FREE: &[u8] = b"mrs_free\0";
pub const SYM_OPEN: &[u8] = b"mrs_open\0";
pub const SYM_RESTORE_TOKEN: &[u8] = b"mrs_restore_token\0";
pub const SYM_FRAME: &[u8] = b"mrs_frame\0";
pub const SYM_RECEIVED: &[u8] = b"mrs_received\0";
pub const SYM_CLOSE: &[u8] = b"mrs_close\0";
