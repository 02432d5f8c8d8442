//! The screen-cast plugin (`screencast/`, a separate shared library holding ashpd and
//! libpipewire), loaded on the first Wayland capture the way the device plugin is: the
//! extension never links libpipewire, so `import mediarecorder` needs no PipeWire.

use std::ffi::{c_char, c_int, CStr, CString};
use std::path::PathBuf;
use std::ptr;
use std::sync::OnceLock;
use std::time::Duration;

// The numbers and symbol names of the plugin's C interface, defined once (screencast/abi).
use mediarecorder_screencast_abi as abi;
use mediarecorder_screencast_abi::ABI_VERSION;
pub use mediarecorder_screencast_abi::{FORMAT_RGBX, NOT_ALLOWED, NO_PORTAL};
#[cfg(not(target_os = "macos"))]
pub const PLUGIN_FILE: &str = "libmediarecorder_screencast.so";
#[cfg(target_os = "macos")]
pub const PLUGIN_FILE: &str = "libmediarecorder_screencast.dylib";
/// Overrides where the plugin is looked for (a full path).
pub const PLUGIN_ENV: &str = "MEDIARECORDER_SCREENCAST_PLUGIN";

#[repr(C)]
struct RawCast {
    _opaque: [u8; 0],
}

type OpenFn = unsafe extern "C" fn(
    c_int,
    u32,
    *const c_char,
    u32,
    *mut *mut RawCast,
    *mut *mut c_char,
) -> c_int;
type FrameFn = unsafe extern "C" fn(
    *const RawCast,
    u64,
    u32,
    *mut u8,
    usize,
    *mut [u32; 3],
    *mut u64,
    *mut *mut c_char,
) -> c_int;

struct Api {
    free: unsafe extern "C" fn(*mut c_char),
    open: OpenFn,
    token: unsafe extern "C" fn(*const RawCast) -> *const c_char,
    frame: FrameFn,
    close: unsafe extern "C" fn(*mut RawCast),
    // Kept loaded for the life of the process: its threads run code from it.
    _lib: libloading::Library,
}

fn load() -> Result<Api, String> {
    let path = match std::env::var_os(PLUGIN_ENV) {
        Some(p) => PathBuf::from(p),
        None => crate::core::source::sound::plugin::own_dir().unwrap_or_default().join(PLUGIN_FILE),
    };
    if !path.exists() {
        return Err(format!("the screen-cast plugin {} is missing", path.display()));
    }
    // SAFETY: the plugin is ours and runs no initialisers beyond Rust's and libpipewire's.
    let lib = unsafe { libloading::Library::new(&path) }.map_err(|e| {
        format!(
            "Wayland screen capture needs libpipewire-0.3.so.0 (Debian, Ubuntu: apt-get install \
             libpipewire-0.3-0; Fedora: pipewire-libs): cannot load {}: {e}",
            path.display()
        )
    })?;
    macro_rules! sym {
        ($name:expr) => {
            // SAFETY: the signatures match screencast/src/lib.rs at ABI_VERSION (checked below).
            *unsafe { lib.get($name) }
                .map_err(|e| format!("the screen-cast plugin is broken: {e}"))?
        };
    }
    let version: unsafe extern "C" fn() -> u32 = sym!(abi::SYM_ABI_VERSION);
    // SAFETY: mrs_abi_version takes nothing and returns a u32 in every ABI version.
    let found = unsafe { version() };
    if found != ABI_VERSION {
        return Err(format!(
            "the screen-cast plugin {} has ABI {found}, this extension needs {ABI_VERSION}: \
             reinstall mediarecorder",
            path.display()
        ));
    }
    Ok(Api {
        free: sym!(abi::SYM_FREE),
        open: sym!(abi::SYM_OPEN),
        token: sym!(abi::SYM_RESTORE_TOKEN),
        frame: sym!(abi::SYM_FRAME),
        close: sym!(abi::SYM_CLOSE),
        _lib: lib,
    })
}

fn api() -> Result<&'static Api, String> {
    static API: OnceLock<Result<Api, String>> = OnceLock::new();
    API.get_or_init(load).as_ref().map_err(Clone::clone)
}

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

/// Why a cast could not be opened.
pub enum OpenError {
    /// The plugin or libpipewire cannot be loaded, or no portal answers: X11 may do instead.
    Unavailable(String),
    NotAllowed(String),
    Failed(String),
}

/// What `Cast::frame` found.
pub enum Polled {
    /// A new picture in the buffer: width, height, whether RGBx (else BGRx).
    Picture(u32, u32, bool),
    Nothing,
    Ended(String),
}

/// One running portal screen cast and its PipeWire stream.
pub struct Cast {
    api: &'static Api,
    raw: *mut RawCast,
    seq: u64,
}

// SAFETY: the plugin's cast is shared state behind a mutex; `frame` takes `&mut self`.
unsafe impl Send for Cast {}

impl Cast {
    pub fn open(
        cursor: bool,
        persist: u32,
        token: Option<&str>,
        timeout: Duration,
    ) -> Result<Cast, OpenError> {
        let api = api().map_err(OpenError::Unavailable)?;
        let token = token.and_then(|t| CString::new(t).ok());
        let (mut raw, mut err) = (ptr::null_mut(), ptr::null_mut());
        let ms = timeout.as_millis().min(u32::MAX as u128) as u32;
        // SAFETY: `token` (or null) outlives the call; the out-pointers are valid.
        let code = unsafe {
            (api.open)(
                cursor as c_int,
                persist,
                token.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
                ms,
                &mut raw,
                &mut err,
            )
        };
        match code {
            0 => Ok(Cast { api, raw, seq: 0 }),
            NO_PORTAL => Err(OpenError::Unavailable(take(api, err))),
            NOT_ALLOWED => Err(OpenError::NotAllowed(take(api, err))),
            _ => Err(OpenError::Failed(take(api, err))),
        }
    }

    pub fn restore_token(&self) -> Option<String> {
        // SAFETY: `raw` is open until drop; the token it points at lives as long.
        let t = unsafe { (self.api.token)(self.raw) };
        // SAFETY: non-null: a NUL-terminated string the cast owns, copied here.
        (!t.is_null()).then(|| unsafe { CStr::from_ptr(t) }.to_string_lossy().into_owned())
    }

    /// The newest picture, if new, into `buf` (grown to fit), waiting up to `wait` for one.
    pub fn frame(&mut self, buf: &mut Vec<u8>, wait: Duration) -> Polled {
        let ms = wait.as_millis().min(u32::MAX as u128) as u32;
        loop {
            let (mut info, mut seq, mut err) = ([0u32; 3], 0u64, ptr::null_mut());
            // SAFETY: `raw` is open until drop; `buf` holds buf.len() bytes; outs are valid.
            let r = unsafe {
                (self.api.frame)(
                    self.raw,
                    self.seq,
                    ms,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut info,
                    &mut seq,
                    &mut err,
                )
            };
            match r {
                1 => {
                    self.seq = seq;
                    let len = info[0] as usize * info[1] as usize * 4;
                    buf.truncate(len);
                    return Polled::Picture(info[0], info[1], info[2] == FORMAT_RGBX);
                }
                -2 => buf.resize(info[0] as usize * info[1] as usize * 4, 0),
                -1 => return Polled::Ended(take(self.api, err)),
                _ => return Polled::Nothing,
            }
        }
    }
}

impl Drop for Cast {
    fn drop(&mut self) {
        // SAFETY: `raw` is open and closed only here, once.
        unsafe { (self.api.close)(self.raw) };
    }
}
