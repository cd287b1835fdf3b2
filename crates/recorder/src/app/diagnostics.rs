//! The diagnostics report (see [`crate::diagnose`]) for this app's state:
//! the live sign-in when there is one, the remembered one otherwise.

use std::time::Duration;

use super::App;
use crate::auth::AuthState;
use crate::diagnose::{self, Inputs, Report, SignInFacts};

impl App {
    /// Runs every check; `listen` is how long to listen to the microphone
    /// (zero skips it, e.g. while recording).
    pub async fn diagnose(&self, listen: Duration) -> Report {
        let options = &self.inner.options;
        let sign_in = match self.signed().map(|s| s.tokens.state()) {
            Some(state @ (AuthState::SignedIn { .. } | AuthState::SignInRequired { .. })) => {
                SignInFacts::Live(state)
            }
            _ => SignInFacts::Remembered(crate::account::load(&options.dirs.config).ok().flatten()),
        };
        let settings = self.user_settings();
        let config = options.config.resolve(&settings);
        let listen = if self.lock_recording().is_some() {
            // The microphone is busy with the consultation.
            Duration::ZERO
        } else {
            listen
        };
        diagnose::run(Inputs {
            dirs: &options.dirs,
            keychain: &options.keychain,
            config: &config,
            store: &self.inner.store,
            sign_in,
            microphone: settings.microphone,
            listen,
        })
        .await
    }

    /// The report as text, for the About panel's "Copy diagnostics".
    pub async fn diagnostics(&self) -> String {
        let report = self.diagnose(Duration::from_secs(1)).await;
        let options = &self.inner.options;
        format!(
            "{}\nSettings folder: {}\nData folder: {}\nLog folder: {}\n",
            report.to_text(),
            options.dirs.config.display(),
            options.dirs.data.display(),
            options.dirs.logs.display()
        )
    }
}
