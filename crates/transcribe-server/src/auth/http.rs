//! `POST /api/v1/auth/login` and `POST /api/v1/auth/refresh`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use consult_protocol::auth::{ErrorBody, LoginRequest, RefreshRequest, TokenResponse};

use crate::state::AppState;

fn refused(status: StatusCode, detail: impl Into<String>) -> Response {
    (
        status,
        Json(ErrorBody {
            detail: detail.into(),
        }),
    )
        .into_response()
}

fn tokens(state: &AppState, subject: &str, refresh_token: String) -> Response {
    Json(TokenResponse {
        access_token: state.access.issue(subject),
        refresh_token,
        token_type: "bearer".into(),
        expires_in: state.access.ttl_secs(),
    })
    .into_response()
}

/// `POST /api/v1/auth/login`: checks the e-mail and password, starts a refresh-token
/// family, and returns both tokens (401 on a wrong e-mail or password).
pub async fn login(State(state): State<Arc<AppState>>, Json(body): Json<LoginRequest>) -> Response {
    let Some(account) = state.users.check(&body.email, &body.password) else {
        tracing::info!(account = %body.email, "sign-in refused: wrong e-mail or password");
        return refused(StatusCode::UNAUTHORIZED, "Incorrect email or password");
    };
    let issued = state
        .refresh
        .lock()
        .expect("refresh lock poisoned")
        .issue(&account);
    match issued {
        Ok(refresh) => {
            tracing::info!(%account, "signed in");
            tokens(&state, &account, refresh)
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot store refresh token");
            refused(StatusCode::INTERNAL_SERVER_ERROR, "Token store unavailable")
        }
    }
}

/// `POST /api/v1/auth/refresh`: rotates the refresh token and returns a new pair.
/// Any refusal is a 401: the client must sign in again.
pub async fn refresh(
    State(state): State<Arc<AppState>>,
    Json(body): Json<RefreshRequest>,
) -> Response {
    let rotated = state
        .refresh
        .lock()
        .expect("refresh lock poisoned")
        .rotate(&body.refresh_token);
    match rotated {
        Ok(Ok((account, next))) => {
            tracing::info!(%account, "refresh token rotated");
            tokens(&state, &account, next)
        }
        Ok(Err(reason)) => {
            tracing::warn!(%reason, "refresh refused");
            refused(StatusCode::UNAUTHORIZED, reason.to_string())
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot store refresh token");
            refused(StatusCode::INTERNAL_SERVER_ERROR, "Token store unavailable")
        }
    }
}
