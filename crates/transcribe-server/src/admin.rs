//! Test knobs reachable over HTTP, for loopback callers only.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::state::AppState;

/// The refusal for a caller that is not on this machine, if it is not.
fn refuse_remote(peer: SocketAddr) -> Option<Response> {
    (!peer.ip().is_loopback()).then(|| {
        (
            StatusCode::FORBIDDEN,
            "admin endpoints answer loopback callers only",
        )
            .into_response()
    })
}

/// `POST /admin/revoke-refresh-tokens`: every signed-in client must sign in again.
pub async fn revoke_refresh_tokens(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(state): State<Arc<AppState>>,
) -> Response {
    if let Some(denied) = refuse_remote(peer) {
        return denied;
    }
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

#[derive(Deserialize)]
pub struct RefuseBody {
    seconds: u64,
}

/// `POST /admin/refuse {"seconds": N}`: answer WebSocket upgrades with 503 for N seconds.
pub async fn refuse(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(state): State<Arc<AppState>>,
    Json(body): Json<RefuseBody>,
) -> Response {
    if let Some(denied) = refuse_remote(peer) {
        return denied;
    }
    state.refuse_for(body.seconds);
    tracing::warn!(
        seconds = body.seconds,
        "admin: refusing WebSocket connections"
    );
    Json(json!({ "refusing_for": body.seconds })).into_response()
}

/// `POST /admin/close-connections`: close every live socket with 1001.
pub async fn close_connections(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(state): State<Arc<AppState>>,
) -> Response {
    if let Some(denied) = refuse_remote(peer) {
        return denied;
    }
    state.close_all_connections();
    tracing::warn!("admin: closing every live connection");
    Json(json!({ "closing": true })).into_response()
}
