//! Any input rate to 16 kHz, with rubato's FFT resampler (a fixed ratio, so
//! the synchronous resampler: exact sample counts, no drift over hours).

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Why a device's rate cannot be resampled.
#[derive(Debug, thiserror::Error)]
#[error("the microphone's sample rate of {rate} Hz cannot be converted to 16 kHz: {reason}")]
pub struct ResampleError {
    rate: u32,
    reason: String,
}

/// Mono f32 at the device rate in, mono f32 at 16 kHz out.
pub struct Resampler16k {
    fft: Option<Fft<f32>>,
    input: Vec<f32>,
    output: Vec<f32>,
    /// Output frames still to drop: the resampler's start-up delay, so output
    /// sample n is the input's instant n / 16 kHz.
    delay_left: usize,
}

impl Resampler16k {
    /// The resampler's start-up delay in 16 kHz samples (dropped from the output).
    pub fn delay(&self) -> usize {
        self.fft.as_ref().map_or(0, |f| f.output_delay())
    }

    /// Largest number of 16 kHz samples one chunk produces.
    pub fn chunk_out(&self) -> usize {
        self.fft.as_ref().map_or(0, |f| f.output_frames_max())
    }
}

/// The rate the server wants.
const TARGET: u32 = consult_protocol::SAMPLE_RATE;

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl Resampler16k {
    /// A resampler from `rate` Hz (a plain copy when that is already 16 kHz).
    /// Rates outside 4–768 kHz are refused.
    pub fn new(rate: u32) -> Result<Self, ResampleError> {
        if rate == TARGET {
            return Ok(Self {
                fft: None,
                input: Vec::new(),
                output: Vec::new(),
                delay_left: 0,
            });
        }
        if !(4_000..=768_000).contains(&rate) {
            return Err(ResampleError {
                rate,
                reason: "outside 4–768 kHz".into(),
            });
        }
        // Chunks of about 10 ms, a whole number of the rate pair's smallest block.
        let block = rate / gcd(rate, TARGET);
        let chunk = block * (rate / 100).div_ceil(block).max(1);
        let fft = Fft::<f32>::new(
            rate as usize,
            TARGET as usize,
            chunk as usize,
            1,
            FixedSync::Input,
        )
        .map_err(|e| ResampleError {
            rate,
            reason: e.to_string(),
        })?;
        let delay_left = fft.output_delay();
        let output = vec![0.0; fft.output_frames_max()];
        Ok(Self {
            input: Vec::with_capacity(fft.input_frames_max() * 2),
            fft: Some(fft),
            output,
            delay_left,
        })
    }

    /// Appends the 16 kHz version of `samples` to `out` (whole chunks only;
    /// the remainder waits for the next call).
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<f32>) {
        let Some(fft) = &mut self.fft else {
            out.extend_from_slice(samples);
            return;
        };
        self.input.extend_from_slice(samples);
        let mut consumed = 0;
        loop {
            let needed = fft.input_frames_next();
            if self.input.len() - consumed < needed {
                break;
            }
            let chunk = &self.input[consumed..consumed + needed];
            let input =
                InterleavedSlice::new(chunk, 1, needed).expect("one channel of `needed` frames");
            let capacity = self.output.len();
            let mut output = InterleavedSlice::new_mut(&mut self.output, 1, capacity)
                .expect("one channel of `capacity` frames");
            let (used, produced) = fft
                .process_into_buffer(&input, &mut output, None)
                .expect("buffers are sized by the resampler's own figures");
            let skip = self.delay_left.min(produced);
            self.delay_left -= skip;
            out.extend_from_slice(&self.output[skip..produced]);
            consumed += used;
        }
        self.input.drain(..consumed);
    }
}
