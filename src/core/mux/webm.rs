//! WebM muxing, live layout: EBML header, an unknown-size Segment with Info and Tracks, then
//! sized Clusters. Bytes leave the muxer only at [`WebmMuxer::flush`], which closes the open
//! cluster, so every chunk after the first starts on a cluster boundary and the concatenation
//! of all chunks is a valid file.

use crate::core::mux::ebml;
use crate::core::packet::Packet;

const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const CLUSTER: u32 = 0x1F43_B675;
const TIMECODE: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const BLOCK_DURATION: u32 = 0x9B;
const DISCARD_PADDING: u32 = 0x75A2;

/// A cluster's block timecodes are 16-bit offsets; close well before they could overflow.
const MAX_CLUSTER_MS: i64 = 5_000;
const NS_PER_MS: i64 = 1_000_000;

/// What the muxer needs to know of a track.
#[derive(Debug, Clone)]
pub struct TrackInfo {
    pub codec_id: &'static str,
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
    uid_seed: u64,
    header: Option<Vec<u8>>,
    out: Vec<u8>,
    /// The open cluster: its timecode (ms), body, and whether it holds a block yet.
    cluster: Option<(i64, Vec<u8>, bool)>,
}

impl WebmMuxer {
    pub fn new(tracks: Vec<TrackInfo>) -> Self {
        let uid_seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        WebmMuxer {
            tracks,
            uid_seed,
            header: None,
            out: Vec::new(),
            cluster: None,
        }
    }

    /// Whether any byte (the header included) has been produced.
    pub fn started(&self) -> bool {
        self.header.is_some()
    }

    /// Adds one packet. Packets must come in non-decreasing `pts` order.
    pub fn write(&mut self, p: &Packet) {
        if self.header.is_none() {
            let header = self.header_bytes();
            self.out.extend_from_slice(&header);
            self.header = Some(header);
        }
        let ms = p.pts.div_euclid(NS_PER_MS);
        let video_key = p.keyframe
            && matches!(
                self.tracks.get(p.track).map(|t| t.kind),
                Some(TrackFormat::Video { .. })
            );
        if let Some((start, _, has_blocks)) = &self.cluster {
            // Clusters start on video keyframes, so that a player can seek to any of them.
            if ms - start > MAX_CLUSTER_MS || ms < *start || (video_key && *has_blocks) {
                self.close_cluster();
            }
        }
        let (start, body, has_blocks) = self.cluster.get_or_insert_with(|| {
            let mut body = Vec::new();
            ebml::uint(&mut body, TIMECODE, ms.max(0) as u64);
            (ms, body, false)
        });
        *has_blocks = true;
        let rel = (ms - *start) as i16;
        let mut block = Vec::with_capacity(p.data.len() + 4);
        ebml::size(&mut block, p.track as u64 + 1);
        block.extend_from_slice(&rel.to_be_bytes());
        if p.discard_padding == 0 {
            block.push(if p.keyframe { 0x80 } else { 0x00 });
            block.extend_from_slice(&p.data);
            ebml::bytes(body, SIMPLE_BLOCK, &block);
        } else {
            block.push(0x00);
            block.extend_from_slice(&p.data);
            ebml::master(body, BLOCK_GROUP, |g| {
                ebml::bytes(g, BLOCK, &block);
                ebml::uint(g, BLOCK_DURATION, (p.duration / NS_PER_MS) as u64);
                ebml::int(g, DISCARD_PADDING, p.discard_padding);
            });
        }
    }

    /// Closes the open cluster and hands over every byte produced since the last flush.
    pub fn flush(&mut self) -> Vec<u8> {
        self.close_cluster();
        std::mem::take(&mut self.out)
    }

    fn close_cluster(&mut self) {
        if let Some((_, body, _)) = self.cluster.take() {
            ebml::bytes(&mut self.out, CLUSTER, &body);
        }
    }

    fn header_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        ebml::master(&mut out, EBML, |h| {
            ebml::uint(h, 0x4286, 1); // EBMLVersion
            ebml::uint(h, 0x42F7, 1); // EBMLReadVersion
            ebml::uint(h, 0x42F2, 4); // EBMLMaxIDLength
            ebml::uint(h, 0x42F3, 8); // EBMLMaxSizeLength
            ebml::string(h, 0x4282, "webm"); // DocType
            ebml::uint(h, 0x4287, 4); // DocTypeVersion
            ebml::uint(h, 0x4285, 2); // DocTypeReadVersion
        });
        ebml::id(&mut out, SEGMENT);
        out.extend_from_slice(&ebml::UNKNOWN_SIZE);
        ebml::master(&mut out, INFO, |i| {
            ebml::uint(i, 0x2A_D7B1, NS_PER_MS as u64); // TimestampScale: 1 ms
            ebml::string(
                i,
                0x4D80,
                concat!("mediarecorder-", env!("CARGO_PKG_VERSION")),
            );
            ebml::string(
                i,
                0x5741,
                concat!("mediarecorder-", env!("CARGO_PKG_VERSION")),
            );
        });
        ebml::master(&mut out, TRACKS, |t| {
            for (n, track) in self.tracks.iter().enumerate() {
                ebml::master(t, TRACK_ENTRY, |e| {
                    ebml::uint(e, 0xD7, n as u64 + 1); // TrackNumber
                    ebml::uint(e, 0x73C5, self.uid_seed.wrapping_add(n as u64) | 1); // TrackUID
                    let type_ = match track.kind {
                        TrackFormat::Video { .. } => 1,
                        TrackFormat::Audio { .. } => 2,
                    };
                    ebml::uint(e, 0x83, type_); // TrackType
                    ebml::uint(e, 0x9C, 0); // FlagLacing
                    ebml::string(e, 0x86, track.codec_id);
                    if let Some(private) = &track.codec_private {
                        ebml::bytes(e, 0x63A2, private);
                    }
                    if track.codec_delay_ns > 0 {
                        ebml::uint(e, 0x56AA, track.codec_delay_ns); // CodecDelay
                    }
                    if track.seek_pre_roll_ns > 0 {
                        ebml::uint(e, 0x56BB, track.seek_pre_roll_ns); // SeekPreRoll
                    }
                    match track.kind {
                        TrackFormat::Audio {
                            sample_rate,
                            channels,
                        } => ebml::master(e, 0xE1, |a| {
                            ebml::float(a, 0xB5, sample_rate); // SamplingFrequency
                            ebml::uint(a, 0x9F, channels as u64); // Channels
                        }),
                        TrackFormat::Video { width, height } => ebml::master(e, 0xE0, |v| {
                            ebml::uint(v, 0xB0, width as u64); // PixelWidth
                            ebml::uint(v, 0xBA, height as u64); // PixelHeight
                        }),
                    }
                });
            }
        });
        out
    }
}
