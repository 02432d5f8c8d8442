//! H.264 through Cisco's OpenH264 (the `openh264` crate), the encoder of Chrome's software
//! path, at its settings: constrained baseline, real-time camera mode, rate control by bitrate
//! with frame skipping. Packets are AVCC access units (4-byte NAL lengths); the parameter sets
//! go into `avcC` and are repeated in band only by an encoder that replaced another (a size
//! change). A frame that rate control skips writes no sample: the previous one lasts longer.
//!
//! Which OpenH264: the one compiled in from Cisco's source, or Cisco's own binary loaded at run
//! time when `MEDIARECORDER_OPENH264` names it (only Cisco's released binaries are accepted,
//! by hash, since Cisco's patent licence covers exactly those; see the README).

use std::sync::OnceLock;

use openh264::encoder::{
    BitRate, Complexity, Encoder as Oh264, EncoderConfig, FrameRate, FrameType, Profile,
    RateControlMode, UsageType,
};
use openh264::formats::YUVSource;
use openh264::{OpenH264API, Timestamp};

use crate::core::codec::CodecId;
use crate::core::encode::keyframes::{KeyframeClock, KeyframeRule};
use crate::core::encode::video::{self, SizedEncoder, VideoEncoder};
use crate::core::media::VideoFrame;
use crate::core::packet::Packet;
use crate::core::{Error, Result};

/// The environment variable naming Cisco's OpenH264 binary to load instead of the built-in one.
pub const LIBRARY_ENV: &str = "MEDIARECORDER_OPENH264";

const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
/// OpenH264's own limit (level 5.2).
const MAX_SIDE: u32 = 3840;

/// Which OpenH264 this process uses: `Ok(None)` for the built-in one, `Ok(Some(path))` for a
/// binary named by [`LIBRARY_ENV`] that loads and is one of Cisco's, or why it is not.
pub fn library() -> std::result::Result<Option<String>, String> {
    static CHECKED: OnceLock<std::result::Result<Option<String>, String>> = OnceLock::new();
    CHECKED
        .get_or_init(|| match std::env::var_os(LIBRARY_ENV) {
            None => Ok(None),
            Some(path) => {
                let shown = path.to_string_lossy().into_owned();
                OpenH264API::from_blob_path(&path)
                    .map(|_| Some(shown.clone()))
                    .map_err(|e| format!("{LIBRARY_ENV}={shown:?}: {}", describe_load_error(&e)))
            }
        })
        .clone()
}

fn describe_load_error(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    if text.to_ascii_lowercase().contains("hash") {
        format!(
            "not one of Cisco's released OpenH264 binaries ({text}); download it from \
             Cisco (see the README), or unset the variable to use the built-in encoder"
        )
    } else {
        format!("cannot load it as OpenH264 ({text})")
    }
}

fn api() -> Result<OpenH264API> {
    match library().map_err(Error::NotSupported)? {
        None => Ok(OpenH264API::from_source()),
        Some(path) => OpenH264API::from_blob_path(&path)
            .map_err(|e| Error::NotSupported(format!("{LIBRARY_ENV}: {e}"))),
    }
}

fn config(bits_per_second: u32) -> EncoderConfig {
    EncoderConfig::new()
        .usage_type(UsageType::CameraVideoRealTime)
        .profile(Profile::Baseline)
        .rate_control_mode(RateControlMode::Bitrate)
        .bitrate(BitRate::from_bps(bits_per_second.max(10_000)))
        .max_frame_rate(FrameRate::from_hz(30.0))
        .skip_frames(true)
        .complexity(Complexity::Low)
        .num_threads(1)
}

/// The H.264 encoder of a track declared `width` x `height`. `avcC` is made by a throwaway
/// encoder of the same settings (OpenH264 is deterministic), since OpenH264 writes its
/// parameter sets only with its first picture and the container header comes before it.
pub fn encoder(
    track: usize,
    width: u32,
    height: u32,
    bits_per_second: u32,
    rule: KeyframeRule,
) -> Result<VideoEncoder<H264Encoder>> {
    let avcc = {
        let mut probe = H264Encoder::new(track, width, height, bits_per_second, rule, true)?;
        let mut out = Vec::new();
        probe.encode(&VideoFrame::black(width, height, 0), 0, 1, &mut out)?;
        probe.finish(&mut out)?;
        avcc(&probe.parameter_sets)?
    };
    let first = H264Encoder::new(track, width, height, bits_per_second, rule, false)?;
    let make = Box::new(move |w, h, restart| {
        H264Encoder::new(track, w, h, bits_per_second, rule, restart)
    });
    Ok(VideoEncoder::new(
        video::describe(track, CodecId::H264, width, height, avcc),
        Some(first),
        make,
    ))
}

pub struct H264Encoder {
    track: usize,
    inner: Oh264,
    width: u32,
    height: u32,
    keys: KeyframeClock,
    /// Repeat SPS/PPS in band (this encoder's are not those of `avcC`).
    in_band: bool,
    parameter_sets: Vec<Vec<u8>>,
    /// The newest sample, held until the next picture shows how long it lasts.
    held: Option<Packet>,
}

impl H264Encoder {
    fn new(
        track: usize,
        width: u32,
        height: u32,
        bits_per_second: u32,
        rule: KeyframeRule,
        in_band: bool,
    ) -> Result<Self> {
        if width.max(height) > MAX_SIDE || width.min(height) > 2160 || width < 2 || height < 2 {
            return Err(Error::NotSupported(format!(
                "H.264 (OpenH264) encodes 2x2 up to 3840x2160 pictures, not {width}x{height}"
            )));
        }
        let inner = Oh264::with_api_config(api()?, config(bits_per_second))
            .map_err(|e| Error::Encoding(format!("OpenH264: {e}")))?;
        Ok(H264Encoder {
            track,
            inner,
            width,
            height,
            keys: KeyframeClock::new(rule),
            in_band,
            parameter_sets: Vec::new(),
            held: None,
        })
    }
}

/// A `VideoFrame`'s planes as OpenH264 reads them.
struct Planes<'a>(&'a VideoFrame);

impl YUVSource for Planes<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.0.width as usize, self.0.height as usize)
    }
    fn strides(&self) -> (usize, usize, usize) {
        let (cw, _) = VideoFrame::chroma_size(self.0.width, self.0.height);
        (self.0.width as usize, cw, cw)
    }
    fn y(&self) -> &[u8] {
        self.0.planes().0
    }
    fn u(&self) -> &[u8] {
        self.0.planes().1
    }
    fn v(&self) -> &[u8] {
        self.0.planes().2
    }
}

impl SizedEncoder for H264Encoder {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn encode(
        &mut self,
        frame: &VideoFrame,
        pts: i64,
        duration: i64,
        out: &mut Vec<Packet>,
    ) -> Result<()> {
        if self.keys.due(pts) {
            self.inner.force_intra_frame();
        }
        let stream = self
            .inner
            .encode_at(&Planes(frame), Timestamp::from_millis((pts.max(0) / 1_000_000) as u64))
            .map_err(|e| Error::Encoding(format!("OpenH264: {e}")))?;
        let kind = stream.frame_type();
        let mut data = Vec::new();
        let mut sets = Vec::new();
        for layer in (0..stream.num_layers()).filter_map(|i| stream.layer(i)) {
            for nal in (0..layer.nal_count()).filter_map(|i| layer.nal_unit(i)) {
                let nal = strip_start_code(nal);
                let Some(&header) = nal.first() else { continue };
                if matches!(header & 0x1F, NAL_SPS | NAL_PPS) {
                    sets.push(nal.to_vec());
                    if !self.in_band {
                        continue;
                    }
                }
                data.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                data.extend_from_slice(nal);
            }
        }
        if !sets.is_empty() {
            self.parameter_sets = sets;
        }
        if kind == FrameType::Skip || data.is_empty() {
            if let Some(held) = &mut self.held {
                held.duration = pts + duration - held.pts;
            }
            self.keys.made(false, pts);
            return Ok(());
        }
        let keyframe = kind == FrameType::IDR;
        self.keys.made(keyframe, pts);
        let packet =
            Packet { track: self.track, pts, duration, keyframe, discard_padding: 0, data };
        out.extend(self.held.replace(packet));
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Packet>) -> Result<()> {
        out.extend(self.held.take());
        Ok(())
    }

    fn force_keyframe(&mut self) {
        self.keys.force();
    }
}

fn strip_start_code(nal: &[u8]) -> &[u8] {
    if let Some(rest) = nal.strip_prefix(&[0, 0, 0, 1]) {
        rest
    } else {
        nal.strip_prefix(&[0, 0, 1]).unwrap_or(nal)
    }
}

/// The `AVCDecoderConfigurationRecord` (ISO 14496-15 §5.3.3.1) of baseline-profile SPS/PPS.
fn avcc(parameter_sets: &[Vec<u8>]) -> Result<Vec<u8>> {
    let sps: Vec<&Vec<u8>> = parameter_sets.iter().filter(|n| n[0] & 0x1F == NAL_SPS).collect();
    let pps: Vec<&Vec<u8>> = parameter_sets.iter().filter(|n| n[0] & 0x1F == NAL_PPS).collect();
    let Some(first) = sps.first().filter(|s| s.len() >= 4) else {
        return Err(Error::Encoding("OpenH264 wrote no sequence parameter set".into()));
    };
    let mut out = vec![1, first[1], first[2], first[3], 0xFC | 3, 0xE0 | sps.len() as u8];
    for s in &sps {
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s);
    }
    out.push(pps.len() as u8);
    for p in &pps {
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p);
    }
    Ok(out)
}

/// The `avc1.PPCCLL` codec string of an `avcC` (RFC 6381 §3.3).
pub fn codec_string(avcc: &[u8]) -> String {
    format!("avc1.{:02X}{:02X}{:02X}", avcc[1], avcc[2], avcc[3])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::codec::{Encoder, Input};

    fn frame(w: u32, h: u32, i: u32) -> VideoFrame {
        let mut f = VideoFrame::black(w, h, 0);
        let (y, _, _) = f.planes_mut();
        for (k, b) in y.iter_mut().enumerate() {
            *b = ((k as u32 % w + i * 4) % 200 + 16) as u8;
        }
        f
    }

    #[test]
    fn avcc_packets_keyframes_and_restart() {
        let mut enc = encoder(0, 64, 48, 500_000, KeyframeRule::EveryFrames(5)).unwrap();
        let avcc = enc.describe().private.clone();
        assert_eq!((avcc[0], avcc[1], avcc[4], avcc[5]), (1, 0x42, 0xFF, 0xE1));
        assert!(codec_string(&avcc).starts_with("avc1.42"), "{}", codec_string(&avcc));
        let mut out = Vec::new();
        for i in 0..12u32 {
            let (w, h) = if i < 8 { (64, 48) } else { (32, 32) };
            let pts = i as i64 * 33_333_333;
            enc.encode(
                Input::Video { frame: &frame(w, h, i), pts, duration: 33_333_333 },
                &mut out,
            )
            .unwrap();
        }
        enc.finish(&mut out).unwrap();
        assert_eq!(out.len(), 12);
        let keys: Vec<usize> =
            out.iter().enumerate().filter(|(_, p)| p.keyframe).map(|(i, _)| i).collect();
        assert_eq!(keys, [0, 5, 8]);
        for (i, p) in out.iter().enumerate() {
            // AVCC: the 4-byte lengths tile the packet exactly; SPS/PPS only after the restart.
            let mut at = 0;
            let mut types = Vec::new();
            while at < p.data.len() {
                let n = u32::from_be_bytes(p.data[at..at + 4].try_into().unwrap()) as usize;
                types.push(p.data[at + 4] & 0x1F);
                at += 4 + n;
            }
            assert_eq!(at, p.data.len());
            assert_eq!(types.contains(&NAL_SPS), i == 8, "packet {i}: {types:?}");
        }
    }

    #[test]
    fn a_wrong_library_is_refused_by_name() {
        // The variable is read once per process; this test runs the check directly.
        let e = OpenH264API::from_blob_path("/nonexistent/libopenh264.so").err().unwrap();
        assert!(describe_load_error(&e).contains("cannot load"), "{e}");
    }
}
