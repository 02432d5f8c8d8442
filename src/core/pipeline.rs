//! One recording session's thread: media in, encode, mux, cut blobs, post tasks.
//!
//! Media and commands arrive on two channels. Media comes through a bounded queue (a source that
//! outruns the encoder waits); commands come through an unbounded one so that recorder methods
//! never block. Each command carries the number of media items sent to the session before it,
//! and is applied only once those have been handled: `write(); stop()` records the write.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

use crossbeam_channel::{select, Receiver, Sender};

use crate::core::encode::opus::{OpusEncoder, SEEK_PRE_ROLL_NS};
use crate::core::encode::BitrateMode;
use crate::core::media::Media;
use crate::core::mux::webm::{AudioTrackInfo, WebmMuxer};
use crate::core::packet::Packet;
use crate::core::recorder::{SessionPost, TaskKind};
use crate::core::sink::ChunkCutter;
use crate::core::track::TrackSettings;
use crate::core::{Error, Result};

/// Media items a session queues before its sources wait (each is one `write()` or one 10 ms
/// block of a live source).
pub(crate) const MEDIA_QUEUE: usize = 64;

pub(crate) enum Command {
    Pause,
    Resume,
    RequestData,
    Stop,
    Abort(Error),
}

pub(crate) struct Control {
    pub seq: u64,
    pub cmd: Command,
}

/// The sending side of a session's media queue, shared by the tracks attached to it.
#[derive(Clone)]
pub(crate) struct SessionInput {
    media: Sender<(usize, Media)>,
    sent: Arc<AtomicU64>,
}

impl SessionInput {
    pub(crate) fn new(media: Sender<(usize, Media)>, sent: Arc<AtomicU64>) -> Self {
        SessionInput { media, sent }
    }

    /// Counted before the send, so a command issued after this call returns is ordered after
    /// this item even if another thread's send is still in flight.
    pub(crate) fn send_media(&self, track: usize, media: Media) {
        self.sent.fetch_add(1, Ordering::SeqCst);
        let _ = self.media.send((track, media));
    }
}

pub(crate) struct PipelineConfig {
    pub tracks: Vec<TrackSettings>,
    pub timeslice_ms: Option<u64>,
    pub audio_bps: u32,
    pub bitrate_mode: BitrateMode,
    pub post: SessionPost,
    /// The previous session of the same recorder; its tasks go first.
    pub after: Option<Receiver<()>>,
    /// Dropped when this session has posted its last task.
    pub done: Sender<()>,
}

pub(crate) fn spawn(
    config: PipelineConfig,
    media: Receiver<(usize, Media)>,
    control: Receiver<Control>,
) -> Result<()> {
    thread::Builder::new()
        .name("mediarecorder-session".into())
        .spawn(move || {
            if let Some(after) = &config.after {
                let _ = after.recv();
            }
            let done = config.done.clone();
            Session::new(config).run(media, control);
            drop(done);
        })
        .map(|_| ())
        .map_err(|e| Error::Unknown(format!("cannot start the recording thread: {e}")))
}

struct Session {
    post: SessionPost,
    encoders: Vec<Option<OpusEncoder>>,
    setup_error: Option<Error>,
    ended: Vec<bool>,
    muxer: WebmMuxer,
    cutter: ChunkCutter,
    started: bool,
    paused: bool,
    packets: Vec<Packet>,
}

enum Flow {
    Continue,
    Finish(Option<Error>, bool),
}

impl Session {
    fn new(config: PipelineConfig) -> Self {
        let mut setup_error = None;
        let mut infos = Vec::new();
        let encoders = config
            .tracks
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let rate = s.sample_rate.unwrap_or(48_000);
                let channels = s.channel_count.unwrap_or(1);
                match OpusEncoder::new(i, rate, channels, config.audio_bps, config.bitrate_mode) {
                    Ok(enc) => {
                        infos.push(AudioTrackInfo {
                            codec_id: "A_OPUS",
                            codec_private: enc.codec_private().to_vec(),
                            codec_delay_ns: enc.codec_delay_ns(),
                            seek_pre_roll_ns: SEEK_PRE_ROLL_NS,
                            sample_rate: 48_000.0,
                            channels,
                        });
                        Some(enc)
                    }
                    Err(e) => {
                        setup_error.get_or_insert(e);
                        None
                    }
                }
            })
            .collect();
        Session {
            post: config.post,
            encoders,
            setup_error,
            ended: vec![false; config.tracks.len()],
            muxer: WebmMuxer::new(infos),
            cutter: ChunkCutter::new(config.timeslice_ms),
            started: false,
            paused: false,
            packets: Vec::new(),
        }
    }

    fn run(mut self, media: Receiver<(usize, Media)>, control: Receiver<Control>) {
        let mut received = 0u64;
        if let Some(e) = self.setup_error.take() {
            return self.finish(Some(e), true);
        }
        loop {
            let flow = select! {
                recv(media) -> m => match m {
                    Ok((track, m)) => { received += 1; self.on_media(track, m) }
                    Err(_) => Flow::Continue,
                },
                recv(control) -> c => match c {
                    Ok(c) => {
                        let mut flow = Flow::Continue;
                        while received < c.seq {
                            let Ok((track, m)) = media.recv() else { break };
                            received += 1;
                            flow = self.on_media(track, m);
                            if matches!(flow, Flow::Finish(..)) { break }
                        }
                        match flow {
                            Flow::Continue => self.on_command(c.cmd),
                            finish => finish,
                        }
                    }
                    // The recorder is gone and so is every way to stop us: finish quietly.
                    Err(_) => Flow::Finish(None, false),
                },
            };
            if let Flow::Finish(error, teardown) = flow {
                return self.finish(error, teardown);
            }
        }
    }

    fn on_media(&mut self, track: usize, media: Media) -> Flow {
        if self.ended[track] {
            return Flow::Continue;
        }
        let result = match media {
            Media::Audio(block) if !self.paused => match self.encoders[track].as_mut() {
                Some(enc) => enc.push(&block.samples, &mut self.packets),
                None => Ok(()),
            },
            Media::Audio(_) => Ok(()),
            Media::End => {
                self.ended[track] = true;
                let r = match self.encoders[track].as_mut() {
                    Some(enc) => enc.finish(&mut self.packets),
                    None => Ok(()),
                };
                if r.is_ok() && self.ended.iter().all(|&e| e) {
                    if let Err(e) = self.mux_pending() {
                        return Flow::Finish(Some(e), true);
                    }
                    return Flow::Finish(None, true);
                }
                r
            }
        };
        match result.and_then(|()| self.mux_pending()) {
            Ok(()) => Flow::Continue,
            Err(e) => Flow::Finish(Some(e), true),
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
                self.ensure_started();
                self.post.post(TaskKind::Resume);
            }
            Command::Pause | Command::Resume => {}
            Command::RequestData => {
                self.ensure_started();
                self.cut();
            }
            Command::Stop => return Flow::Finish(None, false),
            Command::Abort(e) => return Flow::Finish(Some(e), true),
        }
        Flow::Continue
    }

    /// Muxes the packets the encoders produced; cuts a blob when the timeslice is full.
    fn mux_pending(&mut self) -> Result<()> {
        for p in std::mem::take(&mut self.packets) {
            self.muxer.write(&p);
            self.ensure_started();
            if self.cutter.add(&p) {
                self.cut();
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

    fn cut(&mut self) {
        let data = self.muxer.flush();
        let timecode = self.cutter.cut();
        let budget = self.post.budget().acquire(data.len());
        self.post.post(TaskKind::Data {
            data,
            timecode,
            budget,
        });
    }

    /// Ends the session: flushes what was gathered, then (teardown) `error`, `dataavailable`,
    /// `stop`, or (stop) `dataavailable`, `stop`.
    fn finish(mut self, error: Option<Error>, teardown: bool) {
        let mut error = error;
        if error.is_none() {
            for (i, enc) in self.encoders.iter_mut().enumerate() {
                if let (false, Some(enc)) = (self.ended[i], enc.as_mut()) {
                    if let Err(e) = enc.finish(&mut self.packets) {
                        error = Some(e);
                        break;
                    }
                }
            }
            if let Err(e) = self.mux_pending() {
                error = Some(e);
            }
        }
        self.ensure_started();
        if teardown || error.is_some() {
            self.post.post(TaskKind::Teardown(error));
        }
        self.cut();
        self.post.post(TaskKind::Stop {
            media_ms: self.cutter.media_end_ms(),
        });
    }
}
