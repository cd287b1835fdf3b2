//! `diagnose`: everything IT needs to know in one minute about why a
//! recorder does not connect — configuration, storage, keychain, network,
//! sign-in, microphone — as plain sentences or JSON. Never a token, password,
//! audio or transcript text.

mod checks;
mod network;

pub use checks::{Inputs, SignInFacts, run};

use std::fmt::Write;

use serde::Serialize;

/// What a check looked at; also the order of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// The administrator's file, the environment, and what is in force.
    Configuration,
    /// The spool folder, free disk space, and the session history.
    Storage,
    /// The system keychain (a probe entry is written, read and deleted).
    Keychain,
    /// Reaching the server: address, proxy, TCP, TLS, HTTP and WebSocket.
    Server,
    /// Who is signed in, and whether the sign-in is saved.
    SignIn,
    /// The microphones, and the chosen one's level.
    Microphone,
    /// Keeping the computer awake while recording (a hold taken and released).
    Power,
}

impl Area {
    /// The process exit code when this area has a failure (documented in
    /// docs/deployment.md; 3–5 match the CLI's other commands).
    pub fn exit_code(self) -> u8 {
        match self {
            Area::SignIn => 3,
            Area::Server => 4,
            Area::Keychain => 5,
            Area::Microphone => 6,
            Area::Configuration => 7,
            Area::Storage => 8,
            // Only ever a warning: a recording goes on without the hold.
            Area::Power => 9,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Area::Configuration => "Configuration",
            Area::Storage => "Storage",
            Area::Keychain => "Keychain",
            Area::Server => "Server",
            Area::SignIn => "Sign-in",
            Area::Microphone => "Microphone",
            Area::Power => "Power",
        }
    }
}

/// How a check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Fine, or a plain fact.
    Ok,
    /// Works, but worth a look.
    Warning,
    /// Broken: recording or uploading will not work until it is fixed.
    Failed,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Check {
    /// What the check looked at.
    pub area: Area,
    /// A short name within the area, e.g. `TCP` or `free space`.
    pub name: String,
    /// How it went.
    pub outcome: Outcome,
    /// What was found, in one line.
    pub detail: String,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Report {
    /// The recorder's version.
    pub version: String,
    /// The operating system and processor architecture, e.g. `linux x86_64`.
    pub system: String,
    /// Every check, in the order of [`Area`].
    pub checks: Vec<Check>,
    /// 0 when nothing failed, else the code of the first failing area.
    pub exit_code: u8,
}

impl Report {
    fn new(mut checks: Vec<Check>) -> Self {
        checks.sort_by_key(|c| c.area);
        let exit_code = checks
            .iter()
            .find(|c| c.outcome == Outcome::Failed)
            .map_or(0, |c| c.area.exit_code());
        Self {
            version: crate::VERSION.into(),
            system: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            checks,
            exit_code,
        }
    }

    /// What `diagnose` prints: pretty JSON for scripts, or [`Self::to_text`].
    /// Both the CLI and the app's `--diagnose` print this, so IT sees one format.
    pub fn printable(&self, json: bool) -> String {
        if json {
            let mut text = serde_json::to_string_pretty(self).expect("the report serialises");
            text.push('\n');
            text
        } else {
            self.to_text()
        }
    }

    /// The report as text, one area after another.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Consult Recorder {} on {}", self.version, self.system);
        let mut area = None;
        for check in &self.checks {
            if area != Some(check.area) {
                area = Some(check.area);
                let _ = writeln!(out, "\n{}", check.area.title());
            }
            let mark = match check.outcome {
                Outcome::Ok => "ok  ",
                Outcome::Warning => "WARN",
                Outcome::Failed => "FAIL",
            };
            let _ = writeln!(out, "  [{mark}] {}: {}", check.name, check.detail);
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Failed)
            .count();
        let warned = self
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Warning)
            .count();
        let _ = writeln!(
            out,
            "\n{failed} failed, {warned} warning(s); exit code {}",
            self.exit_code
        );
        out
    }
}

pub(crate) fn check(area: Area, name: &str, outcome: Outcome, detail: impl Into<String>) -> Check {
    Check {
        area,
        name: name.to_owned(),
        outcome,
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_names_the_first_failing_area_in_report_order() {
        let report = Report::new(vec![
            check(Area::Microphone, "input", Outcome::Failed, "none"),
            check(Area::Server, "TCP", Outcome::Failed, "refused"),
            check(Area::Configuration, "file", Outcome::Warning, "line 2"),
        ]);
        assert_eq!(report.exit_code, 4);
        assert_eq!(report.checks[0].area, Area::Configuration);
        let text = report.to_text();
        assert!(text.contains("[FAIL] TCP: refused"), "{text}");
        assert!(
            text.ends_with("2 failed, 1 warning(s); exit code 4\n"),
            "{text}"
        );
        assert_eq!(
            Report::new(vec![check(Area::Storage, "x", Outcome::Warning, "")]).exit_code,
            0
        );
    }
}
