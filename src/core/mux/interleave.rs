//! Orders packets of several tracks by timestamp before they reach the muxer.
//!
//! A packet leaves once every other live track has shown a packet at or after it, so the file
//! is in timestamp order. A track that stalls (a disabled camera, a source nobody writes to)
//! holds the others back by at most `MAX_WAIT`: after that they go on without it.

use std::collections::VecDeque;

use crate::core::packet::Packet;

pub const MAX_WAIT_NS: i64 = 500_000_000;

pub struct Interleaver {
    queues: Vec<VecDeque<Packet>>,
    /// The latest pts seen per track (None: nothing yet).
    seen: Vec<Option<i64>>,
    ended: Vec<bool>,
}

impl Interleaver {
    pub fn new(tracks: usize) -> Self {
        Interleaver {
            queues: (0..tracks).map(|_| VecDeque::new()).collect(),
            seen: vec![None; tracks],
            ended: vec![false; tracks],
        }
    }

    pub fn push(&mut self, p: Packet) {
        let t = p.track;
        self.seen[t] = Some(self.seen[t].map_or(p.pts, |s| s.max(p.pts)));
        self.queues[t].push_back(p);
    }

    /// The track sends nothing more; it no longer holds others back.
    pub fn end_track(&mut self, track: usize) {
        self.ended[track] = true;
    }

    /// Moves every packet that may be written now into `out`, in timestamp order; with
    /// `all`, everything queued.
    pub fn pop_ready(&mut self, all: bool, out: &mut Vec<Packet>) {
        let newest = self.seen.iter().flatten().copied().max().unwrap_or(i64::MIN);
        loop {
            let next = (0..self.queues.len())
                .filter_map(|t| self.queues[t].front().map(|p| (p.pts, t)))
                .min();
            let Some((pts, track)) = next else { return };
            let others_past = (0..self.queues.len())
                .filter(|&o| o != track)
                .all(|o| self.ended[o] || self.seen[o].is_some_and(|s| s >= pts));
            if !(all || others_past || pts < newest.saturating_sub(MAX_WAIT_NS)) {
                return;
            }
            out.extend(self.queues[track].pop_front());
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

    #[test]
    fn orders_and_bounds_the_wait() {
        let mut il = Interleaver::new(2);
        let mut out = Vec::new();
        il.push(p(0, 0));
        il.push(p(0, 20));
        il.pop_ready(false, &mut out);
        assert!(out.is_empty(), "track 1 has shown nothing yet");
        il.push(p(1, 10));
        il.pop_ready(false, &mut out);
        assert_eq!(out.iter().map(|p| p.pts / 1_000_000).collect::<Vec<_>>(), [0, 10]);
        for ms in (40..=600).step_by(20) {
            il.push(p(0, ms));
        }
        out.clear();
        il.pop_ready(false, &mut out);
        // Track 1 stalled at 10 ms: track 0 goes on up to 500 ms behind its newest packet.
        assert_eq!(out.first().map(|p| p.pts / 1_000_000), Some(20));
        assert_eq!(out.last().map(|p| p.pts / 1_000_000), Some(80));
        il.end_track(1);
        out.clear();
        il.pop_ready(false, &mut out);
        assert_eq!(out.last().map(|p| p.pts / 1_000_000), Some(600));
    }
}
