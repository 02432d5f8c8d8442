//! EBML (RFC 8794) and the Matroska vocabulary this crate writes and reads: element IDs, the
//! element writers, and the index elements (SeekHead, Cues, Void) shared by the live muxer,
//! the file finaliser and `make_seekable`.

/// Matroska element IDs (with their class marker bits, as they appear in a file).
pub mod id {
    pub const EBML: u32 = 0x1A45_DFA3;
    pub const EBML_VERSION: u32 = 0x4286;
    pub const EBML_READ_VERSION: u32 = 0x42F7;
    pub const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
    pub const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
    pub const DOC_TYPE: u32 = 0x4282;
    pub const DOC_TYPE_VERSION: u32 = 0x4287;
    pub const DOC_TYPE_READ_VERSION: u32 = 0x4285;
    pub const SEGMENT: u32 = 0x1853_8067;
    pub const SEEK_HEAD: u32 = 0x114D_9B74;
    pub const SEEK: u32 = 0x4DBB;
    pub const SEEK_ID: u32 = 0x53AB;
    pub const SEEK_POSITION: u32 = 0x53AC;
    pub const INFO: u32 = 0x1549_A966;
    pub const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
    pub const DURATION: u32 = 0x4489;
    pub const MUXING_APP: u32 = 0x4D80;
    pub const WRITING_APP: u32 = 0x5741;
    pub const TRACKS: u32 = 0x1654_AE6B;
    pub const TRACK_ENTRY: u32 = 0xAE;
    pub const TRACK_NUMBER: u32 = 0xD7;
    pub const TRACK_UID: u32 = 0x73C5;
    pub const TRACK_TYPE: u32 = 0x83;
    pub const FLAG_LACING: u32 = 0x9C;
    pub const DEFAULT_DURATION: u32 = 0x23_E383;
    pub const CODEC_ID: u32 = 0x86;
    pub const CODEC_PRIVATE: u32 = 0x63A2;
    pub const CODEC_DELAY: u32 = 0x56AA;
    pub const SEEK_PRE_ROLL: u32 = 0x56BB;
    pub const VIDEO: u32 = 0xE0;
    pub const PIXEL_WIDTH: u32 = 0xB0;
    pub const PIXEL_HEIGHT: u32 = 0xBA;
    pub const AUDIO: u32 = 0xE1;
    pub const SAMPLING_FREQUENCY: u32 = 0xB5;
    pub const CHANNELS: u32 = 0x9F;
    pub const BIT_DEPTH: u32 = 0x6264;
    pub const CLUSTER: u32 = 0x1F43_B675;
    pub const TIMESTAMP: u32 = 0xE7;
    pub const SILENT_TRACKS: u32 = 0x5854;
    pub const POSITION: u32 = 0xA7;
    pub const PREV_SIZE: u32 = 0xAB;
    pub const SIMPLE_BLOCK: u32 = 0xA3;
    pub const BLOCK_GROUP: u32 = 0xA0;
    pub const BLOCK: u32 = 0xA1;
    pub const BLOCK_DURATION: u32 = 0x9B;
    pub const REFERENCE_BLOCK: u32 = 0xFB;
    pub const DISCARD_PADDING: u32 = 0x75A2;
    pub const ENCRYPTED_BLOCK: u32 = 0xAF;
    pub const CUES: u32 = 0x1C53_BB6B;
    pub const CUE_POINT: u32 = 0xBB;
    pub const CUE_TIME: u32 = 0xB3;
    pub const CUE_TRACK_POSITIONS: u32 = 0xB7;
    pub const CUE_TRACK: u32 = 0xF7;
    pub const CUE_CLUSTER_POSITION: u32 = 0xF1;
    pub const VOID: u32 = 0xEC;
    pub const CRC32: u32 = 0xBF;
}

/// Room reserved at the front of a Segment for a SeekHead of three entries (68 bytes) and
/// the Void that pads it.
pub const SEEK_HEAD_ROOM: usize = 80;

/// The 8-byte "unknown size" (all value bits set) used for live Segments.
pub const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

/// A size written on all 8 bytes, for a size patched in once it is known.
pub fn size8(size: u64) -> [u8; 8] {
    (size | (1u64 << 56)).to_be_bytes()
}

pub fn id(out: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().position(|&b| b != 0).unwrap_or(3);
    out.extend_from_slice(&bytes[skip..]);
}

/// The shortest variable-length size that holds `size` (all-ones values are reserved).
pub fn size(out: &mut Vec<u8>, size: u64) {
    let len = (1..=8).find(|&n| size < (1u64 << (7 * n)) - 1).unwrap_or(8);
    let marked = size | (1u64 << (7 * len));
    out.extend_from_slice(&marked.to_be_bytes()[8 - len..]);
}

pub fn uint(out: &mut Vec<u8>, element: u32, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().position(|&b| b != 0).unwrap_or(7);
    id(out, element);
    size(out, (8 - skip) as u64);
    out.extend_from_slice(&bytes[skip..]);
}

pub fn int(out: &mut Vec<u8>, element: u32, v: i64) {
    let bytes = v.to_be_bytes();
    // Drop leading bytes that only repeat the sign.
    let mut skip = 0;
    while skip < 7 {
        let (b, next) = (bytes[skip], bytes[skip + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) {
            skip += 1;
        } else {
            break;
        }
    }
    id(out, element);
    size(out, (8 - skip) as u64);
    out.extend_from_slice(&bytes[skip..]);
}

pub fn float(out: &mut Vec<u8>, element: u32, v: f64) {
    id(out, element);
    size(out, 8);
    out.extend_from_slice(&v.to_be_bytes());
}

pub fn bytes(out: &mut Vec<u8>, element: u32, data: &[u8]) {
    id(out, element);
    size(out, data.len() as u64);
    out.extend_from_slice(data);
}

pub fn string(out: &mut Vec<u8>, element: u32, s: &str) {
    bytes(out, element, s.as_bytes());
}

/// A master element whose body is built by `body`.
pub fn master(out: &mut Vec<u8>, element: u32, body: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    body(&mut inner);
    bytes(out, element, &inner);
}

/// A Void element of exactly `len` bytes (2 to 128).
pub fn void(out: &mut Vec<u8>, len: usize) {
    debug_assert!((2..=128).contains(&len));
    id(out, self::id::VOID);
    out.push(0x80 | (len - 2) as u8);
    out.resize(out.len() + len - 2, 0);
}

/// A SeekHead pointing at `entries` (element ID, position in the Segment's data), padded with
/// a Void to exactly [`SEEK_HEAD_ROOM`] bytes.
pub fn seek_head(entries: &[(u32, u64)]) -> Vec<u8> {
    let mut out = Vec::new();
    master(&mut out, self::id::SEEK_HEAD, |h| {
        for (element, pos) in entries {
            master(h, self::id::SEEK, |s| {
                bytes(s, self::id::SEEK_ID, &element.to_be_bytes());
                uint(s, self::id::SEEK_POSITION, *pos);
            });
        }
    });
    let filler = SEEK_HEAD_ROOM - out.len();
    void(&mut out, filler);
    out
}

/// Cues with one CuePoint per `(time, cluster position)` of `track`.
pub fn cues(out: &mut Vec<u8>, track: u64, points: &[(u64, u64)]) {
    master(out, self::id::CUES, |c| {
        for (time, pos) in points {
            master(c, self::id::CUE_POINT, |p| {
                uint(p, self::id::CUE_TIME, *time);
                master(p, self::id::CUE_TRACK_POSITIONS, |t| {
                    uint(t, self::id::CUE_TRACK, track);
                    uint(t, self::id::CUE_CLUSTER_POSITION, *pos);
                });
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ints() {
        let mut v = Vec::new();
        size(&mut v, 0);
        size(&mut v, 126);
        size(&mut v, 127);
        assert_eq!(v, [0x80, 0xFE, 0x40, 0x7F]);
        let mut v = Vec::new();
        int(&mut v, id::DISCARD_PADDING, -1);
        assert_eq!(v, [0x75, 0xA2, 0x81, 0xFF]);
        let mut v = Vec::new();
        int(&mut v, id::DISCARD_PADDING, 128);
        assert_eq!(v, [0x75, 0xA2, 0x82, 0x00, 0x80]);
        let mut v = Vec::new();
        uint(&mut v, id::TRACK_NUMBER, 0);
        assert_eq!(v, [0xD7, 0x81, 0x00]);
    }

    #[test]
    fn a_seek_head_fills_its_room_exactly() {
        let h = seek_head(&[(id::INFO, 80), (id::TRACKS, 200), (id::CUES, 1 << 40)]);
        assert_eq!(h.len(), SEEK_HEAD_ROOM);
        assert_eq!(&h[..4], &id::SEEK_HEAD.to_be_bytes());
        let void_at = h.iter().rposition(|&b| b == id::VOID as u8).unwrap();
        assert_eq!(h[void_at + 1] as usize & 0x7F, SEEK_HEAD_ROOM - void_at - 2);
    }
}
