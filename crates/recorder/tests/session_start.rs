//! Starting a session where the spool cannot live: a clear error naming the path.

use std::time::Duration;

use consult_recorder::audio::WavSource;
use consult_recorder::auth::memory_vault::MemoryVault;
use consult_recorder::auth::{AuthClient, AuthProfile, ManagerOptions, TokenManager};
use consult_recorder::crypto::{DataKey, DataKeySource};
use consult_recorder::session::{Power, SenderOptions, Session, SessionError, SessionSetup};
use consult_recorder::store::{Profile, Store};

/// A session against `server`, spooling to `spool_dir`, with no one signed in
/// (these sessions must fail before any network use).
fn setup(
    dir: &std::path::Path,
    id: &str,
    server: &str,
    spool_dir: std::path::PathBuf,
) -> SessionSetup {
    let client = AuthClient::new(
        "http://127.0.0.1:9",
        AuthProfile::default(),
        Duration::from_secs(1),
    )
    .unwrap();
    SessionSetup {
        id: id.into(),
        reference: String::new(),
        profile: Profile::V1,
        server: server.into(),
        spool_dir,
        store: Store::open(
            &dir.join("sessions.sqlite3"),
            DataKeySource::fixed(DataKey::generate()),
        )
        .unwrap(),
        tokens: TokenManager::start(client, MemoryVault::default(), ManagerOptions::default()),
        options: SenderOptions::default(),
        power: Power::watch_only(),
    }
}

/// Starts a session that must be refused, returning the error; `not_refused`
/// is the failure shown if it starts.
fn refused_start(setup: SessionSetup, not_refused: &str) -> SessionError {
    match Session::start::<WavSource>(setup, None) {
        Err(err) => err,
        Ok(_) => panic!("{not_refused}"),
    }
}

#[tokio::test]
async fn an_unusable_spool_folder_stops_the_session_at_start_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    // A regular file where the spool folder should be: nothing can be created
    // under it, whatever the permissions (tests may run as root).
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"").unwrap();
    let spool_dir = blocker.join("spool");
    let setup = setup(
        dir.path(),
        "5f2b3c1e-0000-4000-8000-000000000001",
        "http://127.0.0.1:9",
        spool_dir.clone(),
    );
    let err = refused_start(setup, "a session without a usable spool must not start");
    assert!(matches!(err, SessionError::Spool(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&spool_dir.display().to_string()),
        "{message}"
    );
}

#[tokio::test]
async fn plain_http_to_another_machine_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let err = refused_start(
        setup(
            dir.path(),
            "5f2b3c1e-0000-4000-8000-000000000002",
            "http://transcribe.clinic.example",
            dir.path().join("spool"),
        ),
        "refused",
    );
    assert!(
        err.to_string()
            .contains("refusing an unencrypted connection"),
        "{err}"
    );
}
