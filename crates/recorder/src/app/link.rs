//! Links from the clinic's system (`consult-recorder://record?…`).
//!
//! Any web page can open a link, so a link never starts a recording: it is
//! offered to the doctor, who confirms it (or not). Links that cannot be used
//! are refused with a sentence, on the event stream and in the log.

use super::{App, AppError, ErrorKind, RecordingRequest, RecordingView, capitalised};
use crate::audio::AudioSource;
use crate::deep_link::{self, RecordLink};
use crate::events::{Event, LinkEvent};

impl App {
    /// Reads a link handed over by the desktop and offers it to the doctor,
    /// or refuses it. A refused link leaves any earlier offer in place.
    pub fn offer_link(&self, link: &str) -> Result<RecordLink, AppError> {
        match self.check_link(link) {
            Ok(offer) => {
                tracing::info!(session_id = %offer.session_id, "a link from the clinic's system waits for the doctor");
                *self.lock_offer() = Some(offer.clone());
                self.send(Event::Link(LinkEvent::Offered {
                    link: offer.clone(),
                }));
                Ok(offer)
            }
            Err(err) => {
                tracing::warn!(reason = %err.message, "a link was refused");
                self.send(Event::Link(LinkEvent::Refused {
                    message: err.message.clone(),
                }));
                Err(err)
            }
        }
    }

    /// The link waiting for the doctor, if any.
    pub fn link_offer(&self) -> Option<RecordLink> {
        self.lock_offer().clone()
    }

    /// The doctor confirmed the offered link: records that consultation
    /// from the chosen microphone. On failure (consent not ticked, no
    /// microphone) the offer stays.
    pub async fn accept_link(&self, consent_confirmed: bool) -> Result<RecordingView, AppError> {
        let (offer, request) = self.offered_request(consent_confirmed)?;
        let view = self.start_recording(&request).await?;
        self.settle_offer(&offer);
        Ok(view)
    }

    /// [`App::accept_link`] from any source (tests use a WAV file).
    pub fn accept_link_from<S: AudioSource + 'static>(
        &self,
        source: S,
        consent_confirmed: bool,
    ) -> Result<RecordingView, AppError> {
        let (offer, request) = self.offered_request(consent_confirmed)?;
        let view = self.start_recording_from(source, &request)?;
        self.settle_offer(&offer);
        Ok(view)
    }

    /// The doctor declined the offered link.
    pub fn dismiss_link(&self) {
        if self.lock_offer().take().is_some() {
            tracing::info!("the doctor dismissed a link");
            self.send(Event::Link(LinkEvent::Cleared));
        }
    }

    fn offered_request(
        &self,
        consent_confirmed: bool,
    ) -> Result<(RecordLink, RecordingRequest), AppError> {
        let offer = self
            .link_offer()
            .ok_or_else(|| AppError::invalid("There is no link waiting to be confirmed."))?;
        let request = RecordingRequest {
            reference: offer.reference.clone(),
            session_id: Some(offer.session_id.clone()),
            consent_confirmed,
            language: offer.language.clone(),
            continue_existing: false,
        };
        Ok((offer, request))
    }

    /// Withdraws the offer once it is recording (unless another link
    /// replaced it meanwhile).
    fn settle_offer(&self, offer: &RecordLink) {
        let mut waiting = self.lock_offer();
        if waiting.as_ref() == Some(offer) {
            *waiting = None;
            drop(waiting);
            self.send(Event::Link(LinkEvent::Cleared));
        }
    }

    fn check_link(&self, link: &str) -> Result<RecordLink, AppError> {
        let offer = deep_link::parse(link)
            .map_err(|reason| AppError::invalid(format!("This link was not used: {reason}.")))?;
        if self.lock_recording().is_some() {
            return Err(AppError::new(
                ErrorKind::AlreadyRecording,
                format!(
                    "A recording is already running, so the link for consultation {} was not used. \
                     Stop this recording, then open the link again.",
                    offer.session_id
                ),
            ));
        }
        if self
            .inner
            .store
            .get(&offer.session_id)
            .map_err(AppError::storage)?
            .is_some()
        {
            return Err(AppError::invalid(capitalised(&format!(
                "consultation {} already has a recording in History, so the link was not used. \
                 Use Send again there, or start a new consultation in the clinic system.",
                offer.session_id
            ))));
        }
        Ok(offer)
    }

    fn lock_offer(&self) -> std::sync::MutexGuard<'_, Option<RecordLink>> {
        self.inner.offer.lock().expect("link offer lock poisoned")
    }

    fn send(&self, event: Event) {
        let _ = self.inner.events.send(event);
    }
}
