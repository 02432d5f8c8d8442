//! The PipeWire side: a stream on the portal's remote, linked to the cast node, on a thread of
//! its own. It asks for packed 32-bit RGB in memory (SHM/MemFd buffers: the only kind every
//! compositor can give without a GPU) and puts each picture, rows repacked, in the slot.

use std::cell::Cell;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use pipewire as pw;
use pw::properties::properties;
use pw::spa;
use pw::spa::param::video::{VideoFormat, VideoInfoRaw};
use pw::spa::pod::Pod;
use pw::stream::{StreamFlags, StreamState};

use crate::{Shared, FORMAT_BGRX, FORMAT_RGBX};

/// Starts the stream thread; returns once the stream has its format, or fails, within
/// `timeout`.
pub(crate) fn start(
    fd: OwnedFd,
    node: u32,
    shared: Arc<Shared>,
    timeout: Duration,
) -> Result<JoinHandle<()>, String> {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("mediarecorder-pipewire".into())
        .spawn(move || {
            if let Err(e) = run(fd, node, &shared, &tx) {
                let _ = tx.send(Err(e.clone()));
                shared.end(e);
            }
        })
        .map_err(|e| format!("cannot start the PipeWire thread: {e}"))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(())) => Ok(thread),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => Err(format!(
            "the PipeWire stream of the screen cast got no format within {} s",
            timeout.as_secs()
        )),
    }
}

fn format_param() -> Vec<u8> {
    use pw::spa::param::format::{FormatProperties, MediaSubtype, MediaType};
    let obj = pw::spa::pod::object!(
        pw::spa::utils::SpaTypes::ObjectParamFormat,
        pw::spa::param::ParamType::EnumFormat,
        pw::spa::pod::property!(FormatProperties::MediaType, Id, MediaType::Video),
        pw::spa::pod::property!(FormatProperties::MediaSubtype, Id, MediaSubtype::Raw),
        pw::spa::pod::property!(
            FormatProperties::VideoFormat,
            Choice,
            Enum,
            Id,
            VideoFormat::BGRx,
            VideoFormat::BGRx,
            VideoFormat::BGRA,
            VideoFormat::RGBx,
            VideoFormat::RGBA
        ),
        pw::spa::pod::property!(
            FormatProperties::VideoSize,
            Choice,
            Range,
            Rectangle,
            spa::utils::Rectangle { width: 1920, height: 1080 },
            spa::utils::Rectangle { width: 1, height: 1 },
            spa::utils::Rectangle { width: 16384, height: 16384 }
        ),
        pw::spa::pod::property!(
            FormatProperties::VideoFramerate,
            Choice,
            Range,
            Fraction,
            spa::utils::Fraction { num: 30, denom: 1 },
            spa::utils::Fraction { num: 0, denom: 1 },
            spa::utils::Fraction { num: 1000, denom: 1 }
        ),
    );
    pw::spa::pod::serialize::PodSerializer::serialize(
        std::io::Cursor::new(Vec::new()),
        &pw::spa::pod::Value::Object(obj),
    )
    .map(|(c, _)| c.into_inner())
    .unwrap_or_default()
}

struct State {
    info: VideoInfoRaw,
    /// Told the opener (format known, or failed) already.
    told: Cell<bool>,
}

fn run(
    fd: OwnedFd,
    node: u32,
    shared: &Arc<Shared>,
    tx: &mpsc::Sender<Result<(), String>>,
) -> Result<(), String> {
    pw::init();
    let err = |what: &str, e: pw::Error| format!("PipeWire: {what} failed: {e}");
    let mainloop = pw::main_loop::MainLoopBox::new(None).map_err(|e| err("the main loop", e))?;
    let context =
        pw::context::ContextBox::new(mainloop.loop_(), None).map_err(|e| err("the context", e))?;
    let core = context.connect_fd(fd, None).map_err(|e| err("connecting to the remote", e))?;
    let core_shared = shared.clone();
    let _core_listener = core
        .add_listener_local()
        .error(move |id, _seq, res, message| {
            // The connection itself broke (EPIPE on the core object): nothing more will come.
            // Other errors name one request (a relink racing the node) and pass.
            if id == 0 && res == -32 {
                core_shared.end(format!("PipeWire: {message} ({res})"));
            }
        })
        .register();
    let stream = pw::stream::StreamBox::new(
        &core,
        "mediarecorder-screen",
        properties! {
            *pw::keys::MEDIA_TYPE => "Video",
            *pw::keys::MEDIA_CATEGORY => "Capture",
            *pw::keys::MEDIA_ROLE => "Screen",
        },
    )
    .map_err(|e| err("the stream", e))?;
    let state = State { info: VideoInfoRaw::default(), told: Cell::new(false) };
    let told_tx = Rc::new(tx.clone());
    let (on_state, on_param, on_process) = (shared.clone(), told_tx.clone(), shared.clone());
    let state_tx = told_tx.clone();
    let _listener = stream
        .add_local_listener_with_user_data(state)
        .state_changed(move |_, st, _old, new| match new {
            StreamState::Error(e) => {
                if !st.told.replace(true) {
                    let _ = state_tx.send(Err(format!("PipeWire stream failed: {e}")));
                }
                on_state.end(format!("the PipeWire stream failed: {e}"));
            }
            StreamState::Unconnected => on_state.end("the PipeWire stream was disconnected".into()),
            _ => {}
        })
        .param_changed(move |_, st, id, param| {
            let Some(param) = param else { return };
            if id != pw::spa::param::ParamType::Format.as_raw() {
                return;
            }
            if st.info.parse(param).is_ok() && !st.told.replace(true) {
                let _ = on_param.send(Ok(()));
            }
        })
        .process(move |stream, st| {
            let Some(mut buffer) = stream.dequeue_buffer() else { return };
            let format = match st.info.format() {
                VideoFormat::BGRx | VideoFormat::BGRA => FORMAT_BGRX,
                VideoFormat::RGBx | VideoFormat::RGBA => FORMAT_RGBX,
                _ => return,
            };
            let (w, h) = (st.info.size().width, st.info.size().height);
            let datas = buffer.datas_mut();
            let Some(data) = datas.first_mut() else { return };
            let (offset, size) = (data.chunk().offset() as usize, data.chunk().size() as usize);
            let stride = match data.chunk().stride() {
                s if s > 0 => s as usize,
                _ => w as usize * 4,
            };
            let row = w as usize * 4;
            // An empty chunk: nothing changed (or a corrupted picture); keep the one we have.
            if size == 0 || stride < row {
                return;
            }
            let Some(bytes) = data.data() else { return };
            let Some(bytes) = bytes.get(offset..) else { return };
            if bytes.len() < stride * (h as usize - 1) + row {
                return;
            }
            on_process.received.fetch_add(1, Ordering::Relaxed);
            let mut slot = on_process.slot.lock().unwrap_or_else(|e| e.into_inner());
            slot.pixels.clear();
            slot.pixels.reserve(row * h as usize);
            for y in 0..h as usize {
                slot.pixels.extend_from_slice(&bytes[y * stride..y * stride + row]);
            }
            (slot.width, slot.height, slot.format) = (w, h, format);
            slot.seq += 1;
            on_process.changed.notify_all();
        })
        .register()
        .map_err(|e| err("the stream listener", e))?;
    let values = format_param();
    let pod = Pod::from_bytes(&values).ok_or("PipeWire: the format parameter is malformed")?;
    stream
        .connect(
            spa::utils::Direction::Input,
            Some(node),
            StreamFlags::AUTOCONNECT | StreamFlags::MAP_BUFFERS | StreamFlags::DONT_RECONNECT,
            &mut [pod],
        )
        .map_err(|e| err("connecting the stream", e))?;
    // The loop is run in steps so the plugin's stop is seen within 50 ms.
    loop {
        mainloop.loop_().iterate(pw::loop_::Timeout::Finite(Duration::from_millis(50)));
        if shared.stop.load(Ordering::SeqCst) {
            let _ = stream.disconnect();
            return Ok(());
        }
        let ended = shared.slot.lock().unwrap_or_else(|e| e.into_inner()).ended.clone();
        if let Some(why) = ended {
            let _ = told_tx.send(Err(format!("the screen cast ended at its start: {why}")));
            return Ok(());
        }
    }
}
