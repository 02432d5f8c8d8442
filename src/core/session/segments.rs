//! Segmented recordings: besides the one continuous stream cut into blobs, every packet also
//! goes to a muxer of the current segment, a complete file of its own (header, Cues, Duration)
//! that starts at media time 0 on a keyframe. A segment ends before the first packet whose
//! media starts at or after its boundary: for video, the first video keyframe (one is forced at the boundary); for
//! audio only, any packet (every audio packet decodes on its own). A segment's file is
//! finished in the background (an upload may take long; the session encodes live media): its
//! `segment` event comes once it is, in order.

use std::collections::VecDeque;

use crate::core::codec::{CodecDescription, CodecId};
use crate::core::mux::Container;
use crate::core::mux::Muxer;
use crate::core::packet::Packet;
use crate::core::sink::{PendingFinish, SegmentPlan, Target};
use crate::core::{Error, Result};

/// A finished segment, as the `segment` event reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentDone {
    pub name: String,
    pub index: u64,
    /// Media time of its start in the recording, ms.
    pub timecode: f64,
    /// Media it holds, ms.
    pub duration: f64,
    /// Bytes of the finished file.
    pub size: u64,
}

struct Current {
    muxer: Muxer,
    /// Bytes of the muxer's unflushed output already written to the target.
    sent: usize,
    target: Box<dyn Target>,
    name: String,
    index: u64,
    /// Recording time of the segment's time 0.
    start: i64,
    /// Where its decoded media ends (segment time).
    end: i64,
    delays: Vec<i64>,
}

pub(crate) struct Segments {
    plan: SegmentPlan,
    container: Container,
    descriptions: Vec<CodecDescription>,
    has_video: bool,
    next_index: u64,
    boundary: i64,
    keyframe_asked: bool,
    current: Option<Current>,
    /// Segments ended whose files are being finished, oldest first (`size` still 0).
    finishing: VecDeque<(SegmentDone, PendingFinish)>,
    /// The name of the last segment opened (a template must not repeat it).
    last_name: Option<String>,
}

impl Segments {
    pub fn new(
        plan: SegmentPlan,
        container: Container,
        descriptions: Vec<CodecDescription>,
    ) -> Self {
        let has_video = descriptions.iter().any(|d| d.codec.is_video());
        let boundary = plan.every_ns;
        Segments {
            plan,
            container,
            descriptions,
            has_video,
            next_index: 0,
            boundary,
            keyframe_asked: false,
            current: None,
            finishing: VecDeque::new(),
            last_name: None,
        }
    }

    /// Adds `p` to the current segment, first closing it when `p` starts the next one.
    /// Returns whether keyframes should be forced now, and the segments whose files were
    /// finished since the last call.
    pub fn write(
        &mut self,
        p: &Packet,
        last: bool,
        video_key: bool,
    ) -> Result<(bool, Vec<SegmentDone>)> {
        let mut force = false;
        // Boundaries are in media time: a packet's time less its track's decoder delay.
        let media = p.pts - self.descriptions.get(p.track).map_or(0, |d| d.delay_ns);
        if self.current.is_some() && media >= self.boundary {
            if !self.has_video || video_key {
                self.close()?;
                // The first boundary after this packet, computed: media may jump far ahead
                // (a source's timestamps), past more boundaries than could be stepped through.
                let every = self.plan.every_ns;
                self.boundary = (media / every).saturating_add(1).saturating_mul(every);
                self.keyframe_asked = false;
            } else if !self.keyframe_asked {
                self.keyframe_asked = true;
                force = true;
            }
        }
        if self.current.is_none() {
            self.open(p.pts, media)?;
        }
        if let Some(c) = &mut self.current {
            let mut q = p.clone();
            q.pts -= c.start;
            let delay = c.delays.get(p.track).copied().unwrap_or(0);
            c.end = c.end.max(q.pts + q.duration - q.discard_padding - delay);
            c.muxer.write(&q, last);
            // What the muxer has closed goes to the file now, as the recording's own file
            // does: a killed process leaves a segment that plays up to its last Cluster.
            let pending = c.muxer.pending();
            if pending.len() > c.sent {
                c.target.write(&pending[c.sent..])?;
                c.sent = pending.len();
            }
        }
        Ok((force, self.finished()?))
    }

    /// The segments whose files are finished now, in order: one still finishing holds back
    /// those after it.
    fn finished(&mut self) -> Result<Vec<SegmentDone>> {
        let mut out = Vec::new();
        while let Some((_, pending)) = self.finishing.front_mut() {
            let Some(result) = pending.poll() else { break };
            let Some((mut done, _)) = self.finishing.pop_front() else { break };
            done.size = result?;
            out.push(done);
        }
        Ok(out)
    }

    fn open(&mut self, pts: i64, media: i64) -> Result<()> {
        let index = self.next_index;
        let (name, target) = match self.plan.take_first() {
            Some(first) if index == 0 => first,
            _ => {
                // The first segment starts the recording, at media time 0.
                let name = self.plan.name(index, if index == 0 { 0 } else { media });
                // Both fields only grow, so a repeat could only be the previous name; it
                // would overwrite that segment, which is worse than ending the recording.
                if self.last_name.as_deref() == Some(name.as_str()) {
                    return Err(Error::Unknown(format!(
                        "segment: the template gives segment {index} the name of segment {} \
                         ({name:?})",
                        index - 1
                    )));
                }
                let target = (self.plan.open)(&name)?;
                (name, target)
            }
        };
        self.last_name = Some(name.clone());
        // The first segment starts the recording (time 0, the encoders' delay in front); a
        // later one starts at its first packet, and its decoder has no delay to drop.
        let (start, descriptions) = if index == 0 {
            (0, self.descriptions.clone())
        } else {
            (pts, self.descriptions.iter().map(without_delay).collect())
        };
        let delays = descriptions.iter().map(|d| d.delay_ns).collect();
        self.current = Some(Current {
            muxer: {
                let mut muxer = Muxer::new(self.container, &descriptions);
                muxer.write_as_you_go();
                muxer
            },
            sent: 0,
            target,
            name,
            index,
            start,
            end: 0,
            delays,
        });
        self.next_index += 1;
        Ok(())
    }

    /// Hands what the current segment's muxer holds to its target (at every blob cut, so a
    /// crash loses no more than the blobs do).
    pub fn flush(&mut self) -> Result<()> {
        match &mut self.current {
            Some(c) => {
                let data = c.muxer.flush();
                let sent = std::mem::take(&mut c.sent).min(data.len());
                c.target.write(&data[sent..])
            }
            None => Ok(()),
        }
    }

    /// Ends the current segment, if any; its file is finished in the background.
    fn close(&mut self) -> Result<()> {
        // No media at all: the first file, opened by start(), stays empty, as a plain path's.
        if let Some((_, target)) = self.plan.take_first() {
            target.abandon();
        }
        let Some(mut c) = self.current.take() else { return Ok(()) };
        let (data, patches) = c.muxer.finalize();
        c.target.write(&data[c.sent.min(data.len())..])?;
        let done = SegmentDone {
            name: c.name,
            index: c.index,
            timecode: c.start as f64 / 1e6,
            duration: c.end.max(0) as f64 / 1e6,
            size: 0,
        };
        self.finishing.push_back((done, c.target.finish_later(patches)));
        Ok(())
    }

    /// At the end: ends the current segment and waits for every file still finishing (each
    /// within its destination's stall timeout). Returns the segments finished, in order, up
    /// to the first that failed, and that failure.
    pub fn finish(&mut self) -> (Vec<SegmentDone>, Option<Error>) {
        let mut error = self.close().err();
        let mut out = Vec::new();
        for (mut done, pending) in self.finishing.drain(..) {
            match pending.wait() {
                Ok(size) if error.is_none() => {
                    done.size = size;
                    out.push(done);
                }
                Ok(_) => {}
                Err(e) => {
                    error.get_or_insert(e);
                }
            }
        }
        (out, error)
    }
}

/// A stream description for a segment that starts mid-stream: no decoder delay (Opus: no
/// pre-skip in CodecDelay nor in the OpusHead), so that no sample is dropped twice.
fn without_delay(d: &CodecDescription) -> CodecDescription {
    let mut d = d.clone();
    d.delay_ns = 0;
    if d.codec == CodecId::Opus && d.private.len() >= 12 {
        d.private[10..12].copy_from_slice(&[0, 0]);
    }
    d
}
