//! The real capture path without hardware: speech made with espeak-ng is played
//! into a PulseAudio null sink whose monitor is the default microphone, and
//! captured through cpal (ALSA's default device goes through PulseAudio).

#![cfg(target_os = "linux")]

use std::path::PathBuf;
use std::time::Duration;

use consult_recorder::audio::{
    AudioSource, MicChange, MicSource, NO_SIGNAL_AFTER_SECS, SourceNotice, input_devices,
};

use consult_test_support::pulse;
use pulse::{Replug, play, plug_in, speech_wav, unplug};
use tempfile::TempDir;

mod support;
use support::first_picked;

/// The tests share one PulseAudio server, and one of them unplugs its sink.
static PULSE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `phrase` spoken into a file (in a folder of its own), ready to play, with
/// the length of the speech in seconds, and the default microphone capturing
/// from sample 0: what each capture test plays into what.
fn phrase_and_microphone(phrase: &str) -> (TempDir, PathBuf, f64, MicSource) {
    let dir = tempfile::tempdir().unwrap();
    let (wav, speech_secs) = speech_wav(dir.path(), phrase, 0.0, 0.0);
    let mut mic = MicSource::open(None).unwrap();
    mic.start_at(0);
    (dir, wav, speech_secs, mic)
}

fn rms_dbfs(pcm: &[u8]) -> f64 {
    let n = pcm.len() / 2;
    let sum: f64 = pcm
        .chunks_exact(2)
        .map(|b| (f64::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0).powi(2))
        .sum();
    10.0 * (sum / n as f64).max(1e-12).log10()
}

#[tokio::test]
#[ignore = "needs the PulseAudio null sink; run scripts/test.sh"]
async fn the_device_list_offers_the_virtual_microphone_and_no_sound_plugins() {
    let _pulse = PULSE.lock().await;
    let devices = input_devices().unwrap();
    let first = devices.first().expect("a microphone is listed");
    assert!(first.is_default, "the default comes first: {devices:?}");
    assert_eq!(first.id, "alsa:default", "{devices:?}");
    // The machine's ALSA configuration lists these plugins as capture devices
    // (`arecord -L`); none of them records a person.
    for plugin in [
        "null",
        "lavrate",
        "samplerate",
        "speexrate",
        "jack",
        "oss",
        "speex",
        "upmix",
        "vdownmix",
    ] {
        assert!(
            devices.iter().all(|d| d.id != format!("alsa:{plugin}")),
            "alsa:{plugin} is offered: {devices:?}"
        );
    }
    assert!(
        devices
            .iter()
            .all(|d| !d.name.contains("Plugin") && !d.name.contains("samples")),
        "no plugin description reaches the person: {devices:?}"
    );
    // A remembered plugin is not opened: the default is, and the person is told.
    let mic = MicSource::open(Some("alsa:null")).unwrap();
    assert!(mic.device.is_default, "{:?}", mic.device);
    let reason = mic.fallback_reason.as_deref().unwrap_or_default();
    assert!(reason.contains("not a microphone"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the PulseAudio null sink; run scripts/test.sh"]
async fn speech_played_into_the_virtual_microphone_is_captured_whole() {
    let _pulse = PULSE.lock().await;
    let devices = input_devices().unwrap();
    assert!(
        devices.iter().any(|d| d.is_default),
        "a default microphone is listed: {devices:?}"
    );

    let (_dir, wav, speech_secs, mut mic) = phrase_and_microphone("the patient reports chest pain");
    // The first callback can take a second or two: wait for audio to flow.
    let first = tokio::time::timeout(Duration::from_secs(10), mic.next_frame())
        .await
        .expect("audio flows")
        .unwrap()
        .unwrap();
    assert_eq!(first.offset, 0);

    let mut player = play(&wav);
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

/// Waits for the first microphone change matching `wanted`, returning it.
async fn next_change(
    notices: &mut tokio::sync::mpsc::Receiver<SourceNotice>,
    within: Duration,
    wanted: impl Fn(&MicChange) -> bool,
) -> MicChange {
    first_picked(
        within,
        "the microphone change was reported in time",
        async || notices.recv().await.expect("the source is alive"),
        |notice| match notice {
            SourceNotice::Mic(change) if wanted(&change) => Some(change),
            _ => None,
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the PulseAudio null sink; run scripts/test.sh"]
async fn an_unplugged_microphone_is_reported_and_capture_resumes_when_it_returns() {
    let _pulse = PULSE.lock().await;
    let (_dir, wav, _, mut mic) = phrase_and_microphone("the patient reports chest pain");
    let mut notices = mic.take_notices().expect("the microphone reports notices");
    let (frames_tx, mut frames) = tokio::sync::mpsc::unbounded_channel();
    let capture = tokio::spawn(async move {
        while let Ok(Some(frame)) = mic.next_frame().await {
            if frames_tx.send(frame).is_err() {
                break;
            }
        }
    });
    let first = tokio::time::timeout(Duration::from_secs(10), frames.recv())
        .await
        .expect("audio flows")
        .unwrap();
    assert_eq!(first.offset, 0);

    unplug();
    let mut replug = Replug { armed: true };
    let lost = next_change(&mut notices, Duration::from_secs(15), |c| {
        matches!(c, MicChange::Lost { .. })
    })
    .await;
    println!("reported: {}", lost.describe());

    replug.armed = false;
    plug_in();
    let restored = next_change(&mut notices, Duration::from_secs(20), |c| {
        matches!(c, MicChange::Restored { .. })
    })
    .await;
    println!("reported: {}", restored.describe());

    // Frames stay contiguous across the change, and the speech played after
    // the microphone came back is captured.
    let mut player = play(&wav);
    let mut expected = first.end();
    let mut loudest = f64::MIN;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while loudest < -25.0 {
        let frame = tokio::time::timeout_at(deadline, frames.recv())
            .await
            .expect("the speech after re-plugging was captured")
            .unwrap();
        assert_eq!(frame.offset, expected, "frames are contiguous");
        expected = frame.end();
        loudest = loudest.max(rms_dbfs(&frame.pcm));
    }
    assert!(player.wait().await.unwrap().success());
    capture.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the PulseAudio null sink; run scripts/test.sh"]
async fn a_silent_microphone_is_reported_and_sound_clears_the_warning() {
    let _pulse = PULSE.lock().await;
    let (_dir, wav, _, mut mic) = phrase_and_microphone("blood pressure is normal");
    let mut notices = mic.take_notices().unwrap();
    let capture = tokio::spawn(async move { while let Ok(Some(_)) = mic.next_frame().await {} });

    // Nothing plays into the null sink: its monitor delivers digital zeros.
    let mut readings = 0;
    let silent = first_picked(
        Duration::from_secs(45),
        "digital silence was reported",
        async || notices.recv().await.unwrap(),
        |notice| match notice {
            SourceNotice::Level(_) => {
                readings += 1;
                None
            }
            SourceNotice::Mic(change @ MicChange::NoSignal { .. }) => Some(change),
            SourceNotice::Mic(_) => None,
        },
    )
    .await;
    println!(
        "reported: {} ({readings} level readings before)",
        silent.describe()
    );
    assert!(
        readings >= 10 * NO_SIGNAL_AFTER_SECS as usize - 5,
        "about ten level readings a second came before the warning: {readings}"
    );

    let mut player = play(&wav);
    let mut loudest = f32::MIN;
    first_picked(
        Duration::from_secs(20),
        "sound cleared the warning",
        async || notices.recv().await.unwrap(),
        |notice| match notice {
            SourceNotice::Level(level) => {
                loudest = loudest.max(level.peak_dbfs);
                None
            }
            SourceNotice::Mic(MicChange::SignalBack) => Some(()),
            SourceNotice::Mic(_) => None,
        },
    )
    .await;
    assert!(player.wait().await.unwrap().success());
    capture.abort();
}
