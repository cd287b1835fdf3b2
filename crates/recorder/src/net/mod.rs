//! Opening WebSocket connections to the transcription server.
//!
//! Owns URLs, TLS (rustls with the operating system's trust store) and the
//! classification of connection failures. Never logs a URL that may carry a
//! token (the seed profile puts one in the query string).

pub(crate) mod answer;
pub(crate) mod proxy;

pub use proxy::{Proxy, ProxyAddressError};

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::Url;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::secret::Secret;

/// A client WebSocket.
pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Largest message accepted from the server; anything bigger is refused
/// (the protocol's largest message is a transcript of a few kilobytes).
pub const MAX_SERVER_MESSAGE: usize = 1024 * 1024;

/// The socket's read buffer. tungstenite zero-fills the free part of it before
/// every read, and a live sender tries a read at each wake-up: at the default
/// 128 KiB that fill was the largest single cost of streaming. Server messages
/// are small; a larger one grows the buffer as needed.
const READ_BUFFER: usize = 8 * 1024;

/// Why a connection could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// The server address, or a part of the request, is not valid. Holds the
    /// address, or names the part (never a token).
    #[error("the server address {0:?} is not a valid http(s) URL")]
    BadUrl(String),
    /// Plain `http` to a host other than this computer; holds the host.
    #[error(
        "refusing an unencrypted connection to {0}: use https:// (plain http is allowed only on this computer)"
    )]
    Insecure(String),
    /// The connection failed (DNS, TCP, the proxy or the handshake); holds why.
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// No connection within the timeout; holds it in seconds.
    #[error("the server did not answer within {0} s")]
    Timeout(u64),
    /// The server answered the upgrade with an HTTP status instead.
    #[error("{}", refused_cause(*status))]
    Refused {
        /// That HTTP status.
        status: u16,
    },
    /// The TLS handshake failed, or the trust store could not be loaded.
    #[error("secure connection failed: {0}")]
    Tls(String),
    /// The proxy refused the tunnel or gave no usable answer, or its setting
    /// is invalid.
    #[error("proxy: {0}")]
    Proxy(String),
}

/// What an HTTP answer to a WebSocket upgrade means, in words (the seed
/// documents are about exactly these: a refused token, a wrong path).
fn refused_cause(status: u16) -> String {
    match status {
        401 => "the server refused the sign-in token for the transcription connection (HTTP 401)"
            .into(),
        403 => "the server refused the transcription connection (HTTP 403): the sign-in token was \
                not accepted, or a proxy or the server's origin (CORS) check blocked it"
            .into(),
        404 => "the server has no transcription endpoint at this address (HTTP 404): check the \
                server address and protocol"
            .into(),
        _ => format!("the server refused the connection (HTTP {status})"),
    }
}

/// Turns the configured server (`https://host[:port]`) into its WebSocket base
/// (`wss://host[:port]`). Plain `http` is accepted only for loopback hosts.
pub fn ws_base(server: &str) -> Result<String, ConnectError> {
    let url = Url::parse(server).map_err(|_| ConnectError::BadUrl(server.to_owned()))?;
    let host = url
        .host_str()
        .ok_or_else(|| ConnectError::BadUrl(server.to_owned()))?
        .to_owned();
    let scheme = match url.scheme() {
        "https" | "wss" => "wss",
        "http" | "ws" if is_loopback(&host) => "ws",
        "http" | "ws" => return Err(ConnectError::Insecure(host)),
        _ => return Err(ConnectError::BadUrl(server.to_owned())),
    };
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    // host_str() already brackets IPv6 literals.
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host
    };
    Ok(format!("{scheme}://{host}{port}"))
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Installs rustls' ring provider once per process (reqwest and
/// tokio-tungstenite are built without one). Every TLS user in the crate
/// goes through this module, which calls it first.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// An HTTP client with the same TLS trust and proxy rules as the WebSocket.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("consult-recorder/", env!("CARGO_PKG_VERSION")))
        .no_proxy()
        .proxy(reqwest::Proxy::custom(|url| {
            proxy::for_url(url.as_str())
                .ok()
                .flatten()
                .map(|proxy| proxy.url().clone())
        }))
        .build()
}

/// TLS with the operating system's trust store (a clinic's own CA included).
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, ConnectError> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    install_crypto_provider();
    CONFIG
        .get_or_init(|| {
            use rustls_platform_verifier::ConfigVerifierExt;
            rustls::ClientConfig::with_platform_verifier()
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(ConnectError::Tls)
}

/// Opens a WebSocket to `url`, with an optional bearer token and subprotocol.
pub async fn open(
    url: &str,
    bearer: Option<&Secret>,
    subprotocol: Option<&'static str>,
    origin: Option<&str>,
    timeout: Duration,
) -> Result<WsStream, ConnectError> {
    let mut request = url
        .into_client_request()
        .map_err(|_| ConnectError::BadUrl("(the streaming URL)".into()))?;
    if let Some(token) = bearer {
        let value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| ConnectError::BadUrl("(a token with invalid characters)".into()))?;
        request.headers_mut().insert("authorization", value);
    }
    if let Some(origin) = origin {
        let value = HeaderValue::from_str(origin)
            .map_err(|_| ConnectError::BadUrl(format!("(the origin {origin:?})")))?;
        request.headers_mut().insert("origin", value);
    }
    if let Some(protocol) = subprotocol {
        request
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static(protocol));
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(MAX_SERVER_MESSAGE))
        .max_frame_size(Some(MAX_SERVER_MESSAGE));
    let connector = if url.starts_with("wss://") {
        Some(Connector::Rustls(tls_config()?))
    } else {
        Some(Connector::Plain)
    };
    let via = proxy::for_url(url)?;
    let connecting = async {
        let opened = match &via {
            None => {
                tokio_tungstenite::connect_async_tls_with_config(
                    request,
                    Some(config),
                    true,
                    connector,
                )
                .await
            }
            Some(proxy) => {
                let (host, port) = host_and_port(url)?;
                let tunnel = proxy.tunnel(&host, port, timeout).await?;
                tokio_tungstenite::client_async_tls_with_config(
                    request,
                    tunnel,
                    Some(config),
                    connector,
                )
                .await
            }
        };
        opened.map(|(stream, _response)| stream).map_err(classify)
    };
    tokio::time::timeout(timeout, connecting)
        .await
        .map_err(|_| ConnectError::Timeout(timeout.as_secs()))?
}

/// The host and port a `ws(s)://` URL connects to.
pub(crate) fn host_and_port(url: &str) -> Result<(String, u16), ConnectError> {
    let parsed = Url::parse(url).map_err(|_| ConnectError::BadUrl(url.to_owned()))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| ConnectError::BadUrl(url.to_owned()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = parsed
        .port_or_known_default()
        .unwrap_or(if parsed.scheme() == "wss" { 443 } else { 80 });
    Ok((host, port))
}

fn classify(err: tokio_tungstenite::tungstenite::Error) -> ConnectError {
    use tokio_tungstenite::tungstenite::Error;
    match err {
        Error::Http(response) => ConnectError::Refused {
            status: response.status().as_u16(),
        },
        Error::Tls(e) => ConnectError::Tls(e.to_string()),
        Error::Io(e) => ConnectError::Unreachable(e.to_string()),
        other => ConnectError::Unreachable(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_upgrades_name_their_cause() {
        let said = |status| ConnectError::Refused { status }.to_string();
        assert!(said(403).contains("token was not accepted") && said(403).contains("CORS"));
        assert!(said(404).contains("no transcription endpoint"));
        assert!(said(401).contains("sign-in token"));
        assert_eq!(said(502), "the server refused the connection (HTTP 502)");
    }

    #[test]
    fn websocket_bases_require_tls_off_this_computer() {
        for (server, websocket) in [
            ("https://t.clinic.example", "wss://t.clinic.example"),
            (
                "https://t.clinic.example:8443/",
                "wss://t.clinic.example:8443",
            ),
            ("http://127.0.0.1:8080", "ws://127.0.0.1:8080"),
            ("http://localhost:1", "ws://localhost:1"),
            ("http://[::1]:9", "ws://[::1]:9"),
        ] {
            assert_eq!(ws_base(server).unwrap(), websocket, "{server}");
        }
        assert!(matches!(
            ws_base("http://t.clinic.example"),
            Err(ConnectError::Insecure(_))
        ));
        assert!(matches!(
            ws_base("http://10.0.0.5:80"),
            Err(ConnectError::Insecure(_))
        ));
        assert!(matches!(ws_base("ftp://x"), Err(ConnectError::BadUrl(_))));
        assert!(matches!(ws_base("not a url"), Err(ConnectError::BadUrl(_))));
    }
}
