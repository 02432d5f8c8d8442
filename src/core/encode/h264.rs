//! H.264 through Cisco's OpenH264 (the `openh264` crate), the encoder of Chrome's software
//! path, at its settings: constrained baseline, real-time camera mode, rate control by bitrate,
//! but without frame skipping: a recording keeps every picture and its quality drops instead
//! (a frame OpenH264 still skips writes no sample, lasts in the previous one, and is counted as
//! dropped). Packets are AVCC access units (4-byte NAL lengths); every keyframe carries its
//! parameter sets in band (what OpenH264 writes), so that each decodes on its own across size
//! changes (MP4 names this `avc3`); `avcC` holds the first size's too.
//!
//! What OpenH264 takes ([`check_size`], [`effective_bps`]): pictures from 16x16 up to 3840x2160
//! (or 2160x3840), odd sides padded to even by repeating the last column or row (4:2:0 H.264
//! cannot crop a single line), and bitrates its level 5.2 and its output buffer allow.
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
/// OpenH264's limits: one macroblock at least, level 5.2 at most (either orientation).
const MIN_SIDE: u32 = 16;
const MAX_SIDE: u32 = 3840;
const MAX_SHORT_SIDE: u32 = 2160;
/// Bitrates given to OpenH264: at least 10 kb/s (it needs a bit per frame), at most level
/// 5.2's MaxBR (240,000 kb/s, Table A-1; OpenH264 refuses a higher target).
pub const MIN_BPS: u32 = 10_000;
pub const MAX_BPS: u32 = 240_000_000;
/// At most a quarter of the raw rate (12 bits per pixel, 30 pictures a second). OpenH264's
/// output buffer holds one raw picture; a higher target lets rate control choose quantizers
/// whose pictures overflow it, and the encoder fails (noise at 320x240 from 20 Mb/s).
const MAX_BPS_PER_PIXEL: u64 = 12 * 30 / 4;

/// The bitrate OpenH264 is given for `bits_per_second` at `width` x `height`: clamped to
/// what it takes.
pub fn effective_bps(bits_per_second: u32, width: u32, height: u32) -> u32 {
    let per_size = (width as u64 * height as u64 * MAX_BPS_PER_PIXEL).min(MAX_BPS as u64) as u32;
    bits_per_second.clamp(MIN_BPS, per_size.max(MIN_BPS))
}

/// Whether OpenH264 encodes `width` x `height` pictures (odd sides are padded to even).
pub fn check_size(width: u32, height: u32) -> Result<()> {
    let (long, short) = (width.max(height), width.min(height));
    if short < MIN_SIDE || long > MAX_SIDE || short > MAX_SHORT_SIDE {
        return Err(Error::NotSupported(format!(
            "H.264 (OpenH264) cannot encode {width}x{height} pictures: it takes {MIN_SIDE}x\
             {MIN_SIDE} up to {MAX_SIDE}x{MAX_SHORT_SIDE} (or {MAX_SHORT_SIDE}x{MAX_SIDE})"
        )));
    }
    Ok(())
}

/// The size OpenH264 encodes for `width` x `height`: odd sides padded to even.
pub fn coded_size(width: u32, height: u32) -> (u32, u32) {
    (width.next_multiple_of(2), height.next_multiple_of(2))
}

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

fn config(bits_per_second: u32, width: u32, height: u32) -> EncoderConfig {
    EncoderConfig::new()
        .usage_type(UsageType::CameraVideoRealTime)
        .profile(Profile::Baseline)
        .rate_control_mode(RateControlMode::Bitrate)
        .bitrate(BitRate::from_bps(effective_bps(bits_per_second, width, height)))
        .max_frame_rate(FrameRate::from_hz(30.0))
        .skip_frames(false)
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
        let mut probe = H264Encoder::new(track, width, height, bits_per_second, rule)?;
        let mut out = Vec::new();
        probe.encode(&VideoFrame::black(width, height, 0), 0, 1, &mut out)?;
        probe.finish(&mut out)?;
        avcc(&probe.parameter_sets)?
    };
    let first = H264Encoder::new(track, width, height, bits_per_second, rule)?;
    let make = Box::new(move |w, h, _| H264Encoder::new(track, w, h, bits_per_second, rule));
    let (coded_w, coded_h) = coded_size(width, height);
    Ok(VideoEncoder::new(
        video::describe(track, CodecId::H264, coded_w, coded_h, avcc),
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
    parameter_sets: Vec<Vec<u8>>,
    /// The newest sample, held until the next picture shows how long it lasts.
    held: Option<Packet>,
    /// Pictures skipped by rate control, not yet reported.
    skipped: u64,
    /// The even-sized copy of an odd-sized picture (reused).
    padded: Option<VideoFrame>,
}

impl H264Encoder {
    fn new(
        track: usize,
        width: u32,
        height: u32,
        bits_per_second: u32,
        rule: KeyframeRule,
    ) -> Result<Self> {
        check_size(width, height)?;
        let (w, h) = coded_size(width, height);
        let mut inner = Oh264::with_api_config(api()?, config(bits_per_second, w, h))
            .map_err(|e| Error::Encoding(format!("OpenH264: {e}")))?;
        // Errors only while OpenH264 initializes at the first picture (the crate silences it
        // after that): without frame skipping it warns on stderr at every start that rate
        // control is looser, which is the point.
        let mut level = openh264_sys2::WELS_LOG_ERROR;
        // SAFETY: the trace level is an option OpenH264 takes before initialization; it reads
        // one int through the pointer during the call, and sets nothing the crate relies on.
        unsafe {
            inner
                .raw_api()
                .set_option(openh264_sys2::ENCODER_OPTION_TRACE_LEVEL, (&raw mut level).cast());
        }
        Ok(H264Encoder {
            track,
            inner,
            width,
            height,
            keys: KeyframeClock::new(rule),
            parameter_sets: Vec::new(),
            held: None,
            skipped: 0,
            padded: None,
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
        let frame = match (frame.width % 2, frame.height % 2) {
            (0, 0) => frame,
            _ => pad_to_even(frame, &mut self.padded),
        };
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
            self.skipped += 1;
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

    fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.skipped)
    }
}

/// `frame` with its odd width or height made even by repeating its last column or row, in
/// `store`. The chroma planes are ceil(w/2) x ceil(h/2) already, so they are the same.
fn pad_to_even<'a>(frame: &VideoFrame, store: &'a mut Option<VideoFrame>) -> &'a VideoFrame {
    let (w, h) = coded_size(frame.width, frame.height);
    if store.as_ref().is_some_and(|p| (p.width, p.height) != (w, h)) {
        *store = None;
    }
    let padded = store.get_or_insert_with(|| VideoFrame::black(w, h, 0));
    let (src_w, src_h) = (frame.width as usize, frame.height as usize);
    let (sy, su, sv) = frame.planes();
    let (dy, du, dv) = padded.planes_mut();
    for (row, out) in dy.chunks_exact_mut(w as usize).enumerate() {
        let line = &sy[row.min(src_h - 1) * src_w..][..src_w];
        out[..src_w].copy_from_slice(line);
        out[src_w..].fill(line[src_w - 1]);
    }
    du.copy_from_slice(su);
    dv.copy_from_slice(sv);
    padded
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
            // AVCC: the 4-byte lengths tile the packet exactly; SPS/PPS in every keyframe.
            let mut at = 0;
            let mut types = Vec::new();
            while at < p.data.len() {
                let n = u32::from_be_bytes(p.data[at..at + 4].try_into().unwrap()) as usize;
                types.push(p.data[at + 4] & 0x1F);
                at += 4 + n;
            }
            assert_eq!(at, p.data.len());
            assert_eq!(types.contains(&NAL_SPS), p.keyframe, "packet {i}: {types:?}");
            assert_eq!(types.contains(&NAL_PPS), p.keyframe, "packet {i}: {types:?}");
        }
    }

    #[test]
    fn limits_name_the_size_and_clamp_the_bitrate() {
        assert!(check_size(16, 16).is_ok() && check_size(2160, 3840).is_ok());
        let e = check_size(15, 240).unwrap_err();
        assert_eq!(
            e.to_string(),
            "H.264 (OpenH264) cannot encode 15x240 pictures: it takes 16x16 up to 3840x2160 \
             (or 2160x3840)"
        );
        assert!(check_size(2161, 2161).is_err() && check_size(4096, 2160).is_err());
        assert_eq!(coded_size(641, 479), (642, 480));
        assert_eq!(effective_bps(0, 640, 480), MIN_BPS);
        assert_eq!(effective_bps(u32::MAX, 320, 240), 320 * 240 * 90);
        assert_eq!(effective_bps(u32::MAX, 3840, 2160), MAX_BPS);
        assert_eq!(effective_bps(2_500_000, 640, 480), 2_500_000);
    }

    #[test]
    fn odd_sizes_are_padded_with_their_last_column_and_row() {
        let mut f = VideoFrame::black(3, 3, 0);
        f.planes_mut().0.copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let mut store = None;
        let p = pad_to_even(&f, &mut store);
        assert_eq!((p.width, p.height), (4, 4));
        assert_eq!(p.planes().0, [1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9, 9, 7, 8, 9, 9]);
        assert_eq!(p.planes().1, f.planes().1);
    }

    #[test]
    fn a_wrong_library_is_refused_by_name() {
        // The variable is read once per process; this test runs the check directly.
        let e = OpenH264API::from_blob_path("/nonexistent/libopenh264.so").err().unwrap();
        assert!(describe_load_error(&e).contains("cannot load"), "{e}");
    }
}
