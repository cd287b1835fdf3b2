//! The virtual microphone of the test session: a PulseAudio null sink whose
//! monitor is the default source (started by `scripts/test-session.sh`).

use std::path::{Path, PathBuf};

/// Runs `pactl`, asserting success; returns its output.
pub fn pactl(args: &[&str]) -> String {
    let out = std::process::Command::new("pactl")
        .args(args)
        .output()
        .expect("pactl is installed (scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "pactl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Unplugs the virtual microphone: unloads the null sink whose monitor it is.
pub fn unplug() {
    let modules = pactl(&["list", "short", "modules"]);
    let index = modules
        .lines()
        .find(|l| l.contains("module-null-sink") && l.contains("sink_name=vsink"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the null sink module is loaded")
        .to_owned();
    pactl(&["unload-module", &index]);
}

/// Plugs it back in, as the default source again.
pub fn plug_in() {
    pactl(&["load-module", "module-null-sink", "sink_name=vsink"]);
    pactl(&["set-default-source", "vsink.monitor"]);
}

/// Plugs the microphone back in when dropped while `armed`, so a failing test
/// does not leave the others without one.
pub struct Replug {
    /// Whether dropping plugs the microphone back in; clear it before plugging it in yourself.
    pub armed: bool,
}

impl Drop for Replug {
    fn drop(&mut self) {
        if self.armed {
            plug_in();
        }
    }
}

/// `phrase` spoken by espeak-ng as 48 kHz stereo (a typical device format),
/// with `pad_before`/`pad_after` seconds of silence; returns the file and the
/// length of the speech in seconds.
pub fn speech_wav(dir: &Path, phrase: &str, pad_before: f64, pad_after: f64) -> (PathBuf, f64) {
    let raw = dir.join(format!("{}-22k.wav", phrase.replace(' ', "-")));
    let wav = dir.join(format!("{}.wav", phrase.replace(' ', "-")));
    let ok = std::process::Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&raw)
        .arg(phrase)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "espeak-ng ran (scripts/install-deps.sh installs it)");
    let speech_secs = hound::WavReader::open(&raw)
        .expect("espeak-ng wrote a WAV file")
        .duration() as f64
        / 22_050.0;
    let ok = std::process::Command::new("sox")
        .arg(&raw)
        .args(["-r", "48000", "-c", "2"])
        .arg(&wav)
        .args(["pad", &pad_before.to_string(), &pad_after.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "sox ran (scripts/install-deps.sh installs it)");
    (wav, speech_secs)
}

/// Plays a file into the virtual microphone.
pub fn play(wav: &Path) -> tokio::process::Child {
    tokio::process::Command::new("paplay")
        .arg("--device=vsink")
        .arg(wav)
        .spawn()
        .expect("paplay is installed (scripts/install-deps.sh)")
}
