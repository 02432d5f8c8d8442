//! The `MediaRecorder` state machine (reference §2).
//!
//! Methods change `state` synchronously in the caller's thread and never wait for media work.
//! Everything the spec queues becomes a [`Task`] handed to the embedder's [`EventOutlet`]; the
//! embedder runs tasks one at a time, in order, on its delivery thread. Running a task makes the
//! state changes the spec ties to it (the extended `mimeType` before `start`, inactivation
//! before an `error`) and yields the [`Event`] to dispatch, if any.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);
use parking_lot::Mutex;

use crate::core::bitrate::{self, DEFAULT_AUDIO_BPS, DEFAULT_VIDEO_BPS};
use crate::core::encode::BitrateMode;
use crate::core::exit::{self, StopAtExit};
use crate::core::level::Level;
use crate::core::mime::{self, MimeType};
use crate::core::session::{Budget, Command, Control, Posted, SessionInput};
pub use crate::core::stats::RecorderStats;
use crate::core::track::{Track, TrackKind};
use crate::core::{Error, Result};

mod start;
mod types;

pub use types::{AudioTracks, Event, RecorderOptions, RecordingState};

/// Undelivered blobs a recorder may hold before its pipeline waits for the handlers.
pub const BLOB_BUDGET: usize = 64 << 20;

/// Receives the recorder's queued tasks. `post` may be called from any thread, including
/// from inside a task's run; it must not block on the delivery thread.
pub trait EventOutlet: Send + Sync + 'static {
    fn post(&self, task: Task);
}

/// A queued task of one recording session. Run it on the delivery thread, in posting order.
pub struct Task {
    shared: Arc<Shared>,
    session: u64,
    kind: TaskKind,
}

pub(crate) enum TaskKind {
    /// What the session posted.
    Posted(Posted),
    TrackSetCheck,
}

impl Task {
    /// The session the task belongs to: process-unique, and increasing from one `start()`
    /// to the next.
    pub fn session(&self) -> u64 {
        self.session
    }

    /// Applies the task's state changes and returns the event to dispatch.
    pub fn run(self) -> Option<Event> {
        let mut inner = self.shared.inner.lock();
        let current = inner.session.as_ref().is_some_and(|s| s.id == self.session);
        match self.kind {
            TaskKind::Posted(Posted::Start { codecs }) => {
                if let Some(codecs) = codecs {
                    for (id, mime) in &mut inner.mimes {
                        if *id == self.session {
                            *mime = mime::with_codec_strings(mime, &codecs);
                        }
                    }
                    if let Some(s) = inner.session.as_mut().filter(|s| s.id == self.session) {
                        s.mime = mime::with_codec_strings(&s.mime, &codecs);
                    }
                }
                if current {
                    inner.mime_type =
                        inner.session.as_ref().map(|s| s.mime.clone()).unwrap_or_default();
                }
                Some(Event::Start)
            }
            TaskKind::Posted(Posted::Data { data, timecode, budget }) => {
                let mime_type = inner.session_mime(self.session);
                let timecode = inner.timecode_base + timecode;
                Some(Event::DataAvailable { data, mime_type, timecode, budget })
            }
            TaskKind::Posted(Posted::Pause) => Some(Event::Pause),
            TaskKind::Posted(Posted::Resume) => Some(Event::Resume),
            TaskKind::Posted(Posted::Segment(done)) => Some(Event::Segment(done)),
            // The session ended on its own (an error, or all tracks ended): inactivate, then
            // the error.
            TaskKind::Posted(Posted::Teardown(error)) => {
                if current {
                    inner.inactivate();
                }
                error.map(Event::Error)
            }
            TaskKind::Posted(Posted::Stop { media_ms }) => {
                inner.timecode_base += media_ms;
                inner.mimes.retain(|(id, _)| *id != self.session);
                Some(Event::Stop)
            }
            TaskKind::TrackSetCheck => {
                if current {
                    let session = inner.inactivate();
                    if let Some(s) = session {
                        s.send(Command::Abort(Error::InvalidModification(
                            "the stream's track set changed during recording".into(),
                        )));
                    }
                }
                None
            }
        }
    }
}

struct Shared {
    inner: Mutex<Inner>,
    outlet: Arc<dyn EventOutlet>,
    budget: Arc<Budget>,
    stats: Arc<RecorderStats>,
}

impl Shared {
    fn stop(&self) {
        let mut inner = self.inner.lock();
        if inner.state == RecordingState::Inactive {
            return;
        }
        if let Some(s) = inner.inactivate() {
            s.send(Command::Stop);
        }
    }
}

impl StopAtExit for Shared {
    fn stop_at_exit(&self) -> Option<Receiver<()>> {
        self.stop();
        self.inner.lock().last_done.clone()
    }
}

struct ActiveSession {
    id: u64,
    control: Sender<Control>,
    input: SessionInput,
    tracks: Vec<Arc<Track>>,
    mime: String,
}

impl ActiveSession {
    /// Queues `cmd` behind every media item already sent to the session.
    fn send(&self, cmd: Command) {
        let seq = self.input.sequence();
        let _ = self.control.send(Control { seq, cmd });
    }
}

struct Inner {
    state: RecordingState,
    constrained: String,
    parsed: MimeType,
    mime_type: String,
    options: RecorderOptions,
    audio_bps: u32,
    video_bps: u32,
    session: Option<ActiveSession>,
    /// Extended types of sessions whose blobs are still being delivered.
    mimes: Vec<(u64, String)>,
    /// Dropped (disconnected) when the last session's pipeline has posted its last task.
    last_done: Option<Receiver<()>>,
    timecode_base: f64,
    /// The id of the newest session started (0: none yet).
    started: u64,
    /// The tracks of the current (or last) session.
    recorded: Vec<Arc<Track>>,
}

impl Inner {
    fn session_mime(&self, session: u64) -> String {
        self.mimes.iter().find(|(id, _)| *id == session).map(|(_, m)| m.clone()).unwrap_or_default()
    }

    /// "Inactivate the recorder" (§2.4); returns the session so the caller can end it.
    fn inactivate(&mut self) -> Option<ActiveSession> {
        self.state = RecordingState::Inactive;
        self.mime_type = self.constrained.clone();
        if let Some(bps) = self.options.bits_per_second {
            (self.video_bps, self.audio_bps) = bitrate::select(bps, 1, 1);
        }
        let session = self.session.take();
        if let Some(s) = &session {
            for t in &s.tracks {
                t.detach(s.id);
            }
        }
        session
    }
}

/// A recorder. Cheap to share; dropping the last handle stops an active session.
pub struct Recorder {
    shared: Arc<Shared>,
}

impl Recorder {
    pub fn new(options: RecorderOptions, outlet: Arc<dyn EventOutlet>) -> Result<Self> {
        let parsed = mime::parse(&options.mime_type).map_err(|why| {
            Error::NotSupported(format!(
                "mime_type {:?} is not supported: {why}",
                options.mime_type
            ))
        })?;
        if options.video_key_frame_interval_duration.is_some()
            && options.video_key_frame_interval_count.is_some()
        {
            return Err(Error::NotSupported(
                "video_key_frame_interval_duration and video_key_frame_interval_count cannot \
                 both be set"
                    .into(),
            ));
        }
        let mut video_bps = options.video_bits_per_second.unwrap_or(DEFAULT_VIDEO_BPS);
        let mut audio_bps = options.audio_bits_per_second.unwrap_or(DEFAULT_AUDIO_BPS);
        if let Some(bps) = options.bits_per_second {
            (video_bps, audio_bps) = bitrate::select(bps, 1, 1);
        }
        let inner = Inner {
            state: RecordingState::Inactive,
            constrained: options.mime_type.clone(),
            mime_type: options.mime_type.clone(),
            parsed,
            options,
            audio_bps,
            video_bps,
            session: None,
            mimes: Vec::new(),
            last_done: None,
            timecode_base: 0.0,
            started: 0,
            recorded: Vec::new(),
        };
        let shared = Arc::new(Shared {
            inner: Mutex::new(inner),
            outlet,
            budget: Budget::new(BLOB_BUDGET),
            stats: Arc::default(),
        });
        let weak: std::sync::Weak<dyn StopAtExit> = Arc::downgrade(&shared) as _;
        exit::register(weak);
        Ok(Recorder { shared })
    }

    pub fn state(&self) -> RecordingState {
        self.shared.inner.lock().state
    }
    pub fn mime_type(&self) -> String {
        self.shared.inner.lock().mime_type.clone()
    }
    pub fn audio_bits_per_second(&self) -> u32 {
        self.shared.inner.lock().audio_bps
    }
    pub fn video_bits_per_second(&self) -> u32 {
        self.shared.inner.lock().video_bps
    }
    pub fn audio_bitrate_mode(&self) -> BitrateMode {
        self.shared.inner.lock().options.audio_bitrate_mode
    }
    pub fn options(&self) -> RecorderOptions {
        self.shared.inner.lock().options.clone()
    }

    /// `stop()` (§2.5): never fails.
    pub fn stop(&self) {
        self.shared.stop();
    }

    pub fn pause(&self) -> Result<()> {
        let mut inner = self.shared.inner.lock();
        match inner.state {
            RecordingState::Inactive => {
                Err(Error::InvalidState("pause: the recorder is inactive".into()))
            }
            RecordingState::Paused => Ok(()),
            RecordingState::Recording => {
                inner.state = RecordingState::Paused;
                if let Some(s) = &inner.session {
                    s.send(Command::Pause);
                }
                Ok(())
            }
        }
    }

    pub fn resume(&self) -> Result<()> {
        let mut inner = self.shared.inner.lock();
        match inner.state {
            RecordingState::Inactive => {
                Err(Error::InvalidState("resume: the recorder is inactive".into()))
            }
            RecordingState::Recording => Ok(()),
            RecordingState::Paused => {
                inner.state = RecordingState::Recording;
                if let Some(s) = &inner.session {
                    s.send(Command::Resume);
                }
                Ok(())
            }
        }
    }

    pub fn request_data(&self) -> Result<()> {
        let inner = self.shared.inner.lock();
        match &inner.session {
            None => Err(Error::InvalidState("request_data: the recorder is inactive".into())),
            Some(s) => {
                s.send(Command::RequestData);
                Ok(())
            }
        }
    }

    /// A track was added to or removed from the recorded stream (§2.13): queues the check that
    /// tears the session down unless it has ended by the time the check runs.
    pub fn track_set_changed(&self) {
        let inner = self.shared.inner.lock();
        if let Some(s) = &inner.session {
            let task =
                Task { shared: self.shared.clone(), session: s.id, kind: TaskKind::TrackSetCheck };
            drop(inner);
            self.shared.outlet.post(task);
        }
    }

    /// Makes the active session fail as an encoder or muxer failure would (for tests).
    pub fn inject_failure(&self, error: Error) -> Result<()> {
        let inner = self.shared.inner.lock();
        match &inner.session {
            None => Err(Error::InvalidState("inject_failure: the recorder is inactive".into())),
            Some(s) => {
                s.send(Command::Abort(error));
                Ok(())
            }
        }
    }

    /// Panics on the active session's thread (a test hook, as `inject_failure`): the
    /// recording must end with `error`, the last `dataavailable`, then `stop`.
    pub fn inject_panic(&self, message: String) -> Result<()> {
        let inner = self.shared.inner.lock();
        match &inner.session {
            None => Err(Error::InvalidState("inject_panic: the recorder is inactive".into())),
            Some(s) => {
                s.send(Command::Panic(message));
                Ok(())
            }
        }
    }

    /// The id of the newest session started (the one [`Task::session`] names), 0 before the
    /// first `start()`.
    pub fn session(&self) -> u64 {
        self.shared.inner.lock().started
    }

    /// The level of the audio track the current (or last) session records.
    pub fn audio_level(&self) -> Option<Level> {
        let inner = self.shared.inner.lock();
        if inner.options.audio_tracks == AudioTracks::Mix
            && inner.recorded.iter().filter(|t| t.kind() == TrackKind::Audio).count() > 1
        {
            // What is recorded is the mix: its level, not the first input's.
            let level = self.shared.stats.mix_level.lock();
            return level.as_ref().map(|w| w.level().unwrap_or(Level::SILENCE));
        }
        inner.recorded.iter().find(|t| t.kind() == TrackKind::Audio).and_then(|t| t.level())
    }

    pub fn stats(&self) -> &RecorderStats {
        &self.shared.stats
    }

    /// Bytes of blobs produced but not yet delivered.
    pub fn pending_bytes(&self) -> usize {
        self.shared.budget.used()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop();
    }
}
