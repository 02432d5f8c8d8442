//! The ScreenCast portal, on a thread of its own with a one-thread tokio runtime: the session
//! is set up, its PipeWire remote handed back, and then the thread stays to hear the session's
//! `Closed` signal (the track ends) or the plugin's stop (the session is closed).

use std::ffi::c_int;
use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use ashpd::desktop::screencast::{
    CursorMode, Screencast, SelectSourcesOptions, SourceType, StartCastOptions,
};
use ashpd::desktop::{PersistMode, ResponseError};
use futures_util::StreamExt;

use crate::{Shared, FAILED, NOT_ALLOWED, NO_PORTAL};

pub(crate) struct Started {
    pub fd: OwnedFd,
    pub node: u32,
    pub restore_token: Option<String>,
}

type Failure = (c_int, String);

fn failed(step: &str, e: ashpd::Error) -> Failure {
    match e {
        ashpd::Error::Response(ResponseError::Cancelled) => {
            (NOT_ALLOWED, format!("the screen-cast portal's {step} was cancelled"))
        }
        e => (FAILED, format!("the screen-cast portal's {step} failed: {e}")),
    }
}

/// Starts the portal thread; returns once the cast has started (or failed), within `timeout`.
pub(crate) fn start(
    cursor: bool,
    persist: u32,
    token: Option<String>,
    shared: Arc<Shared>,
    timeout: Duration,
) -> Result<(Started, JoinHandle<()>), Failure> {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("mediarecorder-portal".into())
        .spawn(move || run(cursor, persist, token, shared, tx))
        .map_err(|e| (FAILED, format!("cannot start the portal thread: {e}")))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(started)) => Ok((started, thread)),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        // The thread is left to finish the portal call on its own: a chooser may still be open.
        Err(_) => Err((
            FAILED,
            format!("the screen-cast portal did not answer within {} s", timeout.as_secs()),
        )),
    }
}

fn run(
    cursor: bool,
    persist: u32,
    token: Option<String>,
    shared: Arc<Shared>,
    tx: mpsc::Sender<Result<Started, Failure>>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = tx.send(Err((FAILED, format!("cannot start the portal runtime: {e}"))));
            return;
        }
    };
    rt.block_on(async move {
        // A connection of this cast's own: ashpd's shared one would be bound to the runtime of
        // the first cast, gone once that cast ends. Anything wrong before the portal answers
        // means there is none to use here.
        let connection = ashpd::zbus::Connection::session().await;
        let proxy = match connection.map_err(ashpd::Error::from) {
            Ok(c) => Screencast::with_connection(c).await,
            Err(e) => Err(e),
        };
        let proxy = match proxy {
            Ok(p) => p,
            Err(e) => {
                let _ = tx.send(Err((NO_PORTAL, format!("no screen-cast portal: {e}"))));
                return;
            }
        };
        let setup = async {
            let session =
                proxy.create_session(Default::default()).await.map_err(|e| failed("CreateSession", e))?;
            let modes = proxy.available_cursor_modes().await.unwrap_or_default();
            let mode = if cursor && modes.contains(CursorMode::Embedded) {
                CursorMode::Embedded
            } else {
                CursorMode::Hidden
            };
            let persist = match persist {
                1 => PersistMode::Application,
                2 => PersistMode::ExplicitlyRevoked,
                _ => PersistMode::DoNot,
            };
            let mut options = SelectSourcesOptions::default()
                .set_cursor_mode(mode)
                .set_sources(ashpd::enumflags2::BitFlags::from(SourceType::Monitor))
                .set_multiple(false);
            if persist != PersistMode::DoNot {
                options = options.set_persist_mode(persist).set_restore_token(token.as_deref());
            }
            proxy
                .select_sources(&session, options)
                .await
                .and_then(|r| r.response())
                .map_err(|e| failed("SelectSources", e))?;
            let streams = proxy
                .start(&session, None, StartCastOptions::default())
                .await
                .and_then(|r| r.response())
                .map_err(|e| failed("Start", e))?;
            let node = streams
                .streams()
                .first()
                .map(ashpd::desktop::screencast::Stream::pipe_wire_node_id)
                .ok_or((NOT_ALLOWED, "the screen-cast portal gave no stream".to_string()))?;
            let token = streams.restore_token().map(str::to_owned);
            let fd = proxy
                .open_pipe_wire_remote(&session, Default::default())
                .await
                .map_err(|e| failed("OpenPipeWireRemote", e))?;
            Ok((session, Started { fd, node, restore_token: token }))
        };
        let session = match setup.await {
            Ok((session, started)) => {
                if tx.send(Ok(started)).is_err() {
                    let _ = session.close().await;
                    return;
                }
                session
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        let mut closed = session.receive_closed().await.ok();
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if shared.stop.load(Ordering::SeqCst) {
                        let _ = session.close().await;
                        return;
                    }
                }
                Some(_) = async { match closed.as_mut() { Some(s) => s.next().await, None => None } } => {
                    shared.end("the screen-cast portal session was closed".into());
                    return;
                }
            }
        }
    });
}
