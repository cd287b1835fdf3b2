//! Which input devices a person may choose, and what to call them.
//!
//! ALSA lists every PCM plugin as a capture device: "Discard all samples…",
//! rate converters, JACK, OSS, channel mixers. A doctor who picks one records
//! silence or nothing at all. So on ALSA only the system default, the sound
//! servers and one entry per sound card (its `sysdefault`) are offered; other
//! hosts (WASAPI, Core Audio) list real endpoints and are offered as they are.
//! The list, the CLI's `devices` and `diagnose` all go through here.

/// Whether a device with this cpal id is offered to the person.
pub fn is_choosable(id: &str) -> bool {
    match id.strip_prefix("alsa:") {
        Some(pcm) => {
            matches!(pcm, "default" | "pulse" | "pipewire") || pcm.starts_with("sysdefault:CARD=")
        }
        None => true,
    }
}

/// A name a person recognises: the system default and the sound servers by
/// what they are, a card by the first line of its description.
pub fn human_name(id: &str, described: &str) -> String {
    match id.strip_prefix("alsa:") {
        Some("default") => "System default microphone".to_owned(),
        Some("pulse") => "Sound server (PulseAudio)".to_owned(),
        Some("pipewire") => "Sound server (PipeWire)".to_owned(),
        _ => {
            let first = described.lines().next().unwrap_or_default().trim();
            if first.is_empty() {
                id.to_owned()
            } else {
                first.to_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What cpal's ALSA host lists on a Debian machine with PulseAudio.
    const PLUGINS: [&str; 9] = [
        "alsa:null",
        "alsa:lavrate",
        "alsa:samplerate",
        "alsa:speexrate",
        "alsa:jack",
        "alsa:oss",
        "alsa:speex",
        "alsa:upmix",
        "alsa:vdownmix",
    ];

    #[test]
    fn alsa_plugins_are_hidden_and_real_choices_kept() {
        for plugin in PLUGINS {
            assert!(!is_choosable(plugin), "{plugin} is offered");
        }
        for raw in [
            "alsa:hw:CARD=PCH,DEV=0",
            "alsa:plughw:CARD=PCH,DEV=0",
            "alsa:dsnoop:CARD=PCH,DEV=0",
        ] {
            assert!(!is_choosable(raw), "{raw} duplicates its card's entry");
        }
        for kept in [
            "alsa:default",
            "alsa:pulse",
            "alsa:pipewire",
            "alsa:sysdefault:CARD=PCH",
        ] {
            assert!(is_choosable(kept), "{kept} is hidden");
        }
        assert!(
            is_choosable("wasapi:{0.0.1.00000000}.{a1b2}"),
            "other hosts list endpoints"
        );
    }

    #[test]
    fn names_say_what_a_device_is() {
        assert_eq!(
            human_name("alsa:default", "Default Audio Device"),
            "System default microphone"
        );
        assert_eq!(
            human_name(
                "alsa:sysdefault:CARD=PCH",
                "HDA Intel PCH, ALC257 Analog\nDefault Audio Device"
            ),
            "HDA Intel PCH, ALC257 Analog"
        );
        assert_eq!(
            human_name("coreaudio:42", "MacBook Pro Microphone"),
            "MacBook Pro Microphone"
        );
        assert_eq!(
            human_name("alsa:sysdefault:CARD=X", ""),
            "alsa:sysdefault:CARD=X"
        );
    }
}
