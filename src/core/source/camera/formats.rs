//! What cameras deliver, converted to I420: packed YUYV 4:2:2, NV12 (the chroma interleaved)
//! and MJPEG (decoded with zune-jpeg). Platform-neutral, so the conversions are tested
//! everywhere.

use yuvutils_rs::YuvPackedImage;
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use crate::core::media::VideoFrame;
use crate::core::source::convert::i420::{to_i420, PixelFormat};
use crate::core::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CameraFormat {
    Yuyv,
    Nv12,
    Mjpeg,
}

impl CameraFormat {
    pub fn fourcc(self) -> [u8; 4] {
        match self {
            CameraFormat::Yuyv => *b"YUYV",
            CameraFormat::Nv12 => *b"NV12",
            CameraFormat::Mjpeg => *b"MJPG",
        }
    }

    pub fn from_fourcc(code: &[u8; 4]) -> Option<Self> {
        match code {
            b"YUYV" => Some(CameraFormat::Yuyv),
            b"NV12" => Some(CameraFormat::Nv12),
            b"MJPG" | b"JPEG" => Some(CameraFormat::Mjpeg),
            _ => None,
        }
    }

    pub fn parse(name: &str) -> crate::core::Result<Self> {
        [CameraFormat::Yuyv, CameraFormat::Nv12, CameraFormat::Mjpeg]
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| {
                Error::InvalidValue(format!(
                    "pixel_format: expected one of yuyv, nv12, mjpeg, got {name:?}"
                ))
            })
    }

    pub fn name(self) -> &'static str {
        match self {
            CameraFormat::Yuyv => "yuyv",
            CameraFormat::Nv12 => "nv12",
            CameraFormat::Mjpeg => "mjpeg",
        }
    }
}

fn short(what: &str, need: usize, got: usize) -> Error {
    Error::InvalidValue(format!("{what}: expected at least {need} bytes, got {got}"))
}

/// One camera picture to I420. `stride` is the bytes per row of the first plane (YUYV, NV12).
pub fn to_frame(
    format: CameraFormat,
    width: u32,
    height: u32,
    stride: u32,
    data: &[u8],
    time: i64,
) -> Result<VideoFrame> {
    match format {
        CameraFormat::Yuyv => yuyv(width, height, stride.max(width * 2), data, time),
        CameraFormat::Nv12 => nv12(width, height, stride.max(width), data, time),
        CameraFormat::Mjpeg => mjpeg(width, height, data, time),
    }
}

fn yuyv(width: u32, height: u32, stride: u32, data: &[u8], time: i64) -> Result<VideoFrame> {
    let need = stride as usize * (height as usize - 1) + width as usize * 2;
    if data.len() < need {
        return Err(short("yuyv frame", need, data.len()));
    }
    let mut frame = VideoFrame::black(width, height, time);
    let mut planar = frame.yuv_image_mut();
    // yuvutils takes tightly packed rows only: repack padded ones.
    let row = width as usize * 2;
    let tight: std::borrow::Cow<[u8]> = if stride as usize == row {
        std::borrow::Cow::Borrowed(&data[..row * height as usize])
    } else {
        data.chunks(stride as usize)
            .take(height as usize)
            .map(|r| &r[..row])
            .collect::<Vec<_>>()
            .concat()
            .into()
    };
    let packed = YuvPackedImage { yuy: &tight, yuy_stride: row as u32, width, height };
    yuvutils_rs::yuyv422_to_yuv420(&mut planar, &packed)
        .map_err(|e| Error::InvalidValue(format!("yuyv frame: {e}")))?;
    Ok(frame)
}

fn nv12(width: u32, height: u32, stride: u32, data: &[u8], time: i64) -> Result<VideoFrame> {
    let (w, h, s) = (width as usize, height as usize, stride as usize);
    let (cw, ch) = VideoFrame::chroma_size(width, height);
    // The chroma plane follows the luma plane at the same stride, 2 bytes (U, V) a sample.
    let need = s * h + s * (ch - 1) + cw * 2;
    if data.len() < need {
        return Err(short("nv12 frame", need, data.len()));
    }
    let mut frame = VideoFrame::black(width, height, time);
    let (y, u, v) = frame.planes_mut();
    for row in 0..h {
        y[row * w..][..w].copy_from_slice(&data[row * s..][..w]);
    }
    let uv = &data[s * h..];
    for row in 0..ch {
        let line = &uv[row * s..][..cw * 2];
        for (i, pair) in line.chunks_exact(2).enumerate() {
            u[row * cw + i] = pair[0];
            v[row * cw + i] = pair[1];
        }
    }
    Ok(frame)
}

fn mjpeg(width: u32, height: u32, data: &[u8], time: i64) -> Result<VideoFrame> {
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(data), options);
    let rgb = decoder
        .decode()
        .map_err(|e| Error::InvalidValue(format!("mjpeg frame: cannot decode: {e}")))?;
    let info =
        decoder.info().ok_or_else(|| Error::InvalidValue("mjpeg frame: no header".into()))?;
    if (info.width as u32, info.height as u32) != (width, height) {
        return Err(Error::InvalidValue(format!(
            "mjpeg frame: expected {width}x{height}, got {}x{}",
            info.width, info.height
        )));
    }
    to_i420(PixelFormat::Rgb24, width, height, &rgb, time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuyv_keeps_luma_and_averages_chroma_rows() {
        // 4x2: row 0 Y=50..53 U=100 V=200, row 1 Y=60..63 U=110 V=210; stride padded to 12.
        let mut data = vec![0u8; 24];
        for (row, (y0, u, v)) in [(50u8, 100u8, 200u8), (60, 110, 210)].into_iter().enumerate() {
            let line = &mut data[row * 12..];
            line[..8].copy_from_slice(&[y0, u, y0 + 1, v, y0 + 2, u, y0 + 3, v]);
        }
        let f = to_frame(CameraFormat::Yuyv, 4, 2, 12, &data, 7).unwrap();
        let (y, u, v) = f.planes();
        assert_eq!(y, &[50, 51, 52, 53, 60, 61, 62, 63]);
        assert!(u.iter().all(|&c| (100..=110).contains(&c)), "{u:?}");
        assert!(v.iter().all(|&c| (200..=210).contains(&c)), "{v:?}");
        assert_eq!(f.time, 7);
    }

    #[test]
    fn nv12_deinterleaves_chroma_and_honours_the_stride() {
        let (w, h, s) = (4usize, 2usize, 6usize);
        let mut data = vec![0u8; s * h + s];
        for row in 0..h {
            for x in 0..w {
                data[row * s + x] = (row * 10 + x) as u8;
            }
        }
        data[s * h..s * h + 4].copy_from_slice(&[1, 2, 3, 4]);
        let f = to_frame(CameraFormat::Nv12, w as u32, h as u32, s as u32, &data, 0).unwrap();
        let (y, u, v) = f.planes();
        assert_eq!(y, &[0, 1, 2, 3, 10, 11, 12, 13]);
        assert_eq!((u, v), (&[1u8, 3][..], &[2u8, 4][..]));
    }

    #[test]
    fn short_and_corrupt_frames_are_errors() {
        assert!(to_frame(CameraFormat::Yuyv, 4, 2, 8, &[0; 15], 0).is_err());
        assert!(to_frame(CameraFormat::Nv12, 4, 2, 4, &[0; 11], 0).is_err());
        assert!(to_frame(CameraFormat::Mjpeg, 4, 2, 0, &[0xff, 0xd8, 0, 1], 0).is_err());
    }

    /// A 16x8 baseline JPEG (ffmpeg, yuvj420p, q 2): left half pure red, right half pure blue.
    const RED_BLUE: &str = include_str!("testdata/red_blue_16x8.jpg.hex");

    #[test]
    fn mjpeg_decodes_to_the_right_colours() {
        let bytes: Vec<u8> = (0..RED_BLUE.trim().len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&RED_BLUE.trim()[i..i + 2], 16).unwrap())
            .collect();
        let f = to_frame(CameraFormat::Mjpeg, 16, 8, 0, &bytes, 0).unwrap();
        let (y, u, v) = f.planes();
        // BT.601 limited range: red Y 81 V 240, blue Y 41 U 240.
        assert!((y[2 * 16 + 2] as i32 - 81).abs() < 12, "red luma {}", y[34]);
        assert!(v[1] > 200 && u[1] < 128, "red chroma u {} v {}", u[1], v[1]);
        assert!((y[2 * 16 + 13] as i32 - 41).abs() < 12, "blue luma {}", y[45]);
        assert!(u[6] > 200 && v[6] < 140, "blue chroma u {} v {}", u[6], v[6]);
    }

    #[test]
    fn fourcc_round_trip() {
        for f in [CameraFormat::Yuyv, CameraFormat::Nv12, CameraFormat::Mjpeg] {
            assert_eq!(CameraFormat::from_fourcc(&f.fourcc()), Some(f));
        }
        assert_eq!(CameraFormat::from_fourcc(b"RGB3"), None);
    }
}
