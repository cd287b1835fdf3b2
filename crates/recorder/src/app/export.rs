//! Transcript export: a plain text file for the patient record, or JSON with
//! timings for other software.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::AppError;
use crate::paths::AppDirs;
use crate::store::{Consent, Segment, SessionRecord};

/// The kind of file a transcript is exported to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// Plain text for the patient record: one final segment a line, then the
    /// consent sentence if consent was confirmed.
    Txt,
    /// JSON for other software: the session's id, reference, start and length,
    /// the sample rate, the timed segments and the consent.
    Json,
}

/// The person's Downloads folder, else an `exports` folder of the app's data.
pub fn default_folder(dirs: &AppDirs) -> PathBuf {
    directories::UserDirs::new()
        .and_then(|u| u.download_dir().map(Path::to_path_buf))
        .unwrap_or_else(|| dirs.data.join("exports"))
}

/// The sentence a patient record keeps about consent.
fn consent_line(consent: &Consent) -> String {
    format!(
        "Patient consent to this recording confirmed by {} at {}.",
        consent.confirmed_by,
        crate::clock::utc_text(consent.confirmed_at / 1000)
    )
}

/// Where a line starts, from the start of the consultation, as the window
/// shows it: `4:05`, `1:02:03`.
fn line_time(start_sample: u64) -> String {
    let secs = start_sample / u64::from(consult_protocol::SAMPLE_RATE);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Writes the file and returns its path; never overwrites an existing file.
pub fn write(
    folder: &Path,
    record: &SessionRecord,
    segments: &[Segment],
    consent: Option<&Consent>,
    format: ExportFormat,
) -> Result<PathBuf, AppError> {
    let (body, extension) = match format {
        ExportFormat::Txt => {
            let mut text = segments
                .iter()
                .map(|s| format!("[{}] {}", line_time(s.start), s.text))
                .collect::<Vec<_>>()
                .join("\n");
            text.push('\n');
            if let Some(consent) = consent {
                text.push_str(&format!("\n{}\n", consent_line(consent)));
            }
            (text, "txt")
        }
        ExportFormat::Json => {
            let document = serde_json::json!({
                "session_id": record.id,
                "reference": record.reference,
                "started_at_unix_ms": record.started_at,
                "duration_secs": record.duration_secs(),
                "sample_rate": consult_protocol::SAMPLE_RATE,
                "segments": segments,
                "consent": consent,
            });
            (
                serde_json::to_string_pretty(&document).expect("JSON value serialises"),
                "json",
            )
        }
    };
    std::fs::create_dir_all(folder)
        .map_err(|e| AppError::storage(format!("{}: {e}", folder.display())))?;
    let stem = file_stem(record);
    for n in 0..1_000 {
        let name = if n == 0 {
            format!("{stem}.{extension}")
        } else {
            format!("{stem} ({n}).{extension}")
        };
        let path = folder.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                std::io::Write::write_all(&mut file, body.as_bytes())
                    .map_err(|e| AppError::storage(format!("{}: {e}", path.display())))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(AppError::storage(format!("{}: {e}", path.display()))),
        }
    }
    Err(AppError::storage(format!(
        "{}: too many exports of this session",
        folder.display()
    )))
}

/// `consultation-<UTC date>-<HHMM>-<reference or id>`: found by date and
/// patient in a Downloads folder; only characters safe in any file system.
fn file_stem(record: &SessionRecord) -> String {
    let started = crate::clock::utc_text(record.started_at / 1000);
    let date = started.get(..10).unwrap_or_default();
    let time = started.get(11..16).unwrap_or_default().replace(':', "");
    let label = if record.reference.trim().is_empty() {
        record.id.chars().take(8).collect::<String>()
    } else {
        record.reference.trim().to_owned()
    };
    let safe: String = label
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(60)
        .collect();
    format!("consultation-{date}-{time}-{safe}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Profile, SessionState};

    fn record(reference: &str) -> SessionRecord {
        SessionRecord {
            id: "0123456789abcdef".into(),
            reference: reference.into(),
            started_at: 1,
            profile: Profile::V1,
            server: "http://127.0.0.1:1".into(),
            state: SessionState::Complete,
            failure: None,
            samples_recorded: 32_000,
            samples_confirmed: 32_000,
        }
    }

    #[test]
    fn exports_never_overwrite_and_names_are_safe() {
        let dir = tempfile::tempdir().unwrap();
        let segments = vec![
            Segment {
                start: 0,
                end: 10,
                text: "blood pressure is normal".into(),
            },
            Segment {
                start: 16_000 * 3_725 + 15_999,
                end: 16_000 * 3_730,
                text: "the patient reports chest pain".into(),
            },
        ];
        let export_unsafe_name = || {
            write(
                dir.path(),
                &record("../etc/x y"),
                &segments,
                None,
                ExportFormat::Txt,
            )
            .unwrap()
        };
        let first = export_unsafe_name();
        let second = export_unsafe_name();
        assert_eq!(first.parent().unwrap(), dir.path());
        assert_eq!(
            first.file_name().unwrap().to_str().unwrap(),
            "consultation-1970-01-01-0000----etc-x-y.txt"
        );
        assert_ne!(first, second);
        let dated = write(
            dir.path(),
            &SessionRecord {
                started_at: 1_795_323_600_000,
                ..record("Room 4, Mr Jones")
            },
            &segments,
            None,
            ExportFormat::Txt,
        )
        .unwrap();
        assert_eq!(
            dated.file_name().unwrap().to_str().unwrap(),
            "consultation-2026-11-22-0500-Room-4--Mr-Jones.txt",
            "the date and the reference name the file"
        );
        assert_eq!(
            std::fs::read_to_string(&first).unwrap(),
            "[0:00] blood pressure is normal\n[1:02:05] the patient reports chest pain\n",
            "each line with its time from the start of the consultation"
        );
        let consent = Consent {
            confirmed_by: "doctor@clinic.example".into(),
            confirmed_at: 1_795_323_600_000,
        };
        let json = write(
            dir.path(),
            &record(""),
            &segments,
            Some(&consent),
            ExportFormat::Json,
        )
        .unwrap();
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
        assert_eq!(
            value["segments"][1]["text"],
            "the patient reports chest pain"
        );
        assert_eq!(value["consent"]["confirmed_by"], "doctor@clinic.example");
        let txt = write(
            dir.path(),
            &record("consented"),
            &segments,
            Some(&consent),
            ExportFormat::Txt,
        )
        .unwrap();
        assert!(std::fs::read_to_string(txt).unwrap().ends_with(
            "\nPatient consent to this recording confirmed by doctor@clinic.example \
                 at 2026-11-22 05:00:00 UTC.\n"
        ));
    }
}
