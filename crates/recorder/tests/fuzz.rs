//! Fuzz targets as property tests: everything the recorder reads from outside
//! — server messages, spool files, the administrator's configuration, access
//! tokens — fed hostile input. Nothing may panic, and where the input was
//! derived from something valid, what comes out must still be right.
//!
//! The toolchain here is stable Rust, where cargo-fuzz's sanitiser flags are
//! refused, so these run under proptest; `bash scripts/fuzz.sh MINUTES` runs
//! them with fresh seeds until the time is up. A failing case is shrunk and
//! kept in `fuzz.proptest-regressions` beside this file, and replayed first
//! on every later run.

use std::path::Path;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use consult_recorder::auth::Secret;
use consult_recorder::auth::read_times;
use consult_recorder::config::SystemFile;
use consult_recorder::crypto::DataKey;
use consult_recorder::protocol::{seed, v1};
use consult_recorder::spool::{SpoolWriter, recover};
use proptest::prelude::*;

fn key() -> &'static DataKey {
    static KEY: OnceLock<DataKey> = OnceLock::new();
    KEY.get_or_init(DataKey::generate)
}

/// Distinct samples so a misplaced byte shows.
fn pcm(from: u64, samples: u64) -> Vec<u8> {
    (from..from + samples)
        .flat_map(|i| ((i.wrapping_mul(2_654_435_761) >> 5) as i16).to_le_bytes())
        .collect()
}

/// JSON values shaped like server messages: the known types with fields of
/// any JSON type, plus arbitrary nesting.
fn json_like() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "[a-z_]{0,12}".prop_map(serde_json::Value::from),
        prop_oneof![
            Just("ready"),
            Just("ack"),
            Just("transcript"),
            Just("reauth_ok"),
            Just("done"),
            Just("connected")
        ]
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_string()),
                    Just("status".to_string()),
                    Just("text".to_string()),
                    Just("is_final".to_string()),
                    Just("start".to_string()),
                    Just("end".to_string()),
                    Just("durable_offset".to_string()),
                    "[a-z_]{1,10}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    /// Server messages: any text, and JSON of the right shape with wrong
    /// parts, is either understood or refused with a reason — never a panic;
    /// a message the client understood reads the same after a round trip.
    #[test]
    fn server_messages_never_panic(text in any::<String>(), value in json_like()) {
        let _ = v1::parse_server_message(&text);
        let _ = seed::parse_server_message(&text);
        let json = value.to_string();
        if let Ok(v1::Incoming::Message(message)) = v1::parse_server_message(&json) {
            let again = serde_json::to_string(&message).unwrap();
            prop_assert_eq!(
                v1::parse_server_message(&again).unwrap(),
                v1::Incoming::Message(message)
            );
        }
        let _ = seed::parse_server_message(&json);
    }

    /// Spool files: a valid spool damaged anywhere — bytes flipped, cut
    /// short, garbage spliced in — opens without a panic, reports its holes
    /// consistently, and every sample it still returns as audio is exactly
    /// what was recorded there (no garbage, no shifted audio).
    #[test]
    fn a_damaged_spool_returns_only_true_audio(
        frames in prop::collection::vec(1u64..=800, 1..40),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..6),
        splice in prop::option::of((any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 1..200))),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fuzzed.spool");
        let mut end = 0;
        {
            let (mut writer, _) = SpoolWriter::open(&path, key()).unwrap();
            for samples in &frames {
                writer.append(end, &pcm(end, *samples)).unwrap();
                end += samples;
            }
        }
        let mut bytes = std::fs::read(&path).unwrap();
        for (at, xor) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= xor;
        }
        if let Some((at, garbage)) = &splice {
            let i = at.index(bytes.len());
            bytes.splice(i..i, garbage.iter().copied());
        }
        if let Some(at) = cut {
            bytes.truncate(at.index(bytes.len()));
        }
        std::fs::write(&path, &bytes).unwrap();

        let (writer, recovered) = SpoolWriter::open(&path, key()).unwrap();
        prop_assert!(recovered.end <= end);
        let mut previous = 0;
        for hole in &recovered.lost {
            prop_assert!(hole.start >= previous && hole.start < hole.end && hole.end <= recovered.end,
                "holes sorted, disjoint, inside the spool: {:?}", recovered.lost);
            previous = hole.end;
        }
        let mut reader = writer.reader().unwrap();
        let mut at = 0;
        while at < recovered.end {
            let mut out = Vec::new();
            let read = reader.read(at, 1_000, &mut out).unwrap();
            prop_assert!(read.samples > 0, "progress at {}", at);
            if read.damaged {
                prop_assert!(out.iter().all(|b| *b == 0));
                prop_assert!(recovered.lost.iter().any(|h| h.contains(&at)));
            } else {
                prop_assert_eq!(&out, &pcm(at, read.samples), "audio at {}", at);
            }
            at += read.samples;
        }
    }

    /// Any bytes at all as a spool file: recovery without and with the key
    /// never panics and never claims audio it cannot return.
    #[test]
    fn arbitrary_bytes_are_no_spool(bytes in prop::collection::vec(any::<u8>(), 0..4_000)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("noise.spool");
        std::fs::write(&path, &bytes).unwrap();
        let found = recover(&path, None).unwrap();
        prop_assert_eq!(found.end, 0, "a forged record needs a matching CRC and tag");
        let (_, recovered) = SpoolWriter::open(&path, key()).unwrap();
        prop_assert_eq!(recovered.end, 0);
    }

    /// The administrator's file: any text is read without a panic; every
    /// problem names the file and a line that exists.
    #[test]
    fn any_system_config_is_read_or_explained(
        lines in prop::collection::vec(prop_oneof![
            "[a-z_]{1,16} = \"[ -~]{0,30}\"",
            "locked = \\[(\"[a-z_]{1,12}\", ){0,3}\\]",
            "\\[[a-z]{1,8}\\]",
            "[ -~]{0,40}",
            Just("server = \"https://t.clinic.example\"".to_string()),
            Just("profile = 42".to_string()),
        ], 0..12)
    ) {
        let text = lines.join("\n");
        let path = Path::new("/etc/consult-recorder/config.toml");
        let file = SystemFile::parse(path, &text);
        // Lines as an editor counts them: an error at the very end of a file
        // that ends in a newline is on the (empty) last line.
        let count = text.split('\n').count();
        for problem in &file.problems {
            let shown = problem.to_string();
            prop_assert!(shown.contains("config.toml"), "{}", shown);
            if let Some(line) = problem.line {
                prop_assert!(line >= 1 && line as usize <= count, "line {} of {}: {}", line, count, shown);
            }
        }
    }

    /// Access tokens: any string, and three base64 parts around any JSON,
    /// either give times that make sense or a reason — never a panic.
    #[test]
    fn any_access_token_is_read_or_refused(raw in any::<String>(), claims in json_like()) {
        let _ = read_times(&Secret::new(raw));
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let token = Secret::new(format!("{header}.{body}.c2ln"));
        if let Ok(times) = read_times(&token) {
            prop_assert!(times.exp > 0);
            prop_assert!(times.iat.is_none_or(|iat| iat <= times.exp));
        }
    }
}
