use std::path::Path;

use super::*;

const FILE: &str = "/etc/consult-recorder/config.toml";

fn system(text: &str) -> ConfigSources {
    ConfigSources {
        system: SystemFile::parse(Path::new(FILE), text),
        ..ConfigSources::none()
    }
}

#[test]
fn later_layers_win_unless_the_key_is_locked() {
    let mut sources = system(
        "server = \"https://t.clinic.example\"\nprofile = \"seed\"\nlanguage = \"en-GB\"\n\
         locked = [\"server\", \"profile\"]\n",
    );
    sources.read_environment(|name| match name {
        "CONSULT_SERVER" => Some("https://elsewhere.example".into()),
        "CONSULT_LANGUAGE" => Some("de-DE".into()),
        _ => None,
    });
    let user = UserSettings {
        profile: Some(Profile::V1),
        language: Some("fr-FR".into()),
        ..UserSettings::default()
    };
    let resolved = sources.resolve(&user);
    assert_eq!(resolved.server.as_deref(), Some("https://t.clinic.example"));
    assert_eq!(resolved.profile, Profile::Seed);
    assert_eq!(resolved.language.as_deref(), Some("de-DE"));
    assert_eq!(resolved.origins[&Key::Server], Origin::System(FILE.into()));
    assert_eq!(
        resolved.origins[&Key::Language],
        Origin::Environment("CONSULT_LANGUAGE".into())
    );
    assert_eq!(resolved.origins[&Key::LogLevel], Origin::Default);
    // The overridden locked values are reported, each naming who tried.
    let ignored: Vec<String> = resolved.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(ignored.len(), 2, "{ignored:?}");
    assert!(ignored[0].starts_with("environment variable CONSULT_SERVER, key \"server\": ignored"));
    assert!(ignored[1].starts_with("your settings, key \"profile\": ignored"));
}

#[test]
fn the_user_layer_sits_between_the_system_file_and_the_environment() {
    let sources = system("language = \"en-GB\"\nprofile = \"seed\"\n");
    let user = UserSettings {
        language: Some("cy-GB".into()),
        ..UserSettings::default()
    };
    let resolved = sources.resolve(&user);
    assert_eq!(resolved.language.as_deref(), Some("cy-GB"));
    assert_eq!(resolved.origins[&Key::Language], Origin::User);
    assert_eq!(resolved.profile, Profile::Seed);
    assert!(resolved.problems.is_empty(), "{:?}", resolved.problems);
}

#[test]
fn each_bad_key_is_ignored_with_its_file_line_and_name() {
    let sources = system(
        "# clinic settings\nserver = \"http://t.clinic.example\"\nprofile = \"v2\"\n\
         language = \"en-GB\"\ncolour = \"blue\"\nlog_level = 3\nlocked = [\"language\", \"nope\", \"server\"]\n",
    );
    let resolved = sources.resolve(&UserSettings::default());
    let said: Vec<String> = resolved.problems.iter().map(|p| p.to_string()).collect();
    let expect = [
        (2, "server", "unencrypted"),
        (3, "profile", "\"v2\" is not a profile"),
        (5, "colour", "unknown key"),
        (6, "log_level", "expected a string, found integer"),
        (7, "locked", "\"nope\" is not a key"),
        (7, "locked", "\"server\" has no valid value"),
    ];
    assert_eq!(said.len(), expect.len(), "{said:#?}");
    for (problem, (line, key, words)) in resolved.problems.iter().zip(expect) {
        assert_eq!(problem.source, FILE);
        assert_eq!(problem.line, Some(line), "{problem}");
        assert_eq!(problem.key.as_deref(), Some(key), "{problem}");
        assert!(problem.message.contains(words), "{problem}");
    }
    // What was valid still applies, and safe defaults fill the rest.
    assert_eq!(resolved.language.as_deref(), Some("en-GB"));
    assert!(resolved.is_locked(Key::Language));
    assert_eq!(resolved.server, None);
    assert_eq!(resolved.profile, Profile::V1);
}

#[test]
fn a_file_that_is_not_toml_is_ignored_whole_naming_the_line() {
    let sources = system("server = \"https://t.clinic.example\"\nprofile = v1\n");
    let resolved = sources.resolve(&UserSettings::default());
    assert_eq!(resolved.problems.len(), 1);
    let problem = &resolved.problems[0];
    assert_eq!(problem.line, Some(2), "{problem}");
    assert!(problem.message.contains("not valid TOML"), "{problem}");
    assert_eq!(resolved.server, None);
    assert!(resolved.system_file_found);
}

#[test]
fn a_flag_cannot_change_a_locked_key_but_may_repeat_it() {
    let mut sources = system("server = \"https://t.clinic.example\"\nlocked = [\"server\"]\n");
    let refused = sources
        .set_from_flag(Key::Server, "--server", "https://other.example")
        .unwrap_err();
    assert!(matches!(refused, FlagRefused::Locked(_)), "{refused:?}");
    let refused = refused.to_string();
    assert!(refused.contains("IT administrator"), "{refused}");
    assert!(refused.contains(FILE), "{refused}");
    assert!(refused.contains("--server"), "{refused}");
    sources
        .set_from_flag(Key::Server, "--server", "https://t.clinic.example/")
        .unwrap();
    sources
        .set_from_flag(Key::Profile, "--profile", "seed")
        .unwrap();
    let resolved = sources.resolve(&UserSettings::default());
    assert_eq!(resolved.profile, Profile::Seed);
    assert_eq!(
        resolved.origins[&Key::Profile],
        Origin::CommandLine("--profile".into())
    );
}

#[test]
fn bad_environment_values_are_ignored_and_named() {
    let mut sources = ConfigSources::none();
    sources.read_environment(|name| (name == "CONSULT_PROFILE").then(|| "fast".into()));
    let resolved = sources.resolve(&UserSettings::default());
    assert_eq!(resolved.profile, Profile::V1);
    assert_eq!(resolved.problems.len(), 1);
    assert_eq!(resolved.problems[0].source, "CONSULT_PROFILE");
}

#[test]
fn the_person_cannot_change_a_locked_key_from_the_app() {
    let sources = system("language = \"en-GB\"\nlocked = [\"language\"]\n");
    let resolved = sources.resolve(&UserSettings::default());
    let change = UserSettings {
        language: Some("fr-FR".into()),
        ..UserSettings::default()
    };
    let refused = check_user_change(&resolved, &change).unwrap_err();
    assert_eq!(refused, LockedByIt(Key::Language));
    let refused = refused.to_string();
    assert!(refused.contains("recognition language"), "{refused}");
    let same = UserSettings {
        language: Some("en-GB".into()),
        microphone: Some("alsa:hw:1".into()),
        ..UserSettings::default()
    };
    assert_eq!(check_user_change(&resolved, &same), Ok(()));
}

#[test]
fn retention_is_set_in_days_locked_by_it_and_checked() {
    let mut sources = system(
        "audio_retention_days = 0\ntranscript_retention_days = \"14\"\n\
         locked = [\"audio_retention_days\"]\n",
    );
    sources.read_environment(|name| match name {
        "CONSULT_AUDIO_RETENTION_DAYS" => Some("365".into()),
        "CONSULT_TRANSCRIPT_RETENTION_DAYS" => Some("60".into()),
        _ => None,
    });
    let resolved = sources.resolve(&UserSettings::default());
    assert_eq!(resolved.audio_retention_days, 0, "IT's lock holds");
    assert_eq!(
        resolved.transcript_retention_days, 60,
        "not locked: the environment wins"
    );
    assert!(
        resolved.problems[0]
            .to_string()
            .starts_with("environment variable CONSULT_AUDIO_RETENTION_DAYS, key \"audio_retention_days\": ignored"),
        "{:?}",
        resolved.problems
    );

    let defaults = system("").resolve(&UserSettings::default());
    assert_eq!(
        (
            defaults.audio_retention_days,
            defaults.transcript_retention_days
        ),
        (
            DEFAULT_AUDIO_RETENTION_DAYS,
            DEFAULT_TRANSCRIPT_RETENTION_DAYS
        )
    );

    let bad = system("server = \"https://t.clinic.example\"\naudio_retention_days = -3\n");
    let problem = bad.resolve(&UserSettings::default()).problems[0].to_string();
    assert!(
        problem.contains("line 2")
            && problem.contains("audio_retention_days")
            && problem.contains("number of days"),
        "{problem}"
    );
    assert_eq!(
        bad.resolve(&UserSettings::default()).audio_retention_days,
        DEFAULT_AUDIO_RETENTION_DAYS
    );
}

#[test]
fn the_seed_pace_is_a_checked_multiple_of_real_time() {
    let defaults = system("").resolve(&UserSettings::default());
    assert_eq!(
        defaults.seed_pace.as_f64(),
        1.0,
        "real time unless IT says otherwise"
    );
    let set = system("seed_pace = 0.5\n").resolve(&UserSettings::default());
    assert_eq!(set.seed_pace.as_f64(), 0.5);
    assert_eq!(set.value(Key::SeedPace).as_deref(), Some("0.5"));
    let whole = system("seed_pace = 2\n").resolve(&UserSettings::default());
    assert_eq!(whole.seed_pace.as_f64(), 2.0);
    for bad in [
        "seed_pace = 0\n",
        "seed_pace = \"fast\"\n",
        "seed_pace = 1000\n",
    ] {
        let resolved = system(bad).resolve(&UserSettings::default());
        assert_eq!(resolved.seed_pace.as_f64(), 1.0, "{bad}: ignored");
        let problem = resolved.problems[0].to_string();
        assert!(
            problem.contains("seed_pace") && problem.contains("real time"),
            "{problem}"
        );
    }
}

#[test]
fn a_hand_edited_settings_file_with_bad_values_is_reported_and_ignored_never_a_panic() {
    let edited = UserSettings {
        microphone: None,
        language: Some("en_GB; rm -rf /".into()),
        profile: None,
        global_shortcut: Some("Ctrl+Shift+R".repeat(20)),
    };
    let resolved = system("language = \"fr-FR\"\n").resolve(&edited);
    assert_eq!(
        resolved.language.as_deref(),
        Some("fr-FR"),
        "the layer below stands"
    );
    assert_eq!(resolved.global_shortcut, None);
    let said: Vec<String> = resolved.problems.iter().map(ToString::to_string).collect();
    for key in ["language", "global_shortcut"] {
        assert!(
            said.iter()
                .any(|p| p.contains("your settings") && p.contains(key) && p.contains("ignored")),
            "{key}: {said:?}"
        );
    }
}

#[test]
fn the_server_profile_table_names_the_clinics_backend_over_the_seed_defaults() {
    let resolved = system(
        "profile = \"seed\"\n\
         [server_profile]\n\
         login_path = \"/auth/token\"\n\
         access_token_field = \"data.accessToken\"\n\
         token_transport = \"first_message\"\n\
         language_query_param = \"language_code\"\n\
         extra_query = { model = \"medical\" }\n\
         origin = \"https://emr.clinic.example\"\n\
         greeting_field = \"\"\n\
         transcript_text_field = \"payload.words\"\n\
         transcript_final_field = \"payload.done\"\n",
    )
    .resolve(&UserSettings::default());
    assert!(resolved.problems.is_empty(), "{:?}", resolved.problems);
    let profile = &resolved.server_profile;
    assert_eq!(profile.auth.login_path, "/auth/token");
    assert_eq!(
        profile.auth.refresh_path,
        consult_protocol::auth::REFRESH_PATH,
        "what the file leaves out stays the seed's"
    );
    assert_eq!(
        profile.auth.access_token_field.to_string(),
        "data.accessToken"
    );
    assert_eq!(
        profile.stream.token_transport,
        crate::server_profile::TokenTransport::FirstMessage
    );
    assert_eq!(
        profile.stream.language_query_param.as_deref(),
        Some("language_code")
    );
    assert_eq!(
        profile.stream.extra_query,
        vec![("model".to_owned(), "medical".to_owned())]
    );
    assert_eq!(
        profile.stream.origin.as_deref(),
        Some("https://emr.clinic.example")
    );
    assert_eq!(
        profile.stream.greeting, None,
        "a server that does not greet"
    );
}

#[test]
fn a_bad_server_profile_key_is_named_by_line_and_the_default_kept() {
    let resolved = system(
        "[server_profile]\n\
         stream_path = \"ws/no-slash\"\n\
         token_transport = \"carrier pigeon\"\n\
         colour = \"blue\"\n\
         transcript_text_field = \"payload.words\"\n",
    )
    .resolve(&UserSettings::default());
    let profile = &resolved.server_profile;
    assert_eq!(profile.stream.path, consult_protocol::seed::STREAM_PATH);
    assert_eq!(
        profile.stream.token_transport,
        crate::server_profile::TokenTransport::Query
    );
    let named: Vec<_> = resolved
        .problems
        .iter()
        .map(|p| (p.line, p.key.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        named,
        vec![
            (Some(2), "server_profile.stream_path".to_owned()),
            (Some(3), "server_profile.token_transport".to_owned()),
            (Some(4), "server_profile.colour".to_owned()),
            (Some(5), "server_profile.transcript_text_field".to_owned()),
        ]
    );
    assert!(resolved.problems[1].message.contains("first_message"));
}

#[test]
fn the_documented_seed_example_reads_cleanly_and_is_the_default() {
    let doc = include_str!("../../../../docs/deployment.md");
    let after = doc
        .split_once("A complete file for the seed backend")
        .expect("deployment.md has the seed example")
        .1;
    let example = after
        .split_once("```toml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a toml block")
        .0;
    let resolved = system(example).resolve(&UserSettings::default());
    assert!(resolved.problems.is_empty(), "{:?}", resolved.problems);
    assert_eq!(
        resolved.server_profile,
        crate::server_profile::ServerProfile::default()
    );
}

#[test]
fn the_create_session_call_is_read_whole_and_half_of_it_is_refused() {
    let resolved = system(
        "[server_profile]\n\
         create_session_path = \"/api/v1/consultations\"\n\
         create_session_method = \"put\"\n\
         create_session_body = '{\"patient_ref\": \"{reference}\", \"language_code\": \"{language}\"}'\n\
         create_session_id_field = \"data.consultationId\"\n",
    )
    .resolve(&UserSettings::default());
    assert!(resolved.problems.is_empty(), "{:?}", resolved.problems);
    let create = resolved
        .server_profile
        .create_session
        .expect("the call is configured");
    assert_eq!(create.path, "/api/v1/consultations");
    assert_eq!(create.method, crate::server_profile::CreateMethod::Put);
    assert_eq!(create.id_field.to_string(), "data.consultationId");
    assert_eq!(
        create.body_for("Room 3", Some("hi-IN")),
        serde_json::json!({"patient_ref": "Room 3", "language_code": "hi-IN"})
    );

    let half = system(
        "[server_profile]\n\
         create_session_id_field = \"id\"\n\
         create_session_body = 'not json'\n",
    )
    .resolve(&UserSettings::default());
    assert_eq!(half.server_profile.create_session, None);
    let said: Vec<_> = half
        .problems
        .iter()
        .map(|p| (p.line, p.message.clone()))
        .collect();
    assert_eq!(said.len(), 2, "{said:?}");
    assert_eq!(said[0].0, Some(2));
    assert!(said[0].1.contains("need create_session_path"), "{said:?}");
    assert_eq!(said[1].0, Some(3));
    assert!(said[1].1.contains("not JSON"), "{said:?}");
}
