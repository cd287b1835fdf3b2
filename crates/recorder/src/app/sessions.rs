//! Starting sessions: one set of rules for the desktop app and the command line.
//!
//! The app follows the sessions it starts itself (its event stream, the
//! "sending" marks in History); the command line follows them in the
//! foreground for its exit codes. Both start them here, so who may record,
//! which id a recording gets, what may be sent again and which uploads a
//! sign-in may carry cannot drift apart.

use crate::account;
use crate::audio::{AudioSource, WavSource};
use crate::auth::{AuthError, SignInError};
use crate::session::{self, Session};
use crate::store::{Consent, SessionRecord, SessionState};

use super::{App, AppError, ErrorKind, RecordingRequest, SignedInServer, signed_account};

/// What signing in again from the keychain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilentSignIn {
    /// The server of the remembered sign-in.
    pub server: String,
    /// Whether its tokens can be used now.
    pub resumed: Resumed,
}

/// Whether the remembered sign-in's tokens can be used now. Only
/// [`Resumed::Ready`] uploads at once; the others still let a recording
/// start, its audio waiting on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resumed {
    /// Signed in: uploads go ahead.
    Ready,
    /// The server cannot be reached now (the reason); the upload waits for it.
    Offline(String),
    /// The server ended the sign-in (the reason): the person signs in again.
    SignInRequired(String),
    /// The keychain no longer holds the sign-in (revoked or signed out elsewhere).
    NothingSaved,
}

impl App {
    /// Signs in again from the keychain, as at launch. `None` when nobody's
    /// sign-in is remembered; an error when the keychain or the remembered
    /// account cannot be read, or the administrator set another server.
    pub async fn sign_in_silently(&self) -> Result<Option<SilentSignIn>, AppError> {
        let Some(remembered) =
            account::load(&self.inner.options.dirs.config).map_err(AppError::storage)?
        else {
            return Ok(None);
        };
        if self.locked_elsewhere(&remembered.server) {
            return Err(AppError::new(
                ErrorKind::Locked,
                "The remembered sign-in is for another server than the one your IT department set. Please sign in again.",
            ));
        }
        let signed = self.signed_for(&remembered.server);
        let resumed = match signed.tokens.resume(&remembered.account).await {
            Ok(()) => Resumed::Ready,
            Err(SignInError::Auth(err)) if err.is_transient() => Resumed::Offline(err.to_string()),
            Err(SignInError::Auth(AuthError::SignInRequired(reason))) => {
                Resumed::SignInRequired(reason)
            }
            Err(SignInError::NothingSaved(_)) => Resumed::NothingSaved,
            Err(other) => return Err(other.into()),
        };
        Ok(Some(SilentSignIn {
            server: signed.server,
            resumed,
        }))
    }

    /// Checks a recording request before anything is opened or asked of the
    /// server: the consent, the language, the reference, the id's form, and
    /// that no other recording runs here.
    pub fn check_recording_request(&self, request: &RecordingRequest) -> Result<(), AppError> {
        self.check_can_record(request)?;
        self.session_id_for(request).map(drop)
    }

    /// Starts recording `source` for a caller that follows the session
    /// itself (the command line); [`App::start_recording_from`] is the app's
    /// own recording. The consent, when given, is stored with the session.
    pub fn begin_recording<S: AudioSource + 'static>(
        &self,
        source: S,
        request: &RecordingRequest,
    ) -> Result<Session, AppError> {
        let (id, continued) = self.session_id_for(request)?;
        self.check_can_record(request)?;
        let config = self.config();
        // A recording continued goes on as it began: to its server, in its
        // profile, under its reference.
        let (signed, profile, reference) = match &continued {
            Some(record) => (
                self.signed_for_record(record, "continue it")?,
                record.profile,
                record.reference.as_str(),
            ),
            None => (
                self.signed().ok_or_else(|| {
                    AppError::new(ErrorKind::SignInNeeded, "Please sign in before recording.")
                })?,
                config.profile,
                request.reference.as_str(),
            ),
        };
        let mut setup = self.setup(&id, reference, profile, &signed);
        setup.options.language = request.language.clone().or(config.language);
        let session = Session::start(setup, Some(source)).map_err(AppError::storage)?;
        if request.consent_confirmed {
            let consent = Consent {
                confirmed_by: signed_account(&signed),
                confirmed_at: crate::clock::unix_millis(),
            };
            if let Err(err) = self.inner.store.set_consent(&id, &consent) {
                session.stop();
                return Err(AppError::storage(err));
            }
        }
        Ok(session)
    }

    /// Starts sending a session again from its first sample, for a caller
    /// that follows it. A seed server never confirms what it stored, so a
    /// clinic may ask for a recording again while its audio is still here;
    /// a session a server confirmed, or one still being sent, is refused.
    pub fn begin_resend(&self, id: &str) -> Result<Session, AppError> {
        let record = self.check_resend(id)?;
        let signed = self.signed_for_record(&record, "send it again")?;
        self.reserve_sending(id)?;
        let started = self
            .inner
            .store
            .restart_upload(id)
            .map_err(AppError::storage)
            .and_then(|_| self.send_spool(&record, &signed));
        if started.is_err() {
            self.lock_sending().remove(id);
        }
        started
    }

    /// What can be told before signing in about sending `id` again: that it
    /// exists, went to a server that does not confirm receipt, is not being
    /// sent now, and its audio is still here.
    pub fn check_resend(&self, id: &str) -> Result<SessionRecord, AppError> {
        let record = self.existing(id)?;
        if record.state != SessionState::Sent || self.lock_sending().contains(id) {
            return Err(AppError::invalid(
                "Only a recording that was sent to a server that does not confirm receipt can be sent again.",
            ));
        }
        if !session::spool_path(&self.spool_dir(), id).exists() {
            return Err(AppError::invalid(
                "The audio of this recording is no longer on this computer (the retention period has passed).",
            ));
        }
        Ok(record)
    }

    /// The sessions whose audio the server has not fully confirmed, split
    /// into those the current sign-in can send (not already being sent) and
    /// those made for another server, which wait for a sign-in to it: a
    /// token is never sent to a server it was not issued by.
    pub fn pending_uploads(&self) -> Result<PendingUploads, AppError> {
        let signed = self.signed();
        let sending = self.lock_sending().clone();
        let mut pending = PendingUploads::default();
        for record in session::pending(&self.inner.store).map_err(AppError::storage)? {
            if sending.contains(&record.id) {
                continue;
            }
            match &signed {
                Some(signed) if same_server(&record.server, &signed.server) => {
                    pending.sendable.push(record)
                }
                _ => pending.elsewhere.push(record),
            }
        }
        Ok(pending)
    }

    /// Starts sending what the spool of `record` holds, for a caller that
    /// follows it (one of [`PendingUploads::sendable`]).
    pub fn begin_upload(&self, record: &SessionRecord) -> Result<Session, AppError> {
        let signed = self.signed_for_record(record, "send it")?;
        self.reserve_sending(&record.id)?;
        let started = self.send_spool(record, &signed);
        if started.is_err() {
            self.lock_sending().remove(&record.id);
        }
        started
    }

    /// Marks `id` as being sent, or refuses when it already is: one step
    /// under one lock, so two callers never both start a sender for it.
    /// [`App::follow`] releases the mark when the session ends.
    fn reserve_sending(&self, id: &str) -> Result<(), AppError> {
        if self.lock_sending().insert(id.to_owned()) {
            Ok(())
        } else {
            Err(AppError::invalid("This recording is being sent already."))
        }
    }

    /// The current sign-in, when it is to `record`'s server: a token is
    /// never sent to a server it was not issued by. `to` says what the
    /// sign-in is for ("send it again").
    fn signed_for_record(
        &self,
        record: &SessionRecord,
        to: &str,
    ) -> Result<SignedInServer, AppError> {
        let signed = self.signed().ok_or_else(|| {
            AppError::new(
                ErrorKind::SignInNeeded,
                format!("This recording is waiting for a sign-in: sign in to {to}."),
            )
        })?;
        if !same_server(&record.server, &signed.server) {
            return Err(AppError::new(
                ErrorKind::SignInNeeded,
                format!(
                    "This recording was made for another server: sign in to that server to {to}."
                ),
            ));
        }
        Ok(signed)
    }

    /// A session that sends what `record`'s spool holds, with no microphone.
    fn send_spool(
        &self,
        record: &SessionRecord,
        signed: &SignedInServer,
    ) -> Result<Session, AppError> {
        let setup = self.setup(&record.id, &record.reference, record.profile, signed);
        Session::start::<WavSource>(setup, None).map_err(AppError::storage)
    }

    /// The id a recording gets: a new one, or the clinic's, checked. An id
    /// already in History is refused unless the request continues it; then
    /// its record comes too, and a recording already sent in full is refused.
    fn session_id_for(
        &self,
        request: &RecordingRequest,
    ) -> Result<(String, Option<SessionRecord>), AppError> {
        let given = request.session_id.as_deref();
        let Some(given) = given.filter(|g| !g.trim().is_empty()) else {
            return Ok((uuid::Uuid::new_v4().to_string(), None));
        };
        let id = crate::consultation::check_session_id(given)
            .map_err(|e| AppError::invalid(format!("{}.", super::capitalised(&e.to_string()))))?;
        let Some(existing) = self.inner.store.get(&id).map_err(AppError::storage)? else {
            return Ok((id, None));
        };
        if !request.continue_existing {
            return Err(AppError::invalid(format!(
                "Consultation {id} already has a recording in History. Use Send again there, \
                 or start a new consultation in the clinic system."
            )));
        }
        if matches!(existing.state, SessionState::Complete | SessionState::Sent) {
            return Err(AppError::invalid(format!(
                "Consultation {id} was recorded and sent in full already; nothing is added to \
                 a finished recording (resend sends it again)."
            )));
        }
        Ok((id, Some(existing)))
    }
}

/// What [`App::pending_uploads`] found.
#[derive(Debug, Default)]
pub struct PendingUploads {
    /// Sessions the current sign-in can send now.
    pub sendable: Vec<SessionRecord>,
    /// Sessions made for another server (or any, when nobody is signed in).
    pub elsewhere: Vec<SessionRecord>,
}

/// Whether two server addresses name the same server (a trailing `/` aside).
fn same_server(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}
