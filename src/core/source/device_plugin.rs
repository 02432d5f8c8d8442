//! The device plugin (`devices/`, a separate shared library holding cpal and so libasound),
//! loaded on first device use. The extension itself never links libasound, so
//! `import mediarecorder` works on machines without a sound stack; only device calls fail
//! there, with an error that names the missing library and its package.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::PathBuf;
use std::ptr;
use std::sync::OnceLock;

use crate::core::{Error, Result};

/// Must equal `ABI_VERSION` in devices/src/lib.rs.
const ABI_VERSION: u32 = 1;
const NOT_FOUND: c_int = 2;
const OVERCONSTRAINED: c_int = 3;
/// The plugin's file name, next to the extension module (or the binary that links the core).
#[cfg(all(unix, not(target_os = "macos")))]
pub const PLUGIN_FILE: &str = "libmediarecorder_devices.so";
#[cfg(target_os = "macos")]
pub const PLUGIN_FILE: &str = "libmediarecorder_devices.dylib";
#[cfg(windows)]
pub const PLUGIN_FILE: &str = "mediarecorder_devices.dll";
/// Overrides where the plugin is looked for (a full path).
pub const PLUGIN_ENV: &str = "MEDIARECORDER_DEVICE_PLUGIN";

#[repr(C)]
#[derive(Default)]
pub struct Counters {
    pub total_frames: u64,
    pub dropped_frames: u64,
    pub device_overruns: u64,
    pub failed: u8,
}

#[repr(C)]
struct RawStream {
    _opaque: [u8; 0],
}

type StrOut = *mut *mut c_char;

struct Api {
    free: unsafe extern "C" fn(*mut c_char),
    enumerate: unsafe extern "C" fn(StrOut, StrOut) -> c_int,
    open: unsafe extern "C" fn(*const c_char, u32, u16, *mut *mut RawStream, StrOut) -> c_int,
    info: unsafe extern "C" fn(
        *const RawStream,
        *mut u32,
        *mut u16,
        *mut *const c_char,
        *mut *const c_char,
    ),
    read: unsafe extern "C" fn(*mut RawStream, *mut f32, usize) -> usize,
    capacity: unsafe extern "C" fn(*const RawStream) -> usize,
    counters: unsafe extern "C" fn(*const RawStream, *mut Counters),
    close: unsafe extern "C" fn(*mut RawStream),
    // Kept loaded for the life of the process: cpal's threads run code from it.
    _lib: libloading::Library,
}

/// Where this code was loaded from: the extension module's directory holds the plugin.
#[cfg(unix)]
fn own_dir() -> Option<PathBuf> {
    // SAFETY: Dl_info is plain pointers and integers, for which all zeroes is a valid value.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    let addr = own_dir as *const c_void;
    // SAFETY: dladdr only reads the address and fills `info`.
    if unsafe { libc::dladdr(addr, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr succeeded and dli_fname is non-null: a NUL-terminated path it owns.
    let file = unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy().into_owned();
    PathBuf::from(file).parent().map(std::path::Path::to_path_buf)
}

/// Not written yet for Windows (GetModuleHandleExW would give it): there only the environment
/// variable finds the plugin.
#[cfg(not(unix))]
fn own_dir() -> Option<PathBuf> {
    None
}

fn plugin_path() -> PathBuf {
    match std::env::var_os(PLUGIN_ENV) {
        Some(p) => PathBuf::from(p),
        None => own_dir().unwrap_or_default().join(PLUGIN_FILE),
    }
}

fn load() -> std::result::Result<Api, String> {
    let path = plugin_path();
    if !path.exists() {
        return Err(format!(
            "audio devices are not available: the device plugin {} is missing (this build of \
             mediarecorder was made without it)",
            path.display()
        ));
    }
    // SAFETY: the plugin is ours and runs no initialisers beyond Rust's and libasound's.
    let lib = unsafe { libloading::Library::new(&path) }.map_err(|e| {
        let detail = e.to_string();
        if detail.contains("libasound") {
            format!(
                "audio devices need the system library libasound.so.2 (ALSA), which is not \
                 installed: install the package libasound2 (Debian, Ubuntu: apt-get install \
                 libasound2; Fedora: alsa-lib) and, to reach PulseAudio or PipeWire, its ALSA \
                 plugins (libasound2-plugins). ({detail})"
            )
        } else {
            format!("audio devices are not available: cannot load {}: {detail}", path.display())
        }
    })?;
    macro_rules! sym {
        ($name:literal) => {
            // SAFETY: the signatures match devices/src/lib.rs at ABI_VERSION (checked below).
            *unsafe { lib.get($name) }.map_err(|e| format!("the device plugin is broken: {e}"))?
        };
    }
    let version: unsafe extern "C" fn() -> u32 = sym!(b"mrd_abi_version\0");
    // SAFETY: mrd_abi_version takes nothing and returns a u32 in every ABI version.
    let found = unsafe { version() };
    if found != ABI_VERSION {
        return Err(format!(
            "the device plugin {} has ABI {found}, this extension needs {ABI_VERSION}: \
             reinstall mediarecorder",
            path.display()
        ));
    }
    Ok(Api {
        free: sym!(b"mrd_free\0"),
        enumerate: sym!(b"mrd_enumerate\0"),
        open: sym!(b"mrd_open\0"),
        info: sym!(b"mrd_stream_info\0"),
        read: sym!(b"mrd_stream_read\0"),
        capacity: sym!(b"mrd_stream_capacity\0"),
        counters: sym!(b"mrd_stream_counters\0"),
        close: sym!(b"mrd_stream_close\0"),
        _lib: lib,
    })
}

fn api() -> Result<&'static Api> {
    static API: OnceLock<std::result::Result<Api, String>> = OnceLock::new();
    API.get_or_init(load).as_ref().map_err(|e| Error::NotReadable(e.clone()))
}

/// Takes a string the plugin allocated.
fn take(api: &Api, s: *mut c_char) -> String {
    if s.is_null() {
        return String::new();
    }
    // SAFETY: the plugin returns NUL-terminated strings it allocated, freed here once.
    let out = unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned();
    // SAFETY: as above; `s` is not used after this.
    unsafe { (api.free)(s) };
    out
}

fn error(code: c_int, text: String) -> Error {
    match code {
        NOT_FOUND => Error::NotFound(text),
        OVERCONSTRAINED => {
            let (constraint, message) = text.split_once('\t').unwrap_or(("", &text));
            Error::Overconstrained { constraint: constraint.into(), message: message.into() }
        }
        _ => Error::NotReadable(text),
    }
}

/// A device of the host: its own id, whether it captures / plays, its label.
pub struct HostDevice {
    pub host_id: String,
    pub input: bool,
    pub output: bool,
    pub label: String,
}

pub fn enumerate() -> Result<Vec<HostDevice>> {
    let api = api()?;
    let (mut out, mut err) = (ptr::null_mut(), ptr::null_mut());
    // SAFETY: both out-pointers are valid for the call.
    let code = unsafe { (api.enumerate)(&mut out, &mut err) };
    if code != 0 {
        return Err(error(code, take(api, err)));
    }
    let text = take(api, out);
    Ok(text
        .lines()
        .filter_map(|line| {
            let mut f = line.splitn(4, '\t');
            let (id, i, o, label) = (f.next()?, f.next()?, f.next()?, f.next()?);
            Some(HostDevice {
                host_id: id.into(),
                input: i == "1",
                output: o == "1",
                label: label.into(),
            })
        })
        .collect())
}

/// An open, running input stream of the plugin. Read from one thread only.
pub struct PluginStream {
    api: &'static Api,
    raw: *mut RawStream,
    pub sample_rate: u32,
    pub channels: u16,
    pub label: String,
    pub host_id: String,
}

// SAFETY: the plugin's stream may move between threads; `read` takes `&mut self`.
unsafe impl Send for PluginStream {}

impl PluginStream {
    /// Opens `host_id` (None: the default input); 0 / None constraints take the device's default.
    pub fn open(
        host_id: Option<&str>,
        sample_rate: Option<u32>,
        channels: Option<u16>,
    ) -> Result<Self> {
        let api = api()?;
        let id = host_id
            .map(|s| CString::new(s).map_err(|_| Error::InvalidValue("device id has a NUL".into())))
            .transpose()?;
        let (mut raw, mut err) = (ptr::null_mut(), ptr::null_mut());
        // SAFETY: `id` (or null) outlives the call; the out-pointers are valid.
        let code = unsafe {
            (api.open)(
                id.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
                sample_rate.unwrap_or(0),
                channels.unwrap_or(0),
                &mut raw,
                &mut err,
            )
        };
        if code != 0 {
            return Err(error(code, take(api, err)));
        }
        let (mut rate, mut ch, mut label, mut hid) = (0, 0, ptr::null(), ptr::null());
        // SAFETY: `raw` is the stream just opened; the out-pointers are valid.
        unsafe { (api.info)(raw, &mut rate, &mut ch, &mut label, &mut hid) };
        // SAFETY: info points both at NUL-terminated strings the stream owns, copied here.
        let s = |p: *const c_char| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
        Ok(PluginStream {
            api,
            raw,
            sample_rate: rate,
            channels: ch,
            label: s(label),
            host_id: s(hid),
        })
    }

    /// Samples (whole frames) moved out of the capture ring into `buf`.
    pub fn read(&mut self, buf: &mut [f32]) -> usize {
        // SAFETY: `raw` is open until drop; `buf` is valid for buf.len() floats.
        unsafe { (self.api.read)(self.raw, buf.as_mut_ptr(), buf.len()) }
    }

    pub fn capacity(&self) -> usize {
        // SAFETY: `raw` is open until drop.
        unsafe { (self.api.capacity)(self.raw) }
    }

    pub fn counters(&self) -> Counters {
        let mut c = Counters::default();
        // SAFETY: `raw` is open until drop; `c` is a valid out-pointer of the same layout.
        unsafe { (self.api.counters)(self.raw, &mut c) };
        c
    }
}

impl Drop for PluginStream {
    fn drop(&mut self) {
        // SAFETY: `raw` is open and closed only here, once; the device closes with it.
        unsafe { (self.api.close)(self.raw) };
    }
}
