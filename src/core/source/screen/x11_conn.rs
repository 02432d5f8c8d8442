//! The connection to an X server, with a deadline on every wait.
//!
//! x11rb's own connection waits for the server without end: a server that accepts the
//! connection and then never answers (stopped, or not an X server at all) would hang
//! `get_display_media` and the capture thread for good. So the socket is opened here and
//! wrapped in a stream whose every wait for the server gives up after [`TIMEOUT`], and also
//! when the embedder interrupts the calling thread (Ctrl-C: `core::wait`).

use std::io::{self, IoSlice};
use std::time::{Duration, Instant};

use x11rb::reexports::x11rb_protocol::parse_display::{parse_display, ConnectAddress};
use x11rb::reexports::x11rb_protocol::xauth::{get_auth, Family};
use x11rb::rust_connection::{ConnectError, DefaultStream, PollMode, RustConnection, Stream};
use x11rb::utils::RawFdContainer;

use crate::core::{Error, Result};

/// How long the server may keep silent, at connection set-up and for any request, before it
/// is given up on.
pub const TIMEOUT: Duration = Duration::from_secs(5);

pub type Conn = RustConnection<TimedStream>;

/// x11rb's socket stream, whose waits end at a deadline or an interrupt.
pub struct TimedStream {
    inner: DefaultStream,
}

impl Stream for TimedStream {
    fn poll(&self, mode: PollMode) -> io::Result<()> {
        wait_ready(&self.inner, mode, Instant::now() + TIMEOUT)
    }

    fn read(&self, buf: &mut [u8], fds: &mut Vec<RawFdContainer>) -> io::Result<usize> {
        self.inner.read(buf, fds)
    }

    fn write(&self, buf: &[u8], fds: &mut Vec<RawFdContainer>) -> io::Result<usize> {
        self.inner.write(buf, fds)
    }

    fn write_vectored(
        &self,
        bufs: &[IoSlice<'_>],
        fds: &mut Vec<RawFdContainer>,
    ) -> io::Result<usize> {
        self.inner.write_vectored(bufs, fds)
    }
}

/// Whether an I/O error is a wait that gave up (the deadline, or an interrupt): the server is
/// unresponsive, which is not the same as absent.
pub fn gave_up(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::Interrupted)
}

/// What a wait that gave up on `display` means to the caller.
pub fn unresponsive(display: &str, e: &io::Error) -> Error {
    if e.kind() == io::ErrorKind::Interrupted {
        return Error::NotReadable(format!(
            "get_display_media: interrupted while waiting for the X display {display:?}"
        ));
    }
    Error::NotReadable(format!(
        "get_display_media: the X display {display:?} did not answer within {} s",
        TIMEOUT.as_secs()
    ))
}

/// Opens `display` (None: `$DISPLAY`): the connection, the number of its screen and the
/// display's name. `NotSupported` when no display is named at all, `NotFound` when the named
/// one cannot be reached, `NotReadable` when it does not answer.
pub fn connect(display: Option<&str>) -> Result<(Conn, usize, String)> {
    if let Some(platform) = non_x11_platform() {
        // An X server there (XQuartz, an X server for Windows) shows its own windows only.
        return Err(Error::NotSupported(format!(
            "get_display_media: screen capture is not supported on {platform} (X11 only)"
        )));
    }
    let name = match display {
        Some(d) => d.to_string(),
        None => match std::env::var("DISPLAY") {
            Ok(d) if !d.is_empty() => d,
            _ => return Err(Error::NotSupported(no_display_message())),
        },
    };
    let not_found = |e: &dyn std::fmt::Display| {
        Error::NotFound(format!("cannot connect to the X display {name:?}: {e}"))
    };
    let parsed = parse_display(Some(&name)).map_err(|e| not_found(&e))?;
    let screen = parsed.screen as usize;
    let deadline = Instant::now() + TIMEOUT;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
    for addr in parsed.connect_instruction() {
        let (stream, (family, address)) = match open(&addr, deadline) {
            Ok(s) => s,
            Err(e) if gave_up(&e) => return Err(unresponsive(&name, &e)),
            Err(e) => {
                last = e;
                continue;
            }
        };
        // As x11rb does: without usable auth data, try without.
        let (auth_name, auth_data) =
            get_auth(family, &address, parsed.display).ok().flatten().unwrap_or_default();
        let stream = TimedStream { inner: stream };
        return match Conn::connect_to_stream_with_auth_info(stream, screen, auth_name, auth_data) {
            Ok(conn) => Ok((conn, screen, name)),
            Err(ConnectError::IoError(e)) if gave_up(&e) => Err(unresponsive(&name, &e)),
            Err(e) => Err(not_found(&e)),
        };
    }
    Err(not_found(&last))
}

/// The platforms whose screens are not X11 screens, by name.
pub fn non_x11_platform() -> Option<&'static str> {
    if cfg!(target_os = "macos") {
        Some("macOS")
    } else if cfg!(windows) {
        Some("Windows")
    } else {
        None
    }
}

fn no_display_message() -> String {
    let wayland = std::env::var_os("WAYLAND_DISPLAY").is_some();
    let platform = if wayland {
        "Wayland is not supported without XWayland (no DISPLAY is set)"
    } else {
        "DISPLAY is not set"
    };
    format!("get_display_media: no X11 display to capture: {platform}")
}

type Peer = (Family, Vec<u8>);

#[cfg(unix)]
fn open(addr: &ConnectAddress<'_>, deadline: Instant) -> io::Result<(DefaultStream, Peer)> {
    use socket2::{Domain, SockAddr};
    use std::net::ToSocketAddrs;
    match addr {
        ConnectAddress::Hostname(host, port) => {
            let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host}: no address"));
            for a in (*host, *port).to_socket_addrs()? {
                match connect_socket(Domain::for_address(a), &a.into(), deadline) {
                    Ok(s) => return DefaultStream::from_tcp_stream(s.into()),
                    Err(e) if gave_up(&e) => return Err(e),
                    Err(e) => last = e,
                }
            }
            Err(last)
        }
        ConnectAddress::Socket(path) => {
            let s = connect_socket(Domain::UNIX, &SockAddr::unix(path)?, deadline)?;
            DefaultStream::from_unix_stream(s.into())
        }
        _ => Err(io::Error::new(io::ErrorKind::Unsupported, "unknown address family")),
    }
}

/// A connected socket, connected without blocking: a TCP peer that never completes the
/// handshake, or a Unix socket whose listen queue is full, is waited for until `deadline`.
#[cfg(unix)]
fn connect_socket(
    domain: socket2::Domain,
    addr: &socket2::SockAddr,
    deadline: Instant,
) -> io::Result<socket2::Socket> {
    use socket2::{Socket, Type};
    loop {
        let socket = Socket::new(domain, Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        match socket.connect(addr) {
            Ok(()) => return Ok(socket),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
                wait_ready(&socket, PollMode::Writable, deadline)?;
                return match socket.take_error()? {
                    Some(e) => Err(e),
                    None => Ok(socket),
                };
            }
            // A Unix socket's full listen queue: the server is not accepting; ask again.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait_until(deadline.min(Instant::now() + crate::core::wait::CHECK_EVERY))?;
                if Instant::now() >= deadline {
                    return Err(timed_out());
                }
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(not(unix))]
fn open(addr: &ConnectAddress<'_>, _deadline: Instant) -> io::Result<(DefaultStream, Peer)> {
    DefaultStream::connect(addr)
}

#[cfg(unix)]
fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("no answer within {} s", TIMEOUT.as_secs()))
}

#[cfg(unix)]
fn interrupted() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "interrupted")
}

/// Sleeps until `until`, or until the embedder interrupts the thread.
#[cfg(unix)]
fn wait_until(until: Instant) -> io::Result<()> {
    loop {
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        std::thread::sleep((until - now).min(crate::core::wait::CHECK_EVERY));
        if crate::core::wait::should_give_up() {
            return Err(interrupted());
        }
    }
}

/// Waits until `fd` is ready for `mode` (or has failed: the read or write that follows says
/// how), at most until `deadline`, asking the embedder's interrupt check in between.
#[cfg(unix)]
fn wait_ready(fd: &impl std::os::fd::AsRawFd, mode: PollMode, deadline: Instant) -> io::Result<()> {
    let mut events = 0;
    if mode.readable() {
        events |= libc::POLLIN;
    }
    if mode.writable() {
        events |= libc::POLLOUT;
    }
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(timed_out());
        }
        let slice = (deadline - now).min(crate::core::wait::CHECK_EVERY);
        let mut p = libc::pollfd { fd: fd.as_raw_fd(), events, revents: 0 };
        // Rounded up: a zero timeout would spin through the last millisecond.
        let ms = slice.as_micros().div_ceil(1000) as libc::c_int;
        // SAFETY: one valid pollfd, borrowed for the call only.
        let n = unsafe { libc::poll(&mut p, 1, ms) };
        if n > 0 {
            return Ok(());
        }
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        if crate::core::wait::should_give_up() {
            return Err(interrupted());
        }
    }
}

/// Elsewhere (Windows, where X servers are rare) the wait has no deadline.
#[cfg(not(unix))]
fn wait_ready(stream: &DefaultStream, mode: PollMode, _deadline: Instant) -> io::Result<()> {
    stream.poll(mode)
}
