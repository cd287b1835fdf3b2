//! A safe owner of one pocketsphinx decoder.
//!
//! The decoder is not thread-safe, so a `Decoder` is created, used and dropped on
//! one worker thread; it is deliberately neither `Send` nor `Sync` (raw pointer).

use std::ffi::{CStr, CString, c_char};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use super::ffi;

/// Why the recogniser could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum RecognizerError {
    /// A model file or directory is missing; holds its path.
    #[error("speech model not found at {0} (install pocketsphinx-en-us or pass --model-dir)")]
    ModelMissing(PathBuf),
    /// pocketsphinx refused the arguments built for it.
    #[error("pocketsphinx rejected its configuration")]
    BadConfig,
    /// pocketsphinx could not start; holds the acoustic model directory it was given.
    #[error("pocketsphinx failed to load the model from {0}")]
    InitFailed(PathBuf),
    /// pocketsphinx refused the JSGF grammar, often because a word is not in the dictionary.
    #[error("pocketsphinx rejected the grammar (is every word in the dictionary?)")]
    BadGrammar,
    /// A decoding call failed; holds the step, e.g. "audio processing".
    #[error("pocketsphinx failed during {0}")]
    Decode(&'static str),
    /// A grammar or path holds a NUL byte, so it cannot be passed to C.
    #[error("a grammar or path contains a NUL byte")]
    Nul(#[from] std::ffi::NulError),
}

/// Where the acoustic model, dictionary and language model live.
#[derive(Debug, Clone)]
pub struct ModelPaths {
    /// The acoustic model directory (`-hmm`).
    pub acoustic: PathBuf,
    /// The pronunciation dictionary (`-dict`).
    pub dictionary: PathBuf,
    /// The general language model (`-lm`); not needed with a grammar.
    pub language_model: PathBuf,
}

impl ModelPaths {
    /// The layout of Debian's `pocketsphinx-en-us` package under `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            acoustic: dir.join("en-us"),
            dictionary: dir.join("cmudict-en-us.dict"),
            language_model: dir.join("en-us.lm.bin"),
        }
    }

    fn check(&self) -> Result<(), RecognizerError> {
        for path in [&self.acoustic, &self.dictionary] {
            if !path.exists() {
                return Err(RecognizerError::ModelMissing(path.clone()));
            }
        }
        Ok(())
    }
}

/// sphinxbase keeps process-wide state (its log file, among others) that
/// concurrent decoders corrupt: every call into the library holds this lock.
static LIBRARY: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn library() -> std::sync::MutexGuard<'static, ()> {
    LIBRARY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One pocketsphinx decoder, in grammar mode or with the general language model.
pub struct Decoder {
    ptr: NonNull<ffi::Decoder>,
}

const GRAMMAR_SEARCH: &CStr = c"grammar";

impl Decoder {
    /// Loads the model; with `jsgf`, recognition is restricted to that grammar.
    pub fn new(paths: &ModelPaths, jsgf: Option<&str>) -> Result<Self, RecognizerError> {
        let _library = library();
        paths.check()?;
        let mut args: Vec<CString> = vec![
            CString::new("transcribe-server")?,
            CString::new("-hmm")?,
            CString::new(paths.acoustic.to_string_lossy().as_bytes())?,
            CString::new("-dict")?,
            CString::new(paths.dictionary.to_string_lossy().as_bytes())?,
            CString::new("-logfn")?,
            CString::new(null_device())?,
            // No pocketsphinx dither: it draws from sphinxbase's process-wide
            // random state, shared unsafely by concurrent decoders. The worker
            // dithers instead (see `worker::dither`).
            CString::new("-dither")?,
            CString::new("no")?,
        ];
        if jsgf.is_none() {
            if !paths.language_model.exists() {
                return Err(RecognizerError::ModelMissing(paths.language_model.clone()));
            }
            args.push(CString::new("-lm")?);
            args.push(CString::new(
                paths.language_model.to_string_lossy().as_bytes(),
            )?);
        }
        let argv: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
        // SAFETY: argv points at NUL-terminated strings that outlive the call;
        // cmd_ln_parse_r copies what it keeps.
        let config = unsafe {
            ffi::cmd_ln_parse_r(
                std::ptr::null_mut(),
                ffi::ps_args(),
                argv.len() as i32,
                argv.as_ptr(),
                1,
            )
        };
        if config.is_null() {
            return Err(RecognizerError::BadConfig);
        }
        // SAFETY: config is a valid cmd_ln_t; ps_init takes its own reference, so we
        // release ours right after.
        let decoder = unsafe { ffi::ps_init(config) };
        unsafe { ffi::cmd_ln_free_r(config) };
        let ptr = NonNull::new(decoder)
            .ok_or_else(|| RecognizerError::InitFailed(paths.acoustic.clone()))?;
        let mut this = Self { ptr };
        if let Some(grammar) = jsgf {
            this.use_grammar(grammar)?;
        }
        Ok(this)
    }

    fn use_grammar(&mut self, jsgf: &str) -> Result<(), RecognizerError> {
        let grammar = CString::new(jsgf)?;
        // SAFETY: valid decoder and NUL-terminated strings.
        let rc = unsafe {
            ffi::ps_set_jsgf_string(self.ptr.as_ptr(), GRAMMAR_SEARCH.as_ptr(), grammar.as_ptr())
        };
        if rc < 0 {
            return Err(RecognizerError::BadGrammar);
        }
        let rc = unsafe { ffi::ps_set_search(self.ptr.as_ptr(), GRAMMAR_SEARCH.as_ptr()) };
        if rc < 0 {
            return Err(RecognizerError::BadGrammar);
        }
        Ok(())
    }

    /// Starts an utterance: audio fed from now on is decoded as part of it.
    pub fn start_utterance(&mut self) -> Result<(), RecognizerError> {
        let _library = library();
        // SAFETY: valid decoder.
        decoded(
            unsafe { ffi::ps_start_utt(self.ptr.as_ptr()) },
            "start of utterance",
        )
    }

    /// Decodes the next samples (16 kHz mono) of the current utterance.
    pub fn process(&mut self, samples: &[i16]) -> Result<(), RecognizerError> {
        let _library = library();
        // SAFETY: the slice is valid for `len` samples for the duration of the call.
        let rc = unsafe {
            ffi::ps_process_raw(self.ptr.as_ptr(), samples.as_ptr(), samples.len(), 0, 0)
        };
        decoded(rc, "audio processing")
    }

    /// Ends the current utterance, so [`hypothesis`](Self::hypothesis) gives its final text.
    pub fn end_utterance(&mut self) -> Result<(), RecognizerError> {
        let _library = library();
        // SAFETY: valid decoder.
        decoded(
            unsafe { ffi::ps_end_utt(self.ptr.as_ptr()) },
            "end of utterance",
        )
    }

    /// Whether the voice activity detector currently hears speech.
    pub fn in_speech(&self) -> bool {
        let _library = library();
        // SAFETY: valid decoder.
        unsafe { ffi::ps_get_in_speech(self.ptr.as_ptr()) != 0 }
    }

    /// The best hypothesis so far in this utterance, if any words were recognised.
    pub fn hypothesis(&self) -> Option<String> {
        let _library = library();
        let mut score = 0i32;
        // SAFETY: valid decoder; the returned string is owned by the decoder and
        // stays valid until the next decoder call, so we copy it at once.
        let hyp = unsafe { ffi::ps_get_hyp(self.ptr.as_ptr(), &mut score) };
        if hyp.is_null() {
            return None;
        }
        let text = unsafe { CStr::from_ptr(hyp) }
            .to_string_lossy()
            .trim()
            .to_owned();
        (!text.is_empty()).then_some(text)
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        let _library = library();
        // SAFETY: we own the only reference to the decoder.
        unsafe { ffi::ps_free(self.ptr.as_ptr()) };
    }
}

fn null_device() -> &'static str {
    if cfg!(windows) { "NUL" } else { "/dev/null" }
}

/// pocketsphinx's return code as a result: negative means `step` failed.
fn decoded(rc: std::ffi::c_int, step: &'static str) -> Result<(), RecognizerError> {
    if rc < 0 {
        Err(RecognizerError::Decode(step))
    } else {
        Ok(())
    }
}
