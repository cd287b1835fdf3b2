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
    pub text: String,
    pub is_final: bool,
    pub start: u64,
    pub end: u64,
}

/// What a worker reports.
#[derive(Debug)]
pub enum WorkerEvent {
    Text(RecognizedText),
    /// Everything up to `end` was recognised after the feed finished.
    Flushed {
        end: u64,
    },
    /// The recogniser stopped; audio is still stored.
    Failed(String),
}

/// Starts recognising `path` from sample `start`, following `feed`.
///
/// The worker stops when the feed's sender or the event receiver goes away.
pub fn spawn_worker(
    recognition: Recognition,
    path: PathBuf,
    start: u64,
    feed: watch::Receiver<FeedState>,
    events: mpsc::Sender<WorkerEvent>,
) {
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
            return send(
                events,
                WorkerEvent::Flushed {
                    end: state.available,
                },
            );
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
            if self.position < state.available {
                let n = (state.available - self.position).min(CHUNK_SAMPLES as u64) as usize;
                file.read_exact(&mut bytes[..n * 2])?;
                for (sample, pair) in samples.iter_mut().zip(bytes[..n * 2].chunks_exact(2)) {
                    *sample = i16::from_le_bytes([pair[0], pair[1]]);
                }
                self.feed_chunk(&samples[..n])?;
                continue;
            }
            if state.finished {
                self.finish_utterance()?;
                return send(self.events, WorkerEvent::Flushed { end: self.position });
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
        if let Some(text) = self.decoder.hypothesis() {
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
