//! `devices` and `level`: choosing and checking a microphone.

use consult_recorder::audio::Level;
use consult_recorder::audio::{AudioSource, MicSource, SourceNotice};
use consult_recorder::paths::AppDirs;
use consult_recorder::settings;

use crate::failure::{Failure, other};

/// `devices`: the microphones, the default marked, the chosen one noted.
pub fn devices(dirs: &AppDirs, json: bool) -> Result<(), Failure> {
    let devices = consult_recorder::audio::input_devices().map_err(other)?;
    let chosen = settings::load(&dirs.config).map_err(other)?.microphone;
    if json {
        let listed: Vec<serde_json::Value> = devices
            .iter()
            .map(|d| {
                let mut value = serde_json::to_value(d).expect("devices serialise");
                value["chosen"] = (chosen.as_deref() == Some(d.id.as_str())).into();
                value
            })
            .collect();
        println!("{}", serde_json::Value::from(listed));
    } else if devices.is_empty() {
        println!("no microphones found");
    } else {
        for d in devices {
            let mark = if d.is_default { "* " } else { "  " };
            let note = if chosen.as_deref() == Some(d.id.as_str()) {
                "  [chosen]"
            } else {
                ""
            };
            println!("{mark}{}  ({}){note}", d.name, d.id);
        }
    }
    Ok(())
}

/// `level`: a live meter of the named, remembered or default microphone.
pub async fn level(
    dirs: &AppDirs,
    device: Option<String>,
    seconds: Option<f64>,
    json: bool,
) -> Result<(), Failure> {
    let device = match device {
        Some(device) => Some(device),
        None => settings::load(&dirs.config).map_err(other)?.microphone,
    };
    level_meter(device.as_deref(), seconds, json).await
}

/// The microphone for `record`: the one named (and remembered from now on),
/// else the remembered one.
pub fn chosen_microphone(dirs: &AppDirs, named: Option<String>) -> Result<Option<String>, Failure> {
    let mut saved = settings::load(&dirs.config).map_err(other)?;
    match named {
        Some(id) => {
            if saved.microphone.as_deref() != Some(id.as_str()) {
                saved.microphone = Some(id.clone());
                settings::save(&dirs.config, &saved).map_err(other)?;
                eprintln!("this microphone will be used from now on");
            }
            Ok(Some(id))
        }
        None => Ok(saved.microphone),
    }
}

/// Prints the input level ten times a second, and any microphone change.
async fn level_meter(
    device: Option<&str>,
    seconds: Option<f64>,
    json: bool,
) -> Result<(), Failure> {
    let mut mic = MicSource::open(device).map_err(other)?;
    if let Some(reason) = &mic.fallback_reason {
        eprintln!("warning: {reason}");
    }
    eprintln!("listening to {}", mic.device.name);
    let mut notices = mic.take_notices().expect("a fresh microphone has notices");
    let capture = tokio::spawn(async move {
        // Frames are only needed to keep the meter running.
        while let Ok(Some(_)) = mic.next_frame().await {}
    });
    let until =
        seconds.map(|s| tokio::time::Instant::now() + std::time::Duration::from_secs_f64(s));
    let ended = async {
        match until {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(ended);
    loop {
        tokio::select! {
            notice = notices.recv() => match notice {
                Some(SourceNotice::Level(level)) if json => println!(
                    "{}",
                    serde_json::json!({"type": "level", "level": level})
                ),
                Some(SourceNotice::Level(level)) => println!("{}", meter_line(&level)),
                Some(SourceNotice::Mic(change)) if json => println!(
                    "{}",
                    serde_json::json!({"type": "microphone", "change": change, "message": change.describe()})
                ),
                Some(SourceNotice::Mic(change)) => eprintln!("{}", change.describe()),
                None => break,
            },
            _ = &mut ended => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    capture.abort();
    Ok(())
}

/// `-23.1 dBFS rms  -9.8 dBFS peak  |##########          |`
fn meter_line(level: &Level) -> String {
    // -60 dBFS (quiet room) to 0 dBFS (clipping) over 40 columns.
    let filled = (((level.peak_dbfs + 60.0) / 60.0).clamp(0.0, 1.0) * 40.0).round() as usize;
    format!(
        "{:6.1} dBFS rms {:6.1} dBFS peak  |{}{}|",
        level.rms_dbfs,
        level.peak_dbfs,
        "#".repeat(filled),
        " ".repeat(40 - filled)
    )
}
