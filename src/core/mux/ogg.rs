//! Ogg Opus (RFC 7845), what Firefox records: an identification page (OpusHead), a comment
//! page (OpusTags), then audio pages. Pages are only written at [`OggMuxer::flush`], so each
//! chunk after the first holds whole pages; the last page is flagged end-of-stream and its
//! granule position trims the encoder's padding.
//!
//! Decoders trim the end only on the end-of-stream page (RFC 7845 §4.5), so the newest packet
//! is always held back from [`OggMuxer::flush`]: whatever the chunking, the last packet goes
//! out at [`OggMuxer::finalize`] on the page that carries the flag and the final granule.
//! A chunk therefore lags its timeslice by one packet (20 ms).

use crate::core::packet::Packet;

const MAX_SEGMENTS: usize = 255;

pub struct OggMuxer {
    serial: u32,
    sequence: u32,
    head: Vec<u8>,
    header_written: bool,
    out: Vec<u8>,
    /// Packets of the page being filled, and the granule after its last packet.
    packets: Vec<Vec<u8>>,
    granule: u64,
    segments: usize,
    /// The newest packet and the granule after it, held for the end-of-stream page.
    held: Option<(Vec<u8>, u64)>,
}

impl OggMuxer {
    /// `head` is the encoder's OpusHead.
    pub fn new(head: Vec<u8>) -> Self {
        let serial = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(1);
        OggMuxer {
            serial,
            sequence: 0,
            head,
            header_written: false,
            out: Vec::new(),
            packets: Vec::new(),
            granule: 0,
            segments: 0,
            held: None,
        }
    }

    pub fn write(&mut self, p: &Packet) {
        self.ensure_header();
        // Granule: 48 kHz samples up to the end of this packet, pre-skip included (packet times
        // count from the first encoded sample), padding trimmed.
        let end_ns = (p.pts + p.duration - p.discard_padding).max(0) as u128;
        let granule = (end_ns * 48_000 / 1_000_000_000) as u64;
        if let Some((data, granule)) = self.held.replace((p.data.clone(), granule)) {
            self.add(data, granule);
        }
    }

    fn add(&mut self, data: Vec<u8>, granule: u64) {
        let segments = data.len() / 255 + 1;
        if self.segments + segments > MAX_SEGMENTS {
            self.page(false);
        }
        self.granule = granule;
        self.segments += segments;
        self.packets.push(data);
    }

    /// The bytes produced since the last flush that are final: [`Self::flush`] returns them
    /// first.
    pub fn pending(&self) -> &[u8] {
        &self.out
    }

    /// Whole pages of every packet but the newest.
    /// Writes the header pages (OpusHead, OpusTags) unless they are written.
    pub fn begin(&mut self) {
        self.ensure_header();
    }

    pub fn flush(&mut self) -> Vec<u8> {
        if !self.packets.is_empty() {
            self.page(false);
        }
        std::mem::take(&mut self.out)
    }

    /// The last bytes: the remaining packets on a page flagged end-of-stream.
    pub fn finalize(&mut self) -> Vec<u8> {
        if let Some((data, granule)) = self.held.take() {
            self.add(data, granule);
        }
        if self.header_written {
            self.page(true);
        }
        std::mem::take(&mut self.out)
    }

    fn ensure_header(&mut self) {
        if self.header_written {
            return;
        }
        self.header_written = true;
        let head = std::mem::take(&mut self.head);
        self.raw_page(0x02, 0, &[head]);
        let vendor = concat!("mediarecorder-", env!("CARGO_PKG_VERSION")).as_bytes();
        let mut tags = b"OpusTags".to_vec();
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor);
        tags.extend_from_slice(&0u32.to_le_bytes());
        self.raw_page(0, 0, &[tags]);
    }

    fn page(&mut self, last: bool) {
        let packets = std::mem::take(&mut self.packets);
        self.segments = 0;
        let granule = self.granule;
        self.raw_page(if last { 0x04 } else { 0 }, granule, &packets);
    }

    fn raw_page(&mut self, flags: u8, granule: u64, packets: &[Vec<u8>]) {
        let mut lacing = Vec::new();
        for p in packets {
            lacing.extend(std::iter::repeat_n(255u8, p.len() / 255));
            lacing.push((p.len() % 255) as u8);
        }
        let start = self.out.len();
        self.out.extend_from_slice(b"OggS");
        self.out.push(0);
        self.out.push(flags);
        self.out.extend_from_slice(&granule.to_le_bytes());
        self.out.extend_from_slice(&self.serial.to_le_bytes());
        self.out.extend_from_slice(&self.sequence.to_le_bytes());
        self.out.extend_from_slice(&[0; 4]);
        self.out.push(lacing.len() as u8);
        self.out.extend_from_slice(&lacing);
        for p in packets {
            self.out.extend_from_slice(p);
        }
        let crc = crc32(&self.out[start..]);
        self.out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
        self.sequence += 1;
    }
}

/// Ogg's CRC-32 (polynomial 0x04C11DB7, no reflection, zero init).
fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut r = (i as u32) << 24;
            for _ in 0..8 {
                r = if r & 0x8000_0000 != 0 { (r << 1) ^ 0x04C1_1DB7 } else { r << 1 };
            }
            *e = r;
        }
        t
    });
    data.iter().fold(0u32, |crc, &b| (crc << 8) ^ table[((crc >> 24) as u8 ^ b) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(n: i64, bytes: usize, discard_ns: i64) -> Packet {
        Packet {
            track: 0,
            pts: n * 20_000_000,
            duration: 20_000_000,
            keyframe: true,
            discard_padding: discard_ns,
            data: vec![n as u8; bytes],
        }
    }

    /// (flags, granule, sequence, packet sizes) of every page; checks each page's CRC.
    fn pages(mut data: &[u8]) -> Vec<(u8, u64, u32, Vec<usize>)> {
        let mut out = Vec::new();
        while !data.is_empty() {
            assert_eq!(&data[..4], b"OggS");
            let n = data[26] as usize;
            let lacing = &data[27..27 + n];
            let body: usize = lacing.iter().map(|&l| l as usize).sum();
            let len = 27 + n + body;
            let mut page = data[..len].to_vec();
            let crc = u32::from_le_bytes(page[22..26].try_into().unwrap());
            page[22..26].fill(0);
            assert_eq!(crc32(&page), crc, "page CRC");
            let mut sizes = vec![0usize];
            for &l in lacing {
                *sizes.last_mut().unwrap() += l as usize;
                if l < 255 {
                    sizes.push(0);
                }
            }
            sizes.pop();
            let granule = u64::from_le_bytes(data[6..14].try_into().unwrap());
            let sequence = u32::from_le_bytes(data[18..22].try_into().unwrap());
            out.push((data[5], granule, sequence, sizes));
            data = &data[len..];
        }
        out
    }

    #[test]
    fn headers_then_pages_with_the_newest_packet_held_for_the_last_page() {
        let mut m = OggMuxer::new(b"OpusHead-test".to_vec());
        m.write(&packet(0, 10, 0));
        m.write(&packet(1, 300, 0));
        let first = m.flush();
        m.write(&packet(2, 20, 5_000_000));
        let second = m.flush();
        let last = m.finalize();
        let p = pages(&[first.clone(), second.clone(), last.clone()].concat());
        // OpusHead, OpusTags, then packet 0 (packet 1 was held), then 1, then 2 with EOS.
        assert_eq!(p.iter().map(|x| x.2).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        assert_eq!(p[0].0, 0x02, "beginning of stream");
        assert_eq!(p[2].3, [10]);
        assert_eq!(p[3].3, [300]);
        assert_eq!((p[4].0, p[4].3.clone()), (0x04, vec![20]), "end of stream");
        // Granules: 48 kHz samples to the end of each page's last packet, padding trimmed.
        assert_eq!(p[2].1, 960);
        assert_eq!(p[4].1, 3 * 960 - 240);
        assert_eq!(pages(&first).len(), 3, "a chunk ends on a page boundary");
        assert_eq!(pages(&second).len(), 1);
    }

    #[test]
    fn a_page_holds_at_most_255_segments() {
        let mut m = OggMuxer::new(b"OpusHead".to_vec());
        for n in 0..40 {
            m.write(&packet(n, 1000, 0)); // 4 segments each
        }
        let p = pages(&[m.flush(), m.finalize()].concat());
        let audio = &p[2..];
        assert!(audio.iter().all(|x| x.3.iter().map(|s| s / 255 + 1).sum::<usize>() <= 255));
        assert_eq!(audio.iter().map(|x| x.3.len()).sum::<usize>(), 40);
    }
}
