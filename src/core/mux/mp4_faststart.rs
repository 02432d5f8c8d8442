//! Fragmented MP4 (ours, or Chrome's: `moof` + `mdat` fragments after an init segment) to a
//! faststart MP4 (`ftyp`, `moov` with complete sample tables, then one `mdat`), without
//! re-encoding. The `moov` of the input is kept box for box, except the durations, the edit
//! lists, the sample tables and `mvex`, which are rebuilt from the fragments.
//!
//! The input is untrusted: every size and offset is checked against the input before use,
//! nothing is allocated from a size field, and a recording cut short (a crash mid-write) is
//! rewritten up to its last complete fragment. Anything else that stops making sense is an
//! error naming the byte offset.

use std::path::Path;

use crate::core::mux::mp4::mdat_header;
use crate::core::mux::mp4_boxes::{bx, edts, full, u32be, u64be};
use crate::core::{Error, Result};

fn bad(offset: usize, what: &str) -> Error {
    Error::InvalidValue(format!("src: not a valid MP4 file: {what} at byte offset {offset}"))
}

/// Whether `buf` starts like an ISO BMFF file (an `ftyp` box).
pub fn is_mp4(buf: &[u8]) -> bool {
    buf.get(4..8) == Some(b"ftyp")
}

/// A box inside the input: `[start, end)`, its payload from `body`.
#[derive(Clone, Copy)]
struct Bx {
    kind: [u8; 4],
    start: usize,
    body: usize,
    end: usize,
}

/// The box at `pos` within `[pos, end)`; None if its header or payload runs past `end`.
fn read_box(buf: &[u8], pos: usize, end: usize) -> Result<Option<Bx>> {
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
fn children(buf: &[u8], parent: &Bx) -> Result<Vec<Bx>> {
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

fn child(buf: &[u8], parent: &Bx, kind: &[u8; 4]) -> Result<Option<Bx>> {
    Ok(children(buf, parent)?.into_iter().find(|c| &c.kind == kind))
}

/// A big-endian field of `n` bytes at `at` inside box `b`.
fn field(buf: &[u8], b: &Bx, at: usize, n: usize) -> Result<u64> {
    let s = b.body + at;
    if s + n > b.end {
        return Err(bad(b.start, "box too short"));
    }
    Ok(buf[s..s + n].iter().fold(0u64, |a, &x| (a << 8) | x as u64))
}

#[derive(Clone, Copy, Default)]
struct Defaults {
    duration: u32,
    size: u32,
    flags: u32,
}

/// A run of one track's samples, contiguous in the input.
struct Run {
    track: usize,
    offset: usize,
    /// Decode time of the first sample, when the fragment says it (`tfdt`).
    time: Option<u64>,
    /// Per sample: size, duration, sync, composition offset.
    samples: Vec<(u32, u32, bool, i32)>,
}

struct Track {
    trak: Bx,
    id: u32,
    timescale: u32,
    /// The media time the first edit starts at (the skipped priming), if any.
    skip: u64,
    defaults: Defaults,
}

/// Rewrites a fragmented MP4 as a faststart one.
pub fn faststart(buf: &[u8]) -> Result<Vec<u8>> {
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
    let moov = moov.ok_or_else(|| bad(ftyp.end, "no moov box"))?;
    if runs.is_empty() && mdat_seen && moov.start < ftyp.end + 16 {
        // Not fragmented and its index first already: nothing to do.
        return Ok(buf.to_vec());
    }
    if runs.is_empty() && mdat_seen {
        return Err(bad(moov.start, "an unfragmented MP4 (its index is complete already)"));
    }
    Ok(rebuild(buf, &ftyp, &moov, &tracks, &mut runs))
}

fn run_len(r: &Run) -> usize {
    r.samples.iter().map(|s| s.0 as usize).sum()
}

fn parse_moov(buf: &[u8], moov: &Bx) -> Result<Vec<Track>> {
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
fn parse_moof(buf: &[u8], moof: &Bx, tracks: &[Track]) -> Result<Vec<Run>> {
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

fn parse_trun(
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

/// Per track: the sample tables' columns, and where its decoding starts.
#[derive(Default)]
struct Tables {
    first_time: Option<u64>,
    sizes: Vec<u32>,
    durations: Vec<u32>,
    sync: Vec<bool>,
    cto: Vec<i32>,
    /// (sample count, run index) per chunk.
    chunks: Vec<(u32, usize)>,
}

fn rebuild(buf: &[u8], ftyp: &Bx, moov: &Bx, tracks: &[Track], runs: &mut [Run]) -> Vec<u8> {
    // A fragment's last sample lasts until the next fragment of its track starts (its tfdt),
    // which the fragment could not know when it was written.
    let mut ends: Vec<Option<(usize, u64)>> = vec![None; tracks.len()];
    for i in 0..runs.len() {
        let t = runs[i].track;
        if let (Some((prev, prev_end)), Some(time)) = (ends[t], runs[i].time) {
            if let Some(last) = runs[prev].samples.last_mut() {
                let start = prev_end.saturating_sub(last.1 as u64);
                if time > start {
                    last.1 = (time - start).min(u32::MAX as u64) as u32;
                }
            }
        }
        let start = match (runs[i].time, ends[t]) {
            (Some(time), _) => time,
            (None, Some((_, end))) => end,
            (None, None) => 0,
        };
        let end = runs[i].samples.iter().fold(start, |e, s| e.saturating_add(s.1 as u64));
        ends[t] = Some((i, end));
    }
    let mut tables: Vec<Tables> = tracks.iter().map(|_| Tables::default()).collect();
    for (i, r) in runs.iter().enumerate() {
        let tb = &mut tables[r.track];
        tb.first_time.get_or_insert(r.time.unwrap_or(0));
        for &(size, duration, sync, cto) in &r.samples {
            tb.sizes.push(size);
            tb.durations.push(duration);
            tb.sync.push(sync);
            tb.cto.push(cto);
        }
        tb.chunks.push((r.samples.len() as u32, i));
    }
    let data_len: u64 = runs.iter().map(|r| run_len(r) as u64).sum();
    let movie_ts = movie_timescale(buf, moov);
    // Offsets past 4 GiB need co64; the moov's size depends on that choice only.
    let probe = moov_box(buf, moov, tracks, &tables, runs, movie_ts, 0, false);
    let large = (ftyp.end - ftyp.start + probe.len()) as u64 + 16 + data_len > u32::MAX as u64;
    let header = if data_len + 8 > u32::MAX as u64 { 16 } else { 8 };
    let probe = moov_box(buf, moov, tracks, &tables, runs, movie_ts, 0, large);
    let data_start = (ftyp.end - ftyp.start + probe.len() + header) as u64;
    let moov_bytes = moov_box(buf, moov, tracks, &tables, runs, movie_ts, data_start, large);
    let mut out = Vec::with_capacity(data_start as usize + data_len as usize);
    out.extend_from_slice(&buf[ftyp.start..ftyp.end]);
    out.extend_from_slice(&moov_bytes);
    mdat_header(&mut out, data_len);
    for r in runs.iter() {
        out.extend_from_slice(&buf[r.offset..r.offset + run_len(r)]);
    }
    out
}

fn movie_timescale(buf: &[u8], moov: &Bx) -> u32 {
    let mvhd = child(buf, moov, b"mvhd").ok().flatten();
    let ts = mvhd.and_then(|m| {
        let v1 = field(buf, &m, 0, 1).ok()? == 1;
        field(buf, &m, if v1 { 20 } else { 12 }, 4).ok()
    });
    ts.filter(|&t| t > 0).map_or(1000, |t| t as u32)
}

/// Copies box `b`, its big-endian duration field (at `v0` in version 0, `v1` in version 1)
/// set to `duration`.
fn with_duration(out: &mut Vec<u8>, buf: &[u8], b: &Bx, v0: usize, v1: usize, duration: u64) {
    let start = out.len();
    out.extend_from_slice(&buf[b.start..b.end]);
    let version = buf.get(b.body).copied().unwrap_or(0);
    let (at, n) = if version == 1 { (v1, 8) } else { (v0, 4) };
    let at = start + (b.body - b.start) + at;
    if at + n <= out.len() {
        let bytes = duration.min(if n == 4 { u32::MAX as u64 } else { u64::MAX }).to_be_bytes();
        out[at..at + n].copy_from_slice(&bytes[8 - n..]);
    }
}

#[allow(clippy::too_many_arguments)]
fn moov_box(
    buf: &[u8],
    moov: &Bx,
    tracks: &[Track],
    tables: &[Tables],
    runs: &[Run],
    movie_ts: u32,
    data_start: u64,
    large: bool,
) -> Vec<u8> {
    // Chunk offsets in the output: runs are copied in input order.
    let mut run_offsets = Vec::with_capacity(runs.len());
    let mut at = data_start;
    for r in runs {
        run_offsets.push(at);
        at += run_len(r) as u64;
    }
    let mut movie_duration = 0u64;
    let mut traks = Vec::new();
    for (t, tb) in tracks.iter().zip(tables) {
        let media = tb.durations.iter().fold(0u64, |m, &d| m.saturating_add(d as u64));
        let scale = |v: u64, from: u32| (v as u128 * movie_ts as u128 / from as u128) as u64;
        let delay = scale(tb.first_time.unwrap_or(0), t.timescale);
        let shown = scale(media.saturating_sub(t.skip), t.timescale);
        movie_duration = movie_duration.max(delay.saturating_add(shown));
        let mut entries = Vec::new();
        if delay > 0 {
            entries.push((delay, -1));
        }
        if t.skip > 0 || delay > 0 {
            entries.push((shown, t.skip as i64));
        }
        let chunk_offsets: Vec<u64> = tb.chunks.iter().map(|&(_, i)| run_offsets[i]).collect();
        let duration = delay.saturating_add(shown);
        trak_box(&mut traks, buf, t, tb, &entries, duration, media, &chunk_offsets, large);
    }
    let mut out = Vec::new();
    bx(&mut out, b"moov", |o| {
        for c in children(buf, moov).unwrap_or_default() {
            match &c.kind {
                b"mvhd" => with_duration(o, buf, &c, 16, 24, movie_duration),
                b"trak" | b"mvex" => {}
                _ => o.extend_from_slice(&buf[c.start..c.end]),
            }
        }
        o.extend_from_slice(&traks);
    });
    out
}

#[allow(clippy::too_many_arguments)]
fn trak_box(
    out: &mut Vec<u8>,
    buf: &[u8],
    t: &Track,
    tb: &Tables,
    entries: &[(u64, i64)],
    duration: u64,
    media: u64,
    chunk_offsets: &[u64],
    large: bool,
) {
    bx(out, b"trak", |o| {
        for c in children(buf, &t.trak).unwrap_or_default() {
            match &c.kind {
                b"tkhd" => {
                    with_duration(o, buf, &c, 20, 28, duration);
                    if !entries.is_empty() {
                        edts(o, entries);
                    }
                }
                b"edts" => {}
                b"mdia" => bx(o, b"mdia", |o| {
                    for m in children(buf, &c).unwrap_or_default() {
                        match &m.kind {
                            b"mdhd" => with_duration(o, buf, &m, 16, 24, media),
                            b"minf" => bx(o, b"minf", |o| {
                                for n in children(buf, &m).unwrap_or_default() {
                                    if &n.kind == b"stbl" {
                                        stbl(o, buf, &n, tb, chunk_offsets, large);
                                    } else {
                                        o.extend_from_slice(&buf[n.start..n.end]);
                                    }
                                }
                            }),
                            _ => o.extend_from_slice(&buf[m.start..m.end]),
                        }
                    }
                }),
                _ => o.extend_from_slice(&buf[c.start..c.end]),
            }
        }
    });
}

/// Run-length pairs of equal consecutive values.
fn runs_of<T: Copy + PartialEq>(values: &[T]) -> Vec<(u32, T)> {
    let mut out: Vec<(u32, T)> = Vec::new();
    for &v in values {
        match out.last_mut() {
            Some((n, last)) if *last == v => *n += 1,
            _ => out.push((1, v)),
        }
    }
    out
}

fn stbl(out: &mut Vec<u8>, buf: &[u8], old: &Bx, tb: &Tables, chunk_offsets: &[u64], large: bool) {
    bx(out, b"stbl", |o| {
        if let Ok(Some(stsd)) = child(buf, old, b"stsd") {
            o.extend_from_slice(&buf[stsd.start..stsd.end]);
        }
        full(o, b"stts", 0, 0, |o| {
            let r = runs_of(&tb.durations);
            u32be(o, r.len() as u32);
            for (n, d) in r {
                u32be(o, n);
                u32be(o, d);
            }
        });
        if tb.cto.iter().any(|&c| c != 0) {
            full(o, b"ctts", 1, 0, |o| {
                let r = runs_of(&tb.cto);
                u32be(o, r.len() as u32);
                for (n, c) in r {
                    u32be(o, n);
                    u32be(o, c as u32);
                }
            });
        }
        if tb.sync.iter().any(|s| !s) {
            full(o, b"stss", 0, 0, |o| {
                let n = tb.sync.iter().filter(|s| **s).count();
                u32be(o, n as u32);
                for (i, _) in tb.sync.iter().enumerate().filter(|(_, s)| **s) {
                    u32be(o, i as u32 + 1);
                }
            });
        }
        full(o, b"stsc", 0, 0, |o| {
            let mut entries: Vec<(u32, u32)> = Vec::new();
            for (i, &(n, _)) in tb.chunks.iter().enumerate() {
                if entries.last().is_none_or(|&(_, last)| last != n) {
                    entries.push((i as u32 + 1, n));
                }
            }
            u32be(o, entries.len() as u32);
            for (first, n) in entries {
                u32be(o, first);
                u32be(o, n);
                u32be(o, 1); // sample description index
            }
        });
        full(o, b"stsz", 0, 0, |o| {
            let same = tb.sizes.first().filter(|&&s| tb.sizes.iter().all(|&x| x == s));
            u32be(o, same.copied().unwrap_or(0));
            u32be(o, tb.sizes.len() as u32);
            if same.is_none() {
                tb.sizes.iter().for_each(|&s| u32be(o, s));
            }
        });
        let kind = if large { b"co64" } else { b"stco" };
        full(o, kind, 0, 0, |o| {
            u32be(o, chunk_offsets.len() as u32);
            for &c in chunk_offsets {
                if large {
                    u64be(o, c);
                } else {
                    u32be(o, c as u32);
                }
            }
        });
    });
}

/// Rewrites the fragmented MP4 at `path` as a faststart one: written to a temporary file next
/// to it, synced, then renamed over it, so that the fragmented file stays if anything fails.
pub fn rewrite_file(path: &Path) -> Result<()> {
    let data = std::fs::read(path).map_err(|e| Error::io("read", path, &e))?;
    let out = faststart(&data)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.faststart-{}", std::process::id()));
    let written = (|| {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io("create", &tmp, &e))?;
        f.write_all(&out).map_err(|e| Error::io("write", &tmp, &e))?;
        f.sync_all().map_err(|e| Error::io("write", &tmp, &e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io("rename", path, &e))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
