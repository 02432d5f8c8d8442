//! The structure of the `moov` boxes a faststart rewrite copies as they are (`ftyp`, `mvhd`,
//! `tkhd`, `mdhd`, `hdlr`, `dinf`/`dref`, `stsd`, ...): a damaged one (a bit flipped in a
//! stored recording) would be copied into a file that players refuse, so it is refused here,
//! naming its offset. Also [`check_faststart`]: what our own reader makes of a rewritten file,
//! the fuzzer's oracle.

use crate::core::mux::mp4::read::{bad, child, children, field, scan, Bx, Scan};
use crate::core::Result;

/// Boxes made of boxes (ISO/IEC 14496-12), checked child by child (not `udta`: QuickTime
/// ends it with four zero bytes, which players accept).
const CONTAINERS: [&[u8; 4]; 7] = [b"moov", b"trak", b"mdia", b"minf", b"dinf", b"stbl", b"edts"];

/// The least payload a full box of each kind has, by version (0, 1).
fn least_body(kind: &[u8; 4]) -> Option<(usize, usize)> {
    Some(match kind {
        b"mvhd" => (100, 112),
        b"tkhd" => (84, 96),
        b"mdhd" => (24, 36),
        b"hdlr" => (24, 24),
        b"elst" => (8, 8),
        b"vmhd" => (12, 12),
        b"smhd" => (8, 8),
        _ => return None,
    })
}

/// Checks `b` and, for a container, everything in it; `rebuilt`: `b` is on the path the
/// rewrite rebuilds (`moov`, `trak`, `mdia`, `minf`, `stbl`), so that only what it copies
/// of it is checked (of a `stbl`, its `stsd`; of the `moov`, not the `mvex`). Anything
/// else is copied whole, and checked whole.
pub(super) fn check_box(buf: &[u8], b: &Bx, rebuilt: bool) -> Result<()> {
    // Size 0 runs to the end of the parent: copied into a rebuilt parent, it would swallow
    // the boxes after it.
    if buf[b.start..b.start + 4] == [0; 4] {
        return Err(bad(b.start, &format!("{} without a size", name(b))));
    }
    if let Some((v0, v1)) = least_body(&b.kind) {
        let version = field(buf, b, 0, 1)?;
        let least = match version {
            0 => v0,
            1 => v1,
            _ => return Err(bad(b.start, &format!("{} version {version}", name(b)))),
        };
        if b.end - b.body < least {
            return Err(bad(b.start, &format!("{} too short", name(b))));
        }
    }
    match &b.kind {
        b"ftyp" if b.end - b.body < 8 => Err(bad(b.start, "ftyp too short")),
        b"dref" => entries(buf, b, 12),
        b"stsd" => {
            entries(buf, b, 16)?;
            for entry in children(buf, &Bx { body: b.body + 8, ..*b })? {
                sample_entry(buf, &entry)?;
            }
            Ok(())
        }
        b"stbl" if rebuilt => match child(buf, b, b"stsd")? {
            Some(stsd) => check_box(buf, &stsd, false),
            None => Err(bad(b.start, "stbl without stsd")),
        },
        k if CONTAINERS.contains(&k) => {
            for c in children(buf, b)? {
                let path = matches!(
                    (k, &c.kind),
                    (b"moov", b"trak")
                        | (b"trak", b"mdia")
                        | (b"mdia", b"minf")
                        | (b"minf", b"stbl")
                );
                if rebuilt && k == b"moov" && &c.kind == b"mvex" {
                    continue;
                }
                check_box(buf, &c, rebuilt && path)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn name(b: &Bx) -> String {
    String::from_utf8_lossy(&b.kind).into_owned()
}

/// A full box holding a count and then exactly that many boxes of at least `least` bytes.
fn entries(buf: &[u8], b: &Bx, least: usize) -> Result<()> {
    let count = field(buf, b, 4, 4)?;
    let inner = Bx { body: b.body + 8, ..*b };
    if inner.body > b.end {
        return Err(bad(b.start, &format!("{} too short", name(b))));
    }
    let found = children(buf, &inner)?;
    // Sized explicitly (players read an entry's size field as it is: 0 is no "to the end").
    let too_short = |e: &&Bx| {
        e.end - e.start < least || {
            let raw = u32::from_be_bytes(buf[e.start..e.start + 4].try_into().expect("4 bytes"));
            raw < least as u32
        }
    };
    if let Some(e) = found.iter().find(too_short) {
        return Err(bad(e.start, &format!("{} entry too short", name(b))));
    }
    if found.len() as u64 != count || count == 0 {
        return Err(bad(
            b.start,
            &format!("{} counts {count} entries, holds {}", name(b), found.len()),
        ));
    }
    Ok(())
}

/// A sample entry: its fixed fields, then boxes (`avcC`, `dOps`, `esds`, `btrt`, ...) that
/// fill it exactly.
fn sample_entry(buf: &[u8], e: &Bx) -> Result<()> {
    let fixed = match &e.kind {
        b"avc1" | b"avc3" | b"hvc1" | b"hev1" | b"vp08" | b"vp09" | b"av01" => 78,
        b"Opus" | b"mp4a" | b"fLaC" => match field(buf, e, 8, 2)? {
            0 => 28,
            1 => 44,
            2 => 64,
            v => return Err(bad(e.start, &format!("sound sample entry version {v}"))),
        },
        _ => return Ok(()),
    };
    let inner = Bx { body: e.body + fixed, ..*e };
    if inner.body > e.end {
        return Err(bad(e.start, "sample entry too short"));
    }
    let boxes = children(buf, &inner)?;
    if field(buf, e, 6, 2)? == 0 {
        return Err(bad(e.start, "sample entry with data reference 0"));
    }
    let config = match &e.kind {
        b"avc1" | b"avc3" => Some(b"avcC"),
        b"hvc1" | b"hev1" => Some(b"hvcC"),
        b"vp09" => Some(b"vpcC"),
        b"av01" => Some(b"av1C"),
        b"Opus" => Some(b"dOps"),
        b"mp4a" => Some(b"esds"),
        _ => None,
    };
    let Some(kind) = config else { return Ok(()) };
    let config = boxes.iter().find(|b| &b.kind == kind).ok_or_else(|| {
        bad(e.start, &format!("{} sample entry without {}", name(e), String::from_utf8_lossy(kind)))
    })?;
    if decoder_config(buf, config)? {
        Ok(())
    } else {
        Err(bad(config.start, &format!("a damaged {}", name(config))))
    }
}

/// Whether a decoder configuration box holds what its format says, as decoders read it.
fn decoder_config(buf: &[u8], b: &Bx) -> Result<bool> {
    let body = &buf[b.body..b.end];
    let byte = |i: usize| body.get(i).copied().unwrap_or(0) as usize;
    Ok(match &b.kind {
        // Opus in ISOBMFF: version 0, channels, then a mapping table unless family 0.
        b"dOps" => {
            let family = byte(10);
            let len = if family == 0 { 11 } else { 13 + byte(1) };
            body.len() == len && byte(0) == 0 && byte(1) > 0
        }
        // VP codec ISOBMFF binding: a full box, version 1, its initialization data last.
        b"vpcC" => {
            body.len() >= 12 && byte(0) == 1 && body.len() == 12 + (byte(10) << 8 | byte(11))
        }
        b"av1C" => body.len() >= 4 && byte(0) == 0x81,
        b"avcC" => avc_config(body),
        // MPEG-4 systems: a full box, version 0, holding an ES_Descriptor.
        b"esds" => body.len() > 5 && byte(0) == 0 && byte(4) == 0x03,
        _ => true,
    })
}

/// An `AVCDecoderConfigurationRecord`: version 1, then its SPS and PPS, each whole.
fn avc_config(body: &[u8]) -> bool {
    if body.len() < 7 || body[0] != 1 {
        return false;
    }
    let mut at = 5;
    for count_mask in [0x1f, 0xff] {
        let Some(&count) = body.get(at) else { return false };
        at += 1;
        for _ in 0..(count & count_mask) {
            let Some(len) = body.get(at..at + 2) else { return false };
            at += 2 + (u16::from_be_bytes([len[0], len[1]]) as usize);
            if at > body.len() {
                return false;
            }
        }
    }
    true
}

/// What our own reader makes of a faststart file: `ftyp`, a `moov` whose boxes are whole and
/// whose sample tables agree with each other, every chunk inside the file.
pub fn check_faststart(buf: &[u8]) -> Result<()> {
    let Scan { ftyp, moov, tracks, runs, mdat_seen } = scan(buf)?;
    let moov = moov.ok_or_else(|| bad(ftyp.end, "no moov box"))?;
    if !runs.is_empty() || !mdat_seen {
        return Err(bad(moov.start, "not a faststart file"));
    }
    check_box(buf, &ftyp, false)?;
    for c in children(buf, &moov)?.iter().filter(|c| &c.kind != b"trak") {
        check_box(buf, c, false)?;
    }
    for t in &tracks {
        let stbl = stbl_of(buf, &t.trak)?;
        check_box(buf, &t.trak, false)?;
        tables(buf, &stbl)?;
    }
    Ok(())
}

/// A track's sample table box (`mdia`/`minf`/`stbl`), which every track must have.
pub(super) fn stbl_of(buf: &[u8], trak: &Bx) -> Result<Bx> {
    let within = |b: Option<Bx>, kind: &[u8; 4]| -> Result<Option<Bx>> {
        b.map_or(Ok(None), |b| child(buf, &b, kind))
    };
    let stbl = within(within(within(Some(*trak), b"mdia")?, b"minf")?, b"stbl")?;
    stbl.ok_or_else(|| bad(trak.start, "trak without stbl"))
}

/// The sample tables of a rewritten `stbl` agree: as many samples in `stts`, `stsz` and the
/// chunks of `stsc`, each chunk's samples inside the file.
fn tables(buf: &[u8], stbl: &Bx) -> Result<()> {
    let get = |kind: &[u8; 4]| {
        child(buf, stbl, kind)?
            .ok_or_else(|| bad(stbl.start, &format!("no {}", String::from_utf8_lossy(kind))))
    };
    let (stts, stsc, stsz) = (get(b"stts")?, get(b"stsc")?, get(b"stsz")?);
    let (offsets, wide) = match child(buf, stbl, b"stco")? {
        Some(b) => (b, false),
        None => (get(b"co64")?, true),
    };
    let count = |b: &Bx, per: usize| -> Result<usize> {
        let n = field(buf, b, 4, 4)? as usize;
        if n > (b.end - b.body).saturating_sub(8) / per {
            return Err(bad(b.start, "table count exceeds the box"));
        }
        Ok(n)
    };
    let mut in_stts = 0u64;
    for i in 0..count(&stts, 8)? {
        in_stts += field(buf, &stts, 8 + i * 8, 4)?;
    }
    let uniform = field(buf, &stsz, 4, 4)?;
    let n_sizes = field(buf, &stsz, 8, 4)? as usize;
    if uniform == 0 && n_sizes > (stsz.end - stsz.body).saturating_sub(12) / 4 {
        return Err(bad(stsz.start, "stsz count exceeds the box"));
    }
    let size = |i: usize| if uniform != 0 { Ok(uniform) } else { field(buf, &stsz, 12 + i * 4, 4) };
    let n_chunks = count(&offsets, if wide { 8 } else { 4 })?;
    let n_stsc = count(&stsc, 12)?;
    let (mut sample, mut entry) = (0usize, 0usize);
    for chunk in 0..n_chunks {
        while entry + 1 < n_stsc
            && field(buf, &stsc, 8 + (entry + 1) * 12, 4)? as usize <= chunk + 1
        {
            entry += 1;
        }
        let per = if n_stsc == 0 { 0 } else { field(buf, &stsc, 8 + entry * 12 + 4, 4)? as usize };
        let at = if wide {
            field(buf, &offsets, 8 + chunk * 8, 8)?
        } else {
            field(buf, &offsets, 8 + chunk * 4, 4)?
        };
        let mut end = at;
        for i in sample..sample.saturating_add(per) {
            if i >= n_sizes {
                return Err(bad(stsc.start, "stsc holds more samples than stsz"));
            }
            end = end.saturating_add(size(i)?);
        }
        sample += per;
        if end > buf.len() as u64 {
            return Err(bad(offsets.start, "a chunk runs past the file"));
        }
    }
    if sample != n_sizes || in_stts != n_sizes as u64 {
        return Err(bad(stbl.start, "sample tables disagree on the sample count"));
    }
    Ok(())
}
