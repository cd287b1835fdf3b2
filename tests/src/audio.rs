//! Test audio where every stretch is unique, so a misplaced, lost or doubled
//! piece of it can always be found.

pub use consult_test_support::audio::{unique_pcm, write_wav};

/// Where `piece` starts inside `source`, in samples (found by its first 16 samples).
pub fn locate(source: &[u8], piece: &[u8]) -> Option<usize> {
    let probe = &piece[..piece.len().min(32)];
    source
        .chunks_exact(2)
        .enumerate()
        .map(|(i, _)| i)
        .find(|&i| source[i * 2..].starts_with(probe))
}
