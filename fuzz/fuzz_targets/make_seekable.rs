//! make_seekable parses untrusted files: it must never panic, hang or allocate without bound.
//! Whatever it returns must itself be accepted again (the rewrite is a fixed point).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediarecorder::core::mux::matroska::seekable::make_seekable;

fuzz_target!(|data: &[u8]| {
    if let Ok(out) = make_seekable(data) {
        assert!(out.len() <= data.len() * 2 + 4096, "output grew without bound");
        let again = make_seekable(&out).expect("a rewritten file must parse again");
        assert_eq!(again.len(), out.len(), "the rewrite must be a fixed point");
    }
});
