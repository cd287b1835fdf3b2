//! The real keychains: Secret Service (gnome-keyring) and Linux keyutils.
//!
//! These need a session bus with an unlocked keyring and a keyutils session;
//! `scripts/test.sh` provides both and runs ignored tests, so they always run
//! there. A bare `cargo test` has no Secret Service, hence the `ignore`.

#![cfg(target_os = "linux")]

use consult_recorder::auth::{EntryKey, Keychain, KeychainBackend, Secret};

async fn round_trip(backend: KeychainBackend) {
    let keychain = Keychain::start(backend);
    let key = EntryKey::refresh_token(
        "https://transcribe.test",
        &format!("round-trip-{}@clinic.test", rand::random::<u32>()),
    );
    assert_eq!(keychain.load(&key).await.unwrap(), None, "starts empty");

    let first = Secret::new("refresh-token-one");
    keychain.store(&key, &first).await.unwrap();
    assert_eq!(keychain.load(&key).await.unwrap(), Some(first));

    // Rotation overwrites the entry.
    let second = Secret::new("refresh-token-two");
    keychain.store(&key, &second).await.unwrap();
    assert_eq!(keychain.load(&key).await.unwrap(), Some(second));

    // A new handle (a new thread, as in a new process) sees the same entry.
    let again = Keychain::start(backend);
    assert!(again.load(&key).await.unwrap().is_some());
    // … and the other backend does not: they are really two different stores.
    let other = match backend {
        KeychainBackend::Platform => KeychainBackend::Keyutils,
        KeychainBackend::Keyutils => KeychainBackend::Platform,
    };
    assert_eq!(Keychain::start(other).load(&key).await.unwrap(), None);

    assert!(keychain.delete(&key).await.unwrap(), "deleted");
    assert_eq!(keychain.load(&key).await.unwrap(), None);
    assert!(
        !keychain.delete(&key).await.unwrap(),
        "nothing left to delete"
    );
}

#[tokio::test]
#[ignore = "needs a Secret Service; run scripts/test.sh"]
async fn secret_service_stores_rotates_and_deletes() {
    round_trip(KeychainBackend::Platform).await;
}

#[tokio::test]
#[ignore = "needs a keyutils session; run scripts/test.sh"]
async fn keyutils_stores_rotates_and_deletes() {
    round_trip(KeychainBackend::Keyutils).await;
}

#[tokio::test]
#[ignore = "needs a Secret Service; run scripts/test.sh"]
async fn entries_are_per_server_and_account() {
    let keychain = Keychain::start(KeychainBackend::Platform);
    let a = EntryKey::refresh_token("https://a.test", "doc@clinic.test");
    let b = EntryKey::refresh_token("https://b.test", "doc@clinic.test");
    keychain.store(&a, &Secret::new("for-a")).await.unwrap();
    assert_eq!(keychain.load(&b).await.unwrap(), None);
    keychain.store(&b, &Secret::new("for-b")).await.unwrap();
    assert_eq!(keychain.load(&a).await.unwrap(), Some(Secret::new("for-a")));
    keychain.delete(&a).await.unwrap();
    keychain.delete(&b).await.unwrap();
}
