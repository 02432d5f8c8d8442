//! The session's output side: the encoders' packets placed, interleaved and muxed, blobs cut
//! at the timeslice, the file and the segments written, and the end of a recording (the
//! encoders flushed, the container finished, the last blob and the stop posted).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;

use super::{panicked, Drain, Flow, Session};
use crate::core::media::Media;
use crate::core::packet::Packet;
use crate::core::session::Posted;
use crate::core::sink::Finishing;
use crate::core::{Error, Result};

impl Session {
    /// Gives the encoders' packets their timeline position, interleaves and muxes what is
    /// ready; cuts a blob whenever the timeslice is full.
    pub(super) fn mux_pending(&mut self, drain: Drain) -> Result<()> {
        if !self.packets.is_empty() {
            self.ensure_started();
        }
        for p in std::mem::take(&mut self.packets) {
            self.interleaver.push(p);
        }
        match drain {
            Drain::Ready => self.interleaver.pop_ready(false, &mut self.ready),
            Drain::WithNewest => self.interleaver.pop_including_newest(&mut self.ready),
            Drain::All => self.interleaver.pop_ready(true, &mut self.ready),
        }
        let dropped = self.interleaver.take_dropped();
        self.stats.packets_dropped_late.fetch_add(dropped, Ordering::Relaxed);
        // A failed cut (the file) ends the session, but every packet taken here is muxed
        // first, so the blobs still hold all of it.
        let mut result = Ok(());
        for (p, last) in std::mem::take(&mut self.ready) {
            let video_key = p.keyframe && self.lanes[p.track].encoder.describe().codec.is_video();
            if self.cut_due == Some(true) && video_key {
                let cut = self.cut();
                result = result.and(cut);
            }
            self.muxer.write(&p, last);
            if let Err(e) = self.write_segment(&p, last, video_key) {
                result = result.and(Err(e));
            }
            self.ensure_started();
            if self.cutter.add(&p) {
                match &mut self.cut_due {
                    // The chunk ends before the next video keyframe, which is asked for now.
                    Some(due) => {
                        if !*due {
                            *due = true;
                            for lane in &mut self.lanes {
                                lane.encoder.force_keyframe();
                            }
                        }
                    }
                    None => {
                        let cut = self.cut();
                        result = result.and(cut);
                    }
                }
            }
        }
        result.and(self.write_closed())
    }

    /// Writes what the muxer has closed (Clusters, fragments, pages) to the target now,
    /// whatever the timeslice: a crash loses at most the open Cluster or fragment.
    pub(super) fn write_closed(&mut self) -> Result<()> {
        let Some(target) = self.target.as_mut() else { return Ok(()) };
        let pending = self.muxer.pending();
        if pending.len() <= self.target_sent {
            return Ok(());
        }
        let written = target.write(&pending[self.target_sent..]);
        self.target_sent = pending.len();
        if written.is_err() {
            if let Some(t) = self.target.take() {
                t.abandon();
            }
        }
        written
    }

    /// The first media the session records begins it, whatever the codecs (an encoder may
    /// hold its first packets back): `start` goes out, and the container's header is the
    /// first thing the blob holds.
    pub(super) fn begin(&mut self) {
        self.ensure_started();
        self.muxer.begin();
    }

    pub(super) fn ensure_started(&mut self) {
        if !self.started {
            self.started = true;
            self.post.post(Posted::Start { codecs: self.codecs.take() });
        }
    }

    /// Ends the current blob: appends it to the file, if any, and posts it. A file that
    /// fails is written no more (the error ends the session); the blobs go on to the end.
    pub(super) fn cut(&mut self) -> Result<()> {
        if let Some(due) = &mut self.cut_due {
            *due = false;
        }
        let data = self.muxer.flush();
        let mut written = self.append_unsent(&data);
        if let Some(s) = &mut self.segments {
            if let Err(e) = s.flush() {
                self.segments = None;
                written = written.and(Err(e));
            }
        }
        self.post_blob(data);
        written
    }

    /// Segmented recordings: the packet also goes to the current segment; a failed segment
    /// ends the series (the error ends the session).
    pub(super) fn write_segment(&mut self, p: &Packet, last: bool, video_key: bool) -> Result<()> {
        let Some(s) = &mut self.segments else { return Ok(()) };
        match s.write(p, last, video_key) {
            Ok((force, done)) => {
                if force {
                    for lane in &mut self.lanes {
                        lane.encoder.force_keyframe();
                    }
                }
                for done in done {
                    self.post.post(Posted::Segment(done));
                }
                Ok(())
            }
            Err(e) => {
                self.segments = None;
                Err(e)
            }
        }
    }

    /// Appends to the file what of `data` (the muxer's flushed output) it has not had yet.
    pub(super) fn append_unsent(&mut self, data: &[u8]) -> Result<()> {
        let sent = std::mem::take(&mut self.target_sent).min(data.len());
        let Some(target) = self.target.as_mut() else { return Ok(()) };
        let data = &data[sent..];
        if data.is_empty() {
            return Ok(());
        }
        let written = target.write(data);
        if written.is_err() {
            if let Some(t) = self.target.take() {
                t.abandon();
            }
        }
        written
    }

    pub(super) fn finish_target(&mut self, finishing: Finishing) -> Result<()> {
        self.target.take().map_or(Ok(()), |t| t.finish(finishing).map(|_| ()))
    }

    pub(super) fn post_blob(&mut self, data: Vec<u8>) {
        let timecode = self.cutter.cut();
        let budget = self.post.budget().acquire(data.len());
        self.post.post(Posted::Data { data, timecode, budget });
    }

    /// Ends the session: flushes what was gathered, then (teardown) `error`, `dataavailable`,
    /// `stop`, or (stop) `dataavailable`, `stop`. Every encoder is flushed on every path, an
    /// error's included: media written before the error is kept whole (an encoder's partial
    /// frame and look-ahead too). The first error is the one reported.
    pub(super) fn finish(&mut self, error: Option<Error>, teardown: bool) {
        let mut error = error;
        // A panic while finishing (after one in the loop, the state may be half-updated)
        // costs the last blob and the file's finishing, never the events.
        let data = catch_unwind(AssertUnwindSafe(|| self.finish_media(&mut error))).unwrap_or_else(
            |panic| {
                error.get_or_insert(panicked(panic));
                if let Some(t) = self.target.take() {
                    t.abandon();
                }
                self.segments = None;
                Vec::new()
            },
        );
        self.ensure_started();
        if teardown || error.is_some() {
            self.post.post(Posted::Teardown(error));
        }
        self.post_blob(data);
        self.post.post(Posted::Stop { media_ms: self.cutter.media_end_ms() });
    }

    /// Flushes the encoders, muxes the rest, finishes the file and the segment; returns the
    /// last blob's bytes. The first error is kept in `error`.
    pub(super) fn finish_media(&mut self, error: &mut Option<Error>) -> Vec<u8> {
        // What the mixer still holds (inputs that had not caught up) is recorded too.
        if let Some((mixing, lane)) = &mut self.mixing {
            let (block, lane) = (mixing.drain(&self.stats), *lane);
            let block = block.unwrap_or_else(|e| {
                error.get_or_insert(e);
                None
            });
            if let Some(block) = block.filter(|_| !self.lanes[lane].ended) {
                if let Flow::Finish(Some(e), _) = self.on_media(lane, Media::Audio(block)) {
                    error.get_or_insert(e);
                }
            }
        }
        for i in 0..self.lanes.len() {
            if !self.lanes[i].ended {
                self.lanes[i].ended = true;
                if let Err(e) = self.finish_lane(i) {
                    error.get_or_insert(e);
                }
            }
        }
        if let Err(e) = self.mux_pending(Drain::All) {
            error.get_or_insert(e);
        }
        // The last blob carries the Cues; the file gets them and the header patches too.
        let (data, finish) = self.muxer.finalize();
        let written = self.append_unsent(&data);
        if let Err(e) = written.and_then(|()| self.finish_target(finish)) {
            error.get_or_insert(e);
        }
        self.ensure_started();
        if let Some((done, failed)) = self.segments.take().map(|mut s| s.finish()) {
            for done in done {
                self.post.post(Posted::Segment(done));
            }
            if let Some(e) = failed {
                error.get_or_insert(e);
            }
        }
        data
    }
}
