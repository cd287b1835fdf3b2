//! Reaching the server, one layer at a time, so the first failing layer says
//! where to look: name lookup (or the proxy), TCP, TLS, HTTP (with the
//! server's clock), and the WebSocket endpoint.

use std::sync::Arc;
use std::time::{Duration, Instant};

use consult_protocol::v1;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use super::{Area, Check, Outcome, check};
use crate::net::answer::error_chain;
use crate::net::{self, ConnectError, proxy};
use crate::server_profile::{CreateMethod, ServerProfile, StreamProfile, TokenTransport};
use crate::store::Profile;

const TIMEOUT: Duration = Duration::from_secs(5);

pub(super) async fn checks(server: &str, profile: Profile, names: &ServerProfile) -> Vec<Check> {
    let area = Area::Server;
    let mut checks = Vec::new();
    let ws_base = match net::ws_base(server) {
        Ok(base) => base,
        Err(e) => {
            checks.push(check(area, "address", Outcome::Failed, e.to_string()));
            return checks;
        }
    };
    checks.push(check(area, "address", Outcome::Ok, server.to_owned()));
    let (host, port) = match net::host_and_port(&ws_base) {
        Ok(found) => found,
        Err(e) => {
            checks.push(check(area, "address", Outcome::Failed, e.to_string()));
            return checks;
        }
    };

    let tcp = match proxy::for_url(&ws_base) {
        Err(e) => {
            checks.push(check(area, "proxy", Outcome::Failed, e.to_string()));
            return checks;
        }
        Ok(Some(proxy)) => {
            let started = Instant::now();
            match proxy.tunnel(&host, port, TIMEOUT).await {
                Ok(stream) => {
                    checks.push(check(
                        area,
                        "proxy",
                        Outcome::Ok,
                        format!(
                            "tunnel through {} to {host}:{port} in {} ms",
                            proxy.address(),
                            started.elapsed().as_millis()
                        ),
                    ));
                    stream
                }
                Err(e) => {
                    checks.push(check(area, "proxy", Outcome::Failed, e.to_string()));
                    return checks;
                }
            }
        }
        Ok(None) => match direct(&mut checks, &host, port).await {
            Some(stream) => stream,
            None => return checks,
        },
    };

    if ws_base.starts_with("wss://") {
        checks.push(tls(tcp, &host).await);
    } else {
        drop(tcp);
        checks.push(check(
            area,
            "TLS",
            Outcome::Ok,
            "not used: the server is on this computer",
        ));
    }
    checks.extend(http(server).await);
    checks.extend(profile_paths(server, names).await);
    checks.push(websocket(&ws_base, profile, &names.stream).await);
    checks
}

async fn direct(checks: &mut Vec<Check>, host: &str, port: u16) -> Option<TcpStream> {
    let area = Area::Server;
    let addresses: Vec<_> =
        match tokio::time::timeout(TIMEOUT, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(found)) => found.collect(),
            Ok(Err(e)) => {
                checks.push(check(
                    area,
                    "DNS",
                    Outcome::Failed,
                    format!("{host} cannot be resolved: {e}"),
                ));
                return None;
            }
            Err(_) => {
                checks.push(check(
                    area,
                    "DNS",
                    Outcome::Failed,
                    format!("no answer for {host} within {} s", TIMEOUT.as_secs()),
                ));
                return None;
            }
        };
    let listed: Vec<String> = addresses.iter().map(|a| a.ip().to_string()).collect();
    checks.push(check(
        area,
        "DNS",
        Outcome::Ok,
        format!("{host} is {}", listed.join(", ")),
    ));
    let started = Instant::now();
    let mut last_error = String::from("no address");
    for address in addresses {
        match tokio::time::timeout(TIMEOUT, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => {
                checks.push(check(
                    area,
                    "TCP",
                    Outcome::Ok,
                    format!(
                        "connected to {address} in {} ms",
                        started.elapsed().as_millis()
                    ),
                ));
                return Some(stream);
            }
            Ok(Err(e)) => last_error = format!("{address}: {e}"),
            Err(_) => last_error = format!("{address}: no answer within {} s", TIMEOUT.as_secs()),
        }
    }
    checks.push(check(
        area,
        "TCP",
        Outcome::Failed,
        format!("{last_error} (is port {port} open in the firewall?)"),
    ));
    None
}

async fn tls(tcp: TcpStream, host: &str) -> Check {
    let area = Area::Server;
    let config = match net::tls_config() {
        Ok(config) => config,
        Err(e) => return check(area, "TLS", Outcome::Failed, e.to_string()),
    };
    let Ok(name) = rustls::pki_types::ServerName::try_from(host.to_owned()) else {
        return check(
            area,
            "TLS",
            Outcome::Failed,
            format!("{host} is not a valid server name"),
        );
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(&config));
    match tokio::time::timeout(TIMEOUT, connector.connect(name, tcp)).await {
        Ok(Ok(stream)) => {
            let version = stream
                .get_ref()
                .1
                .protocol_version()
                .map(|v| format!("{v:?}"))
                .unwrap_or_default();
            check(
                area,
                "TLS",
                Outcome::Ok,
                format!("certificate trusted by this computer; {version}"),
            )
        }
        Ok(Err(e)) => check(
            area,
            "TLS",
            Outcome::Failed,
            format!("{e} (a clinic's own CA must be in the system's trust store)"),
        ),
        Err(_) => check(
            area,
            "TLS",
            Outcome::Failed,
            format!("no handshake within {} s", TIMEOUT.as_secs()),
        ),
    }
}

async fn http(server: &str) -> Vec<Check> {
    let area = Area::Server;
    let client = match net::http_client(TIMEOUT) {
        Ok(client) => client,
        Err(e) => return vec![check(area, "HTTP", Outcome::Failed, e.to_string())],
    };
    let url = format!("{}/healthz", server.trim_end_matches('/'));
    let response = match client.get(&url).send().await {
        Ok(response) => response,
        Err(e) => {
            return vec![check(
                area,
                "HTTP",
                Outcome::Failed,
                format!("no answer: {}", error_chain(&e)),
            )];
        }
    };
    let status = response.status();
    let mut checks = vec![if status.is_server_error() {
        check(
            area,
            "HTTP",
            Outcome::Failed,
            format!(
                "the server answers with an error (HTTP {})",
                status.as_u16()
            ),
        )
    } else {
        check(
            area,
            "HTTP",
            Outcome::Ok,
            format!("answers (HTTP {} for /healthz)", status.as_u16()),
        )
    }];
    let server_time = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::clock::parse_http_date);
    checks.push(match server_time {
        Some(server_time) => {
            let skew = server_time as i64 - crate::clock::unix_secs() as i64;
            match crate::clock::clock_warning(skew) {
                Some(warning) => check(area, "clock", Outcome::Warning, warning),
                None => check(
                    area,
                    "clock",
                    Outcome::Ok,
                    format!("server clock minus ours: {skew} s"),
                ),
            }
        }
        None => check(
            area,
            "clock",
            Outcome::Warning,
            "the server sent no Date header; clock skew unknown",
        ),
    });
    checks
}

/// Whether the sign-in, refresh and (when configured) consultation-creating
/// paths exist: an empty, unauthenticated body is refused by a real endpoint
/// (400, 401, 403, 422) and answered 404 or 405 by a wrong path.
async fn profile_paths(server: &str, names: &ServerProfile) -> Vec<Check> {
    let area = Area::Server;
    let Ok(client) = net::http_client(TIMEOUT) else {
        return Vec::new();
    };
    let mut checks = Vec::new();
    let mut paths = vec![
        (
            "sign-in path",
            "login_path",
            &names.auth.login_path,
            CreateMethod::Post,
        ),
        (
            "refresh path",
            "refresh_path",
            &names.auth.refresh_path,
            CreateMethod::Post,
        ),
    ];
    if let Some(create) = &names.create_session {
        paths.push((
            "consultation path",
            "create_session_path",
            &create.path,
            create.method,
        ));
    }
    for (what, key, path, method) in paths {
        let url = format!("{}{path}", server.trim_end_matches('/'));
        let request = match method {
            CreateMethod::Post => client.post(&url),
            CreateMethod::Put => client.put(&url),
        };
        let answer = request
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body("{}")
            .send()
            .await;
        checks.push(match answer.map(|r| r.status().as_u16()) {
            Err(e) => check(
                area,
                what,
                Outcome::Failed,
                format!("{path}: no answer: {}", error_chain(&e)),
            ),
            Ok(404) => check(
                area,
                what,
                Outcome::Failed,
                format!("{path} is not on this server (HTTP 404): check {key} in [server_profile]"),
            ),
            Ok(405) => check(
                area,
                what,
                Outcome::Failed,
                format!(
                    "{path} does not take a {} (HTTP 405): check {key} in [server_profile]",
                    method.as_str()
                ),
            ),
            Ok(status) if status >= 500 => check(
                area,
                what,
                Outcome::Warning,
                format!("{path} answers with a server error (HTTP {status})"),
            ),
            Ok(status) => check(
                area,
                what,
                Outcome::Ok,
                format!("{path} answers (HTTP {status} for an empty request)"),
            ),
        });
    }
    checks
}

async fn websocket(ws_base: &str, profile: Profile, names: &StreamProfile) -> Check {
    let area = Area::Server;
    let (url, subprotocol) = match profile {
        Profile::V1 => (
            format!(
                "{ws_base}{}?{}={}",
                v1::STREAM_PATH,
                v1::QUERY_SESSION,
                uuid::Uuid::new_v4()
            ),
            Some(v1::SUBPROTOCOL),
        ),
        Profile::Seed => (
            format!(
                "{ws_base}{}?{}=diagnose",
                names.path, names.session_query_param
            ),
            None,
        ),
    };
    let origin = match profile {
        Profile::V1 => None,
        Profile::Seed => names.origin.as_deref(),
    };
    match net::open(&url, None, subprotocol, origin, TIMEOUT).await {
        // The seed backend accepts every upgrade and checks the token after
        // it: a refusal before the upgrade is a wrong path or an Origin check.
        Err(ConnectError::Refused { status: 403 | 404 }) if profile == Profile::Seed => check(
            area,
            "WebSocket",
            Outcome::Failed,
            format!(
                "{} refused the upgrade before any sign-in check: the path is wrong, or the \
                 server's CORS check wants another Origin (stream_path, origin in [server_profile])",
                names.path
            ),
        ),
        Err(ConnectError::Refused { status: 401 | 403 }) => check(
            area,
            "WebSocket",
            Outcome::Ok,
            format!(
                "{} endpoint answers, and refuses a connection without sign-in",
                profile.as_str()
            ),
        ),
        Ok(mut stream) => {
            // A server that wants the token in a first message gets an empty one.
            if profile == Profile::Seed && names.token_transport == TokenTransport::FirstMessage {
                let empty = serde_json::json!({ names.token_message_field.as_str(): "" });
                let _ = stream.send(Message::text(empty.to_string())).await;
            }
            // Servers may check the token after the upgrade and close with a reason.
            let first = tokio::time::timeout(TIMEOUT, stream.next()).await;
            let _ = stream.close(None).await;
            match first {
                Ok(Some(Ok(Message::Close(Some(frame))))) => check(
                    area,
                    "WebSocket",
                    Outcome::Ok,
                    format!(
                        "{} endpoint answers, and closed a connection without sign-in \
                         (code {}: {})",
                        profile.as_str(),
                        u16::from(frame.code),
                        frame.reason
                    ),
                ),
                _ => check(
                    area,
                    "WebSocket",
                    Outcome::Warning,
                    format!(
                        "{} endpoint accepted a connection without sign-in",
                        profile.as_str()
                    ),
                ),
            }
        }
        Err(e) => check(area, "WebSocket", Outcome::Failed, e.to_string()),
    }
}
