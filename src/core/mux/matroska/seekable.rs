//! `make_seekable`: rewrites a live WebM (ours, or a browser's: unknown-size Segment and
//! Clusters, no Duration, no Cues) into a seekable one, without re-encoding, in one pass.
//!
//! The input is untrusted. Nothing here indexes without a check, allocates from a size field,
//! or loops without consuming input: every size is checked against what is left, and the output
//! holds input bytes plus a bounded overhead per cluster. A recording cut short (a process
//! killed mid-write) is repaired up to its last complete block; anything else that stops
//! making sense is an error that names the byte offset.

use crate::core::mux::matroska::ebml;
use crate::core::{Error, Result};

use ebml::id::{
    BLOCK, BLOCK_DURATION, BLOCK_GROUP, CLUSTER, CODEC_DELAY, CRC32, CUES, DEFAULT_DURATION,
    DISCARD_PADDING, DOC_TYPE, DURATION, EBML as EBML_HEADER, ENCRYPTED_BLOCK, INFO, POSITION,
    PREV_SIZE, REFERENCE_BLOCK, SEEK_HEAD, SEGMENT, SILENT_TRACKS, SIMPLE_BLOCK, TIMESTAMP,
    TIMESTAMP_SCALE, TRACKS, TRACK_ENTRY, TRACK_NUMBER, TRACK_TYPE, VOID,
};

/// Elements that may appear inside a Cluster; anything else ends an unknown-size Cluster.
const CLUSTER_CHILDREN: [u32; 9] = [
    TIMESTAMP,
    SIMPLE_BLOCK,
    BLOCK_GROUP,
    POSITION,
    PREV_SIZE,
    SILENT_TRACKS,
    ENCRYPTED_BLOCK,
    VOID,
    CRC32,
];

fn bad(offset: usize, what: &str) -> Error {
    Error::InvalidValue(format!("src: not a valid WebM file: {what} at byte offset {offset}"))
}

struct Element {
    id: u32,
    /// Offset of the element's first byte.
    start: usize,
    /// Offset of the payload.
    data: usize,
    /// Payload length; None for an unknown size.
    size: Option<usize>,
}

/// Reads one element header at `pos`; `end` bounds the parent.
fn header(buf: &[u8], pos: usize, end: usize) -> Result<Option<Element>> {
    if pos >= end {
        return Ok(None);
    }
    let first = buf[pos];
    let id_len = first.leading_zeros() as usize + 1;
    if id_len > 4 {
        return Err(bad(pos, "invalid element id"));
    }
    if pos + id_len > end {
        return Ok(None);
    }
    let id = buf[pos..pos + id_len].iter().fold(0u32, |a, &b| (a << 8) | b as u32);
    let spos = pos + id_len;
    if spos >= end {
        return Ok(None);
    }
    let s0 = buf[spos];
    let len = s0.leading_zeros() as usize + 1;
    if len > 8 {
        return Err(bad(spos, "invalid element size"));
    }
    if spos + len > end {
        return Ok(None);
    }
    let mut value = (s0 as u64) & (0xFF >> len);
    let mut all_ones = value == (0xFF >> len) as u64;
    for &b in &buf[spos + 1..spos + len] {
        value = (value << 8) | b as u64;
        all_ones &= b == 0xFF;
    }
    let size = if all_ones { None } else { Some(usize::try_from(value).unwrap_or(usize::MAX)) };
    Ok(Some(Element { id, start: pos, data: spos + len, size }))
}

fn read_uint(buf: &[u8], e: &Element) -> u64 {
    let n = e.size.unwrap_or(0).min(8);
    buf[e.data..e.data + n].iter().fold(0u64, |a, &b| (a << 8) | b as u64)
}

fn read_int(buf: &[u8], e: &Element) -> i64 {
    let n = e.size.unwrap_or(0).min(8);
    if n == 0 {
        return 0;
    }
    let v = read_uint(buf, e);
    let shift = 64 - 8 * n as u32;
    ((v << shift) as i64) >> shift
}

/// The children of a sized master element `[data, end)`.
fn children(buf: &[u8], data: usize, end: usize) -> Result<Vec<Element>> {
    let mut out = Vec::new();
    let mut pos = data;
    while let Some(e) = header(buf, pos, end)? {
        let size = e.size.ok_or_else(|| bad(e.start, "unknown size inside a sized element"))?;
        let next = e.data.checked_add(size).filter(|&n| n <= end);
        let next = next.ok_or_else(|| bad(e.start, "element runs past its parent"))?;
        pos = next;
        out.push(e);
    }
    Ok(out)
}

#[derive(Clone, Copy, Default)]
struct TrackMeta {
    number: u64,
    video: bool,
    default_duration: u64,
    codec_delay: u64,
}

/// One parsed block: its track, absolute time in ns, and where it ends in time.
struct BlockInfo {
    track: u64,
    time: i64,
    keyframe: bool,
    duration: Option<i64>,
    discard: i64,
}

fn parse_block(buf: &[u8], data: usize, end: usize, tc_ns: i64, scale: i64) -> Result<BlockInfo> {
    let first = *buf.get(data).filter(|_| data < end).ok_or_else(|| bad(data, "empty block"))?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || data + len + 3 > end {
        return Err(bad(data, "truncated block header"));
    }
    let track = buf[data..data + len].iter().fold(0u64, |a, &b| (a << 8) | b as u64)
        & ((1u64 << (7 * len)) - 1);
    let rel = i16::from_be_bytes([buf[data + len], buf[data + len + 1]]) as i64;
    let flags = buf[data + len + 2];
    Ok(BlockInfo {
        track,
        time: tc_ns.saturating_add(rel.saturating_mul(scale)),
        keyframe: flags & 0x80 != 0,
        duration: None,
        discard: 0,
    })
}

/// Rewrites `input` (a live or finished WebM) as a seekable WebM: one pass to find what it
/// holds ([`scan`]), then the output built from that ([`rebuild`]).
/// An MP4 (an `ftyp` first) is rewritten as a faststart MP4 instead
/// ([`crate::core::mux::mp4::faststart`]).
pub fn make_seekable(buf: &[u8]) -> Result<Vec<u8>> {
    if crate::core::mux::mp4::read::is_mp4(buf) {
        return crate::core::mux::mp4::faststart::faststart(buf);
    }
    let found = scan(buf)?;
    Ok(rebuild(buf, &found))
}

/// What the scan of an input found, as ranges into it.
struct Scan {
    /// End of the EBML header (copied as it is).
    ebml_end: usize,
    /// The first Info's children, and the first Tracks element (whole).
    info_children: Vec<(usize, usize)>,
    tracks: (usize, usize),
    /// Other top-level elements kept (Tags, Chapters, ...), whole.
    others: Vec<(usize, usize)>,
    metas: Vec<TrackMeta>,
    scale: i64,
    clusters: Vec<Cluster>,
    /// Where the decoded media ends, in ns.
    end_ns: i64,
}

/// Walks the input once: header, Segment children and every complete block.
fn scan(buf: &[u8]) -> Result<Scan> {
    let len = buf.len();
    let ebml_end = ebml_header_end(buf)?;
    let seg = header(buf, ebml_end, len)?.ok_or_else(|| bad(ebml_end, "no Segment"))?;
    if seg.id != SEGMENT {
        return Err(bad(ebml_end, "expected a Segment"));
    }
    let seg_end = match seg.size {
        Some(s) => seg.data.checked_add(s).map_or(len, |e| e.min(len)),
        None => len,
    };

    let mut info: Option<(usize, usize)> = None;
    let mut tracks_raw: Option<(usize, usize)> = None;
    let mut others: Vec<(usize, usize)> = Vec::new();
    let mut metas: Vec<TrackMeta> = Vec::new();
    let mut scale: i64 = 1_000_000;
    // Clusters as (timecode element bytes range, [block ranges]); kept as ranges into `buf`.
    let mut clusters: Vec<Cluster> = Vec::new();
    let mut end_ns: i64 = 0;
    let mut ends = TrackEnds::default();

    let mut pos = seg.data;
    while let Some(e) = header(buf, pos, seg_end)? {
        if e.id == CLUSTER {
            let (cluster, next) = parse_cluster(buf, &e, seg_end, scale)?;
            for b in &cluster.blocks {
                end_ns = end_ns.max(ends.block_end(b, &metas));
            }
            clusters.push(cluster);
            match next {
                Some(n) => pos = n,
                None => break,
            }
            continue;
        }
        let Some(size) = e.size else {
            return Err(bad(e.start, "unknown size on an element other than a Cluster"));
        };
        let Some(next) = e.data.checked_add(size).filter(|&n| n <= seg_end) else {
            if e.id == CUES || e.id == VOID || e.id == SEEK_HEAD {
                break; // a cut-off index at the end: rebuilt anyway
            }
            return Err(bad(e.start, "element runs past the end of the file"));
        };
        match e.id {
            // A second Info or Tracks is ignored: the first describes the clusters.
            INFO | TRACKS
                if (e.id == INFO && info.is_some()) || (e.id == TRACKS && tracks_raw.is_some()) => {
            }
            INFO => {
                for c in children(buf, e.data, next)? {
                    if c.id == TIMESTAMP_SCALE {
                        scale = (read_uint(buf, &c) as i64).clamp(1, 1_000_000_000);
                    }
                }
                info = Some((e.data, next));
            }
            TRACKS => {
                metas = track_metas(buf, e.data, next)?;
                tracks_raw = Some((e.start, next));
            }
            SEEK_HEAD | CUES | VOID | CRC32 => {}
            _ => others.push((e.start, next)),
        }
        pos = next;
    }
    let (info_data, info_end) =
        info.ok_or_else(|| bad(seg.data, "no Info before the first Cluster"))?;
    // A file cut before its first Cluster's header is complete still has a whole header: it
    // is written with one empty Cluster, without which demuxers refuse the file.
    if clusters.is_empty() {
        clusters.push(Cluster { timecode_ns: 0, blocks: Vec::new() });
    }
    let tracks = tracks_raw.ok_or_else(|| bad(seg.data, "no Tracks"))?;
    let info_children = children(buf, info_data, info_end)?
        .iter()
        .filter(|c| c.id != DURATION && c.id != VOID && c.id != CRC32)
        .map(|c| (c.start, c.data + c.size.unwrap_or(0)))
        .collect();
    Ok(Scan { ebml_end, info_children, tracks, others, metas, scale, clusters, end_ns })
}

/// Checks the EBML header (a webm or matroska DocType); returns where it ends.
fn ebml_header_end(buf: &[u8]) -> Result<usize> {
    let len = buf.len();
    let ebml = header(buf, 0, len)?.ok_or_else(|| bad(0, "no EBML header"))?;
    if ebml.id != EBML_HEADER {
        return Err(bad(0, "no EBML header"));
    }
    let ebml_end = ebml
        .size
        .and_then(|s| ebml.data.checked_add(s))
        .filter(|&e| e <= len)
        .ok_or_else(|| bad(0, "truncated EBML header"))?;
    let doc_ok = children(buf, ebml.data, ebml_end)?.iter().any(|c| {
        c.id == DOC_TYPE
            && matches!(&buf[c.data..c.data + c.size.unwrap_or(0)], b"webm" | b"matroska")
    });
    if !doc_ok {
        return Err(bad(ebml.data, "DocType is not webm or matroska"));
    }
    Ok(ebml_end)
}

/// What the TrackEntries of Tracks `[data, end)` say about timing.
fn track_metas(buf: &[u8], data: usize, end: usize) -> Result<Vec<TrackMeta>> {
    let mut metas = Vec::new();
    for entry in children(buf, data, end)?.iter().filter(|c| c.id == TRACK_ENTRY) {
        let end = entry.data + entry.size.unwrap_or(0);
        let mut m = TrackMeta::default();
        for c in children(buf, entry.data, end)? {
            match c.id {
                TRACK_NUMBER => m.number = read_uint(buf, &c),
                TRACK_TYPE => m.video = read_uint(buf, &c) == 1,
                DEFAULT_DURATION => m.default_duration = read_uint(buf, &c),
                CODEC_DELAY => m.codec_delay = read_uint(buf, &c),
                _ => {}
            }
        }
        metas.push(m);
    }
    Ok(metas)
}

/// Per track, the last block time and the step before it: a block without a duration lasts
/// its track's DefaultDuration, or as long as the step between its track's blocks.
#[derive(Default)]
struct TrackEnds(Vec<(u64, i64, i64)>);

impl TrackEnds {
    /// Where the decoded media of `b` ends (ns), CodecDelay and DiscardPadding removed.
    fn block_end(&mut self, b: &Block, metas: &[TrackMeta]) -> i64 {
        let meta = metas.iter().find(|m| m.number == b.info.track).copied().unwrap_or_default();
        let entry = match self.0.iter_mut().position(|t| t.0 == b.info.track) {
            Some(i) => &mut self.0[i],
            None => {
                self.0.push((b.info.track, b.info.time, 0));
                self.0.last_mut().expect("just pushed")
            }
        };
        if b.info.time > entry.1 {
            entry.2 = b.info.time.saturating_sub(entry.1);
        }
        entry.1 = entry.1.max(b.info.time);
        let duration = b.info.duration.unwrap_or(if meta.default_duration > 0 {
            i64::try_from(meta.default_duration).unwrap_or(i64::MAX)
        } else {
            entry.2
        });
        b.info
            .time
            .saturating_add(duration)
            .saturating_sub(b.info.discard)
            .saturating_sub(i64::try_from(meta.codec_delay).unwrap_or(i64::MAX))
    }
}

/// The seekable file: the input's header, then a Segment of known size with a SeekHead, Info
/// (with Duration), Tracks, the other elements, sized Clusters of the complete blocks, Cues.
fn rebuild(buf: &[u8], found: &Scan) -> Vec<u8> {
    let Scan { ebml_end, info_children, tracks, others, metas, scale, clusters, end_ns } = found;
    let (ebml_end, scale, end_ns) = (*ebml_end, *scale, *end_ns);
    let mut body = Vec::with_capacity(buf.len() + 64 * clusters.len() + 256);
    let seek_head_at = body.len();
    body.resize(ebml::SEEK_HEAD_ROOM, 0);
    let info_pos = body.len() as u64;
    let mut info_body = Vec::new();
    for &(s, e) in info_children {
        info_body.extend_from_slice(&buf[s..e]);
    }
    ebml::float(&mut info_body, DURATION, end_ns.max(0) as f64 / scale as f64);
    ebml::bytes(&mut body, INFO, &info_body);
    let tracks_pos = body.len() as u64;
    body.extend_from_slice(&buf[tracks.0..tracks.1]);
    for &(s, e) in others {
        body.extend_from_slice(&buf[s..e]);
    }
    let cue_track = metas.iter().find(|m| m.video).or(metas.first()).map_or(1, |m| m.number);
    let has_video = metas.iter().any(|m| m.video);
    let mut cues = Vec::new();
    for cluster in clusters {
        let first = cluster.blocks.iter().find(|b| b.info.track == cue_track);
        if !has_video || first.is_some_and(|b| b.info.keyframe) {
            cues.push(((cluster.timecode_ns / scale).max(0) as u64, body.len() as u64));
        }
        let mut payload = Vec::new();
        ebml::uint(&mut payload, TIMESTAMP, (cluster.timecode_ns / scale).max(0) as u64);
        for b in &cluster.blocks {
            payload.extend_from_slice(&buf[b.start..b.end]);
        }
        ebml::bytes(&mut body, CLUSTER, &payload);
    }
    let cues_pos = body.len() as u64;
    ebml::cues(&mut body, cue_track, &cues);
    let seek_head = ebml::seek_head(&[(INFO, info_pos), (TRACKS, tracks_pos), (CUES, cues_pos)]);
    body[seek_head_at..seek_head_at + ebml::SEEK_HEAD_ROOM].copy_from_slice(&seek_head);

    let mut out = Vec::with_capacity(body.len() + ebml_end + 12);
    out.extend_from_slice(&buf[..ebml_end]);
    ebml::id(&mut out, SEGMENT);
    out.extend_from_slice(&ebml::size8(body.len() as u64));
    out.extend_from_slice(&body);
    out
}

struct Block {
    start: usize,
    end: usize,
    info: BlockInfo,
}

struct Cluster {
    timecode_ns: i64,
    blocks: Vec<Block>,
}

/// Parses a Cluster; returns it and where the next top-level element starts (None: the file
/// ended inside it, which keeps every complete block).
fn parse_cluster(
    buf: &[u8],
    c: &Element,
    seg_end: usize,
    scale: i64,
) -> Result<(Cluster, Option<usize>)> {
    let end = match c.size {
        Some(s) => c.data.checked_add(s).map_or(seg_end, |e| e.min(seg_end)),
        None => seg_end,
    };
    let truncated = c.size.is_some_and(|s| c.data.saturating_add(s) > seg_end);
    let mut cluster = Cluster { timecode_ns: 0, blocks: Vec::new() };
    let mut pos = c.data;
    loop {
        let Some(e) = header(buf, pos, end)? else {
            return Ok((cluster, cut(truncated, pos, end)));
        };
        if c.size.is_none() && !CLUSTER_CHILDREN.contains(&e.id) {
            return Ok((cluster, Some(pos))); // the next top-level element
        }
        let Some(size) = e.size else { return Err(bad(e.start, "unknown size inside a Cluster")) };
        let Some(next) = e.data.checked_add(size).filter(|&n| n <= end) else {
            // A block cut off by the end of the file: keep what came before it.
            return Ok((cluster, None));
        };
        match e.id {
            TIMESTAMP => {
                let tc = i64::try_from(read_uint(buf, &e)).unwrap_or(i64::MAX);
                cluster.timecode_ns = tc.saturating_mul(scale);
            }
            SIMPLE_BLOCK => {
                let info = parse_block(buf, e.data, next, cluster.timecode_ns, scale)?;
                cluster.blocks.push(Block { start: e.start, end: next, info });
            }
            BLOCK_GROUP => {
                let mut info = None;
                let (mut duration, mut discard, mut referenced) = (None, 0, false);
                for g in children(buf, e.data, next)? {
                    match g.id {
                        BLOCK => {
                            let gend = g.data + g.size.unwrap_or(0);
                            info =
                                Some(parse_block(buf, g.data, gend, cluster.timecode_ns, scale)?);
                        }
                        BLOCK_DURATION => {
                            let d = i64::try_from(read_uint(buf, &g)).unwrap_or(i64::MAX);
                            duration = Some(d.saturating_mul(scale));
                        }
                        DISCARD_PADDING => discard = read_int(buf, &g),
                        REFERENCE_BLOCK => referenced = true,
                        _ => {}
                    }
                }
                let mut info = info.ok_or_else(|| bad(e.start, "BlockGroup without a Block"))?;
                info.keyframe = !referenced;
                info.duration = duration;
                info.discard = discard;
                cluster.blocks.push(Block { start: e.start, end: next, info });
            }
            _ => {}
        }
        pos = next;
    }
}

fn cut(truncated: bool, pos: usize, end: usize) -> Option<usize> {
    if truncated || pos < end {
        None
    } else {
        Some(end)
    }
}

#[cfg(test)]
mod tests {
    use super::make_seekable;

    /// The fuzzer's first finding: a file with a second Tracks element rewrote differently
    /// the second time. Kept as a seed of the fuzz corpus too.
    #[test]
    fn rewrite_is_a_fixed_point_for_the_first_fuzz_finding() {
        let input = include_bytes!("../../../../fuzz/seeds/regression-fixed-point.bin");
        let out = make_seekable(input).expect("the input is repairable");
        assert_eq!(make_seekable(&out).expect("parses again"), out);
    }

    #[test]
    fn garbage_names_an_offset() {
        let e = make_seekable(b"\x1a\x45\xdf\xa3\x84\x42\x82\x81x").unwrap_err();
        assert!(e.to_string().contains("byte offset 5"), "{e}");
    }
}
