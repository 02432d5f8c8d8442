//! Orders packets of several tracks by timestamp before they reach the muxer.
//!
//! A packet leaves once every other track has shown a packet at or after it (or has ended), so
//! the muxer sees non-decreasing timestamps within and across clusters: Chromium's MediaSource
//! rejects a chunk with a block earlier than the one before it.
//!
//! When every track is pushed by the embedder (NumPy sources), the embedder decides the
//! timeline and may write one track far ahead of the other: the interleaver waits, without a
//! limit, and drops nothing. When a live track is recorded, a track that stalls (a disabled
//! camera, a source nobody writes to) holds the others back by at most `MAX_WAIT_NS` of media:
//! after that they go on without it, and its packets that then arrive earlier than what was
//! already let out are dropped and counted, never written out of order.
//!
//! At equal timestamps, audio leaves before video. A player may seek by the audio track: Chromium
//! does for a target before the video's first frame (Opus's CodecDelay makes audio start
//! earlier), which lands on the Cluster of the first audio block. Were that Cluster after the
//! one of the video keyframe at the same time (one block per Cluster, at `timeslice` 0), the
//! video decoder would start on a delta frame and fail.
//!
//! The newest packet of each track is held until the track's next packet (or its end) shows
//! that more follows, so that the last packet of a track leaves marked as the last: the muxer
//! writes its duration (Matroska `BlockDuration`), which a player cannot infer for it.

use std::collections::VecDeque;

use crate::core::packet::Packet;

pub const MAX_WAIT_NS: i64 = 500_000_000;

pub struct Interleaver {
    queues: Vec<VecDeque<Packet>>,
    /// Per track, whether it is video (it goes after the others at equal times).
    video: Vec<bool>,
    /// The latest pts seen per track (None: nothing yet).
    seen: Vec<Option<i64>>,
    ended: Vec<bool>,
    /// Wait for a stalled track without limit (every track is pushed by the embedder).
    patient: bool,
    /// The pts of the last packet let out: no earlier packet may follow it.
    let_out: Option<i64>,
    dropped: u64,
    /// Let each track's newest packet go too (a cut wants everything written so far).
    releasing: bool,
}

impl Interleaver {
    /// `video`: per track, whether it is a video track.
    pub fn new(video: Vec<bool>, patient: bool) -> Self {
        let tracks = video.len();
        Interleaver {
            queues: (0..tracks).map(|_| VecDeque::new()).collect(),
            video,
            seen: vec![None; tracks],
            ended: vec![false; tracks],
            patient,
            let_out: None,
            dropped: 0,
            releasing: false,
        }
    }

    /// Queues a packet; drops it (and counts it) if it is earlier than what already left.
    pub fn push(&mut self, p: Packet) {
        let t = p.track;
        if self.let_out.is_some_and(|w| p.pts < w) || self.seen[t].is_some_and(|s| p.pts < s) {
            self.dropped += 1;
            return;
        }
        self.seen[t] = Some(p.pts);
        self.queues[t].push_back(p);
    }

    /// Packets dropped since the last call because they arrived after later ones had left.
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }

    /// The track sends nothing more; it no longer holds others back.
    pub fn end_track(&mut self, track: usize) {
        self.ended[track] = true;
    }

    /// As [`Interleaver::pop_ready`], but each track's newest packet may leave as well (not
    /// marked last: its track may go on): a chunk cut now holds everything written before.
    pub fn pop_including_newest(&mut self, out: &mut Vec<(Packet, bool)>) {
        self.releasing = true;
        self.pop_ready(false, out);
        self.releasing = false;
    }

    /// Moves every packet that may be written now into `out`, in timestamp order, each with
    /// whether it is the last its track has shown so far (its duration must be written); with
    /// `all`, everything queued.
    pub fn pop_ready(&mut self, all: bool, out: &mut Vec<(Packet, bool)>) {
        let newest = self.seen.iter().flatten().copied().max().unwrap_or(i64::MIN);
        let stale = |pts: i64| !self.patient && pts < newest.saturating_sub(MAX_WAIT_NS);
        loop {
            let next = (0..self.queues.len())
                .filter_map(|t| self.queues[t].front().map(|p| (p.pts, self.video[t], t)))
                .min();
            let Some((pts, _, track)) = next else { return };
            let newest_of_track = self.queues[track].len() == 1;
            let own_ok = !newest_of_track || self.ended[track] || self.releasing || stale(pts);
            let others_ok = (0..self.queues.len())
                .filter(|&o| o != track)
                .all(|o| self.ended[o] || self.seen[o].is_some_and(|s| s >= pts) || stale(pts));
            if !(all || (own_ok && others_ok)) {
                return;
            }
            if let Some(mut p) = self.queues[track].pop_front() {
                // A picture lasts until the next one, whatever its encoder said: the samples
                // of a track then follow each other exactly, across MP4 fragments too.
                if let Some(next) = self.queues[track].front().filter(|_| self.video[track]) {
                    p.duration = next.pts - p.pts;
                }
                self.let_out = Some(p.pts);
                out.push((p, newest_of_track && !self.releasing));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(track: usize, ms: i64) -> Packet {
        Packet {
            track,
            pts: ms * 1_000_000,
            duration: 0,
            keyframe: true,
            discard_padding: 0,
            data: vec![],
        }
    }

    fn ms(out: &[(Packet, bool)]) -> Vec<i64> {
        out.iter().map(|(p, _)| p.pts / 1_000_000).collect()
    }

    #[test]
    fn orders_and_bounds_the_wait_of_a_live_session() {
        let mut il = Interleaver::new(vec![false; 2], false);
        let mut out = Vec::new();
        il.push(p(0, 0));
        il.push(p(0, 20));
        il.pop_ready(false, &mut out);
        assert!(out.is_empty(), "track 1 has shown nothing yet");
        il.push(p(1, 10));
        il.pop_ready(false, &mut out);
        assert_eq!(ms(&out), [0], "10 ms is track 1's newest, so it waits for its successor");
        for t in (40..=600).step_by(20) {
            il.push(p(0, t));
        }
        out.clear();
        il.pop_ready(false, &mut out);
        // Track 1 stalled at 10 ms: track 0 goes on up to 500 ms behind its newest packet.
        assert_eq!(ms(&out).first(), Some(&10));
        assert_eq!(ms(&out).last(), Some(&80));
        assert!(out[0].1, "track 1's packet left without a successor: its duration is written");
        // Track 1's late packets would go before what left: dropped and counted.
        il.push(p(1, 30));
        il.push(p(1, 100));
        assert_eq!(il.take_dropped(), 1);
        il.end_track(1);
        out.clear();
        il.pop_ready(false, &mut out);
        assert_eq!(ms(&out).first(), Some(&100));
        assert_eq!(ms(&out).last(), Some(&580), "track 0's newest waits for its successor");
        il.end_track(0);
        out.clear();
        il.pop_ready(false, &mut out);
        assert_eq!(ms(&out), [600]);
        assert!(out[0].1);
    }

    #[test]
    fn a_pushed_session_waits_for_a_track_written_later() {
        let mut il = Interleaver::new(vec![false; 2], true);
        let mut out = Vec::new();
        for t in (0..3000).step_by(33) {
            il.push(p(0, t));
        }
        il.pop_ready(false, &mut out);
        assert!(out.is_empty(), "track 1 may still write from 0 ms on");
        for t in (0..3000).step_by(20) {
            il.push(p(1, t));
        }
        il.end_track(0);
        il.end_track(1);
        il.pop_ready(false, &mut out);
        assert_eq!(il.take_dropped(), 0);
        assert_eq!(out.len(), 91 + 150);
        assert!(ms(&out).windows(2).all(|w| w[0] <= w[1]), "{:?}", ms(&out));
        let last: Vec<_> = out.iter().filter(|(_, last)| *last).map(|(p, _)| p.track).collect();
        assert_eq!(last.len(), 2, "exactly one last packet per track: {last:?}");
    }

    #[test]
    fn audio_leaves_before_video_at_equal_times() {
        let mut il = Interleaver::new(vec![true, false], true);
        il.push(p(0, 0));
        il.push(p(1, 0));
        il.push(p(0, 33));
        il.push(p(1, 20));
        let mut out = Vec::new();
        il.pop_ready(true, &mut out);
        let order: Vec<(usize, i64)> =
            out.iter().map(|(p, _)| (p.track, p.pts / 1_000_000)).collect();
        assert_eq!(order, [(1, 0), (0, 0), (1, 20), (0, 33)]);
    }

    #[test]
    fn a_picture_lasts_until_the_next_one() {
        let mut il = Interleaver::new(vec![true, false], true);
        for (t, ms) in [(0, 0), (1, 0), (0, 40), (1, 20), (0, 80), (1, 100)] {
            let mut packet = p(t, ms);
            packet.duration = 33_333_333;
            il.push(packet);
        }
        let mut out = Vec::new();
        il.pop_ready(false, &mut out);
        il.pop_including_newest(&mut out);
        let video: Vec<i64> =
            out.iter().filter(|(p, _)| p.track == 0).map(|(p, _)| p.duration).collect();
        // The newest one's successor is unknown: it keeps what its encoder said.
        assert_eq!(video, [40_000_000, 40_000_000, 33_333_333]);
        assert!(out.iter().filter(|(p, _)| p.track == 1).all(|(p, _)| p.duration == 33_333_333));
    }
}
