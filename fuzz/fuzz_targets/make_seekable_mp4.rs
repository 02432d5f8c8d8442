//! make_seekable on fragmented MP4: besides never panicking, hanging or allocating without
//! bound, what it returns must be a whole faststart file by our own reader (`ftyp`, a `moov`
//! whose boxes are whole and whose sample tables agree, every chunk inside the file), or the
//! call must have raised. A damaged box copied as it is would give a file players refuse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediarecorder::core::mux::mp4::check::check_faststart;
use mediarecorder::core::mux::matroska::seekable::make_seekable;

fuzz_target!(|data: &[u8]| {
    // Only MP4 (an ftyp first): the WebM target covers the rest.
    if data.get(4..8) != Some(b"ftyp") {
        return;
    }
    if let Ok(out) = make_seekable(data) {
        assert!(out.len() <= data.len() * 2 + 4096, "output grew without bound");
        if let Err(e) = check_faststart(&out) {
            panic!("make_seekable returned a file our reader refuses: {e}");
        }
    }
});
