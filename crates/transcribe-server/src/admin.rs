//! Test knobs reachable over HTTP, for loopback callers only.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::state::AppState;

/// Proof that the caller is on this machine: a handler taking it is refused
/// (403) to anyone else before it runs.
pub struct Loopback;

impl<S: Send + Sync> FromRequestParts<S> for Loopback {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if peer.ip().is_loopback() {
            Ok(Self)
        } else {
            Err((
                StatusCode::FORBIDDEN,
                "admin endpoints answer loopback callers only",
            )
                .into_response())
        }
    }
}

/// `POST /admin/revoke-refresh-tokens`: every signed-in client must sign in again.
pub async fn revoke_refresh_tokens(_: Loopback, State(state): State<Arc<AppState>>) -> Response {
    match state
        .refresh
        .lock()
        .expect("refresh lock poisoned")
        .revoke_all()
    {
        Ok(revoked) => {
            tracing::warn!(revoked, "admin revoked all refresh tokens");
            Json(json!({ "revoked": revoked })).into_response()
        }
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}

/// The body of `POST /admin/refuse`: how many seconds to refuse for.
#[derive(Deserialize)]
pub struct RefuseBody {
    seconds: u64,
}

/// `POST /admin/refuse {"seconds": N}`: answer WebSocket upgrades with 503 for N seconds.
pub async fn refuse(
    _: Loopback,
    State(state): State<Arc<AppState>>,
    Json(body): Json<RefuseBody>,
) -> Response {
    state.refuse_for(body.seconds);
    tracing::warn!(
        seconds = body.seconds,
        "admin: refusing WebSocket connections"
    );
    Json(json!({ "refusing_for": body.seconds })).into_response()
}

/// `POST /admin/close-connections`: close every live socket with 1001.
pub async fn close_connections(_: Loopback, State(state): State<Arc<AppState>>) -> Response {
    state.close_all_connections();
    tracing::warn!("admin: closing every live connection");
    Json(json!({ "closing": true })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    async fn caller(address: &str) -> Result<Loopback, Response> {
        let mut request = Request::new(());
        request
            .extensions_mut()
            .insert(ConnectInfo(address.parse::<SocketAddr>().unwrap()));
        let (mut parts, ()) = request.into_parts();
        Loopback::from_request_parts(&mut parts, &()).await
    }

    #[tokio::test]
    async fn only_callers_on_this_machine_reach_the_admin_knobs() {
        assert!(caller("127.0.0.1:5000").await.is_ok());
        assert!(caller("[::1]:5000").await.is_ok());
        let refused = caller("10.0.0.5:5000")
            .await
            .err()
            .expect("a caller on another machine is refused");
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
}
