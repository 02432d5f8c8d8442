//! Matroska and WebM: the EBML writer, the live muxer and the rewrite of a live file as a
//! seekable one.

pub mod ebml;
pub mod seekable;
pub mod writer;
