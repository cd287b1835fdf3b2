//! `diagnose` and `config`: what IT checks.

use std::time::Duration;

use consult_recorder::app::{App, AppOptions};
use consult_recorder::auth::Keychain;
use consult_recorder::config::{ConfigSources, Key, Origin, Resolved};
use consult_recorder::paths::AppDirs;
use consult_recorder::session::SenderOptions;

use crate::failure::Failure;

/// `diagnose`: every area a recording needs; the exit code names the first failing one.
pub async fn diagnose(
    dirs: AppDirs,
    keychain: Keychain,
    sources: ConfigSources,
    json: bool,
    listen: f64,
) -> Result<(), Failure> {
    let app = App::open(AppOptions {
        dirs,
        keychain,
        config: sources,
        sender: SenderOptions::default(),
    })
    .map_err(|e| Failure {
        code: 8,
        message: e.to_string(),
    })?;
    let listen = Duration::from_secs_f64(listen.clamp(0.0, 60.0));
    let report = app.diagnose(listen).await;
    print!("{}", report.printable(json));
    match report.exit_code {
        0 => Ok(()),
        code => Err(Failure {
            code,
            message: "diagnose found a problem (see above)".into(),
        }),
    }
}

/// `config`: the configuration in force, where each value comes from.
pub fn config(config: &Resolved, json: bool) -> Result<(), Failure> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&config).expect("the configuration serialises")
        );
    } else {
        print!("{}", describe_config(config));
    }
    Ok(())
}

/// The configuration in force as lines of `key = value  (from …)`.
fn describe_config(config: &Resolved) -> String {
    let mut out = format!(
        "system file: {}{}\n",
        config.system_file,
        if config.system_file_found {
            ""
        } else {
            " (not present)"
        }
    );
    let values = [
        (Key::Server, config.server.clone()),
        (Key::Profile, Some(config.profile.as_str().to_owned())),
        (Key::Language, config.language.clone()),
        (Key::GlobalShortcut, config.global_shortcut.clone()),
        (Key::LogLevel, Some(config.log_level.as_str().to_owned())),
    ];
    for (key, value) in values {
        out.push_str(&format!(
            "{key} = {}  (from {}{})\n",
            value.as_deref().unwrap_or("(not set)"),
            config.origins.get(&key).cloned().unwrap_or(Origin::Default),
            if config.is_locked(key) {
                ", locked"
            } else {
                ""
            }
        ));
    }
    for problem in &config.problems {
        out.push_str(&format!("ignored: {problem}\n"));
    }
    out
}
