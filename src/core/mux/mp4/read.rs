//! Reading a fragmented MP4 (ours, or Chrome's): its boxes, the tracks of its `moov` and the
//! sample runs of its `moof` fragments. The input is untrusted: every size and offset is
//! checked against the input before use, nothing is allocated from a size field, and a
//! fragment cut short (a crash mid-write) ends the scan. Anything else that stops making sense
//! is an error naming the byte offset.

use crate::core::{Error, Result};

pub(super) fn bad(offset: usize, what: &str) -> Error {
    Error::InvalidValue(format!("src: not a valid MP4 file: {what} at byte offset {offset}"))
}

/// Whether `buf` starts like an ISO BMFF file (an `ftyp` box).
pub fn is_mp4(buf: &[u8]) -> bool {
    buf.get(4..8) == Some(b"ftyp")
}

/// A box inside the input: `[start, end)`, its payload from `body`.
#[derive(Clone, Copy)]
pub(super) struct Bx {
    pub(super) kind: [u8; 4],
    pub(super) start: usize,
    pub(super) body: usize,
    pub(super) end: usize,
}

/// The box at `pos` within `[pos, end)`; None if its header or payload runs past `end`.
pub(super) fn read_box(buf: &[u8], pos: usize, end: usize) -> Result<Option<Bx>> {
    if pos + 8 > end {
        return Ok(None);
    }
    let size = u32::from_be_bytes(buf[pos..pos + 4].try_into().expect("4 bytes")) as u64;
    let kind: [u8; 4] = buf[pos + 4..pos + 8].try_into().expect("4 bytes");
    let (size, body) = match size {
        0 => ((end - pos) as u64, pos + 8),
        1 if pos + 16 > end => return Ok(None),
        1 => (u64::from_be_bytes(buf[pos + 8..pos + 16].try_into().expect("8 bytes")), pos + 16),
        s => (s, pos + 8),
    };
    if size < (body - pos) as u64 {
        return Err(bad(pos, "box smaller than its header"));
    }
    match usize::try_from(size).ok().and_then(|s| pos.checked_add(s)).filter(|&e| e <= end) {
        Some(box_end) => Ok(Some(Bx { kind, start: pos, body, end: box_end })),
        None => Ok(None),
    }
}

/// The children of a container box; a child that runs past its parent is an error.
pub(super) fn children(buf: &[u8], parent: &Bx) -> Result<Vec<Bx>> {
    let mut out = Vec::new();
    let mut pos = parent.body;
    while pos < parent.end {
        let b =
            read_box(buf, pos, parent.end)?.ok_or_else(|| bad(pos, "box runs past its parent"))?;
        pos = b.end;
        out.push(b);
    }
    Ok(out)
}

pub(super) fn child(buf: &[u8], parent: &Bx, kind: &[u8; 4]) -> Result<Option<Bx>> {
    Ok(children(buf, parent)?.into_iter().find(|c| &c.kind == kind))
}

/// A big-endian field of `n` bytes at `at` inside box `b`.
pub(super) fn field(buf: &[u8], b: &Bx, at: usize, n: usize) -> Result<u64> {
    let s = b.body + at;
    if s + n > b.end {
        return Err(bad(b.start, "box too short"));
    }
    Ok(buf[s..s + n].iter().fold(0u64, |a, &x| (a << 8) | x as u64))
}

#[derive(Clone, Copy, Default)]
pub(super) struct Defaults {
    pub(super) duration: u32,
    pub(super) size: u32,
    pub(super) flags: u32,
}

/// A run of one track's samples, contiguous in the input.
pub(super) struct Run {
    pub(super) track: usize,
    pub(super) offset: usize,
    /// Decode time of the first sample, when the fragment says it (`tfdt`).
    pub(super) time: Option<u64>,
    /// Per sample: size, duration, sync, composition offset.
    pub(super) samples: Vec<(u32, u32, bool, i32)>,
}

pub(super) struct Track {
    pub(super) trak: Bx,
    pub(super) id: u32,
    pub(super) timescale: u32,
    /// The media time the first edit starts at (the skipped priming), if any.
    pub(super) skip: u64,
    pub(super) defaults: Defaults,
}

/// What a scan of the whole input found: its `ftyp` and `moov` (if any), the tracks of the
/// `moov`, every complete run of samples, and whether any `mdat` was seen.
pub(super) struct Scan {
    pub(super) ftyp: Bx,
    pub(super) moov: Option<Bx>,
    pub(super) tracks: Vec<Track>,
    pub(super) runs: Vec<Run>,
    pub(super) mdat_seen: bool,
}

/// Reads the top-level boxes up to the end, or up to the first fragment not wholly written.
pub(super) fn scan(buf: &[u8]) -> Result<Scan> {
    let ftyp = read_box(buf, 0, buf.len())?.filter(|b| &b.kind == b"ftyp");
    let ftyp = ftyp.ok_or_else(|| bad(0, "no ftyp box"))?;
    let mut pos = ftyp.end;
    let mut moov: Option<Bx> = None;
    let mut tracks: Vec<Track> = Vec::new();
    let mut runs: Vec<Run> = Vec::new();
    let mut mdat_seen = false;
    while let Some(b) = read_box(buf, pos, buf.len())? {
        match &b.kind {
            b"moov" if moov.is_none() => {
                tracks = parse_moov(buf, &b)?;
                moov = Some(b);
            }
            b"moof" => {
                if moov.is_none() {
                    return Err(bad(b.start, "moof before moov"));
                }
                let fragment = parse_moof(buf, &b, &tracks)?;
                // A fragment whose samples were not all written (a crash) ends the file.
                if fragment
                    .iter()
                    .any(|r| r.offset.checked_add(run_len(r)).is_none_or(|e| e > buf.len()))
                {
                    break;
                }
                runs.extend(fragment);
            }
            b"mdat" => mdat_seen = true,
            _ => {}
        }
        pos = b.end;
    }
    Ok(Scan { ftyp, moov, tracks, runs, mdat_seen })
}

pub(super) fn run_len(r: &Run) -> usize {
    r.samples.iter().map(|s| s.0 as usize).sum()
}

pub(super) fn parse_moov(buf: &[u8], moov: &Bx) -> Result<Vec<Track>> {
    let mut tracks = Vec::new();
    let mut trex: Vec<(u32, Defaults)> = Vec::new();
    for c in children(buf, moov)? {
        if &c.kind == b"mvex" {
            for t in children(buf, &c)?.iter().filter(|t| &t.kind == b"trex") {
                let d = Defaults {
                    duration: field(buf, t, 12, 4)? as u32,
                    size: field(buf, t, 16, 4)? as u32,
                    flags: field(buf, t, 20, 4)? as u32,
                };
                trex.push((field(buf, t, 4, 4)? as u32, d));
            }
        }
        if &c.kind != b"trak" {
            continue;
        }
        let tkhd = child(buf, &c, b"tkhd")?.ok_or_else(|| bad(c.start, "trak without tkhd"))?;
        let v1 = field(buf, &tkhd, 0, 1)? == 1;
        let id = field(buf, &tkhd, if v1 { 20 } else { 12 }, 4)? as u32;
        let mdia = child(buf, &c, b"mdia")?.ok_or_else(|| bad(c.start, "trak without mdia"))?;
        let mdhd = child(buf, &mdia, b"mdhd")?.ok_or_else(|| bad(mdia.start, "no mdhd"))?;
        let v1 = field(buf, &mdhd, 0, 1)? == 1;
        let timescale = field(buf, &mdhd, if v1 { 20 } else { 12 }, 4)? as u32;
        if timescale == 0 {
            return Err(bad(mdhd.start, "timescale 0"));
        }
        let mut skip = 0;
        let edts = child(buf, &c, b"edts")?;
        if let Some(elst) = edts.map(|e| child(buf, &e, b"elst")).transpose()?.flatten() {
            let v1 = field(buf, &elst, 0, 1)? == 1;
            let n = field(buf, &elst, 4, 4)?;
            let (w, step) = if v1 { (8, 20) } else { (4, 12) };
            for i in 0..n.min(((elst.end - elst.body) / step) as u64) as usize {
                let t = field(buf, &elst, 8 + i * step + w, w)?;
                let media_time = if v1 { t as i64 } else { t as u32 as i32 as i64 };
                // The first edit that shows media (an empty edit, -1, only delays).
                if media_time >= 0 {
                    skip = media_time as u64;
                    break;
                }
            }
        }
        tracks.push(Track { trak: c, id, timescale, skip, defaults: Defaults::default() });
    }
    for t in &mut tracks {
        if let Some((_, d)) = trex.iter().find(|(id, _)| *id == t.id) {
            t.defaults = *d;
        }
    }
    Ok(tracks)
}

/// The runs of one `moof`, their sample offsets resolved to input offsets.
pub(super) fn parse_moof(buf: &[u8], moof: &Bx, tracks: &[Track]) -> Result<Vec<Run>> {
    let mut runs = Vec::new();
    // Without base-data-offset or default-base-is-moof, a traf's data follows the previous
    // traf's (ISO/IEC 14496-12 8.8.7.1).
    let mut previous_end = moof.start;
    for traf in children(buf, moof)?.iter().filter(|c| &c.kind == b"traf") {
        let tfhd =
            child(buf, traf, b"tfhd")?.ok_or_else(|| bad(traf.start, "traf without tfhd"))?;
        let flags = field(buf, &tfhd, 0, 4)? as u32 & 0xFF_FFFF;
        let id = field(buf, &tfhd, 4, 4)? as u32;
        let track = tracks.iter().position(|t| t.id == id);
        let track = track.ok_or_else(|| bad(tfhd.start, "tfhd names an unknown track"))?;
        let mut d = tracks[track].defaults;
        let mut at = 8;
        let mut base = if flags & 0x02_0000 != 0 { moof.start } else { previous_end };
        if flags & 0x1 != 0 {
            base = usize::try_from(field(buf, &tfhd, at, 8)?).unwrap_or(usize::MAX);
            at += 8;
        }
        for (bit, slot) in [(0x2, None), (0x8, Some(0)), (0x10, Some(1)), (0x20, Some(2))] {
            if flags & bit != 0 {
                let v = field(buf, &tfhd, at, 4)? as u32;
                match slot {
                    Some(0) => d.duration = v,
                    Some(1) => d.size = v,
                    Some(2) => d.flags = v,
                    _ => {}
                }
                at += 4;
            }
        }
        let mut time = match child(buf, traf, b"tfdt")? {
            Some(t) if field(buf, &t, 0, 1)? == 1 => Some(field(buf, &t, 4, 8)?),
            Some(t) => Some(field(buf, &t, 4, 4)?),
            None => None,
        };
        for trun in children(buf, traf)?.iter().filter(|c| &c.kind == b"trun") {
            let run = parse_trun(buf, trun, track, base, time.take(), d)?;
            previous_end = run.offset.saturating_add(run_len(&run));
            runs.push(run);
        }
    }
    Ok(runs)
}

pub(super) fn parse_trun(
    buf: &[u8],
    trun: &Bx,
    track: usize,
    base: usize,
    time: Option<u64>,
    d: Defaults,
) -> Result<Run> {
    let version = field(buf, trun, 0, 1)?;
    let flags = field(buf, trun, 0, 4)? as u32 & 0xFF_FFFF;
    let count = field(buf, trun, 4, 4)? as usize;
    let mut at = 8;
    let mut offset = base;
    if flags & 0x1 != 0 {
        let rel = field(buf, trun, at, 4)? as u32 as i32 as i64;
        let moved = i64::try_from(base).ok().and_then(|b| b.checked_add(rel));
        offset = moved
            .and_then(|o| usize::try_from(o).ok())
            .ok_or_else(|| bad(trun.start, "data offset outside the file"))?;
        at += 4;
    }
    let mut first_flags = None;
    if flags & 0x4 != 0 {
        first_flags = Some(field(buf, trun, at, 4)? as u32);
        at += 4;
    }
    let per = [0x100, 0x200, 0x400, 0x800].iter().filter(|&&b| flags & b != 0).count() * 4;
    // Every sample takes `per` bytes of the box: the count is checked against what is there.
    if per > 0 && count > (trun.end - trun.body).saturating_sub(at) / per {
        return Err(bad(trun.start, "trun sample count exceeds the box"));
    }
    // Without per-sample sizes the default size says how much data the run covers: it must
    // fit in the file (which also bounds the count).
    if flags & 0x200 == 0 && (d.size == 0 || count.saturating_mul(d.size as usize) > buf.len()) {
        return Err(bad(trun.start, "trun samples exceed the file"));
    }
    let mut samples = Vec::with_capacity(count);
    for i in 0..count {
        let mut next = |present: bool, default: u32| -> Result<u32> {
            if !present {
                return Ok(default);
            }
            let v = field(buf, trun, at, 4)? as u32;
            at += 4;
            Ok(v)
        };
        let duration = next(flags & 0x100 != 0, d.duration)?;
        let size = next(flags & 0x200 != 0, d.size)?;
        let default_flags = if i == 0 { first_flags.unwrap_or(d.flags) } else { d.flags };
        let sample_flags = next(flags & 0x400 != 0, default_flags)?;
        let cto = next(flags & 0x800 != 0, 0)?;
        let cto = if version == 1 { cto as i32 } else { cto.min(i32::MAX as u32) as i32 };
        // sample_is_non_sync_sample (bit 16).
        samples.push((size, duration, sample_flags & 0x1_0000 == 0, cto));
    }
    Ok(Run { track, offset, time, samples })
}
