use super::*;

fn decode_first(buf: &[u8]) -> Result<Decoded> {
    decode(buf, 0)
}

fn wav(format: u16, bits: u16, channels: u16, rate: u32, data: &[u8], live: bool) -> Vec<u8> {
    let size = |n: usize| if live { u32::MAX } else { n as u32 };
    let mut h = b"RIFF".to_vec();
    h.extend_from_slice(&size(36 + data.len()).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&format.to_le_bytes());
    h.extend_from_slice(&channels.to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    let block = channels as u32 * bits as u32 / 8;
    h.extend_from_slice(&(rate * block).to_le_bytes());
    h.extend_from_slice(&(block as u16).to_le_bytes());
    h.extend_from_slice(&bits.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&size(data.len()).to_le_bytes());
    h.extend_from_slice(data);
    h
}

#[test]
fn wav_16_bit_is_the_inverse_of_the_encoders_quantiser() {
    let pcm: Vec<u8> =
        [16384i16, -16384, 32767, -32768].iter().flat_map(|s| s.to_le_bytes()).collect();
    for live in [false, true] {
        let d = decode_first(&wav(1, 16, 2, 16_000, &pcm, live)).unwrap();
        assert_eq!((d.channels, d.sample_rate, d.frames()), (2, 16_000, 2));
        assert_eq!(d.samples, [0.5, -0.5, 32767.0 / 32768.0, -1.0]);
    }
}

#[test]
fn wav_float_and_24_bit() {
    let f: Vec<u8> = [0.25f32, -0.75].iter().flat_map(|s| s.to_le_bytes()).collect();
    assert_eq!(decode_first(&wav(3, 32, 1, 8_000, &f, false)).unwrap().samples, [0.25, -0.75]);
    let s24 = [0x00, 0x00, 0xC0, 0x00, 0x00, 0x40]; // -0.5, 0.5
    assert_eq!(decode_first(&wav(1, 24, 1, 8_000, &s24, false)).unwrap().samples, [-0.5, 0.5]);
}

#[test]
fn a_torn_last_frame_is_left_out() {
    let pcm = [0u8, 0x40, 0, 0xC0, 0x11];
    let d = decode_first(&wav(1, 16, 1, 8_000, &pcm, true)).unwrap();
    assert_eq!(d.samples, [0.5, -0.5]);
}

#[test]
fn unknown_input_and_mp4_are_refused_with_their_kind() {
    assert!(
        matches!(decode_first(b"hello world"), Err(Error::InvalidValue(m)) if m.starts_with("src:"))
    );
    let mp4 = b"\0\0\0\x18ftypisom\0\0\0\0isomiso2";
    assert!(matches!(decode_first(mp4), Err(Error::NotSupported(_))));
    let alaw = wav(6, 8, 1, 8_000, &[1, 2], false);
    assert!(matches!(decode_first(&alaw), Err(Error::NotSupported(m)) if m.contains("0x6")));
}

#[test]
fn truncated_headers_are_errors_not_panics() {
    let whole = wav(1, 16, 1, 8_000, &[0, 0x40], false);
    for n in 0..whole.len() {
        let _ = decode_first(&whole[..n]);
    }
    let _ = decode_first(&[0x1A, 0x45, 0xDF, 0xA3, 0x80]);
    let _ = decode_first(b"OggS\0\x02");
}

#[test]
fn wav_has_one_track_and_starts_at_zero() {
    let w = wav(1, 16, 1, 8_000, &[0, 0x40, 0, 0xC0], false);
    assert_eq!(decode(&w, 0).unwrap().times, [(0, 0)]);
    let err = decode(&w, 1).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidValue(m)
            if m == "track: the recording has 1 audio track, so there is no track 1"),
        "{err:?}"
    );
}

#[test]
fn times_keep_a_row_per_jump_only() {
    // 1 ms ticks, 48 kHz: blocks of 960 frames 20 ms apart (rounded to the tick), then a 1 s gap.
    let mut t = Times::new(48_000, 1_000_000);
    for k in 0..5u64 {
        t.packet(k * 960, Some(k as i64 * 20_000_000 + if k % 2 == 0 { 0 } else { 400_000 }));
    }
    t.packet(5 * 960, Some(1_100_000_000));
    t.packet(6 * 960, Some(1_120_000_000));
    assert_eq!(t.finish(7 * 960, 0), [(0, 0), (4800, 1_100_000_000)]);
    // A pre-skip of 312 frames: the first row moves to frame 0, 6.5 ms later.
    let mut t = Times::new(48_000, 1_000_000);
    t.packet(0, Some(-6_500_000));
    t.packet(960, Some(13_500_000));
    t.drop_front(312);
    assert_eq!(t.finish(648, 0), [(0, 0)]);
}
