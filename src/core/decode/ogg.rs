//! Ogg demuxing for [`super::decode`]: the asked-for logical stream that begins with an OpusHead,
//! its packets reassembled across pages, and the granule positions that trim it (RFC 7845
//! §4: the last page's granule ends the stream; the first audio page's tells where it began).

use std::borrow::Cow;

use super::{bad, no_track, Codec, OggGranules, Packet, Stream, Trim};
use crate::core::{Error, Result};

struct Page<'a> {
    granule: u64,
    serial: u32,
    bos: bool,
    /// Continues a packet from the previous page.
    continued: bool,
    lacing: &'a [u8],
    body: &'a [u8],
}

/// The page at `pos` and where the next one starts; None where the input ends inside it.
fn page(buf: &[u8], pos: usize) -> Result<Option<(Page<'_>, usize)>> {
    let Some(h) = buf.get(pos..pos + 27) else { return Ok(None) };
    if &h[..4] != b"OggS" || h[4] != 0 {
        return Err(bad("Ogg", pos, "no page capture pattern"));
    }
    let segments = h[26] as usize;
    let Some(lacing) = buf.get(pos + 27..pos + 27 + segments) else { return Ok(None) };
    let len: usize = lacing.iter().map(|&l| l as usize).sum();
    let start = pos + 27 + segments;
    let Some(body) = buf.get(start..start + len) else { return Ok(None) };
    let granule = u64::from_le_bytes(h[6..14].try_into().unwrap_or([0xFF; 8]));
    let serial = u32::from_le_bytes([h[14], h[15], h[16], h[17]]);
    let page = Page { granule, serial, bos: h[5] & 2 != 0, continued: h[5] & 1 != 0, lacing, body };
    Ok(Some((page, start + len)))
}

pub(crate) fn demux(buf: &[u8], track: usize) -> Result<Stream<'_>> {
    let mut serial = None;
    // Opus streams begun so far (their first pages come before any other page, RFC 3533).
    let mut opus_streams = 0;
    let mut packets: Vec<Packet<'_>> = Vec::new();
    // The packet being gathered: its start in `buf` while it is in one piece, or its bytes.
    let mut open: Option<Cow<'_, [u8]>> = None;
    // (granule, packets complete by the end of that page), for pages that end a packet.
    let mut granules: Vec<(u64, usize)> = Vec::new();
    let mut pos = 0;
    while let Some((p, next)) = page(buf, pos)? {
        let body_start = next - p.body.len();
        pos = next;
        if serial.is_none() && p.bos && p.body.starts_with(b"OpusHead") {
            if opus_streams == track {
                serial = Some(p.serial);
            }
            opus_streams += 1;
        }
        if serial != Some(p.serial) {
            continue;
        }
        if !p.continued {
            open = None; // a packet torn by a lost page is dropped, as decoders do
        }
        let mut offset = body_start;
        for &l in p.lacing {
            let piece = &buf[offset..offset + l as usize];
            offset += l as usize;
            let data = match open.take() {
                None => Cow::Borrowed(piece),
                Some(mut d) => {
                    d.to_mut().extend_from_slice(piece);
                    d
                }
            };
            if l == 255 {
                open = Some(data);
            } else {
                packets.push(Packet { data, discard_ns: 0, time_ns: None });
            }
        }
        if p.granule != u64::MAX {
            granules.push((p.granule, packets.len()));
        }
    }
    if serial.is_none() && opus_streams > 0 {
        return Err(no_track(track, opus_streams));
    }
    if packets.len() < 2 {
        return Err(Error::InvalidValue("src: the Ogg file holds no Opus stream".into()));
    }
    let head = packets.remove(0).data.into_owned();
    packets.remove(0); // OpusTags
    if head.len() < 19 {
        return Err(bad("Ogg", 0, "OpusHead shorter than 19 bytes"));
    }
    let channels = head[9] as usize;
    // Pages up to the comment header count the two header packets.
    let audio: Vec<(u64, usize)> =
        granules.into_iter().filter(|&(_, n)| n > 2).map(|(g, n)| (g, n - 2)).collect();
    let trim = Trim {
        pre_skip: None,
        granules: match (audio.first(), audio.last()) {
            (Some(&(first_granule, first_page_packets)), Some(&(last_granule, _))) => {
                Some(OggGranules { first_page_packets, first_granule, last_granule })
            }
            _ => None,
        },
    };
    Ok(Stream {
        codec: Codec::Opus { head: Some(head) },
        sample_rate: 48_000,
        channels,
        packets,
        trim,
        tick_ns: 0,
    })
}
