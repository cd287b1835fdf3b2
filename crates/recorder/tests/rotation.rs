//! Refresh-token rotation and reuse detection against the reference server.

use std::time::Duration;

use consult_recorder::auth::{
    AuthClient, AuthEvent, AuthProfile, AuthState, ManagerOptions, Secret, TokenManager,
    TokenUnavailable,
};

mod support;
use support::{EMAIL, MemoryVault, PASSWORD, reference_server};

/// Waits up to 20 s for the manager's first event matching `wanted`: several
/// refreshes of 3-second tokens.
async fn next_matching(
    events: &mut tokio::sync::broadcast::Receiver<AuthEvent>,
    wanted: impl Fn(&AuthEvent) -> bool,
) -> AuthEvent {
    support::next_matching(events, Duration::from_secs(20), wanted).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_a_rotated_token_revokes_the_family_and_the_client_asks_to_sign_in() {
    // 3-second tokens: the manager refreshes about 1.5 s after each one arrives.
    let (server, _dir) = reference_server(|c| c.access_ttl = 3).await;
    let client = AuthClient::new(
        &server.http_url(),
        AuthProfile::default(),
        Duration::from_secs(5),
    )
    .unwrap();
    let vault = MemoryVault::default();
    let manager = TokenManager::start(client.clone(), vault.clone(), ManagerOptions::default());
    let mut events = manager.subscribe();
    manager.sign_in(EMAIL, Secret::new(PASSWORD)).await.unwrap();
    let first = vault.get(EMAIL).expect("refresh token saved at sign-in");

    next_matching(&mut events, |e| matches!(e, AuthEvent::Refreshed { .. })).await;
    let second = vault.get(EMAIL).expect("rotated token saved");
    assert_ne!(
        first, second,
        "the refresh token rotated and the new one was saved"
    );

    // The client goes on refreshing with what it was given …
    next_matching(&mut events, |e| matches!(e, AuthEvent::Refreshed { .. })).await;
    assert_ne!(vault.get(EMAIL).as_deref(), Some(second.as_str()));

    // … then someone replays the first, long retired token: the server
    // revokes the whole family. (Replayed before its successor was used, it
    // would pass as the client retrying a refresh whose answer was lost.)
    let replay = client.refresh(&Secret::new(first)).await.unwrap_err();
    assert!(replay.to_string().contains("reuse"), "{replay}");

    // The client's next refresh is refused; it asks for a sign-in instead of looping.
    let event = next_matching(&mut events, |e| {
        matches!(e, AuthEvent::SignInRequired { .. })
    })
    .await;
    assert!(matches!(event, AuthEvent::SignInRequired { reason } if reason.contains("revoked")));
    assert!(matches!(manager.state(), AuthState::SignInRequired { .. }));
    assert!(matches!(
        manager.access_token().await,
        Err(TokenUnavailable::SignInRequired(_))
    ));
    assert_eq!(vault.get(EMAIL), None, "the dead token is not kept");

    // Signing in again works.
    manager.sign_in(EMAIL, Secret::new(PASSWORD)).await.unwrap();
    assert!(matches!(manager.state(), AuthState::SignedIn { .. }));
}
