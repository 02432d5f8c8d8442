//! A track's video encoder: created at the first picture (whose size it takes) and created
//! again, starting on a keyframe, whenever the size changes (what Chrome does; VP8 and VP9 carry
//! the size in every keyframe, so players follow the change).

use crate::core::codec::{CodecDescription, CodecId, Encoder, Input, StreamParams};
use crate::core::encode::vpx::{KeyframeRule, VideoCodec, VpxEncoder};
use crate::core::packet::Packet;
use crate::core::{Error, Result};

pub struct VideoEncoder {
    codec: VideoCodec,
    bits_per_second: u32,
    rule: KeyframeRule,
    current: Option<VpxEncoder>,
    description: CodecDescription,
    force_key: bool,
}

impl VideoEncoder {
    /// `width` and `height` are the track's declared size: what the container header says
    /// until the first picture shows otherwise.
    pub fn new(
        track: usize,
        codec: VideoCodec,
        width: u32,
        height: u32,
        bits_per_second: u32,
        rule: KeyframeRule,
    ) -> Self {
        let id = match codec {
            VideoCodec::Vp8 => CodecId::Vp8,
            VideoCodec::Vp9 => CodecId::Vp9,
        };
        VideoEncoder {
            codec,
            bits_per_second,
            rule,
            current: None,
            description: CodecDescription {
                track,
                codec: id,
                params: StreamParams::Video { width, height },
                private: Vec::new(),
                delay_ns: 0,
                seek_pre_roll_ns: 0,
                time_base: (1, 1_000_000),
            },
            force_key: false,
        }
    }
}

impl Encoder for VideoEncoder {
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
            }
        }
        let enc = match &mut self.current {
            Some(enc) => enc,
            None => self.current.insert(VpxEncoder::new(
                self.description.track,
                self.codec,
                frame.width,
                frame.height,
                self.bits_per_second,
                self.rule,
            )?),
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::media::VideoFrame;

    #[test]
    fn a_size_change_restarts_on_a_keyframe_and_forcing_works() {
        let mut enc = VideoEncoder::new(0, VideoCodec::Vp8, 64, 48, 500_000, KeyframeRule::Auto);
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
