//! Muxers: packets in, container bytes out.
//!
//! Our own EBML writer rather than the `webm` crate: webm 2.2.1 (libwebm's mkvmuxer) exposes
//! neither `CodecDelay`/`SeekPreRoll` nor `DiscardPadding`, cannot be told to close a cluster
//! at a chunk boundary, and needs `Write + Seek` for anything but its live mode.

pub mod ebml;
pub mod interleave;
pub mod ogg;
pub mod seekable;
pub mod wav;
pub mod webm;

use crate::core::packet::Packet;

/// The muxer of a session, chosen by the container of its MIME type.
pub enum Muxer {
    Webm(webm::WebmMuxer),
    Ogg(ogg::OggMuxer),
    Wav(wav::WavMuxer),
}

impl Muxer {
    /// `last`: no later packet of the track is known yet (see [`webm::WebmMuxer::write`]).
    pub fn write(&mut self, p: &Packet, last: bool) {
        match self {
            Muxer::Webm(m) => m.write(p, last),
            Muxer::Ogg(m) => m.write(p),
            Muxer::Wav(m) => m.write(p),
        }
    }

    /// Every byte produced since the last flush, ending on a boundary a chunk may end on.
    pub fn flush(&mut self) -> Vec<u8> {
        match self {
            Muxer::Webm(m) => m.flush(),
            Muxer::Ogg(m) => m.flush(),
            Muxer::Wav(m) => m.flush(),
        }
    }

    /// The last bytes, and the patches that finish a file of the whole stream.
    pub fn finalize(&mut self) -> (Vec<u8>, Option<webm::Patches>) {
        match self {
            Muxer::Webm(m) => m.finalize(),
            Muxer::Ogg(m) => (m.finalize(), None),
            Muxer::Wav(m) => m.finalize(),
        }
    }
}
