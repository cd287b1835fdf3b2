//! One session's upload across its connections: the spool it reads, the
//! capture's end it waits for, the transcript it builds and the offset the
//! server is known to hold.

use consult_protocol::samples_to_secs;

use super::capture::CaptureDone;
use super::sender::SenderContext;
use super::transcript::TranscriptAssembler;
use crate::events::{Status, TranscriptUpdate};
use crate::spool::{SpoolError, SpoolReader};
use crate::store::Segment;

/// Behind by more than this (2 s), the status says "uploading backlog".
pub const BACKLOG_LAG: u64 = 32_000;

/// What every connection of a session reads and updates.
pub struct Upload<'a> {
    pub sender: &'a SenderContext,
    pub reader: &'a mut SpoolReader,
    pub capture: &'a mut CaptureDone,
    pub transcript: &'a mut TranscriptAssembler,
    /// Samples the server is known to hold; only ever raised, and stored.
    pub confirmed: u64,
    /// The furthest offset ever sent: a connection starting below it replays.
    pub high_water: u64,
    /// The spool's audio of the chunk being sent.
    pcm: Vec<u8>,
}

impl<'a> Upload<'a> {
    pub fn new(
        sender: &'a SenderContext,
        reader: &'a mut SpoolReader,
        capture: &'a mut CaptureDone,
        transcript: &'a mut TranscriptAssembler,
    ) -> Self {
        let confirmed = sender.stored_confirmed();
        Self {
            sender,
            reader,
            capture,
            transcript,
            confirmed,
            high_water: confirmed,
            pcm: Vec::with_capacity(32_000),
        }
    }

    /// Samples written to the spool so far.
    pub fn written(&self) -> u64 {
        self.reader.written().written
    }

    /// Raises the confirmed offset (never lowers it) and stores it.
    pub fn confirm(&mut self, offset: u64) {
        if offset > self.confirmed {
            self.confirmed = offset;
            if let Err(err) = self
                .sender
                .store
                .set_confirmed(&self.sender.session_id, offset)
            {
                tracing::error!(error = %err, "cannot record the confirmed offset");
            }
        }
    }

    /// Reads up to `max` samples at `offset` into [`Upload::pcm`]; `Ok(0)`
    /// when there is nothing yet. Damaged audio (read as silence) is
    /// reported to the person.
    pub fn read(&mut self, offset: u64, max: u64) -> Result<u64, SpoolError> {
        self.pcm.clear();
        let read = self.reader.read(offset, max, &mut self.pcm)?;
        if read.damaged {
            self.sender.reporter.warning(format!(
                "{:.2} s of audio was damaged on this computer's disk and is sent as silence",
                samples_to_secs(read.samples)
            ));
        }
        Ok(read.samples)
    }

    /// The audio of the last [`Upload::read`], PCM16LE.
    pub fn pcm(&self) -> &[u8] {
        &self.pcm
    }

    /// Shows a transcript update that changes what the person sees, and
    /// stores it when final.
    pub fn transcript_update(&mut self, update: TranscriptUpdate) {
        let Some(update) = self.transcript.accept(update) else {
            return;
        };
        if update.is_final {
            let segment = Segment {
                start: update.start,
                end: update.end,
                text: update.text.clone(),
            };
            if let Err(err) = self
                .sender
                .store
                .add_segment(&self.sender.session_id, &segment)
            {
                tracing::error!(error = %err, "cannot store a transcript segment");
            }
        }
        self.sender.reporter.transcript(update);
    }

    /// "Connected" or "uploading backlog — N s left", plus a progress event.
    pub fn report_status(&self, sent: u64, finishing: bool) {
        if finishing {
            return;
        }
        let written = self.written();
        let lag = written.saturating_sub(sent);
        if lag > BACKLOG_LAG {
            self.sender.reporter.status(Status::UploadingBacklog {
                seconds_left: (samples_to_secs(lag) * 10.0).round() / 10.0,
            });
        } else {
            self.sender.reporter.status(Status::Connected);
        }
        self.sender.reporter.progress(written, sent, self.confirmed);
    }
}

/// Tells the person once per connection that the server sent something unreadable.
#[derive(Default)]
pub struct BadMessages {
    warned: bool,
}

impl BadMessages {
    pub fn report(&mut self, sender: &SenderContext, what: &str) {
        if !self.warned {
            self.warned = true;
            sender.reporter.warning(format!(
                "ignored a message from the server that could not be read ({what})"
            ));
        }
    }
}
