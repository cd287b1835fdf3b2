//! The report the About panel copies for IT: versions, folders, sign-in state
//! (never a token), microphones and pending uploads. No patient data.

use std::fmt::Write;

use super::App;
use crate::auth::AuthState;

impl App {
    /// A plain-text report for IT.
    pub async fn diagnostics(&self) -> String {
        let snapshot = self.snapshot();
        let options = &self.inner.options;
        let mut out = String::new();
        let _ = writeln!(out, "Consult Recorder {}", snapshot.version);
        let _ = writeln!(
            out,
            "System: {} {}",
            std::env::consts::OS,
            std::env::consts::ARCH
        );
        let _ = writeln!(out, "Settings folder: {}", options.dirs.config.display());
        let _ = writeln!(out, "Data folder: {}", options.dirs.data.display());
        let _ = writeln!(out, "Keychain: {:?}", options.keychain.backend());
        let _ = writeln!(
            out,
            "Server: {}{}",
            snapshot.server.as_deref().unwrap_or("(none)"),
            if snapshot.server_locked {
                " (set by IT)"
            } else {
                ""
            }
        );
        let _ = match &snapshot.auth {
            AuthState::SignedOut => writeln!(out, "Sign-in: signed out"),
            AuthState::SignedIn {
                account,
                access_expires_at,
                clock_skew_secs,
            } => writeln!(
                out,
                "Sign-in: {account}; access token expires at Unix {access_expires_at}; server clock minus ours: {clock_skew_secs} s"
            ),
            AuthState::SignInRequired { account, reason } => {
                writeln!(out, "Sign-in: {account} must sign in again ({reason})")
            }
        };
        match self.devices().await {
            Ok(devices) if devices.is_empty() => {
                let _ = writeln!(out, "Microphones: none found");
            }
            Ok(devices) => {
                let _ = writeln!(out, "Microphones:");
                for d in devices {
                    let _ = writeln!(
                        out,
                        "  {}{} ({})",
                        if d.is_default { "* " } else { "  " },
                        d.name,
                        d.id
                    );
                }
            }
            Err(err) => {
                let _ = writeln!(out, "Microphones: {err}");
            }
        }
        match self.sessions() {
            Ok(sessions) => {
                let pending: Vec<_> = sessions.iter().filter(|s| s.pending_secs > 0.0).collect();
                let _ = writeln!(
                    out,
                    "Sessions: {} on this computer, {} with audio not yet confirmed ({:.0} s)",
                    sessions.len(),
                    pending.len(),
                    pending.iter().map(|s| s.pending_secs).sum::<f64>()
                );
            }
            Err(err) => {
                let _ = writeln!(out, "Sessions: {err}");
            }
        }
        out
    }
}
