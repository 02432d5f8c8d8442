//! Downscaling packed 4-byte pictures (BGRA/BGRX) with fast_image_resize (SIMD convolution).
//! Through its typed API for the one pixel type used: the untyped `resize` dispatches over every
//! pixel type, which puts all their SIMD paths (3.4 MB of code) into the extension.

use fast_image_resize::images::{TypedImage, TypedImageRef};
use fast_image_resize::pixels::U8x4;
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};

use crate::core::{Error, Result};

/// Scales `src_w x src_h` pictures to `dst_w x dst_h`, reusing its buffers between frames.
pub struct Scaler {
    resizer: Resizer,
    options: ResizeOptions,
    src: (u32, u32),
    dst: (u32, u32),
    out: Vec<u8>,
}

impl Scaler {
    pub fn new(src_w: u32, src_h: u32, dst_w: u32, dst_h: u32) -> Self {
        // The fourth byte of an X pixel is padding, not alpha: blending by it would blank the
        // picture. Bilinear averages enough neighbours for text to stay legible at 1/2..1/3.
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
            .use_alpha(false);
        Scaler {
            resizer: Resizer::new(),
            options,
            src: (src_w, src_h),
            dst: (dst_w, dst_h),
            out: vec![0; dst_w as usize * dst_h as usize * 4],
        }
    }

    pub fn scale(&mut self, pixels: &[u8]) -> Result<&[u8]> {
        let fail = |e: &dyn std::fmt::Display| Error::Unknown(format!("cannot scale: {e}"));
        let (w, h) = self.src;
        let src = TypedImageRef::<U8x4>::from_buffer(w, h, pixels).map_err(|e| fail(&e))?;
        let (w, h) = self.dst;
        let mut dst = TypedImage::<U8x4>::from_buffer(w, h, &mut self.out).map_err(|e| fail(&e))?;
        self.resizer.resize_typed(&src, &mut dst, &self.options).map_err(|e| fail(&e))?;
        Ok(&self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_a_two_colour_picture_and_ignores_the_padding_byte() {
        // Left half blue, right half red (BGRX with X = 0), 8x4 -> 4x2.
        let mut px = Vec::new();
        for _y in 0..4 {
            for x in 0..8 {
                px.extend_from_slice(if x < 4 { &[255, 0, 0, 0] } else { &[0, 0, 255, 0] });
            }
        }
        let mut s = Scaler::new(8, 4, 4, 2);
        let out = s.scale(&px).unwrap().to_vec();
        assert_eq!(out.len(), 4 * 2 * 4);
        assert_eq!(&out[..3], &[255, 0, 0]);
        assert_eq!(&out[12..15], &[0, 0, 255]);
    }
}
