//! VP8 and VP9 through libvpx (Debian's libvpx-dev, via `env-libvpx-sys`), behind a small safe
//! wrapper: one-pass real-time encoding, no lag, keyframes on the first frame and on the
//! spec's keyframe options.

use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::os::raw::c_int;
use std::ptr;

use vpx_sys as vpx;

use crate::core::encode::keyframes::{strictly_after, KeyframeClock, KeyframeRule};
use crate::core::encode::vpx_like::{i420_layout, to_ns, to_ticks, Pending, TIMEBASE_DEN};
use crate::core::media::VideoFrame;
use crate::core::packet::Packet;
use crate::core::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    Vp8,
    Vp9,
}

impl VideoCodec {
    pub fn name(self) -> &'static str {
        match self {
            VideoCodec::Vp8 => "vp8",
            VideoCodec::Vp9 => "vp9",
        }
    }
}

/// Settings chosen by measurement on 2 cores (see benchmarks/bench_video.py): the speed step
/// beyond which quality falls off faster than time is saved, and one thread per core.
const VP8_CPU_USED: c_int = 8;
const VP9_CPU_USED: c_int = 8;
const AUTO_KF_MAX_DIST: u32 = 300;
const VP9_SUPERBLOCK: u32 = 64;
pub struct VpxEncoder {
    track: usize,
    codec: VideoCodec,
    ctx: Box<vpx::vpx_codec_ctx_t>,
    width: u32,
    height: u32,
    keys: KeyframeClock,
    last_pts: Option<i64>,
    pending: Pending,
}

// SAFETY: the codec context is owned by this value and only used through `&mut self`;
// libvpx keeps no thread-affine state.
unsafe impl Send for VpxEncoder {}

impl VpxEncoder {
    pub fn new(
        track: usize,
        codec: VideoCodec,
        width: u32,
        height: u32,
        bits_per_second: u32,
        rule: KeyframeRule,
    ) -> Result<Self> {
        let iface = unsafe {
            // SAFETY: returns a pointer to a static interface description.
            match codec {
                VideoCodec::Vp8 => vpx::vpx_codec_vp8_cx(),
                VideoCodec::Vp9 => vpx::vpx_codec_vp9_cx(),
            }
        };
        let mut cfg = MaybeUninit::<vpx::vpx_codec_enc_cfg_t>::uninit();
        // SAFETY: fills `cfg` with the codec's defaults.
        let r = unsafe { vpx::vpx_codec_enc_config_default(iface, cfg.as_mut_ptr(), 0) };
        check(r, "vpx_codec_enc_config_default")?;
        // SAFETY: initialised by the call above.
        let mut cfg = unsafe { cfg.assume_init() };
        // VP8's worker threads busy-wait for each other: on a machine that also runs Python
        // they cost more than they give (720p, one competing process: 98 fps with 2 threads,
        // 173 fps with 1), so VP8 gets one thread. VP9's row-mt does not spin.
        let cores =
            std::thread::available_parallelism().map(std::num::NonZero::get).unwrap_or(1).min(8);
        // libvpx 1.12's VP9 multi-threading (row-mt, tile columns) writes out of bounds on
        // pictures shorter than one 64-pixel superblock row (heap corruption at 1024x2), so
        // such pictures are encoded on one thread; they are cheap anyway.
        let threads = if codec == VideoCodec::Vp8 || height < VP9_SUPERBLOCK { 1 } else { cores };
        cfg.g_w = width;
        cfg.g_h = height;
        cfg.g_timebase.num = 1;
        cfg.g_timebase.den = TIMEBASE_DEN as c_int;
        cfg.g_threads = threads as u32;
        cfg.g_lag_in_frames = 0;
        cfg.g_pass = vpx::vpx_enc_pass::VPX_RC_ONE_PASS;
        cfg.rc_end_usage = vpx::vpx_rc_mode::VPX_VBR;
        cfg.rc_target_bitrate = (bits_per_second / 1000).max(1);
        cfg.rc_dropframe_thresh = 0;
        cfg.kf_mode = vpx::vpx_kf_mode::VPX_KF_AUTO;
        cfg.kf_max_dist = AUTO_KF_MAX_DIST;
        if codec == VideoCodec::Vp9 {
            cfg.g_error_resilient = 0;
        }
        let mut ctx: Box<vpx::vpx_codec_ctx_t> = Box::new(unsafe {
            // SAFETY: a plain C struct; zeroed is its documented initial state.
            std::mem::zeroed()
        });
        // SAFETY: ctx and cfg are valid; the ABI version matches the bindings.
        let r = unsafe {
            vpx::vpx_codec_enc_init_ver(
                ctx.as_mut(),
                iface,
                &cfg,
                0,
                vpx::VPX_ENCODER_ABI_VERSION as c_int,
            )
        };
        check(r, "vpx_codec_enc_init")?;
        let mut enc = VpxEncoder {
            track,
            codec,
            ctx,
            width,
            height,
            keys: KeyframeClock::new(rule),
            last_pts: None,
            pending: Pending::default(),
        };
        match codec {
            VideoCodec::Vp8 => {
                enc.control(vpx::vp8e_enc_control_id::VP8E_SET_CPUUSED as c_int, VP8_CPU_USED)?;
            }
            VideoCodec::Vp9 => {
                enc.control(vpx::vp8e_enc_control_id::VP8E_SET_CPUUSED as c_int, VP9_CPU_USED)?;
                enc.control(
                    vpx::vp8e_enc_control_id::VP9E_SET_ROW_MT as c_int,
                    (threads > 1) as c_int,
                )?;
                let tiles = (threads as f64).log2().floor() as c_int;
                enc.control(vpx::vp8e_enc_control_id::VP9E_SET_TILE_COLUMNS as c_int, tiles)?;
            }
        }
        Ok(enc)
    }

    /// Makes the next picture a keyframe.
    pub fn force_keyframe(&mut self) {
        self.keys.force();
    }

    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    pub fn codec(&self) -> VideoCodec {
        self.codec
    }

    fn control(&mut self, id: c_int, value: c_int) -> Result<()> {
        // SAFETY: the controls used here take one int by value.
        let r = unsafe { vpx::vpx_codec_control_(self.ctx.as_mut(), id, value) };
        check(r, "vpx_codec_control")
    }

    /// Encodes one picture shown at `pts` (ns) for `duration` (ns).
    pub fn encode(
        &mut self,
        frame: &VideoFrame,
        pts: i64,
        duration: i64,
        out: &mut Vec<Packet>,
    ) -> Result<()> {
        if (frame.width, frame.height) != (self.width, self.height) {
            return Err(Error::Encoding(format!(
                "frame is {}x{}, the encoder {}x{}",
                frame.width, frame.height, self.width, self.height
            )));
        }
        let pts = strictly_after(&mut self.last_pts, pts);
        let force = self.keys.due(pts);
        let mut img = MaybeUninit::<vpx::vpx_image_t>::uninit();
        // SAFETY: wraps our buffer (I420, tightly packed, alignment 1) without copying; the
        // image is only used during the encode call below, while `frame` is borrowed.
        let wrapped = unsafe {
            vpx::vpx_img_wrap(
                img.as_mut_ptr(),
                vpx::vpx_img_fmt::VPX_IMG_FMT_I420,
                self.width,
                self.height,
                1,
                frame.data.as_ptr() as *mut u8,
            )
        };
        if wrapped.is_null() {
            return Err(Error::Encoding("vpx_img_wrap failed".into()));
        }
        // SAFETY: initialised by vpx_img_wrap.
        let mut img = unsafe { img.assume_init() };
        let (strides, offsets) = i420_layout(self.width, self.height);
        for (stride, s) in img.stride.iter_mut().zip(strides) {
            *stride = s;
        }
        for (plane, offset) in img.planes.iter_mut().zip(offsets) {
            // SAFETY: the offsets stay inside `frame.data`, whose length is byte_len(w, h).
            *plane = unsafe { (frame.data.as_ptr() as *mut u8).add(offset) };
        }
        let flags = if force { vpx::VPX_EFLAG_FORCE_KF as vpx::vpx_enc_frame_flags_t } else { 0 };
        self.pending.push(pts, duration);
        // SAFETY: ctx initialised; img describes a valid buffer for the call's duration.
        let r = unsafe {
            vpx::vpx_codec_encode(
                self.ctx.as_mut(),
                &img,
                to_ticks(pts),
                (duration / 1_000).max(1) as _,
                flags,
                vpx::VPX_DL_REALTIME as _,
            )
        };
        check(r, "vpx_codec_encode").map_err(|e| self.detail(e))?;
        self.drain(out);
        Ok(())
    }

    /// Flushes the encoder (no lag is configured, so this normally yields nothing).
    pub fn finish(&mut self, out: &mut Vec<Packet>) -> Result<()> {
        // SAFETY: a null image flushes.
        let r = unsafe {
            vpx::vpx_codec_encode(
                self.ctx.as_mut(),
                ptr::null(),
                0,
                1,
                0,
                vpx::VPX_DL_REALTIME as _,
            )
        };
        check(r, "vpx_codec_encode(flush)")?;
        self.drain(out);
        self.pending.flushed();
        Ok(())
    }

    /// Pictures the encoder dropped (no packet came out for them) since the last call.
    pub fn take_dropped(&mut self) -> u64 {
        self.pending.take_dropped()
    }

    fn drain(&mut self, out: &mut Vec<Packet>) {
        let mut iter: vpx::vpx_codec_iter_t = ptr::null();
        loop {
            // SAFETY: iterates packets owned by the context until it returns null.
            let pkt = unsafe { vpx::vpx_codec_get_cx_data(self.ctx.as_mut(), &mut iter) };
            if pkt.is_null() {
                break;
            }
            // SAFETY: non-null packets are valid until the next encode call.
            let pkt = unsafe { &*pkt };
            if pkt.kind != vpx::vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT {
                continue;
            }
            // SAFETY: `frame` is the active union member for frame packets.
            let f = unsafe { pkt.data.frame };
            // SAFETY: buf/sz describe the compressed frame.
            let data =
                unsafe { std::slice::from_raw_parts(f.buf as *const u8, f.sz as usize) }.to_vec();
            let keyframe = f.flags & vpx::VPX_FRAME_IS_KEY != 0;
            let fallback = (to_ns(f.pts), to_ns(f.duration as i64));
            let (pts_ns, duration) = self.pending.take(f.pts, fallback);
            self.keys.made(keyframe, pts_ns);
            out.push(Packet {
                track: self.track,
                pts: pts_ns,
                duration,
                keyframe,
                discard_padding: 0,
                data,
            });
        }
    }

    fn detail(&mut self, e: Error) -> Error {
        // SAFETY: returns a static or context-owned C string, or null.
        let detail = unsafe { vpx::vpx_codec_error_detail(self.ctx.as_mut()) };
        if detail.is_null() {
            return e;
        }
        // SAFETY: non-null, NUL-terminated.
        let detail = unsafe { CStr::from_ptr(detail) }.to_string_lossy();
        Error::Encoding(format!("{e}: {detail}"))
    }
}

impl Drop for VpxEncoder {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`, destroyed once.
        unsafe {
            vpx::vpx_codec_destroy(self.ctx.as_mut());
        }
    }
}

fn check(r: vpx::vpx_codec_err_t, what: &str) -> Result<()> {
    if r == vpx::vpx_codec_err_t::VPX_CODEC_OK {
        Ok(())
    } else {
        // SAFETY: returns a static string.
        let msg = unsafe { CStr::from_ptr(vpx::vpx_codec_err_to_string(r)) }.to_string_lossy();
        Err(Error::Encoding(format!("{what}: {msg}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_frame_is_a_key_and_count_rule_forces_more() {
        for codec in [VideoCodec::Vp8, VideoCodec::Vp9] {
            let mut enc =
                VpxEncoder::new(0, codec, 65, 33, 500_000, KeyframeRule::EveryFrames(10)).unwrap();
            let mut out = Vec::new();
            for i in 0..25i64 {
                let mut f = VideoFrame::black(65, 33, 0);
                f.data[(i as usize * 7) % 2000] = 235;
                enc.encode(&f, i * 33_333_333, 33_333_333, &mut out).unwrap();
            }
            enc.finish(&mut out).unwrap();
            assert_eq!(out.len(), 25, "{codec:?}");
            let keys: Vec<usize> =
                out.iter().enumerate().filter(|(_, p)| p.keyframe).map(|(i, _)| i).collect();
            assert_eq!(keys, [0, 10, 20], "{codec:?}");
            assert!(out.windows(2).all(|w| w[0].pts < w[1].pts));
        }
    }
    /// Every size the sources accept, down to 2x2 and one superblock row or column, with
    /// noisy content (libvpx 1.12's VP9 row-mt with tile columns wrote past its buffers at
    /// 1024x2 with two or more threads).
    #[test]
    fn tiny_and_thin_sizes_encode_for_every_codec() {
        let sizes = [
            (2, 2),
            (3, 3),
            (512, 2),
            (1024, 2),
            (4096, 2),
            (2, 1024),
            (2, 2160),
            (4096, 8),
            (1023, 63),
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for codec in [VideoCodec::Vp8, VideoCodec::Vp9] {
            for (w, h) in sizes {
                let mut enc =
                    VpxEncoder::new(0, codec, w, h, 2_500_000, KeyframeRule::Auto).unwrap();
                let mut out = Vec::new();
                for i in 0..6i64 {
                    let mut f = VideoFrame::black(w, h, 0);
                    for b in &mut f.data {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        *b = seed as u8;
                    }
                    enc.encode(&f, i * 33_333_333, 33_333_333, &mut out).unwrap();
                }
                enc.finish(&mut out).unwrap();
                assert_eq!(out.len(), 6, "{codec:?} {w}x{h}");
            }
        }
    }
}
