//! The plugin through its own C ABI, on whatever host cpal uses where it runs: ALSA on Linux,
//! WASAPI on Windows (scripts/wheel/windows_test.sh runs these under Wine, whose audio driver
//! talks to a private PulseAudio server). The capture test needs a sound server whose default
//! input hears a tone of MRD_TEST_TONE_HZ (that script plays one into a null sink and makes
//! its monitor the default source), so plain `cargo test` leaves it out.

use std::ffi::CStr;
use std::ptr;
use std::time::{Duration, Instant};

use super::*;

#[test]
fn the_plugin_reports_the_abi_it_was_built_against() {
    assert_eq!(mrd_abi_version(), abi::ABI_VERSION);
}

fn take(s: *mut c_char) -> String {
    // SAFETY: the plugin returned it (or null); it is freed here once.
    let out = unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned();
    unsafe { mrd_free(s) };
    out
}

/// Frequency of the strongest zero-crossing rate: enough for one clean sine.
fn tone_hz(samples: &[f32], rate: u32) -> f64 {
    let crossings = samples.windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count();
    crossings as f64 / 2.0 / (samples.len() as f64 / rate as f64)
}

#[test]
#[ignore = "needs a sound server playing MRD_TEST_TONE_HZ into the default input"]
fn the_default_input_records_the_tone_played_into_it() {
    let hz: f64 = std::env::var("MRD_TEST_TONE_HZ").expect("MRD_TEST_TONE_HZ").parse().unwrap();
    let (mut list, mut err) = (ptr::null_mut(), ptr::null_mut());
    // SAFETY: both out-pointers are valid.
    assert_eq!(unsafe { mrd_enumerate(&mut list, &mut err) }, OK);
    let list = take(list);
    assert!(list.lines().any(|l| l.split('\t').nth(1) == Some("1")), "no input in {list:?}");

    let mut stream = ptr::null_mut();
    // SAFETY: null host id (the default input), valid out-pointers.
    let code = unsafe { mrd_open(ptr::null(), 0, 0, &mut stream, &mut err) };
    assert_eq!(code, OK, "{}", if code == OK { String::new() } else { take(err) });
    let (mut rate, mut channels, mut label, mut id) = (0, 0, ptr::null(), ptr::null());
    // SAFETY: `stream` is open; the out-pointers are valid.
    unsafe { mrd_stream_info(stream, &mut rate, &mut channels, &mut label, &mut id) };
    let ch = channels as usize;
    assert!((MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) && ch >= 1, "{rate} Hz {ch} ch");

    // The first callback can come over a second after the start: read until 1 s has come
    // after the first samples, then measure the last second's first channel.
    let mut buf = vec![0f32; unsafe { mrd_stream_capacity(stream) }];
    let mut got: Vec<f32> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while got.len() < rate as usize * ch * 3 / 2 && Instant::now() < deadline {
        // SAFETY: `stream` is open and read from this thread only; `buf` holds its length.
        let n = unsafe { mrd_stream_read(stream, buf.as_mut_ptr(), buf.len()) };
        got.extend_from_slice(&buf[..n]);
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut counters = Counters::default();
    // SAFETY: `stream` is open; `counters` is a valid out-pointer.
    unsafe { mrd_stream_counters(stream, &mut counters) };
    unsafe { mrd_stream_close(stream) };
    assert!(got.len() >= rate as usize * ch, "only {} samples in 15 s", got.len());
    assert!(counters.total_frames as usize >= got.len() / ch, "{counters:?}");
    let last: Vec<f32> =
        got.iter().skip(got.len() - rate as usize * ch).step_by(ch).copied().collect();
    let level = (last.iter().map(|s| s * s).sum::<f32>() / last.len() as f32).sqrt();
    let measured = tone_hz(&last, rate);
    assert!(level > 0.05, "silence (rms {level})");
    assert!((measured - hz).abs() < 5.0, "tone at {measured:.1} Hz, played {hz} Hz");
    println!("captured {measured:.1} Hz at rms {level:.3}, {rate} Hz x {ch} ch");
}
