//! Test audio where every stretch is unique, so a misplaced, lost or doubled
//! piece of it can always be found.

use std::path::Path;

/// `samples` of seeded noise over a slow tone: no 8-sample window repeats.
pub fn unique_pcm(samples: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..samples)
        .flat_map(|i| {
            // xorshift64*: cheap, seeded, and never repeats within these lengths.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let noise = (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 52) as i32 - 2048;
            let tone =
                (3000.0 * (i as f64 * 2.0 * std::f64::consts::PI * 220.0 / 16_000.0).sin()) as i32;
            ((noise + tone) as i16).to_le_bytes()
        })
        .collect()
}

/// Writes PCM16LE 16 kHz mono as a WAV file.
pub fn write_wav(path: &Path, pcm: &[u8]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("create WAV");
    for pair in pcm.chunks_exact(2) {
        writer
            .write_sample(i16::from_le_bytes([pair[0], pair[1]]))
            .expect("write WAV");
    }
    writer.finalize().expect("finish WAV");
}

/// Where `piece` starts inside `source`, in samples (found by its first 16 samples).
pub fn locate(source: &[u8], piece: &[u8]) -> Option<usize> {
    let probe = &piece[..piece.len().min(32)];
    source
        .chunks_exact(2)
        .enumerate()
        .map(|(i, _)| i)
        .find(|&i| source[i * 2..].starts_with(probe))
}
