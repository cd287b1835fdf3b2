//! The app's controller: what the desktop shell's buttons do, as a plain
//! library API that tests drive without a window.
//!
//! Owns the signed-in account, the one recording at a time, the uploads of
//! earlier sessions and the history. Everything it does is reported on one
//! [`Event`] stream; errors come back as [`AppError`] sentences.

mod diagnostics;
mod error;
mod export;
mod link;
mod sessions;
mod show_in_folder;
mod view;

pub use error::{AppError, ErrorKind};
pub use export::ExportFormat;
pub use sessions::{PendingUploads, Resumed, SilentSignIn};
pub use view::{RecordingView, SessionView, Snapshot};

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;

use crate::account::{self, RememberedAccount};
use crate::audio::{AudioSource, InputDevice, MicSource};
use crate::auth::{AuthState, Keychain, Secret, TokenManager};
use crate::config::{self, ConfigSources, Key, Resolved};
use crate::events::Event;
use crate::paths::AppDirs;
use crate::retention;
use crate::session::{self, Pauser, Power, SenderOptions, Session, SessionSetup, Stopper};
use crate::settings::{self, UserSettings};
use crate::store::{Profile, Segment, Store};

/// How the app is set up (by the shell, from configuration).
#[derive(Clone)]
pub struct AppOptions {
    /// Where the settings, the history, the spool and the logs live.
    pub dirs: AppDirs,
    /// The keychain holding the refresh token and the data key.
    pub keychain: Keychain,
    /// The administrator's file and the environment; the person's settings
    /// are layered over them on every use (see [`crate::config`]).
    pub config: ConfigSources,
    /// The sender's timings; the configuration sets the rest (see
    /// [`SenderOptions::configured`]). Tests shorten the timings.
    pub sender: SenderOptions,
}

/// A handle to the app. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    options: AppOptions,
    store: Store,
    events: broadcast::Sender<Event>,
    signed: Mutex<Option<SignedInServer>>,
    recording: Mutex<Option<Recording>>,
    /// Sessions with a sender running (recording or uploading a backlog).
    sending: Mutex<HashSet<String>>,
    /// A link from the clinic's system waiting for the doctor's confirmation.
    offer: Mutex<Option<crate::deep_link::RecordLink>>,
}

/// The server the doctor signed in to, with the token manager of that sign-in.
#[derive(Clone)]
struct SignedInServer {
    server: String,
    tokens: TokenManager,
}

struct Recording {
    view: RecordingView,
    stopper: Stopper,
    pauser: Pauser,
}

impl App {
    /// Opens the history database; signs nobody in yet (see [`App::start_up`]).
    pub fn open(options: AppOptions) -> Result<Self, AppError> {
        let store = Store::open_in(&options.dirs, &options.keychain).map_err(AppError::storage)?;
        let (events, _) = broadcast::channel(1024);
        Ok(Self {
            inner: Arc::new(Inner {
                options,
                store,
                events,
                signed: Mutex::new(None),
                recording: Mutex::new(None),
                sending: Mutex::new(HashSet::new()),
                offer: Mutex::new(None),
            }),
        })
    }

    /// Everything the app reports, as it happens.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    /// What the UI shows right now.
    pub fn snapshot(&self) -> Snapshot {
        let signed = self.signed();
        let auth = signed
            .as_ref()
            .map(|s| s.tokens.state())
            .unwrap_or(AuthState::SignedOut);
        let clock_warning = match &auth {
            AuthState::SignedIn {
                clock_skew_secs, ..
            } => crate::clock::clock_warning(*clock_skew_secs),
            _ => None,
        };
        let settings = self.user_settings();
        let config = self.inner.options.config.resolve(&settings);
        Snapshot {
            version: crate::VERSION.into(),
            server: signed.map(|s| s.server).or_else(|| config.server.clone()),
            server_locked: config.is_locked(Key::Server),
            auth,
            clock_warning,
            recording: self.lock_recording().as_ref().map(|r| r.view.clone()),
            link_offer: self.link_offer(),
            settings,
            config,
        }
    }

    /// At launch: signs in silently from the keychain when a sign-in was
    /// remembered, then resumes uploading any pending sessions. An unreachable
    /// server is not an error: uploads wait for it.
    pub async fn start_up(&self) -> Snapshot {
        match self.sign_in_silently().await {
            Ok(None)
            | Ok(Some(SilentSignIn {
                resumed: Resumed::Ready,
                ..
            })) => {}
            Ok(Some(SilentSignIn {
                resumed: Resumed::Offline(reason),
                ..
            })) => {
                tracing::info!(error = %reason, "server unreachable at start; will retry");
            }
            Ok(Some(SilentSignIn { resumed, .. })) => {
                tracing::info!(?resumed, "silent sign-in did not succeed");
            }
            Err(err) => tracing::warn!(error = %err, "silent sign-in did not succeed"),
        }
        self.resume_uploads();
        self.keep_retention();
        self.snapshot()
    }

    /// Removes what the retention settings no longer keep, now and then
    /// hourly; never audio the server has not confirmed.
    fn keep_retention(&self) {
        let app = self.clone();
        tokio::spawn(async move {
            let mut hourly = tokio::time::interval(Duration::from_secs(3600));
            loop {
                hourly.tick().await;
                if let Err(err) = app.apply_retention() {
                    tracing::warn!(error = %err, "retention sweep failed; it is tried again in an hour");
                }
            }
        });
    }

    /// One retention sweep, as of now.
    pub fn apply_retention(&self) -> Result<retention::Swept, AppError> {
        let config = self.inner.options.config.resolve(&self.user_settings());
        retention::sweep(
            &self.inner.store,
            &self.spool_dir(),
            retention::Policy::from_config(&config),
            crate::clock::unix_millis(),
        )
        .map_err(AppError::storage)
    }

    /// Signs in with a password. While recording, the session's upload
    /// resumes with the new sign-in.
    pub async fn sign_in(
        &self,
        server: &str,
        email: &str,
        password: Secret,
    ) -> Result<Snapshot, AppError> {
        let server = server.trim().trim_end_matches('/').to_owned();
        let email = email.trim();
        if email.is_empty() || !email.contains('@') {
            return Err(AppError::invalid("Please enter your e-mail address."));
        }
        if password.is_empty() {
            return Err(AppError::invalid("Please enter your password."));
        }
        if self.locked_elsewhere(&server) {
            return Err(AppError::new(
                ErrorKind::Locked,
                "The server address is set by your IT department and cannot be changed here.",
            ));
        }
        crate::net::ws_base(&server).map_err(|e| {
            tracing::info!(error = %e, "sign-in: a server address that is not a web address");
            AppError::invalid(
                "The server address is not a web address. It looks like \
                 https://transcribe.clinic.example (ask IT for yours).",
            )
        })?;
        if let Some(current) = self.signed()
            && current.server != server
            && self.lock_recording().is_some()
        {
            return Err(AppError::invalid(
                "Stop the recording before signing in to another server.",
            ));
        }
        let signed = self.signed_for(&server);
        signed.tokens.sign_in(email, password).await?;
        let account = match signed.tokens.state() {
            AuthState::SignedIn { account, .. } => account,
            _ => email.to_owned(),
        };
        account::save(
            &self.inner.options.dirs.config,
            &RememberedAccount {
                server: server.clone(),
                account,
            },
        )
        .map_err(AppError::storage)?;
        self.resume_uploads();
        Ok(self.snapshot())
    }

    /// Signs out: the keychain entry and the remembered account are removed.
    pub async fn sign_out(&self) -> Result<Snapshot, AppError> {
        if self.lock_recording().is_some() {
            return Err(AppError::invalid("Stop the recording before signing out."));
        }
        if let Some(signed) = self.signed() {
            signed.tokens.sign_out().await.map_err(|e| {
                AppError::new(
                    ErrorKind::Keychain,
                    format!("The sign-in could not be removed from the keychain: {e}."),
                )
            })?;
        }
        account::forget(&self.inner.options.dirs.config).map_err(AppError::storage)?;
        Ok(self.snapshot())
    }

    /// The microphones, the default first.
    pub async fn devices(&self) -> Result<Vec<InputDevice>, AppError> {
        tokio::task::spawn_blocking(crate::audio::input_devices)
            .await
            .map_err(|e| AppError::new(ErrorKind::Other, e.to_string()))?
            .map_err(|e| AppError::new(ErrorKind::Microphone, e.to_string()))
    }

    /// Saves the person's settings (the chosen microphone, …).
    pub fn save_settings(&self, settings: &UserSettings) -> Result<Snapshot, AppError> {
        if let Err(invalid) = settings.validate() {
            return Err(AppError::invalid_field(
                invalid.field(),
                invalid.to_string(),
            ));
        }
        config::check_user_change(&self.config(), settings)
            .map_err(|locked| AppError::new(ErrorKind::Locked, locked.to_string()))?;
        settings::save(&self.inner.options.dirs.config, settings).map_err(AppError::storage)?;
        Ok(self.snapshot())
    }

    /// Starts recording from the chosen microphone (the default if it is gone).
    pub async fn start_recording(
        &self,
        request: &RecordingRequest,
    ) -> Result<RecordingView, AppError> {
        self.check_recording_request(request)?;
        let request = &self.with_clinic_id(request).await?;
        let wanted = settings::load(&self.inner.options.dirs.config)
            .unwrap_or_default()
            .microphone;
        let mic = tokio::task::spawn_blocking(move || MicSource::open(wanted.as_deref()))
            .await
            .map_err(|e| AppError::new(ErrorKind::Other, e.to_string()))?
            .map_err(|e| match e {
                crate::audio::AudioError::PermissionDenied => {
                    AppError::new(ErrorKind::Microphone, crate::audio::permission_advice())
                }
                other => {
                    tracing::warn!(error = %other, "the microphone could not be opened");
                    AppError::new(
                        ErrorKind::Microphone,
                        "The microphone could not be opened. Check that it is plugged in and \
                         not used by another program, or choose another one below.",
                    )
                }
            })?;
        let fallback = mic.fallback_reason.clone();
        let view = self.start_recording_from(mic, request)?;
        if let Some(reason) = fallback {
            let _ = self.inner.events.send(Event::Warning {
                session_id: view.id.clone(),
                message: reason,
            });
        }
        Ok(view)
    }

    /// The request with the consultation id the clinic's server created,
    /// when the server profile says to ask for one and the doctor gave none.
    pub async fn with_clinic_id(
        &self,
        request: &RecordingRequest,
    ) -> Result<RecordingRequest, AppError> {
        let config = self.config();
        let given = request
            .session_id
            .as_deref()
            .is_some_and(|id| !id.trim().is_empty());
        let Some(call) = config.server_profile.create_session.filter(|_| !given) else {
            return Ok(request.clone());
        };
        let signed = self.signed().ok_or_else(|| {
            AppError::new(ErrorKind::SignInNeeded, "Please sign in before recording.")
        })?;
        let token = signed.tokens.access_token().await.map_err(|e| {
            // The technical cause is for the log; the doctor gets what to do.
            tracing::warn!(error = %e, "no access token to create the consultation with");
            match e {
                crate::auth::TokenUnavailable::Offline(_) => {
                    not_created(ErrorKind::Unreachable, "the server cannot be reached")
                }
                _ => not_created(ErrorKind::SignInNeeded, "please sign in again first"),
            }
        })?;
        let language = request.language.clone().or(config.language);
        let id = crate::clinic_session::create(
            &signed.server,
            &call,
            &token,
            &request.reference,
            language.as_deref(),
        )
        .await
        .map_err(|e| match e {
            crate::clinic_session::CreateSessionError::Unreachable(_) => {
                not_created(ErrorKind::Unreachable, e)
            }
            _ => not_created(ErrorKind::Other, e),
        })?;
        Ok(RecordingRequest {
            session_id: Some(id),
            ..request.clone()
        })
    }

    /// Starts recording from any source (tests use a WAV file).
    pub fn start_recording_from<S: AudioSource + 'static>(
        &self,
        source: S,
        request: &RecordingRequest,
    ) -> Result<RecordingView, AppError> {
        let session = self.begin_recording(source, request)?;
        let id = session.id.clone();
        let reference = request.reference.as_str();
        let view = RecordingView {
            id: id.clone(),
            reference: reference.to_owned(),
            started_at: crate::clock::unix_millis(),
            paused_since: None,
            paused_ms: 0,
        };
        {
            let mut recording = self.lock_recording();
            if recording.is_some() {
                session.stop();
                return Err(AppError::new(
                    ErrorKind::AlreadyRecording,
                    "A recording is already running.",
                ));
            }
            *recording = Some(Recording {
                view: view.clone(),
                stopper: session.stopper(),
                pauser: session.pauser(),
            });
        }
        let _ = self.inner.events.send(Event::Recording {
            session_id: id.clone(),
            active: true,
        });
        self.follow(session);
        Ok(view)
    }

    /// Pauses (`true`) or resumes the recording: nothing is captured while
    /// paused, and the elapsed time leaves the pause out.
    pub fn pause_recording(&self, paused: bool) -> Result<RecordingView, AppError> {
        let mut recording = self.lock_recording();
        let recording = recording
            .as_mut()
            .ok_or_else(|| AppError::invalid("Nothing is being recorded."))?;
        let now = crate::clock::unix_millis();
        let view = &mut recording.view;
        match (paused, view.paused_since) {
            (true, None) => view.paused_since = Some(now),
            (false, Some(since)) => {
                view.paused_ms += now.saturating_sub(since);
                view.paused_since = None;
            }
            _ => {}
        }
        recording.pauser.set(paused);
        Ok(view.clone())
    }

    /// Pauses a running recording, or resumes a paused one (the pause shortcut).
    pub fn toggle_pause(&self) -> Result<RecordingView, AppError> {
        let paused = self
            .lock_recording()
            .as_ref()
            .is_some_and(|r| r.view.paused_since.is_some());
        self.pause_recording(!paused)
    }

    /// Stops the recording; its upload goes on until the server has it all.
    pub fn stop_recording(&self) -> Option<String> {
        let recording = self.lock_recording().take()?;
        recording.stopper.stop();
        let _ = self.inner.events.send(Event::Recording {
            session_id: recording.view.id.clone(),
            active: false,
        });
        Some(recording.view.id)
    }

    /// The history, newest first.
    pub fn sessions(&self) -> Result<Vec<SessionView>, AppError> {
        let sending = self.lock_sending().clone();
        let recording = self.lock_recording().as_ref().map(|r| r.view.id.clone());
        Ok(self
            .inner
            .store
            .list()
            .map_err(AppError::storage)?
            .into_iter()
            .map(|record| {
                SessionView::new(
                    sending.contains(&record.id),
                    recording.as_deref() == Some(record.id.as_str()),
                    record,
                )
            })
            .collect())
    }

    /// The settled transcript of a session.
    pub fn transcript(&self, id: &str) -> Result<Vec<Segment>, AppError> {
        self.existing(id)?;
        self.inner.store.segments(id).map_err(AppError::storage)
    }

    /// Writes the transcript to `folder` (by default the Downloads folder)
    /// and returns the file's path.
    pub fn export(
        &self,
        id: &str,
        format: ExportFormat,
        folder: Option<PathBuf>,
    ) -> Result<PathBuf, AppError> {
        let record = self.existing(id)?;
        let segments = self.inner.store.segments(id).map_err(AppError::storage)?;
        let consent = self.inner.store.consent(id).map_err(AppError::storage)?;
        let folder = folder.unwrap_or_else(|| export::default_folder(&self.inner.options.dirs));
        export::write(&folder, &record, &segments, consent.as_ref(), format)
    }

    /// Opens the desktop's file manager where `file`, an export of this
    /// app, is; refuses any other path.
    pub fn show_export(&self, file: &std::path::Path) -> Result<(), AppError> {
        let folder = export::default_folder(&self.inner.options.dirs);
        let file = show_in_folder::checked_export(&folder, file)?;
        show_in_folder::show(&file).map_err(|err| {
            tracing::warn!(error = %err, "show in folder");
            AppError::from(err)
        })
    }

    /// Deletes a session's audio and transcript from this computer.
    pub fn delete(&self, id: &str) -> Result<(), AppError> {
        self.existing(id)?;
        if self.lock_sending().contains(id)
            || self
                .lock_recording()
                .as_ref()
                .is_some_and(|r| r.view.id == id)
        {
            return Err(AppError::invalid(
                "This session is still recording or uploading; it can be deleted once it is done.",
            ));
        }
        let spool = session::spool_path(&self.spool_dir(), id);
        match std::fs::remove_file(&spool) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(AppError::storage(format!("{}: {e}", spool.display()))),
        }
        self.inner.store.delete(id).map_err(AppError::storage)?;
        Ok(())
    }

    /// Sends a session again from its first sample (see [`App::begin_resend`]).
    pub fn resend(&self, id: &str) -> Result<(), AppError> {
        let session = self.begin_resend(id)?;
        self.follow(session);
        Ok(())
    }

    /// Starts sending every session the server has not fully confirmed and
    /// the current sign-in may carry.
    pub fn resume_uploads(&self) {
        if self.signed().is_none() {
            return;
        }
        let pending = match self.pending_uploads() {
            Ok(pending) => pending,
            Err(err) => {
                tracing::error!(error = %err, "cannot list pending sessions");
                return;
            }
        };
        for record in &pending.sendable {
            match self.begin_upload(record) {
                Ok(session) => self.follow(session),
                Err(err) => {
                    tracing::warn!(session = %record.id, error = %err, "cannot resume upload")
                }
            }
        }
    }

    fn check_can_record(&self, request: &RecordingRequest) -> Result<(), AppError> {
        let reference = &request.reference;
        if self.config().require_consent && !request.consent_confirmed {
            return Err(AppError::new(
                ErrorKind::ConsentNeeded,
                "Please confirm that the patient agreed to the recording, then start again.",
            ));
        }
        if let Some(language) = &request.language {
            settings::check_language(language).map_err(|e| AppError::invalid(e.to_string()))?;
        }
        if reference.chars().count() > 200 || reference.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "The reference must be one line of at most 200 characters.",
            ));
        }
        if self.lock_recording().is_some() {
            return Err(AppError::new(
                ErrorKind::AlreadyRecording,
                "A recording is already running.",
            ));
        }
        Ok(())
    }

    fn existing(&self, id: &str) -> Result<crate::store::SessionRecord, AppError> {
        self.inner
            .store
            .get(id)
            .map_err(AppError::storage)?
            .ok_or_else(|| AppError::new(ErrorKind::NotFound, "That session no longer exists."))
    }

    fn setup(
        &self,
        id: &str,
        reference: &str,
        profile: Profile,
        signed: &SignedInServer,
    ) -> SessionSetup {
        let options = self.inner.options.sender.clone().configured(&self.config());
        SessionSetup {
            id: id.to_owned(),
            reference: reference.to_owned(),
            profile,
            server: signed.server.clone(),
            spool_dir: self.spool_dir(),
            store: self.inner.store.clone(),
            tokens: signed.tokens.clone(),
            options,
            power: Power::system(),
        }
    }

    fn spool_dir(&self) -> PathBuf {
        self.inner.options.dirs.spool()
    }

    /// Forwards a session's events until it ends, and keeps `sending` true.
    fn follow(&self, session: Session) {
        let id = session.id.clone();
        self.lock_sending().insert(id.clone());
        let mut events = session.subscribe();
        // Subscribed after the start: the status sent meanwhile (often
        // "connected", on a fast network) would otherwise never reach the UI.
        if let Some(current) = session.status_event() {
            let _ = self.inner.events.send(current);
        }
        // Likewise the hold on sleep, which is often answered by then.
        if let Some(state) = session.keep_awake_state() {
            let _ = self.inner.events.send(Event::KeepAwake {
                session_id: id.clone(),
                state,
            });
        }
        let app = self.clone();
        let span = tracing::info_span!("session", id = %id);
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                let forward = {
                    let sink = app.inner.events.clone();
                    tokio::spawn(async move {
                        loop {
                            match events.recv().await {
                                Ok(event) => {
                                    let _ = sink.send(event);
                                }
                                Err(broadcast::error::RecvError::Lagged(n)) => {
                                    tracing::warn!(missed = n, "UI events dropped");
                                }
                                Err(broadcast::error::RecvError::Closed) => return,
                            }
                        }
                    })
                };
                let result = session.finished().await;
                // The forwarder ends once the session's last sender is gone;
                // the bound only guards against a sender kept alive by mistake.
                if tokio::time::timeout(Duration::from_secs(2), forward)
                    .await
                    .is_err()
                {
                    tracing::warn!("session events still open after it ended");
                }
                if let Err(err) = result {
                    tracing::warn!(error = %err, "session ended without completing");
                }
                app.lock_sending().remove(&id);
                let mut recording = app.lock_recording();
                if recording.as_ref().is_some_and(|r| r.view.id == id) {
                    *recording = None;
                    drop(recording);
                    let _ = app.inner.events.send(Event::Recording {
                        session_id: id,
                        active: false,
                    });
                }
            },
            span,
        ));
    }

    /// The token manager for `server`, reusing the current one when it is
    /// the same server (a running session keeps its manager).
    fn signed_for(&self, server: &str) -> SignedInServer {
        let server = server.trim_end_matches('/').to_owned();
        let mut signed = self.inner.signed.lock().expect("sign-in lock poisoned");
        if let Some(current) = signed.as_ref()
            && current.server == server
        {
            return current.clone();
        }
        let profile = self.config().server_profile.auth;
        let tokens = crate::auth::manager_for(&server, profile, &self.inner.options.keychain)
            .expect("an HTTP client can be built");
        let mut auth_events = tokens.subscribe();
        let sink = self.inner.events.clone();
        tokio::spawn(async move {
            loop {
                match auth_events.recv().await {
                    Ok(event) => {
                        let _ = sink.send(Event::Auth(event));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        let new = SignedInServer { server, tokens };
        *signed = Some(new.clone());
        new
    }

    fn locked_elsewhere(&self, server: &str) -> bool {
        let config = self.config();
        config.is_locked(Key::Server)
            && config
                .server
                .as_deref()
                .is_some_and(|fixed| fixed.trim_end_matches('/') != server.trim_end_matches('/'))
    }

    /// The person's settings; unreadable ones count as none (and are logged).
    fn user_settings(&self) -> UserSettings {
        settings::load(&self.inner.options.dirs.config).unwrap_or_else(|err| {
            tracing::warn!(error = %err, "settings unreadable; using defaults");
            UserSettings::default()
        })
    }

    /// The configuration in force now.
    pub fn config(&self) -> Resolved {
        self.inner.options.config.resolve(&self.user_settings())
    }

    fn signed(&self) -> Option<SignedInServer> {
        self.inner
            .signed
            .lock()
            .expect("sign-in lock poisoned")
            .clone()
    }

    fn lock_recording(&self) -> std::sync::MutexGuard<'_, Option<Recording>> {
        self.inner
            .recording
            .lock()
            .expect("recording lock poisoned")
    }

    fn lock_sending(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.inner.sending.lock().expect("sending lock poisoned")
    }
}

/// Why no consultation was created at the clinic's server, and that
/// nothing was recorded.
fn not_created(kind: ErrorKind, why: impl std::fmt::Display) -> AppError {
    AppError::new(
        kind,
        format!(
            "No consultation was created: {why}. Nothing has been recorded yet; \
             try again, or paste the consultation ID from the clinic system."
        ),
    )
}

/// "the x" → "The x", for a sentence on its own.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// What the doctor gives when starting a recording.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordingRequest {
    /// The doctor's reference for the patient or encounter (may be empty).
    pub reference: String,
    /// The consultation's id from the clinic's system; without one, a new
    /// id is made.
    pub session_id: Option<String>,
    /// The doctor confirmed the patient's consent (required when the
    /// administrator set `require_consent`).
    pub consent_confirmed: bool,
    /// The language for this consultation, over the configured one (a link
    /// from the clinic's system may name it).
    pub language: Option<String>,
    /// An id already in History continues that recording into its spool
    /// (the command line run again after a crash). The app's window never
    /// sets it: there the doctor uses Send again.
    pub continue_existing: bool,
}

impl RecordingRequest {
    /// A recording with just a reference.
    pub fn with_reference(reference: &str) -> Self {
        Self {
            reference: reference.to_owned(),
            ..Self::default()
        }
    }
}

/// The signed-in account, for the consent record.
fn signed_account(signed: &SignedInServer) -> String {
    match signed.tokens.state() {
        AuthState::SignedIn { account, .. } | AuthState::SignInRequired { account, .. } => account,
        AuthState::SignedOut => String::new(),
    }
}
