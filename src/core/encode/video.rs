//! A track's video encoder: one codec encoder at a time, fixed to one picture size, created
//! again, starting on a keyframe, whenever the size changes (what Chrome does; VP8, VP9 and AV1
//! carry the size in every keyframe, H.264 then repeats its parameter sets in band, so players
//! follow the change). VP8/VP9 start at the first picture (whose size they take); H.264 and
//! AV1 start at the declared size, since their codec private comes from the encoder and the
//! container header needs it before any picture.

use crate::core::codec::{CodecDescription, CodecId, Encoder, Input, StreamParams};
use crate::core::encode::keyframes::KeyframeRule;
use crate::core::encode::vpx::{VideoCodec, VpxEncoder};
use crate::core::media::VideoFrame;
use crate::core::packet::Packet;
use crate::core::{Error, Result};

/// A codec's encoder at one picture size.
pub trait SizedEncoder: Send {
    fn size(&self) -> (u32, u32);
    fn encode(
        &mut self,
        frame: &VideoFrame,
        pts: i64,
        duration: i64,
        out: &mut Vec<Packet>,
    ) -> Result<()>;
    fn finish(&mut self, out: &mut Vec<Packet>) -> Result<()>;
    fn force_keyframe(&mut self);
    /// Pictures given that will never be written (rate control skipped or dropped them),
    /// since the last call.
    fn take_dropped(&mut self) -> u64;
}

impl SizedEncoder for VpxEncoder {
    fn size(&self) -> (u32, u32) {
        VpxEncoder::size(self)
    }
    fn encode(
        &mut self,
        frame: &VideoFrame,
        pts: i64,
        duration: i64,
        out: &mut Vec<Packet>,
    ) -> Result<()> {
        VpxEncoder::encode(self, frame, pts, duration, out)
    }
    fn finish(&mut self, out: &mut Vec<Packet>) -> Result<()> {
        VpxEncoder::finish(self, out)
    }
    fn force_keyframe(&mut self) {
        VpxEncoder::force_keyframe(self);
    }
    fn take_dropped(&mut self) -> u64 {
        VpxEncoder::take_dropped(self)
    }
}

/// Makes the codec's encoder for a picture size; `restart` is true for every one after the
/// first (a size change).
pub type MakeEncoder<E> = Box<dyn FnMut(u32, u32, bool) -> Result<E> + Send>;

pub struct VideoEncoder<E: SizedEncoder> {
    make: MakeEncoder<E>,
    current: Option<E>,
    /// Dropped by encoders already replaced, not yet reported.
    dropped: u64,
    made: bool,
    description: CodecDescription,
    force_key: bool,
}

/// The VP8 or VP9 encoder of a track whose declared size is `width` x `height`: what the
/// container header says until the first picture shows otherwise.
pub fn vpx(
    track: usize,
    codec: VideoCodec,
    width: u32,
    height: u32,
    bits_per_second: u32,
    rule: KeyframeRule,
) -> VideoEncoder<VpxEncoder> {
    let id = match codec {
        VideoCodec::Vp8 => CodecId::Vp8,
        VideoCodec::Vp9 => CodecId::Vp9,
    };
    let make = Box::new(move |w, h, _| VpxEncoder::new(track, codec, w, h, bits_per_second, rule));
    VideoEncoder::new(describe(track, id, width, height, Vec::new()), None, make)
}

/// The description of a video track; packet times are in microseconds.
pub fn describe(
    track: usize,
    codec: CodecId,
    width: u32,
    height: u32,
    private: Vec<u8>,
) -> CodecDescription {
    CodecDescription {
        track,
        codec,
        params: StreamParams::Video { width, height },
        private,
        delay_ns: 0,
        seek_pre_roll_ns: 0,
        time_base: (1, 1_000_000),
    }
}

impl<E: SizedEncoder> VideoEncoder<E> {
    /// `first`: an encoder already made (at the declared size), or `None` to make it at the
    /// first picture.
    pub fn new(description: CodecDescription, first: Option<E>, make: MakeEncoder<E>) -> Self {
        let made = first.is_some();
        VideoEncoder { make, current: first, dropped: 0, made, description, force_key: false }
    }
}

impl<E: SizedEncoder> Encoder for VideoEncoder<E> {
    fn describe(&self) -> &CodecDescription {
        &self.description
    }

    fn encode(&mut self, input: Input<'_>, out: &mut Vec<Packet>) -> Result<()> {
        let Input::Video { frame, pts, duration } = input else {
            return Err(Error::Encoding("video encoder: given audio".into()));
        };
        let size = (frame.width, frame.height);
        if self.current.as_ref().is_some_and(|e| e.size() != size) {
            if let Some(mut old) = self.current.take() {
                old.finish(out)?;
                self.dropped += old.take_dropped();
            }
        }
        let enc = match &mut self.current {
            Some(enc) => enc,
            None => {
                // Every encoder after the first is a restart, even if the first (made at the
                // declared size) never saw a picture: the codec private describes only it.
                let enc = (self.make)(frame.width, frame.height, self.made)?;
                self.made = true;
                self.current.insert(enc)
            }
        };
        if std::mem::take(&mut self.force_key) {
            enc.force_keyframe();
        }
        enc.encode(frame, pts, duration, out)
    }

    fn finish(&mut self, out: &mut Vec<Packet>) -> Result<()> {
        match &mut self.current {
            Some(enc) => enc.finish(out),
            None => Ok(()),
        }
    }

    fn force_keyframe(&mut self) {
        self.force_key = true;
    }

    fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
            + self.current.as_mut().map_or(0, SizedEncoder::take_dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::media::VideoFrame;

    #[test]
    fn a_size_change_restarts_on_a_keyframe_and_forcing_works() {
        let mut enc = vpx(0, VideoCodec::Vp8, 64, 48, 500_000, KeyframeRule::Auto);
        let mut out = Vec::new();
        for (i, (w, h)) in [(64, 48), (64, 48), (32, 24), (32, 24), (32, 24)].iter().enumerate() {
            if i == 4 {
                enc.force_keyframe();
            }
            let f = VideoFrame::black(*w, *h, 0);
            let pts = i as i64 * 33_333_333;
            enc.encode(Input::Video { frame: &f, pts, duration: 33_333_333 }, &mut out).unwrap();
        }
        enc.finish(&mut out).unwrap();
        let keys: Vec<bool> = out.iter().map(|p| p.keyframe).collect();
        assert_eq!(keys, [true, false, true, false, true]);
        assert_eq!(enc.describe().params, StreamParams::Video { width: 64, height: 48 });
    }
}
