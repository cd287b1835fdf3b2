//! Real speech for tests: espeak-ng speaks, sox converts to the wire format.

use std::path::Path;
use std::process::Command;

/// Seconds of silence around each phrase, so the recogniser's voice detector
/// sees clear utterance boundaries.
pub const PAD_SECS: f32 = 0.6;

/// PCM16LE, 16 kHz, mono samples of `phrase` spoken by espeak-ng, padded with silence.
///
/// Panics with an actionable message when espeak-ng or sox is missing: these
/// tests need the real tools, not a stand-in.
pub fn speak(phrase: &str, work_dir: &Path) -> Vec<u8> {
    let wav = work_dir.join(format!("phrase-{:016x}.wav", fxhash(phrase)));
    let raw = wav.with_extension("raw");
    run(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&wav)
        .arg(phrase));
    let pad = PAD_SECS.to_string();
    run(Command::new("sox")
        .arg(&wav)
        .args([
            "-r",
            "16000",
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            "-L",
            "-t",
            "raw",
        ])
        .arg(&raw)
        .args(["pad", &pad, &pad]));
    std::fs::read(&raw).expect("sox wrote its output")
}

/// Several phrases, one after another, each with its own silence around it.
pub fn speak_all(phrases: &[&str], work_dir: &Path) -> Vec<u8> {
    phrases.iter().flat_map(|p| speak(p, work_dir)).collect()
}

fn run(command: &mut Command) {
    let name = command.get_program().to_string_lossy().into_owned();
    let status = command.status().unwrap_or_else(|e| {
        panic!("cannot run {name} ({e}); install it with scripts/install-deps.sh")
    });
    assert!(status.success(), "{name} failed with {status}");
}

fn fxhash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}
