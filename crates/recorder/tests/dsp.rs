//! The capture DSP: any rate, channel count and sample format in; 16 kHz mono
//! PCM16 frames out, keeping frequency, level and timing.

use consult_recorder::audio::FRAME_SAMPLES;
use consult_recorder::audio::{Dsp, SampleBlock};

const AMPLITUDE: f64 = 0.5; // −6 dBFS peak

/// A 1 kHz sine, `channels` identical channels, interleaved.
fn sine(rate: u32, channels: usize, secs: f64) -> Vec<f64> {
    let n = (f64::from(rate) * secs) as usize;
    (0..n)
        .flat_map(|i| {
            let v = AMPLITUDE
                * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / f64::from(rate)).sin();
            std::iter::repeat_n(v, channels)
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
enum Format {
    I8,
    I16,
    I24,
    I32,
    U8,
    U16,
    F32,
    F64,
}

/// Feeds `samples` (in [-1, 1]) as `format`, in irregular block sizes, and
/// returns the 16 kHz output as floats.
fn run(format: Format, rate: u32, channels: u16, samples: &[f64]) -> Vec<f32> {
    let mut dsp = Dsp::new(rate, channels, 0).unwrap();
    let mut out = Vec::new();
    let mut next_offset = 0;
    let mut frame_sink = |frame: consult_recorder::audio::Frame| {
        assert_eq!(frame.offset, next_offset, "frames are contiguous");
        assert_eq!(frame.samples(), FRAME_SAMPLES as u64);
        next_offset += frame.samples();
        out.extend(
            frame
                .pcm
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0),
        );
    };
    // Device callbacks come in odd sizes: cycle through a few, in whole frames.
    let sizes = [441usize, 73, 1024, 7, 480, 2048];
    let ch = usize::from(channels);
    let mut at = 0;
    let mut k = 0;
    while at < samples.len() {
        let take = (sizes[k % sizes.len()] * ch).min(samples.len() - at);
        let block = &samples[at..at + take];
        k += 1;
        at += take;
        macro_rules! feed {
            ($variant:ident, $convert:expr) => {{
                let converted: Vec<_> = block.iter().map(|v| $convert(*v)).collect();
                dsp.push(SampleBlock::$variant(&converted), &mut frame_sink, |_| {});
            }};
        }
        match format {
            Format::I8 => feed!(I8, |v: f64| (v * 127.0).round() as i8),
            Format::I16 => feed!(I16, |v: f64| (v * 32_767.0).round() as i16),
            Format::I24 => feed!(I24, |v: f64| (v * 8_388_607.0).round() as i32),
            Format::I32 => feed!(I32, |v: f64| (v * 2_147_483_647.0).round() as i32),
            Format::U8 => feed!(U8, |v: f64| (v * 127.0 + 128.0).round() as u8),
            Format::U16 => feed!(U16, |v: f64| (v * 32_767.0 + 32_768.0).round() as u16),
            Format::F32 => feed!(F32, |v: f64| v as f32),
            Format::F64 => feed!(F64, |v: f64| v),
        }
    }
    out
}

fn rms_db(x: &[f32]) -> f64 {
    let mean = x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len() as f64;
    10.0 * mean.log10()
}

fn zero_crossings(x: &[f32]) -> usize {
    x.windows(2)
        .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
        .count()
}

#[test]
fn a_1khz_tone_keeps_its_frequency_level_and_smoothness_in_every_format_and_rate() {
    let expected_db = 20.0 * (AMPLITUDE / 2f64.sqrt()).log10(); // −9.03 dBFS
    // The steepest step a 1 kHz sine of this amplitude takes at 16 kHz.
    let max_step = 2.0 * std::f64::consts::PI * 1000.0 / 16_000.0 * AMPLITUDE;
    for (rate, channels) in [
        (44_100, 2u16),
        (48_000, 2),
        (48_000, 1),
        (22_050, 1),
        (96_000, 2),
        (16_000, 1),
    ] {
        let input = sine(rate, usize::from(channels), 2.0);
        for format in [
            Format::I8,
            Format::I16,
            Format::I24,
            Format::I32,
            Format::U8,
            Format::U16,
            Format::F32,
            Format::F64,
        ] {
            let out = run(format, rate, channels, &input);
            let label = format!("{format:?} {rate} Hz ×{channels}");
            // Skip the first 100 ms and the unfinished tail.
            let steady = &out[1_600..out.len() - 1_600];
            let level = rms_db(steady);
            let tolerance = if matches!(format, Format::I8 | Format::U8) {
                0.5
            } else {
                0.1
            };
            assert!(
                (level - expected_db).abs() <= tolerance,
                "{label}: {level:.2} dBFS"
            );
            let crossings = zero_crossings(steady) as f64;
            let expected_crossings = 2.0 * 1000.0 * steady.len() as f64 / 16_000.0;
            assert!(
                (crossings - expected_crossings).abs() <= 2.0,
                "{label}: {crossings} crossings"
            );
            // No clicks anywhere, including every 320-sample frame boundary.
            let worst = steady
                .windows(2)
                .map(|w| f64::from((w[1] - w[0]).abs()))
                .fold(0.0, f64::max);
            let noise = if matches!(format, Format::I8 | Format::U8) {
                0.02
            } else {
                0.002
            };
            assert!(
                worst <= max_step * 1.02 + noise,
                "{label}: a step of {worst:.4}"
            );
        }
    }
}

#[test]
fn sample_counts_stay_exact_over_a_long_recording() {
    // Ten minutes at 44.1 kHz: 16 kHz output must match the input's duration
    // to within one internal chunk, however long it runs.
    let rate = 44_100u32;
    let mut dsp = Dsp::new(rate, 1, 0).unwrap();
    let block = vec![0.25f32; 4_410];
    let mut produced = 0u64;
    let mut fed = 0u64;
    for minute in 1..=10 {
        for _ in 0..600 {
            dsp.push(
                SampleBlock::F32(&block),
                |f| produced += f.samples(),
                |_| {},
            );
            fed += block.len() as u64;
        }
        let expected = fed * 16_000 / u64::from(rate);
        let behind = expected as i64 - produced as i64;
        // Held back: exactly the resampler's delay, plus at most one chunk and
        // one unfinished frame still in the pipeline — never growing.
        let delay = dsp.delay_samples() as i64;
        let most = dsp.max_latency_samples() as i64;
        assert!(delay > 0, "44.1 kHz has a resampler delay");
        assert!(
            (delay..=most).contains(&behind),
            "after {minute} min: {behind} behind (delay {delay}, at most {most})"
        );
    }
    assert_eq!(dsp.next_offset(), produced);
}
