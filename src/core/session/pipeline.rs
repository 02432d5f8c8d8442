//! One recording session's thread: media in, encode, interleave, mux, cut blobs, post what
//! happened. What arrives, and in which order, is `inbox.rs`'s business.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;

use crossbeam_channel::{Receiver, Sender};

use crate::core::codec::{Encoder, Input, StreamParams};
use crate::core::encode::{self, EncoderSettings};
use crate::core::media::{Media, VideoFrame};
use crate::core::media::{TrackKind, TrackSettings};
use crate::core::mime;
use crate::core::mux::interleave::Interleaver;
use crate::core::mux::{Container, Muxer};
use crate::core::packet::Packet;
use crate::core::session::cutter::ChunkCutter;
use crate::core::session::inbox::{Command, Inbox, Next};
use crate::core::session::mixing::Mixing;
use crate::core::session::segments::Segments;
use crate::core::session::{Outbox, Posted};
use crate::core::sink::{SegmentPlan, Target};
use crate::core::stats::RecorderStats;
use crate::core::{Error, Result};

/// A plan's `start` for a track armed by `start_on_speech` (`arm.rs`): the session starts
/// where the first block it is given starts.
mod output;

pub(crate) const FROM_FIRST: i64 = i64::MIN;

/// What a session records of one track.
pub(crate) struct TrackPlan {
    pub kind: TrackKind,
    pub settings: TrackSettings,
    /// Where the session starts on the track's clock; [`FROM_FIRST`]: at its first item.
    pub start: i64,
    /// The embedder's writes set the track's times (a NumPy source), not the wall clock.
    pub pushed: bool,
}

pub(crate) struct SessionConfig {
    pub tracks: Vec<TrackPlan>,
    /// `audio_tracks="mix"`: the audio tracks mixed into the one audio track of `tracks`
    /// (`mixing.rs`); empty otherwise.
    pub mix: Vec<TrackPlan>,
    pub timeslice_ms: Option<u64>,
    /// Cut timeslice chunks only before a video keyframe (see `RecorderOptions`).
    pub independent_chunks: bool,
    pub encoders: EncoderSettings,
    pub container: Container,
    pub post: Outbox,
    pub stats: Arc<RecorderStats>,
    /// Where the recording is written besides the blobs (`sink::Target`).
    pub target: Option<Box<dyn Target>>,
    /// A series of files instead of one (`segments.rs`).
    pub segments: Option<SegmentPlan>,
    /// The previous session of the same recorder; its tasks go first.
    pub after: Option<Receiver<()>>,
    /// Dropped when this session has posted its last task.
    pub done: Sender<()>,
}

pub(crate) fn spawn(config: SessionConfig, inbox: Inbox) -> Result<()> {
    thread::Builder::new()
        .name("mediarecorder-session".into())
        .spawn(move || {
            if let Some(after) = &config.after {
                let _ = after.recv();
            }
            let done = config.done.clone();
            Session::new(config).run(inbox);
            drop(done);
        })
        .map(|_| ())
        .map_err(|e| Error::Unknown(format!("cannot start the recording thread: {e}")))
}

/// One track's place on the session timeline.
struct Lane {
    encoder: Box<dyn Encoder>,
    start: i64,
    /// Paused spans removed so far (ns of the track's clock).
    removed: i64,
    /// End of the last item taken (track clock), for measuring a pause.
    last_end: Option<i64>,
    resumed: bool,
    frame_ns: i64,
    /// Video: timeline position of the last frame encoded.
    last_video_pts: Option<i64>,
    ended: bool,
    /// Track time of the last stand-in picture recorded (disabled or muted video).
    last_filler: Option<i64>,
}

/// How much of what the interleaver holds to mux now.
#[derive(Clone, Copy)]
enum Drain {
    /// What may leave in timestamp order, each track's newest packet held back.
    Ready,
    /// The same and each track's newest packet: a cut now holds everything written before.
    WithNewest,
    /// Everything: the session ends.
    All,
}

/// What a track's encoder is given: its declared format (a video track's first size).
pub(crate) fn stream_params(plan: &TrackPlan) -> StreamParams {
    let s = &plan.settings;
    match plan.kind {
        TrackKind::Audio => StreamParams::Audio {
            sample_rate: s.sample_rate.unwrap_or(48_000),
            channels: s.channel_count.unwrap_or(1),
        },
        TrackKind::Video => {
            StreamParams::Video { width: s.width.unwrap_or(0), height: s.height.unwrap_or(0) }
        }
    }
}

/// A disabled or muted video track is recorded as one black picture per second.
const FILLER_INTERVAL_NS: i64 = 1_000_000_000;

impl Lane {
    /// Whether to record a stand-in picture at `time` (track clock).
    fn take_filler(&mut self, time: i64, stats: &RecorderStats) -> bool {
        if self.last_filler.is_some_and(|t| time.saturating_sub(t) < FILLER_INTERVAL_NS) {
            return false;
        }
        self.last_filler = Some(time);
        stats.video_frames_received.fetch_add(1, Ordering::Relaxed);
        true
    }
}

struct Session {
    post: Outbox,
    stats: Arc<RecorderStats>,
    lanes: Vec<Lane>,
    interleaver: Interleaver,
    muxer: Muxer,
    cutter: ChunkCutter,
    started: bool,
    paused: bool,
    packets: Vec<Packet>,
    ready: Vec<(Packet, bool)>,
    /// Independent chunks: the timeslice is full, the chunk ends before the next keyframe.
    cut_due: Option<bool>,
    setup_error: Option<Error>,
    target: Option<Box<dyn Target>>,
    /// Bytes of the muxer's unflushed output already written to the target.
    target_sent: usize,
    segments: Option<Segments>,
    /// The full codecs parameter the start reports (MP4), from the encoders' descriptions.
    codecs: Option<String>,
    /// `audio_tracks="mix"`: the mixer, and the lane of the mixed track.
    mixing: Option<(Mixing, usize)>,
}

enum Flow {
    Continue,
    /// Ends the session: the error (if any), and whether it ends on its own (teardown).
    Finish(Option<Error>, bool),
}

impl Session {
    fn new(config: SessionConfig) -> Self {
        // Each encoder describes its stream; the muxer is built from those descriptions.
        let encoders: Result<Vec<Box<dyn Encoder>>> = config
            .tracks
            .iter()
            .enumerate()
            .map(|(i, plan)| {
                catch_unwind(AssertUnwindSafe(|| {
                    encode::create(i, stream_params(plan), &config.encoders)
                }))
                .unwrap_or_else(|panic| Err(panicked(panic)))
            })
            .collect();
        let (encoders, setup_error) = match encoders {
            Ok(encoders) => (encoders, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let descriptions: Vec<_> = encoders.iter().map(|e| e.describe().clone()).collect();
        let lanes: Vec<Lane> = config
            .tracks
            .iter()
            .zip(encoders)
            .map(|(plan, encoder)| {
                let fps = plan.settings.frame_rate.filter(|f| *f > 0.0).unwrap_or(30.0);
                Lane {
                    encoder,
                    start: plan.start,
                    removed: 0,
                    last_end: None,
                    resumed: false,
                    frame_ns: (1e9 / fps) as i64,
                    last_video_pts: None,
                    ended: false,
                    last_filler: None,
                }
            })
            .collect();
        let has_video = config.tracks.iter().any(|t| t.kind == TrackKind::Video);
        let mixed_lane = config.tracks.iter().position(|t| t.kind == TrackKind::Audio);
        let mixing = mixed_lane
            .filter(|_| !config.mix.is_empty())
            .map(|lane| (Mixing::new(&config.mix, &config.tracks[lane]), lane));
        let pushed_only = config.tracks.iter().all(|t| t.pushed);
        Session {
            post: config.post,
            stats: config.stats,
            interleaver: Interleaver::new(
                config.tracks.iter().map(|t| t.kind == TrackKind::Video).collect(),
                pushed_only,
            ),
            lanes,
            muxer: {
                let mut muxer = Muxer::new(config.container, &descriptions);
                if config.target.is_some() {
                    muxer.write_as_you_go();
                }
                muxer
            },
            codecs: mime::codec_strings(config.container, &descriptions),
            cutter: ChunkCutter::new(config.timeslice_ms),
            started: false,
            paused: false,
            packets: Vec::new(),
            ready: Vec::new(),
            cut_due: (config.independent_chunks && has_video).then_some(false),
            setup_error,
            target: config.target,
            target_sent: 0,
            segments: config
                .segments
                .map(|plan| Segments::new(plan, config.container, descriptions.clone())),
            mixing,
        }
    }

    /// Runs the session to its end. A panic anywhere in it ends the recording as an error
    /// does (`error`, the last `dataavailable`, `stop`): a recorder never waits forever for a
    /// thread that is gone.
    fn run(mut self, mut inbox: Inbox) {
        let (error, teardown) = match self.setup_error.take() {
            Some(e) => (Some(e), true),
            None => catch_unwind(AssertUnwindSafe(|| self.take_all(&mut inbox)))
                .unwrap_or_else(|panic| (Some(panicked(panic)), true)),
        };
        self.finish(error, teardown);
    }

    fn take_all(&mut self, inbox: &mut Inbox) -> (Option<Error>, bool) {
        loop {
            let flow = match inbox.next() {
                Next::Media(track, media) => self.on_media(track, media),
                Next::Command(cmd) => self.on_command(cmd),
                // The recorder is gone and so is every way to stop us: finish quietly.
                Next::Closed => Flow::Finish(None, false),
            };
            if let Flow::Finish(error, teardown) = flow {
                return (error, teardown);
            }
        }
    }

    fn on_media(&mut self, track: usize, media: Media) -> Flow {
        if track >= self.lanes.len() {
            return self.on_mix_input(track - self.lanes.len(), media);
        }
        if self.lanes[track].ended || matches!(media, Media::Skip) {
            return Flow::Continue;
        }
        let result = match media {
            Media::End => {
                self.lanes[track].ended = true;
                self.interleaver.end_track(track);
                let r = self.finish_lane(track);
                if r.is_ok() && self.lanes.iter().all(|l| l.ended) {
                    return match self.mux_pending(Drain::Ready) {
                        Ok(()) => Flow::Finish(None, true),
                        Err(e) => Flow::Finish(Some(e), true),
                    };
                }
                r
            }
            Media::Skip => Ok(()),
            _ if self.paused => Ok(()),
            Media::Audio(block) => {
                self.begin();
                let pts = self.place(track, block.time, block.duration_ns());
                let input = Input::Audio { samples: &block.samples, pts };
                self.lanes[track].encoder.encode(input, &mut self.packets)
            }
            Media::Video(frame)
                if frame.filler && !self.lanes[track].take_filler(frame.time, &self.stats) =>
            {
                Ok(())
            }
            Media::Video(frame) => {
                self.begin();
                let duration = self.lanes[track].frame_ns;
                let pts = self.place(track, frame.time, duration).max(0);
                // Two frames within 1 ms would share a Matroska timestamp (1 ms scale), which
                // demuxers reject: the later one is dropped, and counted.
                let lane = &mut self.lanes[track];
                if lane.last_video_pts.is_some_and(|last| pts < last + 1_000_000) {
                    self.stats.video_frames_dropped.fetch_add(1, Ordering::Relaxed);
                    return Flow::Continue;
                }
                lane.last_video_pts = Some(pts);
                self.encode_video(track, &frame, pts, duration)
            }
        };
        match result.and_then(|()| self.mux_pending(Drain::Ready)) {
            Ok(()) => Flow::Continue,
            Err(e) => Flow::Finish(Some(e), true),
        }
    }

    /// `audio_tracks="mix"`: an input's media goes to the mixer, and what the mixer completes
    /// to the mixed lane; the mixed track ends when every input has.
    fn on_mix_input(&mut self, index: usize, media: Media) -> Flow {
        let Some((mixing, lane)) = self.mixing.as_mut() else { return Flow::Continue };
        let lane = *lane;
        let (block, all_ended) = match media {
            Media::End => match mixing.end(index, &self.stats) {
                Ok(ended) => ended,
                Err(e) => return Flow::Finish(Some(e), true),
            },
            Media::Audio(_) if self.paused => return Flow::Continue,
            Media::Audio(block) => match mixing.push(index, &block, &self.stats) {
                Ok(mixed) => (mixed, false),
                Err(e) => return Flow::Finish(Some(e), true),
            },
            _ => return Flow::Continue,
        };
        let flow = match block {
            Some(block) => self.on_media(lane, Media::Audio(block)),
            None => Flow::Continue,
        };
        match flow {
            Flow::Continue if all_ended => self.on_media(lane, Media::End),
            flow => flow,
        }
    }

    /// Maps an item's time on its track's clock to the session timeline, cutting paused spans.
    fn place(&mut self, track: usize, time: i64, duration: i64) -> i64 {
        let lane = &mut self.lanes[track];
        if lane.start == FROM_FIRST {
            (lane.start, lane.resumed) = (time, false);
        }
        if lane.resumed {
            lane.resumed = false;
            // The paused span runs from the end of the last item taken, or from the session's
            // start when the pause came before any media of this track.
            let end = lane.last_end.unwrap_or(lane.start);
            lane.removed += (time - end).max(0);
        }
        lane.last_end = Some(time + duration);
        time - lane.start - lane.removed
    }

    fn encode_video(
        &mut self,
        track: usize,
        frame: &VideoFrame,
        pts: i64,
        duration: i64,
    ) -> Result<()> {
        let input = Input::Video { frame, pts, duration };
        self.lanes[track].encoder.encode(input, &mut self.packets)?;
        self.stats.video_frames_encoded.fetch_add(1, Ordering::Relaxed);
        self.count_dropped(track);
        Ok(())
    }

    /// Pictures the encoder will never write move from encoded to dropped, so that the
    /// stats say what the file holds.
    fn count_dropped(&mut self, track: usize) {
        let dropped = self.lanes[track].encoder.take_dropped();
        if dropped > 0 {
            self.stats.video_frames_encoded.fetch_sub(dropped, Ordering::Relaxed);
            self.stats.video_frames_dropped.fetch_add(dropped, Ordering::Relaxed);
        }
    }

    fn finish_lane(&mut self, track: usize) -> Result<()> {
        let finished = self.lanes[track].encoder.finish(&mut self.packets);
        self.count_dropped(track);
        finished
    }

    fn on_command(&mut self, cmd: Command) -> Flow {
        match cmd {
            Command::Pause if !self.paused => {
                self.paused = true;
                self.ensure_started();
                self.post.post(Posted::Pause);
            }
            Command::Resume if self.paused => {
                self.paused = false;
                for lane in &mut self.lanes {
                    lane.resumed = true;
                }
                if let Some((mixing, _)) = &mut self.mixing {
                    mixing.resume();
                }
                self.ensure_started();
                self.post.post(Posted::Resume);
            }
            Command::Pause | Command::Resume => {}
            Command::RequestData => {
                self.ensure_started();
                // Everything written before the call goes into this blob.
                let muxed = self.mux_pending(Drain::WithNewest);
                if let Err(e) = muxed.and_then(|()| self.cut()) {
                    return Flow::Finish(Some(e), true);
                }
            }
            Command::Stop => return Flow::Finish(None, false),
            Command::Abort(e) => return Flow::Finish(Some(e), true),
            Command::Panic(message) => panic!("{message}"),
        }
        Flow::Continue
    }
}

/// The error a panic on the session thread ends the recording with.
fn panicked(panic: Box<dyn std::any::Any + Send>) -> Error {
    let message = panic
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    Error::Unknown(format!("internal error: the recording thread panicked: {message}"))
}
