//! The auth client against broken servers: every failure is a clear error, never a panic.

use std::time::Duration;

use base64::Engine;
use consult_recorder::auth::ClaimsError;
use consult_recorder::auth::{AuthClient, AuthError, AuthProfile, Secret};

mod support;
use support::{Canned, canned_server};

fn jwt(payload: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#), b64(payload))
}

fn tokens_body(access: &str) -> String {
    serde_json::json!({
        "access_token": access,
        "refresh_token": "r1",
        "token_type": "bearer",
        "expires_in": 1800,
    })
    .to_string()
}

async fn refresh_against(answer: Canned) -> AuthError {
    let origin = canned_server(answer).await;
    let client = AuthClient::new(&origin, AuthProfile::default(), Duration::from_secs(1)).unwrap();
    client
        .refresh(&Secret::new("r0"))
        .await
        .expect_err("must fail")
}

#[tokio::test]
async fn a_good_answer_is_read_with_its_date_header_time() {
    let origin = canned_server(Canned::Respond(
        200,
        "application/json",
        tokens_body(&jwt(r#"{"sub":"doc","iat":1000,"exp":2800}"#)),
    ))
    .await;
    let client = AuthClient::new(&origin, AuthProfile::default(), Duration::from_secs(1)).unwrap();
    let issued = client.login("doc", &Secret::new("pw")).await.unwrap();
    assert_eq!((issued.times.iat, issued.times.exp), (Some(1000), 2800));
    assert_eq!(issued.refresh.expose(), "r1");
}

#[tokio::test]
async fn missing_fields_are_a_bad_response() {
    let err = refresh_against(Canned::Respond(
        200,
        "application/json",
        r#"{"access_token":"x"}"#.into(),
    ))
    .await;
    assert!(matches!(err, AuthError::BadResponse(_)), "{err:?}");
    assert!(err.to_string().contains("not understood"), "{err}");
}

/// The answer without `expires_in`: the token itself is all there is.
fn tokens_body_without_lifetime(access: &str) -> String {
    serde_json::json!({"access_token": access, "refresh_token": "r1"}).to_string()
}

#[tokio::test]
async fn a_jwt_without_exp_or_a_malformed_jwt_is_a_bad_token_when_no_lifetime_is_given() {
    let err = refresh_against(Canned::Respond(
        200,
        "application/json",
        tokens_body_without_lifetime(&jwt(r#"{"sub":"doc"}"#)),
    ))
    .await;
    assert_eq!(err, AuthError::BadToken(ClaimsError::MissingExpiry));
    let err = refresh_against(Canned::Respond(
        200,
        "application/json",
        tokens_body_without_lifetime("opaque-token"),
    ))
    .await;
    assert_eq!(err, AuthError::BadToken(ClaimsError::NotAJwt));
}

#[tokio::test]
async fn an_opaque_token_expires_after_the_lifetime_the_answer_gives() {
    let origin = canned_server(Canned::Respond(
        200,
        "application/json",
        tokens_body("opaque-token"),
    ))
    .await;
    let client = AuthClient::new(&origin, AuthProfile::default(), Duration::from_secs(1)).unwrap();
    let before = consult_recorder::clock::unix_secs();
    let issued = client.refresh(&Secret::new("r0")).await.unwrap();
    let base = issued.server_date.unwrap_or(before);
    assert_eq!(
        issued.times.exp,
        base + 1800,
        "expires_in from the answer's clock"
    );
    assert_eq!(issued.access.expose(), "opaque-token");
}

#[tokio::test]
async fn an_html_error_page_is_described_not_dumped() {
    let page = "<!doctype html><html><body><h1>502 Bad Gateway</h1></body></html>".to_owned();
    let err = refresh_against(Canned::Respond(502, "text/html", page)).await;
    match &err {
        AuthError::Server {
            status: 502,
            summary,
        } => assert!(summary.contains("web page"), "{summary}"),
        other => panic!("{other:?}"),
    }
    assert!(err.is_transient());
    assert!(!err.to_string().contains("<html>"));
}

#[tokio::test]
async fn a_401_means_wrong_password_on_login_and_sign_in_again_on_refresh() {
    let body = r#"{"detail":"Refresh token revoked"}"#.to_owned();
    let err = refresh_against(Canned::Respond(401, "application/json", body.clone())).await;
    assert_eq!(
        err,
        AuthError::SignInRequired("Refresh token revoked".into())
    );
    assert!(!err.is_transient());

    let origin = canned_server(Canned::Respond(401, "application/json", body)).await;
    let client = AuthClient::new(&origin, AuthProfile::default(), Duration::from_secs(1)).unwrap();
    let err = client.login("doc", &Secret::new("pw")).await.unwrap_err();
    assert_eq!(err, AuthError::WrongCredentials);
    assert_eq!(err.to_string(), "wrong e-mail or password");
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let err = refresh_against(Canned::Hang).await;
    assert_eq!(err, AuthError::Timeout(1));
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = AuthClient::new(&origin, AuthProfile::default(), Duration::from_secs(1)).unwrap();
    let err = client.refresh(&Secret::new("r0")).await.unwrap_err();
    assert!(matches!(err, AuthError::Unreachable(_)), "{err:?}");
    assert!(err.to_string().starts_with("cannot reach the server"));
}
