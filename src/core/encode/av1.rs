//! AV1 through libaom (Debian's libaom-dev, via `aom-sys`, the rust-av project's bindgen
//! bindings linked by pkg-config), behind a small safe wrapper like the libvpx one: real-time
//! usage at cpu-used 10 (what Chrome's libaom encoder uses for camera video), one pass, no lag.
//! Packets are temporal units without their temporal delimiter OBU; `av1C` carries the
//! sequence header that libaom gives before any picture (its global headers).

use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::os::raw::{c_int, c_uint};
use std::ptr;

use aom_sys as aom;

use crate::core::codec::CodecId;
use crate::core::encode::keyframes::{strictly_after, KeyframeClock, KeyframeRule};
use crate::core::encode::video::{self, SizedEncoder, VideoEncoder};
use crate::core::encode::vpx_like::{i420_layout, to_ns, to_ticks, Pending, TIMEBASE_DEN};
use crate::core::media::VideoFrame;
use crate::core::packet::Packet;
use crate::core::{Error, Result};

/// libaom's fastest real-time speed, Chrome's choice for camera video.
pub const CPU_USED: c_int = 10;
const OBU_SEQUENCE_HEADER: u8 = 1;
const OBU_TEMPORAL_DELIMITER: u8 = 2;

/// The AV1 encoder of a track declared `width` x `height`.
pub fn encoder(
    track: usize,
    width: u32,
    height: u32,
    bits_per_second: u32,
    rule: KeyframeRule,
) -> Result<VideoEncoder<AomEncoder>> {
    let mut first = AomEncoder::new(track, width, height, bits_per_second, rule)?;
    let private = av1c(&first.sequence_header()?)?;
    let make = Box::new(move |w, h, _| AomEncoder::new(track, w, h, bits_per_second, rule));
    Ok(VideoEncoder::new(
        video::describe(track, CodecId::Av1, width, height, private),
        Some(first),
        make,
    ))
}

pub struct AomEncoder {
    track: usize,
    ctx: Box<aom::aom_codec_ctx_t>,
    width: u32,
    height: u32,
    keys: KeyframeClock,
    last_pts: Option<i64>,
    pending: Pending,
}

// SAFETY: the codec context is owned by this value and only used through `&mut self`; libaom
// keeps no thread-affine state.
unsafe impl Send for AomEncoder {}

impl AomEncoder {
    pub fn new(
        track: usize,
        width: u32,
        height: u32,
        bits_per_second: u32,
        rule: KeyframeRule,
    ) -> Result<Self> {
        // SAFETY: returns a pointer to a static interface description.
        let iface = unsafe { aom::aom_codec_av1_cx() };
        let mut cfg = MaybeUninit::<aom::aom_codec_enc_cfg_t>::uninit();
        // SAFETY: fills `cfg` with the real-time usage's defaults.
        let r = unsafe {
            aom::aom_codec_enc_config_default(iface, cfg.as_mut_ptr(), aom::AOM_USAGE_REALTIME)
        };
        check(r, "aom_codec_enc_config_default")?;
        // SAFETY: initialised by the call above.
        let mut cfg = unsafe { cfg.assume_init() };
        let threads =
            std::thread::available_parallelism().map(std::num::NonZero::get).unwrap_or(1).min(8);
        cfg.g_w = width;
        cfg.g_h = height;
        cfg.g_timebase.num = 1;
        cfg.g_timebase.den = TIMEBASE_DEN as c_int;
        cfg.g_threads = threads as c_uint;
        cfg.g_lag_in_frames = 0;
        cfg.g_pass = aom::aom_enc_pass::AOM_RC_ONE_PASS;
        cfg.rc_end_usage = aom::aom_rc_mode::AOM_VBR;
        cfg.rc_target_bitrate = (bits_per_second / 1000).max(1);
        cfg.rc_dropframe_thresh = 0;
        // Keyframes are forced by the rule; libaom's own placement is left off.
        cfg.kf_mode = aom::aom_kf_mode::AOM_KF_DISABLED;
        let mut ctx: Box<aom::aom_codec_ctx_t> = Box::new(unsafe {
            // SAFETY: a plain C struct; zeroed is its documented initial state.
            std::mem::zeroed()
        });
        // SAFETY: ctx and cfg are valid; the ABI version matches the bindings.
        let r = unsafe {
            aom::aom_codec_enc_init_ver(
                ctx.as_mut(),
                iface,
                &cfg,
                0,
                aom::AOM_ENCODER_ABI_VERSION as c_int,
            )
        };
        check(r, "aom_codec_enc_init")?;
        let mut enc = AomEncoder {
            track,
            ctx,
            width,
            height,
            keys: KeyframeClock::new(rule),
            last_pts: None,
            pending: Pending::default(),
        };
        enc.control(aom::aome_enc_control_id::AOME_SET_CPUUSED as c_int, CPU_USED)?;
        enc.control(aom::aome_enc_control_id::AV1E_SET_ROW_MT as c_int, (threads > 1) as c_int)?;
        let tiles = (threads as f64).log2().floor() as c_int;
        enc.control(aom::aome_enc_control_id::AV1E_SET_TILE_COLUMNS as c_int, tiles)?;
        Ok(enc)
    }

    fn control(&mut self, id: c_int, value: c_int) -> Result<()> {
        // SAFETY: the controls used here take one int by value.
        let r = unsafe { aom::aom_codec_control(self.ctx.as_mut(), id, value) };
        check(r, "aom_codec_control")
    }

    /// The sequence header OBU this encoder writes.
    fn sequence_header(&mut self) -> Result<Vec<u8>> {
        // SAFETY: the context is initialised; the result is null or a malloc'd buffer we own.
        let headers = unsafe { aom::aom_codec_get_global_headers(self.ctx.as_mut()) };
        if headers.is_null() {
            return Err(Error::Encoding("libaom gave no sequence header".into()));
        }
        // SAFETY: non-null: buf/sz describe the header bytes; both allocations are freed once.
        let bytes = unsafe {
            let h = &*headers;
            let bytes = std::slice::from_raw_parts(h.buf as *const u8, h.sz).to_vec();
            libc_free(h.buf);
            libc_free(headers.cast());
            bytes
        };
        Ok(bytes)
    }

    fn drain(&mut self, out: &mut Vec<Packet>) {
        let mut iter: aom::aom_codec_iter_t = ptr::null();
        loop {
            // SAFETY: iterates packets owned by the context until it returns null.
            let pkt = unsafe { aom::aom_codec_get_cx_data(self.ctx.as_mut(), &mut iter) };
            if pkt.is_null() {
                break;
            }
            // SAFETY: non-null packets are valid until the next encode call.
            let pkt = unsafe { &*pkt };
            if pkt.kind != aom::aom_codec_cx_pkt_kind::AOM_CODEC_CX_FRAME_PKT {
                continue;
            }
            // SAFETY: `frame` is the active union member for frame packets.
            let f = unsafe { pkt.data.frame };
            // SAFETY: buf/sz describe the compressed temporal unit.
            let tu = unsafe { std::slice::from_raw_parts(f.buf as *const u8, f.sz) };
            let keyframe = f.flags & aom::AOM_FRAME_IS_KEY != 0;
            let fallback = (to_ns(f.pts), to_ns(f.duration as i64));
            let (pts_ns, duration) = self.pending.take(f.pts, fallback);
            self.keys.made(keyframe, pts_ns);
            out.push(Packet {
                track: self.track,
                pts: pts_ns,
                duration,
                keyframe,
                discard_padding: 0,
                data: without_temporal_delimiters(tu),
            });
        }
    }
}

impl SizedEncoder for AomEncoder {
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
        let pts = strictly_after(&mut self.last_pts, pts);
        let force = self.keys.due(pts);
        let mut img = MaybeUninit::<aom::aom_image_t>::uninit();
        // SAFETY: wraps our buffer (I420, tightly packed, alignment 1) without copying; the
        // image is only used during the encode call below, while `frame` is borrowed.
        let wrapped = unsafe {
            aom::aom_img_wrap(
                img.as_mut_ptr(),
                aom::aom_img_fmt::AOM_IMG_FMT_I420,
                self.width,
                self.height,
                1,
                frame.data.as_ptr() as *mut u8,
            )
        };
        if wrapped.is_null() {
            return Err(Error::Encoding("aom_img_wrap failed".into()));
        }
        // SAFETY: initialised by aom_img_wrap.
        let mut img = unsafe { img.assume_init() };
        let (strides, offsets) = i420_layout(self.width, self.height);
        for (stride, s) in img.stride.iter_mut().zip(strides) {
            *stride = s;
        }
        for (plane, offset) in img.planes.iter_mut().zip(offsets) {
            // SAFETY: the offsets stay inside `frame.data`, whose length is byte_len(w, h).
            *plane = unsafe { (frame.data.as_ptr() as *mut u8).add(offset) };
        }
        let flags = if force { aom::AOM_EFLAG_FORCE_KF as aom::aom_enc_frame_flags_t } else { 0 };
        self.pending.push(pts, duration);
        // SAFETY: ctx initialised; img describes a valid buffer for the call's duration.
        let r = unsafe {
            aom::aom_codec_encode(
                self.ctx.as_mut(),
                &img,
                to_ticks(pts),
                (duration / 1_000).max(1) as _,
                flags,
            )
        };
        check(r, "aom_codec_encode").map_err(|e| self.detail(e))?;
        self.drain(out);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Packet>) -> Result<()> {
        // SAFETY: a null image flushes.
        let r = unsafe { aom::aom_codec_encode(self.ctx.as_mut(), ptr::null(), 0, 1, 0) };
        check(r, "aom_codec_encode(flush)")?;
        self.drain(out);
        self.pending.flushed();
        Ok(())
    }

    fn take_dropped(&mut self) -> u64 {
        self.pending.take_dropped()
    }

    fn force_keyframe(&mut self) {
        self.keys.force();
    }
}

impl AomEncoder {
    fn detail(&mut self, e: Error) -> Error {
        // SAFETY: returns a context-owned C string, or null.
        let detail = unsafe { aom::aom_codec_error_detail(self.ctx.as_mut()) };
        if detail.is_null() {
            return e;
        }
        // SAFETY: non-null, NUL-terminated.
        let detail = unsafe { CStr::from_ptr(detail) }.to_string_lossy();
        Error::Encoding(format!("{e}: {detail}"))
    }
}

impl Drop for AomEncoder {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`, destroyed once.
        unsafe {
            aom::aom_codec_destroy(self.ctx.as_mut());
        }
    }
}

extern "C" {
    #[link_name = "free"]
    fn c_free(p: *mut std::os::raw::c_void);
}

/// Frees what libaom allocated with malloc.
///
/// # Safety
/// `p` is null or a live malloc'd pointer, freed once.
unsafe fn libc_free(p: *mut std::os::raw::c_void) {
    // SAFETY: the caller's contract.
    unsafe { c_free(p) }
}

fn check(r: aom::aom_codec_err_t::Type, what: &str) -> Result<()> {
    if r == aom::aom_codec_err_t::AOM_CODEC_OK {
        Ok(())
    } else {
        // SAFETY: returns a static string.
        let msg = unsafe { CStr::from_ptr(aom::aom_codec_err_to_string(r)) }.to_string_lossy();
        Err(Error::Encoding(format!("{what}: {msg}")))
    }
}

/// One OBU of a low-overhead bitstream: `(type, whole OBU, header+size length)`.
fn obus(mut data: &[u8]) -> impl Iterator<Item = (u8, &[u8], usize)> {
    std::iter::from_fn(move || {
        let header = *data.first()?;
        let kind = (header >> 3) & 0xF;
        let mut at = 1 + ((header >> 2) & 1) as usize;
        let size = if header & 0b10 != 0 {
            let mut v = 0usize;
            for i in 0..8 {
                let b = *data.get(at)?;
                at += 1;
                v |= ((b & 0x7F) as usize) << (7 * i);
                if b & 0x80 == 0 {
                    break;
                }
            }
            v
        } else {
            data.len() - at
        };
        let end = (at + size).min(data.len());
        let (obu, rest) = data.split_at(end);
        data = rest;
        Some((kind, obu, at))
    })
}

fn without_temporal_delimiters(tu: &[u8]) -> Vec<u8> {
    obus(tu)
        .filter(|(k, ..)| *k != OBU_TEMPORAL_DELIMITER)
        .flat_map(|(_, o, _)| o)
        .copied()
        .collect()
}

/// `AV1CodecConfigurationRecord` (AV1-ISOBMFF §2.3) for 8-bit 4:2:0 (what we feed libaom),
/// with profile, level and tier read from the sequence header.
fn av1c(headers: &[u8]) -> Result<Vec<u8>> {
    let bad = || Error::Encoding("libaom's sequence header could not be read".into());
    let (_, obu, at) = obus(headers).find(|(k, ..)| *k == OBU_SEQUENCE_HEADER).ok_or_else(bad)?;
    let mut bits = Bits { data: &obu[at..], pos: 0 };
    let profile = bits.read(3).ok_or_else(bad)?;
    let _still = bits.read(1).ok_or_else(bad)?;
    let reduced = bits.read(1).ok_or_else(bad)?;
    let (level, tier) = if reduced == 1 {
        (bits.read(5).ok_or_else(bad)?, 0)
    } else {
        if bits.read(1).ok_or_else(bad)? == 1 {
            // timing_info_present: libaom writes it only when asked to.
            return Err(bad());
        }
        let _initial_display_delay = bits.read(1).ok_or_else(bad)?;
        let _operating_points = bits.read(5).ok_or_else(bad)?;
        let _idc = bits.read(12).ok_or_else(bad)?;
        let level = bits.read(5).ok_or_else(bad)?;
        let tier = if level > 7 { bits.read(1).ok_or_else(bad)? } else { 0 };
        (level, tier)
    };
    // tier, high_bitdepth 0, twelve_bit 0, monochrome 0, subsampling x 1 and y 1, position 0.
    let color = (tier << 7) as u8 | 0b0000_1100;
    let mut out = vec![0x81, ((profile << 5) | level) as u8, color, 0];
    out.extend_from_slice(obu);
    Ok(out)
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn read(&mut self, n: usize) -> Option<u32> {
        let mut v = 0;
        for _ in 0..n {
            let byte = *self.data.get(self.pos / 8)?;
            v = (v << 1) | ((byte >> (7 - self.pos % 8)) & 1) as u32;
            self.pos += 1;
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::codec::{Encoder, Input};

    #[test]
    fn av1c_packets_without_delimiters_and_keyframes() {
        let mut enc = encoder(0, 64, 48, 500_000, KeyframeRule::EveryFrames(4)).unwrap();
        let c = enc.describe().private.clone();
        assert_eq!((c[0], c[1] >> 5, c[2] & 0x7F), (0x81, 0, 0b0000_1100));
        assert_eq!((c[4] >> 3) & 0xF, OBU_SEQUENCE_HEADER);
        let mut out = Vec::new();
        for i in 0..10i64 {
            let mut f = VideoFrame::black(if i < 6 { 64 } else { 33 }, 48, 0);
            f.data[(i as usize * 13) % 1000] = 200;
            let pts = i * 33_333_333;
            enc.encode(Input::Video { frame: &f, pts, duration: 33_333_333 }, &mut out).unwrap();
        }
        enc.finish(&mut out).unwrap();
        assert_eq!(out.len(), 10);
        let keys: Vec<usize> =
            out.iter().enumerate().filter(|(_, p)| p.keyframe).map(|(i, _)| i).collect();
        assert_eq!(keys, [0, 4, 6]);
        for p in &out {
            let kinds: Vec<u8> = obus(&p.data).map(|(k, ..)| k).collect();
            assert!(!kinds.is_empty() && !kinds.contains(&OBU_TEMPORAL_DELIMITER), "{kinds:?}");
            assert_eq!(obus(&p.data).map(|(_, o, _)| o.len()).sum::<usize>(), p.data.len());
        }
    }
}
