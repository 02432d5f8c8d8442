//! WAV: a RIFF header, then 16-bit PCM (what Python's `wave` and every analysis tool read).
//! The header's sizes are unknown while recording (0xFFFFFFFF, which streaming readers
//! accept); written to a file, [`WavMuxer::finalize`] returns the patches that set them.

use crate::core::mux::Patches;
use crate::core::packet::Packet;

pub struct WavMuxer {
    rate: u32,
    channels: u16,
    header_written: bool,
    /// How much of `out` [`Self::pending`] offers.
    ready: usize,
    data_bytes: u64,
    out: Vec<u8>,
}

impl WavMuxer {
    pub fn new(rate: u32, channels: u16) -> Self {
        WavMuxer { rate, channels, header_written: false, ready: 0, data_bytes: 0, out: Vec::new() }
    }

    /// `p.data` holds little-endian 16-bit samples (the PCM encoder quantised them).
    /// Writes the header (sizes unknown: patched at the end) unless it is written.
    pub fn begin(&mut self) {
        if !self.header_written {
            self.header_written = true;
            self.header(u32::MAX, u32::MAX);
            self.ready = self.out.len();
        }
    }

    pub fn write(&mut self, p: &Packet) {
        self.begin();
        self.out.extend_from_slice(&p.data);
        self.data_bytes += p.data.len() as u64;
        let second = self.rate as usize * self.channels as usize * 2;
        if self.out.len() - self.ready >= second {
            self.ready = self.out.len();
        }
    }

    /// The bytes produced since the last flush that are final, which [`Self::flush`] returns
    /// first: the header at once, then the samples by whole seconds (a write to a file per
    /// packet would be a system call every 20 ms).
    pub fn pending(&self) -> &[u8] {
        &self.out[..self.ready]
    }

    pub fn flush(&mut self) -> Vec<u8> {
        self.ready = 0;
        std::mem::take(&mut self.out)
    }

    pub fn finalize(&mut self) -> (Vec<u8>, Option<Patches>) {
        if !self.header_written {
            return (self.flush(), None);
        }
        let data = u32::try_from(self.data_bytes).unwrap_or(u32::MAX);
        let riff = data.saturating_add(36);
        let patches =
            Patches(vec![(4, riff.to_le_bytes().to_vec()), (40, data.to_le_bytes().to_vec())]);
        (self.flush(), Some(patches))
    }

    fn header(&mut self, riff: u32, data: u32) {
        let block = self.channels as u32 * 2;
        let h = &mut self.out;
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&riff.to_le_bytes());
        h.extend_from_slice(b"WAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&1u16.to_le_bytes()); // PCM
        h.extend_from_slice(&self.channels.to_le_bytes());
        h.extend_from_slice(&self.rate.to_le_bytes());
        h.extend_from_slice(&(self.rate * block).to_le_bytes());
        h.extend_from_slice(&(block as u16).to_le_bytes());
        h.extend_from_slice(&16u16.to_le_bytes());
        h.extend_from_slice(b"data");
        h.extend_from_slice(&data.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_header_has_unknown_sizes_and_the_file_gets_them() {
        let mut m = WavMuxer::new(16_000, 2);
        let samples: Vec<u8> =
            [16384i16, -16384, 32767, -32768].iter().flat_map(|s| s.to_le_bytes()).collect();
        let p = Packet {
            track: 0,
            pts: 0,
            duration: 62_500,
            keyframe: true,
            discard_padding: 0,
            data: samples,
        };
        m.write(&p);
        let live = m.flush();
        assert_eq!(&live[..4], b"RIFF");
        assert_eq!(&live[4..8], &u32::MAX.to_le_bytes());
        assert_eq!(&live[40..44], &u32::MAX.to_le_bytes());
        assert_eq!(u32::from_le_bytes(live[24..28].try_into().unwrap()), 16_000);
        assert_eq!(u16::from_le_bytes(live[22..24].try_into().unwrap()), 2);
        let pcm: Vec<i16> =
            live[44..].chunks(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
        assert_eq!(pcm, [16384, -16384, 32767, -32768]);
        let (rest, patches) = m.finalize();
        assert!(rest.is_empty());
        let patches = patches.unwrap().0;
        assert_eq!(
            patches,
            [(4, (36u32 + 8).to_le_bytes().to_vec()), (40, 8u32.to_le_bytes().to_vec())]
        );
    }
}
