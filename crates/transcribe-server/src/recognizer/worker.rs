//! A decoder thread that follows a growing audio file and reports utterances.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use tokio::sync::{mpsc, watch};

use super::{Decoder, Recognition, RecognizerError};

/// Samples fed to the decoder per call (100 ms).
const CHUNK_SAMPLES: usize = 1_600;
/// Minimum audio between two partial results (300 ms), to keep the socket calm.
const PARTIAL_EVERY_SAMPLES: u64 = 4_800;

/// Adds one least-significant bit of noise, chosen by the sample's absolute
/// offset. Digital silence (exact zeros) gives log(0) energies that derail
/// pocketsphinx's voice detector; as a pure function of the offset, the same
/// audio is dithered the same way however its decoding was split up.
pub fn dither(sample: i16, offset: u64) -> i16 {
    let bit = (offset.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 63) as i16;
    sample.saturating_add(bit)
}

/// How much audio the worker may read, and whether more will come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedState {
    /// Samples present in the file (from the start of the session).
    pub available: u64,
    /// No more audio will come: finish the utterance and report `Flushed`.
    pub finished: bool,
}

/// Text for samples `start..end` of the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecognizedText {
    /// The recognised words.
    pub text: String,
    /// Whether the utterance has ended; a partial is replaced by later text.
    pub is_final: bool,
    /// Offset of the utterance's first sample.
    pub start: u64,
    /// Offset just past the last sample decoded for this text.
    pub end: u64,
}

/// What a worker reports.
#[derive(Debug)]
pub enum WorkerEvent {
    /// A partial or final result for one utterance.
    Text(RecognizedText),
    /// Everything fed was recognised after the feed finished.
    Flushed,
    /// The recogniser stopped; audio is still stored.
    Failed(String),
}

/// Where a worker decodes from, and from where it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First sample decoded. Starting before `report_from` gives the voice
    /// detector and normalisation the context they had the first time.
    pub decode_from: u64,
    /// Utterances that began before this were already reported.
    pub report_from: u64,
}

impl Span {
    /// Decodes and reports from the first sample of the session.
    pub fn from_start() -> Self {
        Self {
            decode_from: 0,
            report_from: 0,
        }
    }
}

/// Starts recognising `path` over `span`, following `feed`.
///
/// The worker stops when the feed's sender or the event receiver goes away.
pub fn spawn_worker(
    recognition: Recognition,
    path: PathBuf,
    span: Span,
    feed: watch::Receiver<FeedState>,
    events: mpsc::Sender<WorkerEvent>,
) {
    let start = span.decode_from;
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let outcome = match recognition {
            Recognition::Off => follow_without_decoding(&runtime, feed, &events),
            Recognition::Pocketsphinx { paths, jsgf } => Decoder::new(&paths, jsgf.as_deref())
                .map_err(WorkerError::Recognizer)
                .and_then(|decoder| {
                    Worker {
                        decoder,
                        events: &events,
                        position: start,
                        speech_start: None,
                        last_partial: None,
                        last_partial_at: 0,
                        utterance_begin: start,
                        report_from: span.report_from,
                    }
                    .run(&runtime, &path, feed)
                }),
        };
        match outcome {
            Ok(()) | Err(WorkerError::Stopped) => {}
            Err(err) => {
                tracing::error!(error = %err, "recogniser stopped");
                let _ = events.blocking_send(WorkerEvent::Failed(err.to_string()));
            }
        }
    });
}

#[derive(Debug, thiserror::Error)]
enum WorkerError {
    #[error(transparent)]
    Recognizer(#[from] RecognizerError),
    #[error("reading session audio: {0}")]
    Io(#[from] std::io::Error),
    #[error("stopped")]
    Stopped,
}

fn follow_without_decoding(
    runtime: &tokio::runtime::Handle,
    mut feed: watch::Receiver<FeedState>,
    events: &mpsc::Sender<WorkerEvent>,
) -> Result<(), WorkerError> {
    loop {
        let state = *feed.borrow_and_update();
        if state.finished {
            return send(events, WorkerEvent::Flushed);
        }
        if runtime.block_on(feed.changed()).is_err() {
            return Err(WorkerError::Stopped);
        }
    }
}

fn send(events: &mpsc::Sender<WorkerEvent>, event: WorkerEvent) -> Result<(), WorkerError> {
    events
        .blocking_send(event)
        .map_err(|_| WorkerError::Stopped)
}

struct Worker<'a> {
    decoder: Decoder,
    events: &'a mpsc::Sender<WorkerEvent>,
    position: u64,
    speech_start: Option<u64>,
    last_partial: Option<String>,
    last_partial_at: u64,
    /// Where the current utterance began (used when the VAD never fired).
    utterance_begin: u64,
    /// Utterances starting before this are decoded for context only.
    report_from: u64,
}

impl Worker<'_> {
    fn run(
        mut self,
        runtime: &tokio::runtime::Handle,
        path: &PathBuf,
        mut feed: watch::Receiver<FeedState>,
    ) -> Result<(), WorkerError> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(self.position * 2))?;
        let mut bytes = vec![0u8; CHUNK_SAMPLES * 2];
        let mut samples = vec![0i16; CHUNK_SAMPLES];
        self.decoder.start_utterance()?;
        loop {
            if self.events.is_closed() {
                return Err(WorkerError::Stopped);
            }
            let state = *feed.borrow_and_update();
            // Whole chunks aligned to absolute offsets, so the same audio is
            // recognised the same way however the network delivered it; a
            // shorter last chunk only once the stream has finished.
            let chunk_end = (self.position / CHUNK_SAMPLES as u64 + 1) * CHUNK_SAMPLES as u64;
            let ready =
                state.available >= chunk_end || (state.finished && self.position < state.available);
            if ready {
                let n = (chunk_end.min(state.available) - self.position) as usize;
                file.read_exact(&mut bytes[..n * 2])?;
                for (i, (sample, pair)) in samples
                    .iter_mut()
                    .zip(bytes[..n * 2].chunks_exact(2))
                    .enumerate()
                {
                    *sample = dither(
                        i16::from_le_bytes([pair[0], pair[1]]),
                        self.position + i as u64,
                    );
                }
                self.feed_chunk(&samples[..n])?;
                continue;
            }
            if state.finished {
                self.finish_utterance()?;
                return send(self.events, WorkerEvent::Flushed);
            }
            if runtime.block_on(feed.changed()).is_err() {
                return Err(WorkerError::Stopped);
            }
        }
    }

    fn feed_chunk(&mut self, chunk: &[i16]) -> Result<(), WorkerError> {
        let chunk_start = self.position;
        self.decoder.process(chunk)?;
        self.position += chunk.len() as u64;
        match (self.speech_start, self.decoder.in_speech()) {
            (None, true) => self.speech_start = Some(chunk_start),
            (Some(start), true) => self.maybe_partial(start)?,
            (Some(_), false) => self.finish_utterance()?,
            (None, false) => {}
        }
        Ok(())
    }

    fn maybe_partial(&mut self, start: u64) -> Result<(), WorkerError> {
        if self.position - self.last_partial_at < PARTIAL_EVERY_SAMPLES {
            return Ok(());
        }
        let Some(text) = self.decoder.hypothesis() else {
            return Ok(());
        };
        if self.last_partial.as_deref() == Some(text.as_str()) {
            return Ok(());
        }
        self.last_partial_at = self.position;
        self.last_partial = Some(text.clone());
        if start < self.report_from {
            return Ok(());
        }
        send(
            self.events,
            WorkerEvent::Text(RecognizedText {
                text,
                is_final: false,
                start,
                end: self.position,
            }),
        )
    }

    /// Ends the current utterance, reports its final text, and starts the next.
    fn finish_utterance(&mut self) -> Result<(), WorkerError> {
        self.decoder.end_utterance()?;
        let start = self.speech_start.take();
        self.last_partial = None;
        if let Some(text) = self.decoder.hypothesis()
            && start.unwrap_or(self.utterance_begin) >= self.report_from
        {
            let start = start.unwrap_or(self.utterance_begin);
            send(
                self.events,
                WorkerEvent::Text(RecognizedText {
                    text,
                    is_final: true,
                    start,
                    end: self.position,
                }),
            )?;
        }
        self.utterance_begin = self.position;
        self.decoder.start_utterance()?;
        Ok(())
    }
}
