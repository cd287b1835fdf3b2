//! The sound library's own messages go to our log, not to the terminal.
//!
//! alsa-lib prints lines such as `ALSA lib pcm.c:2666:(snd_pcm_open_noupdate)
//! Unknown PCM default` to stderr while cpal lists or opens devices; on a
//! computer without a sound card, `diagnose` printed eight of them around its
//! own clear report. alsa-lib lets a thread take its messages instead
//! (`snd_lib_error_set_local`), which the `alsa` crate wraps safely.

/// Runs `work` with the sound library's messages on this thread kept from
/// stderr; they are logged at debug level afterwards.
pub fn quietly<T>(work: impl FnOnce() -> T) -> T {
    #[cfg(target_os = "linux")]
    {
        // Installing a fresh buffer also drops what an earlier call left.
        let buffer = alsa::Output::local_error_handler().ok();
        let result = work();
        if let Some(buffer) = buffer {
            let text = buffer.borrow().to_string();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                tracing::debug!(target: "consult_recorder::audio::alsa", "{line}");
            }
        }
        result
    }
    #[cfg(not(target_os = "linux"))]
    {
        work()
    }
}
