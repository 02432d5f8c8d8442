//! WAV (RIFF/RF64): the `fmt ` chunk and the `data` chunk. A size of 0xFFFFFFFF (a live
//! recording's header, never patched) or one past the end means "to the end of the input".

use std::borrow::Cow;

use super::{bad, Codec, Packet, PcmFormat, Stream, Trim};
use crate::core::{Error, Result};

const PCM: u16 = 1;
const FLOAT: u16 = 3;
const EXTENSIBLE: u16 = 0xFFFE;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

pub(crate) fn demux(buf: &[u8]) -> Result<Stream<'_>> {
    if buf.len() < 12 || &buf[8..12] != b"WAVE" {
        return Err(bad("WAV", 8, "no WAVE form type"));
    }
    let mut pos = 12;
    let mut format = None;
    while pos + 8 <= buf.len() {
        let id = &buf[pos..pos + 4];
        let size = u32_at(buf, pos + 4) as usize;
        let data = pos + 8;
        if id == b"data" {
            let (rate, channels, format) =
                format.ok_or_else(|| bad("WAV", pos, "data chunk before fmt chunk"))?;
            let end =
                if size == u32::MAX as usize { buf.len() } else { (data + size).min(buf.len()) };
            return Ok(Stream {
                codec: Codec::Pcm(format),
                sample_rate: rate,
                channels,
                packets: vec![Packet {
                    data: Cow::Borrowed(&buf[data..end]),
                    discard_ns: 0,
                    time_ns: None,
                }],
                trim: Trim::default(),
                tick_ns: 0,
            });
        }
        if id == b"fmt " {
            if size < 16 || data + size > buf.len() {
                return Err(bad("WAV", pos, "truncated fmt chunk"));
            }
            format = Some(fmt(&buf[data..data + size], pos)?);
        }
        pos = data.saturating_add(size).saturating_add(size & 1);
    }
    Err(bad("WAV", pos.min(buf.len()), "no data chunk"))
}

fn fmt(c: &[u8], at: usize) -> Result<(u32, usize, PcmFormat)> {
    let mut tag = u16_at(c, 0);
    let channels = u16_at(c, 2) as usize;
    let rate = u32_at(c, 4);
    let bits = u16_at(c, 14);
    if tag == EXTENSIBLE {
        // The sub-format GUID begins with the format tag it stands for.
        if c.len() < 26 {
            return Err(bad("WAV", at, "truncated WAVE_FORMAT_EXTENSIBLE"));
        }
        tag = u16_at(c, 24);
    }
    let format = match (tag, bits) {
        (PCM, 8) => PcmFormat::U8,
        (PCM, 16) => PcmFormat::S16Le,
        (PCM, 24) => PcmFormat::S24Le,
        (PCM, 32) => PcmFormat::S32Le,
        (FLOAT, 32) => PcmFormat::F32Le,
        (FLOAT, 64) => PcmFormat::F64Le,
        _ => {
            return Err(Error::NotSupported(format!(
                "src: WAV format {tag:#x} with {bits} bits per sample is not decoded"
            )))
        }
    };
    if rate == 0 {
        return Err(bad("WAV", at, "sample rate 0"));
    }
    Ok((rate, channels, format))
}
