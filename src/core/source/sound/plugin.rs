//! The device plugin (`devices/`, a separate shared library holding cpal and so libasound),
//! loaded on first device use. The extension itself never links libasound, so
//! `import mediarecorder` works on machines without a sound stack; only device calls fail
//! there, with an error that names the missing library and its package.

use std::ffi::{c_char, c_int, CStr, CString};
use std::path::PathBuf;
use std::ptr;
use std::sync::OnceLock;

use crate::core::{Error, Result};

// Codes, counters, symbol names and signatures are the plugin's own (devices/abi).
use mediarecorder_device_abi::{self as abi, ABI_VERSION, NOT_FOUND, OVERCONSTRAINED};
pub use mediarecorder_device_abi::{Counters, PLUGIN_FILE};
/// Overrides where the plugin is looked for (a full path).
pub const PLUGIN_ENV: &str = "MEDIARECORDER_DEVICE_PLUGIN";

#[repr(C)]
struct RawStream {
    _opaque: [u8; 0],
}

struct Api {
    free: abi::FreeFn,
    enumerate: abi::EnumerateFn,
    open: abi::OpenFn<RawStream>,
    info: abi::InfoFn<RawStream>,
    read: abi::ReadFn<RawStream>,
    capacity: abi::CapacityFn<RawStream>,
    counters: abi::CountersFn<RawStream>,
    close: abi::CloseFn<RawStream>,
    // Kept loaded for the life of the process: cpal's threads run code from it.
    _lib: libloading::Library,
}

/// Where this code was loaded from: the extension module's directory holds the plugin.
#[cfg(unix)]
pub(crate) fn own_dir() -> Option<PathBuf> {
    // SAFETY: Dl_info is plain pointers and integers, for which all zeroes is a valid value.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    let addr = own_dir as *const std::ffi::c_void;
    // SAFETY: dladdr only reads the address and fills `info`.
    if unsafe { libc::dladdr(addr, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr succeeded and dli_fname is non-null: a NUL-terminated path it owns.
    let file = unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy().into_owned();
    PathBuf::from(file).parent().map(std::path::Path::to_path_buf)
}

/// The module (the extension's .pyd, or the program linking the core) holding this function.
#[cfg(windows)]
pub(crate) fn own_dir() -> Option<PathBuf> {
    use std::os::windows::ffi::OsStringExt;
    use windows_sys::Win32::System::LibraryLoader::{
        GetModuleFileNameW, GetModuleHandleExW, GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
        GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
    };
    let mut module = ptr::null_mut();
    let flags =
        GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT;
    // SAFETY: with FROM_ADDRESS the "name" is an address inside the module wanted; `module` is
    // a valid out-pointer, and UNCHANGED_REFCOUNT leaves nothing to release.
    if unsafe { GetModuleHandleExW(flags, own_dir as *const u16, &mut module) } == 0 {
        return None;
    }
    // The longest path Windows has.
    let mut buf = vec![0u16; 32_768];
    // SAFETY: `module` is loaded (it holds this code); `buf` holds buf.len() u16.
    let n = unsafe { GetModuleFileNameW(module, buf.as_mut_ptr(), buf.len() as u32) } as usize;
    if n == 0 || n >= buf.len() {
        return None;
    }
    let file = PathBuf::from(std::ffi::OsString::from_wide(&buf[..n]));
    file.parent().map(std::path::Path::to_path_buf)
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
        ($name:expr) => {
            // SAFETY: the plugin exports each symbol with its devices/abi type (the plugin's
            // build checks), at the ABI_VERSION checked below.
            *unsafe { lib.get($name) }.map_err(|e| format!("the device plugin is broken: {e}"))?
        };
    }
    let version: abi::AbiVersionFn = sym!(abi::SYM_ABI_VERSION);
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
        free: sym!(abi::SYM_FREE),
        enumerate: sym!(abi::SYM_ENUMERATE),
        open: sym!(abi::SYM_OPEN),
        info: sym!(abi::SYM_INFO),
        read: sym!(abi::SYM_READ),
        capacity: sym!(abi::SYM_CAPACITY),
        counters: sym!(abi::SYM_COUNTERS),
        close: sym!(abi::SYM_CLOSE),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The plugin is looked for next to the module holding the core (the extension; in a test,
    /// the test program), found through the loader on every platform: dladdr on Linux and
    /// macOS, GetModuleHandleExW on Windows (checked under Wine), where it used to be nowhere.
    #[test]
    fn the_plugin_is_looked_for_next_to_the_module_holding_the_core() {
        let exe = std::env::current_exe().expect("the test program's path");
        assert_eq!(own_dir().as_deref(), exe.parent());
        assert!(PLUGIN_FILE.ends_with(match std::env::consts::OS {
            "windows" => ".dll",
            "macos" => ".dylib",
            _ => ".so",
        }));
    }

    /// Off Linux, screen and camera capture say so, naming the platform (run under Wine).
    #[cfg(not(target_os = "linux"))]
    #[test]
    fn screen_and_camera_name_the_platform_they_do_not_support() {
        use crate::core::source::camera::{CameraCapture, CameraConstraints};
        let platform = if cfg!(windows) { "Windows" } else { "macOS" };
        match crate::core::source::screen::x11_conn::connect(Some(":0")) {
            Err(Error::NotSupported(m)) => assert_eq!(
                m,
                format!(
                    "get_display_media: screen capture is not supported on {platform} (X11 only)"
                )
            ),
            Err(e) => panic!("screen: {e}"),
            Ok(_) => panic!("screen: connected"),
        }
        match CameraCapture::open(CameraConstraints::default()) {
            Err(Error::NotSupported(m)) => assert_eq!(
                m,
                format!(
                    "get_user_media: camera capture is not supported on {platform} (V4L2, Linux only)"
                )
            ),
            Err(e) => panic!("camera: {e}"),
            Ok(_) => panic!("camera: opened"),
        }
    }
}
