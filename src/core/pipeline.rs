//! One recording session's thread: media in, encode, interleave, mux, cut blobs, post tasks.
//! What arrives, and in which order, is `inbox.rs`'s business.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;

use crossbeam_channel::{Receiver, Sender};

use crate::core::encode::opus::{OpusEncoder, SEEK_PRE_ROLL_NS};
use crate::core::encode::pcm::PcmEncoder;
use crate::core::encode::vpx::{KeyframeRule, VideoCodec, VpxEncoder};
use crate::core::encode::BitrateMode;
use crate::core::inbox::{Command, Inbox, Next};
use crate::core::media::{Media, VideoFrame};
use crate::core::mime::{Codec, Container};
use crate::core::mux::interleave::Interleaver;
use crate::core::mux::ogg::OggMuxer;
use crate::core::mux::wav::WavMuxer;
use crate::core::mux::webm::{TrackFormat, TrackInfo, WebmMuxer};
use crate::core::mux::Muxer;
use crate::core::packet::Packet;
use crate::core::recorder::{RecorderStats, SessionPost, TaskKind};
use crate::core::sink::{ChunkCutter, FileSink};
use crate::core::track::{TrackKind, TrackSettings};
use crate::core::{Error, Result};

/// What a session records of one track.
pub(crate) struct TrackPlan {
    pub kind: TrackKind,
    pub settings: TrackSettings,
    /// Where the session starts on the track's clock.
    pub start: i64,
    /// The embedder's writes set the track's times (a NumPy source), not the wall clock.
    pub pushed: bool,
}

pub(crate) struct PipelineConfig {
    pub tracks: Vec<TrackPlan>,
    pub timeslice_ms: Option<u64>,
    /// Cut timeslice chunks only before a video keyframe (see `RecorderOptions`).
    pub independent_chunks: bool,
    pub audio_bps: u32,
    pub video_bps: u32,
    pub bitrate_mode: BitrateMode,
    pub video_codec: VideoCodec,
    pub container: Container,
    pub audio_codec: Codec,
    pub keyframes: KeyframeRule,
    pub post: SessionPost,
    pub stats: Arc<RecorderStats>,
    pub file: Option<FileSink>,
    /// The previous session of the same recorder; its tasks go first.
    pub after: Option<Receiver<()>>,
    /// Dropped when this session has posted its last task.
    pub done: Sender<()>,
}

pub(crate) fn spawn(config: PipelineConfig, inbox: Inbox) -> Result<()> {
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

enum Encoder {
    Opus(Box<OpusEncoder>),
    Pcm(PcmEncoder),
    /// Created at the first frame, when the size is known.
    Video(Option<VpxEncoder>),
}

/// One track's place on the session timeline.
struct Lane {
    kind: TrackKind,
    encoder: Encoder,
    start: i64,
    /// Paused spans removed so far (ns of the track's clock).
    removed: i64,
    /// End of the last item taken (track clock), for measuring a pause.
    last_end: Option<i64>,
    resumed: bool,
    /// Audio: timeline position of the first sample (its packets count from there).
    audio_origin: Option<i64>,
    frame_ns: i64,
    /// Video: timeline position of the last frame encoded.
    last_video_pts: Option<i64>,
    ended: bool,
}

struct Session {
    post: SessionPost,
    stats: Arc<RecorderStats>,
    lanes: Vec<Lane>,
    video_bps: u32,
    video_codec: VideoCodec,
    keyframes: KeyframeRule,
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
    file: Option<FileSink>,
}

enum Flow {
    Continue,
    /// Ends the session: the error (if any), and whether it ends on its own (teardown).
    Finish(Option<Error>, bool),
}

impl Session {
    fn new(config: PipelineConfig) -> Self {
        let mut setup_error = None;
        let mut infos = Vec::new();
        let mut lanes = Vec::new();
        let mut ogg_head = None;
        let mut wav_format = None;
        for (i, plan) in config.tracks.iter().enumerate() {
            let s = &plan.settings;
            let encoder = match plan.kind {
                TrackKind::Audio => {
                    let channels = s.channel_count.unwrap_or(1);
                    let rate = s.sample_rate.unwrap_or(48_000);
                    match config.audio_codec {
                        Codec::Pcm => {
                            infos.push(TrackInfo {
                                codec_id: "A_PCM/FLOAT/IEEE",
                                bit_depth: 32,
                                codec_private: None,
                                codec_delay_ns: 0,
                                seek_pre_roll_ns: 0,
                                kind: TrackFormat::Audio { sample_rate: rate as f64, channels },
                            });
                            wav_format = Some((rate, channels));
                            Encoder::Pcm(PcmEncoder::new(i, rate, channels))
                        }
                        Codec::Opus => match OpusEncoder::new(
                            i,
                            rate,
                            channels,
                            config.audio_bps,
                            config.bitrate_mode,
                        ) {
                            Ok(enc) => {
                                infos.push(TrackInfo {
                                    codec_id: "A_OPUS",
                                    bit_depth: 0,
                                    codec_private: Some(enc.codec_private().to_vec()),
                                    codec_delay_ns: enc.codec_delay_ns(),
                                    seek_pre_roll_ns: SEEK_PRE_ROLL_NS,
                                    kind: TrackFormat::Audio { sample_rate: 48_000.0, channels },
                                });
                                ogg_head = Some(enc.codec_private().to_vec());
                                Encoder::Opus(Box::new(enc))
                            }
                            Err(e) => {
                                setup_error.get_or_insert(e);
                                Encoder::Video(None)
                            }
                        },
                    }
                }
                TrackKind::Video => {
                    infos.push(TrackInfo {
                        codec_id: config.video_codec.matroska_id(),
                        bit_depth: 0,
                        codec_private: None,
                        codec_delay_ns: 0,
                        seek_pre_roll_ns: 0,
                        kind: TrackFormat::Video {
                            width: s.width.unwrap_or(0),
                            height: s.height.unwrap_or(0),
                        },
                    });
                    Encoder::Video(None)
                }
            };
            let fps = s.frame_rate.filter(|f| *f > 0.0).unwrap_or(30.0);
            lanes.push(Lane {
                kind: plan.kind,
                encoder,
                start: plan.start,
                removed: 0,
                last_end: None,
                resumed: false,
                audio_origin: None,
                frame_ns: (1e9 / fps) as i64,
                last_video_pts: None,
                ended: false,
            });
        }
        // The recorder checked at start() that the container can hold these tracks.
        let muxer = match config.container {
            Container::Webm => Muxer::Webm(WebmMuxer::new(infos, "webm")),
            Container::Matroska => Muxer::Webm(WebmMuxer::new(infos, "matroska")),
            Container::Ogg => Muxer::Ogg(OggMuxer::new(ogg_head.unwrap_or_default())),
            Container::Wav => {
                let (rate, channels) = wav_format.unwrap_or((48_000, 1));
                Muxer::Wav(WavMuxer::new(rate, channels))
            }
        };
        let has_video = lanes.iter().any(|l| l.kind == TrackKind::Video);
        let pushed_only = config.tracks.iter().all(|t| t.pushed);
        Session {
            post: config.post,
            stats: config.stats,
            interleaver: Interleaver::new(lanes.len(), pushed_only),
            lanes,
            video_bps: config.video_bps,
            video_codec: config.video_codec,
            keyframes: config.keyframes,
            muxer,
            cutter: ChunkCutter::new(config.timeslice_ms),
            started: false,
            paused: false,
            packets: Vec::new(),
            ready: Vec::new(),
            cut_due: (config.independent_chunks && has_video).then_some(false),
            setup_error,
            file: config.file,
        }
    }

    fn run(mut self, mut inbox: Inbox) {
        if let Some(e) = self.setup_error.take() {
            return self.finish(Some(e), true);
        }
        loop {
            let flow = match inbox.next() {
                Next::Media(track, media) => self.on_media(track, media),
                Next::Command(cmd) => self.on_command(cmd),
                // The recorder is gone and so is every way to stop us: finish quietly.
                Next::Closed => Flow::Finish(None, false),
            };
            if let Flow::Finish(error, teardown) = flow {
                return self.finish(error, teardown);
            }
        }
    }

    fn on_media(&mut self, track: usize, media: Media) -> Flow {
        if self.lanes[track].ended {
            return Flow::Continue;
        }
        let result = match media {
            Media::End => {
                self.lanes[track].ended = true;
                self.interleaver.end_track(track);
                let r = self.finish_lane(track);
                if r.is_ok() && self.lanes.iter().all(|l| l.ended) {
                    return match self.mux_pending(false) {
                        Ok(()) => Flow::Finish(None, true),
                        Err(e) => Flow::Finish(Some(e), true),
                    };
                }
                r
            }
            _ if self.paused => Ok(()),
            Media::Audio(block) => {
                let t = self.place(track, block.time, block.duration_ns());
                let lane = &mut self.lanes[track];
                lane.audio_origin.get_or_insert(t.max(0));
                match &mut lane.encoder {
                    Encoder::Opus(enc) => enc.push(&block.samples, &mut self.packets),
                    Encoder::Pcm(enc) => {
                        enc.push(&block.samples, &mut self.packets);
                        Ok(())
                    }
                    Encoder::Video(_) => Ok(()),
                }
            }
            Media::Video(frame) => {
                let duration = self.lanes[track].frame_ns;
                let pts = self.place(track, frame.time, duration).max(0);
                // A frame within 1 ms of the one before would share its Matroska timestamp
                // (a refresh frame doubled by a source racing the recorder's start).
                let lane = &mut self.lanes[track];
                if lane.last_video_pts.is_some_and(|last| pts < last + 1_000_000) {
                    return Flow::Continue;
                }
                lane.last_video_pts = Some(pts);
                self.encode_video(track, &frame, pts, duration)
            }
        };
        match result.and_then(|()| self.mux_pending(false)) {
            Ok(()) => Flow::Continue,
            Err(e) => Flow::Finish(Some(e), true),
        }
    }

    /// Maps an item's time on its track's clock to the session timeline, cutting paused spans.
    fn place(&mut self, track: usize, time: i64, duration: i64) -> i64 {
        let lane = &mut self.lanes[track];
        if lane.resumed {
            lane.resumed = false;
            if let Some(end) = lane.last_end {
                lane.removed += (time - end).max(0);
            }
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
        let Encoder::Video(slot) = &mut self.lanes[track].encoder else {
            return Ok(());
        };
        // A new size re-creates the encoder, which starts on a keyframe (what Chrome does).
        // VP8 and VP9 carry the size in every keyframe, so players follow the change.
        if slot.as_ref().is_some_and(|e| e.size() != (frame.width, frame.height)) {
            if let Some(mut old) = slot.take() {
                old.finish(&mut self.packets)?;
            }
        }
        if slot.is_none() {
            *slot = Some(VpxEncoder::new(
                track,
                self.video_codec,
                frame.width,
                frame.height,
                self.video_bps,
                self.keyframes,
            )?);
        }
        let enc = slot.as_mut().expect("created above");
        enc.encode(frame, pts, duration, &mut self.packets)?;
        self.stats.video_frames_encoded.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn finish_lane(&mut self, track: usize) -> Result<()> {
        match &mut self.lanes[track].encoder {
            Encoder::Opus(enc) => enc.finish(&mut self.packets),
            Encoder::Pcm(enc) => {
                enc.finish(&mut self.packets);
                Ok(())
            }
            Encoder::Video(Some(enc)) => enc.finish(&mut self.packets),
            Encoder::Video(None) => Ok(()),
        }
    }

    fn on_command(&mut self, cmd: Command) -> Flow {
        match cmd {
            Command::Pause if !self.paused => {
                self.paused = true;
                self.ensure_started();
                self.post.post(TaskKind::Pause);
            }
            Command::Resume if self.paused => {
                self.paused = false;
                for lane in &mut self.lanes {
                    lane.resumed = true;
                }
                self.ensure_started();
                self.post.post(TaskKind::Resume);
            }
            Command::Pause | Command::Resume => {}
            Command::RequestData => {
                self.ensure_started();
                if let Err(e) = self.cut() {
                    return Flow::Finish(Some(e), true);
                }
            }
            Command::Stop => return Flow::Finish(None, false),
            Command::Abort(e) => return Flow::Finish(Some(e), true),
        }
        Flow::Continue
    }

    /// Gives the encoders' packets their timeline position, interleaves and muxes what is
    /// ready; cuts a blob whenever the timeslice is full.
    fn mux_pending(&mut self, all: bool) -> Result<()> {
        for mut p in std::mem::take(&mut self.packets) {
            let lane = &self.lanes[p.track];
            if lane.kind == TrackKind::Audio {
                p.pts += lane.audio_origin.unwrap_or(0);
            }
            self.interleaver.push(p);
        }
        self.interleaver.pop_ready(all, &mut self.ready);
        let dropped = self.interleaver.take_dropped();
        self.stats.packets_dropped_late.fetch_add(dropped, Ordering::Relaxed);
        for (p, last) in std::mem::take(&mut self.ready) {
            let video_key = p.keyframe && self.lanes[p.track].kind == TrackKind::Video;
            if self.cut_due == Some(true) && video_key {
                self.cut()?;
            }
            self.muxer.write(&p, last);
            self.ensure_started();
            if self.cutter.add(&p) {
                match &mut self.cut_due {
                    Some(due) => *due = true,
                    None => self.cut()?,
                }
            }
        }
        Ok(())
    }

    fn ensure_started(&mut self) {
        if !self.started {
            self.started = true;
            self.post.post(TaskKind::Start);
        }
    }

    /// Ends the current blob: appends it to the file, if any, and posts it.
    fn cut(&mut self) -> Result<()> {
        if let Some(due) = &mut self.cut_due {
            *due = false;
        }
        let data = self.muxer.flush();
        let written = match self.file.as_mut() {
            Some(f) => f.append(&data),
            None => Ok(()),
        };
        self.post_blob(data);
        written
    }

    fn post_blob(&mut self, data: Vec<u8>) {
        let timecode = self.cutter.cut();
        let budget = self.post.budget().acquire(data.len());
        self.post.post(TaskKind::Data { data, timecode, budget });
    }

    /// Ends the session: flushes what was gathered, then (teardown) `error`, `dataavailable`,
    /// `stop`, or (stop) `dataavailable`, `stop`.
    fn finish(&mut self, error: Option<Error>, teardown: bool) {
        let mut error = error;
        if error.is_none() {
            for i in 0..self.lanes.len() {
                if !self.lanes[i].ended {
                    self.lanes[i].ended = true;
                    if let Err(e) = self.finish_lane(i) {
                        error = Some(e);
                        break;
                    }
                }
            }
        }
        if let Err(e) = self.mux_pending(true) {
            error.get_or_insert(e);
        }
        // The last blob carries the Cues; the file gets them and the header patches too.
        let (data, patches) = self.muxer.finalize();
        if let Some(mut file) = self.file.take() {
            let written = file.append(&data).and_then(|()| file.finish(patches.as_ref()));
            if let Err(e) = written {
                error.get_or_insert(Error::Unknown(format!("writing the recording failed: {e}")));
            }
        }
        self.ensure_started();
        if teardown || error.is_some() {
            self.post.post(TaskKind::Teardown(error));
        }
        self.post_blob(data);
        self.post.post(TaskKind::Stop { media_ms: self.cutter.media_end_ms() });
    }
}
