//! Pictures in the pixel formats the embedder and the captures give, converted to I420 with
//! yuvutils-rs (SIMD): what every encoder takes.

use yuvutils_rs::{YuvConversionMode, YuvRange, YuvStandardMatrix};

use crate::core::media::VideoFrame;
use crate::core::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    Rgb24,
    Bgr24,
    Rgba,
    Bgra,
    Gray,
    I420,
}

impl PixelFormat {
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "rgb24" => PixelFormat::Rgb24,
            "bgr24" => PixelFormat::Bgr24,
            "rgba" => PixelFormat::Rgba,
            "bgra" => PixelFormat::Bgra,
            "gray" => PixelFormat::Gray,
            "i420" => PixelFormat::I420,
            other => {
                return Err(Error::InvalidValue(format!(
                "pixel_format: expected one of rgb24, bgr24, rgba, bgra, gray, i420, got {other:?}"
            )))
            }
        })
    }

    /// Bytes per pixel of packed formats (None for planar I420).
    pub fn bytes_per_pixel(self) -> Option<usize> {
        match self {
            PixelFormat::Rgb24 | PixelFormat::Bgr24 => Some(3),
            PixelFormat::Rgba | PixelFormat::Bgra => Some(4),
            PixelFormat::Gray => Some(1),
            PixelFormat::I420 => None,
        }
    }
}

/// Converts one picture to I420 (BT.601, limited range: what VP8/VP9 decoders assume).
pub fn to_i420(
    format: PixelFormat,
    width: u32,
    height: u32,
    data: &[u8],
    time: i64,
) -> Result<VideoFrame> {
    let mut frame = VideoFrame::black(width, height, time);
    if format == PixelFormat::I420 {
        if data.len() != frame.data.len() {
            return Err(Error::InvalidValue(format!(
                "frame: expected {} bytes of I420 for {width}x{height}, got {}",
                frame.data.len(),
                data.len()
            )));
        }
        frame.data.copy_from_slice(data);
        return Ok(frame);
    }
    let bpp = format.bytes_per_pixel().expect("packed format");
    let stride = width * bpp as u32;
    if format == PixelFormat::Gray {
        // Full-range gray to limited-range luma; chroma stays neutral (128).
        for (dst, &src) in frame.planes_mut().0.iter_mut().zip(data) {
            *dst = 16 + ((src as u32 * 219 + 127) / 255) as u8;
        }
        return Ok(frame);
    }
    let mut image = frame.yuv_image_mut();
    let (range, matrix, mode) =
        (YuvRange::Limited, YuvStandardMatrix::Bt601, YuvConversionMode::Balanced);
    let r = match format {
        PixelFormat::Rgb24 => {
            yuvutils_rs::rgb_to_yuv420(&mut image, data, stride, range, matrix, mode)
        }
        PixelFormat::Bgr24 => {
            yuvutils_rs::bgr_to_yuv420(&mut image, data, stride, range, matrix, mode)
        }
        PixelFormat::Rgba => {
            yuvutils_rs::rgba_to_yuv420(&mut image, data, stride, range, matrix, mode)
        }
        PixelFormat::Bgra => {
            yuvutils_rs::bgra_to_yuv420(&mut image, data, stride, range, matrix, mode)
        }
        PixelFormat::Gray | PixelFormat::I420 => unreachable!(),
    };
    r.map_err(|e| Error::InvalidValue(format!("frame: cannot convert to I420: {e}")))?;
    Ok(frame)
}
