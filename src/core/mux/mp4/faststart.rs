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

use crate::core::mux::mp4::boxes::{bx, edts, full, u32be, u64be};
use crate::core::mux::mp4::check::{check_box, check_faststart, stbl_of};
use crate::core::mux::mp4::read::{
    bad, child, children, field, run_len, scan, Bx, Run, Scan, Track,
};
use crate::core::mux::mp4::writer::mdat_header;
use crate::core::{Error, Result};

/// Rewrites a fragmented MP4 as a faststart one.
pub fn faststart(buf: &[u8]) -> Result<Vec<u8>> {
    let Scan { ftyp, moov, tracks, mut runs, mdat_seen } = scan(buf)?;
    let moov = moov.ok_or_else(|| bad(ftyp.end, "no moov box"))?;
    if runs.is_empty() && mdat_seen && moov.start < ftyp.end + 16 {
        // Not fragmented and its index first already: nothing to do, if it is whole.
        check_faststart(buf)?;
        return Ok(buf.to_vec());
    }
    if runs.is_empty() && mdat_seen {
        return Err(bad(moov.start, "an unfragmented MP4 (its index is complete already)"));
    }
    // What is copied as it is must be whole: players refuse a file with a damaged box.
    check_box(buf, &ftyp, true)?;
    check_box(buf, &moov, true)?;
    for t in &tracks {
        stbl_of(buf, &t.trak)?;
    }
    check_disjoint(&runs)?;
    Ok(rebuild(buf, &ftyp, &moov, &tracks, &mut runs))
}

/// Every byte of sample data belongs to one run at most: runs that point at the same bytes
/// would copy them once each, so a small file could ask for an output many times its size.
/// No muxer writes that; it is refused, naming the run that overlaps.
fn check_disjoint(runs: &[Run]) -> Result<()> {
    let mut spans: Vec<(usize, usize)> =
        runs.iter().map(|r| (r.offset, r.offset.saturating_add(run_len(r)))).collect();
    spans.sort_unstable();
    for pair in spans.windows(2) {
        if pair[1].0 < pair[0].1 {
            return Err(bad(pair[1].0, "sample data shared by two runs"));
        }
    }
    Ok(())
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
            // One size for all, unless that size is 0 (which says a table follows).
            let same = tb.sizes.first().filter(|&&s| s != 0 && tb.sizes.iter().all(|&x| x == s));
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

/// Rewrites the fragmented MP4 at `path` as a faststart one (a live WebM, from a browser, as a
/// seekable one: `seekable::make_seekable`): written to a temporary file next to it, synced,
/// then renamed over it, so that the live file stays if anything fails.
pub fn rewrite_file(path: &Path) -> Result<()> {
    if let Some(folder) = path.parent() {
        remove_stale_rewrites(folder);
    }
    let data = std::fs::read(path).map_err(|e| Error::io("read", path, &e))?;
    let out = crate::core::mux::matroska::seekable::make_seekable(&data)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}{REWRITE_TAG}{}", std::process::id()));
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

/// The temporary file of a rewrite is `.NAME` + this + the process id.
const REWRITE_TAG: &str = ".faststart-";

/// Removes from `folder` the temporary files of rewrites whose process is gone (killed
/// mid-rewrite: the recording itself is still the fragmented file, whole). Returns them.
/// A process is known gone by its missing `/proc` entry: without `/proc`, nothing is removed.
pub fn remove_stale_rewrites(folder: &Path) -> Vec<std::path::PathBuf> {
    let folder = if folder.as_os_str().is_empty() { Path::new(".") } else { folder };
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(folder) else { return removed };
    if !Path::new("/proc/self").exists() {
        return removed;
    }
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(rewrite_pid) else { continue };
        let gone = pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists();
        if gone && std::fs::remove_file(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    removed
}

/// The process id in the name of a rewrite's temporary file.
fn rewrite_pid(name: &str) -> Option<u32> {
    let (stem, pid) = name.rsplit_once(REWRITE_TAG)?;
    if !stem.starts_with('.') || stem.len() < 2 || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_rewrites_of_processes_that_are_gone_are_removed() {
        let dir = std::env::temp_dir().join(format!("mr-stale-rewrites-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Above any pid_max (2^22): no such process.
        let gone = dir.join(".take.mp4.faststart-4294967");
        let running = dir.join(format!(".other.mp4.faststart-{}", std::process::id()));
        let kept = ["take.mp4.faststart-1", ".faststart-1", ".x.faststart-12a", ".x.faststart-"];
        for name in kept.iter().map(|n| dir.join(n)).chain([gone.clone(), running.clone()]) {
            std::fs::write(name, b"x").unwrap();
        }
        assert_eq!(remove_stale_rewrites(&dir), vec![gone.clone()]);
        assert!(!gone.exists() && running.exists());
        assert!(kept.iter().all(|n| dir.join(n).exists()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
