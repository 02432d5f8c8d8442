//! mediarecorder's Wayland screen plugin: a ScreenCast portal session (`portal.rs`, ashpd) whose
//! PipeWire stream (`stream.rs`) is read into a one-picture slot, behind a narrow C ABI that
//! `src/core/source/screen/wayland.rs` in the extension loads on the first Wayland capture.
//! Being its own shared library, it keeps libpipewire out of `import mediarecorder`.
//!
//! The slot keeps only the newest picture: the extension takes pictures at the track's frame
//! rate on the shared clock, so a compositor that sends more (or none, on a still screen) never
//! queues anything here.

use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

mod portal;
mod stream;

// The numbers of the C interface, defined once (screencast/abi) for both sides.
pub use mediarecorder_screencast_abi::{
    ABI_VERSION, FAILED, FORMAT_BGRX, FORMAT_RGBX, NOT_ALLOWED, NO_PORTAL, OK,
};

/// The newest picture, and how the stream stands.
#[derive(Default)]
pub(crate) struct Slot {
    pub pixels: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub format: u32,
    /// Counts pictures put in; 0: none yet.
    pub seq: u64,
    /// Why the stream ended (the portal session closed, the node went away, PipeWire failed).
    pub ended: Option<String>,
}

pub(crate) struct Shared {
    pub slot: Mutex<Slot>,
    pub changed: Condvar,
    pub stop: AtomicBool,
    pub received: AtomicU64,
}

impl Shared {
    pub fn end(&self, why: String) {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        slot.ended.get_or_insert(why);
        self.changed.notify_all();
    }
}

pub struct Cast {
    shared: Arc<Shared>,
    restore_token: Option<CString>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

fn set_err(err: *mut *mut c_char, message: &str) {
    if !err.is_null() {
        let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
        // SAFETY: the caller passes a valid pointer to write one string pointer to.
        unsafe { *err = text.into_raw() };
    }
}

#[no_mangle]
pub extern "C" fn mrs_abi_version() -> u32 {
    ABI_VERSION
}

/// Frees a string this plugin returned.
///
/// # Safety
/// `s` is null or a string from this plugin, not freed before.
#[no_mangle]
pub unsafe extern "C" fn mrs_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: made by CString::into_raw in this plugin, per the contract.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// Runs the portal (CreateSession, SelectSources, Start, OpenPipeWireRemote) and connects a
/// PipeWire stream to the cast node; returns once the stream has its format, or fails.
/// `cursor`: 0 hidden, 1 drawn in. `persist`: the portal's persist_mode (0, 1, 2).
/// `token`: a restore token from an earlier cast, or null.
///
/// # Safety
/// `token` is null or a NUL-terminated string; `out` and `err` are valid to write.
#[no_mangle]
pub unsafe extern "C" fn mrs_open(
    cursor: c_int,
    persist: u32,
    token: *const c_char,
    timeout_ms: u32,
    out: *mut *mut Cast,
    err: *mut *mut c_char,
) -> c_int {
    let token = (!token.is_null())
        // SAFETY: non-null and NUL-terminated per the contract.
        .then(|| unsafe { CStr::from_ptr(token) }.to_string_lossy().into_owned());
    let timeout = Duration::from_millis(timeout_ms as u64);
    let opened = std::panic::catch_unwind(|| open(cursor != 0, persist, token, timeout));
    match opened {
        Ok(Ok(cast)) => {
            // SAFETY: valid to write per the contract.
            unsafe { *out = Box::into_raw(Box::new(cast)) };
            OK
        }
        Ok(Err((code, message))) => {
            set_err(err, &message);
            code
        }
        Err(_) => {
            set_err(err, "the screen-cast plugin panicked while opening");
            FAILED
        }
    }
}

fn open(
    cursor: bool,
    persist: u32,
    token: Option<String>,
    timeout: Duration,
) -> Result<Cast, (c_int, String)> {
    let shared = Arc::new(Shared {
        slot: Mutex::new(Slot::default()),
        changed: Condvar::new(),
        stop: AtomicBool::new(false),
        received: AtomicU64::new(0),
    });
    let (session, portal_thread) = portal::start(cursor, persist, token, shared.clone(), timeout)?;
    let stream_thread = match stream::start(session.fd, session.node, shared.clone(), timeout) {
        Ok(t) => t,
        Err(e) => {
            shared.stop.store(true, Ordering::SeqCst);
            let _ = portal_thread.join();
            return Err((FAILED, e));
        }
    };
    let restore_token = session.restore_token.and_then(|t| CString::new(t).ok());
    Ok(Cast { shared, restore_token, threads: vec![portal_thread, stream_thread] })
}

/// The restore token the portal gave (valid until `mrs_close`), or null.
///
/// # Safety
/// `cast` is from `mrs_open`, not closed.
#[no_mangle]
pub unsafe extern "C" fn mrs_restore_token(cast: *const Cast) -> *const c_char {
    // SAFETY: live per the contract.
    let cast = unsafe { &*cast };
    cast.restore_token.as_ref().map_or(std::ptr::null(), |t| t.as_ptr())
}

/// Copies the newest picture if it is newer than `after` (a `seq` this returned before, or 0)
/// into `buf`, waiting up to `wait_ms` for one. Returns 1 with a picture (`width`, `height`,
/// `format`, `seq` set), 0 with none new, -1 once the stream ended (the reason in `err`), or
/// -2 when `buf` is too small (`width` and `height` set: `width * height * 4` bytes are needed).
///
/// # Safety
/// `cast` is from `mrs_open`, not closed; `buf` holds `cap` bytes; the outs are valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mrs_frame(
    cast: *const Cast,
    after: u64,
    wait_ms: u32,
    buf: *mut u8,
    cap: usize,
    info: *mut [u32; 3],
    seq: *mut u64,
    err: *mut *mut c_char,
) -> c_int {
    // SAFETY: live per the contract.
    let shared = &unsafe { &*cast }.shared;
    let slot = shared.slot.lock().unwrap_or_else(|e| e.into_inner());
    let (slot, _) = shared
        .changed
        .wait_timeout_while(slot, Duration::from_millis(wait_ms as u64), |s| {
            s.seq <= after && s.ended.is_none()
        })
        .unwrap_or_else(|e| e.into_inner());
    if slot.seq > after {
        // SAFETY: valid to write per the contract.
        unsafe { *info = [slot.width, slot.height, slot.format] };
        if slot.pixels.len() > cap {
            return -2;
        }
        // SAFETY: `buf` holds `cap` >= len bytes per the contract, and is not the slot's.
        unsafe { std::ptr::copy_nonoverlapping(slot.pixels.as_ptr(), buf, slot.pixels.len()) };
        // SAFETY: valid to write per the contract.
        unsafe { *seq = slot.seq };
        return 1;
    }
    if let Some(why) = &slot.ended {
        set_err(err, why);
        return -1;
    }
    0
}

/// Pictures PipeWire delivered so far.
///
/// # Safety
/// `cast` is from `mrs_open`, not closed.
#[no_mangle]
pub unsafe extern "C" fn mrs_received(cast: *const Cast) -> u64 {
    // SAFETY: live per the contract.
    unsafe { &*cast }.shared.received.load(Ordering::Relaxed)
}

/// Stops the stream, closes the portal session and joins both threads.
///
/// # Safety
/// `cast` is from `mrs_open`, closed once.
#[no_mangle]
pub unsafe extern "C" fn mrs_close(cast: *mut Cast) {
    // SAFETY: from Box::into_raw in mrs_open, closed once per the contract.
    let mut cast = unsafe { Box::from_raw(cast) };
    cast.shared.stop.store(true, Ordering::SeqCst);
    cast.shared.end("closed".into());
    for t in cast.threads.drain(..) {
        let _ = t.join();
    }
}
