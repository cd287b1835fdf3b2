//! Test audio where every stretch is unique, so a misplaced, lost or doubled
//! piece of it can always be found, and WAV files of it.

use std::path::Path;

/// The wire format's sample rate (PCM16LE mono).
pub const SAMPLE_RATE: u32 = 16_000;

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
            let tone = (3000.0
                * (i as f64 * 2.0 * std::f64::consts::PI * 220.0 / f64::from(SAMPLE_RATE)).sin())
                as i32;
            ((noise + tone) as i16).to_le_bytes()
        })
        .collect()
}

/// Writes PCM16LE 16 kHz mono as a WAV file.
pub fn write_wav(path: &Path, pcm: &[u8]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_window_of_eight_samples_repeats() {
        let pcm = unique_pcm(60 * SAMPLE_RATE as usize, 7);
        let mut seen = std::collections::HashSet::new();
        for window in pcm.chunks_exact(16) {
            assert!(seen.insert(window), "a window repeats");
        }
    }

    #[test]
    fn a_written_wav_reads_back_as_the_same_samples() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("back.wav");
        let pcm = unique_pcm(1_000, 3);
        write_wav(&path, &pcm);
        let read: Vec<u8> = hound::WavReader::open(&path)
            .unwrap()
            .samples::<i16>()
            .flat_map(|s| s.unwrap().to_le_bytes())
            .collect();
        assert_eq!(read, pcm);
    }
}
