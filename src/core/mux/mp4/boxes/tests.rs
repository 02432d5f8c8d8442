//! The sample entries built from hand-made descriptions, byte for byte.

use super::*;

fn described(
    codec: CodecId,
    params: StreamParams,
    private: &[u8],
    delay_ns: i64,
) -> CodecDescription {
    CodecDescription {
        track: 0,
        codec,
        params,
        private: private.to_vec(),
        delay_ns,
        seek_pre_roll_ns: 0,
        time_base: (1, 48_000),
    }
}

/// The payload of the first box of type `kind` inside `buf` (searched at every offset: the
/// sample entries nest their config boxes after fixed fields).
fn payload<'a>(buf: &'a [u8], kind: &[u8; 4]) -> &'a [u8] {
    let at = buf.windows(4).position(|w| w == kind).expect("box present") - 4;
    let size = u32::from_be_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
    &buf[at + 8..at + size]
}

#[test]
fn avc3_carries_the_avcc_record_and_the_picture_size() {
    let avcc = [1, 0x42, 0xC0, 0x1E, 0xFF, 0xE1, 0, 4, 0x67, 0x42, 0xC0, 0x1E, 1, 0, 2, 0x68, 0xCE];
    let d = described(CodecId::H264, StreamParams::Video { width: 320, height: 240 }, &avcc, 0);
    let mut out = Vec::new();
    sample_entry(&mut out, &d);
    assert_eq!(&out[4..8], b"avc3");
    assert_eq!(u32::from_be_bytes(out[..4].try_into().unwrap()) as usize, out.len());
    // VisualSampleEntry: width and height at 32..36 of the box, depth 0x18, pre_defined -1.
    assert_eq!(&out[32..36], &[0x01, 0x40, 0x00, 0xF0]);
    assert_eq!(&out[82..86], &[0x00, 0x18, 0xFF, 0xFF]);
    assert_eq!(payload(&out, b"avcC"), avcc);
    assert_eq!(out.len(), 86 + 8 + avcc.len());
}

#[test]
fn av01_carries_the_av1c_record() {
    let av1c = [0x81, 0x08, 0x0C, 0x00, 0x0A, 0x0B, 0x00, 0x00, 0x00, 0x42, 0xAB, 0xBF, 0xC3];
    let d = described(CodecId::Av1, StreamParams::Video { width: 1920, height: 1080 }, &av1c, 0);
    let mut out = Vec::new();
    sample_entry(&mut out, &d);
    assert_eq!(&out[4..8], b"av01");
    assert_eq!(&out[32..36], &[0x07, 0x80, 0x04, 0x38]);
    assert_eq!(payload(&out, b"av1C"), av1c);
}

#[test]
fn mp4a_carries_the_audio_specific_config_in_an_esds() {
    // AAC-LC, 48 kHz, stereo: object type 2, frequency index 3, channel configuration 2.
    let asc = [0x11, 0x90];
    let audio = StreamParams::Audio { sample_rate: 48_000, channels: 2 };
    let d = described(CodecId::Aac, audio, &asc, 1024 * 1_000_000_000 / 48_000);
    let mut out = Vec::new();
    sample_entry(&mut out, &d);
    assert_eq!(&out[4..8], b"mp4a");
    // AudioSampleEntry: channel count, sample size, rate as 16.16.
    assert_eq!(&out[24..28], &[0, 2, 0, 16]);
    assert_eq!(&out[32..36], &[0xBB, 0x80, 0, 0]);
    let esds = payload(&out, b"esds");
    #[rustfmt::skip]
    let expected = [
        0, 0, 0, 0,                        // version, flags
        0x03, 25, 0, 0, 0,                 // ES_Descriptor: ES_ID 0, no flags
        0x04, 17, 0x40, 0x15, 0, 0, 0,     // DecoderConfig: MPEG-4 audio, audio stream
        0, 0, 0, 0, 0, 0, 0, 0,            // max and average bitrate
        0x05, 2, 0x11, 0x90,               // DecoderSpecificInfo: the AudioSpecificConfig
        0x06, 1, 0x02,                     // SLConfigDescriptor: predefined 2 (MP4)
    ];
    assert_eq!(esds, expected);
    // The priming (1024 samples at 48 kHz) becomes the edit list's media time.
    assert_eq!(TrackBox::new(1, &d).skip, 1024);
}

#[test]
fn opus_gets_a_dops_from_its_opus_head_and_its_pre_skip_as_the_edit() {
    let mut head = b"OpusHead".to_vec();
    head.extend_from_slice(&[1, 2, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0, 0, 0]);
    let audio = StreamParams::Audio { sample_rate: 48_000, channels: 2 };
    let d = described(CodecId::Opus, audio, &head, 6_500_000);
    let mut out = Vec::new();
    sample_entry(&mut out, &d);
    assert_eq!(&out[4..8], b"Opus");
    // dOps is big-endian: version 0, 2 channels, pre-skip 312, 48000 Hz, gain 0, family 0.
    assert_eq!(payload(&out, b"dOps"), [0, 2, 0x01, 0x38, 0, 0, 0xBB, 0x80, 0, 0, 0]);
    let t = TrackBox::new(1, &d);
    assert_eq!((t.timescale, t.skip), (48_000, 312));
    let mut trak_bytes = Vec::new();
    trak(&mut trak_bytes, &t);
    // elst version 1: one entry, duration 0 (the rest of the media), media time 312, rate 1.
    let elst = payload(&trak_bytes, b"elst");
    let mut expected = vec![1, 0, 0, 0, 0, 0, 0, 1];
    expected.extend_from_slice(&0u64.to_be_bytes());
    expected.extend_from_slice(&312u64.to_be_bytes());
    expected.extend_from_slice(&[0, 1, 0, 0]);
    assert_eq!(elst, expected);
}

#[test]
fn vp09_carries_a_vpcc_for_profile_0() {
    let d = described(CodecId::Vp9, StreamParams::Video { width: 640, height: 480 }, &[], 0);
    let mut out = Vec::new();
    sample_entry(&mut out, &d);
    assert_eq!(&out[4..8], b"vp09");
    // Version 1; profile 0, level 3.0, 8 bit 4:2:0 colocated, limited; BT.601; no init data.
    assert_eq!(payload(&out, b"vpcC"), [1, 0, 0, 0, 0, 30, 0x82, 6, 6, 6, 0, 0]);
}

#[test]
fn descriptor_sizes_use_seven_bit_groups() {
    let mut out = Vec::new();
    descriptor(&mut out, 0x05, &[0; 200]);
    assert_eq!(&out[..3], &[0x05, 0x81, 0x48]);
    assert_eq!(out.len(), 203);
}
