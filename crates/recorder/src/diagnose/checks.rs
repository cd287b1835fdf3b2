//! The checks themselves, each one short and independent: one failing never
//! stops the others.

use std::path::Path;
use std::time::Duration;

use super::{Area, Check, Outcome, Report, check};
use crate::account::RememberedAccount;
use crate::audio::{AudioSource, MicSource};
use crate::auth::{AuthState, EntryKey, Keychain, Secret};
use crate::config::Resolved;
use crate::paths::AppDirs;
use crate::store::{Profile, Store};

/// What is known about the sign-in.
#[derive(Debug, Clone)]
pub enum SignInFacts {
    /// A running app's token manager (knows the access token's expiry).
    Live(AuthState),
    /// Only what is on disk: the remembered account, if any; its refresh
    /// token is looked for in the keychain but not used (using it would
    /// rotate it under a running app's feet).
    Remembered(Option<RememberedAccount>),
}

/// What the checks look at.
pub struct Inputs<'a> {
    /// The app's folders (the spool folder and free space are checked).
    pub dirs: &'a AppDirs,
    /// The keychain to probe, and to look for the saved sign-in in.
    pub keychain: &'a Keychain,
    /// The configuration in force, with its problems.
    pub config: &'a Resolved,
    /// The session store (the history is read; spool files are looked for).
    pub store: &'a Store,
    /// What is known about the sign-in.
    pub sign_in: SignInFacts,
    /// The microphone chosen in the settings (else the system's default).
    pub microphone: Option<String>,
    /// How long to listen to the microphone; zero skips the level check.
    pub listen: Duration,
}

/// Runs every check.
pub async fn run(inputs: Inputs<'_>) -> Report {
    let mut checks = configuration(inputs.config);
    checks.extend(storage(inputs.dirs, inputs.store));
    checks.extend(keychain(inputs.keychain).await);
    let server = match &inputs.sign_in {
        SignInFacts::Remembered(Some(remembered)) => Some(remembered.server.clone()),
        _ => None,
    }
    .or_else(|| inputs.config.server.clone());
    match &server {
        Some(server) => {
            checks.extend(
                super::network::checks(
                    server,
                    inputs.config.profile,
                    &inputs.config.server_profile,
                )
                .await,
            );
        }
        None => checks.push(check(
            Area::Server,
            "address",
            Outcome::Failed,
            "no server is configured and nobody has signed in: set `server` in the \
             system configuration file",
        )),
    }
    if inputs.config.profile == Profile::Seed {
        checks.push(check(
            Area::Server,
            "protocol",
            Outcome::Warning,
            "the seed profile puts the access token in the WebSocket URL, where proxies and \
             server logs can record it; use the v1 profile when the server offers it",
        ));
    }
    checks.extend(sign_in(&inputs.sign_in, inputs.keychain).await);
    checks.extend(microphone(inputs.microphone, inputs.listen).await);
    checks.push(keep_awake().await);
    Report::new(checks)
}

fn configuration(config: &Resolved) -> Vec<Check> {
    let area = Area::Configuration;
    let mut checks = vec![check(
        area,
        "system file",
        Outcome::Ok,
        if config.system_file_found {
            format!("{} (read)", config.system_file)
        } else {
            format!("{} (not present: built-in defaults)", config.system_file)
        },
    )];
    for (key, origin) in &config.origins {
        let value = config.value(*key);
        let locked = if config.is_locked(*key) {
            ", locked"
        } else {
            ""
        };
        checks.push(check(
            area,
            key.name(),
            Outcome::Ok,
            format!(
                "{} (from {origin}{locked})",
                value.as_deref().unwrap_or("(not set)")
            ),
        ));
    }
    for problem in &config.problems {
        checks.push(check(area, "ignored", Outcome::Failed, problem.to_string()));
    }
    checks
}

fn storage(dirs: &AppDirs, store: &Store) -> Vec<Check> {
    let area = Area::Storage;
    let mut checks = Vec::new();
    let spool = dirs.spool();
    checks.push(match probe_write(&spool) {
        Ok(()) => check(
            area,
            "spool folder",
            Outcome::Ok,
            format!("{} (writable)", spool.display()),
        ),
        Err(e) => check(
            area,
            "spool folder",
            Outcome::Failed,
            format!("{}: {e}", spool.display()),
        ),
    });
    if let Some(free) = crate::os::free_bytes(&dirs.data) {
        {
            // One hour of audio is 115 MB; below that, warn.
            let hours = free as f64 / (consult_protocol::SAMPLE_RATE as f64 * 2.0 * 3600.0);
            let outcome = if hours < 1.0 {
                Outcome::Warning
            } else {
                Outcome::Ok
            };
            checks.push(check(
                area,
                "free space",
                outcome,
                format!(
                    "{:.1} GB (room for about {hours:.0} hours of audio)",
                    free as f64 / 1e9
                ),
            ));
        }
    }
    match store.list() {
        Ok(sessions) => {
            let pending: Vec<_> = sessions
                .iter()
                .filter(|s| s.pending_samples() > 0)
                .collect();
            let pending_secs = pending.iter().fold(0.0, |total, s| {
                total + consult_protocol::samples_to_secs(s.pending_samples())
            });
            let missing = pending
                .iter()
                .filter(|s| !crate::session::spool_path(&spool, &s.id).exists())
                .count();
            checks.push(check(
                area,
                "sessions",
                Outcome::Ok,
                format!(
                    "{} on this computer; {} with audio not yet confirmed by the server ({pending_secs:.0} s)",
                    sessions.len(),
                    pending.len()
                ),
            ));
            if missing > 0 {
                checks.push(check(
                    area,
                    "spool files",
                    Outcome::Failed,
                    format!("{missing} session(s) with unconfirmed audio have no spool file"),
                ));
            }
        }
        Err(e) => checks.push(check(area, "history", Outcome::Failed, e.to_string())),
    }
    checks
}

fn probe_write(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".diagnose-{}", std::process::id()));
    std::fs::write(&probe, b"probe")?;
    std::fs::remove_file(&probe)
}

async fn keychain(keychain: &Keychain) -> Vec<Check> {
    let area = Area::Keychain;
    let key = EntryKey {
        service: "consult-recorder diagnostics".into(),
        account: format!("probe-{}", std::process::id()),
    };
    let probe = Secret::new(uuid::Uuid::new_v4().to_string());
    let backend = format!("{:?}", keychain.backend());
    let result = async {
        keychain
            .store(&key, &probe)
            .await
            .map_err(|e| ("write", e.to_string()))?;
        let read = keychain
            .load(&key)
            .await
            .map_err(|e| ("read", e.to_string()))?;
        let deleted = keychain
            .delete(&key)
            .await
            .map_err(|e| ("delete", e.to_string()))?;
        match read {
            Some(back) if back.expose() == probe.expose() && deleted => Ok(()),
            Some(_) => Err(("read", "the entry read back differs".to_owned())),
            None => Err(("read", "the entry just written is missing".to_owned())),
        }
    }
    .await;
    vec![match result {
        Ok(()) => check(
            area,
            "probe entry",
            Outcome::Ok,
            format!("{backend}: write, read and delete work"),
        ),
        Err((step, e)) => check(
            area,
            "probe entry",
            Outcome::Failed,
            format!("{backend}: {step} failed: {e}"),
        ),
    }]
}

async fn sign_in(facts: &SignInFacts, keychain: &Keychain) -> Vec<Check> {
    let area = Area::SignIn;
    let now = crate::clock::unix_secs();
    vec![match facts {
        SignInFacts::Live(AuthState::SignedIn {
            account,
            access_expires_at,
            clock_skew_secs,
        }) => check(
            area,
            "state",
            Outcome::Ok,
            format!(
                "signed in as {account}; access token valid for {} more minute(s) (renewed before it ends); server clock minus ours {clock_skew_secs} s",
                access_expires_at.saturating_sub(now) / 60
            ),
        ),
        SignInFacts::Live(AuthState::SignInRequired { account, reason }) => check(
            area,
            "state",
            Outcome::Failed,
            format!("{account} must sign in again: {reason}"),
        ),
        SignInFacts::Live(AuthState::SignedOut) | SignInFacts::Remembered(None) => check(
            area,
            "state",
            Outcome::Warning,
            "nobody is signed in on this computer",
        ),
        SignInFacts::Remembered(Some(remembered)) => {
            let key = EntryKey::refresh_token(&remembered.server, &remembered.account);
            match keychain.load(&key).await {
                Ok(Some(_)) => check(
                    area,
                    "state",
                    Outcome::Ok,
                    format!(
                        "{} at {}; a saved sign-in is in the keychain",
                        remembered.account, remembered.server
                    ),
                ),
                Ok(None) => check(
                    area,
                    "state",
                    Outcome::Failed,
                    format!(
                        "{} at {}: the keychain holds no saved sign-in; sign in again",
                        remembered.account, remembered.server
                    ),
                ),
                Err(e) => check(area, "state", Outcome::Failed, e.to_string()),
            }
        }
    }]
}

async fn microphone(chosen: Option<String>, listen: Duration) -> Vec<Check> {
    let area = Area::Microphone;
    let mut checks = Vec::new();
    match tokio::task::spawn_blocking(crate::audio::input_devices).await {
        Ok(Ok(devices)) if devices.is_empty() => {
            checks.push(check(
                area,
                "devices",
                Outcome::Failed,
                "no microphone found",
            ));
            return checks;
        }
        Ok(Ok(devices)) => {
            let default = devices
                .iter()
                .find(|d| d.is_default)
                .map_or("none", |d| d.name.as_str());
            let chosen = match &chosen {
                Some(id) => match devices.iter().find(|d| &d.id == id) {
                    Some(d) => format!("; chosen: {}", d.name),
                    None => format!("; the chosen one ({id}) is missing, the default is used"),
                },
                None => String::new(),
            };
            checks.push(check(
                area,
                "devices",
                Outcome::Ok,
                format!("{} found; default: {default}{chosen}", devices.len()),
            ));
        }
        Ok(Err(e)) => {
            checks.push(check(area, "devices", Outcome::Failed, e.to_string()));
            return checks;
        }
        Err(e) => {
            checks.push(check(area, "devices", Outcome::Failed, e.to_string()));
            return checks;
        }
    }
    if listen.is_zero() {
        return checks;
    }
    checks.push(listen_check(chosen, listen).await);
    checks
}

/// Takes the hold a recording takes on sleep and releases it at once.
async fn keep_awake() -> Check {
    let probe = tokio::task::spawn_blocking(|| {
        crate::keep_awake::hold("Checking that Consult Recorder can keep this computer awake")
            .map(|hold| hold.backend())
    })
    .await;
    match probe {
        Ok(Ok(backend)) => check(
            Area::Power,
            "sleep while recording",
            Outcome::Ok,
            format!("blocked while a recording runs ({backend}; a hold was taken and released)"),
        ),
        Ok(Err(err)) => check(
            Area::Power,
            "sleep while recording",
            Outcome::Warning,
            format!("{err}: the computer may go to sleep during a recording"),
        ),
        Err(err) => check(
            Area::Power,
            "sleep while recording",
            Outcome::Warning,
            err.to_string(),
        ),
    }
}

/// Listens for `listen` and reports the loudest sample.
async fn listen_check(chosen: Option<String>, listen: Duration) -> Check {
    let area = Area::Microphone;
    let opened = tokio::task::spawn_blocking(move || MicSource::open(chosen.as_deref())).await;
    let mut mic = match opened {
        Ok(Ok(mic)) => mic,
        Ok(Err(e)) => return check(area, "level", Outcome::Failed, e.to_string()),
        Err(e) => return check(area, "level", Outcome::Failed, e.to_string()),
    };
    let name = mic.device.name.clone();
    let wanted = (listen.as_secs_f64() * consult_protocol::SAMPLE_RATE as f64) as u64;
    let mut heard = 0u64;
    let mut peak = 0i32;
    let reading = async {
        while heard < wanted {
            match mic.next_frame().await {
                Ok(Some(frame)) => {
                    heard += frame.samples();
                    for pair in frame.pcm.chunks_exact(2) {
                        peak = peak.max(i32::from(i16::from_le_bytes([pair[0], pair[1]])).abs());
                    }
                }
                Ok(None) => break,
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    };
    // The device gets three times the listening time to start delivering.
    let outcome = tokio::time::timeout(listen * 3 + Duration::from_secs(1), reading).await;
    let peak_dbfs = if peak == 0 {
        f64::NEG_INFINITY
    } else {
        20.0 * (f64::from(peak) / 32768.0).log10()
    };
    match outcome {
        Err(_) | Ok(Ok(())) if heard == 0 => check(
            area,
            "level",
            Outcome::Failed,
            format!("{name} delivered no sound data"),
        ),
        Ok(Err(e)) => check(area, "level", Outcome::Failed, format!("{name}: {e}")),
        _ if peak_dbfs < -60.0 => check(
            area,
            "level",
            Outcome::Warning,
            format!(
                "{name}: silent for {:.1} s (peak below -60 dBFS): is it muted?",
                heard as f64 / consult_protocol::SAMPLE_RATE as f64
            ),
        ),
        _ => check(
            area,
            "level",
            Outcome::Ok,
            format!(
                "{name}: {:.1} s heard, peak {peak_dbfs:.1} dBFS",
                heard as f64 / consult_protocol::SAMPLE_RATE as f64
            ),
        ),
    }
}
