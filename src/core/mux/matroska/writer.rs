//! WebM muxing, live layout: EBML header, an unknown-size Segment with Info and Tracks, then
//! sized Clusters. Bytes leave the muxer only at [`WebmMuxer::flush`], which closes the open
//! cluster, so every chunk after the first starts on a cluster boundary and the concatenation
//! of all chunks is a valid file.
//!
//! The header reserves room (Void elements) for a SeekHead and the Duration, and the muxer
//! remembers where every cluster starts. [`WebmMuxer::finalize`] appends Cues and returns the
//! patches (segment size, SeekHead, Duration) that turn the stream, once written to a seekable
//! file, into a seekable WebM. Without the patches the stream stays a valid live WebM.

use crate::core::mux::matroska::ebml;
use crate::core::mux::Patches;
use crate::core::packet::Packet;

use ebml::id::{
    AUDIO, BIT_DEPTH, BLOCK, BLOCK_DURATION, BLOCK_GROUP, CHANNELS, CLUSTER, CODEC_DELAY, CODEC_ID,
    CODEC_PRIVATE, CUES, DISCARD_PADDING, DOC_TYPE, DOC_TYPE_READ_VERSION, DOC_TYPE_VERSION,
    DURATION, EBML, EBML_MAX_ID_LENGTH, EBML_MAX_SIZE_LENGTH, EBML_READ_VERSION, EBML_VERSION,
    FLAG_LACING, INFO, MUXING_APP, PIXEL_HEIGHT, PIXEL_WIDTH, REFERENCE_BLOCK, SAMPLING_FREQUENCY,
    SEEK_PRE_ROLL, SEGMENT, SIMPLE_BLOCK, TIMESTAMP, TIMESTAMP_SCALE, TRACKS, TRACK_ENTRY,
    TRACK_NUMBER, TRACK_TYPE, TRACK_UID, VIDEO, WRITING_APP,
};
use ebml::SEEK_HEAD_ROOM;

/// Exactly a Duration element: 2-byte id, 1-byte size, 8-byte float.
const DURATION_ROOM: usize = 11;

/// A cluster's block timecodes are 16-bit offsets; close well before they could overflow.
const MAX_CLUSTER_MS: i64 = 5_000;
const NS_PER_MS: i64 = 1_000_000;

/// What the muxer needs to know of a track.
#[derive(Debug, Clone)]
pub struct TrackInfo {
    pub codec_id: &'static str,
    /// Audio: bits per sample, for PCM (0: not written).
    pub bit_depth: u8,
    pub codec_private: Option<Vec<u8>>,
    pub codec_delay_ns: u64,
    pub seek_pre_roll_ns: u64,
    pub kind: TrackFormat,
}

#[derive(Debug, Clone, Copy)]
pub enum TrackFormat {
    Audio { sample_rate: f64, channels: u16 },
    Video { width: u32, height: u32 },
}

pub struct WebmMuxer {
    tracks: Vec<TrackInfo>,
    doc_type: &'static str,
    /// TrackUIDs, random and distinct (mkvmerge renumbers a file with a UID twice).
    uids: Vec<u64>,
    header: Option<Vec<u8>>,
    out: Vec<u8>,
    /// The open cluster: its timecode (ms), body, and whether it holds a block yet.
    cluster: Option<(i64, Vec<u8>, bool)>,
    /// Whether the open cluster can be a seek target (it starts on a video keyframe, or the
    /// recording has no video).
    cluster_cue: bool,
    /// Bytes handed over by `flush` so far.
    flushed: u64,
    layout: Layout,
    cues: Vec<(u64, u64)>,
    end_ns: i64,
    /// Per track, the timestamp (ms) of its previous block, which a delta frame references.
    previous_ms: Vec<Option<i64>>,
    /// The longest a cluster lasts (ms).
    max_cluster_ms: i64,
}

/// Where the header's patchable parts are, in stream offsets.
#[derive(Debug, Default, Clone, Copy)]
struct Layout {
    segment_size: u64,
    segment_data: u64,
    seek_head: u64,
    info: u64,
    tracks: u64,
    duration: u64,
}

impl WebmMuxer {
    /// `doc_type`: "webm", or "matroska" for `video/x-matroska`.
    pub fn new(tracks: Vec<TrackInfo>, doc_type: &'static str) -> Self {
        let uids = random_uids(tracks.len());
        let n_tracks = tracks.len();
        WebmMuxer {
            tracks,
            doc_type,
            uids,
            header: None,
            out: Vec::new(),
            cluster: None,
            cluster_cue: false,
            flushed: 0,
            layout: Layout::default(),
            cues: Vec::new(),
            end_ns: 0,
            previous_ms: vec![None; n_tracks],
            max_cluster_ms: MAX_CLUSTER_MS,
        }
    }

    pub fn has_video(&self) -> bool {
        self.tracks.iter().any(|t| matches!(t.kind, TrackFormat::Video { .. }))
    }

    /// Closes clusters after `ms` of media at most (a file written as it goes loses no more
    /// than that if the process dies).
    pub fn set_max_cluster_ms(&mut self, ms: i64) {
        self.max_cluster_ms = ms.clamp(1, MAX_CLUSTER_MS);
    }

    /// Whether any byte (the header included) has been produced.
    pub fn started(&self) -> bool {
        self.header.is_some()
    }

    /// Adds one packet. Packets must come in non-decreasing `pts` order. `last`: no later
    /// packet of its track is known, so its duration is written (a BlockGroup with
    /// BlockDuration); players take the end of the track from it.
    pub fn write(&mut self, p: &Packet, last: bool) {
        self.begin();
        let ms = p.pts.div_euclid(NS_PER_MS);
        let video_key = p.keyframe
            && matches!(self.tracks.get(p.track).map(|t| t.kind), Some(TrackFormat::Video { .. }));
        if let Some((start, _, has_blocks)) = &self.cluster {
            // Clusters start on video keyframes, so that a player can seek to any of them.
            if ms - start > self.max_cluster_ms || ms < *start || (video_key && *has_blocks) {
                self.close_cluster();
            }
        }
        if self.cluster.is_none() {
            self.cluster_cue = !self.has_video() || video_key;
        }
        // Where the decoded media ends: Opus decoders drop CodecDelay at the start and
        // DiscardPadding at the end.
        let delay = self.tracks.get(p.track).map_or(0, |t| t.codec_delay_ns as i64);
        self.end_ns = self.end_ns.max(p.pts + p.duration - p.discard_padding - delay);
        let (start, body, has_blocks) = self.cluster.get_or_insert_with(|| {
            let mut body = Vec::new();
            ebml::uint(&mut body, TIMESTAMP, ms.max(0) as u64);
            (ms, body, false)
        });
        *has_blocks = true;
        let rel = (ms - *start) as i16;
        let previous = self.previous_ms.get_mut(p.track).and_then(|m| m.replace(ms));
        let mut block = Vec::with_capacity(p.data.len() + 4);
        ebml::size(&mut block, p.track as u64 + 1);
        block.extend_from_slice(&rel.to_be_bytes());
        if p.discard_padding == 0 && !last {
            block.push(if p.keyframe { 0x80 } else { 0x00 });
            block.extend_from_slice(&p.data);
            ebml::bytes(body, SIMPLE_BLOCK, &block);
        } else {
            // A Block has no keyframe flag: a BlockGroup without ReferenceBlock is a keyframe.
            block.push(0x00);
            block.extend_from_slice(&p.data);
            // In timestamp units from the block's own (rounded) timestamp, so that the block
            // ends where the packet does.
            let duration = ((p.pts + p.duration).div_euclid(NS_PER_MS) - ms).max(0) as u64;
            ebml::master(body, BLOCK_GROUP, |g| {
                ebml::bytes(g, BLOCK, &block);
                ebml::uint(g, BLOCK_DURATION, duration);
                if !p.keyframe {
                    // Without it a BlockGroup's frame counts as a keyframe (seek target).
                    let back = previous.map_or(-1, |prev| (prev - ms).min(-1));
                    ebml::int(g, REFERENCE_BLOCK, back);
                }
                if p.discard_padding != 0 {
                    ebml::int(g, DISCARD_PADDING, p.discard_padding);
                }
            });
        }
    }

    /// The bytes produced since the last flush that are final: [`Self::flush`] returns them
    /// first.
    pub fn pending(&self) -> &[u8] {
        &self.out
    }

    /// Writes the header (EBML, Segment, Info, Tracks) unless it is written.
    pub fn begin(&mut self) {
        if self.header.is_none() {
            let (header, layout) = self.header_bytes();
            self.layout = layout;
            self.out.extend_from_slice(&header);
            self.header = Some(header);
        }
    }

    /// Closes the open cluster and hands over every byte produced since the last flush.
    pub fn flush(&mut self) -> Vec<u8> {
        self.close_cluster();
        self.flushed += self.out.len() as u64;
        std::mem::take(&mut self.out)
    }

    fn close_cluster(&mut self) {
        if let Some((start, body, _)) = self.cluster.take() {
            if self.cluster_cue {
                let pos = self.flushed + self.out.len() as u64 - self.layout.segment_data;
                self.cues.push((start.max(0) as u64, pos));
            }
            ebml::bytes(&mut self.out, CLUSTER, &body);
        }
    }

    /// Ends the stream: closes the cluster, appends the Cues, and returns the last bytes with
    /// the patches that make a file of the whole stream seekable (None if nothing was muxed).
    pub fn finalize(&mut self) -> (Vec<u8>, Option<Patches>) {
        if self.header.is_none() {
            return (self.flush(), None);
        }
        self.close_cluster();
        let l = self.layout;
        let cues_pos = self.flushed + self.out.len() as u64 - l.segment_data;
        let video = self.tracks.iter().position(|t| matches!(t.kind, TrackFormat::Video { .. }));
        let cue_track = video.unwrap_or(0) as u64 + 1;
        ebml::cues(&mut self.out, cue_track, &std::mem::take(&mut self.cues));
        let end = self.flushed + self.out.len() as u64;
        let size = ebml::size8(end - l.segment_data).to_vec();
        let seek_head = ebml::seek_head(&[
            (INFO, l.info - l.segment_data),
            (TRACKS, l.tracks - l.segment_data),
            (CUES, cues_pos),
        ]);
        let mut duration = Vec::new();
        ebml::float(&mut duration, DURATION, self.end_ns as f64 / NS_PER_MS as f64);
        let patches =
            Patches(vec![(l.segment_size, size), (l.seek_head, seek_head), (l.duration, duration)]);
        (self.flush(), Some(patches))
    }

    fn header_bytes(&self) -> (Vec<u8>, Layout) {
        let mut out = Vec::new();
        let mut layout = Layout::default();
        ebml::master(&mut out, EBML, |h| {
            ebml::uint(h, EBML_VERSION, 1);
            ebml::uint(h, EBML_READ_VERSION, 1);
            ebml::uint(h, EBML_MAX_ID_LENGTH, 4);
            ebml::uint(h, EBML_MAX_SIZE_LENGTH, 8);
            ebml::string(h, DOC_TYPE, self.doc_type);
            ebml::uint(h, DOC_TYPE_VERSION, 4);
            ebml::uint(h, DOC_TYPE_READ_VERSION, 2);
        });
        ebml::id(&mut out, SEGMENT);
        layout.segment_size = out.len() as u64;
        out.extend_from_slice(&ebml::UNKNOWN_SIZE);
        layout.segment_data = out.len() as u64;
        layout.seek_head = out.len() as u64;
        ebml::void(&mut out, SEEK_HEAD_ROOM);
        layout.info = out.len() as u64;
        let mut info = Vec::new();
        ebml::uint(&mut info, TIMESTAMP_SCALE, NS_PER_MS as u64); // 1 ms
        let duration_at = info.len();
        ebml::void(&mut info, DURATION_ROOM);
        let app = concat!("mediarecorder-", env!("CARGO_PKG_VERSION"));
        ebml::string(&mut info, MUXING_APP, app);
        ebml::string(&mut info, WRITING_APP, app);
        ebml::id(&mut out, INFO);
        ebml::size(&mut out, info.len() as u64);
        layout.duration = (out.len() + duration_at) as u64;
        out.extend_from_slice(&info);
        layout.tracks = out.len() as u64;
        ebml::master(&mut out, TRACKS, |t| {
            for (n, track) in self.tracks.iter().enumerate() {
                ebml::master(t, TRACK_ENTRY, |e| {
                    ebml::uint(e, TRACK_NUMBER, n as u64 + 1);
                    ebml::uint(e, TRACK_UID, self.uids[n]);
                    let type_ = match track.kind {
                        TrackFormat::Video { .. } => 1,
                        TrackFormat::Audio { .. } => 2,
                    };
                    ebml::uint(e, TRACK_TYPE, type_);
                    ebml::uint(e, FLAG_LACING, 0);
                    ebml::string(e, CODEC_ID, track.codec_id);
                    if let Some(private) = &track.codec_private {
                        ebml::bytes(e, CODEC_PRIVATE, private);
                    }
                    if track.codec_delay_ns > 0 {
                        ebml::uint(e, CODEC_DELAY, track.codec_delay_ns);
                    }
                    if track.seek_pre_roll_ns > 0 {
                        ebml::uint(e, SEEK_PRE_ROLL, track.seek_pre_roll_ns);
                    }
                    match track.kind {
                        TrackFormat::Audio { sample_rate, channels } => {
                            ebml::master(e, AUDIO, |a| {
                                ebml::float(a, SAMPLING_FREQUENCY, sample_rate);
                                ebml::uint(a, CHANNELS, channels as u64);
                                if track.bit_depth > 0 {
                                    ebml::uint(a, BIT_DEPTH, track.bit_depth as u64);
                                }
                            });
                        }
                        TrackFormat::Video { width, height } => ebml::master(e, VIDEO, |v| {
                            ebml::uint(v, PIXEL_WIDTH, width as u64);
                            ebml::uint(v, PIXEL_HEIGHT, height as u64);
                        }),
                    }
                });
            }
        });
        (out, layout)
    }
}

/// `n` distinct nonzero UIDs from the system's random source (`/dev/urandom`; where it cannot
/// be read, std's hasher keys, which are drawn from the same source once per process).
pub fn random_uids(n: usize) -> Vec<u64> {
    use std::io::Read;
    let mut uids: Vec<u64> = Vec::with_capacity(n);
    let mut urandom = std::fs::File::open("/dev/urandom").ok();
    while uids.len() < n {
        let mut b = [0u8; 8];
        let read = urandom.as_mut().is_some_and(|f| f.read_exact(&mut b).is_ok());
        let uid = if read {
            u64::from_le_bytes(b)
        } else {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(uids.len());
            h.finish()
        };
        // Matroska UIDs are 1 to 2^64-1; keep them within 63 bits for readers that parse
        // them as signed integers.
        let uid = uid >> 1;
        if uid != 0 && !uids.contains(&uid) {
            uids.push(uid);
        }
    }
    uids
}
