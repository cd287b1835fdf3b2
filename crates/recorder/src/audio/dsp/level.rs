//! Input level for the UI (RMS and peak in dBFS, ten times a second) and the
//! digital-silence detector (a muted or dead input delivers exact zeros).

use serde::Serialize;

/// Samples per reading at 16 kHz: 100 ms, so ten readings a second.
const WINDOW: usize = 1_600;
/// The floor reported for silence.
pub const FLOOR_DBFS: f32 = -120.0;

/// One level reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Level {
    /// Loudness over the 100 ms (RMS), in dBFS; `FLOOR_DBFS` for silence.
    pub rms_dbfs: f32,
    /// The loudest sample of the 100 ms, in dBFS.
    pub peak_dbfs: f32,
    /// Seconds of unbroken digital silence so far (0 when there is signal).
    pub silent_secs: f32,
}

/// Accumulates 16 kHz mono samples into readings.
#[derive(Debug, Default)]
pub struct LevelMeter {
    sum_squares: f64,
    peak: f32,
    count: usize,
    silent_samples: u64,
}

fn dbfs(amplitude: f32) -> f32 {
    if amplitude <= 0.0 {
        FLOOR_DBFS
    } else {
        (20.0 * amplitude.log10()).max(FLOOR_DBFS)
    }
}

impl LevelMeter {
    /// A meter with nothing accumulated yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one sample; returns a reading every 100 ms of audio.
    pub fn push(&mut self, sample: f32) -> Option<Level> {
        self.sum_squares += f64::from(sample) * f64::from(sample);
        self.peak = self.peak.max(sample.abs());
        self.count += 1;
        // Below half a PCM16 step is a zero on the wire.
        if sample.abs() < 0.5 / 32_768.0 {
            self.silent_samples += 1;
        } else {
            self.silent_samples = 0;
        }
        if self.count < WINDOW {
            return None;
        }
        let rms = (self.sum_squares / self.count as f64).sqrt() as f32;
        let reading = Level {
            rms_dbfs: dbfs(rms),
            peak_dbfs: dbfs(self.peak),
            silent_secs: consult_protocol::samples_to_secs(self.silent_samples) as f32,
        };
        self.sum_squares = 0.0;
        self.peak = 0.0;
        self.count = 0;
        Some(reading)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_scale_sine_reads_minus_three_dbfs_rms_and_zero_peak() {
        let mut meter = LevelMeter::new();
        let readings: Vec<Level> = (0..16_000)
            .filter_map(|i| {
                meter.push((i as f32 * 2.0 * std::f32::consts::PI * 1000.0 / 16_000.0).sin())
            })
            .collect();
        assert_eq!(readings.len(), 10, "ten readings a second");
        for r in readings {
            assert!((r.rms_dbfs + 3.01).abs() < 0.05, "{r:?}");
            assert!(r.peak_dbfs.abs() < 0.05, "{r:?}");
            assert_eq!(r.silent_secs, 0.0);
        }
    }

    #[test]
    fn digital_silence_is_counted() {
        let mut meter = LevelMeter::new();
        let last = (0..48_000).filter_map(|_| meter.push(0.0)).last().unwrap();
        assert_eq!(last.rms_dbfs, FLOOR_DBFS);
        assert!((last.silent_secs - 3.0).abs() < 1e-3);
        // One audible sample resets it.
        let reading = std::iter::once(0.1)
            .chain(std::iter::repeat_n(0.0, 1_599))
            .filter_map(|s| meter.push(s))
            .last()
            .unwrap();
        assert!(reading.silent_secs < 0.1);
    }
}
