//! Sign-in and refresh endpoints of the reference server (identical in both profiles).

use consult_protocol::auth::{AccessClaims, ErrorBody, TokenResponse};
use e2e_tests::server::{EMAIL, Options, PASSWORD, TestServer};
use e2e_tests::wire::*;

/// Reads the claims without verifying, as a client would.
fn claims(token: &str) -> AccessClaims {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("three JWT parts");
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&json).expect("claims JSON")
}

#[tokio::test]
async fn login_returns_bearer_tokens_with_the_configured_lifetime() {
    let server = TestServer::start(Options::new().with(|c| c.access_ttl = 90)).await;
    let response = login(&server.http(), EMAIL, PASSWORD).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().contains_key("date"),
        "Date header lets clients measure clock skew"
    );
    let tokens: TokenResponse = response.json().await.unwrap();
    assert_eq!(tokens.token_type, "bearer");
    assert_eq!(tokens.expires_in, 90);
    let c = claims(&tokens.access_token);
    assert_eq!(c.sub, EMAIL);
    assert_eq!(c.exp - c.iat.unwrap(), 90);
    assert!(!tokens.refresh_token.is_empty());
}

#[tokio::test]
async fn wrong_password_and_unknown_account_get_401() {
    let server = TestServer::start(Options::new()).await;
    for (email, password) in [(EMAIL, "wrong"), ("nobody@clinic.test", PASSWORD)] {
        let response = login(&server.http(), email, password).await;
        assert_eq!(response.status(), 401);
        let body: ErrorBody = response.json().await.unwrap();
        assert_eq!(body.detail, "Incorrect email or password");
    }
}

#[tokio::test]
async fn malformed_bodies_are_refused_not_crashed_on() {
    let server = TestServer::start(Options::new()).await;
    let client = http_client();
    for body in ["not json", "{}", r#"{"email":1}"#] {
        let response = client
            .post(format!("{}/api/v1/auth/login", server.http()))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_client_error(),
            "{body}: {}",
            response.status()
        );
    }
    // The server still answers afterwards.
    assert_eq!(login(&server.http(), EMAIL, PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let server = TestServer::start(Options::new()).await;
    let first = sign_in(&server.http(), EMAIL, PASSWORD).await;

    let response = refresh(&server.http(), &first.refresh_token).await;
    assert_eq!(response.status(), 200);
    let second: TokenResponse = response.json().await.unwrap();
    assert_ne!(
        second.refresh_token, first.refresh_token,
        "refresh token rotates"
    );
    assert_eq!(claims(&second.access_token).sub, EMAIL);

    // The holder refreshes again with the token it was given …
    let response = refresh(&server.http(), &second.refresh_token).await;
    assert_eq!(response.status(), 200);
    let third: TokenResponse = response.json().await.unwrap();

    // … so replaying the first one now is theft or a bug: the family is revoked …
    let replay = refresh(&server.http(), &first.refresh_token).await;
    assert_eq!(replay.status(), 401);
    let body: ErrorBody = replay.json().await.unwrap();
    assert!(body.detail.contains("reuse"), "{}", body.detail);
    // … so the newest token of that family is dead too.
    assert_eq!(
        refresh(&server.http(), &third.refresh_token).await.status(),
        401
    );

    // A separate sign-in is unaffected.
    let other = sign_in(&server.http(), EMAIL, PASSWORD).await;
    assert_eq!(
        refresh(&server.http(), &other.refresh_token).await.status(),
        200
    );
}

#[tokio::test]
async fn admin_revocation_signs_everyone_out() {
    let server = TestServer::start(Options::new()).await;
    let tokens = sign_in(&server.http(), EMAIL, PASSWORD).await;
    let revoked = server
        .admin("/admin/revoke-refresh-tokens", serde_json::json!({}))
        .await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        refresh(&server.http(), &tokens.refresh_token)
            .await
            .status(),
        401
    );
    assert_eq!(refresh(&server.http(), "never-issued").await.status(), 401);
}

#[tokio::test]
async fn tokens_and_refresh_families_survive_a_restart() {
    // No fixed secret: the server keeps its signing key in the data directory.
    let options = || Options::new().with(|c| c.jwt_secret = None);
    let server = TestServer::start(options()).await;
    let tokens = sign_in(&server.http(), EMAIL, PASSWORD).await;
    let dir = server.stop().await;
    let server = TestServer::start_in(options(), dir).await;

    let mut ws = connect_seed(&server.ws(), &tokens.access_token, "after-restart").await;
    assert_eq!(next_json(&mut ws).await["status"], "connected");
    assert_eq!(
        refresh(&server.http(), &tokens.refresh_token)
            .await
            .status(),
        200
    );
}
