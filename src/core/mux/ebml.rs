//! EBML element writing (RFC 8794), the little that Matroska muxing needs.

/// The 8-byte "unknown size" (all value bits set) used for live Segments.
pub const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

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
        int(&mut v, 0x75A2, -1);
        assert_eq!(v, [0x75, 0xA2, 0x81, 0xFF]);
        let mut v = Vec::new();
        int(&mut v, 0x75A2, 128);
        assert_eq!(v, [0x75, 0xA2, 0x82, 0x00, 0x80]);
        let mut v = Vec::new();
        uint(&mut v, 0xD7, 0);
        assert_eq!(v, [0xD7, 0x81, 0x00]);
    }
}
