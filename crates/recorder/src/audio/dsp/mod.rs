//! Turns whatever a microphone delivers into the wire format: any sample
//! format and channel count → mono → 16 kHz → PCM16LE frames of 20 ms, with a
//! level meter on the way.
//!
//! Runs on the capture side's own task, never in the audio callback (which only
//! copies samples into a ring buffer). Steady state allocates nothing.

mod convert;
mod level;
mod resample;

pub use convert::SampleBlock;
pub use level::{Level, LevelMeter};
pub use resample::{ResampleError, Resampler16k};

use crate::audio::{FRAME_SAMPLES, Frame};

/// The whole path from device samples to wire frames.
pub struct Dsp {
    channels: usize,
    mono: Vec<f32>,
    resampler: Resampler16k,
    resampled: Vec<f32>,
    meter: LevelMeter,
    pending: Vec<f32>,
    next_offset: u64,
}

impl Dsp {
    /// For a device delivering `channels` interleaved channels at `sample_rate`;
    /// frames are numbered from `first_offset`.
    pub fn new(sample_rate: u32, channels: u16, first_offset: u64) -> Result<Self, ResampleError> {
        Ok(Self {
            channels: usize::from(channels.max(1)),
            mono: Vec::new(),
            resampler: Resampler16k::new(sample_rate)?,
            resampled: Vec::new(),
            meter: LevelMeter::new(),
            pending: Vec::with_capacity(FRAME_SAMPLES * 2),
            next_offset: first_offset,
        })
    }

    /// Feeds interleaved device samples; calls `frame` for each full 20 ms
    /// frame and `level` for each 100 ms level reading.
    pub fn push(
        &mut self,
        block: SampleBlock<'_>,
        mut frame: impl FnMut(Frame),
        mut level: impl FnMut(Level),
    ) {
        self.mono.clear();
        block.downmix_into(self.channels, &mut self.mono);
        self.resampled.clear();
        self.resampler.push(&self.mono, &mut self.resampled);
        for &sample in &self.resampled {
            if let Some(reading) = self.meter.push(sample) {
                level(reading);
            }
            self.pending.push(sample);
            if self.pending.len() == FRAME_SAMPLES {
                let pcm = self
                    .pending
                    .iter()
                    .flat_map(|s| to_i16(*s).to_le_bytes())
                    .collect();
                frame(Frame {
                    offset: self.next_offset,
                    pcm,
                });
                self.next_offset += FRAME_SAMPLES as u64;
                self.pending.clear();
            }
        }
    }

    /// Audio held inside the pipeline at most, in 16 kHz samples: the
    /// resampler's delay, one resampler chunk and one unfinished frame.
    pub fn max_latency_samples(&self) -> usize {
        self.resampler.delay() + self.resampler.chunk_out() + FRAME_SAMPLES
    }

    /// The resampler's start-up delay, in 16 kHz samples.
    pub fn delay_samples(&self) -> usize {
        self.resampler.delay()
    }

    /// Offset of the next frame to be produced.
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }
}

/// Float in [-1, 1] to PCM16, rounded and clamped.
pub fn to_i16(sample: f32) -> i16 {
    (sample * 32_767.0).round().clamp(-32_768.0, 32_767.0) as i16
}
