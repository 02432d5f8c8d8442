//! ISO BMFF: the fragmented muxer, its boxes, the faststart rewrite, and the reader and
//! checker that rewrite relies on.

pub mod boxes;
pub mod check;
pub mod faststart;
pub(crate) mod read;
pub mod writer;

pub use writer::Mp4Muxer;
