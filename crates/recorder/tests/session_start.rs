//! Starting a session where the spool cannot live: a clear error naming the path.

use std::time::Duration;

use consult_recorder::audio::WavSource;
use consult_recorder::auth::memory_vault::MemoryVault;
use consult_recorder::auth::{AuthClient, AuthPaths, ManagerOptions, TokenManager};
use consult_recorder::session::{SenderOptions, Session, SessionError, SessionSetup};
use consult_recorder::store::{Profile, Store};

#[tokio::test]
async fn an_unusable_spool_folder_stops_the_session_at_start_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    // A regular file where the spool folder should be: nothing can be created
    // under it, whatever the permissions (tests may run as root).
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"").unwrap();
    let spool_dir = blocker.join("spool");
    let client = AuthClient::new(
        "http://127.0.0.1:9",
        AuthPaths::default(),
        Duration::from_secs(1),
    )
    .unwrap();
    let setup = SessionSetup {
        id: "5f2b3c1e-0000-4000-8000-000000000001".into(),
        reference: String::new(),
        profile: Profile::V1,
        server: "http://127.0.0.1:9".into(),
        spool_dir: spool_dir.clone(),
        store: Store::open(&dir.path().join("sessions.sqlite3")).unwrap(),
        tokens: TokenManager::start(client, MemoryVault::default(), ManagerOptions::default()),
        options: SenderOptions::default(),
    };
    let err = match Session::start::<WavSource>(setup, None) {
        Err(err) => err,
        Ok(_) => panic!("a session without a usable spool must not start"),
    };
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
    let client = AuthClient::new(
        "http://127.0.0.1:9",
        AuthPaths::default(),
        Duration::from_secs(1),
    )
    .unwrap();
    let setup = SessionSetup {
        id: "5f2b3c1e-0000-4000-8000-000000000002".into(),
        reference: String::new(),
        profile: Profile::V1,
        server: "http://transcribe.clinic.example".into(),
        spool_dir: dir.path().join("spool"),
        store: Store::open(&dir.path().join("sessions.sqlite3")).unwrap(),
        tokens: TokenManager::start(client, MemoryVault::default(), ManagerOptions::default()),
        options: SenderOptions::default(),
    };
    let err = Session::start::<WavSource>(setup, None)
        .err()
        .expect("refused");
    assert!(
        err.to_string()
            .contains("refusing an unencrypted connection"),
        "{err}"
    );
}
