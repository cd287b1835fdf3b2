//! The real capture path without hardware: speech made with espeak-ng is played
//! into a PulseAudio null sink whose monitor is the default microphone, and
//! captured through cpal (ALSA's default device goes through PulseAudio).

#![cfg(target_os = "linux")]

use std::time::Duration;

use consult_recorder::audio::{AudioSource, MicSource, input_devices};

fn speech_wav(dir: &std::path::Path) -> (std::path::PathBuf, f64) {
    let raw = dir.join("speech-22k.wav");
    let wav = dir.join("speech.wav");
    let ok = std::process::Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&raw)
        .arg("the patient reports chest pain")
        .status()
        .unwrap()
        .success();
    assert!(ok, "espeak-ng ran");
    let ok = std::process::Command::new("sox")
        .arg(&raw)
        .args(["-r", "48000", "-c", "2"])
        .arg(&wav)
        .status()
        .unwrap()
        .success();
    assert!(ok, "sox ran");
    let secs = hound::WavReader::open(&wav).unwrap().duration() as f64 / 48_000.0;
    (wav, secs)
}

fn rms_dbfs(pcm: &[u8]) -> f64 {
    let n = pcm.len() / 2;
    let sum: f64 = pcm
        .chunks_exact(2)
        .map(|b| (f64::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0).powi(2))
        .sum();
    10.0 * (sum / n as f64).max(1e-12).log10()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the PulseAudio null sink; run scripts/test.sh"]
async fn speech_played_into_the_virtual_microphone_is_captured_whole() {
    let devices = input_devices().unwrap();
    assert!(
        devices.iter().any(|d| d.is_default),
        "a default microphone is listed: {devices:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let (wav, speech_secs) = speech_wav(dir.path());
    let mut mic = MicSource::open(None).unwrap();
    mic.start_at(0);
    // The first callback can take a second or two: wait for audio to flow.
    let first = tokio::time::timeout(Duration::from_secs(10), mic.next_frame())
        .await
        .expect("audio flows")
        .unwrap()
        .unwrap();
    assert_eq!(first.offset, 0);

    let mut player = tokio::process::Command::new("paplay")
        .args(["--device=vsink"])
        .arg(&wav)
        .spawn()
        .unwrap();
    // Capture the speech plus a margin, frame by frame (20 ms each).
    let wanted = ((speech_secs + 2.0) * 50.0) as usize;
    let mut loud_frames = 0usize;
    let mut peak = f64::MIN;
    let mut expected_offset = first.end();
    for _ in 0..wanted {
        let frame = tokio::time::timeout(Duration::from_secs(5), mic.next_frame())
            .await
            .expect("frames keep coming")
            .unwrap()
            .unwrap();
        assert_eq!(frame.offset, expected_offset, "frames are contiguous");
        expected_offset = frame.end();
        let level = rms_dbfs(&frame.pcm);
        peak = peak.max(level);
        if level > -45.0 {
            loud_frames += 1;
        }
    }
    assert!(
        player.wait().await.unwrap().success(),
        "paplay played the phrase"
    );
    let loud_secs = loud_frames as f64 / 50.0;
    println!(
        "speech {speech_secs:.2} s, captured above -45 dBFS: {loud_secs:.2} s, loudest frame {peak:.1} dBFS"
    );
    assert!(
        peak > -25.0,
        "the speech was captured at a sensible level ({peak:.1} dBFS)"
    );
    assert!(
        loud_secs > speech_secs * 0.5 && loud_secs < speech_secs + 0.5,
        "the captured speech lasts about as long as the phrase"
    );
    assert_eq!(
        mic.overflowed_samples(),
        0,
        "nothing was dropped between callback and reader"
    );
}
