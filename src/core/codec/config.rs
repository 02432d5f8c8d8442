//! What a codec's configuration record says, read from a [`CodecDescription`]: the RFC 6381
//! codec strings that MP4 MIME types carry (`avc3.42E01F`, `av01.0.04M.08`, `vp09.00.21.08`,
//! `opus`, `mp4a.40.2`) and the VP9 fields that MP4's `vpcC` box stores. Shared by the MIME
//! negotiation (the type reported after `start`) and the MP4 muxer, so both say the same.

use crate::core::codec::{CodecDescription, CodecId, StreamParams};

/// VP9 as this build encodes it (libvpx profile 0: 8-bit 4:2:0, BT.601 limited range, what
/// the sources convert to), with the level that fits the picture size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp9Config {
    pub profile: u8,
    /// The level times ten (VP9 levels 1 to 6.2: 10 to 62).
    pub level: u8,
    pub bit_depth: u8,
    /// `vpcC` chromaSubsampling: 1 is 4:2:0 with chroma sited with luma (libvpx's I420).
    pub chroma_subsampling: u8,
    pub full_range: bool,
    /// ISO/IEC 23091-2 code points: BT.601 (SMPTE 170M) for primaries, transfer and matrix.
    pub colour_primaries: u8,
    pub transfer: u8,
    pub matrix: u8,
}

/// VP9 levels by the largest picture (luma samples) each allows (VP9 spec, Annex A).
const VP9_LEVELS: [(u8, u64); 14] = [
    (10, 36_864),
    (11, 73_728),
    (20, 122_880),
    (21, 245_760),
    (30, 552_960),
    (31, 983_040),
    (40, 2_228_224),
    (41, 2_228_224),
    (50, 8_912_896),
    (51, 8_912_896),
    (52, 8_912_896),
    (60, 35_651_584),
    (61, 35_651_584),
    (62, 35_651_584),
];

impl Vp9Config {
    pub fn for_picture(width: u32, height: u32) -> Self {
        let samples = width as u64 * height as u64;
        let level = VP9_LEVELS.iter().find(|(_, max)| samples <= *max).map_or(62, |(l, _)| *l);
        Vp9Config {
            profile: 0,
            level,
            bit_depth: 8,
            chroma_subsampling: 1,
            full_range: false,
            colour_primaries: 6,
            transfer: 6,
            matrix: 6,
        }
    }
}

/// The RFC 6381 / Chromium codec string of `d`'s stream, as an MP4 MIME type names it.
pub fn codec_string(d: &CodecDescription) -> String {
    match d.codec {
        CodecId::H264 => match d.private.get(1..4) {
            // avcC: configurationVersion, AVCProfileIndication, profile_compatibility,
            // AVCLevelIndication.
            // avc3: what MP4's sample entry says (parameter sets in band, see mux/mp4/boxes.rs).
            Some(p) => format!("avc3.{:02X}{:02X}{:02X}", p[0], p[1], p[2]),
            None => "avc3".into(),
        },
        CodecId::Av1 => match d.private.get(1..3) {
            // av1C: marker|version, seq_profile(3) seq_level_idx_0(5), seq_tier_0(1)
            // high_bitdepth(1) twelve_bit(1) ...
            Some(&[a, b]) => {
                let depth = match (b & 0x40 != 0, b & 0x20 != 0) {
                    (true, true) => 12,
                    (true, false) => 10,
                    _ => 8,
                };
                let tier = if b & 0x80 != 0 { 'H' } else { 'M' };
                format!("av01.{}.{:02}{tier}.{depth:02}", a >> 5, a & 0x1F)
            }
            _ => "av01".into(),
        },
        CodecId::Vp9 => {
            let (w, h) = match d.params {
                StreamParams::Video { width, height } => (width, height),
                StreamParams::Audio { .. } => (0, 0),
            };
            let c = Vp9Config::for_picture(w, h);
            format!("vp09.{:02}.{:02}.{:02}", c.profile, c.level, c.bit_depth)
        }
        other => other.mime_name().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(codec: CodecId, private: &[u8], params: StreamParams) -> CodecDescription {
        CodecDescription {
            track: 0,
            codec,
            params,
            private: private.to_vec(),
            delay_ns: 0,
            seek_pre_roll_ns: 0,
            time_base: (1, 90_000),
        }
    }

    const VIDEO: StreamParams = StreamParams::Video { width: 640, height: 480 };

    #[test]
    fn codec_strings_come_from_the_configuration_records() {
        // avcC of constrained baseline level 3.1: version 1, profile 0x42, compat 0xE0, level 31.
        let avcc = [1, 0x42, 0xE0, 0x1F, 0xFF, 0xE1, 0x00, 0x00];
        assert_eq!(codec_string(&described(CodecId::H264, &avcc, VIDEO)), "avc3.42E01F");
        // av1C: main profile (0), level 8 (4.0), main tier, 8 bit.
        let av1c = [0x81, 0x08, 0x0C, 0x00];
        assert_eq!(codec_string(&described(CodecId::Av1, &av1c, VIDEO)), "av01.0.08M.08");
        // High profile (1), level 13, high tier, 10 bit.
        let av1c = [0x81, 0x2D, 0xC0, 0x00];
        assert_eq!(codec_string(&described(CodecId::Av1, &av1c, VIDEO)), "av01.1.13H.10");
        // 640x480 = 307,200 luma samples: level 3.0.
        assert_eq!(codec_string(&described(CodecId::Vp9, &[], VIDEO)), "vp09.00.30.08");
        let small = StreamParams::Video { width: 160, height: 120 };
        assert_eq!(codec_string(&described(CodecId::Vp9, &[], small)), "vp09.00.10.08");
        let audio = StreamParams::Audio { sample_rate: 48_000, channels: 2 };
        assert_eq!(codec_string(&described(CodecId::Opus, &[], audio)), "opus");
        assert_eq!(codec_string(&described(CodecId::Aac, &[0x11, 0x90], audio)), "mp4a.40.2");
    }
}
