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
use crate::core::encode::keyframes::KeyframeRule;
use crate::core::encode::{self, BitrateMode, EncoderSettings};
use crate::core::exit::{self, StopAtExit};
use crate::core::level::Level;
use crate::core::media::Media;
use crate::core::mime::{self, MimeType, TopLevel};
use crate::core::mux::Container;
use crate::core::session::{
    self, Command, Control, Outbox, Posted, SegmentDone, SessionConfig, SessionInput, TrackPlan,
};
use crate::core::session::{Budget, BudgetGuard};
use crate::core::sink::Output;
pub use crate::core::stats::RecorderStats;
use crate::core::track::{Track, TrackKind};
use crate::core::{Error, Result};

/// Undelivered blobs a recorder may hold before its pipeline waits for the handlers.
pub const BLOB_BUDGET: usize = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingState {
    Inactive,
    Recording,
    Paused,
}

impl RecordingState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingState::Inactive => "inactive",
            RecordingState::Recording => "recording",
            RecordingState::Paused => "paused",
        }
    }
}

/// `MediaRecorderOptions`, validated by the embedder for types.
#[derive(Debug, Clone)]
pub struct RecorderOptions {
    pub mime_type: String,
    pub audio_bits_per_second: Option<u32>,
    pub video_bits_per_second: Option<u32>,
    pub bits_per_second: Option<u32>,
    pub audio_bitrate_mode: BitrateMode,
    pub video_key_frame_interval_duration: Option<f64>,
    pub video_key_frame_interval_count: Option<u32>,
    /// Every chunk starts on a video keyframe (and a new Cluster), so it decodes on its own.
    pub independent_chunks: bool,
    /// What becomes of a stream's several live audio tracks.
    pub audio_tracks: AudioTracks,
    /// `start_on_speech`: `start()` arms the recorder and the recording begins this long
    /// (ns, the pre-roll) before the onset of speech on its audio track (`arm.rs`).
    pub start_on_speech: Option<i64>,
}

/// `audio_tracks`: the first audio track is recorded (as browsers do), every one as its own
/// track, or every one mixed into one (`session/mixing.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AudioTracks {
    #[default]
    First,
    Separate,
    Mix,
}

impl AudioTracks {
    /// The option's value as the embedder names it ("first", "separate", "mix").
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "first" => Some(AudioTracks::First),
            "separate" => Some(AudioTracks::Separate),
            "mix" => Some(AudioTracks::Mix),
            _ => None,
        }
    }
}

/// An event for the embedder to dispatch.
#[derive(Debug)]
pub enum Event {
    Start,
    /// `budget` returns the blob's bytes to the recorder's budget when the event is dropped.
    DataAvailable {
        data: Vec<u8>,
        mime_type: String,
        timecode: f64,
        budget: BudgetGuard,
    },
    Pause,
    Resume,
    /// A segment file of a segmented recording was finished (not a web event).
    Segment(SegmentDone),
    Error(Error),
    Stop,
}

impl Event {
    pub fn type_(&self) -> &'static str {
        match self {
            Event::Start => "start",
            Event::DataAvailable { .. } => "dataavailable",
            Event::Pause => "pause",
            Event::Resume => "resume",
            Event::Segment(_) => "segment",
            Event::Error(_) => "error",
            Event::Stop => "stop",
        }
    }
}

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

    /// `start(timeslice)` (§2.3): `stream_tracks` is the stream's track set at this moment.
    /// With `target` (opened here, once the state allows a start), the recording is also written there, and
    /// finished (seekable: Duration, SeekHead, Cues, where it can seek) when the session ends.
    pub fn start(
        &self,
        stream_tracks: &[Arc<Track>],
        timeslice_ms: Option<u64>,
        output: Option<Output>,
    ) -> Result<()> {
        let mut inner = self.shared.inner.lock();
        if inner.state != RecordingState::Inactive {
            return Err(Error::InvalidState(format!(
                "start: the recorder is already {}",
                inner.state.as_str()
            )));
        }
        let live: Vec<&Arc<Track>> = stream_tracks.iter().filter(|t| t.is_live()).collect();
        if live.is_empty() {
            return Err(Error::NotSupported(
                "start: the stream is inactive (it has no live track)".into(),
            ));
        }
        // One track of each kind, the first, as Chrome does; or every audio track.
        let mix = inner.options.audio_tracks == AudioTracks::Mix;
        let many = if inner.options.audio_tracks == AudioTracks::First { 1 } else { usize::MAX };
        let audios: Vec<&&Arc<Track>> =
            live.iter().filter(|t| t.kind() == TrackKind::Audio).take(many).collect();
        let audio = audios.first().copied();
        let video = live.iter().find(|t| t.kind() == TrackKind::Video);
        if audios.len() > 1
            && !mix
            && matches!(inner.parsed.container, Container::Ogg | Container::Wav)
        {
            return Err(Error::NotSupported(format!(
                "start: {:?} holds one audio track; audio_tracks='separate' needs WebM, \
                 Matroska or MP4",
                inner.constrained
            )));
        }
        if inner.parsed.top == Some(TopLevel::Audio) && video.is_some() {
            return Err(Error::NotSupported(format!(
                "start: {:?} cannot hold a video track",
                inner.constrained
            )));
        }
        let recorded: Vec<Arc<Track>> =
            video.into_iter().chain(audios.iter().copied()).map(|t| (*t).clone()).collect();
        let armed = inner.options.start_on_speech;
        if armed.is_some() && (recorded.len() != 1 || video.is_some() || audio.is_none()) {
            return Err(Error::NotSupported(
                "start: start_on_speech records audio only, from one track".into(),
            ));
        }
        let (video_bps, audio_bps) = match inner.options.bits_per_second {
            Some(bps) => {
                let encoded = if mix { audios.len().min(1) } else { audios.len() };
                bitrate::select(bps, video.is_some() as u32, encoded as u32)
            }
            None => (inner.video_bps, inner.audio_bps),
        };
        let keyframes = match (
            inner.options.video_key_frame_interval_count,
            inner.options.video_key_frame_interval_duration,
        ) {
            (Some(n), _) => KeyframeRule::EveryFrames(n),
            (None, Some(ms)) => KeyframeRule::EveryNs((ms * 1e6) as i64),
            (None, None) => KeyframeRule::Auto,
        };
        let encoders = EncoderSettings {
            audio: inner.parsed.audio_codec_id(),
            video: inner.parsed.video_codec_id(),
            audio_bps,
            video_bps,
            bitrate_mode: inner.options.audio_bitrate_mode,
            keyframes,
        };
        let mut plans: Vec<TrackPlan> = recorded
            .iter()
            .map(|t| TrackPlan {
                kind: t.kind(),
                settings: t.settings(),
                start: if armed.is_some() { session::FROM_FIRST } else { t.start_position() },
                pushed: t.is_pushed(),
            })
            .collect();
        // Mixed: the audio tracks become the mix's inputs, one audio track in their place.
        let mixed = if mix && audios.len() > 1 {
            let inputs = plans.split_off(video.is_some() as usize);
            plans.push(session::mixed_plan(&inputs));
            inputs
        } else {
            Vec::new()
        };
        // What the encoders cannot honour is refused here, before any state changes.
        for plan in &plans {
            encode::check(session::stream_params(plan), &encoders).map_err(|e| match e {
                Error::NotSupported(why) => Error::NotSupported(format!("start: {why}")),
                other => other,
            })?;
        }
        (inner.video_bps, inner.audio_bps) = (video_bps, audio_bps);
        let (target, segments) = match output {
            None => (None, None),
            Some(Output::Target(open)) => (Some(open()?), None),
            Some(Output::Segments(mut plan)) => {
                plan.open_first()?;
                (None, Some(plan))
            }
        };
        // Process-unique: tracks tell sessions apart by id, across recorders.
        let id = NEXT_SESSION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mime =
            mime::extended(&inner.constrained, &inner.parsed, audio.is_some(), video.is_some());
        let (input, control_tx, inbox) = session::session_queues(self.shared.stats.clone());
        let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(0);
        // The mix's inputs come to the session as the indices after its tracks (`mixing.rs`).
        let first_input = (!mixed.is_empty()).then_some(plans.len());
        let config = SessionConfig {
            tracks: plans,
            mix: mixed,
            timeslice_ms,
            independent_chunks: inner.options.independent_chunks,
            encoders,
            container: inner.parsed.container,
            post: self.outbox(id),
            stats: self.shared.stats.clone(),
            target,
            segments,
            after: inner.last_done.take(),
            done: done_tx,
        };
        session::spawn(config, inbox)?;
        inner.last_done = Some(done_rx);
        let videos = video.is_some() as usize;
        for (index, track) in recorded.iter().enumerate() {
            let index = match first_input {
                Some(first) if track.kind() == TrackKind::Audio => first + index - videos,
                _ => index,
            };
            let joined = match armed {
                Some(pre_roll) => track.arm(id, index, input.clone(), pre_roll),
                None => track.attach(id, index, input.clone()),
            };
            if !joined {
                input.send_media(track.kind(), index, Media::End);
            }
        }
        inner.mimes.push((id, mime.clone()));
        inner.started = id;
        inner.recorded = recorded.clone();
        inner.session =
            Some(ActiveSession { id, control: control_tx, input, tracks: recorded, mime });
        inner.state = RecordingState::Recording;
        Ok(())
    }

    /// Where session `id` posts: each report becomes a task of this recorder.
    fn outbox(&self, id: u64) -> Outbox {
        let shared = self.shared.clone();
        Outbox::new(self.shared.budget.clone(), move |posted| {
            let task = Task { shared: shared.clone(), session: id, kind: TaskKind::Posted(posted) };
            shared.outlet.post(task);
        })
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
