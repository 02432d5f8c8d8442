//! `start()`: the spec's synchronous checks and the session it launches (its tracks planned,
//! its encoders and container chosen, its output opened), and where that session posts.

use std::sync::Arc;

use super::{ActiveSession, AudioTracks, Recorder, RecordingState, Task, TaskKind, NEXT_SESSION};
use crate::core::bitrate;
use crate::core::encode::keyframes::KeyframeRule;
use crate::core::encode::{self, EncoderSettings};
use crate::core::media::Media;
use crate::core::mime::{self, TopLevel};
use crate::core::mux::Container;
use crate::core::session::{self, Outbox, SessionConfig, TrackPlan};
use crate::core::sink::Output;
use crate::core::track::{Track, TrackKind};
use crate::core::{Error, Result};

impl Recorder {
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
    pub(super) fn outbox(&self, id: u64) -> Outbox {
        let shared = self.shared.clone();
        Outbox::new(self.shared.budget.clone(), move |posted| {
            let task = Task { shared: shared.clone(), session: id, kind: TaskKind::Posted(posted) };
            shared.outlet.post(task);
        })
    }
}
