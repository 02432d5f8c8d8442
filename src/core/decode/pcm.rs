//! Raw PCM to f32: integers scaled by 2^(bits-1) (the inverse of the PCM encoder's
//! `x * 32768`, so a 16-bit round trip is exact), floats widened or narrowed.

use super::Stream;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PcmFormat {
    U8,
    S16Le,
    S24Le,
    S32Le,
    F32Le,
    F64Le,
    S16Be,
    S24Be,
    S32Be,
    F32Be,
    F64Be,
}

impl PcmFormat {
    pub fn bytes(self) -> usize {
        use PcmFormat::*;
        match self {
            U8 => 1,
            S16Le | S16Be => 2,
            S24Le | S24Be => 3,
            S32Le | S32Be | F32Le | F32Be => 4,
            F64Le | F64Be => 8,
        }
    }

    fn sample(self, b: &[u8]) -> f32 {
        use PcmFormat::*;
        match self {
            U8 => (b[0] as f32 - 128.0) / 128.0,
            S16Le => i16::from_le_bytes([b[0], b[1]]) as f32 / 32_768.0,
            S16Be => i16::from_be_bytes([b[0], b[1]]) as f32 / 32_768.0,
            S24Le => (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0,
            S24Be => (i32::from_be_bytes([b[0], b[1], b[2], 0]) >> 8) as f32 / 8_388_608.0,
            S32Le => (i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64 / 2_147_483_648.0) as f32,
            S32Be => (i32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64 / 2_147_483_648.0) as f32,
            F32Le => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            F32Be => f32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            F64Le => f64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])) as f32,
            F64Be => f64::from_be_bytes(b[..8].try_into().unwrap_or([0; 8])) as f32,
        }
    }
}

/// Every packet's whole frames, in order (a torn last frame is left out).
pub(crate) fn decode(format: PcmFormat, stream: &Stream<'_>) -> super::Decoded {
    let frame = format.bytes() * stream.channels;
    let total: usize = stream.packets.iter().map(|p| p.data.len() / frame * stream.channels).sum();
    let mut samples = Vec::with_capacity(total);
    let mut times = super::Times::new(stream.sample_rate, stream.tick_ns);
    for p in &stream.packets {
        let whole = p.data.len() / frame * frame;
        times.packet((samples.len() / stream.channels.max(1)) as u64, p.time_ns);
        samples.extend(p.data[..whole].chunks_exact(format.bytes()).map(|b| format.sample(b)));
    }
    let frames = (samples.len() / stream.channels.max(1)) as u64;
    super::Decoded {
        samples,
        channels: stream.channels,
        sample_rate: stream.sample_rate,
        times: times.finish(frames, 0),
    }
}
