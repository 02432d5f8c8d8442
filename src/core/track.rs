//! `MediaStreamTrack`: what a source produces and recorders attach to.
//!
//! A track fans each block its source pushes out to every session attached to it. Pushing
//! blocks while a session's input queue is full: a source that writes faster than the encoder
//! runs is slowed down, never dropped (the explicit policy for audio).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::core::arm::ArmTaps;
use crate::core::level::{Level, LevelWindow};
use crate::core::media::{clock_ns, AudioBlock, Media, VideoFrame};
pub use crate::core::media::{TrackKind, TrackSettings};
use crate::core::reader::Taps;
use crate::core::session::SessionInput;
use crate::core::vad::{VoiceEvent, VoiceTaps};

/// Frame counters of a track (the web's `MediaStreamTrackAudioStats`, in frames).
#[derive(Debug, Default)]
pub struct TrackStats {
    /// Frames the source produced (for a device: what its callback received).
    pub total_frames: AtomicU64,
    /// Frames handed on to the track's recorders.
    pub delivered_frames: AtomicU64,
    /// Frames lost before reaching the track (a device's capture ring overflowed).
    pub dropped_frames: AtomicU64,
    /// Overruns the audio device itself reported (data lost inside the driver).
    pub device_overruns: AtomicU64,
}

/// Whose clock a track's media times are on (see `media.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackClock {
    /// Media counted by the embedder's writes: recording starts where the track stands.
    Pushed,
    /// Live media on [`clock_ns`]: recording starts now.
    Live,
}

/// What a video track does when a recorder's frame queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Wait for room (frames pushed by the embedder: nothing is lost, the writer slows down).
    Wait,
    /// Drop the frame and count it (live sources, which cannot wait).
    Drop,
}

struct Attached {
    session: u64,
    index: usize,
    input: SessionInput,
}

type EndListener = Box<dyn FnOnce() + Send>;

pub struct Track {
    id: String,
    kind: TrackKind,
    label: String,
    settings: TrackSettings,
    /// A video track's picture size now (`width << 32 | height`): a screen that is resized
    /// changes it while the track lives. Apart from `settings` so it is read without a lock.
    size: AtomicU64,
    clock: TrackClock,
    /// Pushed clock: the end of the last audio block, or the time of the last video frame.
    position: AtomicI64,
    last_frame: Mutex<Option<Arc<VideoFrame>>>,
    overflow: Mutex<Overflow>,
    enabled: AtomicBool,
    muted: AtomicBool,
    ended: AtomicBool,
    stats: TrackStats,
    /// Audio tracks: the newest 100 ms, for their level.
    levels: Option<Mutex<LevelWindow>>,
    attached: Mutex<Vec<Attached>>,
    end_listeners: Mutex<Vec<EndListener>>,
    /// Live readers (`reader.rs`), fed after the sessions.
    readers: Taps,
    /// Speech/silence listeners and their detector (`vad.rs`).
    voice: VoiceTaps,
    /// Sessions waiting for speech to start them (`arm.rs`).
    armed: ArmTaps,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A process-unique id shaped like the web's UUIDs (tests and apps only compare them).
pub(crate) fn new_id() -> String {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let pid = std::process::id() as u64;
    let a = t ^ (pid << 32);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        a as u16 & 0xfff,
        (n >> 48) as u16 & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

impl Track {
    pub fn new(
        kind: TrackKind,
        label: impl Into<String>,
        settings: TrackSettings,
        clock: TrackClock,
    ) -> Arc<Self> {
        let levels = match (kind, settings.sample_rate, settings.channel_count) {
            (TrackKind::Audio, Some(rate), Some(channels)) => {
                Some(Mutex::new(LevelWindow::new(rate, channels)))
            }
            _ => None,
        };
        let size = (settings.width.unwrap_or(0) as u64) << 32 | settings.height.unwrap_or(0) as u64;
        Arc::new(Track {
            id: new_id(),
            kind,
            label: label.into(),
            settings,
            size: AtomicU64::new(size),
            clock,
            position: AtomicI64::new(0),
            last_frame: Mutex::new(None),
            overflow: Mutex::new(match clock {
                TrackClock::Pushed => Overflow::Wait,
                TrackClock::Live => Overflow::Drop,
            }),
            enabled: AtomicBool::new(true),
            muted: AtomicBool::new(false),
            ended: AtomicBool::new(false),
            stats: TrackStats::default(),
            levels,
            attached: Mutex::new(Vec::new()),
            end_listeners: Mutex::new(Vec::new()),
            readers: Taps::default(),
            voice: VoiceTaps::default(),
            armed: ArmTaps::default(),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn kind(&self) -> TrackKind {
        self.kind
    }
    pub fn label(&self) -> &str {
        &self.label
    }
    pub fn settings(&self) -> TrackSettings {
        let mut s = self.settings.clone();
        if s.width.is_some() {
            let size = self.size.load(Ordering::Relaxed);
            (s.width, s.height) = (Some((size >> 32) as u32), Some(size as u32));
        }
        s
    }
    /// A video source's new picture size (a resized screen), reported by `settings`.
    pub fn set_size(&self, width: u32, height: u32) {
        self.size.store((width as u64) << 32 | height as u64, Ordering::Relaxed);
    }
    /// Sets what happens to frames a recorder cannot take yet (video tracks).
    pub fn set_overflow(&self, policy: Overflow) {
        *self.overflow.lock() = policy;
    }

    pub fn stats(&self) -> &TrackStats {
        &self.stats
    }
    /// Peak and RMS of the newest 100 ms this audio track delivered ([`Level::SILENCE`]
    /// before the first sample); `None` for video.
    pub fn level(&self) -> Option<Level> {
        self.levels.as_ref().map(|w| w.lock().level().unwrap_or(Level::SILENCE))
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Release);
    }
    pub fn muted(&self) -> bool {
        self.muted.load(Ordering::Acquire)
    }
    pub fn set_muted(&self, on: bool) {
        self.muted.store(on, Ordering::Release);
    }
    pub fn is_live(&self) -> bool {
        !self.ended.load(Ordering::Acquire)
    }

    /// Runs `f` once when the track ends (at once if it has ended already).
    pub fn on_end(&self, f: impl FnOnce() + Send + 'static) {
        let mut listeners = self.end_listeners.lock();
        if self.is_live() {
            listeners.push(Box::new(f));
        } else {
            drop(listeners);
            f();
        }
    }

    /// Waits until every attached session has room for this track's media (see
    /// `inbox.rs`); `None` if the wait was interrupted (`wait.rs`). Sources call it before
    /// they take their own locks, so a source never waits while holding one, then push with
    /// the admission. The admission keeps the media's place in each of those sessions from
    /// the start of the wait: a recorder stopped meanwhile still records it, as the write
    /// began before the stop.
    pub fn wait_room(&self) -> Option<Admission> {
        let reserve = !(self.kind == TrackKind::Video && *self.overflow.lock() == Overflow::Drop);
        let reserved = if reserve {
            // Under the lock `detach` takes: a stop either sees the reservation (its command
            // comes after it) or has detached the session before it.
            let attached = self.attached.lock();
            attached
                .iter()
                .map(|a| {
                    a.input.reserve(self.kind);
                    (a.session, a.index, a.input.clone())
                })
                .collect()
        } else {
            Vec::new()
        };
        let admission = Admission { kind: self.kind, reserved };
        let room = admission
            .reserved
            .iter()
            .all(|(_, _, input)| input.wait_room(self.kind, &|| !self.is_live()))
            && self.readers.wait_room(&|| !self.is_live());
        room.then_some(admission)
    }

    /// Pushes audio to every attached session. A disabled or muted track records silence of the
    /// same length, so the timeline keeps moving. Never waits: see [`Self::wait_room`].
    pub fn push_audio(&self, mut block: AudioBlock, admission: Admission) -> bool {
        if !self.is_live() {
            return false;
        }
        if !self.enabled() || self.muted() {
            block.samples.fill(0.0);
        }
        self.stats.delivered_frames.fetch_add(block.frames() as u64, Ordering::Relaxed);
        if let Some(w) = &self.levels {
            w.lock().push(&block.samples);
        }
        self.position.store(block.time + block.duration_ns(), Ordering::Release);
        self.readers.audio(&block);
        self.voice.audio(&block);
        // Sessions that speech starts now: their pre-roll first, then this block as attached.
        for o in self.armed.audio(&block) {
            for b in o.blocks {
                o.input.send_media(TrackKind::Audio, o.index, Media::Audio(b));
            }
            if !self.attach(o.session, o.index, o.input.clone()) {
                o.input.send_media(TrackKind::Audio, o.index, Media::End);
            }
        }
        // Clone the senders out of the lock: a blocking send must not hold it, or a session
        // that ends (and detaches) while we wait would deadlock against us.
        let (reserved, fresh) = admission.targets(&self.attached);
        let n = reserved.len() + fresh.len();
        let mut copies =
            (0..n).map(|i| if i + 1 == n { std::mem::take(&mut block) } else { block.clone() });
        for (index, input) in reserved {
            input.send_reserved(TrackKind::Audio, index, Media::Audio(copies.next().expect("n")));
        }
        for (index, input) in fresh {
            input.send_media(TrackKind::Audio, index, Media::Audio(copies.next().expect("n")));
        }
        true
    }

    /// Pushes a picture to every attached session. It is also kept as the track's current
    /// frame, which a recorder that starts later receives first (the browser's refresh frame).
    /// A session that is behind gets the frame anyway (the caller waited for room, see
    /// [`Self::wait_room`]), or drops it and counts it, as the track's [`Overflow`] policy says.
    pub fn push_video(&self, mut frame: VideoFrame, admission: Admission) -> bool {
        if !self.is_live() {
            return false;
        }
        self.position.store(frame.time, Ordering::Release);
        // Every session decides for itself which stand-ins it records (one per second of its
        // own timeline): a paused one must not make a running one miss its frame.
        if !self.enabled() || self.muted() {
            frame.blacken();
        }
        let frame = Arc::new(frame);
        self.stats.delivered_frames.fetch_add(1, Ordering::Relaxed);
        self.readers.video(&frame);
        // The refresh frame is replaced under the lock `attach` takes: a session attaching
        // now gets this frame either as its refresh frame or as a target, never as both.
        let (reserved, fresh) = {
            let attached = self.attached.lock();
            *self.last_frame.lock() = Some(frame.clone());
            admission.targets_locked(&attached)
        };
        for (index, input) in reserved {
            input.send_reserved_video(index, frame.clone());
        }
        let policy = *self.overflow.lock();
        for (index, input) in fresh {
            match policy {
                Overflow::Wait => input.send_video(index, frame.clone()),
                Overflow::Drop => input.offer_video(index, frame.clone()),
            }
        }
        true
    }

    /// Calls `f` at every change of voice activity (audio tracks; see `vad.rs`).
    /// With `silence_limit_ns` > 0, `f` hears only that silence has lasted so long.
    pub fn on_voice(&self, silence_limit_ns: i64, f: impl Fn(VoiceEvent) + Send + Sync + 'static) {
        let rate = self.settings.sample_rate.unwrap_or(48_000);
        self.voice.listen(rate, silence_limit_ns, Box::new(f));
    }

    /// A reader of this track from now on, buffering at most `capacity` items.
    pub fn attach_reader(&self, capacity: usize) -> Arc<crate::core::reader::Reader> {
        let reader =
            crate::core::reader::Reader::new(capacity, self.is_pushed(), self.start_position());
        if !self.readers().add(&reader) {
            reader.end();
        }
        reader
    }

    pub(crate) fn readers(&self) -> &Taps {
        &self.readers
    }

    /// Whether the embedder's writes set this track's times (not the wall clock).
    pub(crate) fn is_pushed(&self) -> bool {
        self.clock == TrackClock::Pushed
    }

    /// Where a recording that starts now begins on this track's clock.
    pub(crate) fn start_position(&self) -> i64 {
        match self.clock {
            TrackClock::Live => clock_ns(),
            TrackClock::Pushed => self.position.load(Ordering::Acquire),
        }
    }

    /// Ends the track: attached sessions receive `Media::End` after everything pushed before,
    /// end listeners run. Idempotent.
    pub fn end(&self) {
        if self.ended.swap(true, Ordering::AcqRel) {
            return;
        }
        let attached = std::mem::take(&mut *self.attached.lock());
        for a in attached {
            a.input.send_media(self.kind, a.index, Media::End);
        }
        for (index, input) in self.armed.end() {
            input.send_media(self.kind, index, Media::End);
        }
        self.readers.end();
        let listeners = std::mem::take(&mut *self.end_listeners.lock());
        for f in listeners {
            f();
        }
    }

    pub(crate) fn attach(&self, session: u64, index: usize, input: SessionInput) -> bool {
        let mut attached = self.attached.lock();
        // Checked under the lock that `end()` takes, so a session never misses the end.
        if !self.is_live() {
            return false;
        }
        // The refresh frame: a recorder that starts after a picture was written records it
        // first, so a still picture is recorded even if nothing more comes.
        if let Some(frame) = self.last_frame.lock().clone() {
            input.offer_video(index, frame);
        }
        attached.push(Attached { session, index, input });
        true
    }

    /// Attaches `session` at the onset of speech, with `pre_roll_ns` of audio before it
    /// (`start_on_speech`, see `arm.rs`).
    /// False if the track has ended.
    pub(crate) fn arm(
        &self,
        session: u64,
        index: usize,
        input: SessionInput,
        pre_roll_ns: i64,
    ) -> bool {
        let rate = self.settings.sample_rate.unwrap_or(48_000);
        self.armed.arm(session, index, input, rate, pre_roll_ns, || self.is_live())
    }

    pub(crate) fn detach(&self, session: u64) {
        self.armed.disarm(session);
        self.attached.lock().retain(|a| a.session != session);
    }
}

type Targets = Vec<(usize, SessionInput)>;

/// The places a write keeps in the sessions attached when it began (see
/// [`Track::wait_room`]); each is filled by the push, or with nothing if the write gives up.
pub struct Admission {
    kind: TrackKind,
    reserved: Vec<(u64, usize, SessionInput)>,
}

impl Admission {
    /// For media that waits for no room (a live source's frames, which are dropped when a
    /// queue is full): no places kept.
    pub fn none(kind: TrackKind) -> Self {
        Admission { kind, reserved: Vec::new() }
    }

    /// Whether a recorder was attached when the write began: its media is owed to it.
    pub fn owed(&self) -> bool {
        !self.reserved.is_empty()
    }

    fn targets(self, attached: &Mutex<Vec<Attached>>) -> (Targets, Targets) {
        self.targets_locked(&attached.lock())
    }

    /// The places kept (stopped sessions' included), then the sessions attached since.
    fn targets_locked(mut self, attached: &[Attached]) -> (Targets, Targets) {
        let reserved = std::mem::take(&mut self.reserved);
        let fresh = attached
            .iter()
            .filter(|a| !reserved.iter().any(|(s, _, _)| *s == a.session))
            .map(|a| (a.index, a.input.clone()))
            .collect();
        (reserved.into_iter().map(|(_, index, input)| (index, input)).collect(), fresh)
    }
}

impl Drop for Admission {
    /// A write that gives up (interrupted, refused, its track ended) fills its places with
    /// nothing, so no session waits for them.
    fn drop(&mut self) {
        for (_, index, input) in self.reserved.drain(..) {
            input.send_reserved(self.kind, index, Media::Skip);
        }
    }
}

impl std::fmt::Debug for Track {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Track").field("id", &self.id).field("kind", &self.kind).finish()
    }
}
