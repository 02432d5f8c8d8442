//! End-to-end tests of the core without Python: an event outlet that runs tasks on a delivery
//! thread of its own, as the binding does, and records what would be dispatched.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{unbounded, Receiver, Sender};

use crate::core::encode::BitrateMode;
use crate::core::recorder::{Event, EventOutlet, Recorder, RecorderOptions, Task};
use crate::core::source::audio::{AudioInput, Samples};
use crate::core::Error;

struct TestOutlet {
    tasks: Sender<Task>,
}

impl EventOutlet for TestOutlet {
    fn post(&self, task: Task) {
        let _ = self.tasks.send(task);
    }
}

/// (type, data length, timecode, error name)
type Seen = (String, usize, f64, Option<String>);

fn recorder(mime: &str) -> (Recorder, Receiver<Seen>) {
    let (task_tx, task_rx) = unbounded::<Task>();
    let (seen_tx, seen_rx) = unbounded::<Seen>();
    std::thread::spawn(move || {
        for task in task_rx {
            if let Some(ev) = task.run() {
                let seen = match &ev {
                    Event::DataAvailable { data, timecode, .. } => {
                        ("dataavailable".into(), data.len(), *timecode, None)
                    }
                    Event::Error(e) => {
                        ("error".into(), 0, 0.0, Some(e.dom_name().unwrap_or("").to_string()))
                    }
                    other => (other.type_().to_string(), 0, 0.0, None),
                };
                let _ = seen_tx.send(seen);
            }
        }
    });
    let options = RecorderOptions {
        mime_type: mime.into(),
        audio_bits_per_second: None,
        video_bits_per_second: None,
        bits_per_second: None,
        audio_bitrate_mode: BitrateMode::Variable,
        video_key_frame_interval_duration: None,
        video_key_frame_interval_count: None,
        independent_chunks: false,
        audio_tracks: crate::core::recorder::AudioTracks::First,
        start_on_speech: None,
    };
    (Recorder::new(options, Arc::new(TestOutlet { tasks: task_tx })).unwrap(), seen_rx)
}

fn until_stop(rx: &Receiver<Seen>) -> Vec<Seen> {
    let mut out = Vec::new();
    loop {
        let seen = rx.recv_timeout(Duration::from_secs(10)).expect("no stop event within 10 s");
        let last = seen.0 == "stop";
        out.push(seen);
        if last {
            return out;
        }
    }
}

fn types(seen: &[Seen]) -> Vec<&str> {
    seen.iter().map(|s| s.0.as_str()).collect()
}

fn second_of_audio() -> Vec<f32> {
    (0..48_000).map(|i| (i as f32 * 0.0576).sin() * 0.5).collect()
}

#[test]
fn start_stop_delivers_everything_written() {
    let (rec, rx) = recorder("");
    let src = AudioInput::new(48_000, 1, "t").unwrap();
    rec.start(std::slice::from_ref(src.track()), None, None).unwrap();
    src.write(Samples::F32(&second_of_audio())).unwrap();
    rec.stop();
    let seen = until_stop(&rx);
    assert_eq!(types(&seen), ["start", "dataavailable", "stop"]);
    assert!(seen[1].1 > 10_000, "one second of 128 kbps Opus, got {} bytes", seen[1].1);
    assert_eq!(rec.mime_type(), "");
}

#[test]
fn pause_resume_and_timeslice_order() {
    let (rec, rx) = recorder("audio/webm");
    let src = AudioInput::new(48_000, 1, "t").unwrap();
    rec.start(std::slice::from_ref(src.track()), Some(250), None).unwrap();
    src.write(Samples::F32(&second_of_audio())).unwrap();
    rec.pause().unwrap();
    src.write(Samples::F32(&second_of_audio())).unwrap();
    rec.resume().unwrap();
    src.write(Samples::F32(&second_of_audio())).unwrap();
    rec.stop();
    let seen = until_stop(&rx);
    let t = types(&seen);
    assert_eq!(t.first(), Some(&"start"));
    assert_eq!(t.last(), Some(&"stop"));
    let pause = t.iter().position(|&x| x == "pause").unwrap();
    let resume = t.iter().position(|&x| x == "resume").unwrap();
    assert!(pause < resume);
    let data: Vec<&Seen> = seen.iter().filter(|s| s.0 == "dataavailable").collect();
    // 2 s recorded (the paused second is dropped) in 250 ms slices, plus the tail.
    assert!((8..=10).contains(&data.len()), "{} blobs", data.len());
    assert_eq!(data[0].2, 0.0);
    assert!(data.windows(2).all(|w| w[0].2 <= w[1].2));
    assert!(data.last().unwrap().2 <= 2_020.0);
}

#[test]
fn track_end_tears_down_without_error() {
    let (rec, rx) = recorder("");
    let src = AudioInput::new(16_000, 2, "t").unwrap();
    rec.start(std::slice::from_ref(src.track()), None, None).unwrap();
    src.write(Samples::F32(&vec![0.25; 32_000])).unwrap();
    src.close();
    let seen = until_stop(&rx);
    assert_eq!(types(&seen), ["start", "dataavailable", "stop"]);
    assert_eq!(rec.state().as_str(), "inactive");
}

#[test]
fn injected_failure_and_track_set_change_fire_errors_first() {
    for (err, name) in [
        (Some(Error::Encoding("boom".into())), "EncodingError"),
        (None, "InvalidModificationError"),
    ] {
        let (rec, rx) = recorder("");
        let src = AudioInput::new(48_000, 1, "t").unwrap();
        rec.start(std::slice::from_ref(src.track()), None, None).unwrap();
        src.write(Samples::F32(&second_of_audio())).unwrap();
        match err {
            Some(e) => rec.inject_failure(e).unwrap(),
            None => rec.track_set_changed(),
        }
        let seen = until_stop(&rx);
        assert_eq!(types(&seen), ["start", "error", "dataavailable", "stop"]);
        assert_eq!(seen[1].3.as_deref(), Some(name));
        assert!(seen[2].1 > 10_000, "the data gathered so far is delivered");
    }
}

#[test]
fn track_set_change_then_stop_is_no_error() {
    let (rec, rx) = recorder("");
    let src = AudioInput::new(48_000, 1, "t").unwrap();
    rec.start(std::slice::from_ref(src.track()), None, None).unwrap();
    rec.track_set_changed();
    rec.stop();
    assert_eq!(types(&until_stop(&rx)), ["start", "dataavailable", "stop"]);
}

#[test]
fn state_errors() {
    let (rec, _rx) = recorder("");
    assert!(matches!(rec.pause(), Err(Error::InvalidState(_))));
    assert!(matches!(rec.resume(), Err(Error::InvalidState(_))));
    assert!(matches!(rec.request_data(), Err(Error::InvalidState(_))));
    assert!(matches!(rec.start(&[], None, None), Err(Error::NotSupported(_))));
    let src = AudioInput::new(48_000, 1, "t").unwrap();
    rec.start(std::slice::from_ref(src.track()), None, None).unwrap();
    assert!(matches!(
        rec.start(std::slice::from_ref(src.track()), None, None),
        Err(Error::InvalidState(_))
    ));
    rec.stop();
    rec.stop();
}

#[test]
fn a_file_is_written_as_the_recording_goes() {
    use crate::core::sink::{FileTarget, Output, Target};
    let path = std::env::temp_dir().join(format!("mr-ahead-{}.webm", std::process::id()));
    let (rec, rx) = recorder("audio/webm");
    let src = AudioInput::new(48_000, 1, "t").unwrap();
    let target = path.clone();
    let open: crate::core::sink::Opener =
        Box::new(move || Ok(Box::new(FileTarget::create(&target)?) as Box<dyn Target>));
    rec.start(std::slice::from_ref(src.track()), None, Some(Output::Target(open))).unwrap();
    for _ in 0..3 {
        src.write(Samples::F32(&second_of_audio())).unwrap();
    }
    // No timeslice, no request: whole clusters (1 s each) reach the file anyway.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&path).map_or(0, |m| m.len()) < 20_000 {
        assert!(std::time::Instant::now() < deadline, "nothing reached the file while recording");
        std::thread::sleep(Duration::from_millis(10));
    }
    rec.stop();
    let seen = until_stop(&rx);
    assert_eq!(types(&seen), ["start", "dataavailable", "stop"]);
    let data = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    // The blob is the whole stream, the file the same stream finished (patched in place).
    assert_eq!(data.len(), seen[1].1);
    assert!(data.windows(4).any(|w| w == [0x1C, 0x53, 0xBB, 0x6B]), "no Cues");
}

#[test]
fn a_write_that_began_before_a_stop_is_recorded() {
    let (rec, rx) = recorder("audio/webm");
    let src = AudioInput::new(48_000, 1, "t").unwrap();
    rec.start(std::slice::from_ref(src.track()), None, None).unwrap();
    let track = src.track();
    // As a write that waits for room when another thread stops the recorder.
    let admission = track.wait_room().unwrap();
    assert!(admission.owed());
    rec.stop();
    let block = crate::core::media::AudioBlock {
        sample_rate: 48_000,
        channels: 1,
        time: 0,
        samples: second_of_audio(),
    };
    assert!(track.push_audio(block, admission));
    let seen = until_stop(&rx);
    assert_eq!(types(&seen), ["start", "dataavailable", "stop"]);
    assert!(seen[1].1 > 10_000, "the second written is in the blob: {} bytes", seen[1].1);
}

#[test]
fn a_write_that_gives_up_leaves_no_place_waited_for() {
    let (rec, rx) = recorder("audio/webm");
    let src = AudioInput::new(48_000, 1, "t").unwrap();
    rec.start(std::slice::from_ref(src.track()), None, None).unwrap();
    drop(src.track().wait_room().unwrap());
    rec.stop();
    assert_eq!(types(&until_stop(&rx)), ["start", "dataavailable", "stop"]);
}
