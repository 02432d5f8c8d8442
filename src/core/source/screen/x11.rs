//! Grabbing pictures of an X11 screen with x11rb (the protocol in Rust, no libxcb).
//!
//! MIT-SHM first: the server writes the picture straight into a shared memory segment, one
//! copy. Where SHM cannot be used (a remote display, another IPC namespace, an old server) the
//! plain `GetImage` request carries the pixels over the socket instead, which costs a copy
//! more and the socket's bandwidth. The cursor is not part of the screen's pixels: XFixes hands
//! over its image and position, and it is blended in here.
//!
//! The connection comes from `x11_conn`, where no wait for the server lasts longer than its
//! deadline. A resized screen (RandR) is seen in the root window's ConfigureNotify events, or,
//! where a grab was refused before that event arrived, by asking the root window's size.

use x11rb::connection::{Connection, RequestConnection};
use x11rb::errors::{ConnectionError, ReplyError};
use x11rb::protocol::shm::{self, ConnectionExt as _};
use x11rb::protocol::xfixes::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{
    ChangeWindowAttributesAux, ConnectionExt as _, EventMask, ImageFormat, ImageOrder, Window,
};
use x11rb::protocol::Event;

use crate::core::source::overconstrained;
use crate::core::source::screen::x11_conn::{gave_up, unresponsive, Conn};
use crate::core::{Error, Result};

/// A rectangle of the root window, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Why a grab failed: the display is gone or stopped answering, or it refused the request.
/// Either way the capture cannot go on.
#[derive(Debug)]
pub struct Lost(pub String);

impl From<ConnectionError> for Lost {
    fn from(e: ConnectionError) -> Self {
        Lost(format!("the X connection failed: {e}"))
    }
}

impl From<ReplyError> for Lost {
    fn from(e: ReplyError) -> Self {
        Lost(format!("the X server refused the capture: {e}"))
    }
}

/// A connection to one X screen, ready to grab `region` as BGRA (4 bytes a pixel).
pub struct Grabber {
    conn: Conn,
    root: Window,
    /// The screen's size as last seen.
    screen: (u32, u32),
    /// A size change seen but not yet reported by [`Grabber::resized`].
    pending: Option<(u32, u32)>,
    region: Rect,
    shm: Option<ShmSegment>,
    cursor: bool,
    /// The last picture, where it cannot be read in place (no SHM, or a cursor drawn in).
    pixels: Vec<u8>,
}

/// What went wrong while taking a picture.
enum Failed {
    /// The server refused the request: the screen may have shrunk under the region.
    Refused(String),
    Lost(Lost),
}

impl From<ReplyError> for Failed {
    fn from(e: ReplyError) -> Self {
        match e {
            ReplyError::X11Error(e) => Failed::Refused(format!("{:?}", e.error_kind)),
            ReplyError::ConnectionError(e) => Failed::Lost(e.into()),
        }
    }
}

impl From<ConnectionError> for Failed {
    fn from(e: ConnectionError) -> Self {
        Failed::Lost(e.into())
    }
}

/// What a connection that failed while the capture was being set up means to the caller.
fn failed(display: &str, e: ConnectionError) -> Error {
    match e {
        ConnectionError::IoError(e) if gave_up(&e) => unresponsive(display, &e),
        e => {
            Error::NotReadable(format!("get_display_media: the X display {display:?} failed: {e}"))
        }
    }
}

impl Grabber {
    /// `region` must lie inside the screen (checked by the caller against `screen_size`).
    pub fn new(
        conn: Conn,
        display: &str,
        screen: usize,
        region: Rect,
        cursor: bool,
    ) -> Result<Self> {
        let setup = conn.setup();
        let root_screen = setup
            .roots
            .get(screen)
            .ok_or_else(|| Error::NotFound(format!("the X display has no screen {screen}")))?;
        let depth = root_screen.root_depth;
        let bpp = setup
            .pixmap_formats
            .iter()
            .find(|f| f.depth == depth)
            .map(|f| f.bits_per_pixel)
            .unwrap_or(0);
        if !(depth == 24 || depth == 32)
            || bpp != 32
            || setup.image_byte_order != ImageOrder::LSB_FIRST
        {
            return Err(Error::NotSupported(format!(
                "get_display_media: the X screen's format is not supported (depth {depth}, \
                 {bpp} bits a pixel; expected depth 24 or 32 at 32 bits, little-endian)"
            )));
        }
        let (root, sw, sh) = (
            root_screen.root,
            root_screen.width_in_pixels as u32,
            root_screen.height_in_pixels as u32,
        );
        let fail = |e| failed(display, e);
        if cursor {
            let has = conn.extension_information(xfixes::X11_EXTENSION_NAME).map_err(fail)?;
            let ok = match has {
                Some(_) => refused(conn.xfixes_query_version(4, 0).map_err(fail)?.reply())
                    .map_err(fail)?
                    .is_some(),
                None => false,
            };
            if !ok {
                return Err(overconstrained(
                    "cursor",
                    "cursor: the X server has no XFixes extension to read the cursor",
                ));
            }
        }
        // The root window's ConfigureNotify says when the screen is resized (RandR).
        let watch = ChangeWindowAttributesAux::new().event_mask(EventMask::STRUCTURE_NOTIFY);
        conn.change_window_attributes(root, &watch).map_err(fail)?;
        let bytes = region.width as usize * region.height as usize * 4;
        let shm = ShmSegment::new(&conn, bytes).map_err(fail)?;
        Ok(Grabber {
            conn,
            root,
            screen: (sw, sh),
            pending: None,
            region,
            shm,
            cursor,
            pixels: vec![0; bytes],
        })
    }

    /// Whether grabs go through MIT-SHM.
    pub fn uses_shm(&self) -> bool {
        self.shm.is_some()
    }

    /// The screen's new size if it changed since the last call, from the events the server
    /// sent meanwhile (no round trip).
    pub fn resized(&mut self) -> std::result::Result<Option<(u32, u32)>, Lost> {
        let mut size = self.pending.take();
        while let Some(event) = self.conn.poll_for_event()? {
            if let Event::ConfigureNotify(e) = event {
                if e.window == self.root {
                    size = Some((e.width as u32, e.height as u32));
                }
            }
        }
        Ok(size.filter(|&s| s != self.screen).inspect(|&s| self.screen = s))
    }

    /// Grabs `region` from now on (after a resize); it must lie inside the screen.
    pub fn set_region(&mut self, region: Rect) -> std::result::Result<(), Lost> {
        let bytes = region.width as usize * region.height as usize * 4;
        if self.shm.as_ref().is_some_and(|seg| seg.len < bytes) {
            self.release_shm();
            self.shm = ShmSegment::new(&self.conn, bytes)?;
        }
        self.region = region;
        self.pixels.resize(bytes, 0);
        Ok(())
    }

    /// Grabs the region now: BGRA, `width * height * 4` bytes, valid until the next grab.
    /// None when the screen's size changed under the grab ([`Grabber::resized`] says how).
    pub fn grab(&mut self) -> std::result::Result<Option<&[u8]>, Lost> {
        match self.take() {
            Ok(()) => {}
            Err(Failed::Lost(lost)) => return Err(lost),
            Err(Failed::Refused(why)) => {
                // A resize whose event has not arrived yet: ask the root window's size.
                let g = self.conn.get_geometry(self.root)?.reply()?;
                let size = (g.width as u32, g.height as u32);
                if size == self.screen {
                    return Err(Lost(format!("the X server refused the capture: {why}")));
                }
                self.pending = Some(size);
                return Ok(None);
            }
        }
        let n = self.pixels.len();
        Ok(Some(match &self.shm {
            // Read in place: the server writes the segment only while we wait for a reply,
            // and we ask for the next picture only after this one was used.
            Some(seg) if !self.cursor => seg.bytes(n),
            _ => &self.pixels,
        }))
    }

    /// Takes a picture into the SHM segment (without cursor) or `pixels`.
    fn take(&mut self) -> std::result::Result<(), Failed> {
        let Rect { x, y, width, height } = self.region;
        let format = ImageFormat::Z_PIXMAP.into();
        let (x, y, w, h) = (x as i16, y as i16, width as u16, height as u16);
        let n = self.pixels.len();
        match &mut self.shm {
            Some(seg) => {
                self.conn.shm_get_image(self.root, x, y, w, h, !0, format, seg.id, 0)?.reply()?;
                if !self.cursor {
                    return Ok(());
                }
                self.pixels.copy_from_slice(seg.bytes(n));
            }
            None => {
                let reply = self
                    .conn
                    .get_image(ImageFormat::Z_PIXMAP, self.root, x, y, w, h, !0)?
                    .reply()?;
                if reply.data.len() < n {
                    return Err(Failed::Lost(Lost("the X server sent a short image".into())));
                }
                self.pixels.copy_from_slice(&reply.data[..n]);
            }
        }
        if self.cursor {
            let c = self.conn.xfixes_get_cursor_image()?.reply()?;
            blend_cursor(
                &mut self.pixels,
                self.region,
                (c.x as i64 - c.xhot as i64, c.y as i64 - c.yhot as i64),
                (c.width as usize, c.height as usize),
                &c.cursor_image,
            );
        }
        Ok(())
    }

    fn release_shm(&mut self) {
        if let Some(seg) = self.shm.take() {
            // The server may be gone already; the segment is freed by the kernel either way.
            let _ = self.conn.shm_detach(seg.id);
            let _ = self.conn.flush();
        }
    }
}

impl Drop for Grabber {
    fn drop(&mut self) {
        self.release_shm();
    }
}

/// A reply, None where the server refused the request (an X error); the connection's own
/// failures are passed on.
fn refused<T>(
    r: std::result::Result<T, ReplyError>,
) -> std::result::Result<Option<T>, ConnectionError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(ReplyError::X11Error(_)) => Ok(None),
        Err(ReplyError::ConnectionError(e)) => Err(e),
    }
}

/// Draws the cursor's premultiplied ARGB image with its top-left at screen position `at`.
fn blend_cursor(
    pixels: &mut [u8],
    region: Rect,
    at: (i64, i64),
    size: (usize, usize),
    argb: &[u32],
) {
    let (w, h) = size;
    for cy in 0..h {
        let sy = at.1 + cy as i64 - region.y as i64;
        if sy < 0 || sy >= region.height as i64 {
            continue;
        }
        for cx in 0..w {
            let sx = at.0 + cx as i64 - region.x as i64;
            if sx < 0 || sx >= region.width as i64 {
                continue;
            }
            let Some(&p) = argb.get(cy * w + cx) else { return };
            let a = p >> 24;
            if a == 0 {
                continue;
            }
            let i = (sy as usize * region.width as usize + sx as usize) * 4;
            let inv = 255 - a;
            // BGRA in memory; the cursor's colour channels are premultiplied by its alpha.
            for (k, shift) in [(0usize, 0u32), (1, 8), (2, 16)] {
                let src = (p >> shift) & 0xff;
                pixels[i + k] = (src + (pixels[i + k] as u32 * inv + 127) / 255).min(255) as u8;
            }
        }
    }
}

/// A System V shared memory segment attached by both sides.
struct ShmSegment {
    id: shm::Seg,
    addr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is owned by the grabber, which is used by one thread at a time, and
// the pointer is only dereferenced through `&self` while the segment is attached.
unsafe impl Send for ShmSegment {}

impl ShmSegment {
    /// None where MIT-SHM cannot be used; the grabber then falls back to `GetImage`. Only
    /// the connection's failures are errors.
    #[cfg(unix)]
    fn new(conn: &Conn, len: usize) -> std::result::Result<Option<Self>, ConnectionError> {
        if std::env::var_os("MEDIARECORDER_NO_SHM").is_some()
            || conn.extension_information(shm::X11_EXTENSION_NAME)?.is_none()
            || refused(conn.shm_query_version()?.reply())?.is_none()
        {
            return Ok(None);
        }
        let id = match conn.generate_id() {
            Ok(id) => id,
            Err(x11rb::errors::ReplyOrIdError::ConnectionError(e)) => return Err(e),
            Err(_) => return Ok(None),
        };
        // SAFETY: a fresh private segment, mapped read-write in this process; it is marked for
        // removal right after the server attached it, so the kernel frees it when both detach
        // (or die).
        unsafe {
            let shmid = libc::shmget(libc::IPC_PRIVATE, len, libc::IPC_CREAT | 0o600);
            if shmid < 0 {
                return Ok(None);
            }
            let addr = libc::shmat(shmid, std::ptr::null(), 0);
            if addr as isize == -1 {
                libc::shmctl(shmid, libc::IPC_RMID, std::ptr::null_mut());
                return Ok(None);
            }
            let attached = conn
                .shm_attach(id, shmid as u32, false)
                .map_err(ReplyError::from)
                .and_then(x11rb::cookie::VoidCookie::check);
            libc::shmctl(shmid, libc::IPC_RMID, std::ptr::null_mut());
            match refused(attached) {
                Ok(Some(())) => Ok(Some(ShmSegment { id, addr: addr as *mut u8, len })),
                other => {
                    libc::shmdt(addr);
                    other.map(|_| None)
                }
            }
        }
    }

    #[cfg(not(unix))]
    fn new(_conn: &Conn, _len: usize) -> std::result::Result<Option<Self>, ConnectionError> {
        Ok(None)
    }

    fn bytes(&self, len: usize) -> &[u8] {
        // SAFETY: `addr` maps `self.len` bytes for as long as `self` lives; the server wrote
        // them before its reply to the request that the caller waited for.
        unsafe { std::slice::from_raw_parts(self.addr, len.min(self.len)) }
    }
}

impl Drop for ShmSegment {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: detaches the mapping made in `new`; nothing borrows it past `self`.
        unsafe {
            libc::shmdt(self.addr as *const libc::c_void);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_blends_premultiplied_and_clips_to_the_region() {
        let region = Rect { x: 10, y: 10, width: 4, height: 4 };
        let mut px = vec![100u8; 4 * 4 * 4];
        // A 2x2 cursor at screen (9, 9): only its bottom-right pixel lands in the region.
        let opaque_red = 0xff_ff_00_00u32;
        let half_white = 0x80_80_80_80u32;
        blend_cursor(
            &mut px,
            region,
            (9, 9),
            (2, 2),
            &[half_white, half_white, half_white, opaque_red],
        );
        assert_eq!(&px[..4], &[0, 0, 255, 100]);
        assert_eq!(&px[4..8], &[100, 100, 100, 100]);
        blend_cursor(&mut px, region, (11, 10), (1, 1), &[half_white]);
        // 0x80 + 100 * (255 - 128) / 255
        assert_eq!(px[4], 128 + 50);
    }
}
