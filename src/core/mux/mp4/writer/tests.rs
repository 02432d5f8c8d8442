//! The fragmented muxer and the faststart rewrite, on packets and boxes made by hand.

use super::*;
use crate::core::codec::{CodecId, StreamParams};
use crate::core::mux::mp4::faststart::faststart;

fn vp9() -> CodecDescription {
    CodecDescription {
        track: 0,
        codec: CodecId::Vp9,
        params: StreamParams::Video { width: 64, height: 48 },
        private: Vec::new(),
        delay_ns: 0,
        seek_pre_roll_ns: 0,
        time_base: (1, 1_000_000),
    }
}

fn packet(pts_ms: i64, keyframe: bool, byte: u8) -> Packet {
    Packet {
        track: 0,
        pts: pts_ms * 1_000_000,
        duration: 40_000_000,
        keyframe,
        discard_padding: 0,
        data: vec![byte; 10 + byte as usize],
    }
}

/// Top-level (or child) boxes of `buf[from..to]` as (type, start, end).
fn boxes(buf: &[u8], from: usize, to: usize) -> Vec<([u8; 4], usize, usize)> {
    let mut out = Vec::new();
    let mut pos = from;
    while pos + 8 <= to {
        let size = u32::from_be_bytes(buf[pos..pos + 4].try_into().unwrap()) as usize;
        out.push((buf[pos + 4..pos + 8].try_into().unwrap(), pos, pos + size));
        pos += size;
    }
    out
}

fn kinds(buf: &[u8]) -> Vec<String> {
    boxes(buf, 0, buf.len()).iter().map(|b| String::from_utf8_lossy(&b.0).into_owned()).collect()
}

/// The payload of the first box of type `kind` anywhere in `buf`.
fn payload<'a>(buf: &'a [u8], kind: &[u8; 4]) -> &'a [u8] {
    let at = buf.windows(4).position(|w| w == kind).expect("box present") - 4;
    let size = u32::from_be_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
    &buf[at + 8..at + size]
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

#[test]
fn fragments_start_at_keyframes_and_at_flushes() {
    let mut m = Mp4Muxer::new(&[vp9()]);
    for (i, key) in [true, false, false, true, false].into_iter().enumerate() {
        m.write(&packet(i as i64 * 40, key, i as u8));
    }
    let first = m.flush();
    assert_eq!(kinds(&first), ["ftyp", "moov", "moof", "mdat", "moof", "mdat"]);
    m.write(&packet(200, false, 9));
    let second = m.flush();
    assert_eq!(kinds(&second), ["moof", "mdat"]);
    assert!(m.flush().is_empty(), "nothing new, nothing written");
    // The second fragment: tfdt 3 frames of 40 ms at 90 kHz, a keyframe then a delta frame.
    let top = boxes(&first, 0, first.len());
    let moof = &first[top[4].1..top[4].2];
    assert_eq!(u64::from_be_bytes(payload(moof, b"tfdt")[4..12].try_into().unwrap()), 10_800);
    let trun = payload(moof, b"trun");
    assert_eq!(be32(trun, 4), 2);
    // data offset: past the moof and the mdat header, to the first sample.
    assert_eq!(be32(trun, 8) as usize, moof.len() + 8);
    assert_eq!((be32(trun, 12), be32(trun, 16), be32(trun, 20)), (3600, 13, SYNC));
    assert_eq!((be32(trun, 24), be32(trun, 28), be32(trun, 32)), (3600, 14, NON_SYNC));
}

#[test]
fn faststart_builds_complete_sample_tables_with_exact_times() {
    let mut m = Mp4Muxer::new(&[vp9()]);
    let mut stream = Vec::new();
    // 0, 40, 80 ms, a chunk cut, then 130 (a late frame) and a keyframe at 170.
    for (pts, key) in [(0, true), (40, false), (80, false)] {
        m.write(&packet(pts, key, pts as u8));
    }
    stream.extend(m.flush());
    for (pts, key) in [(130, false), (170, true)] {
        m.write(&packet(pts, key, pts as u8));
    }
    stream.extend(m.flush());
    let out = faststart(&stream).unwrap();
    assert_eq!(kinds(&out), ["ftyp", "moov", "mdat"]);
    // The first fragment's last sample lasts until the next fragment's tfdt (50 ms), not the
    // 40 ms its packet said: times stay exact across fragments.
    let stts = payload(&out, b"stts");
    let entries: Vec<(u32, u32)> = (0..be32(stts, 4) as usize)
        .map(|i| (be32(stts, 8 + 8 * i), be32(stts, 12 + 8 * i)))
        .collect();
    assert_eq!(entries, [(2, 3600), (1, 4500), (2, 3600)]);
    let stss = payload(&out, b"stss");
    assert_eq!((be32(stss, 4), be32(stss, 8), be32(stss, 12)), (2, 1, 5));
    // stco: a chunk per fragment run (the keyframe at 170 started a third fragment), each
    // pointing at its samples' bytes.
    let stco = payload(&out, b"stco");
    assert_eq!(be32(stco, 4), 3);
    assert_eq!(be32(stco, 16) as usize, be32(stco, 12) as usize + 140);
    let first = be32(stco, 8) as usize;
    assert_eq!(&out[first..first + 10], &[0u8; 10]);
    let second = be32(stco, 12) as usize;
    assert_eq!(second, first + 10 + 50 + 90);
    assert_eq!(out[second], 130);
    // mdhd: 210 ms at 90 kHz; it is a fixed point.
    let mdhd = payload(&out, b"mdhd");
    assert_eq!(u64::from_be_bytes(mdhd[24..32].try_into().unwrap()), 18_900);
    assert_eq!(faststart(&out).unwrap(), out);
}

#[test]
fn faststart_reads_defaults_and_data_that_follows_the_previous_traf() {
    // A fragment in another writer's style: sizes and durations from tfhd defaults, the
    // base offset implicit (the moof), no tfdt.
    let mut stream = Vec::new();
    let track = TrackBox::new(1, &vp9());
    boxes_init(&mut stream, &track);
    let mut moof = Vec::new();
    let build = |moof: &mut Vec<u8>, offset: u32| {
        moof.clear();
        bx(moof, b"moof", |o| {
            full(o, b"mfhd", 0, 0, |o| u32be(o, 1));
            bx(o, b"traf", |o| {
                // default duration (0x8), size (0x10), flags (0x20)
                full(o, b"tfhd", 0, 0x38, |o| {
                    u32be(o, 1);
                    u32be(o, 3000);
                    u32be(o, 5);
                    u32be(o, NON_SYNC);
                });
                // data offset and first-sample flags (a keyframe), nothing per sample
                full(o, b"trun", 0, 0x05, |o| {
                    u32be(o, 3);
                    u32be(o, offset);
                    u32be(o, SYNC);
                });
            });
        });
    };
    build(&mut moof, 0);
    let len = moof.len() as u32;
    build(&mut moof, len + 8);
    stream.extend_from_slice(&moof);
    mdat_header(&mut stream, 15);
    stream.extend((0..15).map(|i| i as u8));
    let out = faststart(&stream).unwrap();
    let stsz = payload(&out, b"stsz");
    assert_eq!((be32(stsz, 4), be32(stsz, 8)), (5, 3), "three samples of 5 bytes");
    let stss = payload(&out, b"stss");
    assert_eq!((be32(stss, 4), be32(stss, 8)), (1, 1));
    let stco = payload(&out, b"stco");
    let at = be32(stco, 8) as usize;
    assert_eq!(&out[at..at + 15], (0..15).collect::<Vec<u8>>().as_slice());
    // Cut inside the mdat: the fragment is incomplete, so no sample is kept.
    let cut = faststart(&stream[..stream.len() - 3]).unwrap();
    assert_eq!(be32(payload(&cut, b"stsz"), 8), 0);
}

fn boxes_init(out: &mut Vec<u8>, track: &TrackBox) {
    crate::core::mux::mp4::boxes::ftyp(out, std::slice::from_ref(track));
    bx(out, b"moov", |o| {
        crate::core::mux::mp4::boxes::mvhd(o, 90_000, 0, 2);
        crate::core::mux::mp4::boxes::trak(o, track);
        bx(o, b"mvex", |o| {
            full(o, b"trex", 0, 0, |o| {
                u32be(o, 1);
                u32be(o, 1);
                o.extend_from_slice(&[0; 12]);
            });
        });
    });
}

#[test]
fn bad_input_names_the_offset() {
    let mut stream = Vec::new();
    boxes_init(&mut stream, &TrackBox::new(1, &vp9()));
    let at = stream.len();
    // A moof whose traf names a track the moov does not have.
    bx(&mut stream, b"moof", |o| {
        bx(o, b"traf", |o| full(o, b"tfhd", 0, 0x02_0000, |o| u32be(o, 7)));
    });
    let e = faststart(&stream).unwrap_err().to_string();
    assert!(e.contains(&format!("unknown track at byte offset {}", at + 16)), "{e}");
}

#[test]
fn a_fragment_closes_once_it_spans_a_second_without_keyframes() {
    let mut m = Mp4Muxer::new(&[vp9()]);
    m.write(&packet(0, true, 1));
    for i in 1..=30 {
        m.write(&packet(i * 40, false, 2));
    }
    // 0..960 ms is closed (and final: the file gets it now); 1000..1200 ms is still open.
    let closed = m.pending().to_vec();
    assert_eq!(kinds(&closed), ["ftyp", "moov", "moof", "mdat"]);
    assert_eq!(be32(payload(&closed, b"trun"), 4), 25);
    let all = m.flush();
    assert!(all.starts_with(&closed));
    assert_eq!(kinds(&all[closed.len()..]), ["moof", "mdat"]);
}

#[test]
fn damaged_copied_boxes_are_refused_naming_their_offset() {
    use crate::core::mux::mp4::check::check_faststart;
    let mut m = Mp4Muxer::new(&[vp9()]);
    m.write(&packet(0, true, 1));
    m.write(&packet(40, false, 2));
    let good = m.flush();
    check_faststart(&faststart(&good).unwrap()).unwrap();
    let at = |kind: &[u8; 4]| good.windows(4).position(|w| w == kind).unwrap() - 4;
    let refused = |offset: usize, bytes: &[u8]| {
        let mut bad = good.clone();
        bad[offset..offset + bytes.len()].copy_from_slice(bytes);
        faststart(&bad).unwrap_err().to_string()
    };
    // A dref entry sized 0 ("to the end" for a reader of boxes, too short for a player).
    let url = at(b"url ");
    assert_eq!(
        refused(url, &[0; 4]),
        format!("src: not a valid MP4 file: dref entry too short at byte offset {url}")
    );
    // vpcC claiming initialization data it does not hold.
    let vpcc = at(b"vpcC");
    assert_eq!(
        refused(vpcc + 8 + 11, &[1]),
        format!("src: not a valid MP4 file: a damaged vpcC at byte offset {vpcc}")
    );
    // A version no player knows: refused (here by the parser of the moov itself).
    let mdhd = at(b"mdhd");
    let e = refused(mdhd + 8, &[2]);
    assert!(e.ends_with(&format!("at byte offset {mdhd}")), "{e}");
}
