use super::*;

const RATE: u32 = 48_000;

fn tone(rate: u32, channels: u16, hz: f64, amplitude: f32, from: usize, frames: usize) -> Vec<f32> {
    (from..from + frames)
        .flat_map(|n| {
            let v =
                amplitude * (2.0 * std::f64::consts::PI * hz * n as f64 / rate as f64).sin() as f32;
            std::iter::repeat_n(v, channels as usize)
        })
        .collect()
}

/// Amplitude of `hz` in channel `c` of interleaved `samples`.
fn level(samples: &[f32], channels: usize, c: usize, hz: f64) -> f64 {
    let x: Vec<f64> = samples.iter().skip(c).step_by(channels).map(|&v| v as f64).collect();
    let w = 2.0 * std::f64::consts::PI * hz / RATE as f64;
    let (i, q) = x.iter().enumerate().fold((0.0, 0.0), |(i, q), (n, v)| {
        (i + v * (w * n as f64).sin(), q + v * (w * n as f64).cos())
    });
    2.0 * (i * i + q * q).sqrt() / x.len() as f64
}

#[test]
fn inputs_of_other_rates_and_layouts_are_summed_with_headroom() {
    let mut mix = Mixer::new(RATE, 2, 2);
    let mut out = Vec::new();
    // 1 s of each, in 10 ms blocks on one pushed clock: 44.1 kHz mono and 48 kHz stereo.
    for k in 0..100 {
        let end = (k + 1) * 10_000_000;
        let a = tone(44_100, 1, 440.0, 0.5, k as usize * 441, 441);
        let block =
            AudioBlock { sample_rate: 44_100, channels: 1, time: end - 10_000_000, samples: a };
        mix.push(0, &block, end).unwrap();
        let b = tone(RATE, 2, 1000.0, 0.5, k as usize * 480, 480);
        let block =
            AudioBlock { sample_rate: RATE, channels: 2, time: end - 10_000_000, samples: b };
        mix.push(1, &block, end).unwrap();
        while let Some(block) = mix.pull(false) {
            assert_eq!((block.sample_rate, block.channels), (RATE, 2));
            out.extend(block.samples);
        }
    }
    mix.end_input(0).unwrap();
    mix.end_input(1).unwrap();
    while let Some(block) = mix.pull(true) {
        out.extend(block.samples);
    }
    // Every input's last samples too: the resampler's delay and the part chunk it held are
    // flushed when the input ends (before, up to 256 + its delay frames were lost per input).
    let frames = out.len() / 2;
    assert!((47_999..=48_001).contains(&frames), "{frames} frames");
    let steady = &out[2 * 4800..2 * 43_200];
    let g = 0.5 / 2f64.sqrt();
    for c in 0..2 {
        let (a, b) = (level(steady, 2, c, 440.0), level(steady, 2, c, 1000.0));
        assert!((a - g).abs() < 0.01 && (b - g).abs() < 0.01, "channel {c}: {a} {b}");
    }
    assert_eq!(mix.clipped(), 0);
}

#[test]
fn what_exceeds_full_scale_is_clamped_and_counted() {
    let mut mix = Mixer::new(RATE, 1, 2);
    let loud = AudioBlock { sample_rate: RATE, channels: 1, time: 0, samples: vec![0.9; 4800] };
    mix.push(0, &loud, 100_000_000).unwrap();
    mix.push(1, &loud, 100_000_000).unwrap();
    mix.end_input(0).unwrap();
    mix.end_input(1).unwrap();
    let mut out = Vec::new();
    while let Some(block) = mix.pull(true) {
        out.extend(block.samples);
    }
    assert!(out.len() > 4000);
    // 0.9 + 0.9 at -3 dB is 1.27: every sample was clamped, and counted.
    assert!(out.iter().all(|&v| v <= 1.0));
    assert_eq!(out.iter().filter(|&&v| v == 1.0).count() as u64, mix.clipped());
    assert!(mix.clipped() >= out.len() as u64 - 2 * CHUNK as u64);
}

/// A live source whose crystal runs at `true_rate` while it claims 48 kHz, with a click at
/// each of `clicks` (seconds of the shared clock).
struct Device {
    true_rate: f64,
    made: u64,
    clicks: Vec<f64>,
}

impl Device {
    fn block(&mut self, wall: f64) -> AudioBlock {
        let upto = (wall * self.true_rate) as u64;
        let mut samples = vec![0f32; (upto - self.made) as usize];
        for &t in &self.clicks {
            let at = (t * self.true_rate).round() as u64;
            if (self.made..upto).contains(&at) {
                samples[(at - self.made) as usize] = 0.9;
            }
        }
        self.made = upto;
        AudioBlock { sample_rate: RATE, channels: 1, time: 0, samples }
    }
}

#[test]
fn two_devices_a_tenth_of_a_percent_apart_stay_within_20_ms_over_10_minutes() {
    let a_clicks: Vec<f64> = (0..10).map(|m| 1.0 + 60.0 * m as f64).chain([599.0]).collect();
    let b_clicks: Vec<f64> = a_clicks.iter().map(|t| t + 0.5).collect();
    let mut devices = [
        Device { true_rate: 48_000.0, made: 0, clicks: a_clicks.clone() },
        Device { true_rate: 48_048.0, made: 0, clicks: b_clicks.clone() },
    ];
    let mut mix = Mixer::new(RATE, 1, 2);
    let mut seed = 12345u64;
    let mut found = Vec::new();
    let mut frame = 0i64;
    for k in 1..=60_000 {
        let wall = k as f64 * 0.01;
        for (i, device) in devices.iter_mut().enumerate() {
            // Blocks arrive up to 4 ms late, at random (as a busy machine delivers them).
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let jitter = ((seed >> 33) % 4_000_000) as i64;
            let block = device.block(wall);
            mix.push(i, &block, (wall * 1e9) as i64 + jitter).unwrap();
        }
        while let Some(block) = mix.pull(false) {
            for (n, v) in block.samples.iter().enumerate() {
                let at = frame + n as i64;
                if v.abs() > 0.2 && found.last().is_none_or(|&l: &i64| at - l > 4800) {
                    found.push(at);
                }
            }
            frame += block.samples.len() as i64;
        }
    }
    let mut expected: Vec<f64> = a_clicks.iter().chain(&b_clicks).copied().collect();
    expected.sort_by(f64::total_cmp);
    assert_eq!(found.len(), expected.len(), "clicks found at {found:?}");
    for (at, t) in found.iter().zip(&expected) {
        let off_ms = (*at as f64 / RATE as f64 - t) * 1000.0;
        assert!(off_ms.abs() < 20.0, "the click at {t} s is {off_ms:.1} ms off");
    }
}

#[test]
fn an_input_that_ends_mid_chunk_keeps_its_last_samples() {
    // 1000 frames at 44.1 kHz, not a multiple of the resampler's chunk: all of them reach the
    // mix (1000 * 48000 / 44100 = 1088.4), and the last 10 ms is the tone, not silence.
    let mut mix = Mixer::new(RATE, 1, 1);
    let block = AudioBlock {
        sample_rate: 44_100,
        channels: 1,
        time: 0,
        samples: tone(44_100, 1, 440.0, 0.5, 0, 1000),
    };
    mix.push(0, &block, block.duration_ns()).unwrap();
    let mut out = Vec::new();
    while let Some(block) = mix.pull(false) {
        out.extend(block.samples);
    }
    mix.end_input(0).unwrap();
    while let Some(block) = mix.pull(true) {
        out.extend(block.samples);
    }
    assert!((1087..=1089).contains(&out.len()), "{} frames", out.len());
    let tail = &out[out.len() - 480..];
    let peak = tail.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(peak > 0.45, "the last 10 ms peak at {peak}");
}
